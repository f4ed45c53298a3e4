"""The one owner of a filing's status and timeline.

Every change of ``Filing.status`` and every ``FilingEvent`` is written here, checked against
``states.MACHINE``. Deliveries are changed through ``delivery.services`` inside the same
transaction, so a filing and its deliveries never disagree.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Update, and_, bindparam, or_, select, text, update

from ..audit import services as audit
from ..auth.models import Person, StaffUser
from ..bodies.models import Chamber
from ..common.states import Refused, TransitionRefused
from ..common.time import utcnow
from ..delivery import services as deliveries
from ..extensions import db, table_of
from ..notify import services as notify
from ..stats import services as stats
from . import queries
from .models import Attachment, Filing, FilingEvent, FilingMessage, MessageKind
from .states import CHAMBER_EVENTS, CLOSED, DECIDED, MACHINE, PRIMARY_ONLY, FilingStatus

_E, _F = table_of(FilingEvent), table_of(Filing)
_FORWARDABLE = MACHINE.edges((FilingStatus.SUBMITTED,), FilingStatus.FORWARDED)


class EventRefused(Refused):
    """The event does not fit the filing (wrong destination role, missing reason, not delivered)."""


class NotWithdrawable(TransitionRefused):
    """The filing is already decided or withdrawn."""


class StaleAction(TransitionRefused):
    """The filing's status changed since the form was shown (a colleague, another tab, a second
    press): nothing is written, the person looks again."""


class NoPortalReplies(EventRefused):
    """The body works the filing in its own system, which does not take answers from the portal yet."""


class ClosedFiling(TransitionRefused):
    """The filing is decided or withdrawn: its conversation takes no new message."""


class AlreadySent(Refused):
    """A message sent with this form's one-time token is stored already (the same form posted
    twice: a double click, a browser re-post). Nothing is written."""


class ForeignRequest(EventRefused):
    """The answer names a request that is not one of this filing's (another filing's, or none):
    refused alike in both cases, so nothing is learnt about other filings."""


@dataclass(frozen=True)
class ChamberActor:
    """Who acts for a receiving body: a staff member in the portal, or the body's own system
    through the chamber API (``staff_id`` None: its messages name no staff member). ``audit_id``
    is the audit log's actor (``"staff:7"``, ``"api:<client id>"``)."""

    audit_id: str
    chamber_id: int | None
    staff_id: int | None = None


def _chamber_actor(actor: StaffUser | ChamberActor) -> ChamberActor:
    if isinstance(actor, ChamberActor):
        return actor
    return ChamberActor(actor.get_id(), actor.chamber_id, actor.id)


@dataclass(frozen=True)
class StoredFile:
    """A checked file already written to storage, attached to a message in the same transaction."""

    name: str
    media_type: str
    size: int
    sha256: str
    storage_key: str


def _lock(filing_id: int) -> None:
    """Hold the filing until the commit, so two steps on it (a double click, two tabs, a colleague)
    run one after the other and the second reads what the first committed. PostgreSQL: a row
    lock. SQLite ignores ``FOR UPDATE``: a write that changes nothing takes the database's write
    lock first, before anything is read, and a concurrent step waits for it."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Filing).where(Filing.id == filing_id).values(status=Filing.status)
                           .execution_options(synchronize_session=False))
    db.session.execute(select(Filing.id).where(Filing.id == filing_id).with_for_update())


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
    # entries at the same instant keep one order (by body), however the worker's batch came together
    delivered = sorted(delivered, key=lambda d: (d[0], d[1]))
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


def mark_messages_forwarded(forwarded: Sequence[tuple[int, datetime]]) -> None:
    """The company's messages reached their bodies' systems at the given times (the first time
    counts). Joins the worker's record transaction."""
    for message_id, at in forwarded:
        db.session.execute(update(FilingMessage)
                           .where(FilingMessage.id == message_id, FilingMessage.forwarded_at.is_(None))
                           .values(forwarded_at=at).execution_options(synchronize_session=False))


