"""What a new-user trial of the life-event bundles still found typed twice (issue 16, "a founder
answers each question once and every competent body receives its filing"): her own name, which the
account knows, typed as the first of the persons; an optional detail of the persons (Geburtsname,
telephone) left empty and asked again in the Handwerksrolle; the number of legal representatives
(GewA field 12) typed in a move's Gewerbeanzeige. Each over HTTP, read as its receiver got it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bizportal.auth.models import split_name
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.inbox.models import InboxItem
from tests.support.bundles import (
    CHILD_ANSWERS,
    FILES,
    HWK_FORM,
    MOVE,
    MOVE_ANSWERS,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    fill,
    form_values,
    given_values,
    post_shown_step,
    press,
    service_drafts,
    start_bundle,
    submit,
)
from tests.support.handwerk import MEISTERPRUEFUNG

#: the login's claims (bizportal/demo.py, the test provider's users)
ANNA = {"familienname": "Becker", "vornamen": "Anna", "email": "anna.becker@becker-elektro.example"}
#: the takeover's own questions, beyond the founding bundle's
TAKEOVER = {"uebernahme_art": "pacht", "frueherer_inhaber": "Elektro Meier e. K.", "start_date": "2027-05-01"}
#: what each bundle is answered with up to its "Personen" step (the persons themselves left out)
BEFORE_PERSONS = {
    "betrieb-gruenden": {k: v for k, v in SHARED.items() if not k.startswith("personen-")},
    "betrieb-uebernehmen": {**{k: v for k, v in SHARED.items() if not k.startswith("personen-")}, **TAKEOVER},
    "betrieb-verlegen-aufgeben": {k: v for k, v in MOVE.items() if not k.startswith("personen-")},
}
#: a move within Bremen: one Gewerbeummeldung
WITHIN = {**MOVE, "vorhaben": "verlegen_gemeinde", "new_postcode": "28217", "new_city": "Bremen"}


def _received(app) -> dict[tuple[str, str], dict]:
    Worker(app).run_once()
    with app.app_context():
        return {(i.service_key, i.destination_role): i.data for i in db.session.scalars(select(InboxItem))}


def _page(client, draft_id: str, step: str) -> str:
    page = client.get(f"/antraege/entwurf/{draft_id}/{step}")
    assert page.status_code == 200, page.headers.get("Location")
    return page.get_data(as_text=True)


def _persons_step(client, key: str) -> str:
    """Start the bundle and answer it up to its "Personen" step; that step's path."""
    first = start_bundle(client, key)
    fill(client, first, BEFORE_PERSONS[key], stop_at="personen")
    return first.rsplit("/", 1)[0] + "/personen"


# --- 1. the signed-in person is the first person -----------------------------------------------------

@pytest.mark.parametrize("key", sorted(BEFORE_PERSONS))
def test_the_first_person_starts_as_the_signed_in_person_marked_as_the_accounts(client, login_as, key):
    login_as("anna.becker")
    path = _persons_step(client, key)
    html = client.get(path).get_data(as_text=True)
    values = form_values(html)
    assert {sub: values[f"personen-0-{sub}"] for sub in ANNA} == ANNA
    for sub in ANNA:  # marked as the other account data are, and described by the mark
        assert f'id="personen-0-{sub}-prefilled"' in html, sub
        assert f'personen-0-{sub}-prefilled' in html.split(f'name="personen-0-{sub}"', 1)[0].rsplit("<input", 1)[1]
    assert "Angaben aus Ihrem Unternehmenskonto sind bereits eingetragen" in html
    # what the account does not know stays hers to give
    assert values["personen-0-geburtsort"] == "" and 'id="personen-0-geburtsort-prefilled"' not in html
    assert "personen-1-familienname" not in values  # one person, not more


@pytest.mark.parametrize("key", sorted(BEFORE_PERSONS))
def test_a_person_given_is_not_written_over_by_the_account(client, login_as, key):
    login_as("anna.becker")
    path = _persons_step(client, key)
    weber = {"personen-0-familienname": "Weber", "personen-0-vornamen": "Jonas", "personen-0-email": ""}
    answers = {**{k: v for k, v in SHARED.items() if k.startswith("personen-")}, **weber,
               "personen-0-geschlecht": "maennlich"}
    assert post_shown_step(client, path, answers).status_code == 302
    html = client.get(path).get_data(as_text=True)
    values = form_values(html)
    assert (values["personen-0-familienname"], values["personen-0-vornamen"], values["personen-0-email"]) == (
        "Weber", "Jonas", "")
    persons = html.split('id="personen"', 1)[1].split("</fieldset>", 1)[0]
    for sub in ("familienname", "vornamen", "email"):  # her role still as the legal form tells: marked
        assert f'id="personen-0-{sub}-prefilled"' not in persons


