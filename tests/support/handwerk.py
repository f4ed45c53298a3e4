"""The Handwerksrolle's Betriebsleitung and qualification (docs/gewerbeanzeige.md, "The Handwerkskammer
Hamburg form"), as a browser posts them: the manager's person, position and address, and the
particulars of the legal route of § 7 HwO the entry rests on."""

from __future__ import annotations

from tests.support import permits
from tests.support.filing import EveryStep
from tests.support.pdfs import minimal_pdf


def betriebsleitung(stellung: str, family_name: str, given_names: str, birth_date: str, birth_place: str, *,
                    staatsangehoerigkeit: str = "DE", geschlecht: str = "weiblich",
                    anschrift: tuple[str, str, str] = ("Parkallee 5", "28209", "Bremen"),
                    nur_hier: bool = True) -> dict[str, str]:
    """The step "Betriebsleitung": who manages the business technically, in which position."""
    street, postcode, city = anschrift
    return {"betriebsleiter_stellung": stellung, "betriebsleiter-family_name": family_name,
            "betriebsleiter-given_names": given_names, "betriebsleiter-birth_date": birth_date,
            "betriebsleiter-birth_place": birth_place, "betriebsleiter_geschlecht": geschlecht,
            "betriebsleiter_staatsangehoerigkeit": staatsangehoerigkeit,
            "betriebsleiter_anschrift-street": street, "betriebsleiter_anschrift-postcode": postcode,
            "betriebsleiter_anschrift-city": city, "betriebsleiter_nur_hier": "yes" if nur_hier else "no"}


#: the owner herself, a master electrician (Anna Becker, managing director of Becker Elektrotechnik GmbH)
BECKER_LEITET = betriebsleitung("geschaeftsfuehrer", "Becker", "Anna", "1980-05-17", "Bremen")

#: the particulars of a Meisterprüfung (Anlage D Abschnitt I Nr. 1 Buchst. e HwO: kind, place, date, body)
MEISTERPRUEFUNG = {"qualification": "meisterpruefung",
                   "pruefung_art": "Meisterprüfung im Elektrotechniker-Handwerk", "pruefung_datum": "2009-06-26",
                   "pruefung_stelle": "Meisterprüfungsausschuss der Handwerkskammer Bremen",
                   "pruefung_ort": "Bremen"}

#: an exemption permit for an EU national (§ 9 Abs. 1 HwO with the EU/EWR-Handwerk-Verordnung)
EU_EWR = {"qualification": "eu_ewr", "bescheid_behoerde": "Handwerkskammer Hamburg", "bescheid_datum": "2026-10-05",
          "bescheid_umfang": "Elektrotechniker-Handwerk", "herkunftsstaat": "PL"}


# --- the Handwerkskammer Hamburg form of both services (tests/test_handwerk_hwk_form.py and others) ---

ROLLE, VERZEICHNIS = "handwerksrolle-eintragung", "handwerk-verzeichnis-eintragung"
PDF = (minimal_pdf("nachweis"), "Nachweis.pdf")
FILES = {"qualifikationsnachweis": PDF, "gewerbeanmeldung": PDF, "arbeitsvertrag": PDF}


def answers(**changes) -> EveryStep:
    """A new electrician's business in Bremen, no branches, manager employed only here."""
    every = EveryStep({
        "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH", "street": "Am Wall 120",
        "postcode": "28195", "city": "Bremen", "trade": "elektrotechniker", **MEISTERPRUEFUNG,
        **betriebsleitung("angestellt", "Petersen", "Klaus", "1969-11-02", "Lüneburg"),
        "betriebsleiter_wochenstunden": "40", "start_date": "2027-03-01", "gruendungsart": "neugruendung",
        "registereintrag": "yes",
        "betriebsanschrift-street": "Am Wall 120", "betriebsanschrift-postcode": "28195",
        "betriebsanschrift-city": "Bremen", "inhaber-family_name": "Becker", "inhaber-given_names": "Anna",
        "inhaber-birth_date": "1978-03-14", "email": "anna@becker.example", "anlage": "b1",
        "gewerbe": "Gebäudereiniger", "taetigkeit": "Fassadenreinigung", "beginn": "2027-03-01",
        "existenzgruender": "yes", "filialen": "no",
        "berufsausbildung": ["meisterbrief"], "fruehere_selbstaendigkeit": "no",
        "einwilligung_weitergabe": "no", "einwilligung_suchmaschine": "yes", "einwilligung_handwerktest": "no",
        "keine_gewerbeuntersagung": "yes"})
    every.update(changes)
    return every


def to_step(client, service: str, every: EveryStep, step: str) -> str:
    return permits.to_step(client, service, every, step, files=FILES)
