"""Status events from receivers: signed webhook callbacks and the FIT-Connect poll pass."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bizportal.bodies.models import Chamber
from bizportal.delivery import events
from bizportal.delivery.models import DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing, FilingEvent
from chambers.base import ChamberEvent
from chambers.webhook import sign
from tests.support.adapters import SECRET, fit_options, webhook_options
from tests.support.callbacks import at, callback
from tests.support.factories import delivery_of, make_filing, set_adapter
from tests.support.receivers.fitconnect_receiver import fitconnect_receiver
from tests.support.receivers.webhook_receiver import webhook_receiver

OTHER_SECRET = "another-chambers-secret-0123"


def timeline(app, filing_id) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(e.kind, e.detail) for e in db.session.scalars(
            select(FilingEvent).where(FilingEvent.filing_id == filing_id).order_by(FilingEvent.id))]


def filing_status(app, filing_id) -> str:
    with app.app_context():
        return db.session.get(Filing, filing_id).status


@pytest.fixture
def delivered(app):
    """A filing delivered to hk-bremen through the webhook adapter and the reference receiver."""
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url))
        filing_id = make_filing(app)
        Worker(app).run_once()
        assert len(state.stored) == 1
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED
    return filing_id, d.id


# --- webhook callbacks --------------------------------------------------------------------------

def test_signed_callback_is_applied_once(app, client, delivered):
    filing_id, delivery_id = delivered
    when = at()
    resp = callback(client, "hk-bremen", delivery_id, "received", occurred_at=when)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json == {"result": "applied", "delivery_id": str(delivery_id), "event": "received",
                         "filing_status": "received"}
    assert filing_status(app, filing_id) == "received"
    with app.app_context():
        event = db.session.scalar(select(FilingEvent).where(FilingEvent.kind == "received"))
        assert event.occurred_at == datetime.fromisoformat(when.replace("Z", "+00:00"))
    before = timeline(app, filing_id)
    replay = callback(client, "hk-bremen", delivery_id, "received", occurred_at=when)  # replayed within the window
    assert replay.status_code == 200 and replay.json["result"] == "duplicate"
    assert timeline(app, filing_id) == before


def test_decision_closes_the_filing_and_later_events_are_refused(app, client, delivered):
    filing_id, delivery_id = delivered
    assert callback(client, "hk-bremen", delivery_id, "in_progress").status_code == 200
    resp = callback(client, "hk-bremen", delivery_id, "accepted", detail="Erlaubnis erteilt",
                    occurred_at=at(1))
    assert resp.status_code == 200 and resp.json["filing_status"] == "accepted"
    assert delivery_of(app, filing_id).state == DeliveryState.ACCEPTED
    late = callback(client, "hk-bremen", delivery_id, "in_progress", occurred_at=at(2))
    assert late.status_code == 409 and "closed" in late.json["error"]
    assert filing_status(app, filing_id) == "accepted"


def test_rejection_without_reason_gets_a_placeholder(app, client, delivered):
    filing_id, delivery_id = delivered
    assert callback(client, "hk-bremen", delivery_id, "rejected").status_code == 200
    assert ("rejected", events.NO_REASON) in timeline(app, filing_id)


def test_forged_stale_or_unsigned_callbacks_change_nothing(app, client, delivered):
    filing_id, delivery_id = delivered
    before = timeline(app, filing_id)
    forged = callback(client, "hk-bremen", delivery_id, "accepted", secret="not-the-chambers-secret")
    assert forged.status_code == 401 and forged.json == {"error": "invalid signature"}
    stale = callback(client, "hk-bremen", delivery_id, "accepted", timestamp=int(time.time()) - 600)
    assert stale.status_code == 401
    unsigned = callback(client, "hk-bremen", delivery_id, "accepted", headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    # A genuine signature over one body does not cover another.
    body = json.dumps({"delivery_id": str(delivery_id), "event": "received",
                       "occurred_at": "2025-12-01T10:00:00Z"}).encode()
    ts = int(time.time())
    tampered = client.post("/api/chambers/hk-bremen/status", data=body.replace(b"received", b"accepted"),
                           headers={"X-Bizportal-Timestamp": str(ts),
                                    "X-Bizportal-Signature": sign(SECRET, ts, body)})
    assert tampered.status_code == 401
    assert timeline(app, filing_id) == before and filing_status(app, filing_id) == "forwarded"


def test_unknown_chamber_or_delivery_is_404(app, client, delivered):
    filing_id, delivery_id = delivered
    assert callback(client, "no-such-chamber", delivery_id, "received").status_code == 404
    # A chamber without the webhook adapter has no callback channel.
    assert callback(client, "hwk-bremen", delivery_id, "received").status_code == 404
    unknown = callback(client, "hk-bremen", uuid.uuid4(), "received")
    assert unknown.status_code == 404 and unknown.json == {"error": "unknown delivery"}
    # Another webhook chamber, correctly signed with its own secret, cannot report on this delivery.
    set_adapter(app, "hwk-bremen", "webhook", webhook_options("http://127.0.0.1:9/x", secret=OTHER_SECRET))
    foreign = callback(client, "hwk-bremen", delivery_id, "accepted", secret=OTHER_SECRET)
    assert foreign.status_code == 404
    assert filing_status(app, filing_id) == "forwarded"


def test_signed_but_malformed_callback_is_400(client, delivered):
    _, delivery_id = delivered
    resp = callback(client, "hk-bremen", delivery_id, "approved")
    assert resp.status_code == 400 and "event must be one of" in resp.json["error"]
    resp = callback(client, "hk-bremen", delivery_id, "received", raw=b"not json")
    assert resp.status_code == 400


# --- FIT-Connect poll ---------------------------------------------------------------------------

REF_RE = re.compile(r"case:[0-9a-f-]{36}/submission:([0-9a-f-]{36})/tags:[\w-]{43}")


def test_poll_applies_verified_events_once_and_ignores_forged_tokens(app, fit_keys):
    with fitconnect_receiver(fit_keys) as (url, state):
        set_adapter(app, "gewerbeamt-bremen", "fitconnect", fit_options(url, state))
        filing_id = make_filing(app, service_key="gewerbeanmeldung")  # Gewerbeamt (FIT-Connect) + HWK copy (inbox)
        Worker(app).run_once()
        (sub,) = state.submitted()
        with app.app_context():
            ref = next(d.receiver_ref for d in db.session.get(Filing, filing_id).deliveries
                       if d.receiver_ref.startswith("case:"))
        sid = REF_RE.fullmatch(ref).group(1)
        assert sid == sub["submissionId"]
        state.issue(sid, "accept-submission", key=state.keys.forger)  # same kid, wrong key
        state.issue(sid, "accept-submission", key=state.keys.signing)  # the delivery service's key
        state.issue(sid, "accept-submission", iss="https://zustelldienst.example")  # wrong iss
        state.issue(sid, "accept-submission", iat=int(time.time()) + 3600)  # from the future
        state.append(sid, state.events[sub["caseId"]][1])  # the submit event once more
        with app.app_context():
            report = events.poll_pass(app)
        assert (report.deliveries, report.applied, report.errors) == (1, 1, [])
        assert filing_status(app, filing_id) == "received"  # no forged acceptance counted
        with app.app_context():
            again = events.poll_pass(app)
        assert again.applied == 0
        assert [k for k, _ in timeline(app, filing_id)].count("received") == 1

        state.issue(sid, "forward-submission")
        accept = state.issue(sid, "accept-submission")
        state.append(sid, accept)
        with app.app_context():
            report = events.poll_pass(app)
        assert report.applied == 1
        assert filing_status(app, filing_id) == "accepted"
        with app.app_context():
            gewerbeamt = next(d for d in db.session.get(Filing, filing_id).deliveries
                              if d.chamber.slug == "gewerbeamt-bremen")
            assert gewerbeamt.state == DeliveryState.ACCEPTED
            assert events.poll_pass(app).deliveries == 0  # decided: not asked again
            assert db.session.scalar(select(func.count()).select_from(FilingEvent).where(
                FilingEvent.filing_id == filing_id, FilingEvent.kind == "accepted")) == 1


def test_polled_events_with_the_same_id_are_applied_once(app, delivered):
    filing_id, delivery_id = delivered
    now = datetime.now(UTC)
    first = ChamberEvent("received", now, event_id="jti-1")
    again = ChamberEvent("received", now + timedelta(seconds=7), event_id="jti-1")
    with app.app_context():
        report = events.PollReport()
        assert events.apply_events(delivery_id, [first, again], report) == 1
    assert report.refused == 1
    assert [k for k, _ in timeline(app, filing_id)].count("received") == 1


def test_poll_reports_a_broken_chamber_and_goes_on(app, fit_keys):
    with fitconnect_receiver(fit_keys) as (url, state):
        set_adapter(app, "gewerbeamt-bremen", "fitconnect", fit_options(url, state))
        make_filing(app, service_key="gewerbeanmeldung")
        Worker(app).run_once()
    # The receiver is gone now.
    with app.app_context():
        report = events.poll_pass(app)
    assert report.applied == 0 and len(report.errors) == 1 and "gewerbeamt-bremen" in report.errors[0]


# --- callbacks: size, chambers, times, order ---------------------------------------------------------

def _raw_post(base_url: str, head: str) -> bytes:
    """Send only the request line and headers of a POST and return what the server answers."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as conn:
        conn.sendall(head.encode())
        conn.settimeout(5)
        return conn.recv(4096)  # a server that waited for the body would time out here


