"""Life-event bundles end to end over HTTP: the founding electrician answers one questionnaire,
completes what each service still needs (the shared answers are already in each form, as the
page shows them) and submits once; each body receives its filing with the shared answers."""

from __future__ import annotations

import io
import re
import uuid

from pypdf import PdfReader
from sqlalchemy import func, select, update

from bizportal.bodies.models import Chamber
from bizportal.delivery.models import Delivery
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing, FilingBundle
from bizportal.inbox.models import InboxItem
from bizportal.stats.models import StatRollup
from tests.support.bundles import (
    HANDWERKSROLLE,
    HWK_FORM,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_services,
    fill,
    form_values,
    given_values,
    press,
    service_drafts,
    submit,
)
from tests.support.filing import path_of
from tests.support.http import csrf_token, submit_form


def test_founding_electrician_files_three_services_with_one_questionnaire(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    html = client.get(overview).get_data(as_text=True)
    for title in ("Gewerbeanmeldung", "Eintragung in die Handwerksrolle", "Eintragung eines Berufsausbildungsvertrags"):
        assert title in html
    assert "Versicherungsvermittler" not in html  # no § 34d activity
    assert "Anlage A HwO" in html  # why the Handwerksrolle is needed

    press(client, overview)
    shown = complete_services(client, overview)
    assert len(shown) == 3
    gewerbe_steps = next(s for s in shown.values() if "taetigkeit" in s)
    assert "betriebsstaette" not in gewerbe_steps  # the shared address was not asked again
    assert "grund" not in gewerbe_steps  # "Neugründung" is what founding means: preset, not asked

    review, resp = submit(client, overview)
    assert "Gewerbeamt Bremen" in review.get_data(as_text=True)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    status_page = client.get(path_of(resp.headers["Location"]))
    page = status_page.get_data(as_text=True)
    references = re.findall(r">(BP-\d{4}-[2-9A-Z]{6})</a>", page)
    assert len(references) == 3

    with app.app_context():
        record = db.session.scalar(select(FilingBundle))
        assert record.bundle_key == "betrieb-gruenden"
        filings = {f.service_key: f for f in record.filings}
        assert set(filings) == {"gewerbeanmeldung", "handwerksrolle-eintragung", "ausbildungsvertrag-eintragung"}
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
    assert Worker(app).run_once() == 4  # Gewerbeamt + copy to the HWK, Handwerksrolle, Ausbildungsvertrag
    with app.app_context():
        received = {(i.service_key, i.destination_role): i for i in db.session.scalars(select(InboxItem))}
        slugs = {(d.filing.service_key, d.chamber.slug) for d in db.session.scalars(select(Delivery))}
    assert slugs == {("gewerbeanmeldung", "gewerbeamt-bremen"), ("gewerbeanmeldung", "hwk-bremen"),
                     ("handwerksrolle-eintragung", "hwk-bremen"), ("ausbildungsvertrag-eintragung", "hwk-bremen")}
    gewerbe = received[("gewerbeanmeldung", "primary")].data
    assert (gewerbe["business_name"], gewerbe["street"], gewerbe["postcode"], gewerbe["start_date"]) == \
        ("Becker Elektro Neugründung GmbH", "Hafenstraße 7", "28217", "2027-03-01")
    assert gewerbe["grund"] == "neugruendung"
    rolle = received[("handwerksrolle-eintragung", "primary")].data
    assert (rolle["business_name"], rolle["street"], rolle["start_date"]) == \
        ("Becker Elektro Neugründung GmbH", "Hafenstraße 7", "2027-03-01")
    ausbildung = received[("ausbildungsvertrag-eintragung", "primary")].data
    assert ausbildung["betriebsanschrift"] == {"street": "Hafenstraße 7", "postcode": "28217", "city": "Bremen"}
    assert ausbildung["handwerksbetrieb"] is True

    receipt = client.get(f"{path_of(resp.headers['Location'])}/eingangsbestaetigung.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.data)).pages)
    assert "Betrieb gründen" in text
    for reference in references:  # the one receipt lists every filing
        assert reference in text
    assert "Gewerbeamt Bremen" in text and "Handwerkskammer Bremen" in text
    assert "Weitergeleitet" in client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    with app.app_context():
        per_bundle = db.session.execute(select(StatRollup.service_key, StatRollup.count).where(
            StatRollup.metric == "bundle_filed", StatRollup.detail == "betrieb-gruenden")).all()
    assert sorted(per_bundle) == [("ausbildungsvertrag-eintragung", 1), ("gewerbeanmeldung", 1),
                                  ("handwerksrolle-eintragung", 1)]


def test_left_out_handwerksrolle_is_not_filed(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    press(client, overview)
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    assert "weggelassen" in html
    complete_services(client, overview)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302
    with app.app_context():
        assert sorted(db.session.scalars(select(Filing.service_key))) == ["ausbildungsvertrag-eintragung",
                                                                          "gewerbeanmeldung"]
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 0  # the left-out draft went too


def test_no_filing_when_one_service_cannot_be_routed(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    press(client, overview)
    complete_services(client, overview)
    review = client.get(f"{overview}/pruefen")
    with app.app_context():  # the HWK is switched off after the review was shown
        db.session.execute(update(Chamber).where(Chamber.slug == "hwk-bremen").values(enabled=False))
        db.session.commit()
    resp = client.post(f"{overview}/pruefen", data=submit_form(review.get_data(as_text=True)))
    assert resp.status_code == 422
    assert "Es wurde kein Antrag eingereicht" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 0
        assert db.session.scalar(select(func.count()).select_from(FilingBundle)) == 0
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 4  # all kept for another try


def test_a_failure_while_writing_stores_no_filing(app, client, login_as, monkeypatch):
    from bizportal.filings import receipts

    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    press(client, overview)
    complete_services(client, overview)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(receipts, "render_bundle_receipt", broken)  # after every filing was written
    _review, resp = submit(client, overview)
    assert resp.status_code == 500
    with app.app_context():
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 0
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 4


def test_bundle_pages_belong_to_the_company(app, client, login_as):
    from tests.support.http import login

    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    other = app.test_client()
    login(other, "lea.hansen")
    assert other.get(overview).status_code == 404
    assert other.get(f"{overview}/pruefen").status_code == 404


def test_a_service_step_shows_the_bundles_answers_read_only_and_a_post_cannot_change_them(app, client, login_as):
    """The Gewerbeanmeldung's first step mixes the bundle's answers (name, legal form, who runs
    the business, the register entry) with questions only it asks (the trading name): the bundle's are shown with a
    link to the bundle's step that asks them, not as inputs, and a POST that sends them is not
    taken (so the kind of owner cannot contradict the bundle's legal form and persons)."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    press(client, overview)
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    step = f"/antraege/entwurf/{gewerbe}/inhaber"
    html = client.get(step).get_data(as_text=True)
    assert 'name="business_name"' not in html and 'name="legal_form"' not in html
    assert 'name="inhaber_art"' not in html  # asked once, in the bundle
    assert 'name="registereintrag"' not in html  # GewA 1 field 2: asked once, in the bundle (trial F7)
    assert 'name="geschaeftsbezeichnung"' in html  # what only the Gewerbeanmeldung asks stays an input
    given = given_values(html)
    assert (given["business_name"], given["legal_form"], given["inhaber_art"]) == (
        "Becker Elektro Neugründung GmbH", "GmbH", "Eine juristische Person (z. B. GmbH, UG, AG, eingetragener Verein)")
    bundle_draft = overview.rsplit("/", 1)[-1]
    # the link comes back to this step once the question is answered again
    assert re.search(rf'<a class="kern-link" href="/antraege/entwurf/{bundle_draft}/betrieb\?next={step}">'
                     r'„Im Handels-[^<]*“ im Vorhaben ändern</a>', html)
    assert "aus Ihrem Vorhaben" in html

    resp = client.post(step, data={**form_values(html), "inhaber_art": "natuerliche_person", "registereintrag": "yes",
                                   "business_name": "Ganz Andere GmbH", "legal_form": "UG", "action": "next"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        data = db.session.get(Draft, uuid.UUID(gewerbe)).data
        assert (data["business_name"], data["legal_form"], data["inhaber_art"]) == (
            "Becker Elektro Neugründung GmbH", "GmbH", "juristische_person")


def test_the_handwerksrolle_does_not_name_the_login_as_betriebsleiter_and_marks_required_uploads(client, login_as):
    """The Betriebsleiter is often a hired Meister, not the person filing: the field starts empty
    (in a bundle and outside); a required upload says "(Pflichtfeld)" before any submit, as a
    required text field does, an optional one does not."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    press(client, overview)
    draft = service_drafts(client, overview)['handwerksrolle-eintragung']
    first = path_of(client.get(f"/antraege/entwurf/{draft}/pruefen").headers["Location"])
    before = {"trade": "elektrotechniker", "start_date": "2027-03-01", **HWK_FORM}
    pages = {}
    page = client.get("/leistungen/handwerksrolle-eintragung/antrag")
    resp = client.post("/leistungen/handwerksrolle-eintragung/antrag",
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    alone = path_of(resp.headers["Location"])
    assert 'value="Becker Elektrotechnik GmbH"' in client.get(alone).get_data(as_text=True)  # the company's own data
    for where, path in (("in_bundle", first), ("alone", alone)):
        fill(client, path, before, stop_at="betriebsleitung")
        step = path.rsplit("/", 1)[0] + "/betriebsleitung"
        pages[where] = html = client.get(step).get_data(as_text=True)
        assert form_values(html)["betriebsleiter-family_name"] == ""
        assert form_values(html)["betriebsleiter-given_names"] == ""
        assert 'value="Anna"' not in html and 'value="Becker"' not in html
        fill(client, step, HANDWERKSROLLE, stop_at="unterlagen")
        pages[where + "_files"] = client.get(path.rsplit("/", 1)[0] + "/unterlagen").get_data(as_text=True)
    in_bundle_files, alone_files = pages["in_bundle_files"], pages["alone_files"]
    for html in (in_bundle_files, alone_files):
        assert re.search(r'<label class="kern-label" for="qualifikationsnachweis">[^<]*'
                         r'<span class="kern-label__optional">\(Pflichtfeld\)</span>', html)
        assert re.search(r'<label class="kern-label" for="handelsregisterauszug">[^<]*</label>', html)
        assert re.search(r'<input[^>]*name="qualifikationsnachweis"[^>]*required', html)


def test_the_body_filter_lists_the_bundles_with_a_service_for_that_body(client):
    for body in ("HWK", "IHK", "GEWERBEAMT"):
        html = client.get("/", query_string={"stelle": body}).get_data(as_text=True)
        assert "/vorhaben/betrieb-gruenden" in html, body  # Handwerksrolle, copies of the Gewerbeanmeldung


def test_bundles_are_catalog_entries_found_by_search(client):
    html = client.get("/?q=Ich gründe einen Betrieb").get_data(as_text=True)
    assert "/vorhaben/betrieb-gruenden" in html
    assert "/vorhaben/betrieb-verlegen-aufgeben" in client.get("/?q=umzug").get_data(as_text=True)


def test_steering_sees_bundle_filings_per_bundle_and_service(app_factory):
    from tests.support.http import login

    app = app_factory(STATS_SUPPRESSION_THRESHOLD=1)
    client = app.test_client()
    login(client, "anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    complete_services(client, overview)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302
    reference = re.findall(r">(BP-\d{4}-[2-9A-Z]{6})</a>", client.get(path_of(resp.headers["Location"]))
                           .get_data(as_text=True))[0]
    assert 'id="vorhaben"' in client.get(f"/antraege/{reference}").get_data(as_text=True)

    steering = app.test_client()
    login(steering, "steering", staff=True)
    rows = steering.get("/staff/statistik/vorhaben.csv").get_data(as_text=True).splitlines()
    assert any(r.startswith("Betrieb gründen;Gewerbeanmeldung;1;") for r in rows), rows
    assert any(r.startswith("Betrieb gründen;Eintragung in die Handwerksrolle;1;") for r in rows), rows
    leistungen = steering.get("/staff/statistik/leistungen.csv").get_data(as_text=True)
    assert "Gewerbeanmeldung;1;" in leistungen  # counted per service as well


def test_a_colleague_resumes_the_bundle_draft(app, client, login_as):
    from tests.support.http import login

    login_as("anna.becker")
    page = client.get("/vorhaben/betrieb-gruenden")
    resp = client.post("/vorhaben/betrieb-gruenden", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    first = path_of(resp.headers["Location"])
    fill_one = client.get(first).get_data(as_text=True)
    resp = client.post(first, data={**form_values(fill_one), **SHARED, "action": "save"},
                       content_type="multipart/form-data")
    assert resp.status_code == 302

    colleague = app.test_client()
    login(colleague, "jonas.weber")
    drafts = colleague.get("/antraege").get_data(as_text=True)
    assert "Betrieb gründen" in drafts and "Fragen zum Vorhaben: Schritt 2 von 5" in drafts
    resume = re.search(r'href="(/antraege/entwurf/[0-9a-f-]+/pruefen)"', drafts).group(1)
    resp = colleague.get(resume)  # the bundle's page sends to the first open question
    assert resp.status_code == 302
    step = path_of(colleague.get(path_of(resp.headers["Location"])).headers["Location"])
    assert step.endswith("/register")
    assert fill(colleague, step, {**SHARED, **PLANS, "handwerk_anlage": "b", "ausbilden": "no"}) == [
        "register", "personen", "taetigkeit", "vorhaben", "handwerk"]
    with app.app_context():
        assert sorted(db.session.scalars(select(Draft.service_key).where(Draft.bundle_draft_id.is_not(None)))) == [
            "gewerbeanmeldung", "handwerk-verzeichnis-eintragung"]


def test_a_submitted_drafts_pages_lead_to_what_it_became(app, client, login_as):
    """After the submit, the back button or a colleague's link to the bundle draft found a 404
    (new-user trial); now they lead to the bundle's status page. Another company still gets 404."""
    from tests.support.filing import file_service, gewerbe_answers
    from tests.support.http import login

    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    complete_services(client, overview)
    _review, resp = submit(client, overview)
    status = path_of(resp.headers["Location"])
    for path in (overview, f"{overview}/pruefen"):
        moved = client.get(path)
        assert moved.status_code == 302 and path_of(moved.headers["Location"]) == status, path
    assert "Dieser Entwurf wurde bereits eingereicht." in client.get(status).get_data(as_text=True)
    other = app.test_client()
    login(other, "lea.hansen")
    assert other.get(overview).status_code == 404

    # a single service's draft leads to its filing (its id is the filing's submit token)
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    with app.app_context():
        draft_id = db.session.scalar(select(Filing.submit_token).where(Filing.reference == reference))
    moved = client.get(f"/antraege/entwurf/{draft_id}/pruefen")
    assert moved.status_code == 302 and path_of(moved.headers["Location"]) == f"/antraege/{reference}"
    assert other.get(f"/antraege/entwurf/{draft_id}/pruefen").status_code == 404


def test_deleting_a_bundle_draft_asks_first_and_names_the_drafts_that_go_with_it(app, client, login_as):
    """New-user trial: one click on "Löschen" deleted the bundle and every service draft with it."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    draft_id = overview.rsplit("/", 1)[-1]
    token = csrf_token(client.get("/antraege").get_data(as_text=True))
    asked = client.post(f"/antraege/entwurf/{draft_id}/loeschen", data={"csrf_token": token})
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "Entwurf „Betrieb gründen“ löschen?" in page
    assert "Gewerbeanmeldung" in page and "Eintragung in die Handwerksrolle" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 3  # nothing deleted yet
    done = client.post(f"/antraege/entwurf/{draft_id}/loeschen", data={"csrf_token": csrf_token(page),
                                                                       "confirm": "yes"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
    assert client.post(f"/antraege/entwurf/{draft_id}/loeschen",
                       data={"csrf_token": csrf_token(page), "confirm": "yes"}).status_code == 404
