"""Every shipped service, filed end to end over HTTP by a demo company with realistic data.

Each case logs in, fills the steps the portal shows (the helper checks their order, so a
conditional step that appears or disappears unexpectedly fails the case), uploads the documents
the definition asks for, submits, and checks the filing, its attachments and the chambers it was
routed to, read from the outbox. Services with conditional steps or routing have a case for each
branch; ``test_every_service_and_branch_is_covered`` keeps it that way when definitions change.

The demo accounts are an electrical contractor in Bremen (Becker Elektrotechnik GmbH) and an
insurance broker in Hamburg (Hansen Versicherungsmakler e. K.); where a service does not fit
either trade exactly, the answers are still a consistent business case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bizportal.catalog.loader import load_catalog
from bizportal.delivery.models import Delivery
from bizportal.demo import CHAMBERS
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.filing import PERMIT_DECLARATIONS, angaben_zur_person, file_service
from tests.support.handwerk import BECKER_LEITET, EU_EWR, MEISTERPRUEFUNG, betriebsleitung
from tests.support.pdfs import minimal_pdf

PDF = minimal_pdf()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 64 + b"\xff\xd9"


def pdf(name: str) -> tuple[bytes, str]:
    return PDF, name


def png(name: str) -> tuple[bytes, str]:
    return PNG, name


def jpeg(name: str) -> tuple[bytes, str]:
    return JPEG, name


# --- compound fields as a browser posts them ----------------------------------------------------

def address(name: str, street: str, postcode: str, city: str) -> dict[str, str]:
    return {f"{name}-street": street, f"{name}-postcode": postcode, f"{name}-city": city}


def person(name: str, family_name: str, given_names: str, birth_date: str, birth_place: str,
           nationality: str = "deutsch") -> dict[str, str]:
    return {f"{name}-family_name": family_name, f"{name}-given_names": given_names,
            f"{name}-birth_date": birth_date, f"{name}-birth_place": birth_place,
            f"{name}-nationality": nationality}


def group(name: str, *entries: dict[str, str]) -> dict[str, str]:
    return {f"{name}-{i}-{sub}": value for i, entry in enumerate(entries) for sub, value in entry.items()}


# --- the two demo companies and the places they work --------------------------------------------

BECKER = {"business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH"}
BECKER_SITZ = ("Am Wall 120", "28195", "Bremen")
BECKER_HRB = "Bremen HRB 12345"
BECKER_HAMBURG = ("Schloßmühlendamm 4", "21073", "Hamburg")  # branch in Hamburg-Harburg
BREMERHAVEN = ("Bürgermeister-Smidt-Straße 150", "27568", "Bremerhaven")
HANSEN = {"business_name": "Hansen Versicherungsmakler e. K.", "legal_form": "e. K."}
HANSEN_SITZ = ("Große Elbstraße 14", "22767", "Hamburg")
HANSEN_HRA = "Hamburg HRA 98765"
#: Lea Hansen trading under her own name, not entered in a register (GewA field 2 stays empty)
LEA_SOLE_TRADER = {"business_name": "Lea Hansen Versicherungsmaklerin", "legal_form": "Einzelunternehmen"}

ANNA = ("Becker", "Anna", "1978-03-14", "Bremen")
JONAS = ("Weber", "Jonas", "1986-09-02", "Oldenburg (Oldb)")
LEA = ("Hansen", "Lea", "1984-08-08", "Kiel")
ANNA_WOHNUNG = ("Parkallee 12", "28209", "Bremen")
JONAS_WOHNUNG = ("Lange Straße 37", "27580", "Bremerhaven")
LEA_WOHNUNG = ("Elbchaussee 112", "22763", "Hamburg")
DECLARATIONS = ("strafverfahren", "bussgeldverfahren", "untersagungsverfahren", "vermoegensauskunft", "insolvenz")
CO_MANAGING_DIRECTOR = {"family_name": "Kowalski", "given_names": "Piotr", "birth_date": "1975-06-30",
                        "birth_place": "Gdańsk", "geburtsname": "",
                        "geschlecht": "maennlich", "staatsangehoerigkeit": "PL",
                        "fruehere_wohnorte": "Gdańsk, Polen, 01/2020 – 05/2022",
                        "leitende_taetigkeiten": "Geschäftsführer der Kowalski Instalacje sp. z o.o., Gdańsk, "
                                                 "01/2018 – 04/2022",
                        **{d: "no" for d in DECLARATIONS},
                        "insolvenz": "yes",
                        "insolvenz_angaben": "Insolvenzantrag der Kowalski Instalacje sp. z o.o. beim Amtsgericht "
                                             "Gdańsk im März 2022, Verfahren 2023 aufgehoben",
                        # a browser without JavaScript also posts the particulars of a "no": not filed
                        "strafverfahren_angaben": "nichts"}
#: the entry as filed: yes/no as booleans, particulars only after a "yes", an empty optional answer as None
CO_MANAGING_DIRECTOR_FILED = {**CO_MANAGING_DIRECTOR, "geburtsname": None, **{d: False for d in DECLARATIONS},
                              **{f"{d}_angaben": None for d in DECLARATIONS}, "insolvenz": True,
                              "insolvenz_angaben": CO_MANAGING_DIRECTOR["insolvenz_angaben"]}
#: § 34c, § 34a and the GastG ask every representative's home address, as the applicant's (the forms' "Angaben
#: zur Person"); it may lie abroad, so it is filed with its state
KOWALSKI_WOHNUNG = {"street": "Hoheluftchaussee 58", "postcode": "20253", "city": "Hamburg"}
KOWALSKI_WOHNUNG_FILED = {**KOWALSKI_WOHNUNG, "country": "DE"}


#: part 1 of the permit forms: Anna has lived and managed elsewhere and answers every declaration "yes"
ANNA_WOHNORTE = (("Hannover", "DE", "02/2021 – 06/2023"),)
ANNA_TAETIGKEITEN = (("Becker Elektrotechnik GmbH, Bremen", "geschaeftsfuehrung", "seit 01/2019"),
                     ("Becker & Sohn GbR, Bremen", "gesellschafter", "01/2019 – 12/2022"))
ALL_PARTICULARS = {
    "strafverfahren": "Ermittlungsverfahren der Staatsanwaltschaft Bremen, Az. 610 Js 12345/26, wegen "
                      "fahrlässiger Körperverletzung nach einem Arbeitsunfall auf einer Baustelle",
    "bussgeldverfahren": "Gewerbeamt Bremen, Az. OWi 2026/778, verspätete Gewerbeummeldung",
    "untersagungsverfahren": "Anhörung des Gewerbeamts Bremen vom 02.11.2026 zu Steuerrückständen, Az. GU 44/26",
    "vermoegensauskunft": "Vermögensauskunft vor dem Gerichtsvollzieher beim Amtsgericht Bremen am 14.05.2024, "
                          "Az. DR II 889/24",
    "insolvenz": "Insolvenzantrag über das Vermögen der Becker & Sohn GbR beim Amtsgericht Bremen, Az. 505 IN 12/22, "
                 "2023 mangels Masse abgewiesen",
}
#: the same answers as filed
ANNA_FILED = {"geschlecht": "weiblich", "staatsangehoerigkeit": "DE",
              "fruehere_wohnorte": [{"ort": "Hannover", "staat": "DE", "zeitraum": "02/2021 – 06/2023"}],
              "leitende_taetigkeiten": [{"unternehmen": u, "funktion": f, "zeitraum": z}
                                        for u, f, z in ANNA_TAETIGKEITEN],
              **{d: True for d in PERMIT_DECLARATIONS}, **{f"{d}_angaben": v for d, v in ALL_PARTICULARS.items()}}
#: Lea: always lived in Hamburg, no other management position, "no" to every declaration
LEA_FILED = {"geschlecht": "weiblich", "staatsangehoerigkeit": "DE", "fruehere_wohnorte": [],
             "leitende_taetigkeiten": [], **{d: False for d in PERMIT_DECLARATIONS}}
NO_PARTICULARS = tuple(f"{d}_angaben" for d in PERMIT_DECLARATIONS)


# --- answer builders, one per service: step key → the answers posted on that step ----------------

def gewa_person(funktion: str, family_name: str, given_names: str, birth_date: str, birth_place: str,
               home: tuple[str, str, str], nationality: str = "DE", **extra: str) -> dict[str, str]:
    """One entry of the GewA persons group (fields 3 to 9, 25)."""
    street, postcode, city = home
    return {"funktion": funktion, "familienname": family_name, "vornamen": given_names, "geschlecht": "weiblich",
            "geburtsdatum": birth_date, "geburtsort": birth_place, "geburtsland": nationality,
            "staatsangehoerigkeit": nationality, **address("anschrift", street, postcode, city), **extra}


def betrieb(inhaber_art: str) -> dict[str, str]:
    """GewA fields 12 and 13 (number of managing partners or legal representatives; public share)."""
    return {"oeffentliche_hand": "nein", **({} if inhaber_art == "natuerliche_person" else {"zahl_vertreter": "1"})}


def gewerbeanmeldung(company: dict, place: tuple[str, str, str], activity: str, start: str, handwerk: str,
                     persons: list[dict[str, str]], wz: str, *, niederlassung: str = "hauptniederlassung",
                     grund: str = "neugruendung", erlaubnis: bool = False, handwerkskarte: bool = False,
                     register: str = "", inhaber_art: str = "juristische_person") -> dict[str, dict]:
    """GewA 1 step by step; the conditional steps appear as the answers call for them."""
    street, postcode, city = place
    steps: dict[str, dict] = {
        "inhaber": {"inhaber_art": inhaber_art, **company, "handelsregisternummer": register},
        "personen": group("personen", *persons),
        "betrieb": betrieb(inhaber_art),
        "betriebsstaette": {"street": street, "postcode": postcode, "city": city},
    }
    steps["taetigkeit"] = {"activity": activity, "nebenerwerb": "no", "start_date": start}
    steps["wz"] = {"wz2008": wz}
    steps["betriebsart"] = {"handwerk": handwerk, "industrie": "no", "handel": "yes" if handwerk == "no" else "no",
                            "sonstiges": "no"}
    steps["beschaeftigte"] = {"vollzeit": "4", "teilzeit": "2"}
    steps["niederlassung"] = {"niederlassung": niederlassung}  # field 23 after 22, as on the form
    if niederlassung in ("zweigniederlassung", "zweigstelle"):  # field 16, asked once 23 says it is a branch
        steps["hauptniederlassung"] = address("hauptniederlassung", *BECKER_SITZ)
    steps["grund"] = {"grund": grund}
    if grund in ("erbfolge", "kauf", "pacht"):
        steps["vorinhaber"] = {"frueherer_inhaber": "Elektro Meyer e. K."}
    if grund != "neugruendung":  # field 27: the accident insurance so far, "nicht bekannt" when left empty
        steps["unfallversicherung"] = ({"bisheriger_uv_traeger": "BG Energie Textil Elektro Medienerzeugnisse",
                                        "bisherige_unternehmensnummer": "123456789012345"}
                                       if grund in ("erbfolge", "kauf", "pacht") else {})
    if grund == "wiedereroeffnung":
        steps["verlegung"] = address("fruehere_betriebsstaette", "Holstenstraße 88", "24103", "Kiel")
    steps["erlaubnis"] = {"erlaubnispflichtig": "yes" if erlaubnis else "no"}
    if erlaubnis:
        steps["erlaubnis_angaben"] = {"erlaubnis_datum": "2026-11-02", "erlaubnis_behoerde": "Handelskammer Hamburg"}
    if handwerk == "yes":
        steps["handwerk_angaben"] = {"handwerkskarte_vorhanden": "yes" if handwerkskarte else "no"}
        if handwerkskarte:
            steps["handwerkskarte_angaben"] = {"handwerkskarte_datum": "2026-12-01",
                                               "handwerkskarte_kammer": "Handwerkskammer Bremen"}
    return steps


def gewerbeummeldung_relocation_of_crafts_business() -> dict[str, dict]:
    """GewA 2: the GmbH moves within Bremen; a crafts business with its craft card."""
    return {
        "inhaber": {"inhaber_art": "juristische_person", **BECKER, "handelsregisternummer": BECKER_HRB},
        "personen": group("personen", gewa_person("vertreter", *ANNA, ANNA_WOHNUNG)),
        "betrieb": betrieb("juristische_person"),
        "betriebsstaette": {**address("betriebsanschrift", *BECKER_SITZ), "betrieb_telefon": "0421 3378890"},
        "grund": {"grund": "verlegung"},
        "verlegung": address("neue_anschrift", "Hastedter Heerstraße 285", "28207", "Bremen"),
        "taetigkeit": {"taetigkeit": "Elektroinstallation in Wohn- und Gewerbebauten, Errichtung von "
                                     "Photovoltaikanlagen und Ladeinfrastruktur", "nebenerwerb": "no",
                       "aenderung_datum": "2027-01-01"},
        "wz": {"wz2008": "43.21.0"},
        "betriebsart": {"handwerk": "yes", "industrie": "no", "handel": "no", "sonstiges": "no"},
        "beschaeftigte": {"vollzeit": "12", "teilzeit": "2"},
        "niederlassung": {"niederlassung": "hauptniederlassung"},
        "erlaubnis": {"erlaubnispflichtig": "no"},
        "handwerk_angaben": {"handwerk_bezeichnung": "Elektrotechniker", "handwerkskarte_vorhanden": "yes"},
        "handwerkskarte_angaben": {"handwerkskarte_datum": "2019-03-01",
                                   "handwerkskarte_kammer": "Handwerkskammer Bremen"},
        "unterlagen": {},
    }


def gewerbeummeldung_extension_of_brokerage() -> dict[str, dict]:
    """GewA 2: the broker extends her activity to financial investments (a new permit)."""
    return {
        "inhaber": {"inhaber_art": "natuerliche_person", **LEA_SOLE_TRADER, "handelsregisternummer": ""},
        "personen": group("personen", gewa_person("inhaber", *LEA, LEA_WOHNUNG)),
        "betrieb": betrieb("natuerliche_person"),
        "betriebsstaette": address("betriebsanschrift", *HANSEN_SITZ),
        "grund": {"grund": "ausdehnung"},
        "bisherige_taetigkeit": {"taetigkeit_bisher": "Versicherungsvermittlung als Versicherungsmaklerin "
                                                      "(§ 34d Abs. 1 GewO)"},
        "taetigkeit": {"taetigkeit_neu": "Vermittlung von Finanzanlagen (§ 34f Abs. 1 GewO)",
                       "taetigkeit": "Versicherungsvermittlung als Versicherungsmaklerin (§ 34d Abs. 1 GewO) und "
                                     "Vermittlung von Finanzanlagen (§ 34f Abs. 1 GewO)", "nebenerwerb": "no",
                       "aenderung_datum": "2027-02-01"},
        "wz": {"wz2008": "66.22.0"},
        "betriebsart": {"handwerk": "no", "industrie": "no", "handel": "no", "sonstiges": "yes"},
        "beschaeftigte": {"vollzeit": "2", "teilzeit": "1"},
        "niederlassung": {"niederlassung": "hauptniederlassung"},
        "erlaubnis": {"erlaubnispflichtig": "yes"},
        "erlaubnis_angaben": {"erlaubnis_datum": "2026-11-16", "erlaubnis_behoerde": "Handelskammer Hamburg"},
        "unterlagen": {},
    }


def gewerbeabmeldung_closing_crafts_branch() -> dict[str, dict]:
    """GewA 3: the GmbH closes its dependent branch office in Bremerhaven for another reason than
    those listed in field 28 (its work moves to the head office), named on the form's free line."""
    return {
        "inhaber": {"inhaber_art": "juristische_person", **BECKER, "handelsregisternummer": BECKER_HRB},
        "personen": group("personen", gewa_person("vertreter", *ANNA, ANNA_WOHNUNG)),
        "betrieb": betrieb("juristische_person"),
        "betriebsstaette": address("betriebsanschrift", *BREMERHAVEN),
        "taetigkeit": {"taetigkeit": "Elektroinstallation", "nebenerwerb": "no", "abmeldung_datum": "2026-12-31"},
        "wz": {"wz2008": "43.21.0"},
        "betriebsart": {"handwerk": "yes", "industrie": "no", "handel": "no", "sonstiges": "no"},
        "beschaeftigte": {"vollzeit": "2", "teilzeit": "0"},
        "niederlassung": {"abmeldung_betrifft": "zweigstelle"},
        "hauptniederlassung": address("hauptniederlassung", *BECKER_SITZ),
        "abmeldung": {"grund": "aufgabe"},
        "aufgabe": {"aufgabe_ursache": "sonstiges"},
        "aufgabe_sonstige": {"aufgabe_ursache_sonstige": "Die Arbeiten übernimmt die Hauptniederlassung in Bremen"},
        "unterlagen": {},
    }


