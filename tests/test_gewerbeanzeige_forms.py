"""The Gewerbeanmeldung as the official form GewA 1 asks it: persons as a repeating group with the
residence title only for nationals of states outside the EU/EEA/Switzerland, the WZ 2008 picker,
the official conditions, and what the form engine needs for them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from stdnum.eu import nace

from bizportal.catalog import wz2008
from bizportal.catalog.loader import DefinitionError, load_catalog, parse_definition
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.filing import (
    file_service,
    fill_steps,
    gewerbe_answers,
    path_of,
    post_step,
    start_draft,
    visited_steps,
)
from tests.support.http import csrf_token

NON_EU = {"personen-0-staatsangehoerigkeit": "BR", "personen-0-geburtsland": "BR"}
TITLE = {"personen-0-aufenthaltstitel": "yes", "personen-0-aufenthaltstitel_behoerde": "Migrationsamt Bremen",
         "personen-0-aufenthaltstitel_datum": "2025-04-01", "personen-0-aufenthaltstitel_auflage": "no"}


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _persons_step(company) -> str:
    path = start_draft(company, "gewerbeanmeldung")
    while not path.endswith("/personen"):  # the owner and, when entered, the register (field 2)
        path = path_of(post_step(company, path, gewerbe_answers()).headers["Location"])
    return path


def test_non_eu_national_must_state_the_residence_title(app, company):
    path = _persons_step(company)
    assert path.endswith("/personen")
    resp = post_step(company, path, gewerbe_answers(**NON_EU))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Liegt ein Aufenthaltstitel vor?" in html and "Bitte wählen Sie Ja oder Nein." in html
    # with a title, the authority and date are needed too
    resp = post_step(company, path, gewerbe_answers(**NON_EU, **{"personen-0-aufenthaltstitel": "yes"}))
    assert resp.status_code == 422
    assert post_step(company, path, gewerbe_answers(**NON_EU, **TITLE)).status_code == 302
    with app.app_context():
        person = db.session.scalar(select(Draft)).data["personen"][0]
    assert person["staatsangehoerigkeit"] == "BR" and person["aufenthaltstitel"] is True
    assert person["aufenthaltstitel_behoerde"] == "Migrationsamt Bremen"


def test_eu_national_is_not_asked_and_nothing_of_a_title_is_kept(app, company):
    path = _persons_step(company)
    # a French national: the residence-title answers a browser may still send are dropped
    resp = post_step(company, path, gewerbe_answers(**{"personen-0-staatsangehoerigkeit": "FR"}, **TITLE))
    assert resp.status_code == 302
    with app.app_context():
        person = db.session.scalar(select(Draft)).data["personen"][0]
    assert person["staatsangehoerigkeit"] == "FR"
    assert person["aufenthaltstitel"] is None and person["aufenthaltstitel_behoerde"] is None


def test_several_managing_directors_are_entries_of_the_group(app, company):
    second = {"personen-1-" + k.removeprefix("personen-0-"): v
              for k, v in gewerbe_answers(**NON_EU, **TITLE).items() if k.startswith("personen-0-")}
    second["personen-1-familienname"] = "Silva"
    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers(**second))
    with app.app_context():
        persons = db.session.scalar(select(Filing).where(Filing.reference == reference)).data["personen"]
    assert [p["familienname"] for p in persons] == ["Becker", "Silva"]
    assert [p["aufenthaltstitel"] for p in persons] == [None, True]
    html = company.get(f"/antraege/{reference}").get_data(as_text=True)
    assert "Silva" in html and "Brasilien" in html and "Migrationsamt Bremen" in html


def test_former_owner_is_asked_only_on_a_takeover(company):
    path = start_draft(company, "gewerbeanmeldung")
    assert "vorinhaber" not in visited_steps(company, path, gewerbe_answers(grund="neugruendung"))
    path = start_draft(company, "gewerbeanmeldung")
    steps = visited_steps(company, path, gewerbe_answers(grund="pacht", frueherer_inhaber="Elektro Meyer e. K."))
    assert steps.index("vorinhaber") == steps.index("grund") + 1


def test_main_establishment_is_asked_only_for_a_branch(company):
    path = start_draft(company, "gewerbeanmeldung")
    assert "hauptniederlassung" not in visited_steps(company, path, gewerbe_answers())
    path = start_draft(company, "gewerbeanmeldung")
    branch = gewerbe_answers(niederlassung="zweigstelle", **{"hauptniederlassung-street": "Am Wall 120",
                                                              "hauptniederlassung-postcode": "28195",
                                                              "hauptniederlassung-city": "Bremen"})
    assert "hauptniederlassung" in visited_steps(company, path, branch)


def test_wz_picker_searches_without_javascript_and_files_the_code(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    answers = gewerbe_answers()
    del answers["wz2008"]
    for _ in range(12):  # up to the step "Einordnung der Tätigkeit"
        if path.endswith("/wz"):
            break
        path = path_of(post_step(company, path, answers).headers["Location"])
    assert path.endswith("/wz")
    page = company.get(path).get_data(as_text=True)
    assert page.count("<option") > 800  # the whole classification without a search
    token = csrf_token(page)
    resp = company.post(path, data={"csrf_token": token, "action": "search:wz2008", "wz2008-suche": "fliesen"})
    assert resp.status_code == 302
    found = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert "43.33.0 Fußboden-, Fliesen- und Plattenlegerei, Tapeziererei" in found
    assert "43.21.0 Elektroinstallation" not in found and "passen zu „fliesen“" in found
    refused = post_step(company, path, {"wz2008": "99.99.9"})
    assert refused.status_code == 422
    review = fill_steps(company, path, gewerbe_answers(wz2008="43.33.0"))
    assert "43.33.0 Fußboden-, Fliesen- und Plattenlegerei, Tapeziererei" in company.get(review).get_data(as_text=True)


def test_wz_classification_is_complete_and_agrees_with_nace_rev2():
    classification = wz2008.classification()
    assert len(classification.subclasses) == 839 and len(classification.divisions) == 88
    for code in classification.subclasses:
        assert nace.is_valid(code[:5], revision="2.0"), code
    assert [s.code for s in classification.search("Elektroinstallation")] == ["43.21.0"]
    assert [s.code for s in classification.search("4321")] == ["43.21.0"]


def test_each_trade_notification_names_its_official_form():
    catalog = load_catalog()
    assert "GewA 1" in (catalog["gewerbeanmeldung"].form_source or "")


# docs/gewerbeanzeige.md maps each field number of the printed forms GewA 1-3 (the current edition,
# as the Hamburg prints show it) to the definition fields whose labels carry it (column "label
# carries"). The labels must name exactly these numbers: none missing, none that the table does not
# give (the earlier numbering put GewA 1's activity at 15; it is 18).
DOCS = Path(__file__).resolve().parent.parent / "docs" / "gewerbeanzeige.md"
FORM_SECTIONS = {"gewerbeanmeldung": "## GewA 1 → `gewerbeanmeldung.toml`",
                 "gewerbeummeldung": "## GewA 2 → `gewerbeummeldung.toml`",
                 "gewerbeabmeldung": "## GewA 3 → `gewerbeabmeldung.toml`"}


def documented_numbers(service: str) -> dict[str, str]:
    """Field (``group.sub``, ``field=choice``) → the number(s) the docs table puts on its label."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split(FORM_SECTIONS[service], 1)[1].split("\n## ", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| field |"))
    column = [c.strip() for c in header.strip("|").split("|")].index("label carries")
    numbers: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or not re.fullmatch(r"\d+(, \d+)?", cells[0]):
            continue
        for name in re.findall(r"`([^`]+)`", cells[column]):
            assert name not in numbers, f"{service}: {name} in two rows of the table"
            numbers[name] = cells[0]
    return numbers


