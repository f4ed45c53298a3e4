"""Every delivery state change happens here: claim, send, success, failure, re-send, release.

State machine: pending → sending → delivered (→ accepted | rejected through chamber events);
a temporary failure goes back to pending with a backoff until the attempt cap, then dead;
a permanent failure is dead at once. See docs/architecture.md, "Delivery state machine".
"""

from __future__ import annotations

import logging
import random
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, or_, select, text, update

from chambers.base import (
    AdapterError,
    Attachment,
    DeliveryResult,
    FilingPayload,
    PermanentFailure,
    TemporaryFailure,
)
from chambers.registry import AdapterRegistry, UnknownAdapter

from ..catalog.models import ServiceDefinition
from ..common.time import utcnow
from ..extensions import db
from ..filings.models import Attachment as FilingAttachment
from ..filings.models import Filing, FilingEvent, FilingStatus
from ..stats import services as stats
from .models import Chamber, Delivery, DeliveryState

log = logging.getLogger(__name__)

# The hot path uses Core statements on the tables: the ORM's unit of work and bulk-update
# machinery cost more CPU than the database round trips they issue.
_D, _F, _C = Delivery.__table__, Filing.__table__, Chamber.__table__
_E, _A = FilingEvent.__table__, FilingAttachment.__table__


@dataclass(frozen=True)
class DeliverySettings:
    max_attempts: int = 12
    lease_seconds: int = 120
    backoff_base: float = 30.0
    backoff_max: float = 6 * 3600.0

    @classmethod
    def from_config(cls, cfg) -> DeliverySettings:
        return cls(
            max_attempts=int(cfg.get("DELIVERY_MAX_ATTEMPTS", cls.max_attempts)),
            lease_seconds=int(cfg.get("DELIVERY_LEASE_SECONDS", cls.lease_seconds)),
            backoff_base=float(cfg.get("DELIVERY_BACKOFF_BASE_SECONDS", cls.backoff_base)),
            backoff_max=float(cfg.get("DELIVERY_BACKOFF_MAX_SECONDS", cls.backoff_max)),
        )


def _row_due(now):
    """Due: pending and its time has come, or sending with a lease that ran out (worker died).

    (Deliveries to a disabled chamber are never claimed: they wait without spending attempts.)
    """
    return or_(
        and_(_D.c.state == DeliveryState.PENDING, _D.c.next_attempt_at <= now),
        and_(_D.c.state == DeliveryState.SENDING, _D.c.locked_until < now),
    )


# --- claiming -----------------------------------------------------------------------------------

