"""The apprenticeship registration (ausbildungsvertrag-eintragung) as a company answers it: an adult
office trainee, and the changes that make her a minor with a follow-on, shortened contract."""

from __future__ import annotations

from tests.support.filing import EveryStep
from tests.support.pdfs import minimal_pdf


def training_answers(**changes: str) -> EveryStep:
    """An adult office trainee in a crafts business in Bremen, three years, full time, no
    collective agreement, training starting in 2026 (a year with a published minimum)."""
    answers = EveryStep({
        "business_name": "Becker Elektrotechnik GmbH", "betriebsanschrift-street": "Am Wall 120",
        "betriebsanschrift-postcode": "28195", "betriebsanschrift-city": "Bremen", "handwerksbetrieb": "yes",
        "ausbilder": "Anna Becker", "ausbilder_geschlecht": "weiblich", "ausbilder_eignung": "meisterpruefung",
        "telefon": "0421 3378890", "ausbildende_email": "ausbildung@becker.example", "betriebsnummer": "1234 5678",
        "oeffentlicher_dienst": "no",
        "auszubildende_person-family_name": "Lange", "auszubildende_person-given_names": "Sophie",
        "auszubildende_person-birth_date": "2004-12-03", "auszubildende_person-birth_place": "Delmenhorst",
        "auszubildende_staatsangehoerigkeit": "DE",
        "auszubildende_anschrift-street": "Friedrich-Ebert-Straße 48", "auszubildende_anschrift-postcode": "28199",
        "auszubildende_anschrift-city": "Bremen", "auszubildende_geschlecht": "weiblich",
        "auszubildende_email": "sophie.lange@mail.example", "schulabschluss": "fachhochschulreife",
        "berufsvorbereitung": "no", "vorherige_berufsausbildung": "keine", "vorheriges_studium": "ohne_abschluss",
        "anschlussvertrag": "no",
        "ausbildungsberuf": "kaufmann-bueromanagement", "beruf_sonstiger": "", "duales_studium": "no",
        "vertragsschluss": "2026-08-20", "beginn": "2026-09-01", "ende": "2029-08-31", "ausbildungsdauer": "bis_36",
        "probezeit_monate": "3", "verkuerzung": "no", "teilzeitausbildung": "no", "tarifvertrag": "no",
        "tarifvertrag_hinweis": "", "foerderung": "keine", "massnahmen_ausserhalb": "Überbetriebliche Lehrgänge",
        "verguetung_erstes_jahr": "900", "verguetung_zweites_jahr": "980", "verguetung_drittes_jahr": "1060",
        "verguetung_viertes_jahr": "1100", "ausbildungszeit_taeglich": "8", "ausbildungszeit_woche": "39",
        "urlaubstage": "28",
    })
    answers.update(changes)
    return answers


#: a trainee of 17 at the start (2026-09-01): the guardians, the medical certificate and the JArbSchG's limits apply
MINOR_FOLLOW_ON_SHORTENED = {
    "auszubildende_person-birth_date": "2009-03-14",
    "anschlussvertrag": "yes", "anschluss_beruf": "Verkäufer/-in", "verkuerzung": "yes",
    "verkuerzung_monate": "12", "verkuerzung_grund": "berufsausbildung",
    "gesetzliche_vertreter-0-family_name": "Lange", "gesetzliche_vertreter-0-given_names": "Petra",
    "gesetzliche_vertreter-0-anschrift_wie_auszubildende": "no",
            "gesetzliche_vertreter-0-street": "Friedrich-Ebert-Straße 48", "gesetzliche_vertreter-0-postcode": "28199",
    "gesetzliche_vertreter-0-city": "Bremen", "gesetzliche_vertreter-0-email": "petra.lange@mail.example",
}
TRAINING_FILES = {"ausbildungsvertrag": (minimal_pdf("vertrag"), "Ausbildungsvertrag-Lange.pdf")}


TRAINING = "ausbildungsvertrag-eintragung"
#: a minor trainee's legal guardian (her mother, at another address)
GUARDIAN = {"gesetzliche_vertreter-0-family_name": "Lange", "gesetzliche_vertreter-0-given_names": "Petra",
            "gesetzliche_vertreter-0-anschrift_wie_auszubildende": "no",
            "gesetzliche_vertreter-0-street": "Friedrich-Ebert-Straße 48",
            "gesetzliche_vertreter-0-postcode": "28199", "gesetzliche_vertreter-0-city": "Bremen"}
