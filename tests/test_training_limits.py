"""The limits the training contract's page names are checked at their fields (new-user trial, issue 16):
a minor's 8-hour day (§ 8 Abs. 1 JArbSchG), the minimum holidays by age at the start of the calendar
year (§ 19 Abs. 2 JArbSchG) or for an adult (§ 3 BUrlG), the statutory minimum pay of every year of the
training (§ 17 Abs. 2 BBiG), the declared length against the contract's dates and a probation shorter
than the contract (§ 20 BBiG)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bizportal.catalog.loader import DefinitionError, parse_definition
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.filing import file_service, path_of, post_step
from tests.support.permits import to_step
from tests.support.training import TRAINING_FILES, training_answers

TRAINING = "ausbildungsvertrag-eintragung"
GUARDIAN = {"gesetzliche_vertreter-0-family_name": "Lange", "gesetzliche_vertreter-0-given_names": "Petra",
            "gesetzliche_vertreter-0-anschrift_wie_auszubildende": "no",
            "gesetzliche_vertreter-0-street": "Friedrich-Ebert-Straße 48",
            "gesetzliche_vertreter-0-postcode": "28199", "gesetzliche_vertreter-0-city": "Bremen"}
#: 17 at the start (2026-09-01), 16 on 1 January 2026: 27 Werktage, 23 working days in a five-day week
SEVENTEEN = {"auszubildende_person-birth_date": "2009-03-14", **GUARDIAN}
#: 15 on 1 January 2026 and at the start: 30 Werktage, 25 working days
FIFTEEN = {"auszubildende_person-birth_date": "2010-10-02", **GUARDIAN}
#: 17 on 1 January 2026: 25 Werktage, 21 working days
NEARLY_EIGHTEEN = {"auszubildende_person-birth_date": "2008-11-20", **GUARDIAN}


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _pay_step(client, **changes: str) -> tuple[str, dict]:
    answers = training_answers(**changes)
    return to_step(client, TRAINING, answers, "verguetung", TRAINING_FILES), answers


def _refused(resp) -> str:
    assert resp.status_code == 422, resp.status_code
    return resp.get_data(as_text=True)


def test_a_minor_trains_at_most_eight_hours_a_day(company):
    path, answers = _pay_step(company, **SEVENTEEN)
    html = _refused(post_step(company, path, {**answers, "ausbildungszeit_taeglich": "10"}))
    assert "Jugendliche dürfen höchstens 8 Stunden am Tag beschäftigt werden (§ 8 Abs. 1 JArbSchG)." in html
    assert 'id="ausbildungszeit_taeglich-error"' in html
    # the free text of before is no answer now: the hours are a number
    html = _refused(post_step(company, path, {**answers, "ausbildungszeit_taeglich": "8 Stunden"}))
    assert "Bitte geben Sie eine ganze Zahl an" in html
    assert post_step(company, path, {**answers, "ausbildungszeit_taeglich": "8"}).status_code == 302


def test_an_adult_may_train_nine_hours_a_day_but_not_more_than_ten(company):
    path, answers = _pay_step(company)  # 21 at the start
    html = _refused(post_step(company, path, {**answers, "ausbildungszeit_taeglich": "11"}))
    assert "Bitte geben Sie eine Zahl zwischen 1 und 10 an." in html
    assert post_step(company, path, {**answers, "ausbildungszeit_taeglich": "9"}).status_code == 302


@pytest.mark.parametrize(("trainee", "too_few", "enough", "werktage"), [
    (FIFTEEN, "24", "25", "30 Werktage"), (SEVENTEEN, "22", "23", "27 Werktage"),
    (NEARLY_EIGHTEEN, "20", "21", "25 Werktage"), ({}, "19", "20", "24 Werktage (§ 3 Abs. 1 BUrlG)"),
])
def test_the_holidays_reach_the_minimum_for_the_trainees_age(company, trainee, too_few, enough, werktage):
    path, answers = _pay_step(company, **trainee)
    html = _refused(post_step(company, path, {**answers, "urlaubstage": too_few}))
    assert werktage in html and f"mindestens {enough} Arbeitstage" in html
    tiers = ("30 Werktage Urlaub", "27 Werktage Urlaub", "25 Werktage Urlaub", "24 Werktage (§ 3 Abs. 1 BUrlG)")
    assert sum(tier in html for tier in tiers) == 1  # the message of her age only
    assert post_step(company, path, {**answers, "urlaubstage": enough}).status_code == 302


def test_the_holiday_message_is_english_on_the_english_page(company):
    path, answers = _pay_step(company, **SEVENTEEN)
    company.get("/sprache/en")
    html = _refused(post_step(company, path, {**answers, "urlaubstage": "22"}))
    assert "entitled to at least 27 Werktage (§ 19(2) JArbSchG)" in html and "at least 23 working days" in html


def test_part_time_training_is_not_held_to_the_five_day_weeks_holidays(company):
    path, answers = _pay_step(company, teilzeitausbildung="yes", **SEVENTEEN)
    assert post_step(company, path, {**answers, "urlaubstage": "18"}).status_code == 302


@pytest.mark.parametrize(("year", "field", "minimum"), [
    ("dritten", "verguetung_drittes_jahr", "977"), ("vierten", "verguetung_viertes_jahr", "1.014"),
])
def test_every_years_pay_reaches_the_statutory_minimum_without_a_collective_agreement(company, year, field,
                                                                                     minimum):
    path, answers = _pay_step(company, ausbildungsdauer="ueber_36", ende="2030-02-28", **SEVENTEEN)
    html = _refused(post_step(company, path, {**answers, field: "900"}))
    assert f"im {year} Ausbildungsjahr {minimum} Euro im Monat" in html
    path, answers = _pay_step(company, ausbildungsdauer="ueber_36", ende="2030-02-28", tarifvertrag="yes",
                              **SEVENTEEN)
    assert post_step(company, path, {**answers, field: "900"}).status_code == 302


def test_the_declared_length_must_fit_the_contracts_dates(company):
    answers = training_answers(ausbildungsdauer="bis_24")  # 1 Sep 2026 – 31 Aug 2029: 36 months
    path = to_step(company, TRAINING, answers, "ausbildung", TRAINING_FILES)
    html = _refused(post_step(company, path, answers))
    assert "Vom Beginn bis zum Ende der Ausbildung sind es rund 36 Monate; das passt nicht zu dieser " \
           "Ausbildungsdauer." in html
    assert 'id="ausbildungsdauer-error"' in html
    # a few days more or less than whole months are no contradiction
    resp = post_step(company, path, training_answers(ausbildungsdauer="bis_36", beginn="2026-08-15"))
    assert resp.status_code == 302
    resp = post_step(company, path, training_answers(ausbildungsdauer="ueber_36", ende="2030-01-31"))
    assert path_of(resp.headers["Location"]).endswith("/verguetung")


def test_the_probation_is_shorter_than_the_contract(company):
    short = training_answers(ausbildungsdauer="bis_12", ende="2026-11-30", probezeit_monate="4")  # 3 months
    path = to_step(company, TRAINING, short, "ausbildung", TRAINING_FILES)
    html = _refused(post_step(company, path, short))
    assert "Die Probezeit muss kürzer sein als die Ausbildung vom Beginn bis zum Ende (rund 3 Monate, § 20 BBiG)." \
        in html
    assert post_step(company, path, {**short, "probezeit_monate": "2"}).status_code == 302


def test_a_minors_contract_within_the_limits_is_filed_with_the_hours_as_a_number(app, company):
    answers = training_answers(**SEVENTEEN, urlaubstage="23", ausbildungszeit_taeglich="8")
    files = {**TRAINING_FILES, "erstuntersuchung": TRAINING_FILES["ausbildungsvertrag"]}
    reference = file_service(company, TRAINING, answers, files=files)
    with app.app_context():
        data = db.session.scalar(select(Filing.data).where(Filing.reference == reference))
    assert (data["ausbildungszeit_taeglich"], data["urlaubstage"]) == (8, 23)


def _with_check(check: dict) -> dict:
    label = {"de": "L", "en": "L"}
    message = {"de": "M", "en": "M"}
    return {"key": "probe", "kind": "registration", "title": label, "summary": label, "competent_body": label,
            "legal_basis": "x", "routing": [{"kind": "IHK"}], "steps": [{"key": "angaben", "title": label}],
            "fields": [{"name": "beginn", "type": "date", "label": label},
                       {"name": "ende", "type": "date", "label": label},
                       {"name": "dauer", "type": "choice", "label": label,
                        "choices": [{"value": "kurz", "label": label}, {"value": "lang", "label": label}]},
                       {"name": "tage", "type": "number", "label": label}],
            "checks": [{**check, "message": message}]}


@pytest.mark.parametrize(("check", "problem"), [
    ({"rule": "period_band", "field": "dauer", "other": "beginn", "until": "ende", "bands": {"kurz": [1, 12]}},
     "must give every choice"),
    ({"rule": "period_band", "field": "dauer", "other": "beginn", "until": "ende",
      "bands": {"kurz": [12, 1], "lang": [13, 40]}}, "lowest, highest"),
    ({"rule": "period_band", "field": "dauer", "other": "beginn", "bands": {"kurz": [1, 12], "lang": [13, 40]}},
     "until"),
    ({"rule": "shorter_than_period", "field": "tage", "other": "beginn", "until": "dauer"}, "must name a date field"),
    ({"rule": "at_least", "field": "tage"}, "needs a limit"),
    ({"rule": "at_most", "field": "tage", "limit": 8, "until": "ende"}, "only a period_band"),
])
def test_a_broken_limit_check_stops_the_definition_naming_it(check, problem):
    with pytest.raises(DefinitionError, match=problem):
        parse_definition(_with_check(check), "probe.toml")


# --- a guardian at the trainee's address -------------------------------------------------------------

AT_HOME = {"gesetzliche_vertreter-0-family_name": "Lange", "gesetzliche_vertreter-0-given_names": "Petra",
           "gesetzliche_vertreter-0-anschrift_wie_auszubildende": "yes"}


def test_a_guardian_at_the_trainees_address_is_filed_with_that_address(app, company):
    answers = training_answers(**{"auszubildende_person-birth_date": "2009-03-14"}, **AT_HOME)
    path = to_step(company, TRAINING, answers, "vertreter", TRAINING_FILES)
    page = company.get(path).get_data(as_text=True)
    assert "Anschrift wie die der oder des Auszubildenden?" in page
    # "Nein" asks the address; "Ja" does not
    resp = post_step(company, path, {**AT_HOME, "gesetzliche_vertreter-0-anschrift_wie_auszubildende": "no"})
    assert resp.status_code == 422 and 'aria-invalid="true"' in resp.get_data(as_text=True)
    files = {**TRAINING_FILES, "erstuntersuchung": TRAINING_FILES["ausbildungsvertrag"]}
    reference = file_service(company, TRAINING, answers, files=files)
    with app.app_context():
        data = db.session.scalar(select(Filing.data).where(Filing.reference == reference))
    guardian = data["gesetzliche_vertreter"][0]
    assert (guardian["street"], guardian["postcode"], guardian["city"]) == (
        "Friedrich-Ebert-Straße 48", "28199", "Bremen")
    assert guardian["anschrift_wie_auszubildende"] is True


@pytest.mark.parametrize(("copies", "problem"), [
    ({"copies": "ende"}, "no address field named 'ende'"),
    ({"copies": "wohnung", "type": "text"}, "only a yes/no field inside a group"),
])
def test_a_broken_address_copy_stops_the_definition_naming_it(copies, problem):
    label = {"de": "L", "en": "L"}
    definition = _with_check({"rule": "at_least", "field": "tage", "limit": 1})
    definition["fields"] += [
        {"name": "wohnung", "type": "address", "label": label},
        {"name": "eltern", "type": "group", "label": label, "fields": [
            {"name": "wie", "label": label, "type": "yesno", **copies},
            {"name": "street", "type": "text", "label": label},
            {"name": "postcode", "type": "postcode", "label": label},
            {"name": "city", "type": "text", "label": label}]}]
    with pytest.raises(DefinitionError, match=problem):
        parse_definition(definition, "probe.toml")
