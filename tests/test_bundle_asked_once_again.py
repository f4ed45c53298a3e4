"""What the fifth new-user trial of the life-event bundles still found asked twice (issue 16, "a
founder answers each question once and every competent body receives its filing"): the founder
retyped as the Handwerksrolle's Betriebsleiterin and the training contract's Ausbilderin, her
Meisterprüfung asked in both, the kind of establishment of a move asked in the Abmeldung and the new
Anmeldung, the Hauptniederlassung of a branch not prefilled with the account's address. Each is
filed over HTTP and read as its receiver got it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bizportal.catalog.bundle_loader import load_bundle_text, load_bundles
from bizportal.catalog.loader import DefinitionError, load_catalog
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.inbox.models import InboxItem
from tests.support.bundles import (
    AUSBILDUNG,
    CHILD_ANSWERS,
    FILES,
    HWK_FORM,
    MOVE,
    MOVE_ANSWERS,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    fill,
    form_values,
    given_values,
    press,
    service_drafts,
    submit,
)
from tests.support.filing import gewerbe_answers, path_of, start_draft
from tests.support.handwerk import MEISTERPRUEFUNG
from tests.support.http import csrf_token

CATALOG = load_catalog()
#: Becker Elektrotechnik GmbH's address in its company account (tests/conftest: the registered seat)
ACCOUNT_ADDRESS = {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"}

#: Anna Becker founds an electrical business alone: she leads it, is a master electrician and
#: trains the apprentice herself
FOUNDER = {**SHARED, **PLANS, "business_name": "Elektro Becker", "legal_form": "Einzelunternehmen",
           "inhaber_art": "natuerliche_person", "registereintrag": "no", "personen-0-funktion": "inhaber",
           "personen-0-telefon": "0421 555123", "handwerk_anlage": "a", "betriebsleitung": "erste_person_meister",
           **{k: v for k, v in MEISTERPRUEFUNG.items() if k != "qualification"},
           "ausbildung_durch": "erste_person"}
#: the Handwerksrolle without the Betriebsleitung's person and qualification: asked for, the steps
#: would refuse these answers as incomplete
HANDWERKSROLLE_REST = {"trade": "elektrotechniker", "betriebsleiter_nur_hier": "yes", **HWK_FORM}
#: the training contract without the trainer
AUSBILDUNG_REST = {k: v for k, v in AUSBILDUNG.items()
                   if k not in {"ausbilder", "ausbilder_geschlecht", "ausbilder_eignung"}}


def _received(app) -> dict[tuple[str, str], dict]:
    """What each receiver got, by (service, role), after the worker delivered."""
    Worker(app).run_once()
    with app.app_context():
        return {(i.service_key, i.destination_role): i.data for i in db.session.scalars(select(InboxItem))}


def _page(client, draft_id: str, step: str) -> str:
    page = client.get(f"/antraege/entwurf/{draft_id}/{step}")
    assert page.status_code == 200, page.headers.get("Location")
    return page.get_data(as_text=True)


def test_a_sole_trader_leading_and_training_herself_is_named_once_with_her_meisterpruefung(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDER)
    press(client, overview)
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeanmeldung", "handwerksrolle-eintragung", "ausbildungsvertrag-eintragung"}
    complete_draft(client, drafts["gewerbeanmeldung"], CHILD_ANSWERS, FILES)

    rolle = drafts["handwerksrolle-eintragung"]
    shown = complete_draft(client, rolle, HANDWERKSROLLE_REST, FILES)
    assert "qualifikation" not in shown and "pruefung" not in shown  # given whole by the questionnaire
    page = _page(client, rolle, "betriebsleitung")
    for name in ("betriebsleiter-family_name", "betriebsleiter_geschlecht", "betriebsleiter_staatsangehoerigkeit",
                 "betriebsleiter_anschrift-street", "betriebsleiter_telefon", "betriebsleiter_stellung"):
        assert f'name="{name}"' not in page, name
    assert re.search(r'<input[^>]*name="betriebsleiter_nur_hier"', page)  # hers to answer
    given = given_values(page)
    assert given["betriebsleiter_stellung"] == "Inhaberin oder Inhaber"
    assert given["betriebsleiter_telefon"] == "0421 555123"
    assert "Laut Ihrem Vorhaben betreiben Sie ein Einzelunternehmen" in page
    exam = _page(client, rolle, "pruefung")
    assert 'name="pruefung_datum"' not in exam and given_values(exam)["pruefung_datum"] == "26.06.2009"

    training = drafts["ausbildungsvertrag-eintragung"]
    complete_draft(client, training, AUSBILDUNG_REST, FILES)
    page = _page(client, training, "betrieb")
    for name in ("ausbilder", "ausbilder_geschlecht", "ausbilder_eignung"):
        assert f'name="{name}"' not in page, name
    assert given_values(page)["ausbilder"] == "Anna Becker"

    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    entry = received[("handwerksrolle-eintragung", "primary")]
    assert entry["betriebsleiter"] == {"family_name": "Becker", "given_names": "Anna", "birth_date": "1980-05-17",
                                       "birth_place": "Bremen"}
    assert (entry["betriebsleiter_stellung"], entry["betriebsleiter_geschlecht"],
            entry["betriebsleiter_staatsangehoerigkeit"], entry["betriebsleiter_telefon"]) == (
        "inhaber", "weiblich", "DE", "0421 555123")
    assert entry["betriebsleiter_anschrift"] == {"street": "Parkallee 5", "postcode": "28209", "city": "Bremen",
                                                 "country": "DE"}
    assert {k: entry[k] for k in MEISTERPRUEFUNG} == MEISTERPRUEFUNG
    contract = received[("ausbildungsvertrag-eintragung", "primary")]
    assert (contract["ausbilder"], contract["ausbilder_geschlecht"], contract["ausbilder_eignung"]) == (
        "Anna Becker", "weiblich", "meisterpruefung")
    assert received[("gewerbeanmeldung", "primary")]["personen"][0]["familienname"] == "Becker"


def test_someone_else_leading_or_training_is_asked_for_in_the_service(app, client, login_as):
    """The first person leads with an exemption permit and a hired journeyman trains: the
    Handwerksrolle gets her person but asks the qualification; the training contract asks the
    trainer, her suitability included."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**FOUNDER, "betriebsleitung": "erste_person",
                                                                 "ausbildung_durch": "andere_person"})
    press(client, overview)
    drafts = service_drafts(client, overview)
    rolle, training = drafts["handwerksrolle-eintragung"], drafts["ausbildungsvertrag-eintragung"]
    complete_draft(client, drafts["gewerbeanmeldung"], CHILD_ANSWERS, FILES)
    exemption = {"qualification": "ausnahmebewilligung", "bescheid_behoerde": "Handwerkskammer Bremen",
                 "bescheid_datum": "2026-10-05", "bescheid_umfang": "Elektrotechniker-Handwerk"}
    shown = complete_draft(client, rolle, {**HANDWERKSROLLE_REST, **exemption}, FILES)
    assert "qualifikation" in shown and "bescheid" in shown and "meisterpruefung" not in shown
    assert 'name="betriebsleiter_stellung"' not in _page(client, rolle, "betriebsleitung")  # a sole trader's own
    page = _page(client, training, "betrieb")
    assert re.search(r'<input[^>]*name="ausbilder"', page) and 'name="ausbilder_eignung"' in page
    trainer = {"ausbilder": "Jonas Weber", "ausbilder_geschlecht": "maennlich", "ausbilder_eignung": "abschluss_aevo"}
    complete_draft(client, training, {**AUSBILDUNG_REST, **trainer}, FILES)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    entry = received[("handwerksrolle-eintragung", "primary")]
    assert entry["betriebsleiter"]["family_name"] == "Becker" and entry["betriebsleiter_stellung"] == "inhaber"
    assert (entry["qualification"], entry["bescheid_behoerde"]) == ("ausnahmebewilligung", "Handwerkskammer Bremen")
    contract = received[("ausbildungsvertrag-eintragung", "primary")]
    assert (contract["ausbilder"], contract["ausbilder_eignung"]) == ("Jonas Weber", "abschluss_aevo")


