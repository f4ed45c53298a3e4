"""Every delivery state change happens here: claim, success, failure, re-send.

State machine: pending → sending → delivered (→ accepted | rejected, later issues);
a temporary failure goes back to pending with a backoff until the attempt cap, then dead;
a permanent failure is dead at once.
"""

from __future__ import annotations

import logging
import random
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

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


def _due_clause(now):
    """Due: pending and its time has come, or sending with a lease that ran out (worker died).

    Deliveries to a disabled chamber are not due: they wait, without spending attempts.
    """
    return and_(
        or_(
            and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
            and_(Delivery.state == DeliveryState.SENDING, Delivery.locked_until < now),
        ),
        Delivery.chamber_id.in_(select(Chamber.id).where(Chamber.enabled.is_(True))),
    )


def claim_due_deliveries(worker_id: str, limit: int, settings: DeliverySettings) -> list[uuid.UUID]:
    """Lease up to ``limit`` due deliveries to ``worker_id`` and count the attempt; commits.

    On PostgreSQL rows are picked with ``FOR UPDATE SKIP LOCKED`` so concurrent workers never
    claim the same row; a row whose lease ran out (its worker died) is due again.
    """
    now = utcnow()
    ids = list(
        db.session.scalars(
            select(Delivery.id)
            .where(_due_clause(now))
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        db.session.rollback()
        return []
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), _due_clause(now))
        .values(
            state=DeliveryState.SENDING,
            locked_by=worker_id,
            locked_until=now + timedelta(seconds=settings.lease_seconds),
            attempts=Delivery.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != len(ids):  # another worker took some in between (SQLite only)
        ids = list(
            db.session.scalars(
                select(Delivery.id).where(Delivery.id.in_(ids), Delivery.locked_by == worker_id,
                                          Delivery.state == DeliveryState.SENDING)
            )
        )
    return ids


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


def _finish(delivery_id: uuid.UUID, worker_id: str, **values) -> bool:
    """Write the outcome only if this worker still holds the lease; returns whether it did."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.locked_by == worker_id,
               Delivery.state == DeliveryState.SENDING)
        .values(locked_by=None, locked_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def renew_lease(delivery_id: uuid.UUID, worker_id: str, settings: DeliverySettings) -> bool:
    """Extend this worker's lease right before sending; False if another worker took the row."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.locked_by == worker_id,
               Delivery.state == DeliveryState.SENDING)
        .values(locked_until=utcnow() + timedelta(seconds=settings.lease_seconds))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


@dataclass(frozen=True)
class _Target:
    """What ``deliver_one`` needs of the chamber, copied so no ORM object outlives the transaction."""

    chamber_id: int
    slug: str
    enabled: bool
    adapter_key: str
    options: dict


def _prepare(delivery_id: uuid.UUID, catalog: dict[str, ServiceDefinition], storage) -> tuple[FilingPayload, _Target, int]:
    delivery = db.session.get(Delivery, delivery_id)
    chamber = delivery.chamber
    target = _Target(chamber.id, chamber.slug, chamber.enabled, chamber.adapter_key, dict(chamber.options or {}))
    payload = build_payload(delivery, catalog.get(delivery.filing.service_key), storage)
    return payload, target, delivery.filing_id


def deliver_one(
    delivery_id: uuid.UUID,
    worker_id: str,
    registry: AdapterRegistry,
    adapter_services: dict,
    catalog: dict[str, ServiceDefinition],
    settings: DeliverySettings,
) -> str:
    """Send one claimed delivery through its chamber's adapter and record the outcome.

    Returns the new state, or ``"lost"`` when another worker holds the row (then nothing is
    written). Never raises for adapter or data errors: they become ``pending`` (retry with
    backoff) or ``dead``. No database transaction is open while the adapter runs.
    """
    if not renew_lease(delivery_id, worker_id, settings):
        return "lost"
    attempts = db.session.scalar(select(Delivery.attempts).where(Delivery.id == delivery_id)) or 0
    target: _Target | None = None
    filing_id: int | None = None
    try:
        payload, target, filing_id = _prepare(delivery_id, catalog, adapter_services.get("storage"))
    except Exception as exc:  # a row whose payload cannot be built must not block the others
        db.session.rollback()
        log.exception("cannot build the payload of delivery %s", delivery_id)
        outcome: BaseException | DeliveryResult = exc
    else:
        db.session.rollback()  # end the read transaction before talking to the receiver
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
    if isinstance(outcome, DeliveryResult):
        new_state = DeliveryState.DELIVERED
        values = {"receiver_ref": outcome.receiver_ref, "delivered_at": now, "last_error": None}
    elif isinstance(outcome, PermanentFailure | UnknownAdapter) or attempts >= settings.max_attempts:
        new_state, values = DeliveryState.DEAD, {"last_error": _describe(outcome)}
    else:
        new_state = DeliveryState.PENDING
        values = {"last_error": _describe(outcome), "next_attempt_at": now + backoff_delay(attempts, settings)}

    if not _finish(delivery_id, worker_id, state=new_state, **values):
        db.session.rollback()
        log.warning("lease on delivery %s lost before the outcome was written", delivery_id)
        return "lost"
    if new_state == DeliveryState.DELIVERED and target is not None and filing_id is not None:
        stats.count_event(db.session, stats.DELIVERED_PER_CHAMBER, target.slug, now.date())
        _record_delivered(filing_id, target.chamber_id, now)
    db.session.commit()
    log.info("delivery %s to %s: %s (attempt %d)", delivery_id, target.slug if target else "?", new_state, attempts)
    return new_state


def _record_delivered(filing_id: int, chamber_id: int, now) -> None:
    """Timeline entry for the delivery; the filing is 'forwarded' once every delivery is out."""
    db.session.add(FilingEvent(filing_id=filing_id, kind="forwarded", chamber_id=chamber_id, occurred_at=now))
    # Lock the filing so two workers finishing its last deliveries at once cannot both miss it.
    db.session.execute(select(Filing.id).where(Filing.id == filing_id).with_for_update())
    states = db.session.scalars(select(Delivery.state).where(Delivery.filing_id == filing_id)).all()
    if all(s in DeliveryState.DONE for s in states):
        db.session.execute(
            update(Filing)
            .where(Filing.id == filing_id, Filing.status == FilingStatus.SUBMITTED)
            .values(status=FilingStatus.FORWARDED)
        )


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc))
    return text[-8000:]


def release(delivery_ids: list[uuid.UUID], worker_id: str) -> int:
    """Give claimed but unattempted deliveries back (graceful shutdown); they are due at once."""
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


def resend(delivery_id: uuid.UUID) -> bool:
    """Make a dead or pending delivery due now; a delivered one is left alone (returns False)."""
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id,
               Delivery.state.in_([DeliveryState.DEAD, DeliveryState.PENDING]))
        .values(state=DeliveryState.PENDING, next_attempt_at=utcnow(), attempts=0)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1
