"""Fee notes per region: where the competent body is known (the review of a draft whose address routes
to a body, the filing's page, its receipt) only that body's region's note is shown; where it is not
(the service page before any answer) every region's note, each labelled with its region."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from bizportal.extensions import db
from bizportal.filings.models import Draft
from tests.support import permits
from tests.support.filing import REFERENCE_RE, fill_steps, gewerbe_answers, start_draft
from tests.support.http import submit_form
from tests.support.pdfs import receipt_text

HAMBURG_GEWERBE = "In Hamburg kostet die Anmeldung einer Personengesellschaft 20,00 € je Gesellschafter"
BREMEN_WKOSTV = "In Bremen setzt die Behörde die Gebühr nach der Kostenverordnung der Wirtschaftsverwaltung (WKostV)"
BREMERHAVEN_WKOSTV = "In Bremerhaven setzt die Behörde die Gebühr nach der Kostenverordnung der Wirtschaftsverwaltung"
HAMBURG_34A = "In Hamburg kostet die Erlaubnis 240 € bis 340 €"
SACHKUNDE_BREMEN = "kostet bei der Handelskammer Bremen 150 €"
HAMBURG_LAW = "Gebührenordnung für die Wirtschaftsverwaltung vom 17. Dezember 1991"
BREMEN_LAW = "Kostenverordnung der Wirtschaftsverwaltung vom 4. September 2002"


def _costs(html: str) -> str:
    """The fee and its legal basis as the page shows them (the two description-list entries)."""
    start = html.index('id="fee"')
    return html[start:html.index("</dd>", html.index('id="fee-basis"'))]


def _gewerbe_review(client, **changes) -> str:
    path = fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers(**changes))
    return client.get(path).get_data(as_text=True)


def test_a_bremen_gewerbeanmeldung_shows_the_bremen_fee_note_and_no_hamburg_note(client, login_as):
    login_as("anna.becker")
    html = _gewerbe_review(client)  # Am Wall 120, 28195 Bremen
    assert "Gewerbeamt Bremen (Stadtamt)" in html
    costs = _costs(html)
    assert BREMEN_WKOSTV in costs and BREMEN_LAW in costs
    assert "Hamburg" not in costs
    assert HAMBURG_GEWERBE not in html and HAMBURG_LAW not in html


def test_a_hamburg_gewerbeanmeldung_shows_the_hamburg_fee_note_and_no_bremen_note(client, login_as):
    login_as("anna.becker")
    html = _gewerbe_review(client, street="Große Elbstraße 14", postcode="22767", city="Hamburg")
    assert "Gewerbeamt Hamburg (Bezirksamt)" in html
    costs = _costs(html)
    assert HAMBURG_GEWERBE in costs and HAMBURG_LAW in costs
    assert "Bremen" not in costs
    assert BREMEN_WKOSTV not in html and BREMEN_LAW not in html


def test_a_bremerhaven_gewerbeanmeldung_shows_the_note_of_its_own_office(client, login_as):
    """Bremerhaven's Gewerbeamt is a body of its own region (in the Land Bremen)."""
    login_as("anna.becker")
    html = _gewerbe_review(client, street="Columbusstraße 2", postcode="27568", city="Bremerhaven")
    assert "Gewerbeamt Bremerhaven" in html
    costs = _costs(html)
    assert BREMERHAVEN_WKOSTV in costs and BREMEN_LAW in costs
    assert "Hamburg" not in costs and BREMEN_WKOSTV not in costs


def test_the_review_in_english_shows_the_english_note_of_the_region(client, login_as):
    login_as("anna.becker")
    client.get("/sprache/en")
    costs = _costs(_gewerbe_review(client))
    assert "In Bremen the authority sets the fee under the Kostenverordnung der Wirtschaftsverwaltung (WKostV)" in costs
    assert "Hamburg" not in costs


