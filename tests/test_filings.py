"""Filing a service: drafts, steps, prefill, validation, idempotent submit, routing, outbox."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing, FilingEvent
from bizportal.stats.models import StatCounter
from tests.support.filing import (
    REFERENCE_RE,
    file_service,
    fill_steps,
    gewerbe_answers,
    path_of,
    post_step,
    start_draft,
)
from tests.support.http import csrf_token, login, submit_form


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def destinations(app) -> list[tuple[str, str]]:
    with app.app_context():
        return sorted((d.chamber.slug, d.role) for d in db.session.scalars(select(Delivery)))


def only_draft(app) -> Draft:
    with app.app_context():
        draft = db.session.scalar(select(Draft))
        db.session.expunge(draft)
        return draft


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _to_premises_step(company) -> str:
    """A new Gewerbeanmeldung with owner, persons and business details answered: the path of the step
    "Betriebsstätte"."""
    path = start_draft(company, "gewerbeanmeldung")
    for _ in ("inhaber", "register", "personen", "betrieb"):
        path = path_of(post_step(company, path, gewerbe_answers()).headers["Location"])
    assert path.endswith("/betriebsstaette"), path
    return path


def test_form_is_prefilled_and_marked(company):
    path = start_draft(company, "gewerbeanmeldung")
    html = company.get(path).get_data(as_text=True)
    assert 'value="Becker Elektrotechnik GmbH"' in html and 'value="GmbH"' in html
    assert html.count("aus Ihrem Unternehmenskonto") >= 2  # name, legal form
    html = company.get(_to_premises_step(company)).get_data(as_text=True)
    assert 'value="Am Wall 120"' in html and 'value="28195"' in html
    assert html.count("aus Ihrem Unternehmenskonto") >= 3  # street, postcode, city


def test_starting_needs_a_post_with_csrf(app, company):
    assert company.post("/leistungen/gewerbeanmeldung/antrag").status_code == 400
    assert count(app, Draft) == 0


def test_crafts_business_goes_to_gewerbeamt_and_hwk(app, company):
    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers())
    assert destinations(app) == [("gewerbeamt-bremen", "primary"), ("hwk-bremen", "copy")]
    with app.app_context():
        filing = db.session.scalar(select(Filing))
        assert filing.reference == reference
        assert filing.data["handwerk"] is True and filing.data["start_date"] == "2027-01-01"
        assert filing.person.sub == "anna.becker"
        assert [e.kind for e in filing.events] == ["submitted"]
    assert count(app, Draft) == 0  # the draft became the filing


def test_the_filing_page_names_both_bodies_a_filing_goes_to(app, company):
    """Both deliveries (the competent body and the copy), read with the filing in one statement,
    are on its page: twice pending in the timeline, both receivers named."""
    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers())
    html = company.get(f"/antraege/{reference}").get_data(as_text=True)
    pending = re.findall(r"Wird zugestellt an ([^<]+?)( \(Kopie\))?</p>", html)
    assert len(pending) == 2 and [copy for _name, copy in pending] == ["", " (Kopie)"], pending
    assert html.count(pending[0][0]) >= 2 and html.count(pending[1][0]) >= 2  # receivers and timeline


def test_other_business_goes_to_gewerbeamt_and_ihk(app, company):
    file_service(company, "gewerbeanmeldung", gewerbe_answers(handwerk="no", handel="yes"))
    assert destinations(app) == [("gewerbeamt-bremen", "primary"), ("hk-bremen", "copy")]


def test_bremerhaven_postcode_goes_to_bremerhaven_trade_office(app, company):
    file_service(company, "gewerbeanmeldung", gewerbe_answers(postcode="27568", city="Bremerhaven"))
    assert ("gewerbeamt-bremerhaven", "primary") in destinations(app)


def test_invalid_values_get_messages_nothing_filed_and_input_kept(app, company):
    path = _to_premises_step(company)
    resp = post_step(company, path, gewerbe_answers(postcode="2819", city=""))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Postleitzahl mit fünf Ziffern" in html
    assert "Bitte füllen Sie dieses Feld aus." in html
    assert 'id="error-summary"' in html and 'href="#postcode"' in html
    assert 'value="2819"' in html  # what was entered is shown again
    assert count(app, Filing) == 0 and count(app, Delivery) == 0
    # Leaving and coming back: the unfinished input is still there, with its errors.
    again = company.get(path).get_data(as_text=True)
    assert 'value="2819"' in again and "Postleitzahl mit fünf Ziffern" in again


def test_steps_cannot_be_skipped_by_url(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    draft_path = path.rsplit("/", 1)[0]
    review = company.get(draft_path + "/pruefen")
    assert review.status_code == 302 and review.headers["Location"].endswith(path)
    unknown = company.get(draft_path + "/gibt-es-nicht")
    assert unknown.status_code == 302
    page = company.get(path)
    resp = company.post(draft_path + "/pruefen", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert resp.status_code == 302 and count(app, Filing) == 0


def test_postcode_without_connected_body_is_refused_and_nothing_stored(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    munich = gewerbe_answers(postcode="80331", city="München")
    while not path.endswith("/betriebsstaette"):
        path = path_of(post_step(company, path, munich).headers["Location"])
    resp = post_step(company, path, munich)  # refused at its step, not only at the submit
    assert resp.status_code == 422
    assert "Für die Postleitzahl 80331 ist im Portal noch keine zuständige Stelle" in resp.get_data(as_text=True)
    assert count(app, Filing) == 0 and count(app, Delivery) == 0 and count(app, StatCounter) == 0
    assert count(app, Draft) == 1  # nothing entered is lost
    assert "betriebsstaette" not in only_draft(app).completed_steps


def test_missing_csrf_token_is_refused_and_nothing_stored(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    resp = company.post(path, data={"action": "next", **gewerbe_answers()})
    assert resp.status_code == 400
    assert "Es wurde nichts gespeichert" in resp.get_data(as_text=True)
    assert only_draft(app).completed_steps == []


def test_double_submit_creates_one_filing(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    review_path = fill_steps(company, path, gewerbe_answers())
    form = submit_form(company.get(review_path).get_data(as_text=True))
    first = company.post(review_path, data=form)
    second = company.post(review_path, data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, Filing) == 1 and count(app, Delivery) == 2


def test_foreign_draft_is_not_found(app, client, login_as):
    login_as("anna.becker")
    path = start_draft(client, "gewerbeanmeldung")
    other = app.test_client()
    login(other, "lea.hansen")
    assert other.get(path).status_code == 404
    token = csrf_token(other.get("/antraege").get_data(as_text=True))
    assert other.post(path, data={"csrf_token": token, **gewerbe_answers()}).status_code == 404
    draft_path = path.rsplit("/", 1)[0]
    assert other.post(draft_path + "/loeschen", data={"csrf_token": token}).status_code == 404
    assert other.get("/antraege/entwurf/not-a-uuid/angaben").status_code == 404
    assert count(app, Draft) == 1


def test_colleague_continues_company_draft_and_sees_filing(app, client, login_as):
    login_as("anna.becker")
    path = start_draft(client, "gewerbeanmeldung")
    post_step(client, path, gewerbe_answers(business_name="Becker Elektro"), action="save")
    colleague = app.test_client()
    login(colleague, "jonas.weber")
    overview = colleague.get("/antraege").get_data(as_text=True)
    assert "Gewerbeanmeldung" in overview and "Anna Becker" in overview
    assert 'value="Becker Elektro"' in colleague.get(path).get_data(as_text=True)
    review_path = fill_steps(colleague, path, gewerbe_answers(business_name="Becker Elektro und Photovoltaik"))
    page = colleague.get(review_path)
    location = colleague.post(review_path, data=submit_form(page.get_data(as_text=True))).headers["Location"]
    detail = client.get(path_of(location))
    assert detail.status_code == 200 and "Jonas Weber" in detail.get_data(as_text=True)


def test_filing_of_another_company_is_not_found(app, client, login_as):
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    other = app.test_client()
    login(other, "lea.hansen")
    for url in (f"/antraege/{reference}", f"/antraege/{reference}/eingangsbestaetigung.pdf"):
        resp = other.get(url)
        assert resp.status_code == 404
        assert "Becker" not in resp.get_data(as_text=True)


def test_drafts_can_be_duplicated_and_deleted(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    post_step(company, path, gewerbe_answers(business_name="Original"), action="save")
    draft_path = path.rsplit("/", 1)[0]
    token = csrf_token(company.get("/antraege").get_data(as_text=True))
    copy = company.post(draft_path + "/kopieren", data={"csrf_token": token})
    assert copy.status_code == 302 and count(app, Draft) == 2
    assert 'value="Original"' in company.get(path_of(copy.headers["Location"])).get_data(as_text=True)
    assert company.post(draft_path + "/loeschen", data={"csrf_token": token}).status_code == 302
    assert count(app, Draft) == 1
    assert company.get(path).status_code == 404


def test_filing_and_deliveries_commit_together_or_not_at_all(app, company, monkeypatch):
    """If anything in the submit transaction fails, neither filing nor outbox rows remain."""
    from bizportal.filings import services

    path = start_draft(company, "gewerbeanmeldung")
    review_path = fill_steps(company, path, gewerbe_answers())
    page = company.get(review_path)

    def broken(*args, **kwargs):
        raise RuntimeError("statistics unavailable")

    monkeypatch.setattr(services.stats, "filing_submitted", broken)
    resp = company.post(review_path, data=submit_form(page.get_data(as_text=True)))
    assert resp.status_code == 500
    assert count(app, Filing) == 0 and count(app, Delivery) == 0 and count(app, FilingEvent) == 0
    assert count(app, Draft) == 1


def test_withdraw_an_undecided_filing(app, company):
    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers())
    page = company.get(f"/antraege/{reference}")
    resp = company.post(f"/antraege/{reference}/zurueckziehen",
                        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "reason": "Doppelt gestellt"})
    assert resp.status_code == 200  # first the confirmation; nothing withdrawn yet
    confirm = resp.get_data(as_text=True)
    assert f"Antrag {reference} zurückziehen?" in confirm and "Ja, Antrag zurückziehen" in confirm
    assert 'value="Doppelt gestellt"' in confirm
    with app.app_context():
        assert db.session.scalar(select(Filing)).status == "submitted"
    resp = company.post(f"/antraege/{reference}/zurueckziehen",
                        data={"csrf_token": csrf_token(confirm), "reason": "Doppelt gestellt", "confirm": "yes"})
    assert resp.status_code == 302
    detail = company.get(f"/antraege/{reference}")
    assert detail.status_code == 200
    html = detail.get_data(as_text=True)
    assert "Zurückgezogen" in html and "Doppelt gestellt" in html
    assert "Antrag zurückziehen</span>" not in html
    again = company.post(f"/antraege/{reference}/zurueckziehen",
                         data={"csrf_token": csrf_token(html), "confirm": "yes"})
    assert again.status_code == 302
    with app.app_context():
        assert [e.kind for e in db.session.scalar(select(Filing)).events] == ["submitted", "withdrawn"]


def test_receipt_pdf_names_service_reference_and_answers(app, company):
    import io

    from pypdf import PdfReader

    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers(activity="Elektroinstallation"))
    resp = company.get(f"/antraege/{reference}/eingangsbestaetigung.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(resp.data)).pages)
    assert "Eingangsbestätigung" in text and reference in text
    assert "Gewerbeanmeldung" in text and "Elektroinstallation" in text and "Becker Elektrotechnik GmbH" in text


def test_acknowledgement_mail_with_receipt_goes_to_the_acting_person(app, company):
    from email import policy
    from email.parser import BytesParser
    from pathlib import Path

    from bizportal.delivery.worker import Worker

    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers())
    folder = Path(app.config["MAIL_FOLDER"])
    # Queued with the filing, sent by the worker: the web request sends nothing itself.
    assert not any(reference in p.read_text(errors="replace") for p in folder.glob("*.eml"))
    Worker(app).run_once()
    mails = list(folder.glob("*.eml"))
    messages = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in mails]
    mine = [m for m in messages if reference in m["Subject"]]
    assert len(mine) == 1
    msg = mine[0]
    assert msg["To"] == "anna.becker@becker-elektro.example"
    pdfs = [part for part in msg.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF-")
    assert f"/antraege/{reference}" in msg.get_body(("plain",)).get_content()


def test_anonymous_is_sent_to_login_for_the_form(client):
    resp = client.get("/leistungen/gewerbeanmeldung/antrag")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_reference_format(app, company):
    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers())
    assert REFERENCE_RE.fullmatch(reference)


def test_withdrawal_before_sending_cancels_the_deliveries(app, company):
    from bizportal.delivery.worker import Worker
    from bizportal.inbox.models import InboxItem

    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers())
    page = company.get(f"/antraege/{reference}").get_data(as_text=True)
    company.post(f"/antraege/{reference}/zurueckziehen", data={"csrf_token": csrf_token(page), "confirm": "yes"})
    assert Worker(app).run_once() == 0
    with app.app_context():
        assert {d.state for d in db.session.scalars(select(Delivery))} == {"cancelled"}
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 0
    detail = company.get(f"/antraege/{reference}")
    assert detail.status_code == 200
    assert "Wird zugestellt" not in detail.get_data(as_text=True)


def test_submitting_another_companys_draft_id_is_not_found(app, client, login_as):
    login_as("anna.becker")
    path = start_draft(client, "gewerbeanmeldung")
    review_path = fill_steps(client, path, gewerbe_answers())
    page = client.get(review_path)
    client.post(review_path, data=submit_form(page.get_data(as_text=True)))
    other = app.test_client()
    login(other, "lea.hansen")
    token = csrf_token(other.get("/antraege").get_data(as_text=True))
    assert other.post(review_path, data={"csrf_token": token, "declaration": "y"}).status_code == 404
