"""The company's answers reach bodies with their own systems the way the filing did: through the
chamber's adapter, from the outbox, with the same guarantees (never lost, never doubled at a
receiver that deduplicates, retried after failures)."""

from __future__ import annotations

import base64
import json
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import select, update

from bizportal.bodies.models import Chamber
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing, FilingEvent, FilingMessage
from tests.support.adapters import SECRET, fit_options, webhook_options
from tests.support.callbacks import at, callback
from tests.support.casework import PDF, answer
from tests.support.factories import make_due, set_adapter
from tests.support.filing import file_service, gewerbe_answers
from tests.support.receivers.fitconnect_receiver import fitconnect_receiver
from tests.support.receivers.smtp_receiver import smtp_receiver
from tests.support.receivers.webhook_receiver import webhook_receiver

BODY = "gewerbeamt-bremen"
REQUEST = "Bitte reichen Sie die Handwerkskarte nach."


def _file(client, login_as) -> str:
    """Becker's Gewerbeanmeldung (primary: Gewerbeamt Bremen, copy: Handwerkskammer Bremen)."""
    login_as("anna.becker")
    return file_service(client, "gewerbeanmeldung", gewerbe_answers())


def _filing_delivery(app, reference: str, slug: str = BODY) -> Delivery:
    with app.app_context():
        d = db.session.scalar(
            select(Delivery).join(Filing, Filing.id == Delivery.filing_id)
            .join(Chamber, Chamber.id == Delivery.chamber_id)
            .where(Filing.reference == reference, Chamber.slug == slug, Delivery.message_id.is_(None)))
        db.session.expunge(d)
        return d


def _message_deliveries(app, reference: str) -> list[Delivery]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(Delivery).join(Filing, Filing.id == Delivery.filing_id)
            .where(Filing.reference == reference, Delivery.message_id.isnot(None))))
        for d in rows:
            db.session.expunge(d)
        return rows


def _answers(app, reference: str) -> list[FilingMessage]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(FilingMessage).join(Filing, Filing.id == FilingMessage.filing_id)
            .where(Filing.reference == reference, FilingMessage.kind == "answer")))
        for m in rows:
            db.session.expunge(m)
        return rows


def _status(app, reference: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Filing.status).where(Filing.reference == reference))


def _chamber_name(app, slug: str = BODY) -> str:
    with app.app_context():
        return db.session.scalar(select(Chamber.name).where(Chamber.slug == slug))


def _request_information(client, reference_delivery: Delivery) -> None:
    """The body reports, through its signed status callback, that it received the filing and asks
    for a document."""
    d = reference_delivery
    assert callback(client, BODY, d.id, "received", occurred_at=at()).status_code == 200
    assert callback(client, BODY, d.id, "information_requested", detail=REQUEST,
                    occurred_at=at(1)).status_code == 200


def test_an_answer_reaches_a_webhook_body_once_though_the_first_answer_was_lost(app, client, login_as):
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, BODY, "webhook", webhook_options(url))
        reference = _file(client, login_as)
        Worker(app).run_once()
        filing_delivery = _filing_delivery(app, reference)
        assert filing_delivery.state == DeliveryState.DELIVERED
        _request_information(client, filing_delivery)

        page = client.get(f"/antraege/{reference}").get_data(as_text=True)
        assert REQUEST in page and 'id="message-form"' in page  # the company can answer in the portal
        resp = answer(client, reference, "Die Handwerkskarte liegt bei.", files=[(PDF, "handwerkskarte.pdf")])
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        assert _status(app, reference) == "answered"
        page = client.get(f"/antraege/{reference}").get_data(as_text=True)
        assert f"wird an {_chamber_name(app)} übermittelt" in page

        # the receiver stores the answer and drops the line before answering: the portal cannot
        # know, retries with the same key, and the receiver answers 409 — one copy, delivered
        state.fault = "drop-after-store"
        Worker(app).run_once()
        (pending,) = _message_deliveries(app, reference)
        assert pending.state == DeliveryState.PENDING and pending.last_error
        make_due(app)
        Worker(app).run_once()

    (sent,) = _message_deliveries(app, reference)
    assert sent.state == DeliveryState.DELIVERED
    messages = [rec for rec in state.stored.values() if rec["body"].get("type") == "message"]
    assert len(messages) == 1 and state.seen[str(sent.id)] == 2
    body, headers = messages[0]["body"], messages[0]["headers"]
    assert headers["X-Bizportal-Event"] == "message" and headers["Idempotency-Key"] == str(sent.id)
    assert body["kind"] == "answer" and body["reference"] == reference
    assert body["body"] == "Die Handwerkskarte liegt bei."
    assert body["in_reply_to"]["body"] == REQUEST
    assert body["filing_delivery_id"] == str(filing_delivery.id)
    (pdf,) = body["attachments"]
    assert pdf["filename"] == "handwerkskarte.pdf" and base64.b64decode(pdf["content_base64"]) == PDF
    assert body["author"]["name"]  # who wrote it, for the clerk's questions

    (stored_answer,) = _answers(app, reference)
    assert stored_answer.forwarded_at is not None
    page = client.get(f"/antraege/{reference}").get_data(as_text=True)
    assert f"bei {_chamber_name(app)} eingegangen" in page
    # forwarding an answer is not a second delivery of the filing: status and timeline unchanged
    assert _status(app, reference) == "answered"
    with app.app_context():
        kinds = list(db.session.scalars(select(FilingEvent.kind).join(Filing)
                                        .where(Filing.reference == reference, FilingEvent.chamber_id.isnot(None))))
    assert kinds.count("forwarded") == 2  # the filing to the body and to the copy recipient, once each


