"""XGewerbeanzeige 2.2 messages of trade notifications (Gewerbeanmeldung, -ummeldung, -abmeldung).

``build_message`` turns a filed trade notification into the XML message the Gewerbeämter, IHKs and
HWKs exchange (namespace ``NS``), built with lxml, element by element in the order of the
standard's official test message (``../shared/standards/xgewerbeanzeige-2.2-structure.txt``);
``read_message`` parses one back into the answers it carries.

The structure file lists an Anmeldung; an Ummeldung or Abmeldung uses the same paths under
``satz/ummeldung`` or ``satz/abmeldung``, with ``grundUmmeldungSchluessel`` /
``grundAbmeldungSchluessel`` for the reason. For them ``ereigniszeitpunkt`` and ``gueltigAb`` carry
the date of the change (GewA 2) or of the closing (GewA 3); ``gewerbe/anschrift`` is the premises
after an Ummeldung (the new address on a move) and the premises deregistered in an Abmeldung. The
previous values of GewA 2 (former premises, previous activity, name or legal form) and the
successor, cause and future premises of GewA 3 have no element among the structure file's paths
and are not in the message (they reach the receivers in the JSON answers). Elements without an
answer are left out (the test
message shows the optional ones filled). Code values: ``CODES`` says which ones the structure file
shows and which are this module's reading of the code lists (XRepository was not reachable; the
assumed ones are to be checked against the code lists before a Gewerbeamt imports the messages).
A "Nein" to the Handwerkskarte or the residence title is written as the element with status 0, so
it differs from "not asked" (no element). ``gerichtSchluessel`` is never written: the portal has
the register court only as text and no sourced code table (``docs/gewerbeanzeige.md``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from ..catalog import wz2008
from ..common import countries

NS = "http://www.xgewerbeanzeige.de/spezifikation/2.2"
SCHEMA_URI = NS  #: the data schema a FIT-Connect submission names for this content
MEDIA_TYPE = "application/xml"
KINDS = {"gewerbeanmeldung": "anmeldung", "gewerbeummeldung": "ummeldung", "gewerbeabmeldung": "abmeldung"}
REASON_ELEMENT = {"anmeldung": "grundAnmeldungSchluessel", "ummeldung": "grundUmmeldungSchluessel",
                  "abmeldung": "grundAbmeldungSchluessel"}
#: message type for general readers (IHK, HWK): "alg.gewerbemeldung.0300" in the test suite
MESSAGE_TYPE = "0300"  # CODES["nachrichtentyp"]["alg"]

#: code values per element. Seen in the structure file: nachrichtentyp 0500 (and 0100/0230/0290/0300
#: per reader), kanal 01/02/09, istKorrektur 0, eintragungArt A, betriebArt flags 0/1,
#: niederlassungArt 1, istReisegewerbe 0, istNebenerwerb 0, handwerkskarte status 1,
#: nationSchluessel 276, personFunktion 1, geschlecht 1, aufenthaltstitel status 1,
#: grundAnmeldungSchluessel 01. The other values below are assumed (see the module docstring).
CODES: dict[str, dict[str, str]] = {
    "nachrichtentyp": {"sta": "0100", "dgu": "0230", "lue": "0290", "alg": "0300", "abh": "0500"},
    "eintragungArt": {"HRA": "A", "HRB": "B", "GnR": "G", "VR": "V", "PR": "P"},
    "niederlassungArt": {"hauptniederlassung": "1", "zweigniederlassung": "2", "zweigstelle": "3"},
    "personFunktion": {"inhaber": "1", "gesellschafter": "2", "vertreter": "3", "betriebsleiter": "4"},
    "geschlecht": {"maennlich": "1", "weiblich": "2", "divers": "3", "ohne_angabe": "4"},
    "grundAnmeldungSchluessel": {"neugruendung": "01", "wiedereroeffnung": "02", "umwandlung": "03",
                                 "rechtsformwechsel": "04", "gesellschaftereintritt": "05", "erbfolge": "06",
                                 "kauf": "07", "pacht": "08"},
    "grundUmmeldungSchluessel": {"verlegung": "01", "wechsel": "02", "ausdehnung": "03", "teilaufgabe": "04",
                                 "name": "05", "rechtsform": "06"},
    "grundAbmeldungSchluessel": {"aufgabe": "01", "verlegung": "02", "uebergabe": "03", "rechtsform": "04",
                                 "austritt": "05", "umwandlung": "06"},
    "flag": {"false": "0", "true": "1"},
    #: the XÖV code list "Erreichbarkeit" (the structure file shows 01, 02, 09): 01 e-mail, 02 telephone
    "kanal": {"email": "01", "telefon": "02"},
    #: FIM code list "Rechtsformen (gängig)", urn:de:fim:codeliste:rechtsformen-gaengig (2021-06-18); its
    #: 170 (e. K.) is the structure file's example. Keys: the portal's free-text answer, folded (``_folded``)
    "rechtsformSchluessel": {
        "ek": "170", "ekfm": "170", "ekfr": "170", "eingetragenerkaufmann": "170", "eingetragenekauffrau": "170",
        "eingetrageneskaufmann": "170", "eingetrageneseinzelunternehmen": "170",
        "einzelunternehmen": "180", "einzelunternehmer": "180", "einzelunternehmerin": "180",
        "ohg": "210", "offenehandelsgesellschaft": "210",
        "kg": "220", "kommanditgesellschaft": "220",
        "gmbhcokg": "230", "gmbhundcokg": "230",
        "gbr": "270", "gesellschaftbuergerlichenrechts": "270", "gesellschaftdesbuergerlichenrechts": "270",
        "partg": "293", "partgmbb": "293", "partnerschaftsgesellschaft": "293",
        "ag": "310", "aktiengesellschaft": "310",
        "gmbh": "350", "gesellschaftmitbeschraenkterhaftung": "350",
        "ug": "351", "ughaftungsbeschraenkt": "351", "unternehmergesellschaft": "351",
        "unternehmergesellschafthaftungsbeschraenkt": "351",
        "se": "360", "europaeischeaktiengesellschaft": "360",
        "eg": "400", "eingetragenegenossenschaft": "400",
        "ev": "590", "eingetragenerverein": "590",
    },
    #: amtliche Gemeindeschlüssel (AGS) of the places the portal's bodies serve, by the establishment's
    #: place (folded); the structure file shows 12052000 (Cottbus)
    "gemeindeSchluessel": {"bremen": "04011000", "bremerhaven": "04012000", "hamburg": "02000000"},
}
#: the town of each Handwerkskammer the portal's bodies include, by its name (folded, "HWK" read as
#: "Handwerkskammer"): ``handwerkskarte/ausgestelltVonOrt`` is a place, the answer (field 29) names
#: the chamber. A chamber not listed here leaves the element out rather than put a name in a place.
CHAMBER_TOWNS: dict[str, str] = {"handwerkskammerbremen": "Bremen", "handwerkskammerhamburg": "Hamburg"}
_REGISTER_RE = re.compile(r"^(?P<court>.*?)\s*(?P<type>HRA|HRB|GnR|VR|PR)\s*(?P<number>\d+)", re.IGNORECASE)
#: a street and its house number: "Am Wall 120", "Parkallee 5a", "Hafenstraße 10-12", and the
#: Austrian staircase and door "Mariahilfer Straße 12/3" or "12/3/5"
_HOUSE_RE = re.compile(r"^(?P<street>.*?)\s+(?P<number>\d+\s*[a-zA-Z]?(?:\s*[-/]\s*\d+\s*[a-zA-Z]?)*)$")


@dataclass(frozen=True)
class Authority:
    """An authority in the message header: its Behördenkennung (prefix and id) and name."""

    prefix: str
    id: str
    name: str


class NotATradeNotification(ValueError):
    """The service is not one of the three trade notifications."""


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _el(parent: etree._Element, name: str, text: Any = None) -> etree._Element:
    child = etree.SubElement(parent, _q(name))
    if text is not None:
        child.text = str(text)
    return child


def _code(parent: etree._Element, name: str, value: str) -> etree._Element:
    child = _el(parent, name)
    etree.SubElement(child, "code").text = value
    return child


def _flag(value: Any) -> str:
    return CODES["flag"]["true" if value else "false"]


def _authority(parent: etree._Element, name: str, authority: Authority) -> None:
    node = _el(parent, name)
    ids = _el(node, "behoerdenkennung")
    _code(ids, "praefix", authority.prefix)
    _code(ids, "kennung", authority.id)
    _el(node, "behoerdenname", authority.name)


def _folded(text: Any) -> str:
    """A free-text answer as a lookup key: lower case, umlauts spelled out, letters only."""
    value = str(text or "").casefold().replace("&", "und")
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        value = value.replace(umlaut, spelled)
    value = re.sub(r"[^a-z]+", "", value)
    return value.replace("undco", "co") if "gmbh" in value else value


def legal_form_code(answer: Any) -> str | None:
    """The ``rechtsformSchluessel`` of the legal form answered (free text), or None when it is not
    one the code list names unambiguously."""
    return CODES["rechtsformSchluessel"].get(_folded(answer))


def chamber_town(answer: Any) -> str | None:
    """The town of the Handwerkskammer a free-text answer names ("Handwerkskammer Bremen", "HWK
    Bremen" → "Bremen"), for the chambers in ``CHAMBER_TOWNS``; None for any other answer."""
    folded = _folded(answer)
    if folded.startswith("hwk"):
        folded = "handwerkskammer" + folded[3:]
    return CHAMBER_TOWNS.get(folded)


def municipality_code(place: Mapping[str, Any] | None) -> str | None:
    """The ``gemeindeSchluessel`` (AGS) of an address's place, for the places in ``CODES``."""
    if not place:
        return None
    return CODES["gemeindeSchluessel"].get(_folded(place.get("city")))


def _address(parent: etree._Element, value: Mapping[str, Any] | None) -> None:
    if not value:
        return
    node = _el(parent, "anschrift")
    street = str(value.get("street") or "")
    match = _HOUSE_RE.match(street)
    _el(node, "strasse", match.group("street") if match else street)
    if match:
        _el(node, "hausNrVon", match.group("number"))
    _el(node, "ort", value.get("city"))
    _el(node, "plz", value.get("postcode"))
    nation = _state_code(str(value.get("country") or "DE"))  # an address without a state is German
    if nation:
        _code(node, "nationSchluessel", nation)


def _state_code(code: str) -> str | None:
    """The ISO 3166-1 numeric code of a state (the code list of ``nationSchluessel`` and
    ``staatsangehoerigkeitSchluessel``: the structure file shows 276 for Germany); None for a state
    without one (Kosovo): no code is invented, the JSON answers carry the state."""
    try:
        return countries.numeric(code)
    except KeyError:
        return None


def _register(betrieb: etree._Element, number: str | None) -> None:
    match = _REGISTER_RE.match(number or "")
    if not match:
        return
    _el(betrieb, "eintragungNr", match.group("number"))
    if match.group("court"):
        _el(betrieb, "eintragungOrt", match.group("court"))
    kind = next(k for k in CODES["eintragungArt"] if k.lower() == match.group("type").lower())
    _code(betrieb, "eintragungArt", CODES["eintragungArt"][kind])


def _person(gewerbe: etree._Element, person: Mapping[str, Any]) -> None:
    node = _el(gewerbe, "beteiligtePerson")
    if person.get("funktion"):
        _code(node, "personFunktion", CODES["personFunktion"][person["funktion"]])
    _el(node, "familienname", person.get("familienname"))
    _el(node, "vorname", person.get("vornamen"))
    if person.get("geschlecht"):
        _code(node, "geschlecht", CODES["geschlecht"][person["geschlecht"]])
    if person.get("geburtsname"):
        _el(node, "geburtsname", person["geburtsname"])
    _el(node, "geburtsdatum", person.get("geburtsdatum"))
    if person.get("geburtsort"):
        _el(node, "geburtsort", person["geburtsort"])
    if person.get("geburtsland"):
        _el(node, "geburtsland", countries.name(person["geburtsland"], "de"))
    nationalities = [_state_code(n) for n in (person.get("staatsangehoerigkeit"),
                                              person.get("weitere_staatsangehoerigkeit")) if n]
    if any(nationalities):
        holder = _el(node, "staatangehoerigkeiten")  # sic: the standard's element name
        for code in nationalities:
            if code:
                _code(holder, "staatsangehoerigkeitSchluessel", code)
    _address(node, person.get("anschrift"))
    for channel, key in (("telefon", "telefon"), ("email", "email")):
        if person.get(key):
            reach = _el(node, "erreichbarkeit")
            _code(reach, "kanal", CODES["kanal"][channel])
            _el(reach, "kennung", person[key])
    if person.get("aufenthaltstitel") is not None:  # "Nein" is status 0; not asked (EU citizens): left out
        title = _el(node, "aufenthaltstitel")
        _code(title, "status", _flag(person["aufenthaltstitel"]))
        if person["aufenthaltstitel"]:
            if person.get("aufenthaltstitel_datum"):
                _el(title, "ausgestelltAm", person["aufenthaltstitel_datum"])
            if person.get("aufenthaltstitel_behoerde"):
                _el(title, "ausgestelltVonName", person["aufenthaltstitel_behoerde"])


def _persons(answers: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The persons of the notification: the GewA group, or the single person of older definitions."""
    if answers.get("personen"):
        return list(answers["personen"])
    single = answers.get("anzeigende_person")
    if not single:
        return []
    return [{"familienname": single.get("family_name"), "vornamen": single.get("given_names"),
             "geburtsdatum": single.get("birth_date"), "geburtsort": single.get("birth_place")}]


def _establishment(answers: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if answers.get("street") or answers.get("postcode"):
        return {"street": answers.get("street"), "postcode": answers.get("postcode"), "city": answers.get("city")}
    return answers.get("betriebsanschrift")


def _event_day(answers: Mapping[str, Any]) -> str | None:
    """The day the notification takes effect: start (GewA 1), change (GewA 2) or closing (GewA 3)."""
    return answers.get("start_date") or answers.get("aenderung_datum") or answers.get("abmeldung_datum")


def build_message(service_key: str, answers: Mapping[str, Any], submitted_at: datetime, author: Authority,
                  reader: Authority, message_id: uuid.UUID | None = None,
                  record_id: uuid.UUID | None = None) -> bytes:
    """The XGewerbeanzeige 2.2 message (UTF-8 bytes with XML declaration) of a filed trade
    notification. ``message_id`` is the message's ``nachrichtenUUID`` (one per message and reader),
    ``record_id`` the record's ``satz/…/uuid`` (one per notification, the same in the messages to
    every reader); each a fresh random UUID when not given. Raises ``NotATradeNotification`` for
    another service, ``ValueError`` when both ids are the same."""
    kind = KINDS.get(service_key)
    if kind is None:
        raise NotATradeNotification(service_key)
    message_id = message_id or uuid.uuid4()
    record_id = record_id or uuid.uuid4()
    if record_id == message_id:
        raise ValueError("nachrichtenUUID and the record's uuid must differ")
    root = etree.Element(_q(f"gewerbemeldung.{MESSAGE_TYPE}"), nsmap={"xga": NS})
    head = _el(root, "nachrichtenkopf")
    ident = _el(head, "identifikation.nachricht")
    _el(ident, "nachrichtenUUID", message_id)
    _code(ident, "nachrichtentyp", MESSAGE_TYPE)
    _el(ident, "erstellungszeitpunkt", submitted_at.isoformat(timespec="seconds"))
    _authority(head, "leser", reader)
    _authority(head, "autor", author)

    record = _el(_el(root, "satz"), kind)
    _el(record, "satzErstellung", submitted_at.isoformat(timespec="seconds"))
    event_day = _event_day(answers)
    _el(record, "ereigniszeitpunkt", event_day or submitted_at.date().isoformat())
    _authority(record, "autor", author)
    _code(record, "istKorrektur", "0")
    moved_to = answers.get("neue_anschrift") if kind == "ummeldung" else None
    premises = moved_to or _establishment(answers)
    municipality = municipality_code(premises)
    if municipality:
        _code(record, "gemeindeSchluessel", municipality)
    _el(record, "uuid", record_id)

    gewerbe = _el(record, "gewerbe")
    betrieb = _el(gewerbe, "betrieb")
    _el(betrieb, "eingetragenerName", answers.get("business_name"))
    _register(betrieb, answers.get("handelsregisternummer"))
    legal_form = legal_form_code(answers.get("legal_form"))
    register = _REGISTER_RE.match(answers.get("handelsregisternummer") or "")
    if legal_form == "180" and register and register.group("type").upper() == "HRA":
        legal_form = "170"  # "Einzelunternehmen" entered in the Handelsregister: e. K.
    if legal_form:
        _code(betrieb, "rechtsformSchluessel", legal_form)
    for name, element in (("vollzeit", "anzahlVollzeitBeschaeftigte"), ("teilzeit", "anzahlTeilzeitBeschaeftigte")):
        if answers.get(name) is not None:
            _el(gewerbe, element, answers[name])
    if answers.get("handwerk") is not None:
        art = _el(gewerbe, "betriebArt")
        for flag in ("industrie", "handwerk", "handel", "sonstiges"):
            _code(art, flag, _flag(answers.get(flag)))
    place = answers.get("niederlassung") or answers.get("abmeldung_betrifft")
    if place in CODES["niederlassungArt"]:
        _code(gewerbe, "niederlassungArt", CODES["niederlassungArt"][place])
    # field 24 is its own yes/no since 12/2026; before, "reisegewerbe" was one of field 23's boxes
    itinerant = answers.get("reisegewerbe")
    if itinerant is not None or place is not None:
        _code(gewerbe, "istReisegewerbe", _flag(itinerant or place == "reisegewerbe"))
    if answers.get("nebenerwerb") is not None:
        _code(gewerbe, "istNebenerwerb", _flag(answers["nebenerwerb"]))
    card_held = answers.get("handwerkskarte_vorhanden")
    if card_held is not None:  # "Nein" is status 0; not asked: left out
        card = _el(gewerbe, "handwerkskarte")
        _code(card, "status", _flag(card_held))
        if card_held and answers.get("handwerkskarte_datum"):
            _el(card, "ausgestelltAm", answers["handwerkskarte_datum"])
        town = chamber_town(answers.get("handwerkskarte_kammer")) if card_held else None
        if town:
            _el(card, "ausgestelltVonOrt", town)
    _address(gewerbe, premises)
    for person in _persons(answers):
        _person(gewerbe, person)

    if _event_day(answers):
        _el(record, "gueltigAb", _event_day(answers))
    _el(record, "datumMeldung", submitted_at.date().isoformat())
    activity = answers.get("activity") or answers.get("taetigkeit")
    if activity or answers.get("wz2008"):
        total = _el(record, "taetigkeitenGesamt")
        focus = _el(total, "schwerpunkt")
        if activity:
            _el(focus, "taetigkeitSchwerpunkt", activity)
        if answers.get("wz2008"):
            code = answers["wz2008"]
            sub = wz2008.classification().subclasses.get(code)
            _el(focus, "taetigkeitSchluessel", code.replace(".", ""))
            if sub:
                _el(focus, "stichwort", sub.title)
        # no ``weitereTaetigkeiten``: it is for activities beyond the main one, and the trade forms ask
        # for the activity once (field 18, main one first), with no separate answer for others
    reason = CODES[REASON_ELEMENT[kind]].get(answers.get("grund") or "")
    if reason:
        _code(record, REASON_ELEMENT[kind], reason)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def read_message(content: bytes) -> dict[str, Any]:
    """The answers an XGewerbeanzeige message carries, keyed like the definitions' fields (for
    checks and for receivers that import it). Raises ``etree.XMLSyntaxError`` on broken XML."""
    root = etree.fromstring(content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"x": NS}

    def text(node: etree._Element, path: str) -> str | None:
        found = node.find(path, ns)
        return found.text if found is not None else None

    def code(node: etree._Element, path: str) -> str | None:
        found = node.find(path + "/code", ns)
        return found.text if found is not None else None

    def back(table: str, value: str | None) -> str | None:
        return next((k for k, v in CODES[table].items() if v == value), None)

    record = root.find("x:satz/*", ns)
    assert record is not None
    kind = etree.QName(record).localname
    gewerbe = record.find("x:gewerbe", ns)
    assert gewerbe is not None
    def status(node: etree._Element | None) -> bool | None:
        value = code(node, "x:status") if node is not None else None
        return None if value is None else value == "1"

    answers: dict[str, Any] = {
        "kind": kind,
        "message_id": text(root, "x:nachrichtenkopf/x:identifikation.nachricht/x:nachrichtenUUID"),
        "record_id": text(record, "x:uuid"),
        "gemeinde": code(record, "x:gemeindeSchluessel"),
        "rechtsform_code": code(gewerbe, "x:betrieb/x:rechtsformSchluessel"),
        "handwerkskarte": status(gewerbe.find("x:handwerkskarte", ns)),
        "business_name": text(gewerbe, "x:betrieb/x:eingetragenerName"),
        "register_number": text(gewerbe, "x:betrieb/x:eintragungNr"),
        "grund": back(REASON_ELEMENT[kind], code(record, f"x:{REASON_ELEMENT[kind]}")),
        "wz2008_key": text(record, "x:taetigkeitenGesamt/x:schwerpunkt/x:taetigkeitSchluessel"),
        "activity": text(record, "x:taetigkeitenGesamt/x:schwerpunkt/x:taetigkeitSchwerpunkt"),
        "niederlassung": back("niederlassungArt", code(gewerbe, "x:niederlassungArt")),
        "postcode": text(gewerbe, "x:anschrift/x:plz"),
        "event_date": text(record, "x:gueltigAb"),
    }
    for name, element in (("nebenerwerb", "istNebenerwerb"), ("reisegewerbe", "istReisegewerbe")):
        value = code(gewerbe, f"x:{element}")
        answers[name] = None if value is None else value == "1"
    for flag in ("industrie", "handwerk", "handel", "sonstiges"):
        value = code(gewerbe, f"x:betriebArt/x:{flag}")
        answers[flag] = None if value is None else value == "1"
    for name, element in (("vollzeit", "anzahlVollzeitBeschaeftigte"), ("teilzeit", "anzahlTeilzeitBeschaeftigte")):
        value = text(gewerbe, f"x:{element}")
        answers[name] = int(value) if value is not None else None
    numeric_to_alpha = {n: c for c in countries.codes() if (n := _state_code(c))}
    answers["personen"] = [{
        "funktion": back("personFunktion", code(p, "x:personFunktion")),
        "familienname": text(p, "x:familienname"), "vornamen": text(p, "x:vorname"),
        "geburtsdatum": text(p, "x:geburtsdatum"),
        "staatsangehoerigkeiten": [numeric_to_alpha.get(n.text or "") for n in
                                   p.findall("x:staatangehoerigkeiten/x:staatsangehoerigkeitSchluessel/code", ns)],
        "anschrift": {"plz": text(p, "x:anschrift/x:plz"), "ort": text(p, "x:anschrift/x:ort"),
                      "staat": numeric_to_alpha.get(code(p, "x:anschrift/x:nationSchluessel") or "")},
        "aufenthaltstitel": status(p.find("x:aufenthaltstitel", ns)),
        "erreichbarkeit": {back("kanal", code(r, "x:kanal")): text(r, "x:kennung")
                           for r in p.findall("x:erreichbarkeit", ns)},
    } for p in gewerbe.findall("x:beteiligtePerson", ns)]
    return answers