def test_a_draft_whose_address_no_body_covers_is_sent_to_its_step_not_to_a_review_without_a_fee(app, client,
                                                                                                 login_as):
    """Such a postcode is refused at its step; a draft stored with it before (or whose body was
    disabled since) does not show a review with a guessed fee: the review sends the company to the
    premises with the reason (the service page shows every region's note, see below)."""
    login_as("anna.becker")
    path = fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers())
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(path.split("/")[3]))
        db.session.execute(update(Draft).where(Draft.id == draft.id).values(
            data={**draft.data, "street": "Marienplatz 1", "postcode": "80331", "city": "München"}))
        db.session.commit()
    resp = client.get(path)
    assert resp.status_code == 302 and "/betriebsstaette?pruefen=1" in resp.headers["Location"]
    step = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Für die Postleitzahl 80331 ist im Portal noch keine zuständige Stelle angeschlossen" in step


def test_the_service_page_shows_every_regions_note_labelled_with_its_region(client):
    costs = _costs(client.get("/leistungen/gewerbeanmeldung").get_data(as_text=True))
    assert f"<strong>Hamburg:</strong> {HAMBURG_GEWERBE}" in costs
    assert f"<strong>Bremen:</strong> {BREMEN_WKOSTV}" in costs
    assert f"<strong>Bremerhaven:</strong> {BREMERHAVEN_WKOSTV}" in costs
    assert f"Hamburg: {HAMBURG_LAW}; Bremen: {BREMEN_LAW}; Bremerhaven: {BREMEN_LAW}" in costs
    client.get("/sprache/en")
    costs = _costs(client.get("/leistungen/bewachungserlaubnis-34a").get_data(as_text=True))
    assert "<strong>Hamburg:</strong> In Hamburg the permit costs €240 to €340." in costs
    assert "<strong>Bremen:</strong> In Bremen the authority sets the fee" in costs


def _permit_review(client, service: str, **changes: str) -> str:
    path = permits.to_step(client, service, permits.answers(**changes), "pruefen")
    return client.get(path).get_data(as_text=True)


def test_a_34a_permit_shows_only_the_fee_note_of_the_office_it_goes_to(client, login_as):
    login_as("lea.hansen")
    costs = _costs(_permit_review(client, permits.BEWACHUNG))  # Große Elbstraße 14, 22767 Hamburg
    assert HAMBURG_34A in costs and HAMBURG_LAW in costs
    assert "Bremen" not in costs
    costs = _costs(_permit_review(client, permits.BEWACHUNG, **{
        "betriebsanschrift-street": "Am Wall 120", "betriebsanschrift-postcode": "28195",
        "betriebsanschrift-city": "Bremen"}))
    assert BREMEN_WKOSTV in costs and SACHKUNDE_BREMEN in costs
    assert "Hamburg" not in costs


def test_the_service_page_of_the_34a_permit_shows_both_notes_labelled(client):
    costs = _costs(client.get(f"/leistungen/{permits.BEWACHUNG}").get_data(as_text=True))
    assert f"<strong>Hamburg:</strong> {HAMBURG_34A}" in costs
    assert f"<strong>Bremen:</strong> {BREMEN_WKOSTV}" in costs and SACHKUNDE_BREMEN in costs


def _file_gewerbeanmeldung(client, **changes) -> str:
    path = fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers(**changes))
    review = client.get(path).get_data(as_text=True)
    resp = client.post(path, data=submit_form(review))
    return REFERENCE_RE.search(resp.headers["Location"]).group(0)


def test_the_filing_page_and_the_receipt_show_the_fee_of_the_office_that_received_it(app, client, login_as):
    login_as("anna.becker")
    reference = _file_gewerbeanmeldung(client)
    costs = _costs(client.get(f"/antraege/{reference}").get_data(as_text=True))
    assert BREMEN_WKOSTV in costs and BREMEN_LAW in costs and "Hamburg" not in costs
    text = receipt_text(app, reference)
    assert "Gebühr" in text and BREMEN_WKOSTV in text and BREMEN_LAW in text
    assert "Hamburg" not in text

    reference = _file_gewerbeanmeldung(client, street="Große Elbstraße 14", postcode="22767", city="Hamburg")
    costs = _costs(client.get(f"/antraege/{reference}").get_data(as_text=True))
    assert HAMBURG_GEWERBE in costs and HAMBURG_LAW in costs and "Bremen" not in costs
    text = receipt_text(app, reference)  # the answers name Bremen (the director's address): the fee does not
    assert HAMBURG_GEWERBE.removesuffix(" € je Gesellschafter") in text and HAMBURG_LAW in text
    assert BREMEN_WKOSTV not in text and BREMEN_LAW not in text