#: One round trip claims and reads: per enabled chamber the oldest due rows (at most ``k`` of
#: each: the override from ``:chamber_ids``/``:ks``, else ``:default_k``), skipping rows other
#: workers are claiming right now; leases them; returns what the sends need. A constant
#: statement, so PostgreSQL parses and plans it once per connection.
_CLAIM_PG = text("""
    WITH slots AS (
        SELECT c.id AS chamber_id, COALESCE(o.k, :default_k) AS k
        FROM chamber AS c
        LEFT JOIN unnest(CAST(:chamber_ids AS INTEGER[]), CAST(:ks AS INTEGER[])) AS o(chamber_id, k)
               ON o.chamber_id = c.id
        WHERE c.enabled
    ), picked AS (
        -- Per chamber: two ordered probes (due pending rows; rows whose lease ran out), each an
        -- index range scan on (chamber_id, state, next_attempt_at) that stops after k rows, then
        -- at most k of both together, so a chamber never gets more than its free slots.
        SELECT u.id, u.next_attempt_at
        FROM slots
        CROSS JOIN LATERAL (
            SELECT x.id, x.next_attempt_at FROM (
                SELECT a.id, a.next_attempt_at FROM (
                    SELECT d.id, d.next_attempt_at
                    FROM delivery AS d
                    WHERE d.chamber_id = slots.chamber_id AND d.state = 'pending' AND d.next_attempt_at <= :now
                    ORDER BY d.next_attempt_at
                    LIMIT GREATEST(slots.k, 0)
                    FOR UPDATE SKIP LOCKED
                ) AS a
                UNION ALL
                SELECT b.id, b.next_attempt_at FROM (
                    SELECT d.id, d.next_attempt_at
                    FROM delivery AS d
                    WHERE d.chamber_id = slots.chamber_id AND d.state = 'sending' AND d.locked_until < :now
                    ORDER BY d.next_attempt_at
                    LIMIT GREATEST(slots.k, 0)
                    FOR UPDATE SKIP LOCKED
                ) AS b
            ) AS x
            ORDER BY x.next_attempt_at
            LIMIT GREATEST(slots.k, 0)
        ) AS u
        ORDER BY u.next_attempt_at
        LIMIT :capacity
    ), claimed AS (
        UPDATE delivery AS d
        SET state = 'sending', locked_by = :worker, locked_until = :until, attempts = d.attempts + 1
        FROM picked
        WHERE d.id = picked.id
        RETURNING d.id, d.attempts, d.role, d.filing_id, d.chamber_id, picked.next_attempt_at AS due_at
    )
    SELECT claimed.id, claimed.attempts, claimed.role, claimed.filing_id, f.reference, f.service_key,
           f.company_snapshot, f.submitted_at, f.data, ch.id AS chamber_id, ch.slug, ch.enabled,
           ch.adapter_key, ch.options, EXISTS (SELECT 1 FROM attachment AS a WHERE a.filing_id = f.id) AS has_files
    FROM claimed
    JOIN filing AS f ON f.id = claimed.filing_id
    JOIN chamber AS ch ON ch.id = claimed.chamber_id
    ORDER BY claimed.due_at
""").columns(
    id=Delivery.__table__.c.id.type,
    company_snapshot=Filing.__table__.c.company_snapshot.type,
    submitted_at=Filing.__table__.c.submitted_at.type,
    data=Filing.__table__.c.data.type,
    options=Chamber.__table__.c.options.type,
)


@dataclass(frozen=True)
class Claim:
    id: uuid.UUID
    chamber_id: int
    job: "Job | None" = None  #: what the send needs, read in the claim's transaction


def claim(
    worker_id: str,
    capacity: int,
    settings: DeliverySettings,
    chamber_slots: Callable[[int], int] | Mapping[int, int] | None = None,
    default_slots: int | None = None,
    with_jobs: bool = False,
) -> list[Claim]:
    """Lease up to ``capacity`` due deliveries to ``worker_id``, counting the attempt; commits.

    How many rows of one chamber may be taken now (the worker's free per-chamber slots; 0 skips
    the chamber, e.g. while its circuit breaker is open): ``chamber_slots[chamber_id]``, else
    ``default_slots`` (default: ``capacity``); ``chamber_slots`` may also be a function of the
    chamber id. Rows are taken per chamber, oldest ``next_attempt_at`` first, so a backlog at one
    chamber never hides another chamber's due rows. On PostgreSQL each chamber's rows are picked
    in a ``LATERAL`` subquery with ``FOR UPDATE SKIP LOCKED`` (``_CLAIM_PG``): concurrent workers
    never claim the same row and never wait for each other; the same statement leases them and
    reads what their sends need (``Claim.job``). SQLite runs one worker and needs no row locks;
    there the jobs are read only ``with_jobs``.
    """
    if capacity <= 0:
        return []
    now = utcnow()
    default_k = capacity if default_slots is None else default_slots
    if callable(chamber_slots):
        enabled = db.session.scalars(select(_C.c.id).where(_C.c.enabled.is_(True))).all()
        overrides = {cid: chamber_slots(cid) for cid in enabled}
    else:
        overrides = dict(chamber_slots or {})
    overrides = {cid: max(0, min(capacity, k)) for cid, k in overrides.items()}
    default_k = max(0, min(capacity, default_k))
    if db.session.get_bind().dialect.name == "postgresql":
        claims = _claim_pg(worker_id, capacity, settings, overrides, default_k, now)
    else:
        claims = _claim_generic(worker_id, capacity, settings, overrides, default_k, now, with_jobs)
    return claims


