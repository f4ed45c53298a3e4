"""The Gewerbeanmeldung as the official form GewA 1 asks it: persons as a repeating group with the
residence title only for nationals of states outside the EU/EEA/Switzerland, the WZ 2008 picker,
the official conditions, and what the form engine needs for them."""

from __future__ import annotations

import re

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
    resp = post_step(company, path, gewerbe_answers())
    return path_of(resp.headers["Location"])


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
    for _ in range(5):  # up to the step "Einordnung der Tätigkeit"
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


# The numbers of the printed forms that docs/gewerbeanzeige.md could establish (FIM S05000001294,
# the Ilm-Kreis notes, § 3 GewAnzV). Every other label carries none: the numbers before stopped at 25
# and put GewA 1's activity at 15, while GewA 1 has 33 fields (§ 2 Abs. 1 GewAnzV) and the activity is 18.
PRINTED_FIELD_NUMBERS = {
    "gewerbeanmeldung": {"business_name": "1", "legal_form": "1", "handelsregisternummer": "2", "activity": "18",
                         "handwerk": "21", "industrie": "21", "handel": "21", "sonstiges": "21",
                         "vollzeit": "22", "teilzeit": "22"},
    "gewerbeummeldung": {"business_name": "1", "legal_form": "1", "handelsregisternummer": "2"},
    "gewerbeabmeldung": {"business_name": "1", "legal_form": "1", "handelsregisternummer": "2", "taetigkeit": "18",
                         "nebenerwerb": "19", "abmeldung_datum": "20", "handwerk": "21", "industrie": "21",
                         "handel": "21", "sonstiges": "21", "vollzeit": "22", "teilzeit": "22",
                         "abmeldung_betrifft": "23, 24", "grund": "25, 26", "aufgabe_ursache": "28"},
}


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


@pytest.mark.parametrize("service", sorted(PRINTED_FIELD_NUMBERS))
def test_labels_name_only_the_established_numbers_of_the_printed_form(service):
    numbers = _field_numbers(load_catalog()[service].fields)
    assert numbers == {name: (n, n) for name, n in PRINTED_FIELD_NUMBERS[service].items()}


def test_the_activity_step_shows_field_18_of_gewa_1(company):
    path = start_draft(company, "gewerbeanmeldung")
    for _ in range(6):  # inhaber, personen, betriebsstaette, niederlassung → taetigkeit
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
