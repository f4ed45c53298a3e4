"""What a new-user test of the life-event bundles found (issue 16): a move asks for the new place
and presets the reasons, answers that contradict the bundle are refused, the chambers see the
bundle a filing belongs to, and the lists, search and dashboard account for bundles."""

from __future__ import annotations

import io
import json
import re
import uuid

from pypdf import PdfReader
from sqlalchemy import select

from bizportal.delivery.jobs import payload, read_jobs
from bizportal.delivery.models import Delivery
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from bizportal.inbox.models import InboxItem
from chambers.wire import payload_to_dict
from tests.support.bundles import (
    HANDWERKSROLLE,
    MOVE,
    MOVE_ANSWERS,
    NEW_PLACE,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    file_bundle,
    fill,
    form_values,
    given_values,
    press,
    service_drafts,
    submit,
)
from tests.support.filing import GESCHAEFTSFUEHRERIN, path_of
from tests.support.http import csrf_token, login

FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a", "ausbilden": "no"}


def _draft_page(client, draft_id: str, step: str) -> str:
    page = client.get(f"/antraege/entwurf/{draft_id}/{step}")
    assert page.status_code == 200, page.headers.get("Location")
    return page.get_data(as_text=True)


def test_a_move_to_another_municipality_files_at_the_new_place_with_the_move_as_reason(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", {**MOVE})
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeabmeldung", "gewerbeanmeldung"}
    shown = complete_draft(client, drafts["gewerbeanmeldung"], MOVE_ANSWERS)
    # the new place, the reason and the former place come from the questionnaire: not asked again
    assert not {"betriebsstaette", "grund", "verlegung"} & set(shown), shown
    # field 23 is the bundle's too (the fifth trial), never left empty beside its "Reisegewerbe: Nein"
    # (the second trial: both offices got "Feld 23 –")
    assert "niederlassung" not in shown, shown
    shown = complete_draft(client, drafts["gewerbeabmeldung"], MOVE_ANSWERS)
    assert not {"betriebsstaette", "abmeldung", "verlegung", "niederlassung"} & set(shown), shown
    for key, name in (("gewerbeanmeldung", "niederlassung"), ("gewerbeabmeldung", "abmeldung_betrifft")):
        assert given_values(_draft_page(client, drafts[key], "niederlassung"))[name].startswith(
            "eine Hauptniederlassung")
    anmeldung = given_values(_draft_page(client, drafts["gewerbeanmeldung"], "betriebsstaette"))
    assert (anmeldung["street"], anmeldung["postcode"], anmeldung["city"]) == \
        ("Bürgermeister-Smidt-Straße 10", "27568", "Bremerhaven")  # the new place, not the account's
    assert given_values(_draft_page(client, drafts["gewerbeanmeldung"], "grund"))["grund"] == \
        "Wiedereröffnung nach Verlegung aus einem anderen Meldebezirk"
    assert given_values(_draft_page(client, drafts["gewerbeabmeldung"], "abmeldung"))["grund"] == \
        "Verlegung in einen anderen Meldebezirk"
    # the closing date (field 20) is asked with the activity (18, 19), as on the form
    assert given_values(_draft_page(client, drafts["gewerbeabmeldung"], "taetigkeit"))["abmeldung_datum"] == \
        "01.04.2027"

    review, resp = submit(client, overview)
def test_the_new_place_is_asked_only_for_a_move(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben",
                                    {**MOVE, "vorhaben": "aufgeben", "registereintrag": "no"})
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeabmeldung"}
    complete_draft(client, drafts["gewerbeabmeldung"], {**MOVE_ANSWERS, "aufgabe_ursache": "alter",
                                                       "abmeldung_datum": "2027-06-30"})
    values = given_values(_draft_page(client, drafts["gewerbeabmeldung"], "abmeldung"))
    assert values["grund"] == "Vollständige Aufgabe"
    assert 'name="neue_anschrift-street"' not in client.get(
        f"/antraege/entwurf/{drafts['gewerbeabmeldung']}/verlegung").get_data(as_text=True)


def test_a_reason_posted_against_the_move_does_not_change_the_bundles_reason(app, client, login_as):
    """The reason is the bundle's: the step shows it without an input, and a POST that sends
    another one anyway (an old page, a crafted request) leaves the bundle's in the draft."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", {**MOVE})
    drafts = service_drafts(client, overview)
    for draft_id in drafts.values():
        complete_draft(client, draft_id, MOVE_ANSWERS)
    for key, step, other in (("gewerbeabmeldung", "abmeldung", "aufgabe"), ("gewerbeanmeldung", "grund",
                                                                           "neugruendung")):
        path = f"/antraege/entwurf/{drafts[key]}/{step}"
        page = client.get(path).get_data(as_text=True)
        assert 'name="grund"' not in page
        resp = client.post(path, data={**form_values(page), "grund": other, "action": "next"})
        assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Draft, uuid.UUID(drafts["gewerbeabmeldung"])).data["grund"] == "verlegung"
        assert db.session.get(Draft, uuid.UUID(drafts["gewerbeanmeldung"])).data["grund"] == "wiedereroeffnung"
    review, resp = submit(client, overview)
    assert resp.status_code == 302, review.get_data(as_text=True)[:2000]


def test_founding_presets_neugruendung_and_ignores_a_purchase(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    drafts = service_drafts(client, overview)
    complete_draft(client, drafts["gewerbeanmeldung"], MOVE_ANSWERS)
    step = f"/antraege/entwurf/{drafts['gewerbeanmeldung']}/grund"
    page = client.get(step).get_data(as_text=True)
    assert given_values(page)["grund"] == "Neuerrichtung/Neugründung"
    resp = client.post(step, data={**form_values(page), "grund": "kauf", "action": "next"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.get(Draft, uuid.UUID(drafts["gewerbeanmeldung"])).data["grund"] == "neugruendung"


def test_a_draft_contradicting_its_bundle_is_not_submitted(app, client, login_as):
    """A service draft saved before the bundle refused contradictions (or changed behind its
    back) cannot be submitted: the review names the service and the field, nothing is filed."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", {**MOVE})
    drafts = service_drafts(client, overview)
    for draft_id in drafts.values():
        complete_draft(client, draft_id, MOVE_ANSWERS)
    review = client.get(f"{overview}/pruefen")
    assert review.status_code == 200
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(drafts["gewerbeabmeldung"]))
        draft.data = {**draft.data, "grund": "aufgabe", "aufgabe_ursache": "alter"}
        draft.completed_steps = [*draft.completed_steps, "aufgabe"]
        db.session.commit()
    resp = client.post(f"{overview}/pruefen", data={"csrf_token": csrf_token(review.get_data(as_text=True)),
                                                     "declaration": "y"})
    assert resp.status_code == 302
    html = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert re.search(r"„Gewerbeabmeldung“, Angabe „Grund der Abmeldung[^“]*“: Ihre Antwort widerspricht", html)
    with app.app_context():
        assert db.session.scalar(select(Filing.id)) is None


