"""A trainee under 18 at the start of the training (§ 2 JArbSchG) is read from the birth date and the
start, never asked: a 16-year-old cannot pass as an adult (the guardians, the medical certificate of
§ 32 JArbSchG and the 40-hour week of § 8 JArbSchG apply), an adult never sees the minor's steps —
in the service alone, in "Betrieb gründen" with an apprentice, and at the submit."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from bizportal.catalog.loader import DefinitionError, parse_definition
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.bundles import (
    AUSBILDUNG,
    FILES,
    PLANS,
    SHARED,
    answer_questionnaire,
    submit,
)
from tests.support.bundles import training_steps as _training_steps
from tests.support.filing import file_service, fill_steps, path_of, post_step, start_draft
from tests.support.http import submit_form
from tests.support.pdfs import minimal_pdf
from tests.support.permits import to_step, visited
from tests.support.training import GUARDIAN, TRAINING, TRAINING_FILES, training_answers

#: born 2010-11-30: 15 when the contract is signed, 16 when the training starts (2027-08-01)
SIXTEEN = {"auszubildende_person-birth_date": "2010-11-30", "vertragsschluss": "2026-08-20",
           "beginn": "2027-08-01", "ende": "2030-07-31"}
CERTIFICATE = {"erstuntersuchung": (minimal_pdf("J1"), "Erstuntersuchung.pdf")}
#: what the old form's question would have said for her: no longer a field, so it changes nothing
CLAIMS_ADULT = {"minderjaehrig": "no"}


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def test_a_sixteen_year_old_cannot_pass_as_an_adult(company):
    answers = training_answers(**SIXTEEN, **CLAIMS_ADULT, **GUARDIAN, verguetung_erstes_jahr="1020",
                               verguetung_zweites_jahr="1080", verguetung_drittes_jahr="1150")
    trainee = company.get(to_step(company, TRAINING, answers, "auszubildende")).get_data(as_text=True)
    assert "noch nicht 18 Jahre alt" not in trainee and 'name="minderjaehrig"' not in trainee
    assert visited(company, TRAINING, answers, {**TRAINING_FILES, **CERTIFICATE}) == [
        "betrieb", "auszubildende", "ausbildung", "vertreter", "verguetung", "unterlagen"]
    # the JArbSchG's week of at most 40 hours
    pay = to_step(company, TRAINING, answers, "verguetung", TRAINING_FILES)
    resp = post_step(company, pay, {**answers, "ausbildungszeit_woche": "42"})
    assert resp.status_code == 422
    assert "Jugendliche dürfen höchstens 40 Stunden in der Woche" in resp.get_data(as_text=True)
    resp = post_step(company, pay, answers)
    documents = path_of(resp.headers["Location"])
    assert documents.endswith("/unterlagen")
    # the medical certificate of § 32 JArbSchG
    resp = post_step(company, documents, {}, files=TRAINING_FILES)
    assert resp.status_code == 422 and 'id="erstuntersuchung-error"' in resp.get_data(as_text=True)
    resp = post_step(company, documents, {}, files={**TRAINING_FILES, **CERTIFICATE})
    assert path_of(resp.headers["Location"]).endswith("/pruefen")


def test_an_adult_is_not_led_through_the_minors_steps(app, company):
    answers = training_answers(ausbildungszeit_woche="42", **{"minderjaehrig": "yes"})  # 21 at the start
    assert visited(company, TRAINING, answers, TRAINING_FILES) == [
        "betrieb", "auszubildende", "ausbildung", "verguetung", "unterlagen"]
    reference = file_service(company, TRAINING, answers, files=TRAINING_FILES)  # no certificate, no guardians
    with app.app_context():
        data = db.session.scalar(select(Filing.data).where(Filing.reference == reference))
    assert data["ausbildungszeit_woche"] == 42
    assert not {"gesetzliche_vertreter", "erstuntersuchung", "minderjaehrig"} & set(data)


def test_a_birth_date_corrected_to_a_minors_opens_the_minors_steps_again(company):
    review = fill_steps(company, start_draft(company, TRAINING), training_answers(), files=TRAINING_FILES)
    draft = review.split("/")[3]
    answers = training_answers(**SIXTEEN, **GUARDIAN)
    resp = post_step(company, f"/antraege/entwurf/{draft}/auszubildende", answers)
    # the guardians are asked next, then the documents again (the JArbSchG applies now: the medical
    # certificate); the week (39 hours, 8 a day, 28 days' holiday) fits a 16-year-old too, so its step
    # is not opened again (a week the JArbSchG refuses is: the next test)
    assert path_of(resp.headers["Location"]) == f"/antraege/entwurf/{draft}/vertreter"
    assert urlsplit(company.get(review).headers["Location"]).path == f"/antraege/entwurf/{draft}/vertreter"
    resp = post_step(company, f"/antraege/entwurf/{draft}/vertreter", answers)
    assert path_of(resp.headers["Location"]) == f"/antraege/entwurf/{draft}/unterlagen"
    resp = post_step(company, f"/antraege/entwurf/{draft}/unterlagen", {}, files={**TRAINING_FILES, **CERTIFICATE})
    assert path_of(resp.headers["Location"]).endswith("/pruefen")


def test_a_birth_date_corrected_to_a_minors_opens_a_week_too_long_for_her_again(company):
    adult = training_answers(ausbildungszeit_woche="42")
    review = fill_steps(company, start_draft(company, TRAINING), adult, files=TRAINING_FILES)
    draft = review.split("/")[3]
    answers = training_answers(**SIXTEEN, **GUARDIAN, ausbildungszeit_woche="42")
    post_step(company, f"/antraege/entwurf/{draft}/auszubildende", answers)
    resp = post_step(company, f"/antraege/entwurf/{draft}/vertreter", answers)
    assert path_of(resp.headers["Location"]) == f"/antraege/entwurf/{draft}/verguetung"
    resp = post_step(company, f"/antraege/entwurf/{draft}/verguetung", answers)
    assert resp.status_code == 422
    assert "höchstens 40 Stunden in der Woche" in resp.get_data(as_text=True)


def test_the_submit_refuses_a_minors_draft_marked_done_without_guardians(app, company):
    """A draft whose steps were marked done before its trainee's age was read from her birth date (the
    answers changed behind the steps' back): the submit checks the steps again and files nothing."""
    review = fill_steps(company, start_draft(company, TRAINING), training_answers(), files=TRAINING_FILES)
    draft_id = review.split("/")[3]
    page = company.get(review).get_data(as_text=True)
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(draft_id))
        person = {**draft.data["auszubildende_person"], "birth_date": "2010-11-30"}
        db.session.execute(update(Draft).where(Draft.id == draft.id).values(
            data={**draft.data, "auszubildende_person": person},
            completed_steps=[*draft.completed_steps, "vertreter"]))
        db.session.commit()
    resp = company.post(review, data=submit_form(page))
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == f"/antraege/entwurf/{draft_id}/vertreter"
    with app.app_context():
        assert db.session.scalar(select(Filing.id)) is None


