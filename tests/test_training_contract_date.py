"""The guardians of a trainee go by her age when the contract is signed (§ 11 Abs. 2 BBiG: the legal
representatives sign a minor's contract), the Jugendarbeitsschutz by her age when the training starts
(the work done while under 18: § 8 hours, § 19 holidays, § 32 certificate). New-user trial, issue 16:
an apprentice 17 at the signing and 18 at the start was asked no guardians."""

from __future__ import annotations

import pytest

from tests.support.bundles import PLANS, SHARED, answer_questionnaire
from tests.support.bundles import training_steps as _training_steps
from tests.support.filing import path_of, post_step
from tests.support.pdfs import minimal_pdf
from tests.support.permits import to_step, visited
from tests.support.training import GUARDIAN, TRAINING, TRAINING_FILES, training_answers

#: born 10.06.2009: 17 on the signing (20.11.2026), 18 when the training starts (01.08.2027)
SEVENTEEN_AT_SIGNING = {"auszubildende_person-birth_date": "2009-06-10", "vertragsschluss": "2026-11-20",
                        "beginn": "2027-08-01", "ende": "2030-07-31"}
#: the same apprentice starting on 01.09.2026, still 17 then
SEVENTEEN_AT_START = {"auszubildende_person-birth_date": "2009-06-10", "vertragsschluss": "2026-06-01",
                      "beginn": "2026-09-01", "ende": "2029-08-31"}
CERTIFICATE = {"erstuntersuchung": (minimal_pdf("J1"), "Erstuntersuchung.pdf")}


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def test_seventeen_at_the_signing_asks_the_guardians_but_not_the_youth_protection(company):
    answers = training_answers(**SEVENTEEN_AT_SIGNING, **GUARDIAN, ausbildungszeit_woche="42",
                               ausbildungszeit_taeglich="9", urlaubstage="20")
    # the guardians' step, and no medical certificate: she is an adult when she starts work
    assert visited(company, TRAINING, answers, TRAINING_FILES) == [
        "betrieb", "auszubildende", "ausbildung", "vertreter", "verguetung", "unterlagen"]
    guardians = company.get(to_step(company, TRAINING, answers, "vertreter", TRAINING_FILES)).get_data(as_text=True)
    assert "Gesetzliche Vertreterinnen und Vertreter" in guardians
    # 42 hours a week, 9 a day and an adult's 20 days of holiday pass (no § 8 or § 19 JArbSchG)
    pay = to_step(company, TRAINING, answers, "verguetung", TRAINING_FILES)
    resp = post_step(company, pay, answers)
    assert resp.status_code == 302 and path_of(resp.headers["Location"]).endswith("/unterlagen")
    documents = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert 'name="erstuntersuchung"' not in documents


def test_seventeen_at_the_start_asks_the_guardians_and_applies_the_youth_protection(company):
    answers = training_answers(**SEVENTEEN_AT_START, **GUARDIAN, verguetung_erstes_jahr="1000")
    assert visited(company, TRAINING, answers, {**TRAINING_FILES, **CERTIFICATE}) == [
        "betrieb", "auszubildende", "ausbildung", "vertreter", "verguetung", "unterlagen"]
    pay = to_step(company, TRAINING, answers, "verguetung", TRAINING_FILES)
    resp = post_step(company, pay, {**answers, "ausbildungszeit_woche": "42"})
    assert resp.status_code == 422
    assert "Jugendliche dürfen höchstens 40 Stunden in der Woche" in resp.get_data(as_text=True)
    resp = post_step(company, pay, answers)
    documents = path_of(resp.headers["Location"])
    resp = post_step(company, documents, {}, files=TRAINING_FILES)
    assert resp.status_code == 422 and 'id="erstuntersuchung-error"' in resp.get_data(as_text=True)


def test_an_adult_at_the_signing_is_asked_no_guardians(company):
    answers = training_answers(**{**SEVENTEEN_AT_SIGNING, "auszubildende_person-birth_date": "2008-11-20"})
    assert visited(company, TRAINING, answers, TRAINING_FILES) == [
        "betrieb", "auszubildende", "ausbildung", "verguetung", "unterlagen"]  # 18 on the day she signed


def test_the_founding_bundle_asks_the_guardians_of_an_apprentice_seventeen_at_the_signing(client, login_as):
    """The trial's case in "Betrieb gründen": contract 20.11.2026, start 01.08.2027, born 10.06.2009."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    trainee = {"auszubildende_person-birth_date": "2009-06-10", **GUARDIAN}
    steps = _training_steps(client, overview, trainee,
                            {"qualifikationsnachweis": "Meisterbrief.pdf", "ausbildungsvertrag": "Vertrag.pdf"})
    assert steps == ["betrieb", "auszubildende", "ausbildung", "vertreter", "verguetung", "unterlagen"]
