"""The apprenticeship registration (§ 34 Abs. 2 and § 11 BBiG) and the § 34d GewO licence (§ 34d
Abs. 5 GewO, § 8 VersVermV) as their legal basis asks them: the fields in order with their
conditions, the checks across answers (end after start, the statutory minimum allowance of
§ 17 Abs. 2 BBiG), and complete filings whose delivery carries the new answers."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from bizportal.catalog.loader import DefinitionError, load_catalog, parse_definition
from bizportal.catalog.minimums import load_table
from bizportal.delivery import jobs
from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.filing import (
    VERSICHERUNGSVERMITTLER_FILES,
    EveryStep,
    file_service,
    fill_steps,
    path_of,
    post_step,
    start_draft,
    versicherungsvermittler_answers,
)
from tests.support.pdfs import minimal_pdf
from tests.support.training import MINOR_FOLLOW_ON_SHORTENED, TRAINING_FILES, training_answers

TRAINING = "ausbildungsvertrag-eintragung"
BROKER = "versicherungsvermittler-34d"


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _names_in_order(html: str, names: list[str]) -> None:
    """Every field appears on the page, in this order."""
    positions = []
    for name in names:
        match = re.search(rf'name="{re.escape(name)}(-[a-z_0-9-]+)?"', html)
        assert match, f"field {name} is not on the page"
        positions.append(match.start())
    assert positions == sorted(positions), f"fields out of order: {names}"


def _to_step(client, service: str, answers: EveryStep, step: str) -> str:
    """Fill the steps before ``step``; returns its path."""
    path = start_draft(client, service)
    for _ in range(20):
        if path.rsplit("/", 1)[-1] == step:
            return path
        resp = post_step(client, path, answers)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        path = path_of(resp.headers["Location"])
    raise AssertionError(f"step {step} not reached")


def _visited(client, service: str, answers: EveryStep, files: dict) -> list[str]:
    """The steps the portal shows for these answers, in order, up to the review."""
    path, keys = start_draft(client, service), []
    while not path.endswith("/pruefen") and len(keys) < 20:
        keys.append(path.rsplit("/", 1)[-1])
        resp = post_step(client, path, answers, files=files)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        path = path_of(resp.headers["Location"])
    return keys


def _errors(resp) -> str:
    assert resp.status_code == 422, resp.status_code
    return resp.get_data(as_text=True)


def _payload_of(app, reference: str):
    """What the receiving chamber gets for the filing (the adapter's payload of its delivery)."""
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        delivery = db.session.scalar(select(Delivery).where(Delivery.filing_id == filing.id))
        ext = app.extensions["bizportal"]
        return jobs.payload(jobs.read_jobs([delivery.id])[delivery.id], ext.catalog, ext.storage)


# --- the apprenticeship: fields, conditions, checks ---------------------------------------------------

def test_apprenticeship_fields_follow_the_register_entries_in_order(company):
    answers = training_answers()
    html = company.get(start_draft(company, TRAINING)).get_data(as_text=True)
    _names_in_order(html, ["business_name", "betriebsanschrift", "handwerksbetrieb", "ausbilder",
                           "ausbilder_geschlecht", "ausbilder_eignung", "telefon", "ausbildende_email",
                           "betriebsnummer", "oeffentlicher_dienst"])
    html = company.get(_to_step(company, TRAINING, answers, "auszubildende")).get_data(as_text=True)
    _names_in_order(html, ["auszubildende_person", "auszubildende_staatsangehoerigkeit", "auszubildende_anschrift",
                           "auszubildende_geschlecht",
                           "auszubildende_email", "schulabschluss", "berufsvorbereitung", "vorherige_berufsausbildung",
                           "vorheriges_studium", "anschlussvertrag"])
    assert 'name="minderjaehrig"' not in html  # read from the birth date and the start, not asked
    html = company.get(_to_step(company, TRAINING, answers, "ausbildung")).get_data(as_text=True)
    _names_in_order(html, ["ausbildungsberuf", "beruf_sonstiger", "duales_studium", "vertragsschluss", "beginn",
                           "ende", "ausbildungsdauer", "probezeit_monate", "verkuerzung", "teilzeitausbildung",
                           "tarifvertrag", "tarifvertrag_hinweis", "foerderung", "massnahmen_ausserhalb"])
    html = company.get(_to_step(company, TRAINING, answers, "verguetung")).get_data(as_text=True)
    _names_in_order(html, ["verguetung_erstes_jahr", "verguetung_zweites_jahr", "verguetung_drittes_jahr",
                           "ausbildungszeit_taeglich", "ausbildungszeit_woche", "urlaubstage"])


def test_follow_on_guardians_and_shortening_are_asked_only_when_they_apply(company):
    assert _visited(company, TRAINING, training_answers(), TRAINING_FILES) == [
        "betrieb", "auszubildende", "ausbildung", "verguetung", "unterlagen"]
    files = {**TRAINING_FILES, "erstuntersuchung": (minimal_pdf("J1"), "J1.pdf"),
             "nachweis_verkuerzung": (minimal_pdf("Zeugnis"), "Zeugnis.pdf")}
    assert _visited(company, TRAINING, training_answers(**MINOR_FOLLOW_ON_SHORTENED), files) == [
        "betrieb", "auszubildende", "anschluss", "ausbildung", "vertreter", "verkuerzung_angaben", "verguetung",
        "unterlagen"]


@pytest.mark.parametrize(("duration", "end", "years"), [
    ("bis_12", "2027-08-31", ["erstes"]), ("bis_24", "2028-08-31", ["erstes", "zweites"]),
    ("bis_36", "2029-08-31", ["erstes", "zweites", "drittes"]),
    ("ueber_36", "2030-02-28", ["erstes", "zweites", "drittes", "viertes"]),
])
def test_the_allowance_is_asked_for_each_year_of_the_contract(company, duration, end, years):
    html = company.get(_to_step(company, TRAINING, training_answers(ausbildungsdauer=duration, ende=end),
                                "verguetung")).get_data(as_text=True)
    shown = [y for y in ("erstes", "zweites", "drittes", "viertes") if f'name="verguetung_{y}_jahr"' in html]
    assert shown == years


@pytest.mark.parametrize("months", ["0", "5"])
def test_probation_outside_one_to_four_months_is_refused(company, months):
    path = _to_step(company, TRAINING, training_answers(), "ausbildung")
    html = _errors(post_step(company, path, training_answers(probezeit_monate=months)))
    assert "Bitte geben Sie eine Zahl zwischen 1 und 4 an." in html


def test_an_end_before_the_start_is_refused(company):
    path = _to_step(company, TRAINING, training_answers(), "ausbildung")
    html = _errors(post_step(company, path, training_answers(ende="2026-08-31")))
    assert "Das Ende der Ausbildung muss nach ihrem Beginn liegen." in html


def test_a_betriebsnummer_must_have_eight_digits(company):
    html = _errors(post_step(company, start_draft(company, TRAINING), training_answers(betriebsnummer="12345")))
    assert "Bitte geben Sie die Betriebsnummer mit acht Ziffern an" in html


def test_an_allowance_below_the_minimum_of_the_starting_year_is_refused(app, company):
    path = _to_step(company, TRAINING, training_answers(), "verguetung")
    html = _errors(post_step(company, path, training_answers(verguetung_erstes_jahr="700",
                                                             verguetung_drittes_jahr="950")))
    assert "Bei einem Ausbildungsbeginn im Jahr 2026 beträgt die Mindestvergütung im ersten Ausbildungsjahr " \
           "724 Euro im Monat" in html
    assert "im dritten Ausbildungsjahr 977 Euro" in html
    assert 'id="verguetung_erstes_jahr-error"' in html and 'id="verguetung_drittes_jahr-error"' in html
    assert 'id="verguetung_zweites_jahr-error"' not in html  # 980 is above 854
    # exactly the minimum is enough
    resp = post_step(company, path, training_answers(verguetung_erstes_jahr="724", verguetung_drittes_jahr="977"))
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Draft)).data["verguetung_erstes_jahr"] == 724


