"""Claiming due deliveries and holding them: leases, heartbeat, hand-back.

A claim moves due rows to ``sending`` under this worker's lease (``locked_by``,
``locked_until``) and counts the attempt; the heartbeat extends the leases of what the worker
still holds; a row whose lease ran out is due again and any worker takes it over. Every write
here is limited to rows this worker still holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from ..bodies.models import Chamber
from ..common import dbclock
from ..config import DeliverySettings
from ..extensions import db, rowcount, table_of
from . import pg
from .jobs import Job, attachments_of, job_from_row, messages_of, read_jobs
from .models import Delivery
from .states import MACHINE, DeliveryState

_D, _C = table_of(Delivery), table_of(Chamber)

#: a due row: pending and its time has come, or sending with a lease that ran out (worker died)
_CLAIMABLE = MACHINE.edges((DeliveryState.PENDING, DeliveryState.SENDING), DeliveryState.SENDING)
#: a claimed row handed back unsent or with its send abandoned
_HAND_BACK = MACHINE.edges((DeliveryState.SENDING,), DeliveryState.PENDING)


@dataclass(frozen=True)
class Claim:
    id: uuid.UUID
    chamber_id: int
    job: Job  #: what the send needs, read in the claim's transaction


def _row_due(now: datetime) -> Any:
    """Deliveries to a disabled chamber are never claimed: they wait without spending attempts."""
    return or_(
        and_(_D.c.state == _CLAIMABLE[0], _D.c.next_attempt_at <= now),
        and_(_D.c.state == _CLAIMABLE[1], _D.c.locked_until < now),
    )


def claim(worker_id: str, capacity: int, settings: DeliverySettings,
          chamber_slots: Mapping[int, int] | None = None, default_slots: int | None = None,
          probe_chambers: Collection[int] = ()) -> list[Claim]:
    """Lease up to ``capacity`` due deliveries to ``worker_id``, count the attempt, read their jobs; commits.

    How many rows of one chamber may be taken now (the worker's free per-chamber slots; 0 skips
    the chamber, e.g. while its circuit breaker is open): ``chamber_slots[chamber_id]``, else
    ``default_slots`` (default: ``capacity``). Rows are taken per chamber, oldest
    ``next_attempt_at`` first, so a backlog at one chamber never hides another chamber's due rows.
    For the chambers in ``probe_chambers`` (a half-open circuit breaker) the most-tried due rows
    come first (then the oldest): a row that has already been tried has the best chance to get
    through a receiver that fails first attempts.
    On PostgreSQL each chamber's rows are picked with ``FOR UPDATE SKIP LOCKED`` (``pg.CLAIM``):
    concurrent workers never claim the same row and never wait for each other. SQLite runs one
    worker and needs no row locks.
    "Due" and the lease's end (``locked_until`` = now + ``lease_seconds``) are reckoned from the
    database's clock (``common.dbclock``), so a worker whose own clock is off neither takes over a
    live lease nor writes a lease that has already run out.
    """
    if capacity <= 0:
        return []
    default_k = max(0, min(capacity, capacity if default_slots is None else default_slots))
    overrides = {cid: max(0, min(capacity, k)) for cid, k in (chamber_slots or {}).items()}
    probes = set(probe_chambers)
    if pg.is_postgres():
        return _claim_pg(worker_id, capacity, settings, overrides, default_k, probes)
    return _claim_generic(worker_id, capacity, settings, overrides, default_k, probes, dbclock.now())


def _claim_pg(worker_id: str, capacity: int, settings: DeliverySettings, overrides: dict[int, int],
              default_k: int, probes: set[int]) -> list[Claim]:
    pg.relax_commit(settings)
    rows = db.session.execute(pg.CLAIM, {
        **pg.STATE_PARAMS,
        "chamber_ids": list(overrides), "ks": list(overrides.values()), "default_k": default_k,
        "probe_ids": sorted(probes),
        "capacity": capacity, "worker": worker_id, "lease": timedelta(seconds=settings.lease_seconds),
    }).all()
    files = attachments_of(r.filing_id for r in rows if r.has_files and r.message_id is None)
    messages = messages_of(rows)
    db.session.commit()
    return [Claim(r.id, r.chamber_id, job_from_row(r, files, messages)) for r in rows]


def _claim_generic(worker_id: str, capacity: int, settings: DeliverySettings, overrides: dict[int, int],
                   default_k: int, probes: set[int], now: datetime) -> list[Claim]:
    enabled: Sequence[int] = db.session.scalars(select(_C.c.id).where(_C.c.enabled.is_(True))).all()
    limit_of = {cid: overrides.get(cid, default_k) for cid in enabled}
    limit_of = {cid: k for cid, k in limit_of.items() if k > 0}
    if not limit_of:
        db.session.rollback()
        return []
    # the same order as ``pg.CLAIM``: a probing chamber's most-tried rows first, else the oldest
    most_tried_first = case((_D.c.chamber_id.in_(list(probes)), -_D.c.attempts), else_=0)
    rank = func.row_number().over(partition_by=_D.c.chamber_id,
                                  order_by=(most_tried_first, _D.c.next_attempt_at))
    ranked = (
        select(_D.c.id, _D.c.chamber_id, _D.c.next_attempt_at, rank.label("rank"))
        .where(_D.c.chamber_id.in_(list(limit_of)), _row_due(now))
        .subquery()
    )
    rows = [
        r for r in db.session.execute(
            select(ranked.c.id, ranked.c.chamber_id, ranked.c.rank)
            .where(ranked.c.rank <= max(limit_of.values()))
            .order_by(ranked.c.next_attempt_at)
        ).all()
        if r.rank <= limit_of[r.chamber_id]
    ][:capacity]
    if not rows:
        db.session.rollback()
        return []
    ids = [r.id for r in rows]
    db.session.execute(
        _D.update()
        .where(_D.c.id.in_(ids), _row_due(now))
        .values(state=DeliveryState.SENDING, locked_by=worker_id,
                locked_until=now + timedelta(seconds=settings.lease_seconds), attempts=_D.c.attempts + 1)
    )
    mine: set[uuid.UUID] = set(db.session.scalars(
        select(_D.c.id).where(_D.c.id.in_(ids), _D.c.locked_by == worker_id, _D.c.state == DeliveryState.SENDING)
    ))
    jobs = read_jobs([i for i in ids if i in mine])
    db.session.commit()
    return [Claim(r.id, r.chamber_id, jobs[r.id]) for r in rows if r.id in jobs]


def renew_leases(delivery_ids: Iterable[uuid.UUID], worker_id: str, settings: DeliverySettings) -> int:
    """Heartbeat: extend this worker's leases on deliveries still being sent to the database's
    now + the lease. Commits."""
    ids = list(delivery_ids)
    if not ids:
        return 0
    pg.relax_commit(settings)
    result = db.session.execute(
        _D.update()
        .where(_D.c.id.in_(ids), _D.c.locked_by == worker_id, _D.c.state == DeliveryState.SENDING)
        .values(locked_until=dbclock.now_sql(timedelta(seconds=settings.lease_seconds)))
    )
    db.session.commit()
    return rowcount(result)


def save_progress(delivery_id: uuid.UUID, worker_id: str, progress: Mapping[str, Any]) -> bool:
    """Record an adapter's progress on a delivery this worker is sending; ``False`` if it no longer
    holds it (the lease was taken over or handed back), and then nothing is written.

    Called from a sender thread during the send (``chambers.base.Progress.record``), in its own
    short transaction on its own connection, committed before it returns: a takeover reads it.
    """
    with Session(db.engine) as session:
        result = session.execute(
            _D.update()
            .where(_D.c.id == delivery_id, _D.c.locked_by == worker_id, _D.c.state == DeliveryState.SENDING)
            .values(progress=dict(progress))
        )
        session.commit()
        return rowcount(result) == 1


def _hand_back(delivery_ids: list[uuid.UUID], worker_id: str, **values: Any) -> int:
    """Make this worker's claimed rows pending again (only rows it still holds); commits."""
    if not delivery_ids:
        return 0
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.locked_by == worker_id, Delivery.state.in_(_HAND_BACK))
        .values(state=DeliveryState.PENDING, locked_by=None, locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rowcount(result)


def release(delivery_ids: list[uuid.UUID], worker_id: str) -> int:
    """Give claimed but unattempted deliveries back (shutdown); due at once, attempt uncounted."""
    return _hand_back(delivery_ids, worker_id, attempts=Delivery.attempts - 1)


def abandon(delivery_ids: list[uuid.UUID], worker_id: str) -> int:
    """Give back deliveries whose send is still running when the worker must exit; due at once.

    The attempt counts (the receiver may have got the filing; the retry carries the same
    idempotency key). The running send can no longer write its outcome: the lease is gone.
    """
    return _hand_back(delivery_ids, worker_id, next_attempt_at=dbclock.now_sql(),
                      last_error="worker shut down while the send was in flight; retried with the same id")