def withdraw(filing: Filing, person: Person, reason: str | None) -> None:
    """Withdraw a filing that is not decided yet; the timeline records who and why. Deliveries not
    sent yet are cancelled (nothing reaches a body that never saw the filing); bodies that have it
    see the withdrawal in its status. Raises ``NotWithdrawable``. Commits."""
    # Lock and re-read: a decision recorded at the same moment wins, and is not overwritten.
    _lock(filing.id)
    db.session.refresh(filing)
    if not MACHINE.allowed(filing.status, FilingStatus.WITHDRAWN):
        db.session.rollback()
        raise NotWithdrawable("filing", filing.status, FilingStatus.WITHDRAWN, filing.reference)
    deliveries.cancel_unsent(filing.id, "withdrawn by the company")
    filing.status = FilingStatus.WITHDRAWN
    detail = (reason or "").strip()[:1000] or None
    now = utcnow()
    db.session.add(FilingEvent(filing_id=filing.id, kind=FilingStatus.WITHDRAWN, occurred_at=now, detail=detail))
    stats.filing_withdrawn(filing, now)
    db.session.commit()


def apply_chamber_event(delivery_id: uuid.UUID, kind: str, detail: str | None = None,
                        occurred_at: datetime | None = None, once: bool = False) -> Filing | None:
    """Record a receiving body's status event on the filing's timeline and status. Commits.

    Used by adapters' status channels (callbacks, polling); staff in the portal use
    ``staff_event``. A decision (accepted/rejected) also closes the delivery; a request for
    information and a decision queue a mail to the company in the same transaction. With ``once``
    an event equal to one already on the timeline (same chamber, kind and time: a replayed
    callback, a re-read event log) changes nothing and ``None`` is returned. Raises
    ``TransitionRefused`` for an event the status machine does not allow (a closed filing, a
    repeated or backward step), ``EventRefused`` for an unknown kind or delivery, a copy recipient
    reporting a decision, a delivery not delivered yet, or a rejection or request without a
    reason. Nothing is written when refused.
    """
    try:
        return _apply(delivery_id, kind, detail, occurred_at, once)
    except Refused:
        db.session.rollback()
        raise


def staff_event(delivery_id: uuid.UUID, kind: str, staff: StaffUser | ChamberActor, expected_status: str,
                detail: str | None = None, due_on: date | None = None, files: Sequence[StoredFile] = (),
                form_token: str | None = None) -> Filing:
    """A chamber's staff member moves the filing one step (confirm receipt, in progress, request
    information, accept, reject; a copy recipient only confirms receipt). Commits.

    ``expected_status`` is the status the person saw when choosing the action: if the filing has
    moved since (a colleague, another tab, the same button pressed twice) ``StaleAction`` is raised
    and nothing changes. A request becomes a message of the conversation with its due date; a
    decision's text and documents (``files``, already checked and stored) become a decision
    message the company can download. The action is audited with the person, the filing and
    the transition. Refusals as for ``apply_chamber_event``; ``AlreadySent`` when a message with
    ``form_token`` (the step form's one-time token) is stored already. ``staff`` may also be a
    ``ChamberActor``: the chamber's system acting through the API.
    """
    actor = _chamber_actor(staff)
    try:
        filing = _apply(delivery_id, kind, detail, None, False, actor=actor, expected=expected_status,
                        due_on=due_on, files=files, form_token=form_token)
    except Refused as exc:
        db.session.rollback()
        ref = deliveries.get(delivery_id)
        audit.record("filing.transition", actor.audit_id, detail=f"→ {kind}: {exc}", outcome="refused",
                     filing_id=ref.filing_id if ref else None, chamber_id=actor.chamber_id)
        raise
    assert filing is not None
    return filing