def test_the_english_page_names_the_minimum_in_english(company):
    company.get("/sprache/en")
    path = _to_step(company, TRAINING, training_answers(), "verguetung")
    html = _errors(post_step(company, path, training_answers(verguetung_zweites_jahr="800")))
    assert "For training starting in 2026 the statutory minimum in the second year is 854 euros a month" in html


@pytest.mark.parametrize("exception", [{"tarifvertrag": "yes"}, {"teilzeitausbildung": "yes"}])
def test_a_collective_agreement_or_part_time_training_may_pay_less(company, exception):
    answers = training_answers(**exception, verguetung_erstes_jahr="650")
    path = _to_step(company, TRAINING, answers, "verguetung")
    assert post_step(company, path, answers).status_code == 302


def test_a_minor_trains_at_most_forty_hours_a_week(company):
    minor = training_answers(**MINOR_FOLLOW_ON_SHORTENED, ausbildungszeit_woche="42")
    path = _to_step(company, TRAINING, minor, "verguetung")
    html = _errors(post_step(company, path, minor))
    assert "Jugendliche dürfen höchstens 40 Stunden in der Woche beschäftigt werden" in html
    assert post_step(company, path, {**minor, "ausbildungszeit_woche": "40"}).status_code == 302
    adult = training_answers(ausbildungszeit_woche="42")
    assert post_step(company, _to_step(company, TRAINING, adult, "verguetung"), adult).status_code == 302