def gewerbeabmeldung_handing_over_brokerage() -> dict[str, dict]:
    """GewA 3: the broker sells her whole business, a sole trader without a register entry (field 2
    stays empty); the buyer is named."""
    return {
        "inhaber": {"inhaber_art": "natuerliche_person", **LEA_SOLE_TRADER, "handelsregisternummer": ""},
        "personen": group("personen", gewa_person("inhaber", *LEA, LEA_WOHNUNG)),
        "betrieb": betrieb("natuerliche_person"),
        "betriebsstaette": address("betriebsanschrift", *HANSEN_SITZ),
        "taetigkeit": {"taetigkeit": "Versicherungsvermittlung als Versicherungsmaklerin", "nebenerwerb": "no",
                       "abmeldung_datum": "2027-06-30"},
        "wz": {"wz2008": "66.22.0"},
        "betriebsart": {"handwerk": "no", "industrie": "no", "handel": "no", "sonstiges": "yes"},
        "beschaeftigte": {"vollzeit": "2", "teilzeit": "1"},
        "niederlassung": {"abmeldung_betrifft": "hauptniederlassung"},
        "abmeldung": {"grund": "uebergabe"},
        "nachfolge": {"nachfolge_name": "Nordlicht Assekuranzmakler GmbH",
                      **address("nachfolge_anschrift", "Ballindamm 3", "20095", "Hamburg")},
        "unterlagen": {},
    }


def gewerbeummeldung_name_of_hamburg_branch() -> dict[str, dict]:
    """GewA 2: the GmbH's branch in Hamburg-Harburg notifies the company's new name."""
    steps = gewerbeummeldung_relocation_of_crafts_business()
    steps["inhaber"] = {"inhaber_art": "juristische_person", "business_name": "Becker Elektro- und Solartechnik GmbH",
                        "legal_form": "GmbH", "handelsregisternummer": BECKER_HRB}
    steps["betriebsstaette"] = address("betriebsanschrift", *BECKER_HAMBURG)
    steps["niederlassung"] = {"niederlassung": "zweigniederlassung"}
    steps["taetigkeit"] = {**steps["taetigkeit"], "aenderung_datum": "2027-03-01"}
    steps = {**{k: v for k, v in steps.items() if k in ("inhaber", "personen", "betrieb", "betriebsstaette")},
             "grund": {"grund": "name"},
             "bisheriger_name": {"frueherer_name": "Becker Elektrotechnik GmbH"},
             **{k: v for k, v in steps.items() if k in ("taetigkeit", "wz", "betriebsart", "beschaeftigte",
                                                        "niederlassung")},
             "hauptniederlassung": address("hauptniederlassung", *BECKER_SITZ),
             "erlaubnis": {"erlaubnispflichtig": "no"},
             "handwerk_angaben": {"handwerk_bezeichnung": "Elektrotechniker", "handwerkskarte_vorhanden": "no"},
             "unterlagen": {}}
    return steps


def gewerbeummeldung_legal_form_of_partnership() -> dict[str, dict]:
    """GewA 2: the broker's business, run as a GbR so far, is entered as an OHG."""
    steps = gewerbeummeldung_extension_of_brokerage()
    steps["inhaber"] = {"inhaber_art": "personengesellschaft", "business_name": "Hansen & Petersen OHG",
                        "legal_form": "OHG", "handelsregisternummer": "Hamburg HRA 120001"}
    del steps["bisherige_taetigkeit"], steps["erlaubnis_angaben"], steps["taetigkeit"]["taetigkeit_neu"]
    steps["betrieb"] = betrieb("personengesellschaft")
    steps["personen"] = group("personen", gewa_person("gesellschafter", *LEA, LEA_WOHNUNG))  # an OHG has no owner
    steps["grund"] = {"grund": "rechtsform"}
    steps["taetigkeit"]["aenderung_datum"] = "2027-04-01"
    steps["erlaubnis"] = {"erlaubnispflichtig": "no"}
    order = ["inhaber", "personen", "betrieb", "betriebsstaette", "grund"]
    return {**{k: steps[k] for k in order}, "bisherige_rechtsform": {"fruehere_rechtsform": "GbR"},
            **{k: v for k, v in steps.items() if k not in order}}


def gewerbeabmeldung_moving_to_another_district() -> dict[str, dict]:
    """GewA 3: the broker moves her business from Hamburg to Elmshorn and names the future premises
    (outside the area of Gewerbeamt Hamburg: a move within it is a Gewerbeummeldung)."""
    steps = gewerbeabmeldung_handing_over_brokerage()
    del steps["nachfolge"]
    steps["taetigkeit"]["abmeldung_datum"] = "2027-05-31"
    steps["abmeldung"] = {"grund": "verlegung"}
    unterlagen = steps.pop("unterlagen")
    return {**steps, "verlegung": address("neue_anschrift", "Bahnhofstraße 1", "25335", "Elmshorn"),
            "unterlagen": unterlagen}


