"""Part 1 "Angaben zur Person" of the Hamburg forms for the § 34c, § 34a and GastG permits (name
at birth, sex, nationality, residences and management positions of the last five years, the five
declarations with particulars only after a "yes"), per applicant and per further representative,
and what the § 34a and GastG forms ask besides (insurance sums, uniform, scope; kind of business,
predecessor, earlier permits) — asked when they apply, refused when missing, delivered."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bizportal.catalog.loader import load_catalog
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.filing import (
    PERMIT_DECLARATIONS,
    EveryStep,
    file_service,
    post_step,
)
from tests.support.permits import (
    BEWACHUNG,
    FILES,
    GASTSTAETTE,
    MAKLER,
    PERMITS,
    answers,
    payload_of,
    to_step,
    visited,
)

#: the fields each definition had before part 1 was added: filings made with them stay readable (but
#: § 34c's four yes/no activities, replaced by the multichoice `taetigkeiten` in 12/2026)
EARLIER_FIELDS = {
    MAKLER: {"business_name", "legal_form", "betriebsanschrift", "juristische_person", "antragsteller", "wohnanschrift",
             "email", "handelsregisternummer", "weitere_vertreter_vorhanden", "weitere_vertreter",
             "beschreibung", "beginn", "versicherer",
             "versicherungsnachweis", "steuerbescheinigung", "insolvenzauskunft", "schuldnerverzeichnis",
             "handelsregisterauszug"},
    BEWACHUNG: {"business_name", "legal_form", "betriebsanschrift", "juristische_person", "antragsteller",
                "wohnanschrift", "email", "telefon", "handelsregisternummer", "weitere_vertreter_vorhanden",
                "weitere_vertreter", "taetigkeit", "beschaeftigte", "beginn", "sachkunde", "versicherung",
                "steuerbescheinigung", "handelsregisterauszug"},
    GASTSTAETTE: {"business_name", "gaststaette_name", "betriebsanschrift", "betriebsart", "uebernahme",
                  "juristische_person", "antragsteller", "wohnanschrift", "email", "telefon", "handelsregisternummer",
                  "weitere_vertreter_vorhanden", "weitere_vertreter", "flaeche_gastraum", "sitzplaetze",
                  "aussengastronomie", "musik_veranstaltungen", "eroeffnung", "grundriss", "mietvertrag",
                  "steuerbescheinigung", "unterrichtungsnachweis"},
}
#: the first sub-fields of a further representative before part 1 (the free-text ``nationality``
#: among them is gone since the coded ``staatsangehoerigkeit`` asks it; old entries keep it)
EARLIER_GROUP_ENTRY = ["family_name", "given_names", "birth_date", "birth_place"]


@pytest.fixture
def company(client, login_as):
    login_as("lea.hansen")
    return client




@pytest.mark.parametrize("service", PERMITS)
def test_earlier_answers_keep_their_names(service):
    definition = load_catalog()[service]
    names = {f.name for f in definition.fields}
    assert EARLIER_FIELDS[service] <= names
    entry = [f.name for f in next(f for f in definition.fields if f.name == "weitere_vertreter").fields]
    assert entry[:len(EARLIER_GROUP_ENTRY)] == EARLIER_GROUP_ENTRY


@pytest.mark.parametrize("service", PERMITS)
def test_particulars_are_asked_only_after_a_yes(company, service):
    steps = visited(company, service, answers())
    assert steps[steps.index("personen") + 1:][:4] == ["person_angaben", "wohnorte", "leitende_taetigkeiten",
                                                        "erklaerungen"]
    assert not set(PERMIT_DECLARATIONS) & set(steps)
    steps = visited(company, service, answers(strafverfahren="yes", insolvenz="yes",
                                              strafverfahren_angaben="StA Hamburg, Az. 3101 Js 77/26",
                                              insolvenz_angaben="AG Hamburg, 67c IN 12/23"))
    after = steps[steps.index("erklaerungen") + 1:]
    assert after[:2] == ["strafverfahren", "insolvenz"]
    assert not {"bussgeldverfahren", "untersagungsverfahren", "vermoegensauskunft"} & set(steps)


@pytest.mark.parametrize("service", PERMITS)
@pytest.mark.parametrize("declaration", PERMIT_DECLARATIONS)
def test_particulars_are_required_after_a_yes(company, service, declaration):
    path = to_step(company, service, answers(**{declaration: "yes"}), declaration)
    resp = post_step(company, path, {f"{declaration}_angaben": ""})
    assert resp.status_code == 422
    assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    resp = post_step(company, path, {f"{declaration}_angaben": "Amtsgericht Hamburg, Az. 12 C 34/26"})
    assert resp.status_code == 302


@pytest.mark.parametrize("service", PERMITS)
def test_nationality_and_sex_are_required(company, service):
    path = to_step(company, service, answers(), "person_angaben")
    resp = post_step(company, path, {"geburtsname": "Petersen"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert html.count('aria-invalid="true"') >= 2  # sex and nationality, not the optional name at birth


def representative(**changes: str) -> dict[str, str]:
    entry = {"family_name": "Kowalski", "given_names": "Piotr", "birth_date": "1975-06-30", "birth_place": "Gdańsk",
             "geschlecht": "maennlich", "staatsangehoerigkeit": "PL", "geburtsland": "PL",  # the last: § 34a only
             # the representative's home address (§ 34c since 12/2026, § 34a and Gaststätte since issue 13 part 2)
             "wohnanschrift-street": "Hoheluftchaussee 58", "wohnanschrift-postcode": "20253",
             "wohnanschrift-city": "Hamburg",
             **{d: "no" for d in PERMIT_DECLARATIONS}}
    entry.update(changes)
    return {f"weitere_vertreter-0-{k}": v for k, v in entry.items()}


@pytest.mark.parametrize("service", PERMITS)
def test_every_permits_representative_gives_a_home_address_which_may_lie_abroad(app, company, service):
    """Part 1 "Angaben zur Person" of the three forms asks each legal representative's home address,
    as the applicant's; § 34a and the Gaststätte lacked it."""
    company_answers = answers(juristische_person="yes", handelsregisternummer="Hamburg HRA 98765",
                              weitere_vertreter_vorhanden="yes")
    path = to_step(company, service, company_answers, "weitere_vertretung")
    homeless = {k: v for k, v in representative().items() if "wohnanschrift" not in k}
    resp = post_step(company, path, homeless)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'name="weitere_vertreter-0-wohnanschrift-street"' in html
    assert 'name="weitere_vertreter-0-wohnanschrift-country"' in html
    assert "Bitte füllen Sie dieses Feld aus." in html
    vienna = representative(**{"wohnanschrift-street": "Mariahilfer Straße 12", "wohnanschrift-postcode": "1060",
                               "wohnanschrift-city": "Wien", "wohnanschrift-country": "AT"})
    assert post_step(company, path, vienna).status_code == 302
    every = EveryStep({**company_answers, **vienna})
    reference = file_service(company, service, every, files=FILES)
    assert payload_of(app, reference).data["weitere_vertreter"][0]["wohnanschrift"] == {
        "street": "Mariahilfer Straße 12", "postcode": "1060", "city": "Wien", "country": "AT"}
    assert "Mariahilfer Straße 12, 1060 Wien, Österreich" in company.get(f"/antraege/{reference}").get_data(
        as_text=True)


