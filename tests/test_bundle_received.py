"""What the fourth new-user trial of the life-event bundles found reaching the wrong body or asked
twice (issue 16, "a founder answers each question once and every competent body receives its
filing"): a move "within the municipality" to another town's address, a move "to another
municipality" within the same Gewerbeamt's area. Each is refused where it is asked, and what is
filed is read as its receiver got it."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from bizportal.catalog.bundle_loader import load_bundle_text, load_bundles
from bizportal.catalog.loader import DefinitionError, load_catalog
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from bizportal.inbox.models import InboxItem
from tests.support.bundles import (
    CHILD_ANSWERS,
    FILES,
    MOVE,
    MOVE_ANSWERS,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    form_values,
    given_values,
    press,
    service_drafts,
    submit,
)
from tests.support.filing import VERSICHERUNGSVERMITTLER_FILES, path_of, versicherungsvermittler_answers
from tests.support.http import csrf_token

CATALOG = load_catalog()
HAMBURG = {"new_street": "Mönckebergstraße 1", "new_postcode": "20095", "new_city": "Hamburg"}
VEGESACK = {"new_street": "Gerhard-Rohlfs-Straße 1", "new_postcode": "28757", "new_city": "Bremen-Vegesack"}
OTHER_AREA = "Die neue Betriebsstätte liegt nicht im Bereich des Gewerbeamts, bei dem Ihr Betrieb bisher " \
             "angemeldet ist."
SAME_AREA = "Die neue Betriebsstätte liegt im Bereich desselben Gewerbeamts wie die bisherige."


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _received(app) -> dict[tuple[str, str], tuple[str, dict]]:
    """What each receiver got, by (service, role): the receiving body's slug and the data."""
    Worker(app).run_once()
    with app.app_context():
        return {(i.service_key, i.destination_role): (i.chamber.slug, i.data)
                for i in db.session.scalars(select(InboxItem))}


def _filings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Filing))