def ausbildungsvertrag(company: dict, place: tuple[str, str, str], crafts: bool, trainer: str, phone: str,
                       trainee: dict, minor: bool, training: dict, pay: dict) -> dict[str, dict]:
    """The apprenticeship steps; the follow-on, guardians and shortening steps appear as the answers call for them
    (the guardians' for a ``minor``: under 18 at the start, as the portal reads it from the birth date and
    the start of the training, after the training's step)."""
    steps = {
        "betrieb": {"business_name": company["business_name"], **address("betriebsanschrift", *place),
                    "handwerksbetrieb": "yes" if crafts else "no", "ausbilder": trainer,
                    "ausbilder_geschlecht": "weiblich" if trainer.split()[0] in ("Anna", "Lea") else "maennlich",
                    "ausbilder_eignung": "meisterpruefung" if crafts else "abschluss_aevo", "telefon": phone,
                    "ausbildende_email": "ausbildung@" + company["business_name"].split()[0].lower() + ".example",
                    "betriebsnummer": "", "oeffentlicher_dienst": "no"},
        "auszubildende": trainee,
    }
    if trainee.get("anschlussvertrag") == "yes":
        steps["anschluss"] = {"anschluss_beruf": "Verkäufer/-in"}
    steps["ausbildung"] = training
    if minor:
        parents = [{"family_name": "Yılmaz", "given_names": given, "anschrift_wie_auszubildende": "no",
                    "street": "Vahrer Straße 112", "postcode": "28329", "city": "Bremen"}
                   for given in ("Ayşe", "Murat")]
        steps["vertreter"] = group("gesetzliche_vertreter", *parents)
    if training["verkuerzung"] == "yes":
        steps["verkuerzung_angaben"] = {"verkuerzung_monate": "12", "verkuerzung_grund": "schulabschluss"}
    return {**steps, "verguetung": pay, "unterlagen": {}}


#: § 34 Abs. 2 Nr. 2 BBiG: no previous training, studies or pre-vocational course, no follow-on contract
NO_PRIOR_TRAINING = {"berufsvorbereitung": "no", "vorherige_berufsausbildung": "keine", "vorheriges_studium": "keines",
                     "anschlussvertrag": "no"}
#: § 34 Abs. 2 Nr. 5, 6, 9 and § 11 Abs. 1 Nr. 4, 11 BBiG: a full-time training under a collective agreement
FULL_TIME_UNDER_AGREEMENT = {"duales_studium": "no", "teilzeitausbildung": "no", "tarifvertrag": "yes",
                             "tarifvertrag_hinweis": "", "foerderung": "keine", "massnahmen_ausserhalb": ""}


def pay(*per_year: int, hours: str = "39") -> dict[str, str]:
    """The pay step: the allowance of each training year, training time and holidays."""
    keys = ("verguetung_erstes_jahr", "verguetung_zweites_jahr", "verguetung_drittes_jahr", "verguetung_viertes_jahr")
    return {**{k: str(v) for k, v in zip(keys, per_year, strict=False)},
            "ausbildungszeit_taeglich": "8", "ausbildungszeit_woche": hours, "urlaubstage": "30"}


MINOR_ELECTRONICS_TRAINEE = {
    **person("auszubildende_person", "Yılmaz", "Emre", "2010-05-09", "Bremen"),
    **address("auszubildende_anschrift", "Vahrer Straße 112", "28329", "Bremen"),
    "schulabschluss": "mittlerer", "auszubildende_geschlecht": "maennlich", "auszubildende_email": "",
    **NO_PRIOR_TRAINING,
}
ELECTRONICS_TRAINING = {
    "ausbildungsberuf": "elektroniker", "beruf_sonstiger": "Elektroniker/-in – Energie- und Gebäudetechnik",
    "vertragsschluss": "2026-11-20", "beginn": "2027-08-01", "ende": "2031-01-31", "ausbildungsdauer": "ueber_36",
    "probezeit_monate": "4", "verkuerzung": "no", **FULL_TIME_UNDER_AGREEMENT,
}
ADULT_OFFICE_TRAINEE = {
    **person("auszubildende_person", "Lange", "Sophie", "2004-12-03", "Delmenhorst"),
    **address("auszubildende_anschrift", "Friedrich-Ebert-Straße 48", "28199", "Bremen"),
    "schulabschluss": "fachhochschulreife", "auszubildende_geschlecht": "weiblich",
    "auszubildende_email": "sophie.lange@mail.example", **NO_PRIOR_TRAINING,
}
OFFICE_TRAINING = {
    "ausbildungsberuf": "kaufmann-bueromanagement", "beruf_sonstiger": "",
    "vertragsschluss": "2026-11-24", "beginn": "2027-08-01", "ende": "2030-07-31", "ausbildungsdauer": "bis_36",
    "probezeit_monate": "3", "verkuerzung": "no", **FULL_TIME_UNDER_AGREEMENT,
}
ADULT_INSURANCE_TRAINEE = {
    **person("auszubildende_person", "Schröder", "Marie", "2006-02-17", "Hamburg"),
    **address("auszubildende_anschrift", "Eppendorfer Weg 211", "20253", "Hamburg"),
    "schulabschluss": "hochschulreife", "auszubildende_geschlecht": "weiblich", "auszubildende_email": "",
    **NO_PRIOR_TRAINING, "vorherige_berufsausbildung": "abgeschlossen", "anschlussvertrag": "yes",
}
SHORTENED_INSURANCE_TRAINING = {
    "ausbildungsberuf": "anderer", "beruf_sonstiger": "Kaufmann/Kauffrau für Versicherungen und Finanzanlagen",
    "vertragsschluss": "2026-11-16", "beginn": "2027-08-01", "ende": "2029-07-31", "ausbildungsdauer": "bis_24",
    "probezeit_monate": "3", "verkuerzung": "yes", **FULL_TIME_UNDER_AGREEMENT,
}


def ausnahmebewilligung_takeover_restricted() -> dict[str, dict]:
    """A journeyman takes over the technical management after the master craftsman died."""
    return {
        "personen": {**person("antragsteller", *JONAS), **address("wohnanschrift", *JONAS_WOHNUNG),
                     "email": "jonas.weber@becker-elektro.example", "telefon": "0171 4455667"},
        "betrieb": {"business_name": BECKER["business_name"], **address("betriebsanschrift", *BECKER_SITZ),
                    "handwerk": "elektrotechniker", "handwerk_sonstiges": "", "beginn": "2027-04-01"},
        "ausnahmegrund": {
            "ausnahmegrund": "betriebsuebernahme",
            "begruendung": "Der bisherige technische Betriebsleiter, Elektrotechnikermeister Horst Becker, ist im "
                           "Oktober 2026 unerwartet verstorben. Ohne Betriebsleitung müsste der Betrieb mit "
                           "14 Beschäftigten die Arbeit einstellen; der Meisterkurs beginnt frühestens im Herbst 2027.",
            "befristet": "yes", "beschraenkt": "yes",
        },
        "teiltaetigkeiten": {"teiltaetigkeiten": "Elektroinstallation in Wohn- und Gewerbegebäuden einschließlich "
                                                 "Photovoltaikanlagen und Ladeeinrichtungen für Elektrofahrzeuge"},
        "qualifikation": {"gesellenpruefung": "yes", "berufsjahre": "17", "leitende_jahre": "8",
                          "werdegang": "2003–2006 Ausbildung zum Elektroniker für Energie- und Gebäudetechnik, "
                                       "seit 2009 bei Becker Elektrotechnik, seit 2018 Obergeselle und Bauleiter; "
                                       "Teile III und IV der Meisterprüfung 2024 bestanden."},
        "unterlagen": {},
    }


def ausnahmebewilligung_age_hamburg_branch() -> dict[str, dict]:
    """An experienced foreman of 59 is to lead the Hamburg branch; he lives outside Bremen and Hamburg."""
    return {
        "personen": {**person("antragsteller", "Petersen", "Klaus", "1967-11-23", "Cuxhaven"),
                     **address("wohnanschrift", "Bahnhofstraße 12", "21614", "Buxtehude"),
                     "email": "k.petersen@becker-elektro.example", "telefon": "04161 555123"},
        "betrieb": {"business_name": "Becker Elektrotechnik GmbH, Zweigniederlassung Hamburg",
                    **address("betriebsanschrift", *BECKER_HAMBURG), "handwerk": "elektrotechniker",
                    "beginn": "2027-05-01"},
        "ausnahmegrund": {
            "ausnahmegrund": "alter",
            "begruendung": "Herr Petersen ist 59 Jahre alt und seit 1986 ununterbrochen im Elektrohandwerk tätig, "
                           "davon 20 Jahre als Obergeselle und Bauleiter. Die Vorbereitung auf die Meisterprüfung "
                           "ist ihm in diesem Alter nicht mehr zumutbar.",
            "befristet": "no", "beschraenkt": "no",
        },
        "qualifikation": {"gesellenpruefung": "yes", "berufsjahre": "40", "leitende_jahre": "20",
                          "werdegang": "1983–1986 Ausbildung zum Elektroinstallateur, Gesellenprüfung 1986; "
                                       "seit 2006 Obergeselle und Bauleiter bei der Elektro Nord GmbH, Hamburg."},
        "unterlagen": {},
    }


def bewachung_company_with_second_director() -> dict[str, dict]:
    return {
        "betrieb": {**BECKER, **address("betriebsanschrift", *BECKER_SITZ), "juristische_person": "yes"},
        "personen": {**person("antragsteller", *ANNA), **address("wohnanschrift", *ANNA_WOHNUNG),
                     "email": "anna.becker@becker-elektro.example", "telefon": "0421 3378890"},
        **angaben_zur_person(wohnorte=ANNA_WOHNORTE, taetigkeiten=ANNA_TAETIGKEITEN, particulars=ALL_PARTICULARS),
        "vertretung": {"handelsregisternummer": BECKER_HRB, "weitere_vertreter_vorhanden": "yes"},
        "weitere_vertretung": group("weitere_vertreter", {
            **CO_MANAGING_DIRECTOR, "geburtsland": "PL",
            **{f"wohnanschrift-{k}": v for k, v in KOWALSKI_WOHNUNG.items()}}),
        "taetigkeit": {"taetigkeit": "Alarmverfolgung und Interventionsdienst für selbst errichtete "
                                     "Einbruchmeldeanlagen, Revierdienst (Objektschutz) für Gewerbekunden in Bremen",
                       "beschaeftigte": "6", "beginn": "2027-04-01", "zahl_beschaeftigte": "31",
                       "taetigkeit_umfang": "ohne_einschraenkung", "dienstkleidung": "yes"},
        "dienstkleidung": {"dienstkleidung_beschreibung": "Anthrazitfarbene Jacke und Hose, Rückenaufschrift "
                                                          "„Becker Sicherheitsdienst“"},
        "versicherung": {"versicherer": "Allianz Versicherungs-AG", "summe_personenschaeden": "1000000",
                         "summe_sachschaeden": "250000", "summe_abhandenkommen": "15000",
                         "summe_vermoegensschaeden": "12500", "summe_gesamt": "2000000"},
        "unterlagen": {},
    }