def test_moving_the_start_into_a_year_with_a_higher_minimum_reopens_the_pay_step(company):
    # 2025 has no published row of its own: it is checked against 2024's 649 Euro
    answers = training_answers(vertragsschluss="2025-06-20", beginn="2025-08-01", ende="2028-07-31",
                               verguetung_erstes_jahr="650")
    review = fill_steps(company, start_draft(company, TRAINING), answers, files=TRAINING_FILES)
    ausbildung = review.replace("/pruefen", "/ausbildung")
    resp = post_step(company, ausbildung, training_answers(beginn="2026-09-01", ende="2029-08-31",
                                                           verguetung_erstes_jahr="650"))
    assert path_of(resp.headers["Location"]).endswith("/verguetung")  # not the review: the pay is checked again
    html = _errors(post_step(company, path_of(resp.headers["Location"]),
                             training_answers(verguetung_erstes_jahr="650")))
    assert "724 Euro" in html


def test_a_complete_apprenticeship_filing_delivers_the_register_entries(app, company):
    answers = training_answers(**MINOR_FOLLOW_ON_SHORTENED, ausbildungsdauer="bis_24", ende="2028-08-31")
    files = {**TRAINING_FILES, "erstuntersuchung": (minimal_pdf("J1"), "Erstuntersuchung.pdf"),
             "nachweis_verkuerzung": (minimal_pdf("Zeugnis"), "Abschlusszeugnis-Verkaeuferin.pdf")}
    reference = file_service(company, TRAINING, answers, files=files)
    payload = _payload_of(app, reference)
    assert payload.destination == "hwk-bremen"
    data = payload.data
    assert data["ausbilder_eignung"] == "meisterpruefung" and data["betriebsnummer"] == "12345678"
    assert data["auszubildende_geschlecht"] == "weiblich" and data["vorheriges_studium"] == "ohne_abschluss"
    assert data["anschluss_beruf"] == "Verkäufer/-in" and data["verkuerzung_grund"] == "berufsausbildung"
    assert data["gesetzliche_vertreter"][0]["email"] == "petra.lange@mail.example"
    assert (data["verguetung_erstes_jahr"], data["verguetung_zweites_jahr"]) == (900, 980)
    assert "verguetung_drittes_jahr" not in data  # a two-year contract has no third year
    assert (data["ausbildungszeit_woche"], data["urlaubstage"], data["tarifvertrag"]) == (39, 28, False)
    assert {a.field for a in payload.attachments} == {"ausbildungsvertrag", "erstuntersuchung",
                                                      "nachweis_verkuerzung"}


# --- § 34d: steps, conditions, evidence -------------------------------------------------------------------

def broker_answers(**changes: str) -> EveryStep:
    """A sole trader applying as broker, in Bremen (the chamber there receives it)."""
    return versicherungsvermittler_answers(**{"applicant_name": "Anna Becker", "geburtsdatum": "1978-03-14",
                                              "business_name": "Becker Versicherungsmakler e. K.",
                                              "street": "Am Wall 120", "postcode": "28195", "city": "Bremen",
                                              **changes})


BROKER_FILES = VERSICHERUNGSVERMITTLER_FILES
COMPANY = {"antragsteller_art": "juristische_person", "handelsregisternummer": "Bremen HRB 12345",
           "vertretungsberechtigte-0-family_name": "Becker", "vertretungsberechtigte-0-given_names": "Anna",
           "vertretungsberechtigte-0-birth_date": "1978-03-14", "vertretungsberechtigte-0-birth_place": "Bremen",
           "grenzueberschreitend": "yes", "eu_staaten-0-staat": "AT", "mitwirkende_vorhanden": "yes",
           "mitwirkende-0-family_name": "Weber", "mitwirkende-0-given_names": "Jonas",
           "mitwirkende-0-birth_date": "1986-09-02", "fuehrungszeugnis": "beigefuegt"}


