"""Filing a service: prefill, validation, idempotent submit, routing, transactional outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.stats.models import StatCounter
from tests.conftest import TOKEN_RE, csrf_token

GEWERBE_URL = "/leistungen/gewerbeanmeldung/antrag"


def gewerbe_answers(**changes) -> dict:
    answers = {
        "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH", "street": "Am Wall 120",
        "postcode": "28195", "city": "Bremen", "activity": "Elektroinstallation", "start_date": "2027-01-01",
        "handwerk": "yes",
    }
    answers.update(changes)
    return answers


def open_form(client, url=GEWERBE_URL) -> tuple[str, dict]:
    html = client.get(url).get_data(as_text=True)
    return html, {"csrf_token": csrf_token(html), "submit_token": TOKEN_RE.search(html).group(1)}


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def destinations(app) -> list[tuple[str, str]]:
    with app.app_context():
        return sorted((d.chamber.slug, d.role) for d in db.session.scalars(select(Delivery)))


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def test_form_is_prefilled_and_marked(company):
    html, _ = open_form(company)
    assert 'value="Am Wall 120"' in html and 'value="28195"' in html
    assert html.count("aus Ihrem Unternehmenskonto") >= 5  # name, legal form, street, postcode, city


def test_crafts_business_goes_to_gewerbeamt_and_hwk(app, company):
    _, hidden = open_form(company)
    resp = company.post(GEWERBE_URL, data={**hidden, **gewerbe_answers()})
    assert resp.status_code == 302 and "/antraege/BP-" in resp.headers["Location"]
    assert destinations(app) == [("gewerbeamt-bremen", "primary"), ("hwk-bremen", "copy")]
    with app.app_context():
        filing = db.session.scalar(select(Filing))
        assert filing.data["handwerk"] is True and filing.data["start_date"] == "2027-01-01"
        assert filing.person.sub == "anna.becker"


def test_other_business_goes_to_gewerbeamt_and_ihk(app, company):
    _, hidden = open_form(company)
    company.post(GEWERBE_URL, data={**hidden, **gewerbe_answers(handwerk="no")})
    assert destinations(app) == [("gewerbeamt-bremen", "primary"), ("hk-bremen", "copy")]


def test_bremerhaven_postcode_goes_to_bremerhaven_trade_office(app, company):
    _, hidden = open_form(company)
    company.post(GEWERBE_URL, data={**hidden, **gewerbe_answers(postcode="27568", city="Bremerhaven")})
    assert ("gewerbeamt-bremerhaven", "primary") in destinations(app)


def test_handwerksrolle_goes_to_hwk_hamburg_for_hamburg_company(app, client, login_as):
    login_as("lea.hansen")
    url = "/leistungen/handwerksrolle-eintragung/antrag"
    html, hidden = open_form(client, url)
    assert 'value="22767"' in html
    resp = client.post(url, data={**hidden, "business_name": "Hansen", "street": "Große Elbstraße 14",
                                  "postcode": "22767", "city": "Hamburg", "trade": "tischler",
                                  "qualification": "meisterpruefung", "manager_name": "Lea Hansen",
                                  "start_date": "2027-03-01"})
    assert resp.status_code == 302
    assert destinations(app) == [("hwk-hamburg", "primary")]


def test_invalid_values_get_messages_and_nothing_is_stored(app, company):
    _, hidden = open_form(company)
    resp = company.post(GEWERBE_URL, data={**hidden, **gewerbe_answers(postcode="2819", activity="",
                                                                       handwerk="")})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Postleitzahl mit fünf Ziffern" in html
    assert "Bitte füllen Sie dieses Feld aus." in html
    assert "Bitte wählen Sie Ja oder Nein." in html
    assert 'id="error-summary"' in html and 'href="#postcode"' in html
    assert 'value="Am Wall 120"' in html  # what was entered is kept
    assert count(app, Filing) == 0 and count(app, Delivery) == 0


def test_postcode_without_connected_body_is_refused_and_nothing_stored(app, company):
    _, hidden = open_form(company)
    resp = company.post(GEWERBE_URL, data={**hidden, **gewerbe_answers(postcode="80331", city="München")})
    assert resp.status_code == 422
    assert "keine zuständige Stelle" in resp.get_data(as_text=True)
    assert count(app, Filing) == 0 and count(app, Delivery) == 0 and count(app, StatCounter) == 0


def test_missing_csrf_token_is_refused_and_nothing_stored(app, company):
    _, hidden = open_form(company)
    resp = company.post(GEWERBE_URL, data={"submit_token": hidden["submit_token"], **gewerbe_answers()})
    assert resp.status_code == 400
    assert "Es wurde nichts gespeichert" in resp.get_data(as_text=True)
    assert count(app, Filing) == 0


def test_double_submit_creates_one_filing(app, company):
    _, hidden = open_form(company)
    first = company.post(GEWERBE_URL, data={**hidden, **gewerbe_answers()})
    second = company.post(GEWERBE_URL, data={**hidden, **gewerbe_answers()})
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, Filing) == 1 and count(app, Delivery) == 2


def test_tampered_submit_token_is_refused(app, company):
    _, hidden = open_form(company)
    resp = company.post(GEWERBE_URL, data={**hidden, "submit_token": "x' OR 1=1", **gewerbe_answers()})
    assert resp.status_code == 422
    assert count(app, Filing) == 0


def test_submit_token_of_another_company_is_refused(app, client, login_as):
    login_as("anna.becker")
    _, hidden = open_form(client)
    client.post(GEWERBE_URL, data={**hidden, **gewerbe_answers()})
    other = app.test_client()
    from tests.conftest import login

    login(other, "lea.hansen")
    _, other_hidden = open_form(other)
    resp = other.post(GEWERBE_URL, data={**other_hidden, "submit_token": hidden["submit_token"],
                                         **gewerbe_answers()})
    assert resp.status_code == 400
    assert count(app, Filing) == 1


def test_filing_of_another_company_is_not_found(app, client, login_as):
    login_as("anna.becker")
    _, hidden = open_form(client)
    location = client.post(GEWERBE_URL, data={**hidden, **gewerbe_answers()}).headers["Location"]
    assert client.get(location).status_code == 200
    other = app.test_client()
    from tests.conftest import login

    login(other, "lea.hansen")
    resp = other.get(location)
    assert resp.status_code == 404
    assert "Becker" not in resp.get_data(as_text=True)


def test_colleague_sees_company_filing(app, client, login_as):
    login_as("anna.becker")
    _, hidden = open_form(client)
    location = client.post(GEWERBE_URL, data={**hidden, **gewerbe_answers()}).headers["Location"]
    colleague = app.test_client()
    from tests.conftest import login

    login(colleague, "jonas.weber")
    page = colleague.get(location)
    assert page.status_code == 200 and "Anna Becker" in page.get_data(as_text=True)


def test_filing_and_deliveries_commit_together_or_not_at_all(app, company, monkeypatch):
    """If anything in the submit transaction fails, neither filing nor outbox rows remain."""
    from bizportal.filings import services

    def broken(*args, **kwargs):
        raise RuntimeError("statistics unavailable")

    _, hidden = open_form(company)
    monkeypatch.setattr(services.stats, "count_event", broken)
    resp = company.post(GEWERBE_URL, data={**hidden, **gewerbe_answers()})
    assert resp.status_code == 500
    assert count(app, Filing) == 0 and count(app, Delivery) == 0


def test_anonymous_cannot_open_the_form(client):
    resp = client.get(GEWERBE_URL)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
