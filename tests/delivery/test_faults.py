"""Fault tests on PostgreSQL with the reference receivers and real worker processes.

Each test says which fault it injects; every one ends with the filing delivered exactly once at
the receiver (counted per ``Idempotency-Key``) or dead with the reason, never lost or duplicated.
"""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bizportal.bodies.models import Chamber
from bizportal.delivery import queries
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing, FilingEvent
from bizportal.stats.models import StatCounter
from tests.support.adapters import webhook_options
from tests.support.clock import database_now
from tests.support.factories import (
    bulk_filings,
    delivery_of,
    make_due,
    make_filing,
    set_adapter,
    state_counts,
    wait_for,
)
from tests.support.receivers.counting import counting_receiver, settled_arrivals
from tests.support.receivers.loopback import closed_port
from tests.support.workers import CHAMBER_SLOTS

pytestmark = pytest.mark.postgres_only


def one_copy_each(server, n: int) -> None:
    """The receiver holds exactly ``n`` filings, one per idempotency key."""
    assert len(server.state.stored) == n
    assert set(server.state.stored) <= set(server.per_key)


def delivered_count(app) -> int:
    return state_counts(app).get(DeliveryState.DELIVERED, 0)


# --- one receiver misbehaving ------------------------------------------------------------------------

def test_receiver_refusing_connections_gets_the_filing_when_it_is_back(app):
    port = closed_port()
    set_adapter(app, "hk-bremen", "webhook", webhook_options(f"http://127.0.0.1:{port}/filings"))
    filing_id = make_filing(app)
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.PENDING and "connection failed" in d.last_error
    with counting_receiver(port) as (_, server):
        make_due(app)
        Worker(app).run_once()
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.DELIVERED and d.attempts == 2
        one_copy_each(server, 1)
        assert server.per_key == {str(d.id): 1}


def test_receiver_slower_than_the_timeout_is_retried_and_keeps_one_copy(app):
    with counting_receiver() as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url, timeout_seconds=1))
        server.state.fault, server.state.slow_seconds = "slow", 2.0
        filing_id = make_filing(app)
        Worker(app).run_once()
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.PENDING and "no answer within 1 s" in d.last_error
        wait_for(lambda: len(server.state.stored) == 1, what="the slow receiver to store it")
        server.state.fault = None
        make_due(app)
        Worker(app).run_once()
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.DELIVERED and d.attempts == 2
        one_copy_each(server, 1)
        assert server.per_key[str(d.id)] == 2  # the retry was answered 409: already there


def test_500_then_200(app):
    with counting_receiver() as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url))
        server.state.fault = "500-once"
        filing_id = make_filing(app)
        Worker(app).run_once()
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.PENDING and "HTTP 500" in d.last_error
        make_due(app)
        Worker(app).run_once()
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.DELIVERED and d.attempts == 2 and d.receiver_ref == "rcv-1"
        one_copy_each(server, 1)


@pytest.mark.parametrize("status", ["400", "422"])
def test_client_error_is_dead_with_the_reason_and_not_retried(app, status):
    with counting_receiver() as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url))
        server.state.fault = status
        filing_id = make_filing(app)
        Worker(app).run_once()
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.DEAD and d.attempts == 1
        assert f"HTTP {status}" in d.last_error and "data.gewerbe" in d.last_error
        make_due(app)
        assert Worker(app).run_once() == 0
        assert server.arrived == 1 and not server.state.stored


def test_lost_response_after_the_receiver_stored_it_is_deduplicated(app):
    with counting_receiver() as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url))
        server.state.fault = "drop-after-store"
        filing_id = make_filing(app)
        Worker(app).run_once()
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.PENDING and "connection failed" in d.last_error
        one_copy_each(server, 1)  # it did arrive
        make_due(app)
        Worker(app).run_once()
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.DELIVERED and d.attempts == 2 and d.receiver_ref == "rcv-1"
        one_copy_each(server, 1)
        assert server.per_key[str(d.id)] == 2


# --- chambers isolated from each other -------------------------------------------------------------