def test_34d_steps_follow_the_applicant_and_the_register_entry(company):
    assert _visited(company, BROKER, broker_answers(), BROKER_FILES) == [
        "angaben", "taetigkeit", "register", "voraussetzungen", "zuverlaessigkeit", "nachweise"]
    files = {**BROKER_FILES, "fuehrungszeugnis_datei": (minimal_pdf("FZ"), "FZ.pdf"),
             "handelsregisterauszug": (minimal_pdf("HR"), "HR.pdf")}
    assert _visited(company, BROKER, broker_answers(**COMPANY), files) == [
        "angaben", "vertretung", "taetigkeit", "register", "eu_staaten", "mitwirkende", "voraussetzungen",
        "zuverlaessigkeit", "nachweise"]


def test_34d_fields_appear_in_order(company):
    html = company.get(start_draft(company, BROKER)).get_data(as_text=True)
    _names_in_order(html, ["antragsteller_art", "applicant_name", "geburtsdatum", "business_name", "street",
                           "postcode", "city", "permit_type"])
    html = company.get(_to_step(company, BROKER, broker_answers(), "zuverlaessigkeit")).get_data(as_text=True)
    _names_in_order(html, ["fuehrungszeugnis", "gewerbezentralregister", "verurteilung", "insolvenzverfahren",
                           "schuldnerverzeichnis_eintrag"])


@pytest.mark.parametrize(("permit", "shown", "hidden"), [
    ("makler", [], ["vertretene_versicherer", "keine_zuwendungen"]),
    ("vertreter", ["vertretene_versicherer"], ["keine_zuwendungen"]),
    ("berater", ["keine_zuwendungen"], ["vertretene_versicherer"]),
])
def test_agents_name_their_insurers_and_advisers_declare_no_commissions(company, permit, shown, hidden):
    html = company.get(_to_step(company, BROKER, broker_answers(permit_type=permit), "taetigkeit")).get_data(
        as_text=True)
    assert all(f'name="{n}"' in html for n in shown)
    assert not any(f'name="{n}"' in html for n in hidden)


def test_evidence_asked_follows_the_declarations(company):
    html = company.get(_to_step(company, BROKER, broker_answers(), "nachweise")).get_data(as_text=True)
    assert 'name="gewerbezentralregister_datei"' in html and 'name="fuehrungszeugnis_datei"' not in html
    assert 'name="handelsregisterauszug"' not in html
    html = company.get(_to_step(company, BROKER, broker_answers(**COMPANY, gewerbezentralregister="beantragt"),
                                "nachweise")).get_data(as_text=True)
    assert 'name="fuehrungszeugnis_datei"' in html and 'name="handelsregisterauszug"' in html
    assert 'name="gewerbezentralregister_datei"' not in html
    # without proof of expertise no certificate is asked for
    html = company.get(_to_step(company, BROKER, broker_answers(expertise_proven="no"), "nachweise")).get_data(
        as_text=True)
    assert 'name="sachkundenachweis"' not in html and 'name="sachkunde_art"' not in html


def test_34d_refuses_missing_evidence_and_answers(company):
    html = _errors(post_step(company, start_draft(company, BROKER), broker_answers(geburtsdatum="")))
    assert "Bitte füllen Sie dieses Feld aus." in html
    path = _to_step(company, BROKER, broker_answers(), "zuverlaessigkeit")
    html = _errors(post_step(company, path, broker_answers(fuehrungszeugnis="")))
    assert "Bitte wählen Sie einen Eintrag aus." in html or "Bitte füllen Sie dieses Feld aus." in html
    path = _to_step(company, BROKER, broker_answers(), "nachweise")
    html = _errors(post_step(company, path, broker_answers(), files={
        k: v for k, v in BROKER_FILES.items() if k != "schuldnerverzeichnis_auskunft"}))
    assert 'id="schuldnerverzeichnis_auskunft-error"' in html and html.count('class="kern-error"') == 1