def _field_numbers(fields, prefix: str = "") -> dict[str, tuple[str, str]]:
    """Field (group sub-fields and choices too) → the number its German and English label names."""
    found = {}
    for fd in fields:
        texts = {f"{prefix}{fd.name}": fd.label, **{f"{prefix}{fd.name}={c.value}": c.label for c in fd.choices}}
        for where, text in texts.items():
            de = re.findall(r"\((?:Feld|Felder) (\d+)(?: und (\d+))?\)", text.de)
            en = re.findall(r"\((?:field|fields) (\d+)(?: and (\d+))?\)", text.en)
            if de or en:
                found[where] = tuple(", ".join(n for n in m[0] if n) if m else "" for m in (de, en))
        found |= _field_numbers(fd.fields, prefix=f"{prefix}{fd.name}.")
    return found


@pytest.mark.parametrize("service", sorted(FORM_SECTIONS))
def test_labels_carry_the_field_numbers_the_docs_table_gives_and_no_others(service):
    documented = documented_numbers(service)
    assert len(documented) > 40  # the table was read (a broken table would compare nothing)
    numbers = _field_numbers(load_catalog()[service].fields)
    assert numbers == {name: (n, n) for name, n in documented.items()}


@pytest.mark.parametrize(("service", "last", "signature"), [
    ("gewerbeanmeldung", 31, 33), ("gewerbeummeldung", 28, 30), ("gewerbeabmeldung", 28, 30)])
