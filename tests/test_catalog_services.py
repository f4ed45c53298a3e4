"""The shipped service catalog: completeness of every definition and where each filing is routed."""

from __future__ import annotations

import pytest

from bizportal.catalog.loader import load_catalog
from bizportal.catalog.models import LIFE_EVENTS, SERVICE_KINDS

BREMEN = {"street": "Am Wall 120", "postcode": "28195", "city": "Bremen"}
BREMERHAVEN = {"street": "Hafenstraße 5", "postcode": "27568", "city": "Bremerhaven"}
HAMBURG = {"street": "Große Elbstraße 14", "postcode": "22767", "city": "Hamburg"}
PERSON = {"family_name": "Meyer", "given_names": "Anna", "birth_date": "1985-04-12",
          "birth_place": "Bremen", "nationality": "deutsch"}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_all_definitions_load_with_enough_services_of_every_kind(catalog):
    assert len(catalog) >= 12
    assert {s.kind for s in catalog.values()} == set(SERVICE_KINDS)
    assert {
        "gewerbeanmeldung", "gewerbeummeldung", "gewerbeabmeldung", "handwerksrolle-eintragung",
        "ausnahmebewilligung-8-hwo", "versicherungsvermittler-34d", "ausbildungsvertrag-eintragung",
        "ursprungszeugnis", "reisegewerbekarte", "gaststaettenerlaubnis",
    } <= set(catalog)


def test_every_service_tells_what_it_costs_takes_and_needs(catalog):
    for key, service in catalog.items():
        assert service.fee and service.fee.basis.de and service.fee.basis.en and service.fee.source, key
        assert service.sources and service.sources.legal_basis_url.startswith("https://"), key
        assert service.sources.form, key
        assert service.processing_time and service.processing_time.de and service.processing_time.en, key
        assert service.documents, key
        assert service.life_events and set(service.life_events) <= set(LIFE_EVENTS), key
        assert len(service.keywords) >= 10, key
        assert service.legal_basis and service.competent_body.de and service.competent_body.en, key
        assert service.location_field, key  # the competent body is found by postcode


def test_keywords_cover_german_and_english_search_words(catalog):
    words = {key: {k.lower() for k in s.keywords} for key, s in catalog.items()}
    assert {"anmelden", "register", "gewerbeschein"} <= words["gewerbeanmeldung"]
    assert {"handwerk", "craft"} <= words["handwerksrolle-eintragung"]
    assert {"versicherung", "insurance"} <= words["versicherungsvermittler-34d"]
    assert {"azubi", "apprenticeship"} <= words["ausbildungsvertrag-eintragung"]
    assert {"export", "certificate of origin"} <= words["ursprungszeugnis"]
    assert {"abmelden", "close business"} <= words["gewerbeabmeldung"]


def test_only_the_confirmed_leika_key_is_set(catalog):
    assert {k: s.leika for k, s in catalog.items() if s.leika} == {"gewerbeanmeldung": "99050012104000"}


def test_new_services_are_multi_step_forms(catalog):
    for key in ("gewerbeummeldung", "gewerbeabmeldung", "ausnahmebewilligung-8-hwo", "ausbildungsvertrag-eintragung",
                "ursprungszeugnis", "reisegewerbekarte", "gaststaettenerlaubnis", "bewachungserlaubnis-34a",
                "immobilienmakler-34c", "handwerk-verzeichnis-eintragung"):
        service = catalog[key]
        assert len(service.steps) >= 4, key
        assert service.field(service.location_field).type == "address", key
        assert any(fd.type == "file" for fd in service.fields), key


# --- routing: one realistic filing per service ------------------------------------------------

def test_gewerbeanmeldung_bicycle_shop_goes_to_trade_office_with_copy_to_ihk(catalog):
    answers = {"business_name": "Velo Meyer", "legal_form": "Einzelunternehmen", "street": "Am Wall 120",
               "postcode": "28195", "city": "Bremen", "activity": "Einzelhandel mit Fahrrädern",
               "start_date": "2025-03-01", "handwerk": False}
    service = catalog["gewerbeanmeldung"]
    assert service.destinations(answers) == [("GEWERBEAMT", "primary"), ("IHK", "copy")]
    assert service.postcode_from(answers) == "28195"