def test_a_large_or_unannounced_body_is_refused_before_it_is_read(app, live_server, delivered):
    filing_id, _ = delivered
    huge = _raw_post(live_server, "POST /api/chambers/hk-bremen/status HTTP/1.1\r\nHost: portal\r\n"
                                  "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n")
    assert huge.startswith(b"HTTP/1.1 413")
    chunked = _raw_post(live_server, "POST /api/chambers/hk-bremen/status HTTP/1.1\r\nHost: portal\r\n"
                                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert chunked.startswith(b"HTTP/1.1 411")
    assert filing_status(app, filing_id) == "forwarded"


def test_a_body_over_the_limit_is_refused_even_when_signed(client, delivered):
    _, delivery_id = delivered
    body = json.dumps({"delivery_id": str(delivery_id), "event": "received", "occurred_at": at(),
                       "detail": "x" * events.CALLBACK_MAX_BODY}).encode()
    resp = callback(client, "hk-bremen", delivery_id, "received", raw=body)
    assert resp.status_code == 413


def test_unknown_chamber_and_chamber_without_webhooks_get_the_same_answer(app, client, delivered):
    _, delivery_id = delivered
    set_adapter(app, "hk-hamburg", "email", {"host": "mail.hk-hamburg.example", "from_address": "p@example.org",
                                             "to_address": "eingang@hk-hamburg.example"})
    answers = []
    for slug in ("no-such-chamber", "hwk-bremen", "hk-hamburg"):  # none; inbox; e-mail
        resp = callback(client, slug, delivery_id, "received")
        answers.append((resp.status_code, resp.get_data(), resp.headers.get("Content-Type")))
    assert answers[0][0] == 404 and answers == [answers[0]] * 3


def test_event_times_before_the_submission_or_in_the_future_are_refused(app, client, delivered):
    filing_id, delivery_id = delivered
    before = timeline(app, filing_id)
    early = callback(client, "hk-bremen", delivery_id, "received", occurred_at=at(-3600))
    assert early.status_code == 400 and "before the filing was submitted" in early.json["error"]
    future = callback(client, "hk-bremen", delivery_id, "received", occurred_at=at(3600))
    assert future.status_code == 400 and "in the future" in future.json["error"]
    assert timeline(app, filing_id) == before and filing_status(app, filing_id) == "forwarded"
    # a receiver's clock a minute ahead is within the tolerance
    assert callback(client, "hk-bremen", delivery_id, "received", occurred_at=at(60)).status_code == 200
    # half a minute behind (or FIT-Connect's whole-second times) is not "before the filing": this
    # report passes the time check and is refused only as older than the status it would replace
    behind = callback(client, "hk-bremen", delivery_id, "accepted", occurred_at=at(-30))
    assert behind.status_code == 409 and "before the filing" not in behind.get_data(as_text=True)


def test_a_late_report_older_than_the_status_never_moves_it_back(app, client, delivered):
    filing_id, delivery_id = delivered
    assert callback(client, "hk-bremen", delivery_id, "received", occurred_at=at(10)).status_code == 200
    assert callback(client, "hk-bremen", delivery_id, "information_requested", detail="Bitte Meisterbrief",
                    occurred_at=at(30)).status_code == 200
    late = callback(client, "hk-bremen", delivery_id, "in_progress", occurred_at=at(20))
    assert late.status_code == 409 and "older than its current status" in late.json["error"]
    assert filing_status(app, filing_id) == "information_requested"
    with app.app_context():  # the poll path refuses it alike
        report = events.PollReport()
        old = ChamberEvent("in_progress", datetime.now(UTC) + timedelta(seconds=20))
        assert events.apply_events(delivery_id, [old], report) == 0 and report.refused == 1
    assert filing_status(app, filing_id) == "information_requested"
    assert callback(client, "hk-bremen", delivery_id, "in_progress", occurred_at=at(40)).status_code == 200
    assert filing_status(app, filing_id) == "in_progress"


# --- the audit log of status callbacks ------------------------------------------------------------

def _callback_entries(app):
    from bizportal.audit.models import AuditEvent

    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "delivery.status_callback")
                                        .order_by(AuditEvent.id)))
        db.session.expunge_all()
        return found