def test_every_field_of_the_printed_form_has_a_row_in_the_docs_table(service, last, signature):
    """GewA 1 has 33 fields, GewA 2 and 3 have 30 (§ 2 Abs. 1, § 3 GewAnzV); the last two (date,
    signature) are the binding submit; every other number is on some label."""
    on_labels = {int(n) for ns in documented_numbers(service).values() for n in ns.split(", ")}
    assert on_labels == set(range(1, last + 1))
    section = DOCS.read_text(encoding="utf-8").split(FORM_SECTIONS[service], 1)[1].split("\n## ", 1)[0]
    assert f"| {signature} | Unterschrift" in section and f"| {signature - 1} | Datum" in section


def test_the_activity_step_shows_field_18_of_gewa_1(company):
    path = start_draft(company, "gewerbeanmeldung")
    for _ in range(7):  # inhaber, personen, betrieb, betriebsstaette, niederlassung → taetigkeit
        if path.endswith("/taetigkeit"):
            break
        path = path_of(post_step(company, path, gewerbe_answers()).headers["Location"])
    page = company.get(path).get_data(as_text=True)
    assert "Angemeldete Tätigkeit (Feld 18)" in page
    assert "(Feld 15)" not in page and "(Feld 16)" not in page and "(Feld 17)" not in page


def _definition(person_fields: list[dict]) -> dict:
    return {
        "key": "probe", "kind": "trade", "legal_basis": "§ 14 GewO",
        "title": {"de": "Probe", "en": "Probe"}, "summary": {"de": "Probe", "en": "Probe"},
        "competent_body": {"de": "Amt", "en": "Office"},
        "fields": [{"name": "personen", "type": "group", "label": {"de": "P", "en": "P"}, "fields": person_fields}],
        "routing": [{"kind": "GEWERBEAMT"}],
    }


COUNTRY = {"name": "land", "type": "country", "label": {"de": "Land", "en": "Country"}}


def test_a_condition_inside_a_group_can_only_test_an_earlier_field_of_the_entry():
    later = {"name": "titel", "type": "yesno", "label": {"de": "T", "en": "T"},
             "show_if": {"field": "land", "not_in": ["DE"]}}
    with pytest.raises(DefinitionError, match=r"personen.fields.titel.show_if.field.*no earlier field named 'land'"):
        parse_definition(_definition([later, COUNTRY]), "probe.toml")
    assert parse_definition(_definition([COUNTRY, later]), "probe.toml").fields[0].fields[1].show_if.negate


def test_a_country_condition_names_real_states():
    wrong = {"name": "titel", "type": "yesno", "label": {"de": "T", "en": "T"},
             "show_if": {"field": "land", "not_in": ["DE", "EU"]}}
    with pytest.raises(DefinitionError, match="'EU' is not an ISO 3166-1 alpha-2 code"):
        parse_definition(_definition([COUNTRY, wrong]), "probe.toml")