@pytest.mark.parametrize("service", PERMITS)
def test_a_representatives_particulars_are_required_after_a_yes_and_dropped_after_a_no(company, service):
    company_answers = answers(juristische_person="yes", handelsregisternummer="Hamburg HRA 98765",
                              weitere_vertreter_vorhanden="yes")
    path = to_step(company, service, company_answers, "weitere_vertretung")
    resp = post_step(company, path, representative(untersagungsverfahren="yes"))
    assert resp.status_code == 422
    assert 'id="weitere_vertreter-0-untersagungsverfahren_angaben"' in resp.get_data(as_text=True)
    assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    resp = post_step(company, path, representative(
        untersagungsverfahren="yes", untersagungsverfahren_angaben="Bezirksamt Altona, Az. GU 12/26",
        strafverfahren_angaben="without a yes, not filed"))
    assert resp.status_code == 302
    with company.application.app_context():
        draft = db.session.scalar(select(Draft))
        entry = draft.data["weitere_vertreter"][0]
    assert entry["untersagungsverfahren"] is True
    assert entry["untersagungsverfahren_angaben"] == "Bezirksamt Altona, Az. GU 12/26"
    assert entry["strafverfahren"] is False and entry["strafverfahren_angaben"] is None
    assert entry["staatsangehoerigkeit"] == "PL" and entry["geschlecht"] == "maennlich"