# --- "Betrieb gründen" with an apprentice --------------------------------------------------------------

def test_the_founding_bundle_asks_a_sixteen_year_old_apprentices_guardians(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    trainee = {"auszubildende_person-birth_date": "2010-11-30", **CLAIMS_ADULT, **GUARDIAN}
    assert AUSBILDUNG["beginn"] == "2027-08-01"  # 16 then
    steps = _training_steps(client, overview, trainee, {**FILES, "erstuntersuchung": "Erstuntersuchung.pdf"})
    assert steps == ["betrieb", "auszubildende", "ausbildung", "vertreter", "verguetung", "unterlagen"]
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        training = db.session.scalar(select(Filing).where(Filing.service_key == TRAINING))
        assert training.data["gesetzliche_vertreter"][0]["given_names"] == "Petra"
        assert {a.field_name for a in training.attachments} >= {"erstuntersuchung"}


def test_the_founding_bundle_leads_an_adult_apprentice_past_the_minors_steps(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    steps = _training_steps(client, overview, {"minderjaehrig": "yes"}, FILES)  # born 2004: 22 at the start
    assert steps == ["betrieb", "auszubildende", "ausbildung", "verguetung", "unterlagen"]


# --- the age condition in a definition ---------------------------------------------------------------

def _with_step_condition(condition: dict) -> dict:
    """A definition whose third step is shown under ``condition`` (a person and a date asked first)."""
    label = {"de": "L", "en": "L"}
    return {"key": "probe", "kind": "registration", "title": label, "summary": label, "competent_body": label,
            "legal_basis": "x", "routing": [{"kind": "IHK"}],
            "steps": [{"key": "a", "title": label}, {"key": "b", "title": label},
                      {"key": "c", "title": label, "show_if": condition}],
            "fields": [{"name": "person", "type": "person", "step": "a", "label": label},
                       {"name": "betrag", "type": "number", "step": "a", "label": label},
                       {"name": "beginn", "type": "date", "step": "b", "label": label},
                       {"name": "eltern", "type": "text", "step": "c", "label": label}]}


def test_an_age_condition_reads_a_birth_date_on_another_date():
    definition = parse_definition(_with_step_condition({"field": "person", "age_under": 18, "on": "beginn"}),
                                  "probe.toml")
    shown = [s.key for s in definition.visible_steps({"person": {"birth_date": "2009-08-02"}, "beginn": "2027-08-01"})]
    assert shown == ["a", "b", "c"]  # 17 on the day before her 18th birthday
    assert [s.key for s in definition.visible_steps({"person": {"birth_date": "2009-08-01"},
                                                     "beginn": "2027-08-01"})] == ["a", "b"]  # 18 that day
    assert [s.key for s in definition.visible_steps({"person": {"birth_date": "2009-08-02"}})] == ["a", "b"]


@pytest.mark.parametrize(("condition", "problem"), [
    ({"field": "betrag", "age_under": 18, "on": "beginn"}, "no earlier date or person field"),
    ({"field": "person", "age_under": 18, "on": "betrag"}, "no earlier date field"),
    ({"field": "person", "age_under": 18}, "an age condition is a table"),
    ({"field": "person", "age_under": 17.5, "on": "beginn"}, "whole number"),
    ({"field": "person", "age_under": 18, "age_at_least": 18, "on": "beginn"}, "an age condition is a table"),
])
def test_a_broken_age_condition_stops_the_definition_naming_it(condition, problem):
    with pytest.raises(DefinitionError, match=problem):
        parse_definition(_with_step_condition(condition), "probe.toml")