def bewachung_sole_trader() -> dict[str, dict]:
    return {
        "betrieb": {**HANSEN, **address("betriebsanschrift", *HANSEN_SITZ), "juristische_person": "no"},
        "personen": {**person("antragsteller", *LEA), **address("wohnanschrift", *LEA_WOHNUNG),
                     "email": "lea@hansen-versicherungen.example", "telefon": "040 31975520"},
        **angaben_zur_person(),
        "taetigkeit": {"taetigkeit": "Bewachung leerstehender Gewerbeobjekte und Baustellen, die Versicherer "
                                     "für den Versicherungsschutz verlangen (Revierdienst)",
                       "beschaeftigte": "2", "beginn": "2027-03-01", "zahl_beschaeftigte": "3",
                       "taetigkeit_umfang": "beschraenkt", "dienstkleidung": "no"},
        "beschraenkung": {"taetigkeit_beschraenkung": "Bewachung leerstehender Gewerbeobjekte und Baustellen"},
        "versicherung": {"versicherer": "Hamburger Feuerkasse Versicherungs-AG", "summe_personenschaeden": "1000000",
                         "summe_sachschaeden": "250000", "summe_abhandenkommen": "15000",
                         "summe_vermoegensschaeden": "12500", "summe_gesamt": "1000000"},
        "unterlagen": {},
    }


def gaststaette_company_takes_over_cafe() -> dict[str, dict]:
    return {
        "betrieb": {"business_name": BECKER["business_name"], "gaststaette_name": "Café am Wall",
                    **address("betriebsanschrift", "Am Wall 118", "28195", "Bremen"), "betriebsart": "cafe",
                    "uebernahme": "yes", "betriebsart_gastg": "schank_und_speise"},
        "betriebsart_angaben": {"speisen_art": "Kuchen, Frühstück und kleine warme Gerichte"},
        "uebernahme_angaben": {"vorgaenger": "Café am Wall Inh. Helga Brandt e. K.", "vorlaeufige_erlaubnis": "yes"},
        "personen": {"juristische_person": "yes", **person("antragsteller", *ANNA),
                     **address("wohnanschrift", *ANNA_WOHNUNG), "email": "anna.becker@becker-elektro.example",
                     "telefon": "0421 3378890"},
        **angaben_zur_person(geburtsname="Schulz", extra_declarations={"fruehere_erlaubnis": "yes"}),
        "fruehere_erlaubnis": {"fruehere_erlaubnis_angaben": "Gaststättenerlaubnis des Stadtamts Bremen vom "
                                                             "03.04.2015 für die Kantine Am Wall 120, erloschen 2019"},
        "vertretung": {"handelsregisternummer": BECKER_HRB, "weitere_vertreter_vorhanden": "yes"},
        "weitere_vertretung": group("weitere_vertreter", {
            **CO_MANAGING_DIRECTOR, **{f"wohnanschrift-{k}": v for k, v in KOWALSKI_WOHNUNG.items()}}),
        "raeume": {"flaeche_gastraum": "85", "sitzplaetze": "40", "aussengastronomie": "yes",
                   "musik_veranstaltungen": "no", "personaltoilette": "no", "eroeffnung": "2027-03-01"},
        "unterlagen": {},
    }


def gaststaette_sole_trader_opens_bar() -> dict[str, dict]:
    return {
        "betrieb": {"business_name": HANSEN["business_name"], "gaststaette_name": "Elbblick",
                    **address("betriebsanschrift", "Große Elbstraße 150", "22767", "Hamburg"),
                    "betriebsart": "kneipe", "uebernahme": "no", "betriebsart_gastg": "schankwirtschaft"},
        "personen": {"juristische_person": "no", **person("antragsteller", *LEA),
                     **address("wohnanschrift", *LEA_WOHNUNG), "email": "lea@hansen-versicherungen.example",
                     "telefon": "040 31975520"},
        **angaben_zur_person(wohnorte=ANNA_WOHNORTE, taetigkeiten=ANNA_TAETIGKEITEN, particulars=ALL_PARTICULARS,
                             extra_declarations={"fruehere_erlaubnis": "no"}),
        "raeume": {"flaeche_gastraum": "60", "sitzplaetze": "35", "aussengastronomie": "yes",
                   "musik_veranstaltungen": "yes", "einrichtung_art": "neueinrichtung", "personaltoilette": "no",
                   "befreiungsantraege": "Befreiung von der getrennten Gästetoilette für Damen und Herren: eine "
                                         "barrierefreie Unisex-Toilette bei 35 Plätzen",
                   "eroeffnung": "2027-05-01"},
        "unterlagen": {},
    }


def handwerk_verzeichnis(place: tuple[str, str, str], *, takeover: bool = False, branches: bool = False,
                         earlier: bool = False) -> dict[str, dict]:
    """Cleaning of photovoltaic plants and facades: Gebäudereiniger, Anlage B1 HwO."""
    return {
        "betrieb": {**BECKER, **address("betriebsanschrift", *place), "handelsregisternummer": BECKER_HRB,
                    "steuernummer": "2475081508152"},
        "personen": {**person("inhaber", *ANNA), "email": "anna.becker@becker-elektro.example",
                     "telefon": "0421 3378890"},
        "taetigkeit": {"anlage": "b1", "gewerbe": "Gebäudereiniger",
                       "taetigkeit": "Reinigung von Photovoltaikanlagen, Glas- und Fassadenflächen für Gewerbekunden",
                       "beginn": "2027-03-01", "beschaeftigte": "2"},
        **hwk_hamburg_form(takeover=takeover, branches=branches, earlier=earlier, training=["gesellenbrief"]),
        "unterlagen": {},
    }


def hwk_hamburg_form(*, takeover: bool, branches: bool, earlier: bool, training: list[str],
                     manager_elsewhere: bool | None = None) -> dict[str, dict]:
    """The Handwerkskammer Hamburg form's questions (docs/gewerbeanzeige.md): a takeover or a new
    business, branches, the manager's other businesses, earlier self-employment — each with its
    step only after a "yes"."""
    steps: dict[str, dict] = {
        "gruendung": {"gruendungsart": "uebernahme" if takeover else "neugruendung",
                      "existenzgruender": "no" if earlier else "yes"}}
    if takeover and manager_elsewhere is None:  # the Verzeichnis asks the predecessor on a step of its own
        steps["uebernahme"] = {"vorgaenger": "Glanz & Sauber Gebäudedienste Inh. Uwe Meyer"}
    steps["filialen"] = {"filialen": "yes" if branches else "no"}
    if branches:
        steps["filialen_angaben"] = {"filialen_anzahl": "1", "filialen_orte": "Schloßmühlendamm 4, 21073 Hamburg"}
    if manager_elsewhere is not None:  # the Handwerksrolle's own answers replace these (handwerksrolle())
        steps["betriebsleitung"] = {"betriebsleiter_nur_hier": "no" if manager_elsewhere else "yes"}
        if manager_elsewhere:
            steps["betriebsleitung_weitere"] = {"betriebsleiter_weitere_betriebe": "Petersen Elektro, Lüneburg"}
    steps["qualifikation"] = {"berufsausbildung": training,
                              **({"gesellenbrief_handwerk": "Gebäudereiniger"} if "gesellenbrief" in training else {})}
    steps["selbstaendigkeit"] = {"fruehere_selbstaendigkeit": "yes" if earlier else "no"}
    if earlier:
        steps["selbstaendigkeit_angaben"] = {"fruehere_selbstaendigkeit_gewerk": "Elektrotechniker",
                                             "fruehere_selbstaendigkeit_hwk": "Handwerkskammer Bremen",
                                             "fruehere_selbstaendigkeit_zeitraum": "04/2012 – 12/2018"}
    steps["umsatz"] = {"umsatz_gesamt": "480000", "umsatz_handwerk": "450000"} if earlier else {}
    steps["einwilligungen"] = {"einwilligung_weitergabe": "no", "einwilligung_suchmaschine": "yes",
                               "einwilligung_handwerktest": "no"}
    steps["erklaerung"] = {"keine_gewerbeuntersagung": "yes"}
    return steps


def handwerksrolle(business_name: str, place: tuple[str, str, str], qualification: dict[str, str],
                   leitung: dict[str, str], start: str, *, takeover: bool = False, branches: bool = False,
                   earlier: bool = False, gesellenbrief: str = "", hours: str = "40") -> dict[str, dict]:
    """The Handwerksrolle's steps in order: the HWK Hamburg form's questions, the Betriebsleitung
    (``leitung``: tests/support/handwerk.py), its employment when employed, and the legal route of
    § 7 HwO (``qualification``) with the particulars of the examination or of the decision."""
    street, postcode, city = place
    manager_elsewhere = leitung["betriebsleiter_nur_hier"] == "no"
    form = hwk_hamburg_form(takeover=takeover, branches=branches, earlier=earlier, training=[],
                            manager_elsewhere=manager_elsewhere)
    gruendung = form.pop("gruendung")
    steps: dict[str, dict] = {
        "angaben": {"business_name": business_name, "legal_form": "GmbH", "street": street, "postcode": postcode,
                    "city": city, "trade": "elektrotechniker", "start_date": start,
                    "gruendungsart": gruendung.pop("gruendungsart"), "registereintrag": "yes"},
        **({"uebernahme": {"uebernahme_art": "kauf", "frueherer_inhaber": "Elektro Meyer e. K."}} if takeover else {}),
        "gruendung": gruendung}
    for key, answers in form.items():
        if key == "betriebsleitung":
            steps[key] = leitung
            continue
        if key == "qualifikation":
            if leitung["betriebsleiter_stellung"] == "angestellt":
                steps["anstellung"] = {"betriebsleiter_wochenstunden": hours}
            route = {k: v for k, v in qualification.items() if k in ("qualification",)}
            steps[key] = {**route, "gesellenbrief_handwerk": gesellenbrief}
            exam = qualification["qualification"] in ("meisterpruefung", "gleichwertig")
            steps["pruefung" if exam else "bescheid"] = {k: v for k, v in qualification.items() if k != "qualification"}
            continue
        if key == "selbstaendigkeit" and not earlier:
            continue  # an Existenzgründerin is not asked (she is self-employed for the first time)
        steps[key] = answers
    steps["unterlagen"] = {}
    return steps