def test_the_founder_filed_without_retyping_her_name_reaches_each_receiver(app, client, login_as):
    login_as("anna.becker")
    persons = {k: v for k, v in SHARED.items() if k.startswith("personen-") and k[len("personen-0-"):] not in ANNA}
    overview = answer_questionnaire(client, "betrieb-gruenden", {**BEFORE_PERSONS["betrieb-gruenden"], **persons,
                                                                 **PLANS, "handwerk_anlage": "b", "ausbilden": "no"})
    press(client, overview, service="handwerk-verzeichnis-eintragung", leave_out="yes")
    complete_draft(client, service_drafts(client, overview)["gewerbeanmeldung"], CHILD_ANSWERS, FILES)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    (person,) = _received(app)[("gewerbeanmeldung", "primary")]["personen"]
    assert {sub: person[sub] for sub in ANNA} == ANNA


@pytest.mark.parametrize(("name", "parts"), [
    ("Anna Becker", ("Anna", "Becker")), ("Anna Maria Becker", ("Anna Maria", "Becker")),
    ("Anna von der Heide", ("Anna", "von der Heide")), ("  Jonas   Weber ", ("Jonas", "Weber")),
    ("Becker", (None, None)), (None, (None, None)), ("Von Bergen", ("Von", "Bergen")),
])
def test_the_logins_name_is_split_into_given_names_and_family_name(name, parts):
    assert split_name(name) == parts


# --- 2. an optional detail of a person left empty is answered ---------------------------------------

#: Anna Becker runs the craft alone and leads it as a master; no Geburtsname, no telephone given
SOLE_MASTER = {**PLANS, "inhaber_art": "natuerliche_person", "registereintrag": "no", "legal_form": "Einzelunternehmen",
               "personen-0-funktion": "inhaber", "personen-0-geburtsname": "", "personen-0-telefon": "",
               "handwerk_anlage": "a", "ausbilden": "no", "betriebsleitung": "erste_person_meister",
               **{k: v for k, v in MEISTERPRUEFUNG.items() if k != "qualification"}}
HANDWERKSROLLE_REST = {"trade": "elektrotechniker", "betriebsleiter_nur_hier": "yes", **HWK_FORM,
                       "registereintrag": "no"}


@pytest.mark.parametrize("key", ["betrieb-gruenden", "betrieb-uebernehmen"])
def test_an_optional_detail_left_empty_in_the_persons_is_not_asked_again_by_the_handwerksrolle(app, client,
                                                                                               login_as, key):
    login_as("anna.becker")
    overview = answer_questionnaire(client, key, {**BEFORE_PERSONS[key], **SHARED, **SOLE_MASTER})
    drafts = service_drafts(client, overview)
    complete_draft(client, drafts["gewerbeanmeldung"], CHILD_ANSWERS, FILES)
    rolle = drafts["handwerksrolle-eintragung"]
    complete_draft(client, rolle, HANDWERKSROLLE_REST, FILES)
    page = _page(client, rolle, "betriebsleitung")
    for name in ("betriebsleiter_geburtsname", "betriebsleiter_telefon"):
        assert f'name="{name}"' not in page, name  # left empty in "Personen": answered there
        assert name in given_values(page), name  # shown as the bundle's, empty
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    entry = _received(app)[("handwerksrolle-eintragung", "primary")]
    assert entry["betriebsleiter"]["family_name"] == "Becker"
    assert not entry.get("betriebsleiter_geburtsname") and not entry.get("betriebsleiter_telefon")


def test_the_trading_name_left_empty_in_a_move_is_asked_in_none_of_its_notifications(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", {**MOVE, "geschaeftsbezeichnung": ""})
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeabmeldung", "gewerbeanmeldung"}
    for key in drafts:
        complete_draft(client, drafts[key], {**MOVE_ANSWERS, "geschaeftsbezeichnung": "Licht & Strom"})
        page = _page(client, drafts[key], "inhaber")
        assert 'name="geschaeftsbezeichnung"' not in page, key
        assert "geschaeftsbezeichnung" in given_values(page), key
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    for key in drafts:
        assert not received[(key, "primary")].get("geschaeftsbezeichnung"), key


# --- 3. GewA field 12 counted from the persons in the move and the takeover -------------------------

def _counted_once(client, draft_id: str) -> None:
    """Field 12 is the bundle's (one managing director listed): not asked, and a posted number changes nothing."""
    page = _page(client, draft_id, "betrieb")
    assert 'name="zahl_vertreter"' not in page
    assert given_values(page)["zahl_vertreter"] == "1"
    resp = post_shown_step(client, f"/antraege/entwurf/{draft_id}/betrieb", {"zahl_vertreter": "3"})
    assert resp.status_code == 302
    assert given_values(_page(client, draft_id, "betrieb"))["zahl_vertreter"] == "1"


@pytest.mark.parametrize(("answers", "services"), [
    (MOVE, {"gewerbeabmeldung", "gewerbeanmeldung"}),
    (WITHIN, {"gewerbeummeldung"}),
])
def test_a_move_counts_the_legal_representatives_from_the_persons(app, client, login_as, answers, services):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", answers)
    drafts = service_drafts(client, overview)
    assert set(drafts) == services
    for key in services:
        complete_draft(client, drafts[key], {**MOVE_ANSWERS, "handwerk_bezeichnung": "Elektrotechniker",
                                             "zahl_vertreter": "3"})
        _counted_once(client, drafts[key])
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    for key in services:
        data = received[(key, "primary")]
        assert data["zahl_vertreter"] == 1 and len(data["personen"]) == 1, key


def test_a_takeover_counts_the_legal_representatives_from_the_persons(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-uebernehmen", {**SHARED, **PLANS, **TAKEOVER,
                                                                    "handwerk_anlage": "b", "ausbilden": "no"})
    press(client, overview, service="handwerk-verzeichnis-eintragung", leave_out="yes")
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    complete_draft(client, gewerbe, {**CHILD_ANSWERS, "zahl_vertreter": "3"}, FILES)
    _counted_once(client, gewerbe)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    data = _received(app)[("gewerbeanmeldung", "primary")]
    assert data["zahl_vertreter"] == 1 and len(data["personen"]) == 1