def test_a_status_callback_cannot_name_the_delivery_of_an_answer(app, client, login_as):
    """A body reports on filings; the id of an answer's delivery is not one (404, nothing changes)."""
    with webhook_receiver(SECRET) as (url, _state):
        set_adapter(app, BODY, "webhook", webhook_options(url))
        reference = _file(client, login_as)
        Worker(app).run_once()
        _request_information(client, _filing_delivery(app, reference))
        assert answer(client, reference, "Anbei.").status_code == 302
        Worker(app).run_once()
    (sent,) = _message_deliveries(app, reference)
    resp = callback(client, BODY, sent.id, "accepted", occurred_at=at(2))
    assert resp.status_code == 404
    assert _status(app, reference) == "answered"


def test_a_message_to_an_email_body_is_threaded_under_the_filing_mail(app, client, login_as):
    """A body reached by e-mail has no back channel to ask with; the company can still write to it
    about its filing, and the mail joins the filing's thread."""
    with smtp_receiver() as (port, smtp):
        set_adapter(app, BODY, "email", {"host": "127.0.0.1", "port": port, "starttls": False,
                                          "from_address": "portal@bizportal.example",
                                          "to_address": "gewerbe@stadtamt.example"})
        reference = _file(client, login_as)
        Worker(app).run_once()
        filing_delivery = _filing_delivery(app, reference)
        assert answer(client, reference, "Die Karte anbei.", files=[(PDF, "karte.pdf")]).status_code == 302
        Worker(app).run_once()
    mails = [BytesParser(policy=policy.default).parsebytes(raw) for _, _, raw in smtp.messages]
    (reply,) = [m for m in mails if m["X-Bizportal-Event"] == "message"]
    (sent,) = _message_deliveries(app, reference)
    assert reply["In-Reply-To"] == f"<{filing_delivery.id}@bizportal>"
    assert reply["Message-ID"] == f"<{sent.id}@bizportal>"
    assert reply["Subject"].startswith(f"Nachricht zu Antrag {reference}")
    assert f"[Zustellungs-ID {sent.id}]" in reply["Subject"]
    text = reply.get_body(("plain",)).get_content()
    assert "Die Karte anbei." in text and "Becker Elektrotechnik GmbH" in text
    names = [part.get_filename() for part in reply.iter_attachments()]
    assert names == ["message.json", "karte.pdf"]
    doc = json.loads(next(p for p in reply.iter_attachments() if p.get_filename() == "message.json").get_content())
    assert doc["reference"] == reference and "content_base64" not in doc["attachments"][0]
    assert doc["kind"] == "message" and doc["in_reply_to"] is None
    assert sent.state == DeliveryState.DELIVERED and _answers(app, reference)[0].forwarded_at is not None


def test_an_answer_to_a_fitconnect_body_is_a_submission_in_the_filings_case(app, client, login_as, fit_keys):
    with fitconnect_receiver(fit_keys) as (url, state):
        set_adapter(app, BODY, "fitconnect", fit_options(url, state))
        reference = _file(client, login_as)
        Worker(app).run_once()
        filing_delivery = _filing_delivery(app, reference)
        assert filing_delivery.state == DeliveryState.DELIVERED, filing_delivery.last_error
        assert answer(client, reference, "Anbei die Karte.", files=[(PDF, "karte.pdf")]).status_code == 302
        Worker(app).run_once()
    (sent,) = _message_deliveries(app, reference)
    assert sent.state == DeliveryState.DELIVERED, sent.last_error
    first, follow_up = sorted(state.submissions.values(), key=lambda s: s["data"].get("type") == "message")
    assert follow_up["caseId"] == first["caseId"]  # the destination sees the answer in the filing's case
    assert follow_up["status"] == "submitted" and follow_up["data"]["body"] == "Anbei die Karte."
    assert follow_up["data"]["$schema"] == "urn:bizportal:schema:message:1.0"
    assert list(follow_up["attachments"].values()) == [PDF]
    assert len(state.submissions) == 2


