"""A business postcode no connected body covers is refused on the step that asks it, at the postcode,
with the message a bundle gives for it — not only at the submit, after every other step."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from bizportal.bodies.models import Chamber
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.filing import (
    fill_steps,
    gewerbe_answers,
    path_of,
    post_step,
    start_draft,
    versicherungsvermittler_answers,
)
from tests.support.http import field_error, submit_form
from tests.support.permits import MAKLER, answers, to_step

#: Erfurt: no body of the portal covers it (the test bodies serve Bremen and Hamburg)
ERFURT = "99084"
UNROUTED = ("Für die Postleitzahl 99084 ist im Portal noch keine zuständige Stelle angeschlossen. Bitte prüfen "
            "Sie die Postleitzahl; stimmt sie, kann dieser Antrag bzw. diese Anzeige noch nicht über das Portal "
            "eingereicht werden.")


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _completed(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalar(select(Draft)).completed_steps)


def test_a_gewerbeanmeldung_at_an_unserved_postcode_is_refused_at_the_premises_step(app, company):
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "betriebsstaette")
    resp = post_step(company, path, gewerbe_answers(postcode=ERFURT, city="Erfurt"))
    assert resp.status_code == 422
    assert UNROUTED in field_error(resp.get_data(as_text=True), "postcode")
    assert "betriebsstaette" not in _completed(app)
    assert post_step(company, path, gewerbe_answers()).status_code == 302  # Bremen is served


def test_an_address_that_decides_the_body_is_refused_at_its_postcode(app, client, login_as):
    login_as("lea.hansen")
    path = to_step(client, MAKLER, answers(), "betrieb")
    erfurt = {"betriebsanschrift-postcode": ERFURT, "betriebsanschrift-city": "Erfurt"}
    resp = post_step(client, path, answers(**erfurt))
    assert resp.status_code == 422
    assert UNROUTED in field_error(resp.get_data(as_text=True), "betriebsanschrift-postcode")
    assert "betrieb" not in _completed(app)


def test_an_ihk_licence_at_an_unserved_postcode_is_refused_at_its_step(client, login_as):
    login_as("lea.hansen")
    path = start_draft(client, "versicherungsvermittler-34d")
    resp = post_step(client, path, versicherungsvermittler_answers(postcode=ERFURT, city="Erfurt"))
    assert resp.status_code == 422
    assert UNROUTED in field_error(resp.get_data(as_text=True), "postcode")


def test_the_message_is_in_the_pages_language(company):
    company.get("/sprache/en")
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "betriebsstaette")
    resp = post_step(company, path, gewerbe_answers(postcode=ERFURT, city="Erfurt"))
    assert resp.status_code == 422
    assert ("No responsible authority for the postcode 99084 is connected to the portal yet."
            in field_error(resp.get_data(as_text=True), "postcode"))


def test_a_wrong_postcode_gets_its_format_message_alone(company):
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "betriebsstaette")
    resp = post_step(company, path, gewerbe_answers(postcode="0999"))
    message = field_error(resp.get_data(as_text=True), "postcode")
    assert "fünf Ziffern" in message and "zuständige Stelle" not in message


def test_a_draft_saved_with_such_a_postcode_is_sent_back_to_the_step_at_submit(app, company):
    review = fill_steps(company, start_draft(company, "gewerbeanmeldung"), gewerbe_answers())
    draft_id = review.split("/")[3]
    html = company.get(review).get_data(as_text=True)
    with app.app_context():  # stored behind the steps' back (a plain UPDATE: the draft's revision stays)
        draft = db.session.get(Draft, uuid.UUID(draft_id))
        db.session.execute(update(Draft).where(Draft.id == draft.id)
                           .values(data={**draft.data, "postcode": ERFURT, "city": "Erfurt"}))
        db.session.commit()
    resp = company.post(review, data=submit_form(html))
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == f"/antraege/entwurf/{draft_id}/betriebsstaette"
    page = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert UNROUTED in field_error(page, "postcode")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 0


def test_a_copy_no_body_takes_sends_the_submit_back_to_the_postcode(app, company):
    """The copy of a crafts business's notification goes to the HWK: without a connected one for the
    postcode, the submit (which knows the kind of business) refuses it at the premises' postcode."""
    review = fill_steps(company, start_draft(company, "gewerbeanmeldung"), gewerbe_answers(handwerk="yes"))
    draft_id = review.split("/")[3]
    html = company.get(review).get_data(as_text=True)
    with app.app_context():
        for chamber in db.session.scalars(select(Chamber).where(Chamber.kind == "HWK")):
            chamber.enabled = False
        db.session.commit()
    resp = company.post(review, data=submit_form(html))
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == f"/antraege/entwurf/{draft_id}/betriebsstaette"
    page = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert "Für die Postleitzahl 28195 ist im Portal noch keine zuständige Stelle angeschlossen." in field_error(
        page, "postcode")
