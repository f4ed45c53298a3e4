"""A person's home address may lie abroad (GewA field 11, the permits' "Wohnanschrift", the
Betriebsleiter's address): the state is chosen, the postcode follows that state's format, the
XGewerbeanzeige message carries the state's code, and every page and export names the state. The
business premises stay German: they decide the competent German body."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import select

from bizportal.catalog.loader import DefinitionError, load_catalog, parse_definition
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings import xgewerbeanzeige
from bizportal.filings.models import Draft, Filing
from tests.support.casework import item_path, staff_client
from tests.support.filing import file_service, gewerbe_answers, post_step
from tests.support.permits import to_step

NS = {"x": xgewerbeanzeige.NS}
SERVICES = Path(__file__).parent.parent / "bizportal" / "catalog" / "services"
VIENNA = {"personen-0-anschrift-street": "Mariahilfer Straße 12", "personen-0-anschrift-postcode": "1060",
          "personen-0-anschrift-city": "Wien", "personen-0-anschrift-country": "AT"}


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _error_text(resp) -> str:
    return resp.get_data(as_text=True)


def test_a_home_address_in_austria_is_taken_with_its_four_digit_postcode(app, company):
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "personen")
    assert post_step(company, path, gewerbe_answers(**VIENNA)).status_code == 302
    with app.app_context():
        address = db.session.scalar(select(Draft)).data["personen"][0]["anschrift"]
    assert address == {"street": "Mariahilfer Straße 12", "postcode": "1060", "city": "Wien", "country": "AT"}


@pytest.mark.parametrize("country, postcode", [("NL", "1012 AB"), ("GB", "SW1A 1AA"), ("PL", "00-950")])
def test_a_postcode_is_checked_in_the_format_of_its_state(app, company, country, postcode):
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "personen")
    abroad = {**VIENNA, "personen-0-anschrift-postcode": postcode, "personen-0-anschrift-country": country}
    assert post_step(company, path, gewerbe_answers(**abroad)).status_code == 302
    # the same postcode in Germany is refused with the German rule, and only with it
    resp = post_step(company, path, gewerbe_answers(**{**abroad, "personen-0-anschrift-country": "DE"}))
    assert resp.status_code == 422
    html = _error_text(resp)
    assert "Bitte geben Sie eine Postleitzahl mit fünf Ziffern an, z. B. 28195." in html
    assert "höchstens 10 Buchstaben" not in html


@pytest.mark.parametrize("postcode", ["12345678901", "1060/7", "-1060"])
def test_a_foreign_postcode_beyond_ten_letters_digits_spaces_or_hyphens_is_refused(company, postcode):
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "personen")
    resp = post_step(company, path, gewerbe_answers(**{**VIENNA, "personen-0-anschrift-postcode": postcode}))
    assert resp.status_code == 422
    html = _error_text(resp)
    assert ("höchstens 10 Buchstaben, Ziffern, Leerzeichen oder Bindestriche" in html
            or "Dieser Text ist zu lang: höchstens 10 Zeichen" in html)


def test_an_address_stored_without_a_state_reads_as_german(app, company):
    """Answers saved before the state was asked: the step shows Germany and takes them again."""
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "personen")
    assert post_step(company, path, gewerbe_answers()).status_code == 302
    with app.app_context():
        draft = db.session.scalar(select(Draft))
        persons = [dict(p) for p in draft.data["personen"]]
        persons[0]["anschrift"] = {"street": "Parkallee 5", "postcode": "28209", "city": "Bremen"}
        draft.data = {**draft.data, "personen": persons}
        db.session.commit()
    html = company.get(path).get_data(as_text=True)
    select_html = html.split('name="personen-0-anschrift-country"', 1)[1].split("</select>", 1)[0]
    assert 'value="DE" selected' in select_html or 'selected value="DE"' in select_html


def test_the_business_premises_stay_german(company):
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "betriebsstaette")
    html = company.get(path).get_data(as_text=True)
    assert 'name="country"' not in html and "-country" not in html
    resp = post_step(company, path, gewerbe_answers(postcode="1060", city="Wien"))
    assert resp.status_code == 422
    assert "Bitte geben Sie eine Postleitzahl mit fünf Ziffern an" in _error_text(resp)


def _definition(name: str) -> dict:
    with (SERVICES / f"{name}.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_an_address_that_decides_the_competent_body_cannot_lie_abroad():
    raw = _definition("gewerbeummeldung")
    premises = next(f for f in raw["fields"] if f["name"] == "betriebsanschrift")
    premises["abroad"] = True
    premises.pop("prefill", None)
    with pytest.raises(DefinitionError, match="cannot lie abroad"):
        parse_definition(raw, "gewerbeummeldung.toml")
    raw = _definition("gewerbeanmeldung")
    next(f for f in raw["fields"] if f["name"] == "postcode")["abroad"] = True
    with pytest.raises(DefinitionError, match="only an address field has abroad"):
        parse_definition(raw, "gewerbeanmeldung.toml")


def test_every_persons_home_address_may_lie_abroad_and_no_premises_do():
    home = {("gewerbeanmeldung", "personen.anschrift"), ("gewerbeummeldung", "personen.anschrift"),
            ("gewerbeabmeldung", "personen.anschrift"), ("bewachungserlaubnis-34a", "wohnanschrift"),
            ("gaststaettenerlaubnis", "wohnanschrift"), ("immobilienmakler-34c", "wohnanschrift"),
            ("immobilienmakler-34c", "weitere_vertreter.wohnanschrift"),
            ("handwerksrolle-eintragung", "betriebsleiter_anschrift"), ("ausnahmebewilligung-8-hwo", "wohnanschrift"),
            ("ausbildungsvertrag-eintragung", "auszubildende_anschrift")}
    abroad = set()
    for key, service in load_catalog().items():
        for fd in service.fields:
            for sub in (fd.fields if fd.type == "group" else (fd,)):
                if sub.type == "address" and sub.abroad:
                    abroad.add((key, f"{fd.name}.{sub.name}" if sub is not fd else fd.name))
        location = service.field(service.location_field) if service.location_field else None
        assert location is None or not location.abroad, key
    assert home <= abroad
    assert not {name for _key, name in abroad if "betrieb" in name and "leiter" not in name}


def _filed_from_vienna(company) -> str:
    return file_service(company, "gewerbeanmeldung", gewerbe_answers(**VIENNA))


def test_the_message_carries_the_state_of_the_home_address(app, company):
    reference = _filed_from_vienna(company)
    assert Worker(app).run_once() == 2
    amt = staff_client(app, "gewerbeamt.bremen")
    content = amt.get(item_path(amt, reference) + "/xgewerbeanzeige.xml").data
    root = etree.fromstring(content)
    person = root.find("x:satz/x:anmeldung/x:gewerbe/x:beteiligtePerson/x:anschrift", NS)
    assert person.findtext("x:plz", namespaces=NS) == "1060"
    assert person.findtext("x:ort", namespaces=NS) == "Wien"
    assert person.findtext("x:strasse", namespaces=NS) == "Mariahilfer Straße"
    assert person.findtext("x:hausNrVon", namespaces=NS) == "12"
    assert person.findtext("x:nationSchluessel/code", namespaces=NS) == "040"  # ISO 3166-1 numeric: Austria
    premises = root.find("x:satz/x:anmeldung/x:gewerbe/x:anschrift", NS)
    assert premises.findtext("x:nationSchluessel/code", namespaces=NS) == "276"
    assert xgewerbeanzeige.read_message(content)["personen"][0]["anschrift"] == {
        "plz": "1060", "ort": "Wien", "staat": "AT"}


def test_a_german_home_address_and_one_without_a_state_are_276():
    from datetime import UTC, datetime

    author = xgewerbeanzeige.Authority("MELDID", "04011000", "Gewerbeamt Bremen")
    for address in ({"street": "Parkallee 5", "postcode": "28209", "city": "Bremen", "country": "DE"},
                    {"street": "Parkallee 5", "postcode": "28209", "city": "Bremen"}):
        answers = {"business_name": "B", "personen": [{"familienname": "Becker", "anschrift": address}]}
        content = xgewerbeanzeige.build_message("gewerbeanmeldung", answers, datetime(2026, 12, 4, tzinfo=UTC),
                                                author, author)
        assert xgewerbeanzeige.read_message(content)["personen"][0]["anschrift"]["staat"] == "DE"
    kosovo = {"familienname": "Krasniqi", "anschrift": {"street": "Rr. Nëna Terezë 1", "postcode": "10000",
                                                        "city": "Prishtinë", "country": "XK"}}
    content = xgewerbeanzeige.build_message("gewerbeanmeldung", {"business_name": "B", "personen": [kosovo]},
                                            datetime(2026, 12, 4, tzinfo=UTC), author, author)
    address = etree.fromstring(content).find("x:satz/x:anmeldung/x:gewerbe/x:beteiligtePerson/x:anschrift", NS)
    assert address.findtext("x:plz", namespaces=NS) == "10000"
    assert address.find("x:nationSchluessel", NS) is None  # no code is invented for Kosovo


def test_a_house_number_with_staircase_and_door_is_split_from_the_street():
    """Austrian addresses give staircase and door after the number (clerk re-trial: "Mariahilfer
    Straße 12/3" went into ``strasse`` whole, with no ``hausNrVon``)."""
    from datetime import UTC, datetime

    author = xgewerbeanzeige.Authority("MELDID", "04011000", "Gewerbeamt Bremen")
    for street, name, number in (("Mariahilfer Straße 12/3", "Mariahilfer Straße", "12/3"),
                                 ("Landstraßer Hauptstraße 7/2/14", "Landstraßer Hauptstraße", "7/2/14"),
                                 ("Hafenstraße 10-12", "Hafenstraße", "10-12"), ("Parkallee 5a", "Parkallee", "5a")):
        person = {"familienname": "Huber",
                  "anschrift": {"street": street, "postcode": "1060", "city": "Wien", "country": "AT"}}
        content = xgewerbeanzeige.build_message("gewerbeanmeldung", {"business_name": "B", "personen": [person]},
                                                datetime(2026, 12, 4, tzinfo=UTC), author, author)
        address = etree.fromstring(content).find("x:satz/x:anmeldung/x:gewerbe/x:beteiligtePerson/x:anschrift", NS)
        assert (address.findtext("x:strasse", namespaces=NS), address.findtext("x:hausNrVon", namespaces=NS)) == (
            name, number)


def test_pages_receipt_and_exports_name_the_state(app, company):
    reference = _filed_from_vienna(company)
    status = company.get(f"/antraege/{reference}").get_data(as_text=True)
    assert "Mariahilfer Straße 12, 1060 Wien, Österreich" in status
    assert "Parkallee" not in status
    with app.app_context():
        receipt = db.session.scalar(select(Filing).where(Filing.reference == reference)).receipt.content
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(receipt)).pages)
    assert "Wien, Österreich" in text
    assert Worker(app).run_once() == 2
    amt = staff_client(app, "gewerbeamt.bremen")
    path = item_path(amt, reference)
    assert "Mariahilfer Straße 12, 1060 Wien, Österreich" in amt.get(path).get_data(as_text=True)
    doc = amt.get(f"{path}/export.json").get_json()
    persons = next(a for a in doc["answers"] if a["field"] == "personen")
    assert "Mariahilfer Straße 12, 1060 Wien, Österreich" in persons["text"]
    assert persons["value"][0]["anschrift"]["country"] == "AT"
    # the business premises in Bremen are written as before, without the state
    assert "Am Wall 120" in status and "Am Wall 120, 28195 Bremen, Deutschland" not in status


def test_the_english_pages_name_the_state_in_english(company):
    reference = _filed_from_vienna(company)
    company.get("/sprache/en")
    assert "Mariahilfer Straße 12, 1060 Wien, Austria" in company.get(f"/antraege/{reference}").get_data(as_text=True)