def test_a_body_whose_adapter_cannot_carry_answers_is_not_sent_any(app, client, login_as):
    """An adapter without ``forwards_messages``: the company is told to answer the body's way, and
    a posted answer is refused instead of being stored where nobody reads it."""
    reference = _file(client, login_as)
    Worker(app).run_once()
    filing_delivery = _filing_delivery(app, reference)
    set_adapter(app, BODY, "webhook", webhook_options("http://127.0.0.1:9/"))
    _request_information(client, filing_delivery)
    set_adapter(app, BODY, "flaky", {})
    page = client.get(f"/antraege/{reference}").get_data(as_text=True)
    assert "nimmt Antworten über das Portal noch nicht entgegen" in page and 'id="message-form"' not in page
    assert answer(client, reference, "Anbei.").status_code == 409
    assert _status(app, reference) == "information_requested"
    assert _answers(app, reference) == [] and _message_deliveries(app, reference) == []


def test_an_answer_delivery_waiting_when_the_body_moves_to_an_adapter_without_answers_ends_dead(
        app, client, login_as):
    with webhook_receiver(SECRET) as (url, _state):
        set_adapter(app, BODY, "webhook", webhook_options(url))
        reference = _file(client, login_as)
        Worker(app).run_once()
        _request_information(client, _filing_delivery(app, reference))
        assert answer(client, reference, "Anbei.").status_code == 302
    set_adapter(app, BODY, "flaky", {})
    Worker(app).run_once()
    (d,) = _message_deliveries(app, reference)
    assert d.state == DeliveryState.DEAD and "does not forward" in d.last_error
    assert _answers(app, reference)[0].forwarded_at is None  # the company's page does not claim it arrived


@pytest.mark.parametrize("adapter", ["inbox"])
def test_an_answer_to_an_inbox_body_needs_no_delivery(app, client, login_as, adapter):
    """Staff read it in the portal from the moment it is written."""
    reference = _file(client, login_as)
    Worker(app).run_once()
    filing_delivery = _filing_delivery(app, reference)
    set_adapter(app, BODY, "webhook", webhook_options("http://127.0.0.1:9/"))
    _request_information(client, filing_delivery)
    with app.app_context():  # back to the portal inbox, as the demo data has it
        db.session.execute(update(Chamber).where(Chamber.slug == BODY)
                           .values(adapter_key=adapter, options={"chamber_slug": BODY}))
        db.session.commit()
    assert answer(client, reference, "Anbei.").status_code == 302
    assert _message_deliveries(app, reference) == []
    assert _answers(app, reference)[0].forwarded_at is not None


def test_an_inbox_body_with_a_push_is_told_of_the_filing_and_of_the_companys_message(app, client, login_as):
    """For chambers that pull through the API: the same outbox tells their system that something
    arrived (retried until it answers); the content stays in the portal, readable at once."""
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, BODY, "inbox", {"chamber_slug": BODY, "notify_url": url, "notify_secret": SECRET,
                                          "allow_insecure_http": True})
        state.fault = "500-once"
        reference = _file(client, login_as)
        Worker(app).run_once()
        assert _filing_delivery(app, reference).state == DeliveryState.PENDING  # the push failed: retried
        make_due(app)
        Worker(app).run_once()
        assert _filing_delivery(app, reference).state == DeliveryState.DELIVERED
        assert answer(client, reference, "Eine Frage zur Gebühr.").status_code == 302
        (message,) = _answers(app, reference)
        assert message.forwarded_at is not None  # in the inbox from the start
        Worker(app).run_once()
    (sent,) = _message_deliveries(app, reference)
    assert sent.state == DeliveryState.DELIVERED
    events = sorted((rec["headers"]["X-Bizportal-Event"], rec["body"]["reference"]) for rec in state.stored.values())
    assert events == [("filing", reference), ("message", reference)]
    assert all("body" not in rec["body"] and "data" not in rec["body"] for rec in state.stored.values())
