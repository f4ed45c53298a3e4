"""Leases and due times follow the database's clock, not the clock of the worker that writes them.

A worker whose clock runs 30 s ahead must not see another worker's live lease as run out; one
whose clock runs 30 s behind must not write a lease that has already run out; neither may write
a ``delivered_at``, a timeline entry or a retry time off by its skew. Here the worker's clock is
skewed inside this process (``utcnow`` patched); ``test_faults.py`` runs real worker processes
with skewed clocks on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bizportal.config import DeliverySettings
from bizportal.delivery import claims, queries
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import FilingEvent
from tests.support.clock import database_now, skew_clock
from tests.support.factories import bulk_filings, delivery_of, make_filing, set_adapter

LEASE = DeliverySettings(lease_seconds=10)
SKEW = 30.0


def _claim(app, worker_id: str, capacity: int = 10) -> set:
    with app.app_context():
        return {c.id for c in claims.claim(worker_id, capacity, LEASE)}


def test_worker_with_a_clock_ahead_does_not_take_over_a_live_lease(app, monkeypatch):
    bulk_filings(app, 6, ["hk-bremen", "hwk-bremen"], spread=timedelta(minutes=10))
    held = _claim(app, "on-time", capacity=3)
    assert len(held) == 3
    skew_clock(monkeypatch, +SKEW)  # the next worker's clock is 30 s ahead; the leases run 10 s
    taken = _claim(app, "ahead")
    assert len(taken) == 3 and not taken & held
    with app.app_context():
        assert set(db.session.scalars(select(Delivery.id).where(Delivery.locked_by == "on-time"))) == held


def _leases(app, ids) -> list:
    with app.app_context():
        return list(db.session.scalars(select(Delivery.locked_until).where(Delivery.id.in_(ids))))


def test_worker_with_a_clock_behind_writes_leases_that_are_live(app, monkeypatch):
    bulk_filings(app, 4, ["hk-bremen"], spread=timedelta(minutes=10))
    skew_clock(monkeypatch, -SKEW)
    before = database_now(app)
    held = _claim(app, "behind", capacity=2)
    live = before + timedelta(seconds=9)
    assert all(live < until <= database_now(app) + timedelta(seconds=10) for until in _leases(app, held))  # the claim's
    with app.app_context():  # its heartbeat, too, extends from the database's now
        assert claims.renew_leases(held, "behind", LEASE) == 2
    assert all(live < until <= database_now(app) + timedelta(seconds=10) for until in _leases(app, held))
    monkeypatch.undo()
    assert not _claim(app, "on-time") & held  # another worker leaves them alone while the lease runs


@pytest.mark.parametrize("skew", [+SKEW, -SKEW])
def test_worker_with_a_skewed_clock_writes_delivered_at_and_the_timeline_in_database_time(app, monkeypatch, skew):
    filing_id = make_filing(app)
    skew_clock(monkeypatch, skew)
    before = database_now(app)
    assert Worker(app).run_once() == 1
    after = database_now(app)
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and before <= d.delivered_at <= after
    with app.app_context():
        (forwarded,) = db.session.scalars(select(FilingEvent.occurred_at).where(
            FilingEvent.filing_id == filing_id, FilingEvent.kind == "forwarded"))
    assert before <= forwarded <= after


@pytest.mark.parametrize("skew", [+SKEW, -SKEW])
def test_retry_of_a_worker_with_a_skewed_clock_is_due_after_the_backoff_in_database_time(
        make_app, monkeypatch, skew):
    app = make_app(DELIVERY_BACKOFF_BASE_SECONDS=10)
    set_adapter(app, "hk-bremen", "flaky", {"mode": "temporary"})
    filing_id = make_filing(app)
    skew_clock(monkeypatch, skew)
    before = database_now(app)
    Worker(app).run_once()
    after = database_now(app)
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.PENDING and d.attempts == 1
    # the first backoff is 5–10 s after the outcome was written, by the database's clock
    assert before + timedelta(seconds=5) <= d.next_attempt_at <= after + timedelta(seconds=10)
    assert Worker(app).run_once() == 0  # not due yet, whatever the worker's clock says


def test_metrics_count_due_and_in_flight_by_the_database_clock(app, monkeypatch):
    bulk_filings(app, 2, ["hk-bremen"], spread=timedelta(minutes=1))
    held = _claim(app, "on-time", capacity=1)
    skew_clock(monkeypatch, +SKEW)
    with app.app_context():
        (hk,) = [m for m in queries.chamber_metrics() if m.slug == "hk-bremen"]
        assert db.session.get(Delivery, next(iter(held))).state == DeliveryState.SENDING
    assert (hk.due, hk.in_flight) == (1, 1)
    assert 0 < hk.oldest_due_seconds < 60 + 5  # the row spread one minute back, not 30 s more