def _apply(delivery_id: uuid.UUID, kind: str, detail: str | None, occurred_at: datetime | None,
           once: bool, actor: ChamberActor | None = None, expected: str | None = None, due_on: date | None = None,
           files: Sequence[StoredFile] = (), form_token: str | None = None) -> Filing | None:
    if kind not in CHAMBER_EVENTS:
        raise EventRefused(f"unknown event {kind!r}")
    ref = deliveries.get(delivery_id)
    if ref is None:
        raise EventRefused("unknown delivery")
    _lock(ref.filing_id)
    filing = db.session.execute(select(Filing).where(Filing.id == ref.filing_id)).scalar_one()
    # the lock above waited for a concurrent change: read the status it committed
    db.session.refresh(filing)
    _refuse_sent_twice(filing, form_token)
    reported = occurred_at is not None  # a receiver's own time (callback, poll), not ours
    occurred_at = occurred_at or utcnow()
    if once and db.session.scalar(
        select(FilingEvent.id).where(FilingEvent.filing_id == ref.filing_id, FilingEvent.chamber_id == ref.chamber_id,
                                     FilingEvent.kind == kind, FilingEvent.occurred_at == occurred_at).limit(1)
    ) is not None:
        db.session.rollback()
        return None
    before = filing.status
    # a copy recipient's note does not depend on where the competent body has got to (it is
    # refused when repeated, below); only a withdrawal ends it
    if expected is not None and before != expected and ref.primary:
        raise StaleAction("filing", before, kind, filing.reference,
                          message=f"filing {filing.reference} is now {before}, not {expected}")
    if filing.status in CLOSED and (ref.primary or filing.status == FilingStatus.WITHDRAWN):
        raise TransitionRefused("filing", filing.status, kind, filing.reference,
                                message=f"filing {filing.reference} is closed ({filing.status})")
    if kind in PRIMARY_ONLY and not ref.primary:
        raise EventRefused("a copy recipient cannot report this event")
    if reported and ref.primary:
        _refuse_older_than_status(filing, ref.chamber_id, kind, occurred_at)
    if not ref.delivered:
        raise EventRefused("the delivery is not recorded as delivered yet")
    detail = (detail or "").strip()[:2000] or None
    if kind in (FilingStatus.REJECTED, FilingStatus.INFORMATION_REQUESTED) and not detail:
        raise EventRefused("a reason is required")
    if ref.primary:
        filing.status = MACHINE.check(filing.status, kind, filing.reference)
    elif db.session.scalar(select(FilingEvent.id).where(
            FilingEvent.filing_id == filing.id, FilingEvent.chamber_id == ref.chamber_id,
            FilingEvent.kind == kind).limit(1)) is not None:
        # a copy recipient notes the filing once
        raise TransitionRefused("filing", kind, kind, filing.reference,
                                message=f"filing {filing.reference}: {kind} is already recorded for this body")
    stats.chamber_event(delivery_id, kind, occurred_at)  # before the entry: it looks for the body's first
    db.session.add(FilingEvent(filing_id=filing.id, kind=kind, chamber_id=ref.chamber_id, occurred_at=occurred_at,
                               detail=detail))
    staff_id = actor.staff_id if actor is not None else None
    if kind == FilingStatus.INFORMATION_REQUESTED:
        db.session.add(FilingMessage(filing_id=filing.id, chamber_id=ref.chamber_id, kind=MessageKind.REQUEST,
                                     body=detail or "", staff_id=staff_id, due_on=due_on, created_at=occurred_at,
                                     form_token=form_token))
    elif kind in DECIDED and (detail or files):
        message = FilingMessage(filing_id=filing.id, chamber_id=ref.chamber_id, kind=MessageKind.DECISION,
                                body=detail or "", staff_id=staff_id, created_at=occurred_at, form_token=form_token)
        db.session.add(message)
        _attach(message, filing, files, "decision")
    if kind in DECIDED:
        deliveries.mark_decided(delivery_id, kind)
    chamber = db.session.get(Chamber, ref.chamber_id)
    notify.enqueue_status_changed(db.session, filing, kind, detail, chamber.name if chamber else "",
                                  documents=len(files), due_on=due_on)
    db.session.commit()
    if actor is not None:
        audit.record("filing.transition", actor.audit_id, detail=f"{before} → {kind}", filing_id=filing.id,
                     chamber_id=ref.chamber_id)
    return filing


