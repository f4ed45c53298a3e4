"""Forms a receiving body can process without asking back (issue 13, a clerk's findings): every craft
of Anlage A HwO on offer, dates of things already done not in the future, the EU/EEA route of § 9
HwO only for nationals of those states with experience from one of them, GewA field 21 with at least
one "Ja", the § 34c representatives asked as the applicant is, and GewA 3 field 28's free text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bizportal.catalog.bundle_loader import load_bundles
from bizportal.catalog.loader import DefinitionError, load_catalog, parse_definition
from bizportal.common.time import local_today
from bizportal.delivery.models import Delivery
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.inbox.models import InboxItem
from tests.support import permits
from tests.support.filing import (
    GESCHAEFTSFUEHRERIN,
    EveryStep,
    file_service,
    gewerbe_answers,
    post_step,
    start_draft,
)
from tests.support.handwerk import EU_EWR, MEISTERPRUEFUNG, betriebsleitung
from tests.support.pdfs import minimal_pdf
from tests.support.permits import MAKLER
from tests.support.permits import answers as permit_answers

ROLLE = "handwerksrolle-eintragung"
PDF = (minimal_pdf("nachweis"), "Nachweis.pdf")
FILES = {name: PDF for name in ("qualifikationsnachweis", "arbeitsvertrag", "erlaubnis", "vollmacht",
                                "steuerbescheinigung", "insolvenzauskunft", "schuldnerverzeichnis")}

#: Anlage A HwO (zulassungspflichtige Handwerke) since 14.02.2020, in its order: the number is the
#: position (ihk.de/rhein-neckar "Anlagen zur Handwerksordnung"; sbz-monteur.de "Meisterpflicht")
ANLAGE_A = [
    "Maurer und Betonbauer", "Ofen- und Luftheizungsbauer", "Zimmerer", "Dachdecker", "Straßenbauer",
    "Wärme-, Kälte- und Schallschutzisolierer", "Brunnenbauer", "Steinmetzen und Steinbildhauer", "Stuckateure",
    "Maler und Lackierer", "Gerüstbauer", "Schornsteinfeger", "Metallbauer", "Chirurgiemechaniker",
    "Karosserie- und Fahrzeugbauer", "Feinwerkmechaniker", "Zweiradmechaniker", "Kälteanlagenbauer",
    "Informationstechniker", "Kraftfahrzeugtechniker", "Landmaschinenmechaniker", "Büchsenmacher", "Klempner",
    "Installateur und Heizungsbauer", "Elektrotechniker", "Elektromaschinenbauer", "Tischler",
    "Boots- und Schiffbauer", "Seiler", "Bäcker", "Konditoren", "Fleischer", "Augenoptiker", "Hörakustiker",
    "Orthopädietechniker", "Orthopädieschuhmacher", "Zahntechniker", "Friseure", "Glaser",
    "Glasbläser und Glasapparatebauer", "Mechaniker für Reifen- und Vulkanisationstechnik",
    "Fliesen-, Platten- und Mosaikleger", "Betonstein- und Terrazzohersteller", "Estrichleger",
    "Behälter- und Apparatebauer", "Parkettleger", "Rollladen- und Sonnenschutztechniker",
    "Drechsler (Elfenbeinschnitzer) und Holzspielzeugmacher", "Böttcher", "Glasveredler",
    "Schilder- und Lichtreklamehersteller", "Raumausstatter", "Orgel- und Harmoniumbauer",
]
#: the values offered before (stored filings and drafts carry them)
EARLIER_ROLLE = {"elektrotechniker": 25, "installateur-heizungsbauer": 24, "tischler": 27, "maler-lackierer": 10,
                 "friseure": 38, "kraftfahrzeugtechniker": 20}
EARLIER_AUSNAHME = {**EARLIER_ROLLE, "dachdecker": 4, "maurer-betonbauer": 1, "baecker": 30, "fliesenleger": 42}


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def walk(client, service: str, every: EveryStep, step: str) -> str:
    """Post the steps before ``step`` (with the uploads); returns its path."""
    return permits.to_step(client, service, every, step, files=FILES)


def rolle(route: dict[str, str], leitung: dict[str, str], **changes: str) -> EveryStep:
    every = EveryStep({
        "business_name": "Becker Elektrotechnik GmbH, Zweigniederlassung Hamburg", "legal_form": "GmbH",
        "street": "Schloßmühlendamm 4", "postcode": "21073", "city": "Hamburg", "trade": "elektrotechniker",
        "start_date": "2027-06-01", "gruendungsart": "neugruendung",
        "registereintrag": "yes", "existenzgruender": "no", "filialen": "no",
        **leitung, **route, "fruehere_selbstaendigkeit": "no", "einwilligung_weitergabe": "no",
        "einwilligung_suchmaschine": "no", "einwilligung_handwerktest": "no", "keine_gewerbeuntersagung": "yes"})
    every.update(changes)
    return every


BECKER = betriebsleitung("geschaeftsfuehrer", "Becker", "Anna", "1980-05-17", "Bremen")


def leiter(nationality: str) -> dict[str, str]:
    return betriebsleitung("geschaeftsfuehrer", "Miller", "John", "1979-02-11", "Boston",
                           staatsangehoerigkeit=nationality, geschlecht="maennlich")


def html_of(resp) -> str:
    return resp.get_data(as_text=True)


# --- 1. Anlage A: all 53 crafts -------------------------------------------------------------------------

@pytest.mark.parametrize("service, field, earlier", [
    (ROLLE, "trade", EARLIER_ROLLE), ("ausnahmebewilligung-8-hwo", "handwerk", EARLIER_AUSNAHME)])
def test_every_craft_of_anlage_a_is_offered_with_its_number_and_earlier_values_keep_their_craft(
        service, field, earlier):
    choices = [c for c in load_catalog()[service].field(field).choices if not c.retired]
    assert [c.label.de for c in choices] == [f"Nr. {i} {name}" for i, name in enumerate(ANLAGE_A, 1)]
    values = [c.value for c in choices]
    for value, number in earlier.items():
        assert values.index(value) == number - 1, value


def test_the_page_offers_a_craft_added_in_2020(company):
    html = html_of(company.get(start_draft(company, ROLLE)))
    assert "Nr. 53 Orgel- und Harmoniumbauer" in html and "Nr. 42 Fliesen-, Platten- und Mosaikleger" in html


def test_a_filing_for_one_of_the_new_crafts_goes_to_the_chamber_of_crafts(app, company):
    reference = file_service(company, ROLLE, rolle(MEISTERPRUEFUNG, BECKER, trade="orgel-harmoniumbauer"),
                             files={"qualifikationsnachweis": PDF})
    assert Worker(app).run_once() == 1
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        sent = [(d.chamber.kind, d.chamber.slug, d.role) for d in db.session.scalars(
            select(Delivery).where(Delivery.filing_id == filing.id))]
        item = db.session.scalar(select(InboxItem).where(InboxItem.reference == reference))
        assert item is not None and item.data["trade"] == "orgel-harmoniumbauer"
    assert sent == [("HWK", "hwk-hamburg", "primary")]
    assert "Nr. 53 Orgel- und Harmoniumbauer" in html_of(company.get(f"/antraege/{reference}"))


# --- 2. dates of things already done --------------------------------------------------------------------

def _tomorrow(app) -> str:
    return (local_today(app.config["BABEL_DEFAULT_TIMEZONE"]) + timedelta(days=1)).isoformat()


def _today(app) -> str:
    return local_today(app.config["BABEL_DEFAULT_TIMEZONE"]).isoformat()


def test_an_examination_in_the_future_is_refused_and_today_is_accepted(app, company):
    path = walk(company, ROLLE, rolle(MEISTERPRUEFUNG, BECKER), "pruefung")
    resp = post_step(company, path, {**MEISTERPRUEFUNG, "pruefung_datum": _tomorrow(app)})
    assert resp.status_code == 422
    assert "Dieses Datum kann nicht in der Zukunft liegen." in html_of(resp)
    assert 'id="pruefung_datum"' in html_of(resp) and 'aria-invalid="true"' in html_of(resp)
    assert post_step(company, path, {**MEISTERPRUEFUNG, "pruefung_datum": _today(app)}).status_code == 302


def test_a_decision_dated_in_the_future_is_refused(app, company):
    path = walk(company, ROLLE, rolle(EU_EWR, leiter("PL")), "bescheid")
    resp = post_step(company, path, {**EU_EWR, "bescheid_datum": _tomorrow(app)})
    assert resp.status_code == 422 and "Dieses Datum kann nicht in der Zukunft liegen." in html_of(resp)


def test_a_permit_issued_in_the_future_is_refused_on_the_gewerbeanmeldung(app, company):
    every = gewerbe_answers(erlaubnispflichtig="yes", erlaubnis_behoerde="Handwerkskammer Bremen")
    path = walk(company, "gewerbeanmeldung", every, "erlaubnis_angaben")
    resp = post_step(company, path, {"erlaubnis_datum": _tomorrow(app), "erlaubnis_behoerde": "Handwerkskammer Bremen"},
                     files={"erlaubnis": PDF})
    assert resp.status_code == 422 and "Dieses Datum kann nicht in der Zukunft liegen." in html_of(resp)
    resp = post_step(company, path, {"erlaubnis_datum": "2026-11-02", "erlaubnis_behoerde": "Handwerkskammer Bremen"},
                     files={"erlaubnis": PDF})
    assert resp.status_code == 302


def test_the_english_page_says_so_in_english(app, company):
    company.get("/sprache/en")
    path = walk(company, ROLLE, rolle(MEISTERPRUEFUNG, BECKER), "pruefung")
    resp = post_step(company, path, {**MEISTERPRUEFUNG, "pruefung_datum": _tomorrow(app)})
    assert resp.status_code == 422 and "This date cannot lie in the future." in html_of(resp)


def test_dates_of_things_done_are_marked_past_in_every_definition():
    catalog = load_catalog()

    def past(service: str, name: str) -> bool:
        fd = catalog[service].field(name)
        if fd is None:  # a sub-field of the persons group
            fd = next(sub for f in catalog[service].fields for sub in f.fields if sub.name == name)
        return fd.past

    for service, name in [(ROLLE, "pruefung_datum"), (ROLLE, "bescheid_datum"),
                          ("gewerbeanmeldung", "erlaubnis_datum"), ("gewerbeanmeldung", "handwerkskarte_datum"),
                          ("gewerbeanmeldung", "aufenthaltstitel_datum"), ("gewerbeummeldung", "erlaubnis_datum"),
                          ("gewerbeummeldung", "handwerkskarte_datum"), ("gewerbeummeldung", "aufenthaltstitel_datum"),
                          ("ausbildungsvertrag-eintragung", "vertragsschluss"), ("ursprungszeugnis", "rechnungsdatum")]:
        assert past(service, name), (service, name)
    for service, name in [(ROLLE, "start_date"), ("gewerbeanmeldung", "start_date")]:  # planned: may lie ahead
        assert not past(service, name)
    for bundle in load_bundles(catalog).values():
        for fd in bundle.questionnaire.fields:
            for sub in fd.fields:
                if sub.name == "aufenthaltstitel_datum":
                    assert sub.past, bundle.key


def _definition(field: dict, checks: list | None = None) -> dict:
    return {"key": "probe", "kind": "trade", "title": {"de": "P", "en": "P"}, "summary": {"de": "P", "en": "P"},
            "competent_body": {"de": "P", "en": "P"}, "legal_basis": "§ 1",
            "fields": [{"name": "land", "type": "country", "label": {"de": "Land", "en": "Country"}}, field],
            "routing": [{"kind": "IHK"}], "checks": checks or []}


def test_the_loader_refuses_past_on_a_field_that_is_no_date_and_a_one_of_check_with_unknown_values():
    date_field = {"name": "am", "type": "date", "past": True, "label": {"de": "Am", "en": "On"}}
    assert parse_definition(_definition(date_field), "probe.toml").fields[1].past
    with pytest.raises(DefinitionError, match="only a date field has past"):
        parse_definition(_definition({**date_field, "type": "text"}), "probe.toml")
    with pytest.raises(DefinitionError, match="must be true or false"):
        parse_definition(_definition({**date_field, "past": "ja"}), "probe.toml")
    check = {"rule": "one_of", "field": "land", "values": ["PL", "XX"], "message": {"de": "M", "en": "M"}}
    with pytest.raises(DefinitionError, match="'XX' is not an ISO 3166-1 alpha-2 code"):
        parse_definition(_definition(date_field, [check]), "probe.toml")
    with pytest.raises(DefinitionError, match="a one_of check is for a choice or country field"):
        parse_definition(_definition(date_field, [{**check, "field": "am", "values": ["PL"]}]), "probe.toml")
    with pytest.raises(DefinitionError, match="only a one_of check has values"):
        parse_definition(_definition(date_field, [{**check, "rule": "differs", "other": "land",
                                                             "values": ["PL"]}]), "probe.toml")
    loaded = parse_definition(_definition(date_field, [{**check, "values": ["PL", "CH"]}]), "probe.toml")
    assert loaded.checks[0].problem({"land": "US"}) == {} and loaded.checks[0].problem({"land": "CH"}) is None


# --- 3. the EU/EEA route ---------------------------------------------------------------------------------

def test_the_eu_route_is_refused_for_a_manager_of_another_nationality(company):
    path = walk(company, ROLLE, rolle(EU_EWR, leiter("US")), "qualifikation")
    resp = post_step(company, path, {"qualification": "eu_ewr"})
    assert resp.status_code == 422
    assert "Die Ausnahmebewilligung nach § 9 HwO erhalten nur Staatsangehörige" in html_of(resp)
    # the same manager on a permit under § 8 HwO goes on
    assert post_step(company, path, {"qualification": "ausnahmebewilligung"}).status_code == 302


@pytest.mark.parametrize("nationality", ["PL", "DE", "CH", "NO"])
def test_the_eu_route_is_open_to_nationals_of_the_eu_the_eea_and_switzerland(company, nationality):
    path = walk(company, ROLLE, rolle(EU_EWR, leiter(nationality)), "qualifikation")
    assert post_step(company, path, {"qualification": "eu_ewr"}).status_code == 302


@pytest.mark.parametrize("state, status", [("US", 422), ("DE", 422), ("PL", 302), ("CH", 302), ("IS", 302)])
def test_the_experience_must_come_from_another_eu_or_eea_state_or_switzerland(company, state, status):
    path = walk(company, ROLLE, rolle(EU_EWR, leiter("PL")), "bescheid")
    resp = post_step(company, path, {**EU_EWR, "herkunftsstaat": state})
    assert resp.status_code == status
    if status == 422:
        assert "Bitte wählen Sie diesen Staat." in html_of(resp)


# --- 4. GewA field 21 -----------------------------------------------------------------------------------

def test_a_gewerbeanmeldung_with_four_times_nein_in_field_21_is_refused(company):
    every = gewerbe_answers(handwerk="no")
    path = walk(company, "gewerbeanmeldung", every, "betriebsart")
    four_no = {"handwerk": "no", "industrie": "no", "handel": "no", "sonstiges": "no", "vollzeit": "3",
               "teilzeit": "1"}
    resp = post_step(company, path, four_no)
    assert resp.status_code == 422
    assert "Mindestens eine der Angaben Handwerk, Industrie, Handel oder Sonstiges muss „Ja“ sein." in html_of(resp)
    assert post_step(company, path, {**four_no, "handel": "yes"}).status_code == 302


@pytest.mark.parametrize("service", ["gewerbeanmeldung", "gewerbeummeldung", "gewerbeabmeldung"])
def test_every_gewerbeanzeige_needs_one_kind_of_business(service):
    checks = [c for c in load_catalog()[service].checks if c.field == "sonstiges"]
    assert len(checks) == 1
    no = {"handwerk": False, "industrie": False, "handel": False}
    assert checks[0].problem({**no, "sonstiges": False}) == {}
    assert checks[0].problem({**no, "sonstiges": True}) is None
    assert checks[0].problem({**no, "industrie": True, "sonstiges": False}) is None


def test_the_move_bundle_asks_one_kind_of_business_too():
    bundle = load_bundles(load_catalog())["betrieb-verlegen-aufgeben"]
    check = next(c for c in bundle.questionnaire.checks if c.field == "sonstiges")
    assert check.problem({"handwerk": False, "industrie": False, "handel": False, "sonstiges": False}) == {}
    assert check.problem({"handwerk": True, "industrie": False, "handel": False, "sonstiges": False}) is None


# --- 5. § 34c further representatives -------------------------------------------------------------------

@pytest.fixture
def hansen(client, login_as):
    login_as("lea.hansen")
    return client


def test_a_34c_representative_needs_a_home_address_and_the_applicant_a_birth_place(hansen):
    every = permit_answers(juristische_person="yes", handelsregisternummer="Hamburg HRA 98765",
                           weitere_vertreter_vorhanden="yes")
    entry = {"family_name": "Kowalski", "given_names": "Piotr", "birth_date": "1975-06-30", "birth_place": "Gdańsk",
             "geschlecht": "maennlich", "staatsangehoerigkeit": "PL", "strafverfahren": "no", "bussgeldverfahren": "no",
             "untersagungsverfahren": "no", "vermoegensauskunft": "no", "insolvenz": "no"}
    form = {f"weitere_vertreter-0-{k}": v for k, v in entry.items()}
    path = walk(hansen, MAKLER, every, "weitere_vertretung")
    resp = post_step(hansen, path, form)
    assert resp.status_code == 422 and 'name="weitere_vertreter-0-wohnanschrift-street"' in html_of(resp)
    home = {"weitere_vertreter-0-wohnanschrift-street": "Hoheluftchaussee 58",
            "weitere_vertreter-0-wohnanschrift-postcode": "20253", "weitere_vertreter-0-wohnanschrift-city": "Hamburg"}
    assert post_step(hansen, path, {**form, **home}).status_code == 302

    path = walk(hansen, MAKLER, every, "personen")
    resp = post_step(hansen, path, {**every, "antragsteller-birth_place": ""})
    assert resp.status_code == 422 and 'aria-invalid="true"' in html_of(resp)
    assert post_step(hansen, path, every).status_code == 302


# --- 6. GewA 3 field 28 ---------------------------------------------------------------------------------

def _closing(**changes: str) -> EveryStep:
    every = EveryStep({
        "inhaber_art": "juristische_person", "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH",
        "registereintrag": "yes", "handelsregisternummer": "Bremen HRB 12345", **GESCHAEFTSFUEHRERIN,
        "zahl_vertreter": "1", "oeffentliche_hand": "nein", "betriebsanschrift-street": "Am Wall 120",
        "betriebsanschrift-postcode": "28195", "betriebsanschrift-city": "Bremen",
        "abmeldung_betrifft": "hauptniederlassung", "reisegewerbe": "no", "taetigkeit": "Elektroinstallation",
        "nebenerwerb": "no",
        "wz2008": "43.21.0", "handwerk": "yes", "industrie": "no", "handel": "no", "sonstiges": "no",
        "vollzeit": "2", "teilzeit": "0", "abmeldung_datum": "2026-12-31", "grund": "aufgabe",
        "aufgabe_ursache": "sonstiges"})
    every.update(changes)
    return every


def test_other_reasons_for_closing_are_asked_as_text_and_reach_the_office(app, company):
    path = walk(company, "gewerbeabmeldung", _closing(), "aufgabe_sonstige")
    assert post_step(company, path, {"aufgabe_ursache_sonstige": ""}).status_code == 422
    reason = "Aufgabe wegen Umzugs ins Ausland"
    reference = file_service(company, "gewerbeabmeldung", _closing(aufgabe_ursache_sonstige=reason), files=FILES)
    assert Worker(app).run_once() >= 1
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        assert filing.data["aufgabe_ursache_sonstige"] == reason
        items = db.session.scalars(select(InboxItem).where(InboxItem.reference == reference)).all()
        assert items and all(i.data["aufgabe_ursache_sonstige"] == reason for i in items)
    page = html_of(company.get(f"/antraege/{reference}"))
    assert "Sonstige Gründe der Aufgabe (Feld 28)" in page and reason in page


def test_the_text_is_not_asked_for_another_cause(company):
    path = walk(company, "gewerbeabmeldung", _closing(aufgabe_ursache="alter"), "unterlagen")
    assert path.endswith("/unterlagen")
