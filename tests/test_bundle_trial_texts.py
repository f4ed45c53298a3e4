"""What a third new user's trial of "Betrieb gründen" found (issue 16): the overview names the bodies
the answers already decide, a founder's sentence finds the bundle and the services about founding
but no unrelated permit, and small texts (a plausible birth-date example, the HandwerkTEST consent
explained, the apprentice's nationality from the country list, the staff count worded for a GmbH)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select as select_
from sqlalchemy import update

from bizportal.bodies.models import Chamber
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support import permits
from tests.support.bundles import PLANS, SHARED, answer_questionnaire, press
from tests.support.filing import file_service, gewerbe_answers, post_step
from tests.support.handwerk import ROLLE, VERZEICHNIS
from tests.support.handwerk import answers as hwk_answers
from tests.support.handwerk import to_step as hwk_to_step
from tests.support.http import catalog_links
from tests.support.training import TRAINING_FILES, training_answers

TRAINING = "ausbildungsvertrag-eintragung"

GENERIC = "Gewerbeamt der Gemeinde der Betriebsstätte"


def _responsible(html: str, service: str) -> str:
    found = re.search(rf'<p class="kern-body kern-body--small" id="zustaendig-{service}">(.*?)</p>', html, re.S)
    assert found, html[:3000]
    return " ".join(found.group(1).split())


# --- the overview names the bodies -------------------------------------------------------------------

def test_the_overview_names_the_bodies_the_postcode_decides(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    html = client.get(overview).get_data(as_text=True)
    assert _responsible(html, "gewerbeanmeldung") == (
        "Zuständig: Gewerbeamt Bremen (Stadtamt); Kopie an Handwerkskammer Bremen")
    assert _responsible(html, "handwerksrolle-eintragung") == "Zuständig: Handwerkskammer Bremen"
    assert _responsible(html, "ausbildungsvertrag-eintragung") == "Zuständig: Handwerkskammer Bremen"
    assert GENERIC not in html
    # the same once the services' drafts are made
    press(client, overview)
    html = client.get(overview).get_data(as_text=True)
    assert _responsible(html, "gewerbeanmeldung") == (
        "Zuständig: Gewerbeamt Bremen (Stadtamt); Kopie an Handwerkskammer Bremen")


def test_the_overview_keeps_the_general_wording_while_no_body_is_decided(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    with app.app_context():  # no chamber of crafts is connected for Bremen (any more)
        db.session.execute(update(Chamber).where(Chamber.kind == "HWK").values(enabled=False))
        db.session.commit()
    html = client.get(overview).get_data(as_text=True)
    assert GENERIC in _responsible(html, "gewerbeanmeldung")
    assert "Bremen" not in _responsible(html, "handwerksrolle-eintragung")


# --- a founder's sentence in the catalog search -----------------------------------------------------

UNRELATED = {"gaststaettenerlaubnis", "immobilienmakler-34c", "ausnahmebewilligung-8-hwo"}


@pytest.mark.parametrize("query", ["Ich gründe einen Betrieb", "Ich möchte einen Betrieb gründen",
                                   "Betrieb gründen", "ich will meinen Betrieb gruenden"])
def test_a_founders_sentence_finds_the_bundle_and_the_registration_not_unrelated_permits(client, query):
    html = client.get("/", query_string={"q": query}).get_data(as_text=True)
    assert 'href="/vorhaben/betrieb-gruenden"' in html
    services = catalog_links(html)
    assert "gewerbeanmeldung" in services
    assert not UNRELATED & set(services), services
    # the bundle is listed before every single service
    assert html.index('href="/vorhaben/betrieb-gruenden"') < html.index('href="/leistungen/')


def test_an_english_sentence_with_want_finds_the_founding_bundle(client):
    html = client.get("/", query_string={"q": "I want to found a business"}).get_data(as_text=True)
    assert 'href="/vorhaben/betrieb-gruenden"' in html



# --- small texts --------------------------------------------------------------------------------------

@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def test_a_mistyped_birth_date_is_shown_a_plausible_birth_date_as_example(company):
    path = permits.to_step(company, TRAINING, training_answers(), "auszubildende", TRAINING_FILES)
    resp = post_step(company, path, training_answers(**{"auszubildende_person-birth_date": "31.02.2009"}))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Bitte geben Sie ein gültiges Geburtsdatum an, z. B. 14.03.1985." in html
    assert "31.12.2026" not in html
    # any other date keeps its example of a date to come
    path = permits.to_step(company, TRAINING, training_answers(), "ausbildung", TRAINING_FILES)
    resp = post_step(company, path, training_answers(beginn="31.02.2027"))
    assert "Bitte geben Sie ein gültiges Datum an, z. B. 31.12.2026." in resp.get_data(as_text=True)
    company.get("/sprache/en")
    resp = post_step(company, permits.to_step(company, TRAINING, training_answers(), "auszubildende", TRAINING_FILES),
                     training_answers(**{"auszubildende_person-birth_date": "31.02.2009"}))
    assert "Please enter a valid date of birth, e.g. 14.03.1985." in resp.get_data(as_text=True)


@pytest.mark.parametrize("service", [ROLLE, VERZEICHNIS])
def test_the_handwerktest_consent_says_what_handwerktest_is(company, service):
    html = company.get(hwk_to_step(company, service, hwk_answers(), "einwilligungen")).get_data(as_text=True)
    hint = re.search(r'id="einwilligung_handwerktest-hint"[^>]*>(.*?)</div>', html, re.S)
    assert hint, html[html.find("einwilligung_handwerktest"):][:1500]
    assert "Internetportal der Handwerkskammer Hamburg" in hint.group(1)
    assert "bewerten" in hint.group(1)


def test_the_apprentices_nationality_is_chosen_from_the_country_list(app, company):
    html = company.get(permits.to_step(company, TRAINING, training_answers(), "auszubildende",
                                       TRAINING_FILES)).get_data(as_text=True)
    assert 'name="auszubildende_person-nationality"' not in html
    select = re.search(r'<select[^>]*name="auszubildende_staatsangehoerigkeit".*?</select>', html, re.S)
    assert select and '<option value="TR">Türkei</option>' in select.group(0)
    reference = file_service(company, TRAINING, training_answers(auszubildende_staatsangehoerigkeit="TR"),
                             files=TRAINING_FILES)
    with app.app_context():
        data = db.session.scalar(select_(Filing.data).where(Filing.reference == reference))
    assert data["auszubildende_staatsangehoerigkeit"] == "TR"
    assert "nationality" not in data["auszubildende_person"]
    assert "Türkei" in company.get(f"/antraege/{reference}").get_data(as_text=True)


def test_the_staff_count_of_a_gmbh_does_not_speak_of_the_owners_spouse(company):
    html = company.get(permits.to_step(company, "gewerbeanmeldung", gewerbe_answers(), "beschaeftigte",
                                       {})).get_data(as_text=True)
    label = re.search(r'<label[^>]*for="vollzeit"[^>]*>(.*?)</label>', html, re.S).group(1)
    assert "Inhaber" not in label and "Lebenspartner" not in label
    assert "Zahl der bei Geschäftsaufnahme tätigen Personen in Vollzeit (Feld 22)" in label
    hint = re.search(r'id="vollzeit-hint"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert "Bei einem Einzelunternehmen ohne die Inhaberin oder den Inhaber" in hint


def test_no_required_question_is_hinted_to_be_left_open():
    """A hint that says to leave a question open belongs to an optional one (fourth trial: the
    required consent to pass the register data on said so, and leaving it open was refused)."""
    from bizportal.catalog.loader import load_catalog

    told_open = [(key, fd) for key, service in load_catalog().items() for fd in service.fields
                 if "lassen Sie die Frage offen" in ((fd.hint or {}).get("de") or "")]
    assert {(key, fd.name) for key, fd in told_open} == {
        ("handwerksrolle-eintragung", "einwilligung_handwerktest"),
        ("handwerk-verzeichnis-eintragung", "einwilligung_handwerktest")}
    assert not any(fd.required for _key, fd in told_open)
