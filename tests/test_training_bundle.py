"""The training contract in the founding and takeover bundles: the founder's telephone from
"Personen" is the chamber's "Telefon für Rückfragen" (new-user trial, issue 16: it showed "–")."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bizportal.catalog.bundle_loader import load_bundles
from bizportal.catalog.loader import load_catalog
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.bundles import (
    CHILD_ANSWERS,
    FILES,
    PLANS,
    SHARED,
    answer_questionnaire,
    completion_links,
    fill,
    service_drafts,
    submit,
)

TRAINING = "ausbildungsvertrag-eintragung"
PHONE = {"personen-0-telefon": "0421 555123"}


def _file_bundle(app, client, bundle: str, answers: dict, child: dict, files: dict) -> Filing:
    overview = answer_questionnaire(client, bundle, answers)
    drafts = service_drafts(client, overview)
    for link in completion_links(client.get(overview).get_data(as_text=True)):
        fill(client, link, {**CHILD_ANSWERS, **child}, files)
    page = client.get(f"/antraege/entwurf/{drafts[TRAINING]}/betrieb").get_data(as_text=True)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.service_key == TRAINING))
        db.session.expunge(filing)
    return filing, page


def test_the_founders_telephone_is_the_training_contracts_telephone_for_queries(app, client, login_as):
    login_as("anna.becker")
    filing, page = _file_bundle(app, client, "betrieb-gruenden", {**SHARED, **PLANS, **PHONE, "handwerk_anlage": "a"},
                                {}, FILES)
    assert "0421 555123" in page
    assert filing.data["telefon"] == "0421 555123"


@pytest.mark.parametrize("bundle", ["betrieb-gruenden", "betrieb-uebernehmen"])
def test_both_bundles_give_the_first_persons_telephone_and_none_without_one(bundle):
    definition = load_bundles(load_catalog())[bundle]
    person = {"familienname": "Becker", "vornamen": "Anna", "telefon": "0421 555123"}
    answers = {"ausbilden": True, "ausbildung_durch": "andere_person", "personen": [person]}
    assert definition.shared_answers(TRAINING, answers)["telefon"] == "0421 555123"
    without = {**answers, "personen": [{**person, "telefon": ""}]}
    assert not definition.shared_answers(TRAINING, without).get("telefon")  # the service asks then


def test_in_the_bundle_a_guardian_at_the_apprentices_address_is_filed_with_it(app, client, login_as):
    login_as("anna.becker")
    minor = {"auszubildende_person-birth_date": "2010-11-30", "gesetzliche_vertreter-0-family_name": "Lange",
             "gesetzliche_vertreter-0-given_names": "Petra",
             "gesetzliche_vertreter-0-anschrift_wie_auszubildende": "yes"}
    filing, _page = _file_bundle(app, client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"}, minor,
                                 {**FILES, "erstuntersuchung": "Erstuntersuchung.pdf"})
    guardian = filing.data["gesetzliche_vertreter"][0]
    assert (guardian["given_names"], guardian["street"], guardian["postcode"], guardian["city"]) == (
        "Petra", "Friedrich-Ebert-Straße 48", "28199", "Bremen")