def test_gewerbeummeldung_of_a_crafts_business_goes_to_trade_office_with_copy_to_hwk(catalog):
    service = catalog["gewerbeummeldung"]
    answers = {"business_name": "Tischlerei Meyer", "legal_form": "Einzelunternehmen", "betriebsanschrift": BREMEN,
               "niederlassung": "hauptniederlassung", "handwerk": True, "grund": "verlegung",
               "aenderung_datum": "2025-06-01",
               "neue_anschrift": {"street": "Hafenstraße 12", "postcode": "28217", "city": "Bremen"},
               "taetigkeit": "Tischlerarbeiten, Möbelbau", "wz2008": "16.23.0", "erlaubnispflichtig": False,
               "handwerk_bezeichnung": "Tischler", "handwerkskarte_vorhanden": True}
    assert service.destinations(answers) == [("GEWERBEAMT", "primary"), ("HWK", "copy")]
    assert service.postcode_from(answers) == "28195"
    assert [s.key for s in service.visible_steps(answers)] == [
        "inhaber", "personen", "betrieb", "betriebsstaette", "grund", "verlegung", "taetigkeit",
        "wz", "betriebsart", "beschaeftigte", "niederlassung", "erlaubnis", "handwerk_angaben",
        "handwerkskarte_angaben", "unterlagen"]


def test_gewerbeummeldung_of_a_shop_goes_with_copy_to_ihk_and_skips_conditional_steps(catalog):
    service = catalog["gewerbeummeldung"]
    answers = {"betriebsanschrift": HAMBURG, "niederlassung": "zweigstelle", "handwerk": False, "grund": "ausdehnung",
               "taetigkeit": "Einzelhandel mit Fahrrädern und E-Bikes, Verleih von Fahrrädern",
               "erlaubnispflichtig": False}
    assert service.destinations(answers) == [("GEWERBEAMT", "primary"), ("IHK", "copy")]
    assert [s.key for s in service.visible_steps(answers)] == [
        "inhaber", "personen", "betrieb", "betriebsstaette", "grund", "bisherige_taetigkeit", "taetigkeit", "wz",
        "betriebsart", "beschaeftigte", "niederlassung", "hauptniederlassung", "erlaubnis", "unterlagen"]


@pytest.mark.parametrize("handwerk, chamber", [(True, "HWK"), (False, "IHK")])
def test_gewerbeabmeldung_copies_the_competent_chamber(catalog, handwerk, chamber):
    service = catalog["gewerbeabmeldung"]
    answers = {"business_name": "Friseursalon Schnittig", "betriebsanschrift": BREMERHAVEN, "handwerk": handwerk,
               "abmeldung_betrifft": "hauptniederlassung", "grund": "aufgabe",
               "abmeldung_datum": "2025-12-31", "aufgabe_ursache": "alter"}
    assert service.destinations(answers) == [("GEWERBEAMT", "primary"), (chamber, "copy")]
    assert service.postcode_from(answers) == "27568"
    assert "aufgabe" in [s.key for s in service.visible_steps(answers)]
    assert "nachfolge" not in [s.key for s in service.visible_steps(answers)]


def test_handwerksrolle_goes_to_hwk(catalog):
    answers = {"business_name": "Elektro Meyer", "street": "Am Wall 120", "postcode": "28195", "city": "Bremen",
               "trade": "elektrotechniker", "qualification": "meisterpruefung", "betriebsleiter_stellung": "inhaber",
               "start_date": "2025-04-01"}
    assert catalog["handwerksrolle-eintragung"].destinations(answers) == [("HWK", "primary")]


def test_ausnahmebewilligung_goes_to_hwk(catalog):
    answers = {"antragsteller": PERSON, "wohnanschrift": HAMBURG, "email": "anna@example.org",
               "business_name": "Dachdeckerei Meyer", "betriebsanschrift": HAMBURG, "handwerk": "dachdecker",
               "beginn": "2025-09-01", "ausnahmegrund": "betriebsuebernahme",
               "begruendung": "Übernahme des väterlichen Betriebs nach dessen Erkrankung.", "befristet": True,
               "beschraenkt": False, "gesellenpruefung": True, "berufsjahre": 12, "werdegang": "…"}
    service = catalog["ausnahmebewilligung-8-hwo"]
    assert service.destinations(answers) == [("HWK", "primary")]
    assert "teiltaetigkeiten" not in [s.key for s in service.visible_steps(answers)]


def test_versicherungsvermittler_goes_to_ihk(catalog):
    answers = {"applicant_name": "Anna Meyer", "business_name": "Meyer Versicherungsmakler", "street": "Am Wall 120",
               "postcode": "28195", "city": "Bremen", "permit_type": "makler", "expertise_proven": True,
               "liability_insurance": True}
    assert catalog["versicherungsvermittler-34d"].destinations(answers) == [("IHK", "primary")]


