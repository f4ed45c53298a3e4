"""XGewerbeanzeige 2.2 messages of the three trade notifications: well-formed, only the element
paths of the standard's test message in its order, valid code values, and they read back."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from bizportal.filings.xgewerbeanzeige import CODES, NS, REASON_ELEMENT, Authority, build_message, read_message

STRUCTURE = Path(__file__).parent / "data" / "xgewerbeanzeige-2.2-structure.txt"
AUTHOR = Authority(prefix="MELDID", id="04011000", name="Gewerbeamt Bremen (Stadtamt)")
READER = Authority(prefix="MELDID", id="hwk-bremen", name="Handwerkskammer Bremen")
WHEN = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
PERSON = {"funktion": "vertreter", "familienname": "Becker", "vornamen": "Anna", "geschlecht": "weiblich",
          "geburtsdatum": "1980-05-17", "geburtsort": "Bremen", "geburtsland": "DE", "staatsangehoerigkeit": "DE",
          "anschrift": {"street": "Parkallee 5", "postcode": "28209", "city": "Bremen"},
          "aufenthaltstitel": None}
SILVA = {**PERSON, "funktion": "betriebsleiter", "familienname": "Silva", "vornamen": "Marta",
         "geburtsland": "BR", "staatsangehoerigkeit": "BR", "aufenthaltstitel": True,
         "aufenthaltstitel_behoerde": "Migrationsamt Bremen", "aufenthaltstitel_datum": "2025-04-01"}

ANMELDUNG = {
    "inhaber_art": "juristische_person", "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH",
    "handelsregisternummer": "Bremen HRB 12345", "personen": [PERSON, SILVA],
    "street": "Am Wall 120", "postcode": "28195", "city": "Bremen", "niederlassung": "hauptniederlassung",
    "activity": "Elektroinstallation", "nebenerwerb": False, "start_date": "2027-01-01", "wz2008": "43.21.0",
    "handwerk": True, "industrie": False, "handel": False, "sonstiges": False, "vollzeit": 3, "teilzeit": 1,
    "grund": "kauf", "frueherer_inhaber": "Elektro Meyer e. K.", "erlaubnispflichtig": False,
    "handwerkskarte_vorhanden": True, "handwerkskarte_datum": "2026-10-01", "handwerkskarte_kammer": "HWK Bremen",
}
UMMELDUNG = {  # the current gewerbeummeldung.toml
    "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH", "handelsregisternummer": "Bremen HRB 12345",
    "betriebsanschrift": {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"}, "handwerk": True,
    "anzeigende_person": {"family_name": "Becker", "given_names": "Anna", "birth_date": "1980-05-17",
                          "birth_place": "Bremen", "nationality": "deutsch"},
    "grund": "verlegung", "aenderung_datum": "2027-01-01",
    "neue_anschrift": {"street": "Hastedter Heerstraße 285", "postcode": "28207", "city": "Bremen"},
    "taetigkeit": "Elektroinstallation", "wz2008": "43.21.0",
}
ABMELDUNG = {  # the current gewerbeabmeldung.toml
    "business_name": "Hansen Versicherungsmakler e. K.", "legal_form": "e. K.",
    "handelsregisternummer": "Hamburg HRA 98765",
    "betriebsanschrift": {"street": "Große Elbstraße 14", "postcode": "22767", "city": "Hamburg"}, "handwerk": False,
    "anzeigende_person": {"family_name": "Hansen", "given_names": "Lea", "birth_date": "1984-08-08",
                          "birth_place": "Kiel", "nationality": "deutsch"},
    "abmeldung_betrifft": "zweigniederlassung", "grund": "aufgabe", "abmeldung_datum": "2027-06-30",
}
CASES = {"gewerbeanmeldung": ANMELDUNG, "gewerbeummeldung": UMMELDUNG, "gewerbeabmeldung": ABMELDUNG}


def structure() -> tuple[list[str], dict[str, set[str]]]:
    """The element paths of the structure file in its order, and the code values it lists per path."""
    paths: list[str] = []
    codes: dict[str, set[str]] = {}
    for line in STRUCTURE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("/"):
            continue
        path, _, values = line.partition("=")
        path = path.strip()
        if path.endswith("/code"):
            codes[path[: -len("/code")]] = {v.strip() for v in values.split(",")}
        else:
            paths.append(path)
    return paths, codes


def as_structure_path(element: etree._Element, kind: str) -> str:
    """The element's path written as the structure file writes it (an Ummeldung or Abmeldung
    mapped onto the Anmeldung's paths)."""
    names = []
    node = element
    while node.getparent() is not None:
        local = etree.QName(node).localname
        local = {kind: "anmeldung", REASON_ELEMENT[kind]: "grundAnmeldungSchluessel"}.get(local, local)
        names.append(f"xga:{local}")
        node = node.getparent()
    return "/".join(["/MESSAGE", *reversed(names)])


