"""What a third new-user trial of the life-event bundles found (issue 16): a long text pasted into
a bundle's step is answered at its field with the other answers kept; the operator's lines on an
English receipt are English; a craft business moving to another chamber's district is offered
the new chamber's Handwerksrolle; a training contract starting after the newest known minimum pay
year is checked against that year and says so."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bizportal.catalog.bundle_loader import BUNDLES_DIR, load_bundle_text
from bizportal.catalog.loader import DefinitionError, load_catalog
from bizportal.extensions import db
from bizportal.filings.models import Draft
from tests.support.bundles import (
    FILES,
    HANDWERKSROLLE,
    MOVE,
    MOVE_ANSWERS,
    SHARED,
    TO_HAMBURG,
    answer_questionnaire,
    complete_draft,
    given_values,
    post_shown_step,
    service_drafts,
    start_bundle,
    submit,
)
from tests.support.bundles import received_by_body as _received
from tests.support.filing import file_service, gewerbe_answers, post_step
from tests.support.http import field_error, login
from tests.support.pdfs import receipt_text
from tests.support.permits import to_step
from tests.support.training import TRAINING_FILES, training_answers

KB = 1024


def test_a_long_text_in_a_bundle_step_is_answered_at_its_field(app, client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-gruenden")
    resp = post_shown_step(client, first, {**SHARED, "business_name": "B" * (400 * KB)})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert field_error(html, "business_name").startswith("Fehler: Dieser Text ist zu lang: höchstens")
    assert 'value="Hafenstraße 7"' in html and 'value="28217"' in html
    with app.app_context():
        pending = db.session.scalar(select(Draft).where(Draft.service_key == "betrieb-gruenden")).pending_input
    assert next(iter(pending.values()))["street"] == ["Hafenstraße 7"]
    assert all("business_name" not in step for step in pending.values())
    # shortened, the step is taken
    assert post_shown_step(client, first, SHARED).status_code == 302


def test_an_english_receipt_names_the_operator_in_english(app, client, login_as):
    login_as("anna.becker")
    client.get("/sprache/en")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    text = receipt_text(app, reference)
    assert "Business portal (demo) – Demoland – not a public authority" in text
    assert "Portal operated by: Demo operator, Musterstraße 1, 12345 Musterstadt (development installation)" in text
    assert "Demo-Betreiber" not in text and "Unternehmensportal (Demo)" not in text
    # the German receipt keeps the German lines
    client.get("/sprache/de")
    text = receipt_text(app, file_service(client, "gewerbeanmeldung", gewerbe_answers()))
    assert "Unternehmensportal (Demo) – Demoland – keine Behörde" in text
    assert "Betreiber des Portals: Demo-Betreiber, Musterstraße 1" in text and "Demo operator" not in text


def test_without_english_lines_an_english_receipt_keeps_the_german_ones(app_factory):
    app = app_factory(PORTAL_NAME_EN=None, LAND_EN="", OPERATOR_EN=None)
    client = app.test_client()
    assert login(client, "anna.becker").status_code == 302
    client.get("/sprache/en")
    text = receipt_text(app, file_service(client, "gewerbeanmeldung", gewerbe_answers()))
    assert "Unternehmensportal (Demo) – Demoland – keine Behörde" in text
    assert "Portal operated by: Demo-Betreiber, Musterstraße 1" in text


def test_a_training_starting_in_2027_is_checked_against_2026_and_says_so(client, login_as):
    """No 2027 minimum is published (the table's newest row is 2026): the pay step names the year
    whose minimum it applies, refuses pay under 2026's minimum and takes pay that reaches it."""
    login_as("anna.becker")
    answers = training_answers(vertragsschluss="2026-11-20", beginn="2027-08-01", ende="2030-07-31",
                               verguetung_erstes_jahr="700")
    path = to_step(client, "ausbildungsvertrag-eintragung", answers, "verguetung", TRAINING_FILES)
    note = ("Für 2027 ist die Mindestvergütung noch nicht veröffentlicht; geprüft wurde mit der Mindestvergütung "
            "für 2026.")
    assert note in client.get(path).get_data(as_text=True)
    resp = post_step(client, path, answers)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "im ersten Ausbildungsjahr 724 Euro im Monat" in html and note in html
    assert post_step(client, path, {**answers, "verguetung_erstes_jahr": "724"}).status_code == 302


#: Becker Elektro (Am Wall 120, 28195 Bremen, the account's address) moves to Hamburg: another
#: municipality and another Handwerkskammer's district
#: the account's business name, the move bundle's prefilled answer
BUSINESS = "Becker Elektrotechnik GmbH"
ENTRY_REASON = "zieht in den Bezirk einer anderen Handwerkskammer"


def test_a_craft_business_moving_to_another_chambers_district_is_offered_its_handwerksrolle(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", TO_HAMBURG)
    html = client.get(overview).get_data(as_text=True)
    assert 'id="teil-handwerksrolle-eintragung"' in html and ENTRY_REASON in html
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeabmeldung", "gewerbeanmeldung", "handwerksrolle-eintragung"}
    # the shared answers reach the entry: the business, the new address, the date, "Zuzug"
    entry = client.get(f"/antraege/entwurf/{drafts['handwerksrolle-eintragung']}/angaben").get_data(as_text=True)
    given = given_values(entry)
    assert given["business_name"] == BUSINESS and given["postcode"] == "22767"
    assert given["street"] == "Große Elbstraße 14" and given["city"] == "Hamburg"
    assert "Zuzug" in given["gruendungsart"]
    for key in ("gewerbeabmeldung", "gewerbeanmeldung"):
        complete_draft(client, drafts[key], MOVE_ANSWERS)
    complete_draft(client, drafts["handwerksrolle-eintragung"], HANDWERKSROLLE, FILES)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    chamber, data = received[("handwerksrolle-eintragung", "primary")]
    assert chamber == "hwk-hamburg"
    assert (data["street"], data["postcode"], data["city"]) == ("Große Elbstraße 14", "22767", "Hamburg")
    assert data["gruendungsart"] == "zuzug" and data["start_date"] == MOVE["move_date"]
    assert data["business_name"] == BUSINESS
    assert received[("gewerbeanmeldung", "primary")][0] == "gewerbeamt-hamburg"
    assert received[("gewerbeabmeldung", "primary")][0] == "gewerbeamt-bremen"


@pytest.mark.parametrize("plans", [
    {"vorhaben": "verlegen_gemeinde", "new_street": "Hafenstraße 7", "new_postcode": "28217", "new_city": "Bremen"},
    {},  # to Bremerhaven: another municipality, the same Handwerkskammer
])
def test_a_move_within_the_chambers_district_files_no_new_entry(app, client, login_as, plans):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", {**MOVE, **plans})
    html = client.get(overview).get_data(as_text=True)
    assert 'id="teil-handwerksrolle-eintragung"' not in html and ENTRY_REASON not in html
    drafts = service_drafts(client, overview)
    assert "handwerksrolle-eintragung" not in drafts
    for draft_id in drafts.values():
        complete_draft(client, draft_id, {**MOVE_ANSWERS, "handwerk_bezeichnung": "Elektrotechniker"})
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert all(service != "handwerksrolle-eintragung" for service, _role in _received(app))


def test_a_move_of_a_business_not_in_the_handwerksrolle_is_not_offered_the_entry(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", {**TO_HAMBURG, "handwerksrolle": "no"})
    assert "handwerksrolle-eintragung" not in service_drafts(client, overview)


def test_a_service_entry_comparing_a_question_that_is_no_postcode_stops_the_bundle():
    source = BUNDLES_DIR / "betrieb-verlegen-aufgeben.toml"
    text = source.read_text(encoding="utf-8")
    assert 'other_body = { field = "new_postcode", other = "postcode" }' in text
    broken = text.replace('other_body = { field = "new_postcode", other = "postcode" }',
                          'other_body = { field = "new_postcode", other = "new_city" }')
    with pytest.raises(DefinitionError, match="'new_city' is not a postcode question"):
        load_bundle_text(broken, source.name, load_catalog())
