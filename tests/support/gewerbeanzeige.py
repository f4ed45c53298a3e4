"""GewA 1, 2 and 3 filings with every numbered field of the official forms answered (tests of the
forms' order and choices, of moves within and across municipalities)."""

from __future__ import annotations

from tests.support.filing import GESCHAEFTSFUEHRERIN, EveryStep, gewerbe_answers

PREMISES = {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"}


def _address(name: str, street: str, postcode: str, city: str) -> dict[str, str]:
    return {f"{name}-street": street, f"{name}-postcode": postcode, f"{name}-city": city}


#: a branch (16) reopened after a move (17), with a permit (28) and a craft card (29)
ANMELDUNG = gewerbe_answers(
    geschaeftsbezeichnung="Becker Elektro", niederlassung="zweigniederlassung",
    **_address("hauptniederlassung", "Hauptstraße 1", "28195", "Bremen"),
    grund="wiedereroeffnung", **_address("fruehere_betriebsstaette", "Marktplatz 3", "27568", "Bremerhaven"),
    bisheriger_uv_traeger="BG ETEM", erlaubnispflichtig="yes", erlaubnis_datum="2026-01-15",
    erlaubnis_behoerde="Stadtamt Bremen", handwerkskarte_vorhanden="yes", handwerkskarte_datum="2026-02-01",
    handwerkskarte_kammer="Handwerkskammer Bremen")

_OWNER = {"inhaber_art": "juristische_person", "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH",
          "registereintrag": "yes", "handelsregisternummer": "Bremen HRB 12345",
          "geschaeftsbezeichnung": "Becker Elektro",
          **GESCHAEFTSFUEHRERIN, "zahl_vertreter": "1", "oeffentliche_hand": "nein",
          **_address("betriebsanschrift", *PREMISES.values()), "reisegewerbe": "no", "wz2008": "43.21.0",
          "handwerk": "yes", "industrie": "no", "handel": "no", "sonstiges": "no", "vollzeit": "2", "teilzeit": "0",
          **_address("hauptniederlassung", "Hauptstraße 1", "28195", "Bremen")}

#: a change of activity (18, 19) of a branch (16), other reasons (20), the date (21), permit and card
UMMELDUNG = EveryStep({
    **_OWNER, "niederlassung": "zweigniederlassung", "grund": "wechsel", "taetigkeit_bisher": "Elektrohandel",
    "taetigkeit_neu": "Elektroinstallation", "taetigkeit": "Elektroinstallation und Elektrohandel", "nebenerwerb": "no",
    "sonstige_gruende": "Aufgabe des Ladengeschäfts", "aenderung_datum": "2027-03-01", "erlaubnispflichtig": "yes",
    "erlaubnis_datum": "2026-01-15", "erlaubnis_behoerde": "Stadtamt Bremen",
    "handwerk_bezeichnung": "Elektrotechniker",
    "handwerkskarte_vorhanden": "yes", "handwerkskarte_datum": "2026-02-01",
    "handwerkskarte_kammer": "Handwerkskammer Bremen"})

#: a branch (16) moved to another district (17), the closing date (20) after the activity (18, 19)
ABMELDUNG = EveryStep({
    **_OWNER, "abmeldung_betrifft": "zweigniederlassung", "taetigkeit": "Elektroinstallation", "nebenerwerb": "no",
    "abmeldung_datum": "2027-06-30", "grund": "verlegung",
    **_address("neue_anschrift", "Bahnhofstraße 7", "20095", "Hamburg")})

CASES = {"gewerbeanmeldung": ANMELDUNG, "gewerbeummeldung": UMMELDUNG, "gewerbeabmeldung": ABMELDUNG}