def immobilienmakler_sole_trader() -> dict[str, dict]:
    return {
        "betrieb": {**HANSEN, **address("betriebsanschrift", *HANSEN_SITZ), "juristische_person": "no"},
        "personen": {**person("antragsteller", *LEA), **address("wohnanschrift", *LEA_WOHNUNG),
                     "email": "lea@hansen-versicherungen.example"},
        **angaben_zur_person(),
        "taetigkeit": {"taetigkeiten": ["makler", "darlehensvermittler"],
                       "beschreibung": "Vermittlung von Wohn- und Gewerbeimmobilien in Hamburg-Altona, ergänzend "
                                       "zur Versicherungsmaklertätigkeit",
                       "beginn": "2027-03-01"},
        "makler_umfang": {"makler_objekte": ["wohnraeume", "gewerbliche_raeume"]},
        "unterlagen": {},
    }


def immobilienmakler_company_as_property_manager() -> dict[str, dict]:
    return {
        "betrieb": {**BECKER, **address("betriebsanschrift", *BECKER_SITZ), "juristische_person": "yes"},
        "personen": {**person("antragsteller", *ANNA), **address("wohnanschrift", *ANNA_WOHNUNG),
                     "email": "anna.becker@becker-elektro.example"},
        **angaben_zur_person(wohnorte=ANNA_WOHNORTE, taetigkeiten=ANNA_TAETIGKEITEN, particulars=ALL_PARTICULARS),
        "vertretung": {"handelsregisternummer": BECKER_HRB, "weitere_vertreter_vorhanden": "yes"},
        "weitere_vertretung": group("weitere_vertreter", {
            **CO_MANAGING_DIRECTOR, **{f"wohnanschrift-{k}": v for k, v in KOWALSKI_WOHNUNG.items()}}),
        "taetigkeit": {"taetigkeiten": ["bautraeger", "baubetreuer", "wohnimmobilienverwalter"],
                       "beschreibung": "WEG- und Mietverwaltung für Wohnanlagen in Bremen, deren Haustechnik wir "
                                       "betreuen; Sanierung und Verkauf einzelner Wohnanlagen als Bauträger",
                       "beginn": "2027-07-01"},
        "bautraeger_umfang": {"bautraeger_vermoegenswerte": ["erwerber", "bewerber"]},
        "versicherung": {"versicherer": "HDI Versicherung AG"},
        "unterlagen": {},
    }


def reisegewerbekarte_door_to_door_sales() -> dict[str, dict]:
    """An employee living in Bremerhaven canvasses orders for the Bremen company."""
    return {
        "personen": {**person("antragsteller", *JONAS), **address("wohnanschrift", *JONAS_WOHNUNG),
                     "email": "jonas.weber@becker-elektro.example", "telefon": "0171 4455667"},
        "taetigkeit": {"art": "leistungen",
                       "taetigkeit": "Aufsuchen von Bestellungen auf Elektroinstallation, Photovoltaikanlagen und "
                                     "Wallboxen bei Privathaushalten",
                       "beginn": "2027-03-01", "beschaeftigte": "0", "hat_niederlassung": "yes"},
        "niederlassung": address("niederlassung_anschrift", *BECKER_SITZ),
        "unterlagen": {},
    }


def reisegewerbekarte_food_truck() -> dict[str, dict]:
    return {
        "personen": {**person("antragsteller", *LEA), **address("wohnanschrift", *LEA_WOHNUNG),
                     "email": "lea@hansen-versicherungen.example", "telefon": "0160 9876543"},
        "taetigkeit": {"art": "waren_feilbieten",
                       "taetigkeit": "Verkauf von Fischbrötchen und alkoholfreien Getränken aus einem Imbisswagen "
                                     "an wechselnden Standorten im Hamburger Hafen",
                       "beginn": "2027-04-15", "beschaeftigte": "1", "hat_niederlassung": "no"},
        "unterlagen": {},
    }


def ursprungszeugnis_switchgear_to_dubai() -> dict[str, dict]:
    return {
        "exporteur": {"business_name": BECKER["business_name"], **address("anschrift", *BECKER_SITZ),
                      "ust_idnr": "DE136695976", "eori": "DE4711234", "ansprechperson": "Jonas Weber",
                      "telefon": "0421 3378890"},
        "sendung": {"empfaenger": "Al Noor Electrical Contracting LLC\nP.O. Box 118822\nDubai\n"
                                  "Vereinigte Arabische Emirate",
                    "bestimmungsland": "Vereinigte Arabische Emirate",
                    "ursprungsland": "Europäische Union (Deutschland)",
                    "befoerderung": "Seefracht ab Bremerhaven nach Jebel Ali, Container MSCU 1234565",
                    "rechnungsnummer": "RE-2026-11873", "rechnungsdatum": "2026-11-25"},
        "waren": group("positionen",
                       {"zeichen": "ANE 1-4, 4 Holzkisten",
                        "warenbezeichnung": "Niederspannungs-Schaltschränke, Typ BS-400", "menge": "4 Stück"},
                       {"zeichen": "ANE 5, 1 Palette",
                        "warenbezeichnung": "Unterverteilungen, vormontiert und geprüft", "menge": "12 Stück"}),
        "unterlagen": {"ursprungsnachweis": "eigene_herstellung", "kopien": "2"},
    }


def versicherungsvermittler_broker() -> dict[str, dict]:
    """A sole trader licensed as broker: certificate of good conduct ordered to be sent to the chamber,
    the trade register extract uploaded, no activity abroad, no employees involved."""
    street, postcode, city = HANSEN_SITZ
    return {"angaben": {"antragsteller_art": "natuerliche_person", "applicant_name": "Lea Hansen",
                        "geburtsdatum": LEA[2], "business_name": HANSEN["business_name"], "street": street,
                        "postcode": postcode, "city": city, "permit_type": "makler"},
            "taetigkeit": {"beginn": "2027-03-01"},
            "register": {"grenzueberschreitend": "no", "mitwirkende_vorhanden": "no"},
            "voraussetzungen": {"expertise_proven": "yes", "liability_insurance": "yes",
                                "versicherer": "Hanseatische Haftpflicht VVaG"},
            "zuverlaessigkeit": {"fuehrungszeugnis": "beantragt", "gewerbezentralregister": "beigefuegt",
                                 "verurteilung": "no", "insolvenzverfahren": "no",
                                 "schuldnerverzeichnis_eintrag": "no"},
            "nachweise": {"sachkunde_art": "pruefung"}}


def versicherungsvermittler_agent_company() -> dict[str, dict]:
    """A GmbH licensed as (multiple) agent for the insurance of the solar systems it installs: two
    managing directors, work in the Netherlands, one employee advising customers."""
    street, postcode, city = BECKER_SITZ
    directors = [{"family_name": family, "given_names": given, "birth_date": born, "birth_place": place}
                 for family, given, born, place in (ANNA, ("Kowalski", "Piotr", "1975-06-30", "Gdańsk"))]
    return {"angaben": {"antragsteller_art": "juristische_person", "applicant_name": "Anna Becker",
                        "geburtsdatum": ANNA[2], "business_name": BECKER["business_name"], "street": street,
                        "postcode": postcode, "city": city, "permit_type": "vertreter"},
            "vertretung": {"handelsregisternummer": BECKER_HRB, **group("vertretungsberechtigte", *directors)},
            "taetigkeit": {"vertretene_versicherer": "Solarversicherung Nord AG\nElektronik-Assekuranz VVaG",
                           "beginn": "2027-04-01"},
            "register": {"grenzueberschreitend": "yes", "mitwirkende_vorhanden": "yes"},
            "eu_staaten": group("eu_staaten", {"staat": "NL"}),
            "mitwirkende": group("mitwirkende", {"family_name": JONAS[0], "given_names": JONAS[1],
                                                 "birth_date": JONAS[2]}),
            "voraussetzungen": {"expertise_proven": "yes", "liability_insurance": "yes", "versicherer": ""},
            "zuverlaessigkeit": {"fuehrungszeugnis": "beigefuegt", "gewerbezentralregister": "beantragt",
                                 "verurteilung": "no", "insolvenzverfahren": "no",
                                 "schuldnerverzeichnis_eintrag": "no"},
            "nachweise": {"sachkunde_art": "gleichgestellt"}}


# --- the cases --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    user: str
    service: str
    steps: dict[str, dict]
    destinations: list[tuple[str, str]]  #: (chamber slug, role), sorted
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    expect: dict = field(default_factory=dict)  #: filed answers to check
    absent: tuple[str, ...] = ()  #: answers the branch must not file

    def __post_init__(self) -> None:
        if self.service.startswith("gewerbe"):
            object.__setattr__(self, "steps", gewa_register_and_field_24(self.steps))


def gewa_register_and_field_24(steps: dict[str, dict]) -> dict[str, dict]:
    """GewA 1–3 as asked since 12/2026: "Ist der Betrieb … eingetragen?" on the owner's step and the
    register number on a step of its own (only when entered); field 24 (itinerant trade) a yes/no
    of its own next to field 23. The cases give the number with the owner, as the form has it."""
    result: dict[str, dict] = {}
    for key, answers in steps.items():
        if key == "inhaber" and "handelsregisternummer" in answers:
            answers = dict(answers)
            number = answers.pop("handelsregisternummer")
            result[key] = {**answers, "registereintrag": "yes" if number else "no"}
            if number:
                result["register"] = {"handelsregisternummer": number}
            continue
        if key == "niederlassung" and "reisegewerbe" not in answers:
            answers = {**answers, "reisegewerbe": "no"}
        result[key] = answers
    return result


