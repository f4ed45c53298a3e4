"""The review page names the receiving bodies and asks for the declaration before the binding
submit; after it, the filing's page confirms the submit once, with the reference and what happens next."""

from __future__ import annotations

from sqlalchemy import func, select

from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.filing import REFERENCE_RE, fill_steps, gewerbe_answers, start_draft
from tests.support.http import csrf_token, submit_form


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _review(client, **changes) -> str:
    return fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers(**changes))


def test_review_names_the_receiving_bodies(client, login_as):
    login_as("anna.becker")
    html = client.get(_review(client)).get_data(as_text=True)
    assert "Gewerbeamt Bremen (Stadtamt); Kopie an Handwerkskammer Bremen" in html
    other = client.get(_review(client, handwerk="no", handel="yes")).get_data(as_text=True)
    assert "Gewerbeamt Bremen (Stadtamt); Kopie an Handelskammer Bremen" in other


def test_binding_submit_needs_the_declaration(app, client, login_as):
    login_as("anna.becker")
    path = _review(client)
    page = client.get(path).get_data(as_text=True)
    assert 'name="declaration"' in page and "Ich versichere" in page
    resp = client.post(path, data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="error-summary"' in html and 'href="#declaration"' in html
    assert 'id="declaration-error"' in html and "Bitte bestätigen Sie" in html
    assert 'aria-invalid="true"' in html
    assert _count(app, Filing) == 0 and _count(app, Draft) == 1  # nothing filed, nothing lost
    resp = client.post(path, data=submit_form(html))
    assert resp.status_code == 302 and _count(app, Filing) == 1


def test_after_submit_the_page_confirms_with_reference_and_next_steps_once(app, client, login_as):
    login_as("anna.becker")
    path = _review(client)
    resp = client.post(path, data=submit_form(client.get(path).get_data(as_text=True)))
    reference = REFERENCE_RE.search(resp.headers["Location"]).group(0)
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'id="bestaetigung"' in html and "Ihr Antrag wurde eingereicht" in html
    assert f"Ihr Aktenzeichen: {reference}" in html
    assert "Wie es weitergeht" in html and "Empfangsbescheinigung (Gewerbeschein)" in html  # from the definition
    assert "Gewerbeamt Bremen (Stadtamt); Kopie an Handwerkskammer Bremen" in html
    again = client.get(f"/antraege/{reference}").get_data(as_text=True)
    assert 'id="bestaetigung"' not in again  # a confirmation, not a banner for ever
    assert "Gewerbeamt Bremen (Stadtamt); Kopie an Handwerkskammer Bremen" in again  # the receivers stay


def test_every_definition_but_those_being_rebuilt_says_what_happens_next(app):
    catalog = app.extensions["bizportal"].catalog
    missing = sorted(k for k, s in catalog.items() if s.next_steps is None)
    assert set(missing) <= {"gewerbeummeldung", "gewerbeabmeldung"}, missing
    for service in catalog.values():
        if service.next_steps is not None:
            assert service.next_steps.get("de") and service.next_steps.get("en")
