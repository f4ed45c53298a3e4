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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Integer, and_, column, exists, func, or_, select, true, update, values
from sqlalchemy.orm import joinedload, selectinload

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
from ..filings.models import Filing, FilingEvent, FilingStatus
from ..stats import services as stats
from .models import Chamber, Delivery, DeliveryState

log = logging.getLogger(__name__)


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
    """Due: pending and its time has come, or sending with a lease that ran out (worker died)."""
    return or_(
        and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.state == DeliveryState.SENDING, Delivery.locked_until < now),
    )


def _due_clause(now):
    """Due rows of enabled chambers. Deliveries to a disabled chamber wait without spending attempts."""
    return and_(_row_due(now), Delivery.chamber_id.in_(select(Chamber.id).where(Chamber.enabled.is_(True))))


# --- claiming -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claim:
    id: uuid.UUID
    chamber_id: int


def claim(
    worker_id: str,
    capacity: int,
    settings: DeliverySettings,
    chamber_slots: Callable[[int], int] | None = None,
) -> list[Claim]:
    """Lease up to ``capacity`` due deliveries to ``worker_id``, counting the attempt; commits.

    ``chamber_slots(chamber_id)`` caps how many rows of one chamber may be taken now (the
    worker's free per-chamber slots; 0 skips the chamber, e.g. while its circuit breaker is open).
    Rows are taken per chamber, oldest ``next_attempt_at`` first, so a backlog at one chamber
    never hides another chamber's due rows. On PostgreSQL each chamber's rows are picked in a
    ``LATERAL`` subquery with ``FOR UPDATE SKIP LOCKED``: concurrent workers never claim the same
    row and never wait for each other. SQLite runs one worker and needs no row locks.
    """
    if capacity <= 0:
        return []
    now = utcnow()
    chamber_ids = db.session.scalars(select(Chamber.id).where(Chamber.enabled.is_(True)).order_by(Chamber.id)).all()
    slots = [(cid, min(capacity, chamber_slots(cid) if chamber_slots else capacity)) for cid in chamber_ids]
    slots = [(cid, k) for cid, k in slots if k > 0]
    if not slots:
        db.session.rollback()
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        wanted = values(column("chamber_id", Integer), column("k", Integer), name="slots").data(slots)
        picked = (
            select(Delivery.id, Delivery.chamber_id, Delivery.next_attempt_at)
            .where(Delivery.chamber_id == wanted.c.chamber_id, _row_due(now))
            .order_by(Delivery.next_attempt_at)
            .limit(wanted.c.k)
            .with_for_update(skip_locked=True)
            .lateral("picked")
        )
        rows = db.session.execute(
            select(picked.c.id, picked.c.chamber_id)
            .select_from(wanted)
            .join(picked, true())
            .order_by(picked.c.next_attempt_at)
            .limit(capacity)
        ).all()
    else:
        rank = func.row_number().over(partition_by=Delivery.chamber_id, order_by=Delivery.next_attempt_at)
        ranked = (
            select(Delivery.id, Delivery.chamber_id, Delivery.next_attempt_at, rank.label("rank"))
            .where(Delivery.chamber_id.in_([cid for cid, _ in slots]), _row_due(now))
            .subquery()
        )
        limit_of = dict(slots)
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
        update(Delivery)
        .where(Delivery.id.in_(ids), _row_due(now))
        .values(
            state=DeliveryState.SENDING,
            locked_by=worker_id,
            locked_until=now + timedelta(seconds=settings.lease_seconds),
            attempts=Delivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    claims = [Claim(r.id, r.chamber_id) for r in rows]
    if result.rowcount != len(ids):  # another worker took some in between (SQLite only)
        mine = set(db.session.scalars(
            select(Delivery.id).where(Delivery.id.in_(ids), Delivery.locked_by == worker_id,
                                      Delivery.state == DeliveryState.SENDING)
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
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.locked_by == worker_id, Delivery.state == DeliveryState.SENDING)
        .values(locked_until=utcnow() + timedelta(seconds=settings.lease_seconds))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def renew_lease(delivery_id: uuid.UUID, worker_id: str, settings: DeliverySettings) -> bool:
    """Extend this worker's lease on one delivery; False if another worker took the row."""
    return renew_leases([delivery_id], worker_id, settings) == 1


def release(delivery_ids: list[uuid.UUID], worker_id: str) -> int:
    """Give claimed but unattempted deliveries back (shutdown); due at once, attempt uncounted."""
    if not delivery_ids:
        return 0
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.locked_by == worker_id,
               Delivery.state == DeliveryState.SENDING)
        .values(state=DeliveryState.PENDING, locked_by=None, locked_until=None,
                attempts=Delivery.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


def abandon(delivery_ids: list[uuid.UUID], worker_id: str) -> int:
    """Give back deliveries whose send is still running when the worker must exit; due at once.

    The attempt counts (the receiver may have got the filing; the retry carries the same
    idempotency key). The running send can no longer write its outcome: the lease is gone.
    """
    if not delivery_ids:
        return 0
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(delivery_ids), Delivery.locked_by == worker_id,
               Delivery.state == DeliveryState.SENDING)
        .values(state=DeliveryState.PENDING, locked_by=None, locked_until=None, next_attempt_at=utcnow(),
                last_error="worker shut down while the send was in flight; retried with the same id")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


# --- sending ------------------------------------------------------------------------------------

def build_payload(delivery: Delivery, service: ServiceDefinition | None, storage=None) -> FilingPayload:
    """Plain data for the adapter; nothing of the ORM leaks into ``chambers``."""
    filing = delivery.filing
    attachments = tuple(
        Attachment(filename=a.original_name, media_type=a.media_type, size=a.size, sha256=a.sha256,
                   content=storage.read(a.storage_key) if storage is not None else b"", ref=str(a.id),
                   field=a.field_name)
        for a in filing.attachments
    )
    return FilingPayload(
        delivery_id=delivery.id,
        reference=filing.reference,
        service_key=filing.service_key,
        service_title=service.title.de if service else filing.service_key,
        leika=service.leika if service else None,
        company=dict(filing.company_snapshot),
        submitted_at=filing.submitted_at,
        data=dict(filing.data),
        destination_role=delivery.role,
        destination=delivery.chamber.slug,
        attachments=attachments,
    )


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


def _start(delivery_id: uuid.UUID, worker_id: str, settings: DeliverySettings,
           catalog: dict[str, ServiceDefinition], storage):
    """Renew the lease and read what the send needs, in one short transaction (committed).

    Returns ``None`` when the lease is lost, else (attempts, payload-or-exception, target, filing_id).
    """
    attempts = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.locked_by == worker_id, Delivery.state == DeliveryState.SENDING)
        .values(locked_until=utcnow() + timedelta(seconds=settings.lease_seconds))
        .returning(Delivery.attempts)
        .execution_options(synchronize_session=False)
    ).scalar()
    if attempts is None:
        db.session.rollback()
        return None
    target: _Target | None = None
    filing_id: int | None = None
    try:
        delivery = db.session.get(
            Delivery, delivery_id,
            options=[joinedload(Delivery.filing).selectinload(Filing.attachments)],
        )
        chamber = delivery.chamber
        target = _Target(chamber.id, chamber.slug, chamber.enabled, chamber.adapter_key, dict(chamber.options or {}))
        filing_id = delivery.filing_id
        payload: FilingPayload | Exception = build_payload(delivery, catalog.get(delivery.filing.service_key), storage)
    except Exception as exc:  # a row whose payload cannot be built must not block the others
        log.exception("cannot build the payload of delivery %s", delivery_id)
        payload = exc
    db.session.commit()  # the renewed lease; no transaction stays open during the send
    return attempts, payload, target, filing_id