def _claim_pg(worker_id, capacity, settings, overrides, default_k, now) -> list[Claim]:
    _relax_commit()
    rows = db.session.execute(_CLAIM_PG, {
        "chamber_ids": list(overrides), "ks": list(overrides.values()), "default_k": default_k,
        "now": now, "capacity": capacity, "worker": worker_id,
        "until": now + timedelta(seconds=settings.lease_seconds),
    }).all()
    files = _attachments({r.filing_id for r in rows if r.has_files})
    db.session.commit()
    return [Claim(r.id, r.chamber_id, _job(r, files)) for r in rows]


def _claim_generic(worker_id, capacity, settings, overrides, default_k, now, with_jobs) -> list[Claim]:
    enabled = db.session.scalars(select(_C.c.id).where(_C.c.enabled.is_(True))).all()
    limit_of = {cid: overrides.get(cid, default_k) for cid in enabled}
    limit_of = {cid: k for cid, k in limit_of.items() if k > 0}
    if not limit_of:
        db.session.rollback()
        return []
    rank = func.row_number().over(partition_by=_D.c.chamber_id, order_by=_D.c.next_attempt_at)
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
    result = db.session.execute(
        _D.update()
        .where(_D.c.id.in_(ids), _row_due(now))
        .values(
            state=DeliveryState.SENDING,
            locked_by=worker_id,
            locked_until=now + timedelta(seconds=settings.lease_seconds),
            attempts=_D.c.attempts + 1,
        )
    )
    jobs = _read_jobs(ids) if with_jobs else {}
    db.session.commit()
    claims = [Claim(r.id, r.chamber_id, jobs.get(r.id)) for r in rows]
    if result.rowcount != len(ids):  # another process took some in between
        mine = set(db.session.scalars(
            select(_D.c.id).where(_D.c.id.in_(ids), _D.c.locked_by == worker_id,
                                  _D.c.state == DeliveryState.SENDING)
        ))
        db.session.rollback()
        claims = [c for c in claims if c.id in mine]
    return claims


def claim_due_deliveries(worker_id: str, limit: int, settings: DeliverySettings) -> list[uuid.UUID]:
    """Lease up to ``limit`` due deliveries (no per-chamber limit); returns their ids. Commits."""
    return [c.id for c in claim(worker_id, limit, settings)]


def renew_leases(delivery_ids: Iterable[uuid.UUID], worker_id: str, settings: DeliverySettings) -> int:
    """Heartbeat: extend this worker's leases on deliveries still being sent. Commits."""
    ids = list(delivery_ids)
    if not ids:
        return 0
    _relax_commit()
    result = db.session.execute(
        _D.update()
        .where(_D.c.id.in_(ids), _D.c.locked_by == worker_id, _D.c.state == DeliveryState.SENDING)
        .values(locked_until=utcnow() + timedelta(seconds=settings.lease_seconds))
    )
    db.session.commit()
    return result.rowcount