CASES = [
    Case("gewerbeanmeldung-elektro-bremen", "anna.becker", "gewerbeanmeldung",
         gewerbeanmeldung(BECKER, BECKER_SITZ, "Elektroinstallation in Wohn- und Gewerbebauten, Errichtung von "
                          "Photovoltaikanlagen und Ladeinfrastruktur", "2027-01-04", "yes",
                          [gewa_person("vertreter", *ANNA, ANNA_WOHNUNG),
                           gewa_person("vertreter", *JONAS, JONAS_WOHNUNG)],
                          "43.21.0", register=BECKER_HRB, handwerkskarte=True),
         [("gewerbeamt-bremen", "primary"), ("hwk-bremen", "copy")],
         expect={"handwerk": True, "postcode": "28195", "wz2008": "43.21.0", "handwerkskarte_vorhanden": True,
                 "handwerkskarte_kammer": "Handwerkskammer Bremen"},
         absent=("hauptniederlassung", "frueherer_inhaber", "erlaubnis_datum", "bisheriger_uv_traeger")),
    Case("gewerbeanmeldung-einzelhandel-bremerhaven", "anna.becker", "gewerbeanmeldung",
         gewerbeanmeldung(BECKER, BREMERHAVEN, "Einzelhandel mit Elektrohaushaltsgeräten, Leuchten und Zubehör",
                          "2027-03-01", "no", [gewa_person("betriebsleiter", *JONAS, JONAS_WOHNUNG)], "47.54.0",
                          register=BECKER_HRB, niederlassung="zweigniederlassung", grund="kauf"),
         [("gewerbeamt-bremerhaven", "primary"), ("hk-bremen", "copy")],
         expect={"handwerk": False, "postcode": "27568", "niederlassung": "zweigniederlassung",
                 "frueherer_inhaber": "Elektro Meyer e. K.", "zahl_vertreter": 1, "oeffentliche_hand": "nein",
                 "bisheriger_uv_traeger": "BG Energie Textil Elektro Medienerzeugnisse"},
         absent=("handwerkskarte_vorhanden", "fruehere_betriebsstaette")),
    Case("gewerbeanmeldung-makler-hamburg", "lea.hansen", "gewerbeanmeldung",
         gewerbeanmeldung(LEA_SOLE_TRADER, ("Lüneburger Straße 22", "21073", "Hamburg"),
                          "Versicherungsvermittlung als Versicherungsmaklerin mit Erlaubnis nach § 34d Abs. 1 GewO "
                          "(Zweigstelle Harburg)", "2027-02-01", "no",
                          [gewa_person("inhaber", *LEA, LEA_WOHNUNG),
                           gewa_person("betriebsleiter", "Silva", "Marta", "1990-02-11", "Porto Alegre",
                                       LEA_WOHNUNG, nationality="BR", aufenthaltstitel="yes",
                                       aufenthaltstitel_behoerde="Amt für Migration Hamburg",
                                       aufenthaltstitel_datum="2025-04-01", aufenthaltstitel_auflage="no")],
                          "66.22.0", inhaber_art="natuerliche_person", erlaubnis=True,
                          grund="wiedereroeffnung"),
         [("gewerbeamt-hamburg", "primary"), ("hk-hamburg", "copy")],
         expect={"handwerk": False, "erlaubnis_behoerde": "Handelskammer Hamburg",
                 "fruehere_betriebsstaette": {"street": "Holstenstraße 88", "postcode": "24103",
                                              "city": "Kiel"}}),

    Case("gewerbeummeldung-verlegung-handwerk-bremen", "anna.becker", "gewerbeummeldung",
         gewerbeummeldung_relocation_of_crafts_business(),
         [("gewerbeamt-bremen", "primary"), ("hwk-bremen", "copy")],
         files={"handwerkskarte": pdf("Handwerkskarte-Becker.pdf")},
         expect={"grund": "verlegung", "wz2008": "43.21.0", "vollzeit": 12, "teilzeit": 2,
                 "handwerkskarte_vorhanden": True, "handwerkskarte_kammer": "Handwerkskammer Bremen",
                 "personen": [{"funktion": "vertreter", "familienname": "Becker", "vornamen": "Anna",
                               "geschlecht": "weiblich", "geburtsname": None, "geburtsdatum": "1978-03-14",
                               "geburtsort": "Bremen", "geburtsland": "DE", "staatsangehoerigkeit": "DE",
                               "weitere_staatsangehoerigkeit": None,
                               "anschrift": {"street": "Parkallee 12", "postcode": "28209", "city": "Bremen",
                                             "country": "DE"},
                               "telefon": None, "telefax": None, "email": None, "internetadresse": None,
                               "aufenthaltstitel": None, "aufenthaltstitel_behoerde": None,
                               "aufenthaltstitel_datum": None, "aufenthaltstitel_auflage": None,
                               "aufenthaltstitel_auflage_angabe": None}],
                 "neue_anschrift": {"street": "Hastedter Heerstraße 285", "postcode": "28207", "city": "Bremen"}}),
    Case("gewerbeummeldung-ausdehnung-makler-hamburg", "lea.hansen", "gewerbeummeldung",
         gewerbeummeldung_extension_of_brokerage(),
         [("gewerbeamt-hamburg", "primary"), ("hk-hamburg", "copy")],
         files={"erlaubnis": pdf("Erlaubnis-34f-GewO.pdf")},
         expect={"grund": "ausdehnung", "wz2008": "66.22.0", "registereintrag": False,
                 "taetigkeit_bisher": "Versicherungsvermittlung als Versicherungsmaklerin (§ 34d Abs. 1 GewO)",
                 "erlaubnis_behoerde": "Handelskammer Hamburg",
                 "taetigkeit_neu": "Vermittlung von Finanzanlagen (§ 34f Abs. 1 GewO)"},
         absent=("neue_anschrift", "frueherer_name", "zahl_vertreter", "handwerk_bezeichnung",
                 "handwerkskarte_vorhanden", "handwerkskarte", "handelsregisternummer")),

    Case("gewerbeummeldung-name-zweigniederlassung-hamburg", "anna.becker", "gewerbeummeldung",
         gewerbeummeldung_name_of_hamburg_branch(),
         [("gewerbeamt-hamburg", "primary"), ("hwk-hamburg", "copy")],
         expect={"grund": "name", "frueherer_name": "Becker Elektrotechnik GmbH",
                 "business_name": "Becker Elektro- und Solartechnik GmbH", "niederlassung": "zweigniederlassung",
                 "hauptniederlassung": {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"}},
         absent=("neue_anschrift", "taetigkeit_bisher", "fruehere_rechtsform", "handwerkskarte_datum")),
    Case("gewerbeummeldung-rechtsform-ohg-hamburg", "lea.hansen", "gewerbeummeldung",
         gewerbeummeldung_legal_form_of_partnership(),
         [("gewerbeamt-hamburg", "primary"), ("hk-hamburg", "copy")],
         expect={"grund": "rechtsform", "fruehere_rechtsform": "GbR", "legal_form": "OHG",
                 "inhaber_art": "personengesellschaft", "zahl_vertreter": 1},
         absent=("frueherer_name", "taetigkeit_bisher", "erlaubnis_behoerde", "taetigkeit_neu")),

    Case("gewerbeabmeldung-aufgabe-zweigstelle-bremerhaven", "jonas.weber", "gewerbeabmeldung",
         gewerbeabmeldung_closing_crafts_branch(),
         [("gewerbeamt-bremerhaven", "primary"), ("hwk-bremen", "copy")],
         files={"vollmacht": pdf("Vollmacht-Weber.pdf")},
         expect={"grund": "aufgabe", "aufgabe_ursache": "sonstiges",
                 "aufgabe_ursache_sonstige": "Die Arbeiten übernimmt die Hauptniederlassung in Bremen",
                 "abmeldung_betrifft": "zweigstelle",
                 "hauptniederlassung": {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"},
                 "abmeldung_datum": "2026-12-31", "vollzeit": 2},
         absent=("nachfolge_name", "nachfolge_anschrift", "neue_anschrift")),
    Case("gewerbeabmeldung-uebergabe-makler-hamburg", "lea.hansen", "gewerbeabmeldung",
         gewerbeabmeldung_handing_over_brokerage(),
         [("gewerbeamt-hamburg", "primary"), ("hk-hamburg", "copy")],
         expect={"grund": "uebergabe", "nachfolge_name": "Nordlicht Assekuranzmakler GmbH",
                 "abmeldung_betrifft": "hauptniederlassung", "sonstiges": True},
         absent=("aufgabe_ursache", "vollmacht", "hauptniederlassung")),
    Case("gewerbeabmeldung-verlegung-makler-hamburg", "lea.hansen", "gewerbeabmeldung",
         gewerbeabmeldung_moving_to_another_district(),
         [("gewerbeamt-hamburg", "primary"), ("hk-hamburg", "copy")],
         expect={"grund": "verlegung", "abmeldung_datum": "2027-05-31",
                 "neue_anschrift": {"street": "Bahnhofstraße 1", "postcode": "25335", "city": "Elmshorn"}},
         absent=("aufgabe_ursache", "nachfolge_name")),

    Case("ausbildungsvertrag-handwerk-minderjaehrig-bremen", "anna.becker", "ausbildungsvertrag-eintragung",
         ausbildungsvertrag(BECKER, BECKER_SITZ, True, "Jonas Weber", "0421 3378890",
                            MINOR_ELECTRONICS_TRAINEE, True, ELECTRONICS_TRAINING, pay(1020, 1080, 1150, 1220)),
         [("hwk-bremen", "primary")],
         files={"ausbildungsvertrag": pdf("Ausbildungsvertrag-Yilmaz.pdf"),
                "ausbildungsplan": pdf("Ausbildungsplan-Elektroniker.pdf"),
                "erstuntersuchung": jpeg("Erstuntersuchung-Yilmaz.jpg")},
         expect={"handwerksbetrieb": True, "probezeit_monate": 4, "beginn": "2027-08-01",
                 "ausbildungsdauer": "ueber_36", "verguetung_viertes_jahr": 1220,
                 "ausbilder_eignung": "meisterpruefung", "tarifvertrag": True, "urlaubstage": 30},
         absent=("anschluss_beruf", "verkuerzung_monate")),
    Case("ausbildungsvertrag-kaufmaennisch-im-handwerk-bremen", "jonas.weber", "ausbildungsvertrag-eintragung",
         ausbildungsvertrag(BECKER, BECKER_SITZ, True, "Anna Becker", "0421 3378890",
                            ADULT_OFFICE_TRAINEE, False, OFFICE_TRAINING, pay(980, 1040, 1110)),
         [("hwk-bremen", "primary")],
         files={"ausbildungsvertrag": pdf("Ausbildungsvertrag-Lange.pdf")},
         expect={"ausbildungsberuf": "kaufmann-bueromanagement",
                 "verguetung_drittes_jahr": 1110},
         absent=("gesetzliche_vertreter", "erstuntersuchung", "nachweis_verkuerzung", "ausbildungsplan",
                 "verguetung_viertes_jahr")),
    Case("ausbildungsvertrag-ihk-verkuerzt-hamburg", "lea.hansen", "ausbildungsvertrag-eintragung",
         ausbildungsvertrag(HANSEN, HANSEN_SITZ, False, "Lea Hansen", "040 31975520",
                            ADULT_INSURANCE_TRAINEE, False, SHORTENED_INSURANCE_TRAINING, pay(1150, 1250)),
         [("hk-hamburg", "primary")],
         files={"ausbildungsvertrag": pdf("Ausbildungsvertrag-Schroeder.pdf"),
                "nachweis_verkuerzung": pdf("Abiturzeugnis-Schroeder.pdf")},
         expect={"handwerksbetrieb": False, "verkuerzung": True,
                 "beruf_sonstiger": "Kaufmann/Kauffrau für Versicherungen und Finanzanlagen",
                 "anschluss_beruf": "Verkäufer/-in", "verkuerzung_monate": 12, "verguetung_zweites_jahr": 1250},
         absent=("gesetzliche_vertreter", "erstuntersuchung")),

    Case("ausnahmebewilligung-uebernahme-beschraenkt-bremen", "jonas.weber", "ausnahmebewilligung-8-hwo",
         ausnahmebewilligung_takeover_restricted(),
         [("hwk-bremen", "primary")],
         files={"lebenslauf": pdf("Lebenslauf-Weber.pdf"), "zeugnisse": pdf("Zeugnisse-Weber.pdf"),
                "nachweis_ausnahmegrund": pdf("Sterbeurkunde-und-Gesellschafterbeschluss.pdf")},
         expect={"ausnahmegrund": "betriebsuebernahme", "befristet": True, "beschraenkt": True, "berufsjahre": 17}),
    Case("ausnahmebewilligung-alter-zweigniederlassung-hamburg", "anna.becker", "ausnahmebewilligung-8-hwo",
         ausnahmebewilligung_age_hamburg_branch(),
         [("hwk-hamburg", "primary")],  # the business decides, not the home in Lower Saxony
         files={"lebenslauf": pdf("Lebenslauf-Petersen.pdf"), "zeugnisse": pdf("Zeugnisse-Petersen.pdf")},
         expect={"ausnahmegrund": "alter", "beschraenkt": False},
         absent=("teiltaetigkeiten", "nachweis_ausnahmegrund")),

    Case("bewachung-gmbh-bremen", "anna.becker", "bewachungserlaubnis-34a",
         bewachung_company_with_second_director(),
         [("gewerbeamt-bremen", "primary")],
         files={"sachkunde": pdf("Sachkundepruefung-34a-Becker.pdf"), "versicherung": pdf("Haftpflicht-34a.pdf"),
                "steuerbescheinigung": png("Bescheinigung-in-Steuersachen.png"),
                "handelsregisterauszug": pdf("HRB-12345-Auszug.pdf")},
         expect={"juristische_person": True, "handelsregisternummer": BECKER_HRB,
                 "weitere_vertreter": [{**CO_MANAGING_DIRECTOR_FILED, "geburtsland": "PL",
                                        "wohnanschrift": KOWALSKI_WOHNUNG_FILED}], **ANNA_FILED,
                 "geburtsland": "DE", "zahl_beschaeftigte": 31,
                 "taetigkeit_umfang": "ohne_einschraenkung", "dienstkleidung": True,
                 "versicherer": "Allianz Versicherungs-AG", "summe_personenschaeden": 1000000,
                 "summe_abhandenkommen": 15000, "summe_vermoegensschaeden": 12500}),
    Case("bewachung-einzelkauffrau-hamburg", "lea.hansen", "bewachungserlaubnis-34a",
         bewachung_sole_trader(),
         [("gewerbeamt-hamburg", "primary")],
         files={"sachkunde": jpeg("Sachkunde-Hansen.jpg"), "versicherung": pdf("Haftpflicht-34a-Hansen.pdf"),
                "steuerbescheinigung": pdf("Steuerbescheinigung-Hansen.pdf")},
         expect={"juristische_person": False, **LEA_FILED, "taetigkeit_umfang": "beschraenkt",
                 "taetigkeit_beschraenkung": "Bewachung leerstehender Gewerbeobjekte und Baustellen",
                 "dienstkleidung": False, "summe_sachschaeden": 250000},
         absent=("handelsregisternummer", "weitere_vertreter", "handelsregisterauszug", "dienstkleidung_beschreibung",
                 *NO_PARTICULARS)),

    Case("gaststaette-gmbh-cafe-bremen", "anna.becker", "gaststaettenerlaubnis",
         gaststaette_company_takes_over_cafe(),
         [("gewerbeamt-bremen", "primary")],
         files={"grundriss": pdf("Grundriss-Cafe-am-Wall.pdf"), "mietvertrag": pdf("Pachtvertrag-Am-Wall-118.pdf"),
                "steuerbescheinigung": pdf("Bescheinigung-in-Steuersachen.pdf")},
         expect={"betriebsart": "cafe", "uebernahme": True, "sitzplaetze": 40,
                 "weitere_vertreter": [{**CO_MANAGING_DIRECTOR_FILED, "wohnanschrift": KOWALSKI_WOHNUNG_FILED}],
                 **LEA_FILED, "geburtsname": "Schulz",
                 "betriebsart_gastg": "schank_und_speise",
                 "speisen_art": "Kuchen, Frühstück und kleine warme Gerichte",
                 "vorgaenger": "Café am Wall Inh. Helga Brandt e. K.", "fruehere_erlaubnis": True,
                 "personaltoilette": False},
         absent=("betriebsart_sonstige", "einrichtung_art", "befreiungsantraege", *NO_PARTICULARS)),
    Case("gaststaette-einzelkauffrau-bar-hamburg", "lea.hansen", "gaststaettenerlaubnis",
         gaststaette_sole_trader_opens_bar(),
         [("gewerbeamt-hamburg", "primary")],
         files={"grundriss": pdf("Grundriss-Elbblick.pdf"), "mietvertrag": pdf("Mietvertrag-Elbblick.pdf"),
                "steuerbescheinigung": jpeg("Steuerbescheinigung-Hansen.jpg"),
                "unterrichtungsnachweis": pdf("Unterrichtungsnachweis-IHK.pdf")},
         expect={"juristische_person": False, "musik_veranstaltungen": True, **ANNA_FILED,
                 "betriebsart_gastg": "schankwirtschaft", "fruehere_erlaubnis": False,
                 "einrichtung_art": "neueinrichtung", "personaltoilette": False,
                 "befreiungsantraege": "Befreiung von der getrennten Gästetoilette für Damen und Herren: eine "
                                       "barrierefreie Unisex-Toilette bei 35 Plätzen"},
         absent=("handelsregisternummer", "weitere_vertreter", "speisen_art", "vorgaenger",
                 "fruehere_erlaubnis_angaben")),

    Case("handwerk-verzeichnis-b1-bremen", "anna.becker", "handwerk-verzeichnis-eintragung",
         handwerk_verzeichnis(BECKER_SITZ, takeover=True, branches=True, earlier=True),
         [("hwk-bremen", "primary")],
         files={"gewerbeanmeldung": pdf("Gewerbeanmeldung-Gebaeudereinigung.pdf"),
                "qualifikation": png("Gesellenbrief-Gebaeudereiniger.png")},
         expect={"anlage": "b1", "steuernummer": "2475081508152", "gruendungsart": "uebernahme",
                 "vorgaenger": "Glanz & Sauber Gebäudedienste Inh. Uwe Meyer", "filialen": True,
                 "filialen_anzahl": 1, "berufsausbildung": ["gesellenbrief"],
                 "gesellenbrief_handwerk": "Gebäudereiniger", "fruehere_selbstaendigkeit_zeitraum": "04/2012 – 12/2018",
                 "umsatz_gesamt": 480000, "einwilligung_weitergabe": False, "einwilligung_suchmaschine": True,
                 "keine_gewerbeuntersagung": True}),
    Case("handwerk-verzeichnis-b1-bremerhaven", "jonas.weber", "handwerk-verzeichnis-eintragung",
         handwerk_verzeichnis(BREMERHAVEN),
         [("hwk-bremen", "primary")],  # the Bremen chamber of crafts also covers Bremerhaven
         files={"gewerbeanmeldung": pdf("Gewerbeanmeldung-Bremerhaven.pdf")},
         expect={"gruendungsart": "neugruendung", "existenzgruender": True, "filialen": False},
         absent=("qualifikation", "vorgaenger", "filialen_anzahl", "fruehere_selbstaendigkeit_gewerk",
                 "umsatz_gesamt")),

    Case("handwerksrolle-meister-bremen", "anna.becker", "handwerksrolle-eintragung",
         handwerksrolle(BECKER["business_name"], BECKER_SITZ, MEISTERPRUEFUNG,
                        {**BECKER_LEITET, "betriebsleiter_nur_hier": "no"}, "2027-01-04",
                        takeover=True, branches=True, earlier=True, gesellenbrief="Elektroniker"),
         [("hwk-bremen", "primary")],
         files={"qualifikationsnachweis": pdf("Meisterbrief-Becker.pdf"),
                "handelsregisterauszug": pdf("HRB-12345-Auszug.pdf")},
         expect={"trade": "elektrotechniker", "qualification": "meisterpruefung", "gruendungsart": "uebernahme",
                 "frueherer_inhaber": "Elektro Meyer e. K.", "legal_form": "GmbH", "filialen_anzahl": 1,
                 "betriebsleiter_stellung": "geschaeftsfuehrer",
                 "betriebsleiter": {"family_name": "Becker", "given_names": "Anna", "birth_date": "1980-05-17",
                                    "birth_place": "Bremen"},
                 "betriebsleiter_staatsangehoerigkeit": "DE",
                 "betriebsleiter_anschrift": {"street": "Parkallee 5", "postcode": "28209", "city": "Bremen",
                                              "country": "DE"},
                 "pruefung_art": "Meisterprüfung im Elektrotechniker-Handwerk", "pruefung_datum": "2009-06-26",
                 "pruefung_stelle": "Meisterprüfungsausschuss der Handwerkskammer Bremen", "pruefung_ort": "Bremen",
                 "betriebsleiter_nur_hier": False, "betriebsleiter_weitere_betriebe": "Petersen Elektro, Lüneburg",
                 "gesellenbrief_handwerk": "Elektroniker", "fruehere_selbstaendigkeit": True,
                 "umsatz_handwerk": 450000, "einwilligung_handwerktest": False, "keine_gewerbeuntersagung": True},
         absent=("betriebsleiter_wochenstunden", "arbeitsvertrag", "bescheid_behoerde", "herkunftsstaat",
                 "berufsausbildung", "manager_name")),
    Case("handwerksrolle-ausnahmebewilligung-hamburg", "anna.becker", "handwerksrolle-eintragung",
         handwerksrolle("Becker Elektrotechnik GmbH, Zweigniederlassung Hamburg", BECKER_HAMBURG,
                        {"qualification": "ausnahmebewilligung", "bescheid_behoerde": "Handwerkskammer Hamburg",
                         "bescheid_datum": "2026-09-14",
                         "bescheid_umfang": "Elektrotechniker-Handwerk, beschränkt auf Elektroinstallation"},
                        betriebsleitung("angestellt", "Petersen", "Klaus", "1969-11-02", "Lüneburg",
                                        geschlecht="maennlich",
                                        anschrift=("Bleckeder Landstraße 9", "21337", "Lüneburg")),
                        "2027-05-01", hours="38"),
         [("hwk-hamburg", "primary")],
         files={"qualifikationsnachweis": jpeg("Ausnahmebewilligung-Petersen.jpg"),
                "arbeitsvertrag": pdf("Arbeitsvertrag-Petersen.pdf")},
         expect={"postcode": "21073", "betriebsleiter_nur_hier": True, "betriebsleiter_stellung": "angestellt",
                 "betriebsleiter_wochenstunden": 38, "bescheid_datum": "2026-09-14",
                 "bescheid_umfang": "Elektrotechniker-Handwerk, beschränkt auf Elektroinstallation"},
         absent=("filialen_anzahl", "betriebsleiter_weitere_betriebe", "fruehere_selbstaendigkeit_gewerk",
                 "umsatz_gesamt", "frueherer_inhaber", "pruefung_art", "herkunftsstaat")),
    Case("handwerksrolle-eu-ewr-hamburg", "anna.becker", "handwerksrolle-eintragung",
         handwerksrolle("Becker Elektrotechnik GmbH, Zweigniederlassung Hamburg", BECKER_HAMBURG, EU_EWR,
                        betriebsleitung("angestellt", "Nowak", "Tomasz", "1983-04-21", "Gdańsk",
                                        staatsangehoerigkeit="PL", geschlecht="maennlich",
                                        anschrift=("Harburger Ring 20", "21073", "Hamburg")),
                        "2027-06-01"),
         [("hwk-hamburg", "primary")],
         files={"qualifikationsnachweis": pdf("Ausnahmebewilligung-9-HwO-Nowak.pdf"),
                "arbeitsvertrag": pdf("Arbeitsvertrag-Nowak.pdf"),
                "sozialversicherung_meldung": pdf("Meldebescheinigung-Nowak.pdf")},
         expect={"qualification": "eu_ewr", "herkunftsstaat": "PL", "betriebsleiter_staatsangehoerigkeit": "PL",
                 "bescheid_behoerde": "Handwerkskammer Hamburg", "betriebsleiter_wochenstunden": 40},
         absent=("pruefung_art", "pruefung_datum")),

    Case("immobilienmakler-einzelkauffrau-hamburg", "lea.hansen", "immobilienmakler-34c",
         immobilienmakler_sole_trader(),
         [("gewerbeamt-hamburg", "primary")],
         files={"steuerbescheinigung": pdf("Steuerbescheinigung-Hansen.pdf"),
                "insolvenzauskunft": pdf("Auskunft-Insolvenzgericht-Hamburg.pdf"),
                "schuldnerverzeichnis": pdf("Schuldnerverzeichnis-Hansen.pdf")},
         expect={"taetigkeiten": ["makler", "darlehensvermittler"],
                 "makler_objekte": ["gewerbliche_raeume", "wohnraeume"], **LEA_FILED},
         absent=("handelsregisternummer", "weitere_vertreter", "versicherer", "versicherungsnachweis",
                 "handelsregisterauszug", "bautraeger_vermoegenswerte", *NO_PARTICULARS)),
    Case("immobilienmakler-gmbh-verwalter-bremen", "anna.becker", "immobilienmakler-34c",
         immobilienmakler_company_as_property_manager(),
         [("gewerbeamt-bremen", "primary")],
         files={"versicherungsnachweis": pdf("Versicherungsbestaetigung-HDI.pdf"),
                "steuerbescheinigung": pdf("Bescheinigung-in-Steuersachen.pdf"),
                "insolvenzauskunft": png("Auskunft-Insolvenzgericht-Bremen.png"),
                "schuldnerverzeichnis": pdf("Schuldnerverzeichnis-Becker.pdf"),
                "handelsregisterauszug": pdf("HRB-12345-Auszug.pdf")},
         expect={"taetigkeiten": ["bautraeger", "baubetreuer", "wohnimmobilienverwalter"],
                 "bautraeger_vermoegenswerte": ["erwerber", "bewerber"], "versicherer": "HDI Versicherung AG",
                 "weitere_vertreter": [{**CO_MANAGING_DIRECTOR_FILED, "wohnanschrift": KOWALSKI_WOHNUNG_FILED}],
                 **ANNA_FILED},
         absent=("makler_objekte",)),

    Case("reisegewerbekarte-wohnsitz-bremerhaven", "jonas.weber", "reisegewerbekarte",
         reisegewerbekarte_door_to_door_sales(),
         [("gewerbeamt-bremerhaven", "primary")],  # the residence decides, not the company in Bremen
         files={"lichtbild": jpeg("Passbild-Weber.jpg"), "ausweis": pdf("Personalausweis-Weber.pdf")},
         expect={"art": "leistungen", "beschaeftigte": 0,
                 "niederlassung_anschrift": {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"}}),
    Case("reisegewerbekarte-imbisswagen-hamburg", "lea.hansen", "reisegewerbekarte",
         reisegewerbekarte_food_truck(),
         [("gewerbeamt-hamburg", "primary")],
         files={"lichtbild": png("Passbild-Hansen.png"), "ausweis": jpeg("Personalausweis-Hansen.jpg")},
         expect={"hat_niederlassung": False},
         absent=("niederlassung_anschrift", "aufenthaltstitel")),

    Case("ursprungszeugnis-schaltanlagen-dubai", "jonas.weber", "ursprungszeugnis",
         ursprungszeugnis_switchgear_to_dubai(),
         [("hk-bremen", "primary")],
         files={"handelsrechnung": pdf("RE-2026-11873.pdf"), "nachweis": pdf("Herstellererklaerung-BS-400.pdf")},
         expect={"ust_idnr": "DE136695976", "kopien": 2,
                 "positionen": [{"zeichen": "ANE 1-4, 4 Holzkisten",
                                 "warenbezeichnung": "Niederspannungs-Schaltschränke, Typ BS-400",
                                 "menge": "4 Stück"},
                                {"zeichen": "ANE 5, 1 Palette",
                                 "warenbezeichnung": "Unterverteilungen, vormontiert und geprüft",
                                 "menge": "12 Stück"}]}),

    Case("versicherungsvermittler-makler-hamburg", "lea.hansen", "versicherungsvermittler-34d",
         versicherungsvermittler_broker(),
         [("hk-hamburg", "primary")],
         files={"sachkundenachweis": pdf("Sachkunde-34d-Hansen.pdf"),
                "versicherungsnachweis": pdf("Haftpflicht-34d-Hansen.pdf"),
                "gewerbezentralregister_datei": pdf("GZR-Auskunft-Hansen.pdf"),
                "schuldnerverzeichnis_auskunft": pdf("Schuldnerverzeichnis-Hansen.pdf"),
                "insolvenzgericht_auskunft": png("Insolvenzgericht-Hamburg.png")},
         expect={"permit_type": "makler", "expertise_proven": True, "liability_insurance": True,
                 "fuehrungszeugnis": "beantragt", "sachkunde_art": "pruefung", "geburtsdatum": "1984-08-08"},
         absent=("vertretungsberechtigte", "eu_staaten", "mitwirkende", "fuehrungszeugnis_datei",
                 "handelsregisterauszug", "vertretene_versicherer", "keine_zuwendungen")),
    Case("versicherungsvermittler-vertreter-gmbh-bremen", "anna.becker", "versicherungsvermittler-34d",
         versicherungsvermittler_agent_company(),
         [("hk-bremen", "primary")],
         files={"sachkundenachweis": pdf("Sachkunde-34d-Becker.pdf"),
                "versicherungsnachweis": pdf("Haftpflicht-34d-Becker.pdf"),
                "fuehrungszeugnis_datei": pdf("Fuehrungszeugnisse-Becker-Kowalski.pdf"),
                "schuldnerverzeichnis_auskunft": pdf("Schuldnerverzeichnis-Becker-GmbH.pdf"),
                "insolvenzgericht_auskunft": pdf("Insolvenzgericht-Bremen.pdf"),
                "handelsregisterauszug": pdf("HRB-12345-Auszug.pdf")},
         expect={"permit_type": "vertreter", "antragsteller_art": "juristische_person",
                 "handelsregisternummer": BECKER_HRB, "sachkunde_art": "gleichgestellt",
                 "eu_staaten": [{"staat": "NL", "niederlassung": None}],
                 "mitwirkende": [{"family_name": "Weber", "given_names": "Jonas", "birth_date": "1986-09-02"}]},
         absent=("keine_zuwendungen", "gewerbezentralregister_datei")),
]


def destinations(app) -> list[tuple[str, str]]:
    with app.app_context():
        return sorted((d.chamber.slug, d.role) for d in db.session.scalars(select(Delivery)))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_service_is_filed_end_to_end(app, client, login_as, case: Case):
    login_as(case.user)
    reference = file_service(client, case.service, case.steps, files=case.files)

    # (1) the filing exists, and the company sees it under its reference
    detail = client.get(f"/antraege/{reference}")
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    service = app.extensions["bizportal"].catalog[case.service]
    assert reference in html and service.title.de in html
    assert f"Ihr Aktenzeichen: {reference}" in html  # the confirmation after submitting
    assert reference in client.get("/antraege").get_data(as_text=True)
    with app.app_context():
        filing = db.session.scalar(select(Filing))
        assert (filing.reference, filing.service_key, filing.person.sub) == (reference, case.service, case.user)
        data = filing.data
        filed = sorted((a.field_name, a.original_name) for a in filing.attachments)
    assert filed == sorted((name, filename) for name, (_content, filename) in case.files.items())
    for name in case.files:
        assert str(data[name]).startswith("attachment:"), name

    # (2) the chambers it goes to, with their roles
    assert destinations(app) == case.destinations

    # (3) the branch taken: answers filed as entered, answers of skipped steps and fields left out
    for name, value in case.expect.items():
        assert data[name] == value, name
    for name in case.absent:
        assert data.get(name) is None, name


def test_every_service_and_branch_is_covered():
    """Each service has a case; each conditional step and destination is both taken and skipped."""
    catalog = load_catalog()
    kind_of = {c["slug"]: c["kind"] for c in CHAMBERS}
    assert sorted(set(catalog) - {c.service for c in CASES}) == [], "services without a case"
    for key, service in catalog.items():
        cases = [c for c in CASES if c.service == key]
        visited = [set(c.steps) for c in cases]
        for step in service.steps:
            assert any(step.key in v for v in visited), f"{key}: no case shows step {step.key}"
            if step.show_if:
                assert any(step.key not in v for v in visited), f"{key}: no case skips step {step.key}"
        routed = [{kind_of[slug] for slug, _role in c.destinations} for c in cases]
        for rule in service.routing:
            assert any(rule.kind in r for r in routed), f"{key}: no case goes to {rule.kind}"
            if rule.when:
                assert any(rule.kind not in r for r in routed), f"{key}: every case goes to {rule.kind}"