def _new_place_step(client, vorhaben: str) -> str:
    """The step "Neue Betriebsstätte" of a new move, every earlier question answered."""
    page = client.get("/vorhaben/betrieb-verlegen-aufgeben")
    resp = client.post("/vorhaben/betrieb-verlegen-aufgeben",
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    path = path_of(resp.headers["Location"])
    for _ in range(10):
        if path.endswith("/neu"):
            return path
        html = client.get(path).get_data(as_text=True)
        resp = client.post(path, data={**form_values(html), **MOVE, "vorhaben": vorhaben, "action": "next"})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        path = path_of(resp.headers["Location"])
    raise AssertionError("no step neu")


def _error_of(html: str, field: str) -> str:
    control = re.search(rf'<(?:input|select)[^>]*\bid="{field}"[^>]*>', html)
    assert control and f"{field}-error" in control.group(0) and 'aria-invalid="true"' in control.group(0)
    error = re.search(rf'<p class="kern-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert error, f"no error at {field}"
    return re.sub(r"<[^>]+>", "", error.group(1))


def _post(client, path: str, answers: dict):
    html = client.get(path).get_data(as_text=True)
    return client.post(path, data={**form_values(html), **answers, "move_date": "2027-04-01", "action": "next"})


# --- F1/F2: the Gewerbeamt of each address decides which move it is --------------------------------

def test_a_move_within_the_municipality_to_a_hamburg_address_is_refused_at_the_postcode(company):
    path = _new_place_step(company, "verlegen_gemeinde")  # the business is in Bremen (28195)
    resp = _post(company, path, HAMBURG)
    assert resp.status_code == 422
    message = _error_of(resp.get_data(as_text=True), "new_postcode")
    assert OTHER_AREA in message and "„Den Betrieb in eine andere Gemeinde verlegen“" in message


def test_a_move_to_another_municipality_into_bremen_vegesack_is_refused_at_the_postcode(company):
    path = _new_place_step(company, "verlegen_anderswo")
    resp = _post(company, path, VEGESACK)  # another town's name, but Bremen's Gewerbeamt
    assert resp.status_code == 422
    message = _error_of(resp.get_data(as_text=True), "new_postcode")
    assert SAME_AREA in message and "„Den Betrieb innerhalb derselben Gemeinde verlegen“" in message


def test_a_move_to_a_postcode_without_a_connected_gewerbeamt_says_so(company):
    path = _new_place_step(company, "verlegen_anderswo")
    resp = _post(company, path, {"new_street": "Marktplatz 1", "new_postcode": "99084", "new_city": "Erfurt"})
    assert resp.status_code == 422
    assert "Für die Postleitzahl 99084 ist im Portal noch keine zuständige Stelle angeschlossen." in _error_of(
        resp.get_data(as_text=True), "new_postcode")


def test_a_move_within_bremen_reaches_bremens_gewerbeamt_with_the_vegesack_address(app, company):
    overview = answer_questionnaire(company, "betrieb-verlegen-aufgeben",
                                    {**MOVE, **VEGESACK, "vorhaben": "verlegen_gemeinde"})
    drafts = service_drafts(company, overview)
    assert set(drafts) == {"gewerbeummeldung"}
    complete_draft(company, drafts["gewerbeummeldung"], {**MOVE_ANSWERS, "handwerk_bezeichnung": "Elektrotechniker"})
    _review, resp = submit(company, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    body, data = _received(app)[("gewerbeummeldung", "primary")]
    assert body == "gewerbeamt-bremen"
    assert data["neue_anschrift"] == {"street": VEGESACK["new_street"], "postcode": "28757",
                                      "city": "Bremen-Vegesack"}


def test_a_move_to_bremerhaven_deregisters_in_bremen_and_registers_in_bremerhaven(app, company):
    overview = answer_questionnaire(company, "betrieb-verlegen-aufgeben", MOVE)
    for draft_id in service_drafts(company, overview).values():
        complete_draft(company, draft_id, MOVE_ANSWERS)
    _review, resp = submit(company, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    assert received[("gewerbeabmeldung", "primary")][0] == "gewerbeamt-bremen"
    body, data = received[("gewerbeanmeldung", "primary")]
    assert body == "gewerbeamt-bremerhaven" and data["postcode"] == "27568"


def test_a_draft_moved_to_hamburg_within_the_municipality_is_not_filed(app, company):
    overview = answer_questionnaire(company, "betrieb-verlegen-aufgeben",
                                    {**MOVE, **VEGESACK, "vorhaben": "verlegen_gemeinde"})
    drafts = service_drafts(company, overview)
    complete_draft(company, drafts["gewerbeummeldung"], {**MOVE_ANSWERS, "handwerk_bezeichnung": "Elektrotechniker"})
    bundle_id = overview.rsplit("/", 1)[-1]
    with app.app_context():  # an answer given before the rule
        draft = db.session.get(Draft, uuid.UUID(bundle_id))
        draft.data = {**draft.data, **HAMBURG}
        db.session.commit()
    review = company.get(f"{overview}/pruefen")  # the review opens the step
    assert review.status_code == 302 and f"/entwurf/{bundle_id}/neu?" in review.headers["Location"]
    token = csrf_token(company.get("/vorhaben/betrieb-gruenden").get_data(as_text=True))
    resp = company.post(f"{overview}/pruefen", data={"csrf_token": token, "declaration": "y"})
    assert resp.status_code == 302 and f"/entwurf/{bundle_id}/neu?" in resp.headers["Location"]
    assert OTHER_AREA in company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert _filings(app) == 0


# --- the rule in a bundle file ------------------------------------------------------------------

HEAD = '''
key = "test-lage"
title = { de = "Testlage", en = "Test event" }
summary = { de = "Zum Testen.", en = "For tests." }

[[services]]
service = "gewerbeanmeldung"
reason = { de = "Immer.", en = "Always." }

[[services]]
service = "handwerksrolle-eintragung"
reason = { de = "Immer.", en = "Always." }

[[fields]]
name = "plz"
type = "postcode"
label = { de = "PLZ?", en = "Postcode?" }

[[fields]]
name = "neue_plz"
type = "postcode"
label = { de = "Neue PLZ?", en = "New postcode?" }
'''
MESSAGE = 'message = { de = "Anderes Amt.", en = "Other office." }'


def _load(**keys: str):
    check = "\n[[checks]]\n" + "".join(f'{k} = "{v}"\n' for k, v in keys.items()) + MESSAGE + "\n"
    return load_bundle_text(HEAD + check, "test-lage.toml", CATALOG)


def test_a_body_rule_compares_the_primary_receivers_of_the_named_service():
    (check,) = _load(rule="same_body", service="gewerbeanmeldung", field="neue_plz", other="plz").questionnaire.checks
    assert check.body_kind == "GEWERBEAMT"
    (check,) = _load(rule="other_body", service="handwerksrolle-eintragung", field="neue_plz",
                     other="plz").questionnaire.checks
    assert check.body_kind == "HWK"


@pytest.mark.parametrize(("keys", "where", "problem"), [
    ({"rule": "same_body", "field": "neue_plz", "other": "plz"}, "checks[0].service", "must be a non-empty string"),
    ({"rule": "same_body", "service": "gewerbeummeldung", "field": "neue_plz", "other": "plz"},
     "checks[0].service", "not one of the bundle's services"),
    ({"rule": "differs", "service": "gewerbeanmeldung", "field": "neue_plz", "other": "plz"},
     "checks[0].service", "only a same_body or other_body or served check names a service"),
    ({"rule": "other_body", "service": "gewerbeanmeldung", "field": "gewerbeanmeldung.postcode", "other": "plz"},
     "checks[0].field", "compares two postcodes among the bundle's questions"),
])
def test_a_body_rule_the_portal_cannot_apply_is_refused(keys, where, problem):
    with pytest.raises(DefinitionError, match=rf"^test-lage\.toml: field '{re.escape(where)}'.*{re.escape(problem)}"):
        _load(**keys)


# --- F3: the legal form is the bundle's in the Handwerksrolle too ----------------------------------

FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a", "legal_form": "UG (haftungsbeschränkt)"}


def test_the_handwerksrolle_gets_the_legal_form_of_the_questionnaire_without_asking_it(app, company):
    overview = answer_questionnaire(company, "betrieb-gruenden", FOUNDING)  # the account says "GmbH"
    press(company, overview)
    drafts = service_drafts(company, overview)
    for draft_id in drafts.values():
        complete_draft(company, draft_id, CHILD_ANSWERS, FILES)
    page = company.get(f"/antraege/entwurf/{drafts['handwerksrolle-eintragung']}/angaben").get_data(as_text=True)
    assert 'name="legal_form"' not in page
    assert given_values(page)["legal_form"] == "UG (haftungsbeschränkt)"
    _review, resp = submit(company, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    assert received[("handwerksrolle-eintragung", "primary")][1]["legal_form"] == "UG (haftungsbeschränkt)"
    assert received[("gewerbeanmeldung", "primary")][1]["legal_form"] == "UG (haftungsbeschränkt)"


# --- F4: the § 34d permit in a takeover asks nothing the questionnaire answered ---------------------

TAKEOVER = {**SHARED, **PLANS, "handwerk_anlage": "a", "ausbilden": "no", "vermittlung_34d": "yes",
            "uebernahme_art": "pacht", "frueherer_inhaber": "Elektro Meier e. K.", "start_date": "2027-05-01",
            "personen-0-vornamen": "Anna Maria"}  # the login's name is "Anna Becker"
PERMIT_FILES = {name: f"{name}.pdf" for name in [*VERSICHERUNGSVERMITTLER_FILES, "handelsregisterauszug"]}


def test_the_34d_permit_of_a_takeover_gets_applicant_birth_date_and_start_from_the_questionnaire(app, company):
    overview = answer_questionnaire(company, "betrieb-uebernehmen", TAKEOVER)
    press(company, overview)
    drafts = service_drafts(company, overview)
    permit = drafts["versicherungsvermittler-34d"]
    complete_draft(company, permit, versicherungsvermittler_answers(handelsregisternummer="Bremen HRB 12345"),
                   PERMIT_FILES)
    page = company.get(f"/antraege/entwurf/{permit}/angaben").get_data(as_text=True)
    for name in ("antragsteller_art", "applicant_name", "geburtsdatum"):
        assert f'name="{name}"' not in page, name
    given = given_values(page)
    assert given["applicant_name"] == "Anna Maria Becker" and given["geburtsdatum"] == "17.05.1980"
    activity = company.get(f"/antraege/entwurf/{permit}/taetigkeit").get_data(as_text=True)
    assert 'name="beginn"' not in activity and given_values(activity)["beginn"] == "01.05.2027"
    for key, draft_id in drafts.items():
        if key != "versicherungsvermittler-34d":
            complete_draft(company, draft_id, CHILD_ANSWERS, FILES)
    _review, resp = submit(company, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    body, data = _received(app)[("versicherungsvermittler-34d", "primary")]
    assert body == "hk-bremen"
    assert (data["antragsteller_art"], data["applicant_name"], data["geburtsdatum"], data["beginn"]) == (
        "juristische_person", "Anna Maria Becker", "1980-05-17", "2027-05-01")


def test_a_partnership_applies_for_the_34d_permit_as_a_natural_person():
    bundle = load_bundles(CATALOG)["betrieb-uebernehmen"]
    for inhaber_art, applicant in (("personengesellschaft", "natuerliche_person"),
                                   ("natuerliche_person", "natuerliche_person"),
                                   ("juristische_person", "juristische_person")):
        given = bundle.shared_answers("versicherungsvermittler-34d", {"inhaber_art": inhaber_art,
                                                                       "vermittlung_34d": True})
        assert given["antragsteller_art"] == applicant


PERSONS = '''
key = "test-lage"
title = { de = "Testlage", en = "Test event" }
summary = { de = "Zum Testen.", en = "For tests." }

[[services]]
service = "versicherungsvermittler-34d"
reason = { de = "Immer.", en = "Always." }

[[fields]]
name = "personen"
type = "group"
label = { de = "Personen", en = "Persons" }
fields = [
  { name = "vornamen", type = "text", max_length = %d, label = { de = "Vornamen", en = "Given names" } },
  { name = "familienname", type = "text", max_length = 100, label = { de = "Name", en = "Surname" } },
  { name = "geburtsdatum", type = "date", label = { de = "Geburtsdatum", en = "Date of birth" } },
]
maps = { versicherungsvermittler-34d = [%s] }
'''


def test_a_name_joined_from_two_sub_fields_fills_the_applicants_name():
    bundle = load_bundle_text(PERSONS % (100, '{ field = "applicant_name", first = ["vornamen", "familienname"] }, '
                                               '{ field = "geburtsdatum", first = "geburtsdatum" }'),
                              "test-lage.toml", CATALOG)
    given = bundle.shared_answers("versicherungsvermittler-34d", {"personen": [
        {"vornamen": " Anna  Maria ", "familienname": "Becker", "geburtsdatum": "1980-05-17"}]})
    assert given == {"applicant_name": "Anna Maria Becker", "geburtsdatum": "1980-05-17"}


@pytest.mark.parametrize(("length", "target", "problem"), [
    (101, '{ field = "applicant_name", first = ["vornamen", "familienname"] }', "more than the 201 characters"),
    (100, '{ field = "geburtsdatum", first = ["vornamen", "familienname"] }', "plain text field"),
    (100, '{ field = "applicant_name", first = ["vornamen", "geburtsdatum"] }', "plain text sub-field"),
])
def test_a_joined_name_that_does_not_fit_is_refused(length, target, problem):
    with pytest.raises(DefinitionError, match=rf"^test-lage\.toml: field 'fields\.personen\.maps\."
                                              rf"versicherungsvermittler-34d\[0\]\.first': .*{re.escape(problem)}"):
        load_bundle_text(PERSONS % (length, target), "test-lage.toml", CATALOG)


# --- F10: field 29 (Handwerkskarte) is not asked for an Anlage B craft -----------------------------

def test_an_anlage_b_founder_leaving_out_the_verzeichnis_is_not_asked_for_a_craft_card(app, company):
    overview = answer_questionnaire(company, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "b",
                                                                  "ausbilden": "no"})
    press(company, overview, service="handwerk-verzeichnis-eintragung", leave_out="yes")
    press(company, overview)
    drafts = service_drafts(company, overview)
    notification = drafts["gewerbeanmeldung"]
    shown = complete_draft(company, notification, {**CHILD_ANSWERS, "handwerkskarte_vorhanden": "yes"}, FILES)
    assert "handwerk_angaben" not in shown and "handwerkskarte_angaben" not in shown
    card = company.get(f"/antraege/entwurf/{notification}/handwerk_angaben").get_data(as_text=True)
    assert 'name="handwerkskarte_vorhanden"' not in card
    assert given_values(card)["handwerkskarte_vorhanden"] == "Nein"
    assert "Die Frage gilt nur für Handwerke der Anlage A HwO." in card
    _review, resp = submit(company, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    assert ("handwerk-verzeichnis-eintragung", "primary") not in received
    assert received[("gewerbeanmeldung", "primary")][1]["handwerkskarte_vorhanden"] is False


# --- F7: an unregistered sole trader's name is the trading name (field 3), not field 1 -------------

SOLE_TRADER = {**SHARED, **PLANS, "handwerk_anlage": "a", "ausbilden": "no", "business_name": "Elektro Becker",
               "legal_form": "Einzelunternehmen", "inhaber_art": "natuerliche_person", "registereintrag": "no",
               "personen-0-funktion": "inhaber"}


def test_an_unregistered_sole_traders_name_reaches_the_gewerbeamt_as_trading_name(app, company):
    overview = answer_questionnaire(company, "betrieb-gruenden", SOLE_TRADER)
    press(company, overview)
    drafts = service_drafts(company, overview)
    for draft_id in drafts.values():
        complete_draft(company, draft_id, CHILD_ANSWERS, FILES)
    page = company.get(f"/antraege/entwurf/{drafts['gewerbeanmeldung']}/inhaber").get_data(as_text=True)
    for name in ("business_name", "registereintrag", "geschaeftsbezeichnung"):
        assert f'name="{name}"' not in page, name  # the bundle answers fields 1 to 3
    given = given_values(page)
    assert (given["business_name"], given["registereintrag"], given["geschaeftsbezeichnung"]) == (
        "–", "Nein", "Elektro Becker")
    _review, resp = submit(company, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    body, data = received[("gewerbeanmeldung", "primary")]
    assert body == "gewerbeamt-bremen"
    assert data["business_name"] in (None, "") and data["registereintrag"] is False
    assert data["geschaeftsbezeichnung"] == "Elektro Becker"
    assert received[("handwerksrolle-eintragung", "primary")][1]["business_name"] == "Elektro Becker"


def test_a_registered_business_keeps_its_name_in_field_1_and_is_asked_its_trading_name():
    bundle = load_bundles(CATALOG)["betrieb-gruenden"]
    given = bundle.shared_answers("gewerbeanmeldung", {"business_name": "Becker GmbH", "registereintrag": True})
    assert given["business_name"] == "Becker GmbH" and "geschaeftsbezeichnung" not in given
    assert bundle.blanked("gewerbeanmeldung", {"business_name": "Becker", "registereintrag": False}) == {
        "business_name"}


def test_the_gewerbeanmeldung_asks_field_1_unless_the_business_is_not_registered():
    (check,) = [c for c in CATALOG["gewerbeanmeldung"].checks if c.field == "business_name"]
    assert check.problem({"registereintrag": True, "business_name": ""}) == {}
    assert check.problem({"registereintrag": None, "business_name": None}) == {}
    assert check.problem({"registereintrag": False, "business_name": ""}) is None