def test_hanging_chamber_does_not_hold_up_another(make_app, run_worker):
    app = make_app(WORKER_THREADS=4, DELIVERY_CHAMBER_CONCURRENCY=2, WORKER_POLL_SECONDS=0.1)
    with counting_receiver(gate_open=False) as (url_a, a), counting_receiver() as (url_b, b):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url_a, timeout_seconds=60))
        set_adapter(app, "hwk-bremen", "webhook", webhook_options(url_b))
        slow = bulk_filings(app, 10, ["hk-bremen"])
        fast = bulk_filings(app, 40, ["hwk-bremen"])
        run_worker(app)
        wait_for(lambda: len(b.state.stored) == len(fast), what="chamber B's filings")
        assert a.arrived == 2  # A's receiver hangs; it holds only A's two slots
        a.gate.set()
        wait_for(lambda: delivered_count(app) == len(slow) + len(fast), what="all filings")
        one_copy_each(a, len(slow))
        assert all(n == 1 for n in a.per_key.values()) and all(n == 1 for n in b.per_key.values())


def test_chamber_down_opens_its_breaker_while_another_keeps_flowing(make_app, run_worker):
    app = make_app(WORKER_POLL_SECONDS=0.1, DELIVERY_BACKOFF_BASE_SECONDS=0.05, DELIVERY_BREAKER_THRESHOLD=3,
                   DELIVERY_BREAKER_COOLDOWN_SECONDS=0.5, DELIVERY_BREAKER_MAX_COOLDOWN_SECONDS=1)
    port = closed_port()
    with counting_receiver() as (url_b, b):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(f"http://127.0.0.1:{port}/filings"))
        set_adapter(app, "hwk-bremen", "webhook", webhook_options(url_b))
        down = bulk_filings(app, 20, ["hk-bremen"])
        fast = bulk_filings(app, 40, ["hwk-bremen"])
        worker = run_worker(app)
        wait_for(lambda: len(b.state.stored) == len(fast), what="chamber B's filings")
        with app.app_context():
            hk = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hk-bremen"))
            spent = db.session.scalar(select(func.sum(Delivery.attempts)).where(Delivery.chamber_id == hk))
        assert worker.breakers.is_open(hk)
        assert spent < 3 * len(down)  # the breaker stops burning attempts against a dead receiver
        # A comes back on the same address: after the cooldown a probe finds it, the rest follow.
        with counting_receiver(port) as (_, a):
            make_due(app)
            wait_for(lambda: delivered_count(app) == len(down) + len(fast), what="A's backlog")
            one_copy_each(a, len(down))
        assert not worker.breakers.is_open(hk)


# --- worker processes ------------------------------------------------------------------------------

def _delivered_per_chamber_counter(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.sum(StatCounter.count), 0))
                                 .where(StatCounter.metric == "delivered_per_chamber"))


def test_sigkilled_worker_loses_nothing_and_duplicates_nothing(app, worker_processes):
    with counting_receiver(gate_open=False) as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url, timeout_seconds=30))
        ids = bulk_filings(app, 10, ["hk-bremen"], spread=timedelta(minutes=10))  # rows apart in time
        victim = worker_processes(DELIVERY_LEASE_SECONDS=2)
        in_flight = settled_arrivals(server, at_least=CHAMBER_SLOTS)
        assert in_flight == CHAMBER_SLOTS
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        assert state_counts(app) == {"sending": in_flight, "pending": 10 - in_flight}
        server.gate.set()  # the killed worker's requests arrive in full: the receiver stores them
        wait_for(lambda: len(server.state.stored) == in_flight, what="the orphaned requests")
        worker_processes(DELIVERY_LEASE_SECONDS=2)
        wait_for(lambda: delivered_count(app) == 10, timeout=60, what="delivery after the lease")
        one_copy_each(server, 10)
        retried = {k for k, n in server.per_key.items() if n > 1}
        assert len(retried) == in_flight and all(server.per_key[k] == 2 for k in retried)  # answered 409
        with app.app_context():
            rows = list(db.session.scalars(select(Delivery).where(Delivery.filing_id.in_(ids))))
            assert sorted(d.attempts for d in rows) == [1] * (10 - in_flight) + [2] * in_flight
            assert {str(d.id) for d in rows if d.attempts == 2} == retried
            assert all(d.locked_by is None for d in rows)
            assert db.session.scalar(select(func.count()).select_from(Filing).where(
                Filing.id.in_(ids), Filing.status == "forwarded")) == 10
        assert _delivered_per_chamber_counter(app) == 10  # bookkeeping exactly once, too


