"""A fourth new-user trial of the life-event bundles (issue 16): "Wer betreibt das Gewerbe?" left on
"Bitte auswählen" although the account's legal form (GmbH) tells; the Handwerksrolle's "Stellung der
Betriebsleiterin" asked again of a company's managing director who leads the craft as a master;
absurd dates (a founding in 1901, a Meisterprüfung before the master was born) accepted and carried
into the filings. Each over HTTP, as a founder meets it."""

from __future__ import annotations

import pytest

from bizportal.auth.models import Company
from bizportal.common.legal_forms import owner_kind
from bizportal.extensions import db
from tests.support.bundles import (
    HWK_FORM,
    PLANS,
    SHARED,
    answer_questionnaire,
    fill,
    form_values,
    given_values,
    service_drafts,
    start_bundle,
)
from tests.support.filing import path_of, start_draft
from tests.support.handwerk import MEISTERPRUEFUNG

BUNDLES = ("betrieb-gruenden", "betrieb-uebernehmen", "betrieb-verlegen-aufgeben")


# --- 1. "Wer betreibt das Gewerbe?" from the account's legal form -------------------------------------

def _owner_select(html: str) -> str:
    """The markup of the field "inhaber_art" up to its select's end."""
    return html.split('for="inhaber_art"', 1)[1].split("</select>", 1)[0]


@pytest.mark.parametrize("key", BUNDLES)
@pytest.mark.parametrize(("login", "kind"), [("anna.becker", "juristische_person"),
                                             ("lea.hansen", "natuerliche_person")])
def test_who_runs_the_business_starts_answered_from_the_accounts_legal_form(client, login_as, key, login, kind):
    login_as(login)  # Becker Elektrotechnik GmbH; Hansen Versicherungsmakler e. K.
    first = start_bundle(client, key)
    fill(client, first, {"vorhaben": "verlegen_anderswo"}, stop_at="betrieb")  # the move asks its kind first
    html = client.get(first.rsplit("/", 1)[0] + "/betrieb").get_data(as_text=True)
    assert form_values(html)["inhaber_art"] == kind
    assert 'id="inhaber_art-prefilled"' in _owner_select(html)  # marked as the account's, as the name is


@pytest.mark.parametrize("service", ["gewerbeanmeldung", "gewerbeummeldung", "gewerbeabmeldung"])
def test_the_single_gewerbeanzeige_starts_with_who_runs_the_business_answered(client, login_as, service):
    login_as("anna.becker")
    draft = start_draft(client, service).rsplit("/", 1)[0]
    html = client.get(f"{draft}/inhaber").get_data(as_text=True)
    assert form_values(html)["inhaber_art"] == "juristische_person"
    assert 'id="inhaber_art-prefilled"' in _owner_select(html)


@pytest.mark.parametrize(("legal_form", "kind"), [
    ("GmbH", "juristische_person"), ("UG (haftungsbeschränkt)", "juristische_person"), ("AG", "juristische_person"),
    ("eG", "juristische_person"), ("e. V.", "juristische_person"), ("GbR", "personengesellschaft"),
    ("OHG", "personengesellschaft"), ("KG", "personengesellschaft"), ("GmbH & Co. KG", "personengesellschaft"),
    ("PartG mbB", "personengesellschaft"), ("e. K.", "natuerliche_person"), ("e.Kfr.", "natuerliche_person"),
    ("Einzelunternehmen", "natuerliche_person"), ("Freie Berufe", None), ("", None), (None, None),
])
def test_the_legal_form_tells_who_runs_the_business_only_where_it_determines_it(legal_form, kind):
    assert owner_kind(legal_form) == kind


def test_a_legal_form_that_does_not_tell_leaves_the_question_open(app, client, login_as):
    login_as("anna.becker")
    with app.app_context():
        for company in db.session.query(Company).all():
            company.legal_form = "Freie Berufe"
            company.reviewed_fingerprint = company.provider_fingerprint()  # the change reviewed
        db.session.commit()
    html = client.get(start_bundle(client, "betrieb-gruenden")).get_data(as_text=True)
    assert 'name="inhaber_art"' in html and not form_values(html).get("inhaber_art")  # "Bitte auswählen"
    assert 'id="inhaber_art-prefilled"' not in html


# --- 2. the Betriebsleiterin's position follows from who runs the business -------------------------

#: the first person leads the craft (Anlage A) as a master; her examination is given in the plan
MASTER_LEADS = {**PLANS, "handwerk_anlage": "a", "ausbilden": "no", "betriebsleitung": "erste_person_meister",
                **{k: v for k, v in MEISTERPRUEFUNG.items() if k != "qualification"}}



def _at_betriebsleitung(client, overview: str) -> str:
    """The Handwerksrolle's draft of the bundle, answered up to its step "Betriebsleitung"."""
    rolle = service_drafts(client, overview)["handwerksrolle-eintragung"]
    first = client.get(f"/antraege/entwurf/{rolle}/pruefen")
    fill(client, path_of(first.headers["Location"]), {"trade": "elektrotechniker", **HWK_FORM},
         stop_at="betriebsleitung")
    return rolle


@pytest.mark.parametrize(("owner", "funktion", "legal_form", "shown"), [
    ("juristische_person", "vertreter", "GmbH", "Geschäftsführerin oder Geschäftsführer"),
    ("personengesellschaft", "gesellschafter", "GbR", "Persönlich haftende Gesellschafterin"),
])
def test_the_managers_position_follows_for_a_company_led_by_its_first_person(client, login_as, owner, funktion,
                                                                             legal_form, shown):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {
        **SHARED, "inhaber_art": owner, "legal_form": legal_form, "personen-0-funktion": funktion, **MASTER_LEADS})
    rolle = _at_betriebsleitung(client, overview)
    page = client.get(f"/antraege/entwurf/{rolle}/betriebsleitung").get_data(as_text=True)
    assert 'name="betriebsleiter_stellung"' not in page  # not asked again
    assert given_values(page)["betriebsleiter_stellung"].startswith(shown)


def test_the_managers_position_is_asked_when_another_person_leads(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a",
                                                                 "ausbilden": "no", "betriebsleitung": "andere_person"})
    rolle = _at_betriebsleitung(client, overview)
    page = client.get(f"/antraege/entwurf/{rolle}/betriebsleitung").get_data(as_text=True)
    assert 'name="betriebsleiter_stellung"' in page
