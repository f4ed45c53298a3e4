"""Issue 16, a new-user trial of "Betrieb verlegen oder aufgeben" and "Betrieb übernehmen": the move
starts with the business as the company notified it in its Gewerbeanmeldung filed through the
portal (its persons, activity, staff, old premises), marked with that filing; another company sees
nothing of it; the Handwerksrolle entry at the new chamber takes the Betriebsleitung from the
persons; a takeover does not offer the account's address as the premises; field 22 is worded as
in the services."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bizportal.catalog.bundle_loader import BUNDLES_DIR, load_bundle_text
from bizportal.catalog.loader import DefinitionError, load_catalog
from bizportal.extensions import db
from bizportal.inbox.models import InboxItem
from tests.support.bundles import (
    FILES,
    HANDWERKSROLLE,
    MOVE,
    MOVE_ANSWERS,
    NEW_PLACE,
    SHARED,
    TAKEOVER,
    TO_HAMBURG,
    answer_questionnaire,
    complete_draft,
    form_values,
    given_values,
    post_shown_step,
    service_drafts,
    start_bundle,
    submit,
)
from tests.support.bundles import received_by_body as _received
from tests.support.filing import file_service, gewerbe_answers, path_of, start_draft
from tests.support.http import csrf_token

#: the premises Becker notified (not the account's Am Wall 120), so that their way shows
PREMISES = {"street": "Hafenstraße 7", "postcode": "28217", "city": "Bremen"}
EARLIER = gewerbe_answers(**PREMISES, geschaeftsbezeichnung="Becker Licht & Strom", vollzeit="4", teilzeit="2",
                          activity="Elektroinstallation und Elektroeinzelhandel", wz2008="43.21.0")
#: what the move asks that no earlier filing can know
ONLY_THE_MOVE = {"vorhaben": "verlegen_anderswo", **NEW_PLACE, "move_date": "2027-04-01", "handwerksrolle": "no"}


def _badge(html: str) -> list[str]:
    return re.findall(r'<span class="kern-label">(aus Ihrer Gewerbeanmeldung [^<]+)</span>', html)


def _step(client, first: str, key: str, answers: dict | None = None) -> str:
    """The step ``key`` of the draft whose first step is ``first``, after taking each step before it
    as shown, with ``answers`` for what it does not show (the steps are answered in order)."""
    base = first.rsplit("/", 1)[0]
    for _ in range(10):
        resp = client.get(f"{base}/{key}")
        if resp.status_code == 200:
            return resp.get_data(as_text=True)
        assert resp.status_code == 302
        earlier = path_of(resp.headers["Location"])
        assert post_shown_step(client, earlier, answers or {}).status_code == 302, earlier
    raise AssertionError(key)


def test_the_move_starts_with_the_business_as_notified_in_the_companys_gewerbeanmeldung(client, login_as):
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", EARLIER)
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    resp = post_shown_step(client, first, {"vorhaben": "verlegen_anderswo"})
    assert resp.status_code == 302
    betrieb = _step(client, first, "betrieb")
    values = form_values(betrieb)
    # the old premises are the notified ones, not the account's address
    assert (values["street"], values["postcode"], values["city"]) == ("Hafenstraße 7", "28217", "Bremen")
    assert values["inhaber_art"] == "juristische_person" and values["registereintrag"] == "yes"
    assert values["geschaeftsbezeichnung"] == "Becker Licht & Strom"
    assert values["oeffentliche_hand"] == "nein" and values["niederlassung"] == "hauptniederlassung"
    assert values["reisegewerbe"] == "no"
    badges = _badge(betrieb)
    assert badges and all(reference in b for b in badges), badges
    assert f"Angaben aus Ihrer Gewerbeanmeldung {reference} vom" in betrieb
    assert form_values(_step(client, first, "register"))["handelsregisternummer"] == "Bremen HRB 12345"
    personen = _step(client, first, "personen")
    persons = form_values(personen)
    assert (persons["personen-0-funktion"], persons["personen-0-familienname"], persons["personen-0-vornamen"],
            persons["personen-0-geburtsdatum"], persons["personen-0-geburtsort"],
            persons["personen-0-anschrift-street"]) == ("vertreter", "Becker", "Anna", "1980-05-17", "Bremen",
                                                         "Parkallee 5")
    assert _badge(personen)
    taetigkeit = form_values(_step(client, first, "taetigkeit"))
    assert taetigkeit["taetigkeit"] == "Elektroinstallation und Elektroeinzelhandel"
    assert taetigkeit["wz2008"] == "43.21.0"
    assert (taetigkeit["vollzeit"], taetigkeit["teilzeit"], taetigkeit["handwerk"]) == ("4", "2", "yes")


def test_a_move_answered_once_files_the_notified_business(app, client, login_as):
    login_as("anna.becker")
    file_service(client, "gewerbeanmeldung", EARLIER)
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", ONLY_THE_MOVE)
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeabmeldung", "gewerbeanmeldung"}
    for draft_id in drafts.values():
        complete_draft(client, draft_id, MOVE_ANSWERS)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    _chamber, abmeldung = received[("gewerbeabmeldung", "primary")]
    assert abmeldung["betriebsanschrift"]["street"] == "Hafenstraße 7"
    assert abmeldung["personen"][0]["geburtsdatum"] == "1980-05-17"
    assert abmeldung["taetigkeit"] == "Elektroinstallation und Elektroeinzelhandel" and abmeldung["vollzeit"] == 4
    with app.app_context():  # the new place's Anmeldung, not the earlier one at the old place
        [anmeldung] = [i.data for i in db.session.scalars(select(InboxItem).where(
            InboxItem.service_key == "gewerbeanmeldung", InboxItem.destination_role == "primary"))
            if i.data.get("grund") == "wiedereroeffnung"]
    assert anmeldung["fruehere_betriebsstaette"]["street"] == "Hafenstraße 7"
    assert anmeldung["geschaeftsbezeichnung"] == "Becker Licht & Strom"


def test_another_companys_filing_prefills_nothing(client, login_as):
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", EARLIER)
    login_as("lea.hansen")  # Hansen Versicherungsmakler, Große Elbstraße 14 in Hamburg
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    assert post_shown_step(client, first, {"vorhaben": "aufgeben"}).status_code == 302
    betrieb = _step(client, first, "betrieb")
    assert form_values(betrieb)["street"] == "Große Elbstraße 14"  # her account's address
    assert "Hafenstraße 7" not in betrieb and "Becker Licht" not in betrieb
    assert reference not in betrieb and not _badge(betrieb)
    personen = _step(client, first, "personen", MOVE)
    assert "1980-05-17" not in personen and "Parkallee 5" not in personen
    assert not form_values(_step(client, first, "taetigkeit", MOVE)).get("taetigkeit")


def test_without_an_earlier_filing_the_move_starts_with_the_account(client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    assert post_shown_step(client, first, {"vorhaben": "aufgeben"}).status_code == 302
    betrieb = _step(client, first, "betrieb")
    assert form_values(betrieb)["street"] == "Am Wall 120" and "aus Ihrem Unternehmenskonto" in betrieb
    assert not _badge(betrieb)
    assert not form_values(_step(client, first, "taetigkeit", MOVE)).get("taetigkeit")


def test_the_new_chambers_handwerksrolle_takes_the_betriebsleitung_from_the_persons(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben",
                                    {**TO_HAMBURG, "betriebsleitung": "erste_person"})
    drafts = service_drafts(client, overview)
    html = _step(client, f"/antraege/entwurf/{drafts['handwerksrolle-eintragung']}/angaben", "betriebsleitung",
                 HANDWERKSROLLE)
    given = given_values(html)
    assert "Becker" in given["betriebsleiter"] and "Anna" in given["betriebsleiter"]
    assert "Parkallee 5" in given["betriebsleiter_anschrift"]
    assert 'name="betriebsleiter-family_name"' not in html
    # the GmbH's managing director leads it: her position is not asked again (second trial, issue 16)
    assert 'name="betriebsleiter_stellung"' not in html
    assert given["betriebsleiter_stellung"].startswith("Geschäftsführerin oder Geschäftsführer")
    gruendung = _step(client, f"/antraege/entwurf/{drafts['handwerksrolle-eintragung']}/angaben", "gruendung",
                      HANDWERKSROLLE)
    assert 'name="existenzgruender"' not in gruendung and given_values(gruendung)["existenzgruender"] == "Nein"
    for key in ("gewerbeabmeldung", "gewerbeanmeldung"):
        complete_draft(client, drafts[key], MOVE_ANSWERS)
    asked = {k: v for k, v in HANDWERKSROLLE.items() if not k.startswith(("betriebsleiter-", "betriebsleiter_anschrift",
                                                                            "betriebsleiter_geschlecht",
                                                                            "betriebsleiter_staatsangehoerigkeit"))}
    complete_draft(client, drafts["handwerksrolle-eintragung"], asked, FILES)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    _chamber, data = _received(app)[("handwerksrolle-eintragung", "primary")]
    assert data["betriebsleiter"]["family_name"] == "Becker" and data["betriebsleiter"]["birth_date"] == "1980-05-17"
    assert data["betriebsleiter_anschrift"]["street"] == "Parkallee 5"
    assert data["betriebsleiter_stellung"] == "geschaeftsfuehrer"
    assert data["existenzgruender"] is False  # an existing business moves in (third trial)


def test_a_takeover_does_not_offer_the_accounts_address_as_the_premises(client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-uebernehmen")
    html = client.get(first).get_data(as_text=True)
    values = form_values(html)
    assert not values.get("street") and not values.get("postcode") and not values.get("city")
    assert "Am Wall 120" not in html
    assert "meist die Anschrift des bisherigen Betriebs" in html


def test_field_22_is_worded_as_in_the_services(client, login_as):
    login_as("anna.becker")
    hint = ("Einschließlich Aushilfen. Bei einem Einzelunternehmen ohne die Inhaberin oder den Inhaber selbst, "
            "aber mit mitarbeitenden Ehe- oder Lebenspartnern. Keine: 0.")
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    assert post_shown_step(client, first, {**MOVE, "vorhaben": "aufgeben"}).status_code == 302
    html = _step(client, first, "taetigkeit", MOVE)
    assert "tätigen Personen in Vollzeit (Feld 22)" in html and html.count(hint) == 2
    assert "ohne Inhaber" not in html and "Lebenspartner des Inhabers" not in html
    first = start_bundle(client, "betrieb-uebernehmen")
    html = _step(client, first, "taetigkeit", TAKEOVER)
    assert "tätigen Personen in Teilzeit (Feld 22)" in html and html.count(hint) == 2
    assert "ohne Inhaber" not in html


def test_a_single_abmeldung_starts_with_the_notified_business_too(client, login_as):
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", EARLIER)
    first = start_draft(client, "gewerbeabmeldung")
    inhaber = client.get(first).get_data(as_text=True)
    assert form_values(inhaber)["inhaber_art"] == "juristische_person" and _badge(inhaber)
    betrieb = form_values(_step(client, first, "betriebsstaette"))
    assert (betrieb["betriebsanschrift-street"], betrieb["betriebsanschrift-postcode"]) == ("Hafenstraße 7", "28217")
    assert form_values(_step(client, first, "taetigkeit"))["taetigkeit"] == EARLIER["activity"]
    assert reference in " ".join(_badge(_step(client, first, "personen")))


def test_a_from_filing_part_that_does_not_fit_its_field_stops_the_bundle():
    source = BUNDLES_DIR / "betrieb-verlegen-aufgeben.toml"
    text = source.read_text(encoding="utf-8")
    assert 'from_filing = "vollzeit"' in text
    for wrong, message in (('from_filing = "personen"', "fills a group field"),
                           ('from_filing = "umsatz"', "is not one of")):
        with pytest.raises(DefinitionError, match=message):
            load_bundle_text(text.replace('from_filing = "vollzeit"', wrong), source.name, load_catalog())


def test_the_newest_notification_counts_and_a_withdrawn_one_not(client, login_as):
    login_as("anna.becker")
    kept = file_service(client, "gewerbeanmeldung", EARLIER)
    withdrawn = file_service(client, "gewerbeanmeldung", gewerbe_answers(street="Falsche Straße 1", activity="Doppelt"))
    page = client.get(f"/antraege/{withdrawn}")
    confirm = client.post(f"/antraege/{withdrawn}/zurueckziehen",
                          data={"csrf_token": csrf_token(page.get_data(as_text=True))}).get_data(as_text=True)
    assert client.post(f"/antraege/{withdrawn}/zurueckziehen",
                       data={"csrf_token": csrf_token(confirm), "confirm": "yes"}).status_code == 302
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    assert post_shown_step(client, first, {"vorhaben": "aufgeben"}).status_code == 302
    betrieb = _step(client, first, "betrieb")
    assert form_values(betrieb)["street"] == "Hafenstraße 7" and "Falsche Straße" not in betrieb
    assert all(kept in b for b in _badge(betrieb)) and withdrawn not in betrieb


@pytest.mark.parametrize(("key", "before"), [
    ("betrieb-uebernehmen", {**SHARED, "uebernahme_art": "pacht", "frueherer_inhaber": "Elektro Meier e. K."}),
    ("betrieb-gruenden", SHARED)])
def test_a_takeover_or_founding_starts_with_the_persons_the_company_filed_before(client, login_as, key, before):
    """Third trial: the takeover asked birth data and addresses again that the company had filed
    minutes before in its Gewerbeanmeldung."""
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", EARLIER)
    first = start_bundle(client, key)
    given = {k: v for k, v in before.items() if not k.startswith("personen-")}
    personen = _step(client, first, "personen", given)
    persons = form_values(personen)
    assert (persons["personen-0-familienname"], persons["personen-0-geburtsdatum"],
            persons["personen-0-anschrift-street"]) == ("Becker", "1980-05-17", "Parkallee 5")
    assert reference in " ".join(_badge(personen))