def test_previous_accident_insurance_is_asked_for_every_reason_but_a_new_foundation(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    assert "unfallversicherung" not in visited_steps(company, path, gewerbe_answers(grund="neugruendung"))
    path = start_draft(company, "gewerbeanmeldung")
    steps = visited_steps(company, path, gewerbe_answers(grund="rechtsformwechsel",
                                                         bisherige_unternehmensnummer="987654321"))
    assert steps.index("unfallversicherung") == steps.index("grund") + 1
    page = company.get(path.rsplit("/", 1)[0] + "/unfallversicherung").get_data(as_text=True)
    assert "Angabe des bisherigen gesetzlichen Unfallversicherungsträgers (Feld 27)" in page
    with app.app_context():
        data = next(d.data for d in db.session.scalars(select(Draft)) if d.data.get("grund") == "rechtsformwechsel")
    assert data["bisherige_unternehmensnummer"] == "987654321" and data.get("bisheriger_uv_traeger") is None


def test_number_of_legal_representatives_is_asked_only_of_partnerships_and_legal_persons(app, company):
    path = _persons_step(company)
    path = path_of(post_step(company, path, gewerbe_answers()).headers["Location"])
    assert path.endswith("/betrieb")
    missing = post_step(company, path, gewerbe_answers(zahl_vertreter=""))
    assert missing.status_code == 422 and "(Feld 12)" in missing.get_data(as_text=True)
    assert post_step(company, path, gewerbe_answers(oeffentliche_hand="")).status_code == 422
    assert post_step(company, path, gewerbe_answers(zahl_vertreter="2")).status_code == 302
    # a sole trader: field 12 is not asked, and nothing a browser still sends is kept
    sole = start_draft(company, "gewerbeanmeldung")
    answers = gewerbe_answers(inhaber_art="natuerliche_person", registereintrag="no", zahl_vertreter="3",
                              **{"personen-0-funktion": "inhaber"})
    sole = path_of(post_step(company, sole, answers).headers["Location"])
    sole = path_of(post_step(company, sole, answers).headers["Location"])
    assert "(Feld 12)" not in company.get(sole).get_data(as_text=True)
    assert post_step(company, sole, answers).status_code == 302
    with app.app_context():
        data = next(d.data for d in db.session.scalars(select(Draft))
                    if d.data.get("inhaber_art") == "natuerliche_person")
    assert data.get("zahl_vertreter") is None and data["oeffentliche_hand"] == "nein"


def test_a_condition_of_the_residence_title_must_be_stated_in_words(app, company):
    path = _persons_step(company)
    restricted = {**NON_EU, **TITLE, "personen-0-aufenthaltstitel_auflage": "yes"}
    resp = post_step(company, path, gewerbe_answers(**restricted))
    assert resp.status_code == 422 and "Angabe der Auflage und/oder Beschränkung (Feld 31)" in resp.get_data(
        as_text=True)
    restricted["personen-0-aufenthaltstitel_auflage_angabe"] = "Selbständige Tätigkeit nur als Gastronom gestattet"
    assert post_step(company, path, gewerbe_answers(**restricted)).status_code == 302
    with app.app_context():
        person = db.session.scalar(select(Draft)).data["personen"][0]
    assert person["aufenthaltstitel_auflage_angabe"] == "Selbständige Tätigkeit nur als Gastronom gestattet"


@pytest.mark.parametrize(("service", "field"), [("gewerbeanmeldung", "niederlassung"),
                                                ("gewerbeummeldung", "niederlassung"),
                                                ("gewerbeabmeldung", "abmeldung_betrifft")])
def test_the_kind_of_establishment_offers_the_boxes_of_the_current_form(service, field):
    """Field 23: main establishment, branch, dependent branch; field 24, the itinerant trade, is a
    question of its own (the form ticks it besides or instead of 23). The current form has no box
    for a vending-machine business (the edition before had one)."""
    fields = {f.name: f for f in load_catalog()[service].fields}
    fd = fields[field]
    assert [c.value for c in fd.choices if not c.retired] == ["hauptniederlassung", "zweigniederlassung",
                                                              "zweigstelle"]
    assert [c.value for c in fd.choices if c.retired] == ["automaten", "reisegewerbe"]  # filings made before
    assert fields["reisegewerbe"].type == "yesno" and fields["reisegewerbe"].step == fd.step


def _to_step(company, answers, name: str) -> str:
    path = start_draft(company, "gewerbeanmeldung")
    for _ in range(20):
        if f'name="{name}"' in company.get(path).get_data(as_text=True):
            return path
        path = path_of(post_step(company, path, answers).headers["Location"])
    raise AssertionError(name)


def test_field_23_may_stay_empty_only_for_an_itinerant_trade_alone(app, company):
    path = _to_step(company, gewerbe_answers(), "reisegewerbe")
    resp = post_step(company, path, {"niederlassung": "", "reisegewerbe": "no"})
    assert resp.status_code == 422
    assert "Leer bleiben darf die Angabe nur, wenn ausschließlich ein Reisegewerbe" in resp.get_data(as_text=True)
    # an itinerant trade alone (§ 55c GewO): field 24 without field 23
    assert post_step(company, path, {"niederlassung": "", "reisegewerbe": "yes"}).status_code == 302
    # a main establishment with an itinerant trade besides: both boxes, as on paper
    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers(reisegewerbe="yes"))
    with app.app_context():
        data = db.session.scalar(select(Filing).where(Filing.reference == reference)).data
    assert (data["niederlassung"], data["reisegewerbe"]) == ("hauptniederlassung", True)