def test_a_complete_34d_filing_of_a_company_delivers_register_data_and_evidence(app, company):
    files = {**{k: v for k, v in BROKER_FILES.items() if k != "gewerbezentralregister_datei"},
             "fuehrungszeugnis_datei": (minimal_pdf("FZ"), "Fuehrungszeugnis.pdf"),
             "handelsregisterauszug": (minimal_pdf("HR"), "HRB-12345.pdf")}
    reference = file_service(company, BROKER, broker_answers(**COMPANY, gewerbezentralregister="beantragt",
                                                             permit_type="vertreter",
                                                             vertretene_versicherer="Nordsee Versicherung AG"),
                             files=files)
    payload = _payload_of(app, reference)
    assert payload.destination == "hk-bremen"
    data = payload.data
    assert data["antragsteller_art"] == "juristische_person" and data["geburtsdatum"] == "1978-03-14"
    assert data["vertretungsberechtigte"] == [{"family_name": "Becker", "given_names": "Anna",
                                              "birth_date": "1978-03-14", "birth_place": "Bremen"}]
    assert data["eu_staaten"] == [{"staat": "AT", "niederlassung": None}]
    assert data["mitwirkende"][0]["family_name"] == "Weber"
    assert (data["fuehrungszeugnis"], data["gewerbezentralregister"]) == ("beigefuegt", "beantragt")
    assert (data["verurteilung"], data["insolvenzverfahren"], data["schuldnerverzeichnis_eintrag"]) == (
        False, False, False)
    assert data["vertretene_versicherer"] == "Nordsee Versicherung AG" and "keine_zuwendungen" not in data
    assert {a.field for a in payload.attachments} == set(files)


# --- the definitions' checks and the minimum table ----------------------------------------------------------

def test_every_year_of_the_minimum_table_names_its_source():
    table = load_table("mindestausbildungsverguetung")
    assert table.rows and set(table.sources) == set(table.rows)
    assert table.minimum(2026, 1) == Decimal(724) and table.minimum(2026, 4) == Decimal(1014)
    assert table.minimum(2019, 1) is None  # before the minimum existed: nothing to check
    for row in table.rows.values():
        assert list(row) == sorted(row)  # the minimum rises with each year of training (§ 17 Abs. 2)


def _definition(checks: list[dict]) -> dict:
    return {"key": "probe", "kind": "registration", "title": {"de": "P", "en": "P"},
            "summary": {"de": "S", "en": "S"}, "competent_body": {"de": "K", "en": "K"}, "legal_basis": "x",
            "steps": [{"key": "a", "title": {"de": "A", "en": "A"}}, {"key": "b", "title": {"de": "B", "en": "B"}}],
            "fields": [{"name": "beginn", "type": "date", "step": "a", "label": {"de": "B", "en": "B"}},
                       {"name": "betrag", "type": "number", "step": "a", "label": {"de": "E", "en": "E"}},
                       {"name": "ende", "type": "date", "step": "b", "label": {"de": "E", "en": "E"}}],
            "routing": [{"kind": "IHK"}], "checks": checks}


MESSAGE = {"de": "Mindestens {minimum} ({year})", "en": "At least {minimum} ({year})"}


@pytest.mark.parametrize(("check", "problem"), [
    ({"rule": "after", "field": "beginn", "other": "ende", "message": MESSAGE}, "earlier"),
    ({"rule": "after", "field": "betrag", "other": "beginn", "message": MESSAGE}, "must name a date field"),
    ({"rule": "statutory_minimum", "field": "betrag", "other": "beginn", "table": "erfunden", "message": MESSAGE},
     "no table"),
    ({"rule": "statutory_minimum", "field": "betrag", "other": "beginn", "table": "mindestausbildungsverguetung",
      "column": 5, "message": MESSAGE}, "column"),
    ({"rule": "statutory_minimum", "field": "betrag", "other": "beginn", "table": "mindestausbildungsverguetung",
      "message": {"de": "{betrag}", "en": "x"}}, "placeholders"),
    ({"rule": "maximum", "field": "betrag", "other": "beginn", "message": MESSAGE}, "is not one of"),
    ({"rule": "at_most", "field": "betrag", "message": MESSAGE}, "needs a limit"),
    ({"rule": "at_most", "field": "betrag", "other": "beginn", "limit": 40, "message": MESSAGE}, "no other answer"),
    ({"rule": "after", "field": "ende", "other": "beginn", "limit": 40, "message": MESSAGE}, "only an at_most"),
])
def test_a_broken_check_stops_the_definition_naming_it(check, problem):
    with pytest.raises(DefinitionError, match=problem):
        parse_definition(_definition([check]), "probe.toml")


def test_the_shipped_definitions_name_their_sources_and_checks():
    catalog = load_catalog()
    for key in (TRAINING, BROKER):
        assert catalog[key].sources and catalog[key].sources.legal_basis_url.startswith("https://")
    checks = catalog[TRAINING].checks
    assert [c.field for c in checks if c.rule == "statutory_minimum"] == [
        "verguetung_erstes_jahr", "verguetung_zweites_jahr", "verguetung_drittes_jahr", "verguetung_viertes_jahr"]
    assert "§ 34 Abs. 2" in catalog[TRAINING].form_source and "§ 8 VersVermV" in catalog[BROKER].form_source