def test_sigterm_lets_the_sends_in_flight_finish(app, worker_processes):
    with counting_receiver(gate_open=False) as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url, timeout_seconds=30))
        bulk_filings(app, 12, ["hk-bremen"])
        proc = worker_processes()
        in_flight = settled_arrivals(server, at_least=CHAMBER_SLOTS)
        assert in_flight == CHAMBER_SLOTS
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proc.poll() is None  # still waiting for its sends
        server.gate.set()
        assert proc.wait(30) == 0
        assert state_counts(app) == {"delivered": in_flight, "pending": 12 - in_flight}
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Delivery)
                                     .where(Delivery.locked_by.isnot(None))) == 0
            assert db.session.scalar(select(func.sum(Delivery.attempts))) == in_flight


@pytest.mark.parametrize("workers", [2, 4])
def test_several_workers_drain_1000_filings_exactly_once(app, worker_processes, workers):
    n = 1000
    with counting_receiver() as (url, server):
        for slug in ("hk-bremen", "hwk-bremen"):
            set_adapter(app, slug, "webhook", webhook_options(url))
        ids = bulk_filings(app, n, ["hk-bremen", "hwk-bremen"])
        procs = [worker_processes(WORKER_POLL_SECONDS=0.1) for _ in range(workers)]
        wait_for(lambda: delivered_count(app) == n, timeout=150, interval=0.2, what=f"{n} deliveries")
        assert all(p.poll() is None for p in procs)
        one_copy_each(server, n)
        assert len(server.per_key) == n and set(server.per_key.values()) == {1}  # nobody sent twice
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.attempts != 1)) == 0
            workers_used = db.session.scalar(select(func.count(func.distinct(Delivery.locked_by))))
            assert workers_used == 0  # every lease released
            assert db.session.scalar(select(func.count()).select_from(Filing).where(
                Filing.id.in_(ids), Filing.status == "forwarded")) == n
        assert _delivered_per_chamber_counter(app) == n


# --- a worker whose clock is off ------------------------------------------------------------------

@pytest.mark.parametrize("skew", [+30, -30])
def test_worker_with_a_skewed_clock_sends_nothing_twice_and_writes_no_future_times(app, worker_processes, skew):
    """Two worker processes, one on time and one whose clock runs 30 s ahead or behind
    (libfaketime), with 10 s leases and a receiver that answers after 0.2 s, so that each worker
    always has sends in flight. Ahead, the skewed worker would see the other's live leases as run
    out; behind, it would write leases that have already run out. Leases and times come from the
    database: every filing is sent once and no time lies in the future."""
    n = 400
    with counting_receiver() as (url, server):
        for slug in ("hk-bremen", "hwk-bremen"):
            set_adapter(app, slug, "webhook", webhook_options(url))
        server.state.fault, server.state.slow_seconds = "slow", 0.2
        ids = bulk_filings(app, n, ["hk-bremen", "hwk-bremen"], spread=timedelta(minutes=10))
        started = database_now(app)
        procs = [worker_processes(clock_offset=offset, WORKER_POLL_SECONDS=0.1, DELIVERY_LEASE_SECONDS=10)
                 for offset in (0, skew)]
        wait_for(lambda: delivered_count(app) == n, timeout=120, interval=0.2, what=f"{n} deliveries")
        ended = database_now(app)
        assert all(p.poll() is None for p in procs)
        one_copy_each(server, n)
        assert set(server.per_key.values()) == {1}  # nobody sent a filing twice
        with app.app_context():
            rows = list(db.session.scalars(select(Delivery).where(Delivery.filing_id.in_(ids))))
            assert {d.attempts for d in rows} == {1}
            assert all(started <= d.delivered_at <= ended for d in rows)
            forwarded = list(db.session.scalars(select(FilingEvent.occurred_at).where(
                FilingEvent.filing_id.in_(ids), FilingEvent.kind == "forwarded")))
            assert len(forwarded) == n and all(started <= at <= ended for at in forwarded)


# --- the circuit breaker at receivers that fail first attempts, and at receivers that are down -----