def test_a_restricted_activity_and_a_uniform_are_described(company):
    steps = visited(company, BEWACHUNG, answers())
    assert "beschraenkung" not in steps and "dienstkleidung" not in steps
    assert steps.index("taetigkeit") < steps.index("versicherung") < steps.index("unterlagen")
    every = answers(taetigkeit_umfang="beschraenkt", dienstkleidung="yes")
    path = to_step(company, BEWACHUNG, every, "beschraenkung")
    assert post_step(company, path, {"taetigkeit_beschraenkung": ""}).status_code == 422
    path = to_step(company, BEWACHUNG, {**every, "taetigkeit_beschraenkung": "Baustellen"}, "dienstkleidung")
    assert post_step(company, path, {"dienstkleidung_beschreibung": ""}).status_code == 422


def test_the_insured_sums_are_numbers(company):
    path = to_step(company, BEWACHUNG, answers(), "versicherung")
    resp = post_step(company, path, {**answers(), "summe_sachschaeden": "250.000 Euro"})
    assert resp.status_code == 422


@pytest.mark.parametrize(("kind", "shown", "hidden"), [
    ("schank_und_speise", "speisen_art", "betriebsart_sonstige"),
    ("sonstige", "betriebsart_sonstige", "speisen_art"),
])
def test_the_kind_of_business_asks_what_applies(company, kind, shown, hidden):
    path = to_step(company, GASTSTAETTE, answers(betriebsart_gastg=kind), "betriebsart_angaben")
    resp = post_step(company, path, {shown: "", hidden: ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'name="{shown}"' in html and f'name="{hidden}"' not in html


def test_a_bar_without_food_and_takeover_skips_those_steps(company):
    steps = visited(company, GASTSTAETTE, answers())
    assert not {"betriebsart_angaben", "uebernahme_angaben", "fruehere_erlaubnis"} & set(steps)
    path = to_step(company, GASTSTAETTE, answers(uebernahme="yes"), "uebernahme_angaben")
    assert post_step(company, path, {"vorgaenger": ""}).status_code == 422


def test_the_office_receives_part_one_and_the_34a_details(app, company):
    every = answers(juristische_person="yes", handelsregisternummer="Hamburg HRA 98765",
                    weitere_vertreter_vorhanden="yes", geburtsname="Petersen", insolvenz="yes",
                    insolvenz_angaben="AG Hamburg, 67c IN 12/23, aufgehoben 2024",
                    **{"fruehere_wohnorte-0-ort": "Kiel", "fruehere_wohnorte-0-staat": "DE",
                       "fruehere_wohnorte-0-zeitraum": "01/2021 – 03/2022",
                       "leitende_taetigkeiten-0-unternehmen": "Hansen Assekuranz GmbH, Kiel",
                       "leitende_taetigkeiten-0-funktion": "geschaeftsfuehrung",
                       "leitende_taetigkeiten-0-zeitraum": "2019 – 2022"},
                    **representative(vermoegensauskunft="yes", vermoegensauskunft_angaben="AG Gdańsk 2023"),
                    taetigkeit_umfang="beschraenkt", taetigkeit_beschraenkung="Baustellenbewachung",
                    dienstkleidung="yes", dienstkleidung_beschreibung="Dunkelblaue Jacke mit Aufschrift")
    reference = file_service(company, BEWACHUNG, every, files={k: FILES[k] for k in (
        "sachkunde", "versicherung", "steuerbescheinigung", "handelsregisterauszug")})
    data = payload_of(app, reference).data
    assert (data["geburtsname"], data["geschlecht"], data["staatsangehoerigkeit"]) == ("Petersen", "weiblich", "DE")
    assert data["fruehere_wohnorte"] == [{"ort": "Kiel", "staat": "DE", "zeitraum": "01/2021 – 03/2022"}]
    assert data["leitende_taetigkeiten"] == [{"unternehmen": "Hansen Assekuranz GmbH, Kiel",
                                              "funktion": "geschaeftsfuehrung", "zeitraum": "2019 – 2022"}]
    assert data["insolvenz"] is True and data["insolvenz_angaben"] == "AG Hamburg, 67c IN 12/23, aufgehoben 2024"
    assert data["strafverfahren"] is False and data.get("strafverfahren_angaben") is None
    entry = data["weitere_vertreter"][0]
    assert (entry["staatsangehoerigkeit"], entry["vermoegensauskunft"], entry["vermoegensauskunft_angaben"]) == (
        "PL", True, "AG Gdańsk 2023")
    assert (data["geburtsland"], entry["geburtsland"]) == ("DE", "PL")  # "Geburtsland" of the Hamburg form
    assert entry["insolvenz_angaben"] is None
    assert (data["summe_personenschaeden"], data["summe_sachschaeden"], data["summe_abhandenkommen"],
            data["summe_vermoegensschaeden"], data["summe_gesamt"]) == (1000000, 250000, 15000, 12500, 1000000)
    assert (data["taetigkeit_umfang"], data["taetigkeit_beschraenkung"]) == ("beschraenkt", "Baustellenbewachung")
    assert data["dienstkleidung_beschreibung"] == "Dunkelblaue Jacke mit Aufschrift"
    assert data["zahl_beschaeftigte"] == 3


def test_the_office_receives_the_gaststaette_details(app, company):
    every = answers(betriebsart_gastg="schank_und_speise", speisen_art="Fischbrötchen und Suppen",
                    uebernahme="yes", vorgaenger="Elbblick Inh. Jens Paulsen", fruehere_erlaubnis="yes",
                    fruehere_erlaubnis_angaben="Bezirksamt Altona 2018, Imbiss am Fischmarkt, 2020 zurückgegeben")
    reference = file_service(company, GASTSTAETTE, every,
                             files={k: FILES[k] for k in ("grundriss", "mietvertrag", "steuerbescheinigung")})
    data = payload_of(app, reference).data
    assert (data["betriebsart_gastg"], data["speisen_art"], data["vorgaenger"]) == (
        "schank_und_speise", "Fischbrötchen und Suppen", "Elbblick Inh. Jens Paulsen")
    assert data["fruehere_erlaubnis"] is True
    assert data["fruehere_erlaubnis_angaben"].startswith("Bezirksamt Altona 2018")
    assert data.get("betriebsart_sonstige") is None
    assert data["staatsangehoerigkeit"] == "DE" and data["geschlecht"] == "weiblich"


def test_a_filing_made_before_part_one_still_shows_and_delivers(app, company):
    """A § 34c filing whose answers have none of the new fields (as filed before 12/2026)."""
    reference = file_service(company, MAKLER, answers(), files={k: FILES[k] for k in (
        "steuerbescheinigung", "insolvenzauskunft", "schuldnerverzeichnis")})
    new = {f.name for f in load_catalog()[MAKLER].fields} - EARLIER_FIELDS[MAKLER]
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        filing.data = {k: v for k, v in filing.data.items() if k not in new}
        db.session.commit()
    page = company.get(f"/antraege/{reference}")
    assert page.status_code == 200
    assert "Elbchaussee 112" in page.get_data(as_text=True)
    data = payload_of(app, reference).data
    assert data["beginn"] == "2027-03-01" and "staatsangehoerigkeit" not in data


def test_the_34a_application_needs_the_consent_to_the_bewacherregister_query(app, company):
    path = to_step(company, BEWACHUNG, answers(), "erklaerungen")
    refused = post_step(company, path, answers(einwilligung_bewacherregister="no"))
    assert refused.status_code == 422
    assert "Bitte stimmen Sie der Überprüfung Ihrer Zuverlässigkeit zu" in refused.get_data(as_text=True)
    assert post_step(company, path, answers()).status_code == 302
    reference = file_service(company, BEWACHUNG, answers(), files=FILES)
    with app.app_context():
        data = db.session.scalar(select(Filing).where(Filing.reference == reference)).data
    assert data["einwilligung_bewacherregister"] is True


def test_a_provisional_gaststaette_licence_is_asked_only_on_a_takeover(app, company):
    assert "vorlaeufige_erlaubnis" not in str(visited(company, GASTSTAETTE, answers()))
    path = to_step(company, GASTSTAETTE, answers(uebernahme="yes", vorgaenger="Café am Wall"), "uebernahme_angaben")
    page = company.get(path).get_data(as_text=True)
    assert "vorläufige Erlaubnis (§ 11 GastG)" in page
    assert post_step(company, path, {"vorgaenger": "Café am Wall"}).status_code == 422
    every = answers(uebernahme="yes", vorgaenger="Café am Wall", vorlaeufige_erlaubnis="yes")
    reference = file_service(company, GASTSTAETTE, every, files=FILES)
    with app.app_context():
        data = db.session.scalar(select(Filing).where(Filing.reference == reference)).data
    assert (data["vorgaenger"], data["vorlaeufige_erlaubnis"]) == ("Café am Wall", True)


@pytest.mark.parametrize("service", PERMITS)
def test_the_nationality_is_asked_once_per_person_as_a_state(company, service):
    every = answers(juristische_person="yes", handelsregisternummer="Hamburg HRA 98765",
                    weitere_vertreter_vorhanden="yes", **representative())
    html = company.get(to_step(company, service, every, "personen")).get_data(as_text=True)
    assert 'name="antragsteller-family_name"' in html and 'name="antragsteller-nationality"' not in html
    html = company.get(to_step(company, service, every, "person_angaben")).get_data(as_text=True)
    assert html.count('id="staatsangehoerigkeit"') == 1 and html.count("Staatsangehörigkeit") == 1
    html = company.get(to_step(company, service, every, "weitere_vertretung")).get_data(as_text=True)
    assert 'name="weitere_vertreter-0-staatsangehoerigkeit"' in html
    assert 'name="weitere_vertreter-0-nationality"' not in html
    assert html.count("Staatsangehörigkeit") == 1


@pytest.mark.parametrize("service", PERMITS)
def test_a_filing_and_a_draft_with_the_free_text_nationality_still_open(app, company, service):
    """Filed before the free-text nationality was dropped: the answers keep it and still show it."""
    every = answers(juristische_person="yes", handelsregisternummer="Hamburg HRA 98765",
                    weitere_vertreter_vorhanden="yes", **representative())
    files = {k: FILES[k] for k in ("steuerbescheinigung", "insolvenzauskunft", "schuldnerverzeichnis", "sachkunde",
                                   "versicherung", "grundriss", "mietvertrag", "handelsregisterauszug")}
    reference = file_service(company, service, every, files=files)
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        data = dict(filing.data)
        data["antragsteller"] = {**data["antragsteller"], "nationality": "deutsch"}
        data["weitere_vertreter"] = [{**data["weitere_vertreter"][0], "nationality": "polnisch"}]
        filing.data = data
        db.session.commit()
    page = company.get(f"/antraege/{reference}")
    assert page.status_code == 200
    assert "Hansen, Lea, Kiel, deutsch" in page.get_data(as_text=True)
    assert payload_of(app, reference).data["weitere_vertreter"][0]["nationality"] == "polnisch"
    path = to_step(company, service, every, "person_angaben").rsplit("/", 1)[0] + "/personen"
    with app.app_context():
        draft = db.session.scalar(select(Draft).where(Draft.service_key == service))
        draft.data = {**draft.data, "antragsteller": {**draft.data["antragsteller"], "nationality": "deutsch"}}
        db.session.commit()
    assert company.get(path).status_code == 200
    assert post_step(company, path, every).status_code == 302