def test_the_takeover_reaches_the_handwerksrolle(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-uebernehmen", {
        **SHARED, "uebernahme_art": "pacht", "frueherer_inhaber": "Elektro Meier e. K.", **PLANS,
        "ausbilden": "no", "handwerk_anlage": "a"})
    drafts = service_drafts(client, overview)
    rolle = drafts["handwerksrolle-eintragung"]
    fill(client, f"/antraege/entwurf/{rolle}/angaben", HANDWERKSROLLE, stop_at="gruendung")
    values = given_values(_draft_page(client, rolle, "uebernahme"))  # a step of its own, done by the bundle
    assert (values["uebernahme_art"], values["frueherer_inhaber"]) == ("Übernahme durch Pacht",
                                                                       "Elektro Meier e. K.")


def test_chambers_see_the_bundle_on_the_staff_page_in_the_export_and_in_the_payload(app, client, login_as):
    login_as("anna.becker")
    status = file_bundle(client, "betrieb-gruenden", FOUNDING)
    bundle_ref = status.rsplit("/", 1)[-1]
    with app.app_context():
        filings = {f.service_key: f.reference for f in db.session.scalars(select(Filing))}
        delivery = db.session.scalar(select(Delivery.id).join(Filing).where(
            Filing.service_key == "handwerksrolle-eintragung"))
        sent = payload_to_dict(payload(read_jobs([delivery])[delivery], {}, None), include_content=False)
    assert sent["bundle"] == {"reference": bundle_ref, "kind": "betrieb-gruenden", "title": "Betrieb gründen",
                              "filings": [{"service_key": "gewerbeanmeldung", "service_title": "Gewerbeanmeldung",
                                           "reference": filings["gewerbeanmeldung"], "body_kind": "GEWERBEAMT"}]}
    Worker(app).run_once()
    with app.app_context():
        item_id = db.session.scalar(select(InboxItem.id).where(InboxItem.service_key == "handwerksrolle-eintragung"))
    staff = app.test_client()
    login(staff, "hwk.bremen", staff=True)
    page = staff.get(f"/staff/posteingang/{item_id}").get_data(as_text=True)
    assert f"Teil des Vorhabens „Betrieb gründen“ ({bundle_ref})" in page
    assert re.search(rf"Gewerbeanmeldung – Aktenzeichen {filings['gewerbeanmeldung']} – Gewerbeamt", page)
    export = json.loads(staff.get(f"/staff/posteingang/{item_id}/export.json").get_data(as_text=True))
    assert export["bundle"]["reference"] == bundle_ref
    assert export["bundle"]["filings"][0]["reference"] == filings["gewerbeanmeldung"]