#: production threshold and per-chamber concurrency; cooldowns and backoff shortened for the test
BREAKER = dict(WORKER_POLL_SECONDS=0.1, DELIVERY_BREAKER_THRESHOLD=5, DELIVERY_CHAMBER_CONCURRENCY=4,
               DELIVERY_BREAKER_COOLDOWN_SECONDS=1, DELIVERY_BREAKER_MAX_COOLDOWN_SECONDS=8,
               DELIVERY_BACKOFF_BASE_SECONDS=0.5)


def _wait_started(procs, timeout: float = 120.0) -> None:
    """Until every worker process has logged its start (its imports and first connection can take
    seconds when the machine is busy)."""
    deadline = time.monotonic() + timeout
    while not all(any(what == "started" for _, what in _breaker_history(p)) for p in procs):
        assert all(p.poll() is None for p in procs), "a worker process ended before it started"
        assert time.monotonic() < deadline, f"the workers did not start within {timeout:.0f} s"
        time.sleep(0.1)


def _breaker_tripped(procs) -> bool:
    return any("circuit breaker for chamber" in Path(p.log_path).read_text() for p in procs)


_BREAKER_LINE = re.compile(r"^(\S+ \S+) \w+ bizportal\.delivery\.(?:breaker: circuit breaker for chamber \d+ "
                           r"(open|closed)|worker: delivery worker \S+ (started))", re.MULTILINE)


def _breaker_history(proc) -> list[tuple[float, str]]:
    """(wall-clock time, "started", "open" or "closed"): the worker's start and each change of its
    breakers, from its log."""
    return [(datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f").timestamp(), change or start)
            for at, change, start in _BREAKER_LINE.findall(Path(proc.log_path).read_text())]


@pytest.mark.parametrize(("fault", "sends_each"), [("500-twice-each", 3), ("drop-after-store-each", 2)])
def test_receiver_that_fails_each_filings_first_attempts_drains_with_the_breaker_on(
        app, worker_processes, fault, sends_each):
    """500 twice per filing, then 200; or stored and the line dropped (a proxy's 504), then 409.

    The breaker trips on the backlog's first attempts (nothing is known about the receiver yet);
    its probes take the most-tried row, so after a few probes (cooldowns 1, 2, 4 s) a row gets
    through, and from then on attempts below the depth the receiver needs do not count: every
    worker's breaker that opened closes again and never re-opens, and the drain is bounded by
    the retries' backoffs (0.5 s + 1 s) and the sends themselves (~3,000 requests over 16 slots),
    not by cooldowns. (Before the fix the probes took never-tried rows, failed, and the breakers
    stayed open: nothing drained.) How long it takes depends on the machine's load (measured in
    docs/benchmarks.md); the deadline below only ends a hung test.
    """
    n, workers, deadline = 1000, 4, 180.0
    with counting_receiver() as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url))
        server.state.fault = fault
        ids = bulk_filings(app, n, ["hk-bremen"], spread=timedelta(minutes=10))
        started, wall_start = time.monotonic(), time.time()
        procs = [worker_processes(**BREAKER) for _ in range(workers)]
        wait_for(lambda: delivered_count(app) == n, timeout=deadline, interval=0.2, what=f"{n} deliveries")
        took = time.monotonic() - started
        assert _breaker_tripped(procs)  # the breaker was on and did open on the first attempts
        histories = [_breaker_history(p) for p in procs]
        for history in histories:  # opened (or never), then closed for good: no cooldown after the first success
            changes = [change for _, change in history if change != "started"]
            assert changes == [] or (changes[-1] == "closed" and changes.count("closed") == 1), changes
        one_copy_each(server, n)
        assert min(server.per_key.values()) == sends_each
        with app.app_context():
            rows = list(db.session.scalars(select(Delivery).where(Delivery.filing_id.in_(ids))))
            assert all(d.state == DeliveryState.DELIVERED for d in rows)
            assert {str(d.id): d.attempts for d in rows} == server.per_key  # every attempt arrived once
        up = [h[0][0] - wall_start for h in histories]  # each worker's first line is its start
        closed = [h[-1][0] - h[0][0] for h in histories if h[-1][1] == "closed"]
        print(f"{fault}: {n} filings in {took:.1f} s ({took - max(up):.1f} s after the last worker was up), "
              f"{sum(server.per_key.values())} requests, load average {os.getloadavg()[0]:.1f}; workers up after "
              f"{min(up):.1f}-{max(up):.1f} s, their breakers closed for good "
              f"{min(closed, default=0):.1f}-{max(closed, default=0):.1f} s after their start")