def test_ausbildungsvertrag_for_a_joiner_in_a_crafts_business_goes_to_hwk(catalog):
    service = catalog["ausbildungsvertrag-eintragung"]
    answers = {"business_name": "Tischlerei Meyer", "betriebsanschrift": BREMEN, "handwerksbetrieb": True,
               "ausbilder": "Anna Meyer", "auszubildende_person": {**PERSON, "birth_date": "2009-02-01"},
               "auszubildende_anschrift": BREMEN, "schulabschluss": "mittlerer",
               "gesetzliche_vertreter": [{"family_name": "Meyer", "given_names": "Jens", "street": "Am Wall 120",
                                          "postcode": "28195", "city": "Bremen"}],
               "ausbildungsberuf": "tischler", "vertragsschluss": "2025-05-02", "beginn": "2025-08-01",
               "ende": "2028-07-31", "probezeit_monate": 4, "verkuerzung": False, "verguetung_erstes_jahr": 850}
    assert service.destinations(answers) == [("HWK", "primary")]
    assert "vertreter" in [s.key for s in service.visible_steps(answers)]
    assert service.field("erstuntersuchung").visible(answers)


def test_ausbildungsvertrag_for_a_retail_salesperson_goes_to_ihk(catalog):
    service = catalog["ausbildungsvertrag-eintragung"]
    answers = {"business_name": "Modehaus Hansa", "betriebsanschrift": HAMBURG, "handwerksbetrieb": False,
               "ausbilder": "Jens Petersen", "auszubildende_person": PERSON, "auszubildende_anschrift": HAMBURG,
               "schulabschluss": "hochschulreife", "ausbildungsberuf": "kaufmann-einzelhandel",
               "vertragsschluss": "2025-04-10", "beginn": "2025-08-01", "ende": "2027-07-31",
               "probezeit_monate": 3, "verkuerzung": True, "verguetung_erstes_jahr": 950}
    assert service.destinations(answers) == [("IHK", "primary")]
    assert "vertreter" not in [s.key for s in service.visible_steps(answers)]
    assert service.field("nachweis_verkuerzung").visible(answers)


def test_ausbildungsvertrag_routing_rules_are_both_primary_and_conditional(catalog):
    rules = catalog["ausbildungsvertrag-eintragung"].routing
    assert {(r.kind, r.role, r.when.field, r.when.equals) for r in rules} == {
        ("HWK", "primary", "handwerksbetrieb", True), ("IHK", "primary", "handwerksbetrieb", False)}


def test_ursprungszeugnis_goes_to_ihk(catalog):
    answers = {"business_name": "Hanse Maschinenbau GmbH", "anschrift": HAMBURG, "ust_idnr": "DE136695976",
               "telefon": "040 123456", "empfaenger": "Acme Ltd., 1 Harbour Road, Singapore",
               "bestimmungsland": "Singapur", "ursprungsland": "Europäische Union (Deutschland)",
               "rechnungsnummer": "RE-2025-0815", "rechnungsdatum": "2025-05-20",
               "positionen": [{"zeichen": "HM 1-3, 3 Kisten", "warenbezeichnung": "Kreiselpumpen", "menge": "3 Stück"}],
               "ursprungsnachweis": "eigene_herstellung"}
    service = catalog["ursprungszeugnis"]
    assert service.destinations(answers) == [("IHK", "primary")]
    assert service.postcode_from(answers) == "22767"


def test_reisegewerbekarte_goes_to_the_local_office_of_residence(catalog):
    answers = {"antragsteller": PERSON, "wohnanschrift": BREMERHAVEN, "email": "anna@example.org",
               "art": "waren_feilbieten", "taetigkeit": "Verkauf von Obst und Gemüse auf Wochenmärkten",
               "beginn": "2025-05-01", "hat_niederlassung": False}
    service = catalog["reisegewerbekarte"]
    assert service.destinations(answers) == [("GEWERBEAMT", "primary")]
    assert service.postcode_from(answers) == "27568"
    assert "niederlassung" not in [s.key for s in service.visible_steps(answers)]


