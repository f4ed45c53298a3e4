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
UMMELDUNG = {  # gewerbeummeldung.toml (GewA 2): a crafts GmbH moves within Bremen
    "inhaber_art": "juristische_person", "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH",
    "handelsregisternummer": "Bremen HRB 12345", "personen": [PERSON, SILVA],
    "betriebsanschrift": {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"},
    "niederlassung": "hauptniederlassung", "grund": "verlegung", "aenderung_datum": "2027-01-01",
    "neue_anschrift": {"street": "Hastedter Heerstraße 285", "postcode": "28207", "city": "Bremen"},
    "taetigkeit": "Elektroinstallation", "nebenerwerb": False, "wz2008": "43.21.0",
    "handwerk": True, "industrie": False, "handel": False, "sonstiges": False, "vollzeit": 12, "teilzeit": 2,
    "erlaubnispflichtig": False, "handwerk_bezeichnung": "Elektrotechniker", "handwerkskarte_vorhanden": True,
    "handwerkskarte_datum": "2019-03-01", "handwerkskarte_kammer": "Handwerkskammer Bremen",
}
ABMELDUNG = {  # gewerbeabmeldung.toml (GewA 3): a broker closes a branch and moves it to another district
    "inhaber_art": "natuerliche_person", "business_name": "Hansen Versicherungsmakler e. K.", "legal_form": "e. K.",
    "handelsregisternummer": "Hamburg HRA 98765",
    "personen": [{**PERSON, "funktion": "inhaber", "familienname": "Hansen", "vornamen": "Lea"}],
    "betriebsanschrift": {"street": "Große Elbstraße 14", "postcode": "22767", "city": "Hamburg"},
    "abmeldung_betrifft": "zweigniederlassung",
    "hauptniederlassung": {"street": "Lüneburger Straße 22", "postcode": "21073", "city": "Hamburg"},
    "taetigkeit": "Versicherungsvermittlung als Versicherungsmaklerin", "nebenerwerb": True, "wz2008": "66.22.0",
    "handwerk": False, "industrie": False, "handel": False, "sonstiges": True, "vollzeit": 0, "teilzeit": 1,
    "abmeldung_datum": "2027-06-30", "grund": "verlegung",
    "neue_anschrift": {"street": "Bahnhofstraße 1", "postcode": "21423", "city": "Winsen (Luhe)"},
}
OLD_UMMELDUNG = {  # a Gewerbeummeldung filed with the definition before GewA 2 (one person, one address)
    "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH", "handelsregisternummer": "Bremen HRB 12345",
    "betriebsanschrift": {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"}, "handwerk": True,
    "anzeigende_person": {"family_name": "Becker", "given_names": "Anna", "birth_date": "1980-05-17",
                          "birth_place": "Bremen", "nationality": "deutsch"},
    "grund": "verlegung", "aenderung_datum": "2027-01-01",
    "neue_anschrift": {"street": "Hastedter Heerstraße 285", "postcode": "28207", "city": "Bremen"},
    "taetigkeit": "Elektroinstallation", "wz2008": "43.21.0",
}
CASES = {"gewerbeanmeldung": ANMELDUNG, "gewerbeummeldung": UMMELDUNG, "gewerbeabmeldung": ABMELDUNG}
ALL_CASES = [("gewerbeanmeldung", ANMELDUNG), ("gewerbeummeldung", UMMELDUNG), ("gewerbeabmeldung", ABMELDUNG),
             ("gewerbeummeldung", OLD_UMMELDUNG)]


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


@pytest.mark.parametrize("service_key, case", ALL_CASES)
def test_message_uses_only_the_standards_paths_in_its_order(service_key, case):
    content = build_message(service_key, case, WHEN, AUTHOR, READER)
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


@pytest.mark.parametrize("service_key, case", ALL_CASES)
def test_code_values_are_valid(service_key, case):
    root = etree.fromstring(build_message(service_key, case, WHEN, AUTHOR, READER))
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
    message_id, record_id = uuid.uuid4(), uuid.uuid4()
    answers = read_message(build_message("gewerbeanmeldung", ANMELDUNG, WHEN, AUTHOR, READER, message_id, record_id))
    assert answers == {
        "kind": "anmeldung", "message_id": str(message_id), "record_id": str(record_id), "gemeinde": "04011000",
        "rechtsform_code": "350", "handwerkskarte": True, "business_name": "Becker Elektrotechnik GmbH",
        "register_number": "12345", "grund": "kauf", "wz2008_key": "43210", "activity": "Elektroinstallation",
        "niederlassung": "hauptniederlassung", "postcode": "28195", "event_date": "2027-01-01",
        "nebenerwerb": False, "reisegewerbe": False,
        "industrie": False, "handwerk": True, "handel": False, "sonstiges": False, "vollzeit": 3, "teilzeit": 1,
        "personen": [
            {"funktion": "vertreter", "familienname": "Becker", "vornamen": "Anna", "geburtsdatum": "1980-05-17",
             "staatsangehoerigkeiten": ["DE"], "aufenthaltstitel": None, "erreichbarkeit": {},
             "anschrift": {"plz": "28209", "ort": "Bremen", "staat": "DE"}},
            {"funktion": "betriebsleiter", "familienname": "Silva", "vornamen": "Marta",
             "geburtsdatum": "1980-05-17", "staatsangehoerigkeiten": ["BR"], "aufenthaltstitel": True,
             "erreichbarkeit": {}, "anschrift": {"plz": "28209", "ort": "Bremen", "staat": "DE"}},
        ],
    }


def test_ummeldung_reads_back_with_the_new_fields_of_gewa2():
    message_id, record_id = uuid.uuid4(), uuid.uuid4()
    answers = read_message(build_message("gewerbeummeldung", UMMELDUNG, WHEN, AUTHOR, READER, message_id, record_id))
    assert answers == {
        "kind": "ummeldung", "message_id": str(message_id), "record_id": str(record_id), "gemeinde": "04011000",
        "rechtsform_code": "350", "handwerkskarte": True, "business_name": "Becker Elektrotechnik GmbH",
        "register_number": "12345", "grund": "verlegung", "wz2008_key": "43210", "activity": "Elektroinstallation",
        "niederlassung": "hauptniederlassung", "postcode": "28207",  # the premises after the move
        "event_date": "2027-01-01", "nebenerwerb": False, "reisegewerbe": False,
        "industrie": False, "handwerk": True, "handel": False, "sonstiges": False, "vollzeit": 12, "teilzeit": 2,
        "personen": [
            {"funktion": "vertreter", "familienname": "Becker", "vornamen": "Anna", "geburtsdatum": "1980-05-17",
             "staatsangehoerigkeiten": ["DE"], "aufenthaltstitel": None, "erreichbarkeit": {},
             "anschrift": {"plz": "28209", "ort": "Bremen", "staat": "DE"}},
            {"funktion": "betriebsleiter", "familienname": "Silva", "vornamen": "Marta",
             "geburtsdatum": "1980-05-17", "staatsangehoerigkeiten": ["BR"], "aufenthaltstitel": True,
             "erreichbarkeit": {}, "anschrift": {"plz": "28209", "ort": "Bremen", "staat": "DE"}},
        ],
    }
    root = etree.fromstring(build_message("gewerbeummeldung", UMMELDUNG, WHEN, AUTHOR, READER))
    record = root.find(f"{{{NS}}}satz/{{{NS}}}ummeldung")
    assert record.find(f"{{{NS}}}ereigniszeitpunkt").text == "2027-01-01"
    assert record.find(f"{{{NS}}}gewerbe/{{{NS}}}handwerkskarte/{{{NS}}}ausgestelltAm").text == "2019-03-01"


def test_abmeldung_reads_back_with_the_new_fields_of_gewa3():
    answers = read_message(build_message("gewerbeabmeldung", ABMELDUNG, WHEN, AUTHOR, READER))
    assert (answers["kind"], answers["grund"], answers["niederlassung"], answers["event_date"]) == (
        "abmeldung", "verlegung", "zweigniederlassung", "2027-06-30")
    # the premises deregistered, not the future ones in the other district
    assert answers["postcode"] == "22767"
    assert (answers["handwerk"], answers["sonstiges"], answers["nebenerwerb"]) == (False, True, True)
    assert (answers["vollzeit"], answers["teilzeit"]) == (0, 1)
    assert (answers["wz2008_key"], answers["activity"]) == (
        "66220", "Versicherungsvermittlung als Versicherungsmaklerin")
    assert [(p["funktion"], p["familienname"]) for p in answers["personen"]] == [("inhaber", "Hansen")]


@pytest.mark.parametrize("grund", ["aufgabe", "verlegung", "umwandlung", "rechtsform", "austritt", "uebergabe"])
def test_every_reason_of_gewa3_travels(grund):
    answers = read_message(build_message("gewerbeabmeldung", {**ABMELDUNG, "grund": grund}, WHEN, AUTHOR, READER))
    assert answers["grund"] == grund


@pytest.mark.parametrize("grund", ["verlegung", "wechsel", "ausdehnung", "teilaufgabe", "name", "rechtsform"])
def test_every_reason_of_gewa2_travels(grund):
    answers = read_message(build_message("gewerbeummeldung", {**UMMELDUNG, "grund": grund}, WHEN, AUTHOR, READER))
    assert answers["grund"] == grund


def test_an_ummeldung_filed_before_gewa2_still_makes_a_message():
    answers = read_message(build_message("gewerbeummeldung", OLD_UMMELDUNG, WHEN, AUTHOR, READER))
    assert (answers["kind"], answers["grund"], answers["postcode"], answers["wz2008_key"]) == (
        "ummeldung", "verlegung", "28207", "43210")
    assert answers["personen"][0]["familienname"] == "Becker"


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


def test_field_24_an_itinerant_trade_besides_or_instead_of_an_establishment_reaches_the_message():
    """Field 24 is a yes/no of its own since 12/2026; filings made before carried it as field 23's
    choice "reisegewerbe" and still say so."""
    both = read_message(build_message("gewerbeanmeldung", {**ANMELDUNG, "reisegewerbe": True}, WHEN, AUTHOR, READER))
    assert (both["niederlassung"], both["reisegewerbe"]) == ("hauptniederlassung", True)
    alone = read_message(build_message("gewerbeanmeldung", {**ANMELDUNG, "niederlassung": None, "reisegewerbe": True},
                                       WHEN, AUTHOR, READER))
    assert (alone["niederlassung"], alone["reisegewerbe"]) == (None, True)
    before = read_message(build_message("gewerbeanmeldung", {**ANMELDUNG, "niederlassung": "reisegewerbe"},
                                        WHEN, AUTHOR, READER))
    assert (before["niederlassung"], before["reisegewerbe"]) == (None, True)


# --- elements the filing has the data for (issue 13, tester's findings) ------------------------------

def _gewerbe(content: bytes) -> etree._Element:
    return etree.fromstring(content).find(f"{{{NS}}}satz/*/{{{NS}}}gewerbe")


@pytest.mark.parametrize("legal_form, register, code", [
    ("GmbH", "Bremen HRB 12345", "350"), ("UG (haftungsbeschränkt)", "Bremen HRB 1", "351"),
    ("GmbH & Co. KG", "Bremen HRA 7", "230"), ("KG", "Bremen HRA 7", "220"), ("OHG", None, "210"),
    ("GbR", None, "270"), ("e. K.", "Hamburg HRA 98765", "170"), ("Einzelunternehmen", None, "180"),
    ("Einzelunternehmen", "Hamburg HRA 98765", "170"), ("AG", "Bremen HRB 2", "310"), ("eG", None, "400"),
    ("PartG mbB", None, "293"), ("e. V.", None, "590"),
])
def test_the_legal_form_answer_travels_as_rechtsformschluessel(legal_form, register, code):
    case = {**ANMELDUNG, "legal_form": legal_form, "handelsregisternummer": register}
    content = build_message("gewerbeanmeldung", case, WHEN, AUTHOR, READER)
    betrieb = _gewerbe(content).find(f"{{{NS}}}betrieb")
    assert betrieb.find(f"{{{NS}}}rechtsformSchluessel/code").text == code
    assert betrieb[-1].tag == f"{{{NS}}}rechtsformSchluessel"  # the last child of betrieb, as in the standard
    assert read_message(content)["rechtsform_code"] == code


def test_a_legal_form_without_a_known_code_is_left_out():
    content = build_message("gewerbeanmeldung", {**ANMELDUNG, "legal_form": "Limited (Ltd.)"}, WHEN, AUTHOR, READER)
    assert _gewerbe(content).find(f"{{{NS}}}betrieb/{{{NS}}}rechtsformSchluessel") is None
    assert read_message(content)["rechtsform_code"] is None


def test_a_persons_phone_and_email_travel_as_erreichbarkeit():
    reachable = {**PERSON, "telefon": "0421 123456", "email": "anna.becker@example.org"}
    content = build_message("gewerbeanmeldung", {**ANMELDUNG, "personen": [reachable, SILVA]}, WHEN, AUTHOR, READER)
    becker, silva = _gewerbe(content).findall(f"{{{NS}}}beteiligtePerson")
    channels = [(r.find(f"{{{NS}}}kanal/code").text, r.find(f"{{{NS}}}kennung").text)
                for r in becker.findall(f"{{{NS}}}erreichbarkeit")]
    assert channels == [("02", "0421 123456"), ("01", "anna.becker@example.org")]
    assert silva.find(f"{{{NS}}}erreichbarkeit") is None  # no contact answered: none written
    assert read_message(content)["personen"][0]["erreichbarkeit"] == {
        "telefon": "0421 123456", "email": "anna.becker@example.org"}


def test_no_craft_card_and_no_residence_title_are_written_as_no():
    without = {**SILVA, "aufenthaltstitel": False}
    case = {**ANMELDUNG, "handwerkskarte_vorhanden": False, "personen": [PERSON, without]}
    content = build_message("gewerbeanmeldung", case, WHEN, AUTHOR, READER)
    gewerbe = _gewerbe(content)
    card = gewerbe.find(f"{{{NS}}}handwerkskarte")
    assert [c.tag for c in card] == [f"{{{NS}}}status"] and card.find(f"{{{NS}}}status/code").text == "0"
    becker, silva = gewerbe.findall(f"{{{NS}}}beteiligtePerson")
    assert becker.find(f"{{{NS}}}aufenthaltstitel") is None  # a German: not asked, so not written
    title = silva.find(f"{{{NS}}}aufenthaltstitel")
    assert [c.tag for c in title] == [f"{{{NS}}}status"] and title.find(f"{{{NS}}}status/code").text == "0"
    answers = read_message(content)
    assert answers["handwerkskarte"] is False
    assert [p["aufenthaltstitel"] for p in answers["personen"]] == [None, False]
    # not asked at all (a service without the question): no element, read back as unknown
    unasked = {k: v for k, v in ANMELDUNG.items() if not k.startswith("handwerkskarte")}
    assert read_message(build_message("gewerbeanmeldung", unasked, WHEN, AUTHOR, READER))["handwerkskarte"] is None


def test_a_craft_card_held_keeps_its_date_and_the_issuing_chambers_town():
    card = _gewerbe(build_message("gewerbeanmeldung", ANMELDUNG, WHEN, AUTHOR, READER)).find(f"{{{NS}}}handwerkskarte")
    assert [(etree.QName(c).localname, c.findtext("code") or c.text) for c in card] == [
        ("status", "1"), ("ausgestelltAm", "2026-10-01"), ("ausgestelltVonOrt", "Bremen")]


@pytest.mark.parametrize("issuer, town", [
    ("Handwerkskammer Bremen", "Bremen"), ("HWK Hamburg", "Hamburg"), ("handwerkskammer  hamburg", "Hamburg"),
    ("Handwerkskammer für München und Oberbayern", None), ("Kreishandwerkerschaft Bremen", None), ("", None)])
def test_the_craft_cards_place_is_a_town_never_the_chambers_name(issuer, town):
    case = {**ANMELDUNG, "handwerkskarte_kammer": issuer}
    card = _gewerbe(build_message("gewerbeanmeldung", case, WHEN, AUTHOR, READER)).find(f"{{{NS}}}handwerkskarte")
    assert card.findtext(f"{{{NS}}}ausgestelltVonOrt") == town
    assert card.findtext(f"{{{NS}}}ausgestelltAm") == "2026-10-01"  # the rest of the card stays


@pytest.mark.parametrize("city, key", [("Bremen", "04011000"), ("Bremerhaven", "04012000"), ("Hamburg", "02000000"),
                                       ("Winsen (Luhe)", None)])
def test_the_municipality_key_of_the_premises(city, key):
    case = {**ANMELDUNG, "city": city}
    content = build_message("gewerbeanmeldung", case, WHEN, AUTHOR, READER)
    record = etree.fromstring(content).find(f"{{{NS}}}satz/{{{NS}}}anmeldung")
    found = record.find(f"{{{NS}}}gemeindeSchluessel/code")
    assert (found.text if found is not None else None) == key
    assert read_message(content)["gemeinde"] == key


def test_the_municipality_key_of_an_ummeldung_is_that_of_the_new_premises():
    moved = {**UMMELDUNG, "neue_anschrift": {"street": "Columbusstraße 2", "postcode": "27570", "city": "Bremerhaven"}}
    assert read_message(build_message("gewerbeummeldung", moved, WHEN, AUTHOR, READER))["gemeinde"] == "04012000"
    assert read_message(build_message("gewerbeabmeldung", ABMELDUNG, WHEN, AUTHOR, READER))["gemeinde"] == "02000000"


def test_no_court_key_is_invented():
    content = build_message("gewerbeanmeldung", ANMELDUNG, WHEN, AUTHOR, READER)
    assert _gewerbe(content).find(f"{{{NS}}}betrieb/{{{NS}}}gerichtSchluessel") is None


def test_message_and_record_carry_distinct_uuids():
    root = etree.fromstring(build_message("gewerbeanmeldung", ANMELDUNG, WHEN, AUTHOR, READER))
    message_id = root.findtext(f"{{{NS}}}nachrichtenkopf/{{{NS}}}identifikation.nachricht/{{{NS}}}nachrichtenUUID")
    record_id = root.findtext(f"{{{NS}}}satz/{{{NS}}}anmeldung/{{{NS}}}uuid")
    assert uuid.UUID(message_id) != uuid.UUID(record_id)
    same = uuid.uuid4()
    with pytest.raises(ValueError):
        build_message("gewerbeanmeldung", ANMELDUNG, WHEN, AUTHOR, READER, same, same)


@pytest.mark.parametrize("service, case", [("gewerbeanmeldung", ANMELDUNG), ("gewerbeummeldung", UMMELDUNG),
                                           ("gewerbeabmeldung", ABMELDUNG)])
def test_the_activity_is_the_main_one_and_not_repeated_as_a_further_activity(service, case):
    root = etree.fromstring(build_message(service, case, WHEN, AUTHOR, READER))
    total = root.find(f"{{{NS}}}satz/*/{{{NS}}}taetigkeitenGesamt")
    activity = case.get("activity") or case.get("taetigkeit")
    assert activity and total.findtext(f"{{{NS}}}schwerpunkt/{{{NS}}}taetigkeitSchwerpunkt") == activity
    assert total.find(f"{{{NS}}}weitereTaetigkeiten") is None
    assert root.find(f".//{{{NS}}}taetigkeitenZusammengefasst") is None
