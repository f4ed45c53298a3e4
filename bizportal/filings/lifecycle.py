"""The one owner of a filing's status and timeline.

Every change of ``Filing.status`` and every ``FilingEvent`` is written here, checked against
``states.MACHINE``. Deliveries are changed through ``delivery.services`` inside the same
transaction, so a filing and its deliveries never disagree.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Update, bindparam, select, text

from ..auth.models import Person
from ..bodies.models import Chamber
from ..common.states import Refused, TransitionRefused
from ..common.time import utcnow
from ..delivery import services as deliveries
from ..extensions import db, table_of
from ..notify import services as notify
from .models import Filing, FilingEvent
from .states import CHAMBER_EVENTS, CLOSED, DECIDED, MACHINE, PRIMARY_ONLY, FilingStatus

_E, _F = table_of(FilingEvent), table_of(Filing)
_FORWARDABLE = MACHINE.edges((FilingStatus.SUBMITTED,), FilingStatus.FORWARDED)


class EventRefused(Refused):
    """The event does not fit the filing (wrong destination role, missing reason, not delivered)."""


class NotWithdrawable(TransitionRefused):
    """The filing is already decided or withdrawn."""


def record_submitted(filing: Filing, at: datetime) -> None:
    """The first timeline entry of a new filing; joins the caller's transaction."""
    filing.status = FilingStatus.SUBMITTED
    db.session.add(FilingEvent(filing=filing, kind=FilingStatus.SUBMITTED, occurred_at=at))


def mark_forwarded(delivered: Sequence[tuple[int, int, datetime]],
                   all_out: Callable[[ColumnElement[int]], ColumnElement[bool]]) -> None:
    """Deliveries reached their bodies: one 'forwarded' entry per (filing, chamber, time), and each
    filing whose deliveries are now all out becomes 'forwarded' (``all_out``: the delivery owner's
    condition on a filing id). Joins the worker's record transaction.
    """
    if not delivered:
        return
    filing_ids = sorted({filing_id for filing_id, _, _ in delivered})
    # The timeline entries, and a lock on the filings (in id order: no deadlocks between workers)
    # so two workers finishing the last deliveries of one filing at once cannot both miss it; the
    # update below then runs with a fresh snapshot that sees the other's commit.
    if db.session.get_bind().dialect.name == "postgresql":  # both in one round trip
        db.session.execute(_EVENTS_AND_LOCK_PG, {
            "kind": FilingStatus.FORWARDED.value, "filing_ids": [f for f, _, _ in delivered],
            "chamber_ids": [c for _, c, _ in delivered], "ats": [at for _, _, at in delivered],
            "lock_ids": filing_ids})
    else:
        db.session.execute(_E.insert(), [
            {"filing_id": filing_id, "kind": FilingStatus.FORWARDED.value, "chamber_id": chamber_id,
             "occurred_at": at}
            for filing_id, chamber_id, at in delivered
        ])
        db.session.execute(select(_F.c.id).where(_F.c.id.in_(filing_ids)).order_by(_F.c.id).with_for_update())
    db.session.execute(_forward_statement(all_out), {"filing_ids": filing_ids})


#: The hot path of the worker's record step on PostgreSQL: timeline entries and filing locks in one
#: statement (a constant text: planned once per connection).
_EVENTS_AND_LOCK_PG = text("""
    WITH events AS (
        INSERT INTO filing_event (filing_id, kind, chamber_id, occurred_at)
        SELECT e.filing_id, :kind, e.chamber_id, e.at
        FROM unnest(CAST(:filing_ids AS INTEGER[]), CAST(:chamber_ids AS INTEGER[]),
                    CAST(:ats AS TIMESTAMPTZ[])) AS e(filing_id, chamber_id, at)
    )
    SELECT f.id FROM filing AS f WHERE f.id = ANY(CAST(:lock_ids AS INTEGER[])) ORDER BY f.id FOR UPDATE
""")


@functools.cache
def _forward_statement(all_out: Callable[[ColumnElement[int]], ColumnElement[bool]]) -> Update:
    """Built once per condition: statement construction costs more CPU than executing a cached one."""
    return (_F.update()
            .where(_F.c.id.in_(bindparam("filing_ids", expanding=True)), _F.c.status.in_(_FORWARDABLE),
                   all_out(_F.c.id))
            .values(status=FilingStatus.FORWARDED.value))