def test_gaststaettenerlaubnis_goes_to_the_local_office(catalog):
    answers = {"business_name": "Elbblick Gastro GmbH", "gaststaette_name": "Elbblick",
               "betriebsanschrift": HAMBURG, "betriebsart": "restaurant", "uebernahme": False,
               "juristische_person": True, "antragsteller": PERSON, "wohnanschrift": HAMBURG,
               "email": "anna@example.org", "telefon": "040 123456", "handelsregisternummer": "Hamburg HRB 123456",
               "weitere_vertreter_vorhanden": True,
               "weitere_vertreter": [{"family_name": "Petersen", "given_names": "Jens", "birth_date": "1979-11-03",
                                      "birth_place": "Kiel", "nationality": "deutsch"}],
               "flaeche_gastraum": 120, "sitzplaetze": 60, "aussengastronomie": True,
               "musik_veranstaltungen": False, "eroeffnung": "2025-10-01",
               "betriebsart_gastg": "schank_und_speise", "speisen_art": "Fischgerichte",
               "geschlecht": "weiblich", "staatsangehoerigkeit": "DE", "fruehere_wohnorte": [],
               "leitende_taetigkeiten": [], "strafverfahren": False, "bussgeldverfahren": False,
               "untersagungsverfahren": False, "vermoegensauskunft": False, "insolvenz": True,
               "insolvenz_angaben": "AG Hamburg, 67c IN 1/24", "fruehere_erlaubnis": False}
    service = catalog["gaststaettenerlaubnis"]
    assert service.destinations(answers) == [("GEWERBEAMT", "primary")]
    part_one = ["person_angaben", "wohnorte", "leitende_taetigkeiten", "erklaerungen"]
    assert [s.key for s in service.visible_steps(answers)] == [
        "betrieb", "betriebsart_angaben", "personen", *part_one, "insolvenz", "vertretung", "weitere_vertretung",
        "raeume", "unterlagen"]
    sole_trader = {**answers, "juristische_person": False, "weitere_vertreter_vorhanden": None,
                   "betriebsart_gastg": "schankwirtschaft", "insolvenz": False, "uebernahme": True,
                   "fruehere_erlaubnis": True}
    assert [s.key for s in service.visible_steps(sole_trader)] == [
        "betrieb", "uebernahme_angaben", "personen", *part_one, "fruehere_erlaubnis", "raeume", "unterlagen"]


def test_bewachungserlaubnis_goes_to_the_local_office(catalog):
    answers = {"business_name": "Nordwacht Sicherheitsdienst", "legal_form": "Einzelunternehmen",
               "betriebsanschrift": BREMEN, "juristische_person": False, "antragsteller": PERSON,
               "wohnanschrift": BREMEN, "email": "anna@example.org", "telefon": "0421 123456",
               "taetigkeit": "Objektschutz und Veranstaltungsschutz", "beschaeftigte": 8, "beginn": "2025-07-01"}
    service = catalog["bewachungserlaubnis-34a"]
    assert service.destinations(answers) == [("GEWERBEAMT", "primary")]
    assert not service.field("handelsregisterauszug").visible(answers)


def test_immobilienmakler_goes_to_the_local_office_and_asks_managers_for_insurance(catalog):
    answers = {"business_name": "Weser Immobilien", "legal_form": "Einzelunternehmen", "betriebsanschrift": BREMEN,
               "juristische_person": False, "antragsteller": PERSON, "wohnanschrift": BREMEN,
               "email": "anna@example.org", "taetigkeiten": ["makler", "wohnimmobilienverwalter"],
               "beginn": "2025-06-01"}
    service = catalog["immobilienmakler-34c"]
    assert service.destinations(answers) == [("GEWERBEAMT", "primary")]
    assert "versicherung" in [s.key for s in service.visible_steps(answers)]
    assert "versicherung" not in [s.key for s in service.visible_steps({**answers, "taetigkeiten": ["makler"]})]


def test_verzeichnis_eintragung_goes_to_hwk(catalog):
    answers = {"business_name": "Kosmetikstudio Anna", "legal_form": "Einzelunternehmen", "betriebsanschrift": HAMBURG,
               "inhaber": PERSON, "email": "anna@example.org", "anlage": "b2", "gewerbe": "Kosmetiker",
               "taetigkeit": "Kosmetische Behandlungen", "beginn": "2025-03-01"}
    assert catalog["handwerk-verzeichnis-eintragung"].destinations(answers) == [("HWK", "primary")]


def test_every_service_has_a_routing_test_above(catalog):
    covered = {"gewerbeanmeldung", "gewerbeummeldung", "gewerbeabmeldung", "handwerksrolle-eintragung",
               "ausnahmebewilligung-8-hwo", "versicherungsvermittler-34d", "ausbildungsvertrag-eintragung",
               "ursprungszeugnis", "reisegewerbekarte", "gaststaettenerlaubnis", "bewachungserlaubnis-34a",
               "immobilienmakler-34c", "handwerk-verzeichnis-eintragung"}
    assert set(catalog) == covered, "add a routing test for each new service"