@pytest.mark.parametrize("fault", ["refused", "500"])
def test_receiver_down_for_good_trips_the_breaker_and_is_not_hammered(app, worker_processes, fault):
    """Per worker: at most ``threshold`` failures plus the sends already in flight, then one probe
    per cooldown (1, 2, 4, 8 s: four probes in 10 s), although 1,000 filings are due."""
    n, workers, watch = 1000, 4, 10.0
    with counting_receiver() as (url, server):
        if fault == "refused":
            url = f"http://127.0.0.1:{closed_port()}/filings"
        server.state.fault = fault
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url))
        bulk_filings(app, n, ["hk-bremen"], spread=timedelta(minutes=10))
        procs = [worker_processes(**BREAKER) for _ in range(workers)]
        _wait_started(procs)  # the watch starts with the workers, not with their imports on a busy machine
        time.sleep(watch)
        assert all(p.poll() is None for p in procs) and _breaker_tripped(procs)
        # Stop the workers (SIGTERM: a probe in flight finishes and is recorded) before counting.
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
        with app.app_context():
            spent = db.session.scalar(select(func.sum(Delivery.attempts)))
        assert 5 <= spent <= workers * (5 + 4 + 4)
        if fault == "500":
            assert server.arrived == spent
        assert state_counts(app) == {"pending": n}  # nothing burnt its attempt budget


# --- a receiver slower than the answer timeout ---------------------------------------------------

def test_receiver_slower_than_the_timeout_that_stores_first_drains_with_longer_timeouts(app, worker_processes):
    """The issue's fault matrix, shortened: a 1 s timeout against answers after 1.5 s (each filing
    stored at once, deduplicated on Idempotency-Key), cap 4 s, one attempt allowed for refusals,
    4 worker processes with the production breaker threshold. The first send of each filing gets no
    answer, the second waits 2 s and gets 409: every filing ends delivered, none dead, each stored
    once, and the breaker never trips (a slow receiver is not a receiver that is down). The
    workers' published answer times name the timeouts. 48 filings × 2.5 s over 16 slots: ~8 s
    plus the workers' start."""
    n, workers = 48, 4
    with counting_receiver() as (url, server):
        server.state.fault, server.state.slow_seconds = "store-then-slow", 1.5
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url, timeout_seconds=1))
        ids = bulk_filings(app, n, ["hk-bremen"], spread=timedelta(minutes=10))
        procs = [worker_processes(**BREAKER, DELIVERY_MAX_ATTEMPTS=1, DELIVERY_TIMEOUT_CAP_SECONDS=4,
                                  DELIVERY_TIMING_PUBLISH_SECONDS=0.2) for _ in range(workers)]
        started = time.monotonic()
        wait_for(lambda: delivered_count(app) == n, timeout=90, interval=0.2, what=f"{n} deliveries")
        print(f"slow receiver: {n} filings in {time.monotonic() - started:.1f} s")
        assert all(p.poll() is None for p in procs) and not _breaker_tripped(procs)
        one_copy_each(server, n)
        assert set(server.per_key.values()) == {2}  # no answer within 1 s, then 409 within 2 s
        with app.app_context():
            rows = list(db.session.scalars(select(Delivery).where(Delivery.filing_id.in_(ids))))
            assert {(d.state, d.attempts, d.timeouts) for d in rows} == {(DeliveryState.DELIVERED, 2, 1)}

        def published():
            with app.app_context():
                (t,) = [t for t in queries.answer_times(app.extensions["bizportal"].registry, 900)
                        if t.slug == "hk-bremen"]
                return t

        wait_for(lambda: (published().answered, published().timeouts) == (n, n), what="the published answer times")
        t = published()
        assert t.configured_timeout == 1 and t.longest_timeout == 2 and t.times_out
        assert 1.5 <= t.median_seconds <= t.p90_seconds < 2
