"""Takeovers between real worker processes on PostgreSQL: a worker stalls (SIGSTOP) or dies
(SIGKILL) in the middle of its sends, its leases run out, another worker process takes the rows
over; the stalled one wakes up (SIGCONT) with its late answers.

Every filing ends delivered once: stored once at a deduplicating webhook receiver, one FIT-Connect
submission (created once, submitted once) at a delivery service that ignores Idempotency-Key; the
late outcome of the stalled worker changes nothing the taker wrote (the record is guarded by the
lease); no time lies in the future.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.extensions import db
from bizportal.filings.models import Filing, FilingEvent
from bizportal.stats.models import StatCounter
from tests.support.adapters import webhook_options
from tests.support.clock import database_now
from tests.support.factories import bulk_filings, set_adapter, state_counts, wait_for
from tests.support.fitconnect import PDF, PNG, fit_delivery, fit_filing, forwarded_entries
from tests.support.receivers.counting import counting_receiver, settled_arrivals
from tests.support.receivers.fitconnect_receiver import fitconnect_receiver
from tests.support.workers import CHAMBER_SLOTS

pytestmark = pytest.mark.postgres_only(
    reason="several worker processes claim side by side only on PostgreSQL (FOR UPDATE SKIP LOCKED); "
           "SQLite runs one worker")

#: short leases, so that a stalled worker's rows are taken over within seconds
LEASE = dict(DELIVERY_LEASE_SECONDS=2, WORKER_POLL_SECONDS=0.1)


def held_by(app, proc: subprocess.Popen) -> set[uuid.UUID]:
    """The deliveries the worker process holds (``locked_by`` is ``host:pid:random``)."""
    with app.app_context():
        return set(db.session.scalars(select(Delivery.id).where(
            Delivery.state == DeliveryState.SENDING, Delivery.locked_by.like(f"%:{proc.pid}:%"))))


def log_of(proc: subprocess.Popen) -> str:
    return Path(proc.log_path).read_text()  # type: ignore[attr-defined]


def lost_leases_logged(proc: subprocess.Popen, ids: set[uuid.UUID]) -> bool:
    """The worker tried to write the outcome of each of ``ids`` and found its lease gone."""
    text = log_of(proc)
    return all(f"lease on delivery {i} lost before the outcome was written" in text for i in ids)


def records(app, ids) -> dict[uuid.UUID, tuple]:
    """What the database says of each delivery of the filings ``ids``."""
    with app.app_context():
        return {d.id: (d.state, d.attempts, d.delivered_at, d.receiver_ref, d.locked_by, d.last_error)
                for d in db.session.scalars(select(Delivery).where(Delivery.filing_id.in_(ids)))}


def test_worker_stalled_past_its_lease_is_taken_over_and_its_late_answers_change_nothing(app, worker_processes):
    """Two workers, each with its sends held at a receiver that stores first and deduplicates on
    Idempotency-Key. The first worker is stopped (SIGSTOP) with its sends in flight; the receiver
    then stores and answers them (201 into the stopped worker's sockets). Its leases run out, the
    other worker takes its rows over (409: already stored) and drains the rest. Then the first
    worker goes on (SIGCONT), reads its 201s and tries to record them: nothing is written."""
    n = 24
    with counting_receiver(gate_open=False) as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url, timeout_seconds=30))
        ids = bulk_filings(app, n, ["hk-bremen"], spread=timedelta(minutes=10))  # rows apart in time
        started = database_now(app)
        stalled = worker_processes(**LEASE)
        first = settled_arrivals(server, at_least=CHAMBER_SLOTS)
        taker = worker_processes(**LEASE)
        both = settled_arrivals(server, at_least=first + CHAMBER_SLOTS)
        victims = held_by(app, stalled)
        assert len(victims) == first and 1 <= first < both < n
        assert len(held_by(app, taker)) == both - first

        stalled.send_signal(signal.SIGSTOP)
        try:
            server.gate.set()  # every request held so far is stored and answered, the stopped worker's too
            wait_for(lambda: {str(v) for v in victims} <= set(server.state.stored),
                     what="the stopped worker's requests stored")
            wait_for(lambda: state_counts(app) == {DeliveryState.DELIVERED: n}, timeout=90, interval=0.2,
                     what="the other worker to take over and deliver everything")
            taken = records(app, ids)
            assert all(taken[v][1] == 2 for v in victims)  # taken over: a second attempt each
            assert stalled.poll() is None and held_by(app, stalled) == set()
        finally:
            stalled.send_signal(signal.SIGCONT)
        # until it has tried to write all its late outcomes (or, were the record not guarded, wrote one)
        wait_for(lambda: lost_leases_logged(stalled, victims) or records(app, ids) != taken, timeout=30,
                 what="the stalled worker's late outcomes to meet the lost leases")
        ended = database_now(app)

        assert records(app, ids) == taken  # the late 201s overwrote nothing (attempts, times, refs)
        assert stalled.poll() is None and taker.poll() is None
        assert len(server.state.stored) == n and set(server.state.stored) == {str(d) for d in taken}
        assert {k: c for k, c in server.per_key.items() if c != 1} == {str(v): 2 for v in victims}
        with app.app_context():
            rows = list(db.session.scalars(select(Delivery).where(Delivery.filing_id.in_(ids))))
            assert all(started <= d.delivered_at <= ended for d in rows)  # none in the future
            assert all(d.locked_by is None and d.receiver_ref for d in rows)
            forwarded = list(db.session.scalars(select(FilingEvent.filing_id).where(
                FilingEvent.filing_id.in_(ids), FilingEvent.kind == "forwarded")))
            assert sorted(forwarded) == sorted(ids)  # one timeline entry per filing, none from the late answers
            assert db.session.scalar(select(func.count()).select_from(Filing).where(
                Filing.id.in_(ids), Filing.status == "forwarded")) == n
            assert db.session.scalar(select(func.sum(StatCounter.count)).where(
                StatCounter.metric == "delivered_per_chamber")) == n


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "stalled"])
def test_fitconnect_takeover_by_another_process_continues_the_one_submission(app, worker_processes, fit_keys, how):
    """A delivery service that ignores Idempotency-Key (as the public Submission API). The first
    worker process creates the submission, records it and hangs in its first upload; it is killed
    or stopped there. After its lease another worker process continues the recorded submission:
    one submission created, both attachments uploaded once, submitted once. A stopped worker that
    goes on afterwards gets 409 for its upload and writes nothing."""
    with fitconnect_receiver(fit_keys) as (url, state):
        state.honour_idempotency_key = False
        filing_id = fit_filing(app, url, state)
        state.faults["upload"] = "hang"  # the first upload waits until state.release is set
        env = dict(LEASE, UPLOAD_DIR=app.config["UPLOAD_DIR"], MAIL_FOLDER=app.config["MAIL_FOLDER"])
        first = worker_processes(**env)
        try:
            wait_for(lambda: "upload" not in state.faults, timeout=60, what="the first worker's upload to hang")
            d = fit_delivery(app, filing_id)
            (sid,) = state.submissions
            assert d.state == DeliveryState.SENDING and d.id in held_by(app, first)
            assert d.progress == {"submission_id": sid, "case_id": state.submissions[sid]["caseId"], "uploaded": {}}

            first.send_signal(how)
            if how == signal.SIGKILL:
                first.wait(10)
            second = worker_processes(**env)
            wait_for(lambda: fit_delivery(app, filing_id).state == DeliveryState.DELIVERED, timeout=60,
                     what="the second worker to finish the submission")
            assert (state.creates, len(state.submissions), state.uploads, state.submits) == (1, 1, 2, 1)
            taken = records(app, [filing_id])
            if how == signal.SIGSTOP:
                state.release.set()  # the stopped worker's upload goes on: 409, already submitted
                first.send_signal(signal.SIGCONT)
                wait_for(lambda: lost_leases_logged(first, {d.id}) or records(app, [filing_id]) != taken,
                         timeout=30, what="the stopped worker's late outcome to meet the lost lease")
                assert first.poll() is None
                assert records(app, [filing_id]) == taken
        finally:
            state.release.set()
            if how == signal.SIGSTOP:
                first.send_signal(signal.SIGCONT)
        assert second.poll() is None
        assert (state.creates, len(state.submissions), state.uploads, state.submits) == (1, 1, 2, 1)

    (sub,) = state.submitted()
    assert sub["submissionId"] == sid and sorted(sub["attachments"].values()) == sorted([PDF, PNG])
    d = fit_delivery(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 2 and d.locked_by is None
    assert f"submission:{sid}" in d.receiver_ref and d.progress["submission_id"] == sid
    assert d.delivered_at <= database_now(app)
    assert forwarded_entries(app, filing_id) == 1