def test_a_managing_director_leading_the_gmbh_is_named_once_and_asked_her_position():
    bundle = load_bundles(CATALOG)["betrieb-uebernehmen"]
    person = {"familienname": "Becker", "vornamen": "Anna", "geschlecht": "weiblich", "geburtsdatum": "1980-05-17",
              "geburtsort": "Bremen", "staatsangehoerigkeit": "IT",
              "anschrift": {"street": "Parkallee 5", "postcode": "28209", "city": "Bremen"}}
    answers = {"inhaber_art": "juristische_person", "handwerk_anlage": "a", "ausbilden": True,
               "betriebsleitung": "erste_person", "ausbildung_durch": "erste_person", "personen": [person]}
    given = bundle.shared_answers("handwerksrolle-eintragung", answers)
    assert given["betriebsleiter"]["given_names"] == "Anna" and given["betriebsleiter_staatsangehoerigkeit"] == "IT"
    assert "betriebsleiter_stellung" not in given and "qualification" not in given  # Geschäftsführerin or Vorstand?
    training = bundle.shared_answers("ausbildungsvertrag-eintragung", answers)
    assert training["ausbilder"] == "Anna Becker" and "ausbilder_eignung" not in training
    other = bundle.shared_answers("handwerksrolle-eintragung", {**answers, "betriebsleitung": "andere_person"})
    assert not {"betriebsleiter", "betriebsleiter_anschrift"} & set(other)



