"""Recording send outcomes: one transaction per batch (group commit), only for rows still held.

For the delivered ones the filing's owner is told in the same transaction
(``filings.lifecycle.mark_forwarded``: timeline entry, status once all deliveries are out) and the
per-chamber counter grows. A delivered row that carried a company message marks that message
forwarded (``lifecycle.mark_messages_forwarded``) and counts nowhere else.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select

from ..common import dbclock
from ..config import DeliverySettings
from ..extensions import db, table_of
from ..filings import lifecycle
from ..stats import services as stats
from . import pg
from .models import Delivery
from .sending import SendResult
from .states import DONE, MACHINE, DeliveryState

log = logging.getLogger(__name__)

_D = table_of(Delivery)
#: the edges a recorded outcome may take
_OUTCOMES = {t: MACHINE.edges((DeliveryState.SENDING,), t)
             for t in (DeliveryState.DELIVERED, DeliveryState.PENDING, DeliveryState.DEAD)}

def record(worker_id: str, results: list[SendResult], settings: DeliverySettings) -> list[SendResult]:
    """Write the outcomes of several sends in one transaction; commits. Returns those written.

    Only rows this worker still holds (``sending`` under its lease) are written: an outcome for a
    lease another worker has taken over writes nothing at all, neither the row nor the timeline.
    Times come from the database's clock (``common.dbclock``), not the worker's: ``delivered_at``
    and the timeline entry are when the outcome was written; a retry is due then + ``retry_after``.
    """
    if not results:
        return []
    for r in results:
        if r.state not in _OUTCOMES:
            raise ValueError(f"{r.state} is not an outcome of a send")
    pg.relax_commit(settings)
    written, at = _write_pg(worker_id, results) if pg.is_postgres() else _write_generic(worker_id, results)
    mine = [r for r in results if r.delivery_id in written]
    for lost in (r for r in results if r.delivery_id not in written):
        log.warning("lease on delivery %s lost before the outcome was written", lost.delivery_id)
    if not mine:
        db.session.rollback()
        return []
    delivered = [r for r in mine if r.state == DeliveryState.DELIVERED and r.message_id is None]
    messages = [r for r in mine if r.state == DeliveryState.DELIVERED and r.message_id is not None]
    if messages:  # the company's messages reached their bodies: their owner notes when
        lifecycle.mark_messages_forwarded([(r.message_id, at) for r in messages if r.message_id is not None])
    if delivered:
        lifecycle.mark_forwarded([(r.filing_id, r.chamber_id, at) for r in delivered], all_out)
        # Last and in a fixed order, so the hot counter rows stay locked only for the commit.
        per_chamber = Counter(r.slug for r in delivered)
        for slug, n in sorted(per_chamber.items()):
            stats.count_event(db.session, stats.DELIVERED_PER_CHAMBER, slug, at.date(), n)
    stats.deliveries_recorded([(r.delivery_id, r.state.value, r.attempts) for r in mine if r.message_id is None
                               and r.state in (DeliveryState.DELIVERED, DeliveryState.DEAD)], at)
    db.session.commit()
    for r in mine:  # failures at INFO (their reason is on the row); successes only at DEBUG
        (log.debug if r.state == DeliveryState.DELIVERED else log.info)(
            "delivery %s to %s: %s (attempt %d)", r.delivery_id, r.slug, r.state, r.attempts)
    return mine


def _write_pg(worker_id: str, results: list[SendResult]) -> tuple[set[uuid.UUID], datetime]:
    rows = db.session.execute(pg.RECORD, {
        **pg.STATE_PARAMS,
        "worker": worker_id,
        "ids": [r.delivery_id for r in results],
        "states": [r.state.value for r in results],
        "attempts": [r.attempts for r in results],
        "timeouts": [r.timeouts for r in results],
        "errors": [r.last_error for r in results],
        "delays": [r.retry_after for r in results],
        "refs": [r.receiver_ref for r in results],
    }).all()
    # statement_timestamp(): the same instant on every row; no row written, nothing needs it
    return {r.id for r in rows}, (rows[0].at if rows else datetime.min.replace(tzinfo=UTC))


def _write_generic(worker_id: str, results: list[SendResult]) -> tuple[set[uuid.UUID], datetime]:
    ids = [r.delivery_id for r in results]
    held: set[uuid.UUID] = set(db.session.scalars(
        select(_D.c.id).where(_D.c.id.in_(ids), _D.c.locked_by == worker_id, _D.c.state == DeliveryState.SENDING)
        .order_by(_D.c.id).with_for_update()
    ))
    now = dbclock.now()
    for r in results:
        if r.delivery_id not in held:
            continue
        values: dict[str, Any] = {"state": r.state.value, "attempts": r.attempts, "timeouts": r.timeouts,
                                  "locked_by": None, "locked_until": None, "last_error": r.last_error}
        if r.retry_after is not None:
            values["next_attempt_at"] = now + r.retry_after
        if r.state == DeliveryState.DELIVERED:
            values.update(receiver_ref=r.receiver_ref, delivered_at=now)
        db.session.execute(_D.update().where(_D.c.id == r.delivery_id).values(**values))
    return held, now


_OTHER = _D.alias("other")


def all_out(filing_id: ColumnElement[int]) -> ColumnElement[bool]:
    """A condition on a filing id: every delivery of that filing has reached its receiver
    (delivered or decided). Evaluated inside the filing owner's UPDATE, in the same statement."""
    return ~exists().where(_OTHER.c.filing_id == filing_id, _OTHER.c.message_id.is_(None),
                           _OTHER.c.state.not_in(DONE))