def _hand_back(delivery_ids: list[uuid.UUID], worker_id: str, **values) -> int:
    """Make this worker's claimed rows pending again (only rows it still holds); commits."""
    if not delivery_ids:
        return 0
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.locked_by == worker_id,
               Delivery.state == DeliveryState.SENDING)
        .values(state=DeliveryState.PENDING, locked_by=None, locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def release(delivery_ids: list[uuid.UUID], worker_id: str) -> int:
    """Give claimed but unattempted deliveries back (shutdown); due at once, attempt uncounted."""
    return _hand_back(delivery_ids, worker_id, attempts=Delivery.attempts - 1)


def abandon(delivery_ids: list[uuid.UUID], worker_id: str) -> int:
    """Give back deliveries whose send is still running when the worker must exit; due at once.

    The attempt counts (the receiver may have got the filing; the retry carries the same
    idempotency key). The running send can no longer write its outcome: the lease is gone.
    """
    return _hand_back(delivery_ids, worker_id, next_attempt_at=utcnow(),
                      last_error="worker shut down while the send was in flight; retried with the same id")


# --- sending ------------------------------------------------------------------------------------

def build_payload(delivery: Delivery, service: ServiceDefinition | None, storage=None) -> FilingPayload:
    """The payload the worker sends for ``delivery`` (read afresh; same mapping as the worker's)."""
    job = _read_jobs([delivery.id])[delivery.id]
    return _payload(job, {job.service_key: service} if service else {}, storage)


def backoff_delay(attempts: int, settings: DeliverySettings) -> timedelta:
    """Exponential backoff with jitter: between half and all of base·2^(attempts−1), capped."""
    delay = min(settings.backoff_max, settings.backoff_base * (2 ** max(attempts - 1, 0)))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


@dataclass(frozen=True)
class _Target:
    """What a send needs of the chamber, copied so no ORM object outlives the transaction."""

    chamber_id: int
    slug: str
    enabled: bool
    adapter_key: str
    options: dict


@dataclass(frozen=True)
class Outcome:
    """What one send did: the new state (or ``"lost"``) and whether the receiver failed for now."""

    state: str
    chamber_id: int | None = None
    temporary: bool = False  #: a temporary failure: counts towards the chamber's circuit breaker


@dataclass(frozen=True)
class Job:
    """What one send needs, read as plain data in the claim's transaction."""

    delivery_id: uuid.UUID
    attempts: int
    filing_id: int
    role: str
    reference: str
    service_key: str
    company: dict
    submitted_at: object
    data: dict
    target: _Target
    attachments: tuple = ()  #: rows (id, original_name, media_type, size, sha256, storage_key, field_name)


def _attachments(filing_ids: set[int]) -> dict[int, list]:
    found: dict[int, list] = {}
    if not filing_ids:
        return found
    for a in db.session.execute(
        select(_A.c.filing_id, _A.c.id, _A.c.original_name, _A.c.media_type, _A.c.size, _A.c.sha256,
               _A.c.storage_key, _A.c.field_name)
        .where(_A.c.filing_id.in_(filing_ids))
        .order_by(_A.c.filing_id, _A.c.created_at)
    ):
        found.setdefault(a.filing_id, []).append(a)
    return found


def _job(r, files: dict[int, list]) -> Job:
    return Job(r.id, r.attempts, r.filing_id, r.role, r.reference, r.service_key, r.company_snapshot,
               r.submitted_at, r.data, _Target(r.chamber_id, r.slug, r.enabled, r.adapter_key, dict(r.options or {})),
               tuple(files.get(r.filing_id, ())))


def _read_jobs(ids: list[uuid.UUID]) -> dict[uuid.UUID, Job]:
    """Read the jobs of claimed deliveries in the current transaction (two queries for any number)."""
    rows = db.session.execute(
        select(_D.c.id, _D.c.attempts, _D.c.role, _D.c.filing_id, _F.c.reference, _F.c.service_key,
               _F.c.company_snapshot, _F.c.submitted_at, _F.c.data, _C.c.id.label("chamber_id"), _C.c.slug,
               _C.c.enabled, _C.c.adapter_key, _C.c.options)
        .select_from(_D.join(_F, _F.c.id == _D.c.filing_id).join(_C, _C.c.id == _D.c.chamber_id))
        .where(_D.c.id.in_(ids))
    ).all()
    files = _attachments({r.filing_id for r in rows})
    return {r.id: _job(r, files) for r in rows}


def _payload(job: Job, catalog: dict[str, ServiceDefinition], storage) -> FilingPayload:
    """Plain data for the adapter; attachment contents are read from storage here."""
    service = catalog.get(job.service_key)
    return FilingPayload(
        delivery_id=job.delivery_id,
        reference=job.reference,
        service_key=job.service_key,
        service_title=service.title.de if service else job.service_key,
        leika=service.leika if service else None,
        company=dict(job.company),
        submitted_at=job.submitted_at,
        data=dict(job.data),
        destination_role=job.role,
        destination=job.target.slug,
        attachments=tuple(
            Attachment(filename=a.original_name, media_type=a.media_type, size=a.size, sha256=a.sha256,
                       content=storage.read(a.storage_key) if storage is not None else b"", ref=str(a.id),
                       field=a.field_name)
            for a in job.attachments
        ),
    )


def _start(delivery_id: uuid.UUID, worker_id: str, settings: DeliverySettings) -> Job | None:
    """For a delivery claimed earlier: check (and if needed renew) the lease, read its job.

    Returns ``None`` when the lease is lost. Ends the transaction before the send.
    """
    now = utcnow()
    locked_until = db.session.scalar(
        select(_D.c.locked_until)
        .where(_D.c.id == delivery_id, _D.c.locked_by == worker_id, _D.c.state == DeliveryState.SENDING)
    )
    if locked_until is None:
        db.session.rollback()
        return None
    if locked_until < now + timedelta(seconds=settings.lease_seconds / 2):
        if renew_leases([delivery_id], worker_id, settings) != 1:
            return None
    job = _read_jobs([delivery_id]).get(delivery_id)
    db.session.rollback()  # read only: no transaction stays open during the send
    return job


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send, to be written by ``record``: the new state and column values."""

    delivery_id: uuid.UUID
    chamber_id: int
    slug: str
    filing_id: int
    attempts: int
    state: str
    temporary: bool  #: a temporary failure: counts towards the chamber's circuit breaker
    at: datetime
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    receiver_ref: str | None = None


def send(job: Job, registry: AdapterRegistry, adapter_services: dict, catalog: dict[str, ServiceDefinition],
         settings: DeliverySettings) -> SendResult:
    """Send one claimed delivery through its chamber's adapter; touches no database.

    Never raises for adapter or data errors: a result is a success, a temporary failure
    (``pending`` with a backoff, or ``dead`` at the attempt cap) or a permanent one (``dead``).
    """
    target = job.target
    try:
        payload = _payload(job, catalog, adapter_services.get("storage"))
        if not target.enabled:
            raise TemporaryFailure(f"chamber {target.slug} is disabled")
        adapter = registry.create(target.adapter_key, services=adapter_services)
        outcome: BaseException | DeliveryResult = adapter.deliver(payload, target.options)
    except Exception as exc:  # a row that cannot be sent must not block the others
        outcome = exc
        if not isinstance(exc, AdapterError | UnknownAdapter):
            log.exception("delivery %s to %s failed unexpectedly", job.delivery_id, target.slug)
    now = utcnow()
    common = dict(delivery_id=job.delivery_id, chamber_id=target.chamber_id, slug=target.slug,
                  filing_id=job.filing_id, attempts=job.attempts, at=now)
    if isinstance(outcome, DeliveryResult):
        return SendResult(state=DeliveryState.DELIVERED, temporary=False, receiver_ref=outcome.receiver_ref, **common)
    if isinstance(outcome, PermanentFailure | UnknownAdapter):
        return SendResult(state=DeliveryState.DEAD, temporary=False, last_error=_describe(outcome), **common)
    if job.attempts >= settings.max_attempts:
        return SendResult(state=DeliveryState.DEAD, temporary=True, last_error=_describe(outcome), **common)
    return SendResult(state=DeliveryState.PENDING, temporary=True, last_error=_describe(outcome),
                      next_attempt_at=now + backoff_delay(job.attempts, settings), **common)


# Built once: statement construction costs more CPU than executing a cached statement.
_FINISH = (
    _D.update()
    .where(_D.c.id == bindparam("b_id"), _D.c.locked_by == bindparam("b_worker"),
           _D.c.state == DeliveryState.SENDING)
    .values(
        state=bindparam("b_state"),
        locked_by=None,
        locked_until=None,
        last_error=bindparam("b_error", type_=_D.c.last_error.type),
        next_attempt_at=func.coalesce(bindparam("b_next", type_=_D.c.next_attempt_at.type), _D.c.next_attempt_at),
        receiver_ref=func.coalesce(bindparam("b_ref", type_=_D.c.receiver_ref.type), _D.c.receiver_ref),
        delivered_at=func.coalesce(bindparam("b_delivered", type_=_D.c.delivered_at.type), _D.c.delivered_at),
    )
)


def record(worker_id: str, results: list[SendResult]) -> list[SendResult]:
    """Write the outcomes of several sends in one transaction (group commit); commits.

    Only rows this worker still holds are written; returns the results that were. For the
    delivered ones the timeline gets a 'forwarded' entry, a filing whose deliveries are all out
    becomes 'forwarded', and the per-chamber counter grows, all in the same commit.
    """
    if not results:
        return []
    _relax_commit()
    if db.session.get_bind().dialect.name == "postgresql":
        written = _write_outcomes_pg(worker_id, results)
    else:
        written = _write_outcomes_generic(worker_id, results)
    mine = [r for r in results if r.delivery_id in written]
    for lost in (r for r in results if r.delivery_id not in written):
        log.warning("lease on delivery %s lost before the outcome was written", lost.delivery_id)
    if not mine:
        db.session.rollback()
        return []
    delivered = [r for r in mine if r.state == DeliveryState.DELIVERED]
    if delivered:
        _record_delivered(delivered, events_written=db.session.get_bind().dialect.name == "postgresql")
    db.session.commit()
    for r in mine:  # failures at INFO (their reason is on the row); successes only at DEBUG
        (log.debug if r.state == DeliveryState.DELIVERED else log.info)(
            "delivery %s to %s: %s (attempt %d)", r.delivery_id, r.slug, r.state, r.attempts)
    return mine


#: One round trip writes a batch of outcomes (only rows this worker still holds) and the
#: timeline entries of the delivered ones; returns the ids written.
_RECORD_PG = text("""
    WITH v AS (
        SELECT * FROM unnest(CAST(:ids AS UUID[]), CAST(:states AS VARCHAR[]), CAST(:errors AS TEXT[]),
                             CAST(:nexts AS TIMESTAMPTZ[]), CAST(:refs AS VARCHAR[]), CAST(:ats AS TIMESTAMPTZ[]))
            AS v(id, state, last_error, next_attempt_at, receiver_ref, at)
    ), written AS (
        UPDATE delivery AS d
        SET state = v.state, locked_by = NULL, locked_until = NULL, last_error = v.last_error,
            next_attempt_at = COALESCE(v.next_attempt_at, d.next_attempt_at),
            receiver_ref = CASE WHEN v.state = 'delivered' THEN v.receiver_ref ELSE d.receiver_ref END,
            delivered_at = CASE WHEN v.state = 'delivered' THEN v.at ELSE d.delivered_at END
        FROM v
        WHERE d.id = v.id AND d.locked_by = :worker AND d.state = 'sending'
        RETURNING d.id, d.filing_id, d.chamber_id, d.state, v.at
    ), events AS (
        INSERT INTO filing_event (filing_id, kind, chamber_id, occurred_at)
        SELECT filing_id, 'forwarded', chamber_id, at FROM written WHERE state = 'delivered'
    )
    SELECT id FROM written
""").columns(id=Delivery.__table__.c.id.type)


def _write_outcomes_pg(worker_id: str, results: list[SendResult]) -> set[uuid.UUID]:
    return set(db.session.scalars(_RECORD_PG, {
        "worker": worker_id,
        "ids": [r.delivery_id for r in results],
        "states": [r.state for r in results],
        "errors": [r.last_error for r in results],
        "nexts": [r.next_attempt_at for r in results],
        "refs": [r.receiver_ref for r in results],
        "ats": [r.at for r in results],
    }))


def _write_outcomes_generic(worker_id: str, results: list[SendResult]) -> set[uuid.UUID]:
    ids = [r.delivery_id for r in results]
    held = set(db.session.scalars(
        select(_D.c.id).where(_D.c.id.in_(ids), _D.c.locked_by == worker_id, _D.c.state == DeliveryState.SENDING)
        .order_by(_D.c.id).with_for_update()
    ))
    mine = [r for r in results if r.delivery_id in held]
    if mine:
        db.session.execute(_FINISH, [
            {"b_id": r.delivery_id, "b_worker": worker_id, "b_state": r.state, "b_error": r.last_error,
             "b_next": r.next_attempt_at, "b_ref": r.receiver_ref,
             "b_delivered": r.at if r.state == DeliveryState.DELIVERED else None}
            for r in mine
        ])
    return held


_LOCK_FILINGS = (
    select(_F.c.id).where(_F.c.id.in_(bindparam("filing_ids", expanding=True))).order_by(_F.c.id).with_for_update()
)
_OTHER = _D.alias("other")
_FORWARD_FILINGS = (
    _F.update()
    .where(_F.c.id.in_(bindparam("filing_ids", expanding=True)), _F.c.status == FilingStatus.SUBMITTED,
           ~exists().where(_OTHER.c.filing_id == _F.c.id, _OTHER.c.state.not_in(DeliveryState.DONE)))
    .values(status=FilingStatus.FORWARDED)
)


def _record_delivered(delivered: list[SendResult], events_written: bool = False) -> None:
    """Timeline entries; filings whose deliveries are all out become 'forwarded'; counters."""
    if not events_written:
        db.session.execute(_E.insert(), [
            {"filing_id": r.filing_id, "kind": "forwarded", "chamber_id": r.chamber_id, "occurred_at": r.at}
            for r in delivered
        ])
    filing_ids = sorted({r.filing_id for r in delivered})
    # Lock the filings (in id order: no deadlocks between workers) so two workers finishing the
    # last deliveries of one filing at once cannot both miss it; the update then runs with a
    # fresh snapshot that sees the other's commit.
    db.session.execute(_LOCK_FILINGS, {"filing_ids": filing_ids})
    db.session.execute(_FORWARD_FILINGS, {"filing_ids": filing_ids})
    # Last and in a fixed order, so the hot counter rows stay locked only for the commit.
    per_chamber = Counter((r.slug, r.at.date()) for r in delivered)
    for (slug, day), n in sorted(per_chamber.items()):
        stats.count_event(db.session, stats.DELIVERED_PER_CHAMBER, slug, day, n)


def deliver(
    delivery_id: uuid.UUID,
    worker_id: str,
    registry: AdapterRegistry,
    adapter_services: dict,
    catalog: dict[str, ServiceDefinition],
    settings: DeliverySettings,
    job: Job | None = None,
) -> Outcome:
    """Send one claimed delivery through its chamber's adapter and record the outcome.

    ``job`` is what ``claim`` read for the delivery; without it the job is read here. Writes
    nothing when another worker holds the row (state ``"lost"``). No database transaction is
    open while the adapter runs.
    """
    if job is None:
        job = _start(delivery_id, worker_id, settings)
        if job is None:
            return Outcome("lost")
    result = send(job, registry, adapter_services, catalog, settings)
    if not record(worker_id, [result]):
        return Outcome("lost", result.chamber_id)
    return Outcome(result.state, result.chamber_id, result.temporary)


def deliver_one(delivery_id, worker_id, registry, adapter_services, catalog, settings) -> str:
    """``deliver`` returning only the new state (``"lost"`` when the lease was lost)."""
    return deliver(delivery_id, worker_id, registry, adapter_services, catalog, settings).state


def _relax_commit() -> None:
    """On PostgreSQL, let this transaction commit without waiting for the WAL flush (opt-in).

    With ``DELIVERY_ASYNC_COMMIT`` a crash of the database server's machine can forget the last
    fraction of a second of claims and outcomes. Nothing is lost for good: a forgotten claim or
    outcome makes the row due again and the retry carries the same idempotency key.
    """
    from flask import current_app

    if current_app.config.get("DELIVERY_ASYNC_COMMIT") and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc))
    return text[-8000:]


# --- re-sending ---------------------------------------------------------------------------------

RESENDABLE = (DeliveryState.DEAD, DeliveryState.PENDING)


def resend_many(delivery_ids: Iterable[uuid.UUID]) -> int:
    """Make dead or pending deliveries due now with a fresh attempt budget; commits.

    Delivered (and decided, and currently sending) deliveries are left alone: re-sending them is
    a no-op. Returns how many were re-queued.
    """
    ids = list(delivery_ids)
    if not ids:
        return 0
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.state.in_(RESENDABLE))
        .values(state=DeliveryState.PENDING, next_attempt_at=utcnow(), attempts=0)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def resend(delivery_id: uuid.UUID) -> bool:
    """Make a dead or pending delivery due now; a delivered one is left alone (returns False)."""
    return resend_many([delivery_id]) == 1