# --- a move: the kind of establishment (GewA field 23) once -----------------------------------------

def test_a_moved_branch_is_a_branch_in_the_abmeldung_and_the_new_anmeldung_asked_once(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben",
                                    {**MOVE, "niederlassung": "zweigniederlassung"})
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeabmeldung", "gewerbeanmeldung"}
    for key, name in (("gewerbeabmeldung", "abmeldung_betrifft"), ("gewerbeanmeldung", "niederlassung")):
        shown = complete_draft(client, drafts[key], MOVE_ANSWERS)
        # field 16, the main establishment, is the questionnaire's too (prefilled, see below)
        assert not {"niederlassung", "hauptniederlassung"} & set(shown), (key, shown)
        page = _page(client, drafts[key], "niederlassung")
        assert f'name="{name}"' not in page and given_values(page)[name] == "eine Zweigniederlassung"
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    assert received[("gewerbeabmeldung", "primary")]["abmeldung_betrifft"] == "zweigniederlassung"
    assert received[("gewerbeanmeldung", "primary")]["niederlassung"] == "zweigniederlassung"
    for key in ("gewerbeabmeldung", "gewerbeanmeldung"):  # nobody typed it: the account's address
        assert received[(key, "primary")]["hauptniederlassung"] == ACCOUNT_ADDRESS, key


def test_the_move_asks_the_main_establishment_once_prefilled_with_the_accounts_address(client, login_as):
    login_as("anna.becker")
    page = client.get("/vorhaben/betrieb-verlegen-aufgeben")
    resp = client.post("/vorhaben/betrieb-verlegen-aufgeben",
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    bundle_draft = re.search(r"/entwurf/([0-9a-f-]+)/", path_of(resp.headers["Location"])).group(1)
    fill(client, path_of(resp.headers["Location"]), {**MOVE, "niederlassung": "zweigstelle"},
         stop_at="hauptniederlassung")
    html = _page(client, bundle_draft, "hauptniederlassung")
    assert {k: v for k, v in form_values(html).items() if k.startswith("hauptniederlassung-")} == {
        f"hauptniederlassung-{part}": value for part, value in ACCOUNT_ADDRESS.items()}
    assert 'id="hauptniederlassung-street-prefilled"' in html


def test_the_move_leaves_the_kind_of_establishment_open_only_for_an_itinerant_trade_alone():
    bundle = load_bundles(CATALOG)["betrieb-verlegen-aufgeben"]
    (check,) = [c for c in bundle.questionnaire.checks if c.field == "niederlassung"]
    assert check.problem({"reisegewerbe": False, "niederlassung": None}) == {}
    assert check.problem({"reisegewerbe": True, "niederlassung": None}) is None
    assert bundle.shared_answers("gewerbeummeldung", {"vorhaben": "verlegen_gemeinde",
                                                      "niederlassung": "zweigstelle"})["niederlassung"] == "zweigstelle"


# --- a founder's branch: the main establishment is the account's address ------------------------

def test_a_founders_branch_gets_the_accounts_address_as_main_establishment_and_alone_nothing(app, client,
                                                                                               login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "b",
                                                                 "ausbilden": "no"})
    press(client, overview, service="handwerk-verzeichnis-eintragung", leave_out="yes")
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    shown = complete_draft(client, gewerbe, {**CHILD_ANSWERS, "niederlassung": "zweigniederlassung"}, FILES)
    assert "hauptniederlassung" in shown  # the company may change it: prefilled, not given
    html = _page(client, gewerbe, "hauptniederlassung")
    assert 'id="hauptniederlassung-street-prefilled"' in html
    assert form_values(html)["hauptniederlassung-street"] == ACCOUNT_ADDRESS["street"]
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert _received(app)[("gewerbeanmeldung", "primary")]["hauptniederlassung"] == ACCOUNT_ADDRESS

    # filed alone, the Gewerbeanmeldung starts its main establishment empty, as before
    path = start_draft(client, "gewerbeanmeldung")
    fill(client, path, {**gewerbe_answers(), "niederlassung": "zweigniederlassung"}, stop_at="hauptniederlassung")
    alone = client.get(path.rsplit("/", 1)[0] + "/hauptniederlassung").get_data(as_text=True)
    assert form_values(alone)["hauptniederlassung-street"] == ""
    assert 'id="hauptniederlassung-street-prefilled"' not in alone