def _refuse_older_than_status(filing: Filing, chamber_id: int, kind: str, occurred_at: datetime) -> None:
    """``TransitionRefused`` when a reported event is older than the step that set the filing's
    status (the body's own events and the company's answers): a late callback or a re-read event
    log must not move the status back (e.g. "in progress" of 10:00 arriving after the request of
    11:00 would otherwise take the filing out of "information requested")."""
    latest = db.session.scalar(
        select(FilingEvent.occurred_at)
        .where(FilingEvent.filing_id == filing.id,
               or_(and_(FilingEvent.chamber_id == chamber_id, FilingEvent.kind.in_(CHAMBER_EVENTS)),
                   FilingEvent.kind == FilingStatus.ANSWERED))
        .order_by(FilingEvent.occurred_at.desc()).limit(1))
    if latest is not None and occurred_at < latest:
        raise TransitionRefused("filing", filing.status, kind, filing.reference,
                                message=f"filing {filing.reference}: the event ({occurred_at.isoformat()}) is older "
                                        f"than its current status ({filing.status}, {latest.isoformat()})")


def _refuse_sent_twice(filing: Filing, form_token: str | None) -> None:
    """``AlreadySent`` if a message of ``filing`` carries ``form_token`` (read under the filing's
    lock; the unique constraint on (filing, token) backs it up)."""
    if queries.message_sent(filing.id, form_token):
        raise AlreadySent(f"filing {filing.reference}: a message with this form token is stored already")


def _attach(message: FilingMessage, filing: Filing, files: Sequence[StoredFile], field_name: str) -> None:
    for f in files:
        db.session.add(Attachment(company_id=filing.company_id, message=message, field_name=field_name,
                                  original_name=f.name, media_type=f.media_type, size=f.size, sha256=f.sha256,
                                  storage_key=f.storage_key))


def chamber_message(delivery_id: uuid.UUID, staff: StaffUser | ChamberActor, body: str,
                    files: Sequence[StoredFile] = (), form_token: str | None = None) -> FilingMessage:
    """A chamber's staff member (or its system through the API: a ``ChamberActor``) writes to the
    company about an open filing without changing its status (a question answered, a hint).
    Queues a mail to the company in the same transaction (``notify.enqueue_chamber_message``:
    names the portal, never carries the files). Commits. Raises ``ClosedFiling`` for a decided or
    withdrawn filing, ``AlreadySent`` when a message with ``form_token`` (the form's one-time
    token) is stored already, ``EventRefused`` for an empty message or an unknown or undelivered
    delivery."""
    actor = _chamber_actor(staff)
    try:
        body = (body or "").strip()[:5000]
        if not body:
            raise EventRefused("an empty message")
        ref = deliveries.get(delivery_id)
        if ref is None or not ref.delivered:
            raise EventRefused("unknown or undelivered delivery")
        _lock(ref.filing_id)
        filing = db.session.execute(select(Filing).where(Filing.id == ref.filing_id)).scalar_one()
        db.session.refresh(filing)
        _refuse_sent_twice(filing, form_token)
        if filing.status in CLOSED:
            raise ClosedFiling("filing", filing.status, filing.status, filing.reference,
                               message=f"filing {filing.reference} is closed ({filing.status})")
        message = FilingMessage(filing_id=filing.id, chamber_id=ref.chamber_id, kind=MessageKind.MESSAGE, body=body,
                                staff_id=actor.staff_id, created_at=utcnow(), form_token=form_token)
        db.session.add(message)
        _attach(message, filing, files, "message")
        notify.enqueue_chamber_message(db.session, filing, db.session.get_one(Chamber, ref.chamber_id).name, body,
                                       documents=len(files))
        db.session.commit()
    except Refused:
        db.session.rollback()
        raise
    audit.record("filing.message", actor.audit_id, detail="message to the company", filing_id=filing.id,
                 chamber_id=ref.chamber_id)
    return message


def takes_portal_replies(chamber: Chamber) -> bool:
    """Whether the company's answers reach this body: bodies that work filings in the portal's
    inbox read them there; the adapters that forward messages carry them to the body's system."""
    return deliveries.message_route(chamber) != deliveries.NOT_AT_ALL