def test_the_register_number_is_asked_and_required_only_with_a_register_entry(app, company):
    """Field 2: a sole trader without an entry is not asked; with one, court, type and number."""
    sole = gewerbe_answers(inhaber_art="natuerliche_person", registereintrag="no", handelsregisternummer="",
                           **{"personen-0-funktion": "inhaber"})
    path = start_draft(company, "gewerbeanmeldung")
    assert path_of(post_step(company, path, sole).headers["Location"]).endswith("/personen")
    path = start_draft(company, "gewerbeanmeldung")
    register = path_of(post_step(company, path, gewerbe_answers()).headers["Location"])
    assert register.endswith("/register")
    for wrong in ("", "HRB 12345", "Bremen 12345", "Bremen XY 12345"):
        resp = post_step(company, register, {"handelsregisternummer": wrong})
        assert resp.status_code == 422, wrong
    assert "Registerart (HRA, HRB, GnR, PR oder VR)" in resp.get_data(as_text=True)
    assert post_step(company, register, {"handelsregisternummer": "Bremen HRB 12345"}).status_code == 302


def test_a_draft_saved_before_the_register_question_still_opens_and_asks_it(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    post_step(company, path, gewerbe_answers())
    with app.app_context():  # as saved before 12/2026: the number without the question, field 23 = 24
        draft = db.session.scalar(select(Draft))
        data = {k: v for k, v in draft.data.items() if k != "registereintrag"}
        draft.data = {**data, "handelsregisternummer": "Bremen HRB 12345", "niederlassung": "reisegewerbe"}
        db.session.commit()
    page = company.get(path)
    assert page.status_code == 200 and 'name="registereintrag"' in page.get_data(as_text=True)
    assert post_step(company, path, gewerbe_answers()).status_code == 302


def test_a_retired_choice_is_not_offered_nor_taken_but_an_old_filing_still_reads_it(app, company):
    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers())
    with app.app_context():  # a filing made while the vending-machine box was offered
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        filing.data = {**filing.data, "niederlassung": "automaten"}
        db.session.commit()
    assert "ein Automatenaufstellungsgewerbe" in company.get(f"/antraege/{reference}").get_data(as_text=True)

    path = start_draft(company, "gewerbeanmeldung")
    for _ in range(20):  # to the step that asks fields 23 and 24
        page = company.get(path).get_data(as_text=True)
        if 'name="niederlassung"' in page:
            break
        path = path_of(post_step(company, path, gewerbe_answers()).headers["Location"])
    assert 'value="zweigstelle"' in page and 'value="automaten"' not in page
    resp = post_step(company, path, {"niederlassung": "automaten"})
    assert resp.status_code == 422 and "niederlassung-error" in resp.get_data(as_text=True)


def test_a_retired_choice_must_leave_two_choices_on_offer():
    kind = {"name": "art", "type": "choice", "label": {"de": "Art", "en": "Kind"},
            "choices": [{"value": "a", "label": {"de": "A", "en": "A"}},
                        {"value": "b", "label": {"de": "B", "en": "B"}, "retired": True}]}
    with pytest.raises(DefinitionError, match="two choices that are not retired"):
        parse_definition(_definition([kind]), "probe.toml")
    kind["choices"].append({"value": "c", "label": {"de": "C", "en": "C"}, "gone": True})
    with pytest.raises(DefinitionError, match="value, label and optional retired"):
        parse_definition(_definition([kind]), "probe.toml")


def test_a_birth_date_in_a_group_takes_the_german_form_and_a_bad_one_is_explained_in_german(app, company):
    """A new user typed "12.03.1980" for a person's birth date and got WTForms' English "Not a valid
    date value." on a German page."""
    path = _persons_step(company)
    resp = post_step(company, path, gewerbe_answers(**{"personen-0-geburtsdatum": "31.02.1980"}))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    # a birth date's example is a plausible birth date (new-user trial, issue 16: "z. B. 31.12.2026")
    assert "Bitte geben Sie ein gültiges Geburtsdatum an, z. B. 14.03.1985." in html and "Not a valid" not in html
    assert post_step(company, path, gewerbe_answers(**{"personen-0-geburtsdatum": "12.03.1980"})).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Draft)).data["personen"][0]["geburtsdatum"] == "1980-03-12"
    company.get("/sprache/en")  # the same refusal in English
    html = post_step(company, path, gewerbe_answers(**{"personen-0-geburtsdatum": "1980-13-01"})).get_data(as_text=True)
    assert "Please enter a valid date of birth, e.g. 14.03.1985." in html