def withdraw(filing: Filing, person: Person, reason: str | None) -> None:
    """Withdraw a filing that is not decided yet; the timeline records who and why. Deliveries not
    sent yet are cancelled (nothing reaches a body that never saw the filing); bodies that have it
    see the withdrawal in its status. Raises ``NotWithdrawable``. Commits."""
    # Lock and re-read: a decision recorded at the same moment wins, and is not overwritten.
    db.session.execute(select(Filing.id).where(Filing.id == filing.id).with_for_update())
    db.session.refresh(filing)
    if not MACHINE.allowed(filing.status, FilingStatus.WITHDRAWN):
        db.session.rollback()
        raise NotWithdrawable("filing", filing.status, FilingStatus.WITHDRAWN, filing.reference)
    deliveries.cancel_unsent(filing.id, "withdrawn by the company")
    filing.status = FilingStatus.WITHDRAWN
    detail = (reason or "").strip()[:1000] or None
    db.session.add(FilingEvent(filing_id=filing.id, kind=FilingStatus.WITHDRAWN, occurred_at=utcnow(),
                               detail=detail))
    db.session.commit()


def apply_chamber_event(delivery_id: uuid.UUID, kind: str, detail: str | None = None,
                        occurred_at: datetime | None = None, once: bool = False) -> Filing | None:
    """Record a receiving body's status event on the filing's timeline and status. Commits.

    Used by the staff inbox and by adapters' status channels (callbacks, polling). A decision
    (accepted/rejected) also closes the delivery; a request for information and a decision queue a
    mail to the company in the same transaction. With ``once`` an event equal to one already on
    the timeline (same chamber, kind and time: a replayed callback, a re-read event log) changes
    nothing and ``None`` is returned. Raises ``TransitionRefused`` for an event on a closed
    filing, ``EventRefused`` for an unknown kind or delivery, a copy recipient reporting a
    decision, a delivery not delivered yet, or a rejection or request without a reason.
    Nothing is written when refused.
    """
    try:
        return _apply(delivery_id, kind, detail, occurred_at, once)
    except Refused:
        db.session.rollback()
        raise


def _apply(delivery_id: uuid.UUID, kind: str, detail: str | None, occurred_at: datetime | None,
           once: bool) -> Filing | None:
    if kind not in CHAMBER_EVENTS:
        raise EventRefused(f"unknown event {kind!r}")
    ref = deliveries.get(delivery_id)
    if ref is None:
        raise EventRefused("unknown delivery")
    filing = db.session.execute(select(Filing).where(Filing.id == ref.filing_id).with_for_update()).scalar_one()
    occurred_at = occurred_at or utcnow()
    if once and db.session.scalar(
        select(FilingEvent.id).where(FilingEvent.filing_id == ref.filing_id, FilingEvent.chamber_id == ref.chamber_id,
                                     FilingEvent.kind == kind, FilingEvent.occurred_at == occurred_at).limit(1)
    ) is not None:
        db.session.rollback()
        return None
    if filing.status in CLOSED:
        raise TransitionRefused("filing", filing.status, kind, filing.reference,
                                message=f"filing {filing.reference} is closed ({filing.status})")
    if kind in PRIMARY_ONLY and not ref.primary:
        raise EventRefused("a copy recipient cannot report this event")
    if not ref.delivered:
        raise EventRefused("the delivery is not recorded as delivered yet")
    detail = (detail or "").strip()[:2000] or None
    if kind in (FilingStatus.REJECTED, FilingStatus.INFORMATION_REQUESTED) and not detail:
        raise EventRefused("a reason is required")
    if ref.primary:
        filing.status = MACHINE.check(filing.status, kind, filing.reference)
    db.session.add(FilingEvent(filing_id=filing.id, kind=kind, chamber_id=ref.chamber_id, occurred_at=occurred_at,
                               detail=detail))
    if kind in DECIDED:
        deliveries.mark_decided(delivery_id, kind)
    chamber = db.session.get(Chamber, ref.chamber_id)
    notify.enqueue_status_changed(db.session, filing, kind, detail, chamber.name if chamber else "")
    db.session.commit()
    return filing


__all__ = ["EventRefused", "NotWithdrawable", "apply_chamber_event", "mark_forwarded", "record_submitted",
           "withdraw"]