def test_each_accepted_status_callback_is_an_audit_entry_of_its_filing(app, client, delivered):
    filing_id, delivery_id = delivered
    assert callback(client, "hk-bremen", delivery_id, "received").status_code == 200
    assert callback(client, "hk-bremen", delivery_id, "in_progress").status_code == 200
    entries = _callback_entries(app)
    assert [(e.actor, e.detail, e.outcome, e.filing_id) for e in entries] == [
        ("webhook:hk-bremen", "received (applied)", "success", filing_id),
        ("webhook:hk-bremen", "in_progress (applied)", "success", filing_id),
    ]
    with app.app_context():
        hk_bremen = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hk-bremen"))
    assert all(e.chamber_id == hk_bremen and e.seq is not None for e in entries)  # each one chained
    assert SECRET not in " ".join(str(e.detail) + str(e.target) for e in entries)


def test_refused_status_callbacks_are_counted_together_like_other_noise(app, client, delivered):
    _, delivery_id = delivered
    for _ in range(5):
        assert callback(client, "hk-bremen", delivery_id, "received", secret=OTHER_SECRET).status_code == 401
    assert callback(client, "gibt-es-nicht", delivery_id, "received").status_code == 404
    refused = [e for e in _callback_entries(app) if e.outcome == "refused"]
    assert sum(e.count for e in refused) == 6
    # one row per source and minute (the six may straddle a minute's end)
    assert 1 <= len(refused) <= 2 and all(e.actor == "anonymous" for e in refused)
    assert refused[0].detail == "401: invalid signature"
    assert filing_status(app, delivered[0]) != "received"