# --- the craft, asked once (second new-user trial) ----------------------------------------------------

@pytest.mark.parametrize(("key", "extra"), [
    ("betrieb-gruenden", {}),
    ("betrieb-uebernehmen", {"uebernahme_art": "pacht", "frueherer_inhaber": "Elektro Meier e. K."})])
def test_the_craft_is_asked_once_with_the_handwerksrolles_list_and_filed_with_it(app, client, login_as, key, extra):
    login_as("anna.becker")
    first = start_bundle(client, key)
    answers = {**SHARED, **extra, **PLANS, "handwerk_anlage": "a", "ausbilden": "no", "gewerk": "tischler"}
    fill(client, first, answers, stop_at="betriebsleitung")
    question = client.get(first.rsplit("/", 1)[0] + "/betriebsleitung").get_data(as_text=True)
    # the Handwerksrolle's own 53 crafts of Anlage A, in the bundle
    assert '<option value="tischler">Nr. 27 Tischler</option>' in question
    assert '<option value="elektrotechniker">Nr. 25 Elektrotechniker</option>' in question
    refused = post_shown_step(client, first.rsplit("/", 1)[0] + "/betriebsleitung", {**answers, "gewerk": "koch"})
    assert refused.status_code == 422  # not a craft of the list
    overview = answer_questionnaire(client, key, answers)
    rolle = service_drafts(client, overview)["handwerksrolle-eintragung"]
    html = _page(client, rolle, "angaben")  # the entry's first step, which holds the craft
    assert 'name="trade"' not in html  # not chosen again in the entry
    assert given_values(html)["trade"] == "Nr. 27 Tischler"


# --- what the account's legal form tells (second new-user trial) --------------------------------------

@pytest.mark.parametrize("key", ["betrieb-gruenden", "betrieb-uebernehmen", "betrieb-verlegen-aufgeben"])
@pytest.mark.parametrize(("login", "role"), [("anna.becker", "vertreter"),  # Becker Elektrotechnik GmbH
                                             ("lea.hansen", "inhaber")])  # Hansen Versicherungsmakler e. K.
def test_the_register_entry_and_the_first_persons_role_start_as_the_legal_form_tells(client, login_as, key,
                                                                                     login, role):
    login_as(login)
    first = start_bundle(client, key)
    if key == "betrieb-verlegen-aufgeben":
        assert post_shown_step(client, first, {"vorhaben": "aufgeben"}).status_code == 302
        first = first.rsplit("/", 1)[0] + "/betrieb"
    html = client.get(first).get_data(as_text=True)
    assert form_values(html).get("registereintrag") == "yes"  # a GmbH and an e. K. are in the register
    assert 'id="registereintrag-prefilled"' in html
    persons = client.get(_persons_step(client, key)).get_data(as_text=True)
    assert form_values(persons)["personen-0-funktion"] == role
    assert 'id="personen-0-funktion-prefilled"' in persons


@pytest.mark.parametrize(("legal_form", "registered", "role"), [
    ("GbR", None, "gesellschafter"), ("eGbR", True, "gesellschafter"), ("Einzelunternehmen", None, "inhaber"),
    ("e. Kfr.", True, "inhaber"), ("UG (haftungsbeschränkt)", True, "vertreter"), ("Stiftung", None, "vertreter"),
    ("GmbH & Co. KG", True, "gesellschafter"), ("Verein", None, None), ("", None, None)])
def test_the_legal_form_tells_the_register_and_the_role_only_where_it_determines_them(legal_form, registered, role):
    from bizportal.common import legal_forms

    assert legal_forms.in_register(legal_form) is registered
    assert legal_forms.owner_function(legal_form) == role