def company_message(filing: Filing, person: Person, body: str, files: Sequence[StoredFile] = (),
                    request_id: int | None = None, form_token: str | None = None) -> FilingMessage:
    """The company writes to the chamber: an answer to an open request (``request_id``, or the
    oldest open one), else a message to the primary receiving body. Commits.

    Answering the last open request moves an ``information_requested`` filing to ``answered``
    ("Antwort eingegangen") with a timeline entry naming the chamber. A body that works in the
    portal's inbox reads the answer there at once; for a body with its own system a delivery of
    the message is written in the same commit (the outbox) and its adapter forwards it. Raises
    ``ClosedFiling`` for a decided or withdrawn filing, ``NoPortalReplies`` for a body the answer
    would not reach, ``ForeignRequest`` for a request that is not this filing's, ``AlreadySent``
    when a message with ``form_token`` (the form's one-time token) is stored already, and
    ``EventRefused`` for a request no longer open, or an empty message. Nothing is written when
    refused.
    """
    try:
        return _company_message(filing, person, body, files, request_id, form_token)
    except Refused:
        db.session.rollback()
        raise


def _company_message(filing: Filing, person: Person, body: str, files: Sequence[StoredFile],
                     request_id: int | None, form_token: str | None = None) -> FilingMessage:
    body = (body or "").strip()[:5000]
    if not body:
        raise EventRefused("an empty message")
    _lock(filing.id)
    db.session.refresh(filing)
    _refuse_sent_twice(filing, form_token)
    if filing.status in CLOSED:
        raise ClosedFiling("filing", filing.status, FilingStatus.ANSWERED, filing.reference,
                           message=f"filing {filing.reference} is closed ({filing.status})")
    open_requests = list(db.session.scalars(
        select(FilingMessage).where(FilingMessage.filing_id == filing.id, FilingMessage.kind == MessageKind.REQUEST,
                                    FilingMessage.answered_at.is_(None))
        .order_by(FilingMessage.created_at, FilingMessage.id)))
    request = None
    if request_id is not None:
        request = next((r for r in open_requests if r.id == request_id), None)
        if request is None and request_id not in {m.id for m in filing.messages if m.kind == MessageKind.REQUEST}:
            raise ForeignRequest("the request is not one of this filing's")
        if request is None:
            raise EventRefused("the request is not open on this filing")
    elif open_requests:
        request = open_requests[0]
    chamber_id = request.chamber_id if request is not None else deliveries.primary_chamber_id(filing.id)
    if chamber_id is None:
        raise EventRefused("the filing has no receiving body")
    chamber = db.session.get_one(Chamber, chamber_id)
    route = deliveries.message_route(chamber)
    if route == deliveries.NOT_AT_ALL:
        raise NoPortalReplies(f"chamber {chamber_id} does not take answers through the portal")
    now = utcnow()
    message = FilingMessage(filing_id=filing.id, chamber_id=chamber_id, kind=MessageKind.ANSWER, body=body,
                            person_id=person.id, reply_to_id=request.id if request else None, created_at=now,
                            forwarded_at=now if route == deliveries.BY_INBOX else None, form_token=form_token)
    db.session.add(message)
    _attach(message, filing, files, "answer")
    if deliveries.delivers_messages(chamber):  # the outbox: sent once this commits, never lost
        db.session.flush()
        deliveries.open_message_delivery(filing.id, chamber_id, message.id)
    if request is not None:
        # only one answer per request, also when two posts race (SQLite takes no row lock above)
        taken = db.session.execute(update(FilingMessage).where(FilingMessage.id == request.id,
                                                               FilingMessage.answered_at.is_(None))
                                   .values(answered_at=now))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise EventRefused("the request was answered meanwhile")
        db.session.refresh(request)
        still_open = [r for r in open_requests if r is not request]
        if filing.status == FilingStatus.INFORMATION_REQUESTED and not still_open:
            filing.status = MACHINE.check(filing.status, FilingStatus.ANSWERED, filing.reference)
            db.session.add(FilingEvent(filing_id=filing.id, kind=FilingStatus.ANSWERED, chamber_id=chamber_id,
                                       occurred_at=now))
    db.session.commit()
    audit.record("filing.message", person.get_id(), detail="answer to a request" if request else "message",
                 filing_id=filing.id, chamber_id=chamber_id)
    return message


__all__ = ["AlreadySent", "ChamberActor", "ClosedFiling", "EventRefused", "ForeignRequest", "NoPortalReplies",
           "NotWithdrawable", "StaleAction", "StoredFile",
           "apply_chamber_event", "chamber_message", "company_message", "mark_forwarded", "mark_messages_forwarded",
           "record_submitted", "staff_event", "takes_portal_replies", "withdraw"]