def deliver(
    delivery_id: uuid.UUID,
    worker_id: str,
    registry: AdapterRegistry,
    adapter_services: dict,
    catalog: dict[str, ServiceDefinition],
    settings: DeliverySettings,
) -> Outcome:
    """Send one claimed delivery through its chamber's adapter and record the outcome.

    Never raises for adapter or data errors: they become ``pending`` (retry with backoff) or
    ``dead``. Writes nothing when another worker holds the row (state ``"lost"``). No database
    transaction is open while the adapter runs.
    """
    started = _start(delivery_id, worker_id, settings, catalog, adapter_services.get("storage"))
    if started is None:
        return Outcome("lost")
    attempts, payload, target, filing_id = started
    outcome: BaseException | DeliveryResult
    if isinstance(payload, Exception):
        outcome = payload
    else:
        try:
            if not target.enabled:
                raise TemporaryFailure(f"chamber {target.slug} is disabled")
            adapter = registry.create(target.adapter_key, services=adapter_services)
            outcome = adapter.deliver(payload, target.options)
        except Exception as exc:
            outcome = exc
            if not isinstance(exc, AdapterError | UnknownAdapter):
                log.exception("adapter %s raised unexpectedly for delivery %s", target.adapter_key, delivery_id)

    now = utcnow()
    temporary = False
    if isinstance(outcome, DeliveryResult):
        new_state = DeliveryState.DELIVERED
        values_ = {"receiver_ref": outcome.receiver_ref, "delivered_at": now, "last_error": None}
    elif isinstance(outcome, PermanentFailure | UnknownAdapter) or attempts >= settings.max_attempts:
        new_state, values_ = DeliveryState.DEAD, {"last_error": _describe(outcome)}
        temporary = not isinstance(outcome, PermanentFailure | UnknownAdapter)
    else:
        new_state = DeliveryState.PENDING
        values_ = {"last_error": _describe(outcome), "next_attempt_at": now + backoff_delay(attempts, settings)}
        temporary = True

    chamber_id = target.chamber_id if target else None
    if not _finish(delivery_id, worker_id, state=new_state, **values_):
        db.session.rollback()
        log.warning("lease on delivery %s lost before the outcome was written", delivery_id)
        return Outcome("lost", chamber_id)
    if new_state == DeliveryState.DELIVERED and target is not None and filing_id is not None:
        _record_delivered(filing_id, target.chamber_id, now)
        # Last, so the hot counter row stays locked only for the commit.
        stats.count_event(db.session, stats.DELIVERED_PER_CHAMBER, target.slug, now.date())
    db.session.commit()
    log.info("delivery %s to %s: %s (attempt %d)", delivery_id, target.slug if target else "?", new_state, attempts)
    return Outcome(new_state, chamber_id, temporary)