def test_the_list_shows_the_real_progress_of_a_bundle_draft(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    html = client.get("/antraege").get_data(as_text=True)
    assert "bereit zum Prüfen" not in html  # the Gewerbeanmeldung and the Handwerksrolle are open
    # five question steps done, then two services (counted as filings, not as steps)
    assert "Alle Fragen beantwortet; 0 von 2 Anträgen vollständig" in html
    press(client, overview, service="gewerbeanmeldung", leave_out="yes")
    press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    html = client.get("/antraege").get_data(as_text=True)
    assert "bereit zum Prüfen" not in html
    assert "Alle Anträge weggelassen – es gibt nichts einzureichen" in html


def test_a_copied_bundle_draft_keeps_its_progress(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    draft_id = overview.rsplit("/", 1)[-1]
    page = client.get("/antraege").get_data(as_text=True)
    resp = client.post(f"/antraege/entwurf/{draft_id}/kopieren", data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 302
    html = client.get("/antraege").get_data(as_text=True)
    assert html.count("Alle Fragen beantwortet; 0 von 2 Anträgen vollständig") == 2  # the copy as far as the original
    assert re.search(r"\b0 von \d+ Schritten", html) is None  # not "…:00 von Anna Becker", a time


def test_submitted_bundles_and_left_out_services_are_shown(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    press(client, overview)
    press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    complete_draft(client, service_drafts(client, overview)["gewerbeanmeldung"], MOVE_ANSWERS)
    review, resp = submit(client, overview)
    assert re.search(r'Eintragung in die Handwerksrolle</h2>\s*<p class="kern-body" '
                     r'id="weggelassen-handwerksrolle-eintragung">Nicht beantragt \(weggelassen\)',
                     review.get_data(as_text=True))
    status = path_of(resp.headers["Location"])
    assert re.search(r'id="weggelassen-handwerksrolle-eintragung">\s*<td[^>]*>Eintragung in die Handwerksrolle</td>'
                     r'\s*<td[^>]*>Nicht beantragt \(weggelassen\)', client.get(status).get_data(as_text=True))
    receipt = client.get(f"{status}/eingangsbestaetigung.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.data)).pages)
    assert re.search(r"Eintragung in die Handwerksrolle\s*Nicht beantragt \(weggelassen\)", text)

    html = client.get("/antraege").get_data(as_text=True)
    assert f'href="{status}"' in html  # "Meine Anträge" lists the bundle with its status page


def test_search_counts_bundle_hits(client):
    html = client.get("/?q=unternehmenslage").get_data(as_text=True)
    assert "/vorhaben/betrieb-gruenden" in html
    assert "3 Unternehmenslagen und 0 von" in html
    assert "Keine Leistung passt zu Ihrer Suche" not in html
    assert "Keine einzelne Leistung passt zu Ihrer Suche, aber die Unternehmenslage oben" in html


def test_steering_sees_the_submitted_bundles_per_life_event(app_factory):
    app = app_factory(STATS_SUPPRESSION_THRESHOLD=1)
    client = app.test_client()
    login(client, "anna.becker")
    file_bundle(client, "betrieb-gruenden", FOUNDING)
    steering = app.test_client()
    login(steering, "steering", staff=True)
    rows = steering.get("/staff/statistik/vorhaben.csv").get_data(as_text=True).splitlines()
    assert any(r.startswith("Betrieb gründen;Eingereichte Vorhaben insgesamt;1;") for r in rows), rows
    assert any(r.startswith("Betrieb übernehmen;Eingereichte Vorhaben insgesamt;0;") for r in rows), rows
    assert any(r.startswith("Betrieb verlegen oder aufgeben;Eingereichte Vorhaben insgesamt;0;") for r in rows), rows
    assert any(r.startswith("Summe;;2;") for r in rows), rows  # the filings only, not the bundle rows


def test_a_move_to_the_same_address_is_refused(client, login_as):
    login_as("anna.becker")
    page = client.get("/vorhaben/betrieb-verlegen-aufgeben")
    resp = client.post("/vorhaben/betrieb-verlegen-aufgeben",
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    path = path_of(resp.headers["Location"])
    # the plan, the current place as prefilled, the persons, the activity
    for answers in ({"vorhaben": "verlegen_anderswo"}, {**MOVE, "registereintrag": "no"}, GESCHAEFTSFUEHRERIN, MOVE):
        html = client.get(path).get_data(as_text=True)
        resp = client.post(path, data={**form_values(html), **answers, "action": "next"})
        assert resp.status_code == 302
        path = path_of(resp.headers["Location"])
    assert path.endswith("/neu")
    html = client.get(path).get_data(as_text=True)
    resp = client.post(path, data={**form_values(html), "new_street": " am wall 120", "new_postcode": "28195",
                                   "new_city": "Bremen", "move_date": "2027-04-01", "action": "next"})
    assert resp.status_code == 422
    assert "Die neue Betriebsstätte hat dieselbe Anschrift wie die bisherige" in resp.get_data(as_text=True)
    resp = client.post(path, data={**form_values(html), **NEW_PLACE, "move_date": "2027-04-01",
                                   "handwerksrolle": MOVE["handwerksrolle"], "action": "next"})
    assert resp.status_code == 302


def test_a_business_without_register_entry_is_not_asked_for_a_number_in_any_service(app, client, login_as):
    """The bundle asks once whether the business is registered (GewA field 2); without an entry no
    service asks the number, with one the number given once is the services' own."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben",
                                    {**MOVE, "registereintrag": "no", "handelsregisternummer": ""})
    drafts = service_drafts(client, overview)
    shown = complete_draft(client, drafts["gewerbeabmeldung"], MOVE_ANSWERS)
    assert "register" not in shown
    with app.app_context():
        data = db.session.get(Draft, uuid.UUID(drafts["gewerbeabmeldung"])).data
    assert data["registereintrag"] is False and not data.get("handelsregisternummer")


#: what a move to another municipality asks once for the Abmeldung and the new Anmeldung
MOVE_SHARED = ("inhaber_art", "geschaeftsbezeichnung", "oeffentliche_hand", "reisegewerbe", "nebenerwerb", "wz2008",
               "handwerk", "industrie", "handel", "sonstiges", "vollzeit", "teilzeit")


def test_a_move_asks_the_business_and_its_activity_once_for_the_abmeldung_and_the_new_anmeldung(
        app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", MOVE)
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeabmeldung", "gewerbeanmeldung"}
    for draft_id in drafts.values():
        shown = complete_draft(client, draft_id, MOVE_ANSWERS)
        assert not {"wz", "betriebsart", "beschaeftigte"} & set(shown)  # the bundle answered them whole
        pages = "".join(_draft_page(client, draft_id, step)
                        for step in ("inhaber", "betrieb", "niederlassung", "taetigkeit", "wz", "betriebsart",
                                     "beschaeftigte"))
        for name in MOVE_SHARED:
            assert f'name="{name}"' not in pages, name  # shown as the bundle's answer, not asked again
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    Worker(app).run_once()
    with app.app_context():
        received = {(i.service_key, i.destination_role): i.data for i in db.session.scalars(select(InboxItem))}
    abmeldung, anmeldung = received[("gewerbeabmeldung", "primary")], received[("gewerbeanmeldung", "primary")]
    assert {n: abmeldung[n] for n in MOVE_SHARED} == {n: anmeldung[n] for n in MOVE_SHARED}
    assert (anmeldung["geschaeftsbezeichnung"], anmeldung["inhaber_art"], anmeldung["vollzeit"]) == (
        "Becker Licht & Strom", "juristische_person", 3)
