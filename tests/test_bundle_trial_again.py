"""What a second new user's trial of the life-event bundles found (issue 16): an unserved
postcode refused where the bundle asks it, persons that fit who runs the business, blank answers
refused at their step, no irrelevant questions, a note when the filing is for another business
than the account's, a confirmation before leaving out a required service, hints that match the
buttons, the new premises of an Ummeldung in "Meine Anträge"."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Draft
from bizportal.inbox.models import InboxItem
from tests.support.bundles import (
    CHILD_ANSWERS,
    FILES,
    HANDWERKSROLLE,
    MOVE,
    MOVE_ANSWERS,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    complete_services,
    file_bundle,
    fill,
    given_values,
    post_shown_step,
    service_drafts,
    start_bundle,
)
from tests.support.filing import gewerbe_answers, path_of, start_draft
from tests.support.http import login, submit_form

UNSERVED = "Für die Postleitzahl 80331 ist im Portal noch keine zuständige Stelle angeschlossen"
MUNICH = {"street": "Marienplatz 1", "postcode": "80331", "city": "München"}


@pytest.mark.parametrize("key", ["betrieb-gruenden", "betrieb-uebernehmen"])
def test_a_founding_or_takeover_refuses_an_unserved_postcode_at_its_step(client, login_as, key):
    login_as("anna.becker")
    first = start_bundle(client, key)
    resp = post_shown_step(client, first, {**SHARED, **MUNICH})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert UNSERVED in html
    assert re.search(r'id="postcode-error"|aria-describedby="[^"]*postcode', html)
    # with a served postcode the step is taken
    assert post_shown_step(client, first, SHARED).status_code == 302


@pytest.mark.parametrize("vorhaben", ["verlegen_gemeinde", "aufgeben"])
def test_a_move_refuses_an_unserved_current_postcode_at_its_step(client, login_as, vorhaben):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    shown = fill(client, first, {**MOVE, "vorhaben": vorhaben}, stop_at="betrieb")
    assert shown == ["vorhaben"]
    betrieb = first.rsplit("/", 1)[0] + "/betrieb"
    resp = post_shown_step(client, betrieb, {**MOVE, **MUNICH})
    assert resp.status_code == 422
    assert UNSERVED in resp.get_data(as_text=True)


def test_a_move_within_the_town_refuses_an_unserved_new_postcode_with_that_message(client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    fill(client, first, {**MOVE, "vorhaben": "verlegen_gemeinde"}, stop_at="neu")
    neu = first.rsplit("/", 1)[0] + "/neu"
    resp = post_shown_step(client, neu, {"new_street": "Marienplatz 1", "new_postcode": "80331", "new_city": "München"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert UNSERVED in html
    assert "nicht im Bereich des Gewerbeamts" not in html  # not: "another Gewerbeamt's area"


OWNER = {"personen-0-funktion": "inhaber"}


def test_a_legal_persons_bundle_refuses_an_owner_among_its_persons_at_the_field(client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-gruenden")
    fill(client, first, SHARED, stop_at="personen")  # a GmbH: "juristische_person"
    personen = first.rsplit("/", 1)[0] + "/personen"
    resp = post_shown_step(client, personen, {**SHARED, **OWNER})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Eine Inhaberin oder einen Inhaber hat nur ein Einzelunternehmen" in html
    # at the field of the first person, linked from the summary
    assert re.search(r'href="#personen-0-funktion"', html)
    assert re.search(r'id="personen-0-funktion-error"', html)
    assert post_shown_step(client, personen, {**SHARED}).status_code == 302  # her role: legal representative


def test_a_sole_trader_names_its_owner(client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-gruenden")
    sole = {**SHARED, "inhaber_art": "natuerliche_person", "registereintrag": "no", "legal_form": "Einzelunternehmen"}
    fill(client, first, sole, stop_at="personen")
    assert post_shown_step(client, first.rsplit("/", 1)[0] + "/personen", {**sole, **OWNER}).status_code == 302


def test_the_gewerbeanmeldung_alone_refuses_an_owner_of_a_gmbh_too(client, login_as):
    login_as("anna.becker")
    first = start_draft(client, "gewerbeanmeldung")
    fill(client, first, gewerbe_answers(), stop_at="personen")  # a GmbH
    resp = post_shown_step(client, first.rsplit("/", 1)[0] + "/personen", {**gewerbe_answers(), **OWNER})
    assert resp.status_code == 422
    assert "Eine Inhaberin oder einen Inhaber hat nur ein Einzelunternehmen" in resp.get_data(as_text=True)


def test_the_number_of_representatives_comes_from_the_bundles_persons_and_is_asked_alone(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    html = client.get(f"/antraege/entwurf/{gewerbe}/betrieb").get_data(as_text=True)
    assert 'name="zahl_vertreter"' not in html
    assert given_values(html).get("zahl_vertreter") == "1"  # one managing director listed
    first = start_draft(client, "gewerbeanmeldung")
    fill(client, first, gewerbe_answers(), stop_at="betrieb")
    assert 'name="zahl_vertreter"' in client.get(first.rsplit("/", 1)[0] + "/betrieb").get_data(as_text=True)


def test_a_name_of_only_spaces_is_refused_at_the_bundle_step_and_the_service_step(client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-gruenden")
    resp = post_shown_step(client, first, {**SHARED, "business_name": "   "})
    assert resp.status_code == 422
    assert "Bitte füllen Sie dieses Feld aus." in resp.get_data(as_text=True)
    alone = start_draft(client, "gewerbeanmeldung")
    resp = post_shown_step(client, alone, {**gewerbe_answers(), "business_name": "  ", "legal_form": " "})
    assert resp.status_code == 422
    assert "Bitte füllen Sie dieses Feld aus." in resp.get_data(as_text=True)


def test_a_field_corrected_from_the_bundle_review_returns_to_the_review(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    complete_services(client, overview)
    assert client.get(f"{overview}/pruefen").status_code == 200
    bundle_draft = overview.rsplit("/", 1)[-1]
    with app.app_context():  # an answer saved before the rule (as the trial's draft held it)
        draft = db.session.get(Draft, uuid.UUID(bundle_draft))
        draft.data = {**draft.data, "city": ""}
        db.session.commit()
    resp = client.get(f"{overview}/pruefen")
    assert resp.status_code == 302
    step = path_of(resp.headers["Location"])
    assert "pruefen=1" in step and "next=" in step
    resp = post_shown_step(client, step, {"city": "Bremen"})
    assert resp.status_code == 302
    assert path_of(resp.headers["Location"]) == f"{overview}/pruefen"


def test_a_new_business_is_not_asked_about_a_takeover_nor_an_unregistered_one_for_its_register_extract(
        client, login_as):
    login_as("anna.becker")
    sole = {**SHARED, "inhaber_art": "natuerliche_person", "registereintrag": "no", "legal_form": "Einzelunternehmen",
            "personen-0-funktion": "inhaber"}
    overview = answer_questionnaire(client, "betrieb-gruenden", {**sole, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    rolle = service_drafts(client, overview)["handwerksrolle-eintragung"]
    shown = complete_draft(client, rolle, CHILD_ANSWERS, FILES)
    assert "uebernahme" not in shown
    pages = "".join(client.get(f"/antraege/entwurf/{rolle}/{step}").get_data(as_text=True) for step in shown)
    assert "Art der Übernahme" not in pages and "Name der früheren Inhaberin" not in pages
    assert 'name="handelsregisterauszug"' not in pages
    review = client.get(f"{overview}/pruefen").get_data(as_text=True)
    assert "Art der Übernahme" not in review and "Auszug aus dem Handelsregister" not in review


def test_the_handwerksrolle_alone_asks_the_takeover_and_the_register_extract_only_when_they_apply(client, login_as):
    login_as("anna.becker")
    first = start_draft(client, "handwerksrolle-eintragung")
    html = client.get(first).get_data(as_text=True)
    assert 'name="uebernahme_art"' not in html and 'name="registereintrag"' in html
    shown = fill(client, first, {**HANDWERKSROLLE, "business_name": "Becker Elektro", "legal_form": "Einzelunternehmen",
                                 "street": "Am Wall 120", "postcode": "28195", "city": "Bremen",
                                 "start_date": "2027-03-01", "registereintrag": "no", "gruendungsart": "uebernahme",
                                 "uebernahme_art": "kauf", "frueherer_inhaber": "Elektro Meyer e. K.",
                                 "betriebsleiter_wochenstunden": "40"}, FILES, stop_at="unterlagen")
    assert shown[:2] == ["angaben", "uebernahme"]
    unterlagen = first.rsplit("/", 1)[0] + "/unterlagen"
    assert 'name="handelsregisterauszug"' not in client.get(unterlagen).get_data(as_text=True)


SOLE = {**SHARED, "business_name": "Elektro Becker", "legal_form": "Einzelunternehmen",
        "inhaber_art": "natuerliche_person", "registereintrag": "no", "personen-0-funktion": "inhaber"}
OTHER_BUSINESS = "Dieses Vorhaben gilt für einen anderen Betrieb als die Stammdaten Ihres Unternehmenskontos"


def test_the_review_says_when_the_bundle_is_for_another_business_than_the_accounts_and_staff_see_both(
        app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SOLE, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    complete_services(client, overview)
    review = client.get(f"{overview}/pruefen").get_data(as_text=True)
    assert f"{OTHER_BUSINESS} (Becker Elektrotechnik GmbH, GmbH)" in review
    resp = client.post(f"{overview}/pruefen", data=submit_form(review))
    assert resp.status_code == 302
    Worker(app).run_once()
    with app.app_context():
        item_id = db.session.scalar(select(InboxItem.id).where(InboxItem.service_key == "handwerksrolle-eintragung"))
    staff = app.test_client()
    login(staff, "hwk.bremen", staff=True)
    page = staff.get(f"/staff/posteingang/{item_id}").get_data(as_text=True)
    account, filed = page.split("Stammdaten des Kontos", 1)[1].split("Angaben im Antrag</h2>", 1)
    assert ">GmbH<" in account and "Einzelunternehmen" not in account
    assert "Einzelunternehmen" in filed


def test_the_review_says_nothing_of_another_business_for_the_accounts_own(client, login_as):
    login_as("anna.becker")
    own = {**SHARED, "business_name": "Becker  Elektrotechnik GmbH"}  # as the account has it, spaces aside
    overview = answer_questionnaire(client, "betrieb-gruenden", {**own, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    complete_services(client, overview)
    review = client.get(f"{overview}/pruefen")
    assert review.status_code == 200
    assert OTHER_BUSINESS not in review.get_data(as_text=True)


def test_the_first_step_of_a_service_in_a_bundle_names_only_the_buttons_it_has(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    first = f"/antraege/entwurf/{gewerbe}/inhaber"  # the Gewerbeanmeldung's first step
    html = client.get(first).get_data(as_text=True)
    hint = re.search(r'<p class="kern-body kern-body--small" id="zurueck-hinweis">(.*?)</p>', html, re.S).group(1)
    assert 'id="zurueck"' not in html and 'id="zur-uebersicht"' in html  # no "Zurück" on the first step
    assert "„Zurück“" not in hint
    assert "„Zur Übersicht des Vorhabens“ behält, was Sie auf dieser Seite eingegeben haben" in hint
    later = client.get(f"/antraege/entwurf/{gewerbe}/personen").get_data(as_text=True)
    assert 'id="zurueck"' in later and "„Zurück“ und „Zur Übersicht des Vorhabens“ behalten" in later


def test_my_filings_list_an_ummeldung_with_the_new_premises(client, login_as):
    login_as("anna.becker")
    within = {**MOVE, "vorhaben": "verlegen_gemeinde", "new_street": "Hafenstraße 7", "new_postcode": "28217",
              "new_city": "Bremen"}
    file_bundle(client, "betrieb-verlegen-aufgeben", within,
                {**MOVE_ANSWERS, "handwerk_bezeichnung": "Elektrotechniker"})
    html = client.get("/antraege").get_data(as_text=True)
    card = re.search(r'<td class="kern-table__cell">Gewerbeummeldung\s*<ul[^>]*>.*?</ul>', html, re.S).group(0)
    assert "Hafenstraße 7" in card and "28217" in card
    assert "Am Wall 120" not in card  # the premises it leaves