# --- the mappings in a bundle file ------------------------------------------------------------------

ROLES = '''
key = "probe"
title = { de = "Probe", en = "Probe" }
summary = { de = "Probe", en = "Probe" }
steps = [{ key = "a", title = { de = "A", en = "A" } }]

[[services]]
service = "handwerksrolle-eintragung"
reason = { de = "r", en = "r" }
presets = [%s]

[[fields]]
name = "personen"
type = "group"
step = "a"
label = { de = "Personen", en = "Persons" }
fields = [
  { name = "familienname", type = "text", max_length = 100, label = { de = "Name", en = "Surname" } },
  { name = "anschrift", type = "address", label = { de = "Anschrift", en = "Address" } },
]
maps = { handwerksrolle-eintragung = [%s] }

[[fields]]
name = "leitet"
type = "yesno"
step = "a"
label = { de = "Leitet?", en = "Leads?" }

[[fields]]
name = "einzel"
type = "yesno"
step = "a"
label = { de = "Einzelunternehmen?", en = "Sole trader?" }
'''
LEADS = '{ field = "betriebsleiter_anschrift", first = "anschrift", when = { field = "leitet", equals = true } }'


def test_a_preset_and_a_mapping_of_the_first_person_may_hold_under_several_conditions():
    both = '{ field = "betriebsleiter_stellung", value = "inhaber", when = [{ field = "leitet", equals = true }, ' \
           '{ field = "einzel", equals = true }] }'
    bundle = load_bundle_text(ROLES % (both, LEADS), "probe.toml", CATALOG)
    home = {"street": "Parkallee 5", "postcode": "28209", "city": "Bremen"}
    answers = {"personen": [{"familienname": "Becker", "anschrift": home}], "leitet": True, "einzel": True}
    assert bundle.shared_answers("handwerksrolle-eintragung", answers) == {
        "betriebsleiter_stellung": "inhaber", "betriebsleiter_anschrift": home}
    assert bundle.shared_answers("handwerksrolle-eintragung", {**answers, "einzel": False}) == {
        "betriebsleiter_anschrift": home}
    assert bundle.shared_answers("handwerksrolle-eintragung", {**answers, "leitet": False}) == {}


@pytest.mark.parametrize(("presets", "maps", "where", "problem"), [
    ('{ field = "betriebsleiter_stellung", value = "inhaber", when = [] }', LEADS, "services[0].presets[0].when",
     "a non-empty list of conditions"),
    ('{ field = "betriebsleiter_stellung", value = "inhaber", when = [{ field = "leitet", equals = true }, '
     '{ field = "keine", equals = true }] }', LEADS, "services[0].presets[0].when[1].field", "no earlier field"),
    # two fixed values of one field must exclude each other: one of the conditions is not enough
    ('{ field = "betriebsleiter_stellung", value = "inhaber", when = [{ field = "leitet", equals = true }, '
     '{ field = "einzel", equals = true }] }, { field = "betriebsleiter_stellung", value = "angestellt", '
     'when = { field = "einzel", equals = true } }', LEADS, "services[0].presets[1].field", "the presets conflict"),
    ("", '{ field = "betriebsleiter_anschrift", items = { street = "familienname" }, when = { field = "leitet", '
         'equals = true } }', "fields.personen.maps.handwerksrolle-eintragung[0]", "only as { field, first, when }"),
    ("", '{ field = "betriebsleiter", first = "anschrift", when = { field = "leitet", equals = true } }',
     "fields.personen.maps.handwerksrolle-eintragung[0].first", "takes a table of its parts"),
])
def test_the_loader_refuses_conditions_and_first_person_mappings_that_do_not_fit(presets, maps, where, problem):
    with pytest.raises(DefinitionError, match=re.escape(problem)) as exc:
        load_bundle_text(ROLES % (presets, maps), "probe.toml", CATALOG)
    assert str(exc.value).startswith(f"probe.toml: field '{where}': ")


def test_two_fixed_values_excluded_by_one_of_their_conditions_load():
    presets = '{ field = "betriebsleiter_stellung", value = "inhaber", when = [{ field = "leitet", equals = true }, ' \
              '{ field = "einzel", equals = true }] }, { field = "betriebsleiter_stellung", value = "angestellt", ' \
              'when = { field = "leitet", equals = false } }'
    bundle = load_bundle_text(ROLES % (presets, LEADS), "probe.toml", CATALOG)
    assert bundle.shared_answers("handwerksrolle-eintragung", {"leitet": False})["betriebsleiter_stellung"] == \
        "angestellt"