def deliver_one(delivery_id, worker_id, registry, adapter_services, catalog, settings) -> str:
    """``deliver`` returning only the new state (``"lost"`` when the lease was lost)."""
    return deliver(delivery_id, worker_id, registry, adapter_services, catalog, settings).state


def _finish(delivery_id: uuid.UUID, worker_id: str, **values_) -> bool:
    """Write the outcome only if this worker still holds the lease; returns whether it did."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.locked_by == worker_id,
               Delivery.state == DeliveryState.SENDING)
        .values(locked_by=None, locked_until=None, **values_)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _record_delivered(filing_id: int, chamber_id: int, now) -> None:
    """Timeline entry for the delivery; the filing is 'forwarded' once every delivery is out."""
    db.session.add(FilingEvent(filing_id=filing_id, kind="forwarded", chamber_id=chamber_id, occurred_at=now))
    # Lock the filing so two workers finishing its last deliveries at once cannot both miss it.
    db.session.execute(select(Filing.id).where(Filing.id == filing_id).with_for_update())
    open_deliveries = exists().where(Delivery.filing_id == filing_id, Delivery.state.not_in(DeliveryState.DONE))
    db.session.execute(
        update(Filing)
        .where(Filing.id == filing_id, Filing.status == FilingStatus.SUBMITTED, ~open_deliveries)
        .values(status=FilingStatus.FORWARDED)
        .execution_options(synchronize_session=False)
    )


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