@pytest.mark.parametrize("service_key", sorted(CASES))
def test_message_uses_only_the_standards_paths_in_its_order(service_key):
    content = build_message(service_key, CASES[service_key], WHEN, AUTHOR, READER)
    root = etree.fromstring(content)  # well-formed, else this raises
    assert etree.QName(root).namespace == NS
    kind = etree.QName(root.find(f"{{{NS}}}satz")[0]).localname
    order, _ = structure()
    for element in root.iter(f"{{{NS}}}*"):
        path = as_structure_path(element, kind)
        assert path in order, path
        child_positions = [order.index(as_structure_path(c, kind)) for c in element
                           if etree.QName(c).namespace == NS]
        assert child_positions == sorted(child_positions), f"children of {path} out of order"


@pytest.mark.parametrize("service_key", sorted(CASES))
def test_code_values_are_valid(service_key):
    root = etree.fromstring(build_message(service_key, CASES[service_key], WHEN, AUTHOR, READER))
    kind = etree.QName(root.find(f"{{{NS}}}satz")[0]).localname
    _, listed = structure()
    known = {v for table in CODES.values() for v in table.values()}
    for code in root.iter("code"):
        path = as_structure_path(code.getparent(), kind)
        element = path.rsplit(":", 1)[-1]
        if element in ("praefix", "kennung"):
            continue  # authority ids come from the bodies' settings
        if element in ("nationSchluessel", "staatsangehoerigkeitSchluessel"):
            assert re.fullmatch(r"\d{3}", code.text), (path, code.text)
        else:
            assert code.text in listed.get(path, set()) | known, (path, code.text)
    # what the structure file shows for a German crafts business is what the portal writes
    if service_key == "gewerbeanmeldung":
        gewerbe = f"{{{NS}}}satz/{{{NS}}}anmeldung/{{{NS}}}gewerbe"
        assert root.find(f"{gewerbe}/{{{NS}}}betriebArt/{{{NS}}}handwerk/code").text == "1"
        assert root.find(f"{gewerbe}/{{{NS}}}niederlassungArt/code").text == "1"
        assert root.find(f"{gewerbe}/{{{NS}}}anschrift/{{{NS}}}nationSchluessel/code").text == "276"


def test_anmeldung_reads_back_with_the_same_answers():
    message_id = uuid.uuid4()
    answers = read_message(build_message("gewerbeanmeldung", ANMELDUNG, WHEN, AUTHOR, READER, message_id))
    assert answers == {
        "kind": "anmeldung", "message_id": str(message_id), "business_name": "Becker Elektrotechnik GmbH",
        "register_number": "12345", "grund": "kauf", "wz2008_key": "43210", "activity": "Elektroinstallation",
        "niederlassung": "hauptniederlassung", "postcode": "28195",
        "industrie": False, "handwerk": True, "handel": False, "sonstiges": False, "vollzeit": 3, "teilzeit": 1,
        "personen": [
            {"funktion": "vertreter", "familienname": "Becker", "vornamen": "Anna", "geburtsdatum": "1980-05-17",
             "staatsangehoerigkeiten": ["DE"], "aufenthaltstitel": False},
            {"funktion": "betriebsleiter", "familienname": "Silva", "vornamen": "Marta",
             "geburtsdatum": "1980-05-17", "staatsangehoerigkeiten": ["BR"], "aufenthaltstitel": True},
        ],
    }


def test_ummeldung_and_abmeldung_read_back():
    um = read_message(build_message("gewerbeummeldung", UMMELDUNG, WHEN, AUTHOR, READER))
    assert (um["kind"], um["grund"], um["postcode"], um["wz2008_key"]) == ("ummeldung", "verlegung", "28207", "43210")
    assert um["personen"][0]["familienname"] == "Becker"
    ab = read_message(build_message("gewerbeabmeldung", ABMELDUNG, WHEN, AUTHOR, READER))
    assert (ab["kind"], ab["grund"], ab["niederlassung"], ab["handwerk"]) == (
        "abmeldung", "aufgabe", "zweigniederlassung", False)


def test_other_services_have_no_message():
    from bizportal.filings.xgewerbeanzeige import NotATradeNotification

    with pytest.raises(NotATradeNotification):
        build_message("handwerksrolle-eintragung", {}, WHEN, AUTHOR, READER)


def test_a_gewerbeanmeldung_filed_in_the_portal_makes_a_message(app, client, login_as):
    from sqlalchemy import select

    from bizportal.extensions import db
    from bizportal.filings.models import Filing
    from tests.support.filing import file_service, gewerbe_answers

    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers(grund="pacht", frueherer_inhaber="Meyer"))
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        content = build_message(filing.service_key, filing.data, filing.submitted_at, AUTHOR, READER)
    answers = read_message(content)
    assert (answers["business_name"], answers["grund"], answers["wz2008_key"]) == (
        "Becker Elektrotechnik GmbH", "pacht", "43210")
    assert [p["familienname"] for p in answers["personen"]] == ["Becker"]
    assert answers["handwerk"] is True and answers["vollzeit"] == 3
