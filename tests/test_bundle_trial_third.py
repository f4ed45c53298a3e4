"""What a third new user's trial of "Betrieb gründen" found (issue 16): the overview names the bodies
the answers already decide, a founder's sentence finds the bundle and the services about founding
but no unrelated permit, and small texts (a plausible birth-date example, the HandwerkTEST consent
explained, the apprentice's nationality from the country list, the staff count worded for a GmbH)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from bizportal.bodies.models import Chamber
from bizportal.extensions import db
from tests.support.bundles import PLANS, SHARED, answer_questionnaire, press
from tests.support.http import catalog_links

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

