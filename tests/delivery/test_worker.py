"""The outbox worker: claiming, outcomes, backoff, leases, the thread pool and shutdown."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select, update

from bizportal.bodies.models import Chamber
from bizportal.common.time import utcnow
from bizportal.config import DeliverySettings
from bizportal.delivery import claims, jobs, recording, resend, sending
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing, FilingEvent
from bizportal.inbox.models import InboxItem
from tests.support.adapters import FlakyAdapter, GateAdapter
from tests.support.factories import (
    bulk_filings,
    delivery_of,
    make_due,
    make_filing,
    set_adapter,
    state_counts,
    wait_for,
)


def test_worker_delivers_into_the_chamber_inbox(app):
    filing_id = make_filing(app)
    assert Worker(app).run_once() == 1
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 1 and d.delivered_at
    with app.app_context():
        item = db.session.scalar(select(InboxItem))
        assert item.chamber.slug == "hk-bremen" and item.delivery_id == d.id
        assert db.session.get(Filing, filing_id).status == "forwarded"
    assert Worker(app).run_once() == 0  # nothing left to do


def test_inbox_store_keeps_one_copy_per_delivery_id(app):
    filing_id = make_filing(app)
    d = delivery_of(app, filing_id)
    with app.app_context():
        payload = jobs.payload(jobs.read_jobs([d.id])[d.id], app.extensions["bizportal"].catalog, None)
        adapter = app.extensions["bizportal"].registry.create("inbox", app.extensions["bizportal"].adapter_services)
        first = adapter.deliver(payload, {"chamber_slug": "hk-bremen"})
        second = adapter.deliver(payload, {"chamber_slug": "hk-bremen"})
        assert first.receiver_ref == second.receiver_ref
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 1


def test_temporary_failure_is_retried_later_with_backoff(app):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "temporary"})
    filing_id = make_filing(app)
    before = utcnow()
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.PENDING and d.attempts == 1
    assert "503" in d.last_error and d.locked_by is None
    assert d.next_attempt_at > before
    assert Worker(app).run_once() == 0  # not due yet
    # The receiver is back and the delivery is due: it goes through.
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    make_due(app)
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 2 and d.receiver_ref == "ext-1"
    assert d.last_error is None


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    settings = DeliverySettings(backoff_base=10, backoff_max=100)
    for attempts, full in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {sending.backoff_delay(attempts, settings).total_seconds() for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # jitter


def test_permanent_failure_is_dead_at_once_with_reason(app, caplog):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    filing_id = make_filing(app)
    with caplog.at_level("INFO", logger="bizportal.delivery.sending"):
        Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DEAD and d.attempts == 1
    # the reason on one line for the admin pages; the traceback only in the log
    assert "422: unknown service" in d.last_error and "\n" not in d.last_error and "Traceback" not in d.last_error
    assert any(r.exc_info and "422: unknown service" in r.getMessage() for r in caplog.records)


def test_attempt_cap_ends_in_dead(make_app):
    app = make_app(DELIVERY_MAX_ATTEMPTS=2)
    set_adapter(app, "hk-bremen", "flaky", {"mode": "crash"})
    filing_id = make_filing(app)
    for _ in range(2):
        make_due(app)
        Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DEAD and d.attempts == 2 and "bug in adapter" in d.last_error


def test_unknown_adapter_key_is_dead_not_retried_forever(app):
    set_adapter(app, "hk-bremen", "no-such-adapter", {})
    filing_id = make_filing(app)
    Worker(app).run_once()
    assert delivery_of(app, filing_id).state == DeliveryState.DEAD


def test_disabled_chamber_waits_without_spending_attempts(app):
    filing_id = make_filing(app)
    set_adapter(app, "hk-bremen", "inbox", {"chamber_slug": "hk-bremen"}, enabled=False)
    assert Worker(app).run_once() == 0
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.PENDING and d.attempts == 0


def test_expired_lease_of_a_dead_worker_is_taken_over(app):
    filing_id = make_filing(app)
    settings = DeliverySettings(lease_seconds=60)
    with app.app_context():
        claimed = [c.id for c in claims.claim("crashed-worker", 10, settings)]
        assert len(claimed) == 1
        # The worker dies here. While its lease runs, nobody else takes the row.
        assert [c.id for c in claims.claim("other", 10, settings)] == []
        db.session.execute(update(Delivery).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert Worker(app, worker_id="other").run_once() == 1
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 1


def test_outcome_of_a_worker_that_lost_its_lease_is_not_written(app):
    """record() writes nothing for a lease this worker lost: not the row, not the timeline, not the status."""
    filing_id = make_filing(app)
    settings = DeliverySettings()
    ext = app.extensions["bizportal"]
    with app.app_context():
        (claim,) = claims.claim("slow-worker", 10, settings)
        db.session.execute(update(Delivery).values(locked_by="someone-else"))
        db.session.commit()
        result = sending.send(claim.job, ext.registry, ext.adapter_services, ext.catalog, settings)
        assert result.state == DeliveryState.DELIVERED  # the receiver has it
        assert recording.record("slow-worker", [result], settings) == []
        db.session.remove()
        d = db.session.get(Delivery, claim.id)
        assert d.state == DeliveryState.SENDING and d.locked_by == "someone-else" and d.delivered_at is None
        assert db.session.get(Filing, filing_id).status == "submitted"
        assert [e.kind for e in db.session.scalars(select(FilingEvent).where(FilingEvent.filing_id == filing_id))] \
            == ["submitted"]


def test_resend_makes_dead_delivery_due_and_leaves_delivered_alone(app):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    filing_id = make_filing(app)
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    with app.app_context():
        assert resend.resend(d.id) is True
    Worker(app).run_once()
    assert delivery_of(app, filing_id).state == DeliveryState.DELIVERED
    with app.app_context():
        assert resend.resend(d.id) is False
        assert resend.resend_many([d.id]) == 0
    assert Worker(app).run_once() == 0
    assert FlakyAdapter.calls.count(FlakyAdapter.calls[0]) == 2


def test_failing_chamber_does_not_block_another(app):
    set_adapter(app, "gewerbeamt-bremen", "flaky", {"mode": "temporary"})
    filing_id = make_filing(app, service_key="gewerbeanmeldung")
    Worker(app).run_once()
    with app.app_context():
        states = dict(db.session.execute(
            select(Chamber.slug, Delivery.state).join(Delivery.chamber).where(Delivery.filing_id == filing_id)
        ).all())
    assert states == {"gewerbeamt-bremen": "pending", "hwk-bremen": "delivered"}


def test_filing_is_forwarded_only_when_every_delivery_is_out(app):
    set_adapter(app, "gewerbeamt-bremen", "flaky", {"mode": "temporary"})
    filing_id = make_filing(app, service_key="gewerbeanmeldung")
    Worker(app).run_once()
    with app.app_context():
        assert db.session.get(Filing, filing_id).status == "submitted"
    set_adapter(app, "gewerbeamt-bremen", "flaky", {"mode": "ok"})
    make_due(app)
    Worker(app).run_once()
    with app.app_context():
        assert db.session.get(Filing, filing_id).status == "forwarded"


def test_worker_cli_once_drains_due_deliveries(app):
    make_filing(app)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "1 delivery attempt(s) made" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 1


# --- claiming per chamber -------------------------------------------------------------------------

def test_claim_takes_at_most_the_free_slots_of_each_chamber(app):
    bulk_filings(app, 6, ["hk-bremen", "hwk-bremen"])
    settings = DeliverySettings()
    with app.app_context():
        ids = {c.slug: c.id for c in db.session.scalars(select(Chamber))}
        slots = {ids["hk-bremen"]: 1, ids["hwk-bremen"]: 0}
        claimed = claims.claim("w1", 10, settings, slots, default_slots=0)
        assert [c.chamber_id for c in claimed] == [ids["hk-bremen"]]
        claimed = claims.claim("w1", 3, settings, default_slots=5)
        assert len(claimed) == 3
        claimed = claims.claim("w1", 10, settings, default_slots=5)
        assert len(claimed) == 2  # 6 rows in all
        assert claims.claim("w1", 10, settings) == []


def test_a_backlog_at_one_chamber_does_not_hide_another_chambers_rows(app):
    bulk_filings(app, 30, ["hk-bremen"])
    (late,) = bulk_filings(app, 1, ["hwk-bremen"])
    with app.app_context():
        claimed = claims.claim("w1", 3, DeliverySettings(), default_slots=2)
        hwk = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hwk-bremen"))
        assert sorted(c.chamber_id == hwk for c in claimed) == [False, False, True]


# --- the thread pool ------------------------------------------------------------------------------

def test_slow_chamber_occupies_only_its_own_slots(make_app, run_worker):
    app = make_app(WORKER_THREADS=4, DELIVERY_CHAMBER_CONCURRENCY=2, WORKER_POLL_SECONDS=0.1)
    set_adapter(app, "hk-bremen", "gate", {"wait": 60})
    set_adapter(app, "hwk-bremen", "flaky", {"mode": "ok"})
    slow = bulk_filings(app, 5, ["hk-bremen"])
    fast = bulk_filings(app, 8, ["hwk-bremen"])
    run_worker(app)
    with app.app_context():
        hwk = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hwk-bremen"))

    def fast_done():
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.chamber_id == hwk, Delivery.state == DeliveryState.DELIVERED)) == len(fast)

    wait_for(fast_done, what="the fast chamber's deliveries")
    # While all of that flowed, the slow receiver never had more than its two slots.
    assert GateAdapter.max_running == 2 and GateAdapter.started == 2
    GateAdapter.gate.set()
    wait_for(lambda: state_counts(app).get("delivered", 0) == len(slow) + len(fast), what="all deliveries")
    assert GateAdapter.max_running == 2


def test_lease_is_renewed_while_a_long_send_runs(make_app, run_worker):
    app = make_app(DELIVERY_LEASE_SECONDS=1, WORKER_POLL_SECONDS=0.1)
    set_adapter(app, "hk-bremen", "gate", {"wait": 60})
    (filing_id,) = bulk_filings(app, 1, ["hk-bremen"])
    run_worker(app)
    wait_for(lambda: GateAdapter.started == 1, what="the send to start")
    deadline = time.monotonic() + 2.5  # more than twice the lease
    with app.app_context():
        while time.monotonic() < deadline:
            assert claims.claim("intruder", 5, DeliverySettings()) == []
            time.sleep(0.1)
    GateAdapter.gate.set()
    wait_for(lambda: delivery_of(app, filing_id).state == DeliveryState.DELIVERED, what="delivery")
    assert delivery_of(app, filing_id).attempts == 1


def test_stop_lets_sends_in_flight_finish_and_claims_nothing_more(make_app, registry):
    app = make_app(WORKER_THREADS=1)
    for _ in range(3):
        make_filing(app)
    worker = Worker(app)

    class StopAfterFirst(FlakyAdapter):
        def deliver(self, payload, options):
            worker.stop()  # SIGTERM arrives while the first delivery is in flight
            return super().deliver(payload, options)

    registry._classes["flaky"] = StopAfterFirst
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    assert worker.run_once() == 1
    with app.app_context():
        assert sorted(db.session.scalars(select(Delivery.state))) == ["delivered", "pending", "pending"]
        assert db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.locked_by.isnot(None))) == 0
        assert sorted(db.session.scalars(select(Delivery.attempts))) == [0, 0, 1]


def test_stop_with_several_sends_in_flight_waits_for_all_of_them(make_app, run_worker):
    app = make_app(WORKER_THREADS=4, DELIVERY_CHAMBER_CONCURRENCY=4, WORKER_POLL_SECONDS=0.1)
    set_adapter(app, "hk-bremen", "gate", {"wait": 60})
    bulk_filings(app, 6, ["hk-bremen"])
    worker = run_worker(app)
    wait_for(lambda: GateAdapter.started == 4, what="four sends in flight")
    worker.stop()
    time.sleep(0.3)
    GateAdapter.gate.set()
    wait_for(lambda: not worker.in_flight() and state_counts(app).get("delivered") == 4, what="drain")
    counts = state_counts(app)
    assert counts == {"delivered": 4, "pending": 2}
    assert GateAdapter.started == 4


def test_sends_still_running_after_the_grace_period_are_handed_back(make_app, run_worker):
    app = make_app(WORKER_SHUTDOWN_GRACE_SECONDS=0.3, WORKER_POLL_SECONDS=0.1)
    set_adapter(app, "hk-bremen", "gate", {"wait": 60})
    (filing_id,) = bulk_filings(app, 1, ["hk-bremen"])
    worker = run_worker(app)
    wait_for(lambda: GateAdapter.started == 1, what="the send to start")
    worker.stop()
    wait_for(lambda: delivery_of(app, filing_id).state == DeliveryState.PENDING, what="hand-back")
    d = delivery_of(app, filing_id)
    assert d.locked_by is None and d.attempts == 1 and "shut down" in d.last_error
    GateAdapter.gate.set()  # the abandoned send ends: it may not write its outcome any more
    time.sleep(0.3)
    assert delivery_of(app, filing_id).state == DeliveryState.PENDING
    # The next worker sends it again with the same id.
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    assert Worker(app).run_once() == 1
    assert delivery_of(app, filing_id).state == DeliveryState.DELIVERED


# --- the circuit breaker --------------------------------------------------------------------------

def test_breaker_opens_after_consecutive_failures_and_probes_after_cooldown():
    from bizportal.delivery.breaker import CircuitBreakers

    now = [0.0]
    b = CircuitBreakers(threshold=3, cooldown=10, max_cooldown=25, clock=lambda: now[0])
    assert b.allowance(1, 2) == 2
    b.record(1, True)
    b.record(1, False)  # a success resets the count
    for _ in range(2):
        b.record(1, True)
    assert b.allowance(1, 2) == 2
    b.record(1, True)
    assert b.allowance(1, 2) == 0 and b.allowance(2, 2) == 2  # other chambers unaffected
    now[0] = 10.0
    assert b.allowance(1, 2) == 1  # half-open: one probe
    b.started(1)
    assert b.allowance(1, 2) == 0
    b.record(1, True)  # probe failed: open again, twice as long
    now[0] = 29.0
    assert b.allowance(1, 2) == 0
    now[0] = 30.0
    assert b.allowance(1, 2) == 1
    b.started(1)
    b.record(1, True)
    now[0] = 54.0
    assert b.allowance(1, 2) == 0  # cooldown capped at 25
    now[0] = 55.0
    b.started(1)
    b.record(1, False)  # probe succeeded: closed
    assert b.allowance(1, 2) == 2 and not b.is_open(1)


def test_breaker_does_not_count_first_attempts_at_a_receiver_that_takes_filings_on_the_third():
    from bizportal.delivery.breaker import CircuitBreakers

    now = [0.0]
    b = CircuitBreakers(threshold=3, cooldown=10, max_cooldown=40, clock=lambda: now[0])
    for _ in range(3):  # a backlog of never-tried rows: nothing is known yet, so they count
        b.record(1, True, attempts=1)
    assert b.allowance(1, 4) == 0
    now[0] = 10.0
    b.started(1)
    b.record(1, True, attempts=2)  # the probe (the most-tried row) failed its second attempt
    now[0] = 30.0
    b.started(1)
    b.record(1, False, attempts=3)  # the same row, third attempt: taken
    assert not b.is_open(1)
    for _ in range(20):  # the backlog's first and second attempts fail as before: not evidence
        b.record(1, True, attempts=1)
        b.record(1, True, attempts=2)
    assert b.allowance(1, 4) == 4
    for _ in range(3):  # now the receiver is down: sends at the depth it needed fail in a row
        b.record(1, True, attempts=3)
    assert b.allowance(1, 4) == 0
    now[0] = 40.0
    b.started(1)
    b.record(1, True, attempts=1)  # after a trip nothing is known: a failed probe counts
    assert b.allowance(1, 4) == 0


def test_breaker_of_a_receiver_that_took_first_attempts_counts_every_failure():
    from bizportal.delivery.breaker import CircuitBreakers

    b = CircuitBreakers(threshold=3, cooldown=10)
    b.record(1, False, attempts=3)  # a retried row from an old outage went through
    b.record(1, False, attempts=1)  # and so did a fresh one: the receiver needs one attempt
    for _ in range(3):
        b.record(1, True, attempts=2)
    assert b.is_open(1)


def test_probe_of_a_half_open_breaker_takes_the_most_tried_due_row(app):
    """Never-tried rows sort first by due time; a probe with one of them would fail at a receiver
    that fails first attempts, every time."""
    bulk_filings(app, 5, ["hk-bremen"], spread=timedelta(minutes=5))
    (other,) = bulk_filings(app, 1, ["hwk-bremen"])
    settings = DeliverySettings()
    with app.app_context():
        hk = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hk-bremen"))
        rows = list(db.session.scalars(select(Delivery).where(Delivery.chamber_id == hk)
                                       .order_by(Delivery.next_attempt_at)))
        tried_once, tried_twice = rows[3].id, rows[4].id  # the youngest rows, retried, due again
        db.session.execute(update(Delivery).where(Delivery.id == tried_once).values(attempts=1))
        db.session.execute(update(Delivery).where(Delivery.id == tried_twice).values(attempts=2))
        db.session.commit()
        probe = claims.claim("w1", 10, settings, {hk: 1}, default_slots=0, probe_chambers={hk})
        assert [c.id for c in probe] == [tried_twice] and probe[0].job.attempts == 3
        claimed = claims.claim("w1", 10, settings, {hk: 2}, default_slots=1)
        assert [c.id for c in claimed if c.chamber_id == hk] == [rows[0].id, rows[1].id]  # closed: oldest first
        assert [c.job.filing_id for c in claimed if c.chamber_id != hk] == [other]


def test_open_breaker_stops_spending_attempts_on_a_failing_chamber(make_app):
    app = make_app(DELIVERY_BREAKER_THRESHOLD=2, DELIVERY_BREAKER_COOLDOWN_SECONDS=3600,
                   WORKER_THREADS=1, DELIVERY_BACKOFF_BASE_SECONDS=0)
    set_adapter(app, "hk-bremen", "flaky", {"mode": "temporary"})
    set_adapter(app, "hwk-bremen", "flaky", {"mode": "ok"})
    bulk_filings(app, 5, ["hk-bremen"])
    worker = Worker(app)
    worker.run_once()
    with app.app_context():
        attempts = db.session.scalar(select(func.sum(Delivery.attempts)))
    assert attempts == 2  # then the breaker opened: the other three were not even tried
    fast = bulk_filings(app, 3, ["hwk-bremen"])
    make_due(app)
    assert worker.run_once() == 3  # the same worker: only the healthy chamber's deliveries
    with app.app_context():
        assert db.session.scalar(select(func.sum(Delivery.attempts))) == 2 + 3
        assert db.session.scalar(select(func.count()).select_from(Delivery).where(
            Delivery.filing_id.in_(fast), Delivery.state == DeliveryState.DELIVERED)) == 3


def test_due_and_expired_lease_rows_together_stay_within_the_chambers_slots(app):
    """Rows due again because a worker died count against the same slots as pending rows."""
    bulk_filings(app, 6, ["hk-bremen"])
    settings = DeliverySettings()
    with app.app_context():
        hk = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hk-bremen"))
        first = claims.claim("dead-worker", 3, settings)
        assert len(first) == 3
        db.session.execute(update(Delivery).where(Delivery.locked_by == "dead-worker")
                           .values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        claimed = claims.claim("w2", 10, settings, default_slots=4)
        assert len(claimed) == 4 and {c.chamber_id for c in claimed} == {hk}
