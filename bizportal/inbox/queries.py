"""Reads for the staff inbox; every query is scoped to the staff member's chamber."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from ..auth.models import StaffUser
from ..extensions import db
from .models import CaseNote, InboxItem


def chamber_items(chamber_id: int) -> list[InboxItem]:
    return list(
        db.session.scalars(
            select(InboxItem).where(InboxItem.chamber_id == chamber_id).order_by(InboxItem.received_at.desc())
        )
    )


def chamber_item(chamber_id: int, item_id: int) -> InboxItem | None:
    """The item if it was delivered to this chamber, else None."""
    return db.session.scalar(
        select(InboxItem).where(InboxItem.id == item_id, InboxItem.chamber_id == chamber_id)
    )


def attachment_by_ref(ref):
    """The stored attachment a delivered inbox item refers to (callers check the item first)."""
    from ..filings.models import Attachment

    return db.session.get(Attachment, ref)


def filing_of(item: InboxItem):
    """The portal's filing behind an inbox item (for its current status and timeline)."""
    from ..delivery.models import Delivery
    from ..filings.models import Filing

    return db.session.scalar(select(Filing).join(Delivery, Delivery.filing_id == Filing.id)
                             .where(Delivery.id == item.delivery_id))


def statuses(items: list[InboxItem]) -> dict[int, str]:
    """Current filing status per inbox item id."""
    from ..delivery.models import Delivery
    from ..filings.models import Filing

    if not items:
        return {}
    by_delivery = {item.delivery_id: item.id for item in items}
    rows = db.session.execute(select(Delivery.id, Filing.status).join(Filing, Filing.id == Delivery.filing_id)
                              .where(Delivery.id.in_(list(by_delivery))))
    return {by_delivery[d]: st for d, st in rows}


def conversation(filing_id: int, chamber_id: int):
    """The messages between the company and this chamber about a filing, oldest first."""
    from ..filings.models import FilingMessage

    return list(db.session.scalars(
        select(FilingMessage).where(FilingMessage.filing_id == filing_id, FilingMessage.chamber_id == chamber_id)
        .order_by(FilingMessage.created_at, FilingMessage.id)))


def message_attachment(chamber_id: int, filing_id: int, attachment_id: str):
    """A file of this chamber's conversation on this filing, else None."""
    from ..filings.models import Attachment, FilingMessage

    try:
        key = uuid.UUID(attachment_id)
    except ValueError:
        return None
    return db.session.scalar(
        select(Attachment).join(FilingMessage, FilingMessage.id == Attachment.message_id)
        .where(Attachment.id == key, FilingMessage.filing_id == filing_id, FilingMessage.chamber_id == chamber_id))


def notes(item_id: int) -> list[CaseNote]:
    return list(db.session.scalars(select(CaseNote).where(CaseNote.item_id == item_id)
                                   .order_by(CaseNote.created_at, CaseNote.id)))


def noted(filing_id: int, chamber_id: int) -> bool:
    """Whether this chamber confirmed receipt of the filing already (a copy notes it once)."""
    from ..filings.models import FilingEvent
    from ..filings.states import FilingStatus

    return db.session.scalar(select(FilingEvent.id).where(
        FilingEvent.filing_id == filing_id, FilingEvent.chamber_id == chamber_id,
        FilingEvent.kind == FilingStatus.RECEIVED).limit(1)) is not None


def delivery_of(item: InboxItem):
    """The delivery that brought the item (state, attempts, times) for the delivery history."""
    from ..delivery.models import Delivery

    return db.session.get(Delivery, item.delivery_id)


def staff_history(filing_id: int, chamber_id: int) -> list[tuple[Any, str]]:
    """The audit entries of this chamber's staff on the filing, newest first, with the person's name."""
    from ..audit.models import AuditEvent

    staff = {f"staff:{s.id}": s.display_name for s in db.session.scalars(
        select(StaffUser).where(StaffUser.chamber_id == chamber_id))}
    if not staff:
        return []
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.target == f"filing:{filing_id}",
                                                         AuditEvent.actor.in_(list(staff)))
                                .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(200))
    return [(e, staff[e.actor]) for e in events]


def open_requests(chamber_id: int) -> list[tuple[Any, InboxItem]]:
    """This chamber's unanswered information requests on filings still waiting for the answer,
    soonest due first (no due date last), each with the inbox item to open."""
    from ..delivery.models import Delivery
    from ..filings.models import Filing, FilingMessage, MessageKind
    from ..filings.states import FilingStatus

    rows = db.session.execute(
        select(FilingMessage, InboxItem)
        .join(Filing, Filing.id == FilingMessage.filing_id)
        .join(Delivery, (Delivery.filing_id == FilingMessage.filing_id) & (Delivery.chamber_id == chamber_id))
        .join(InboxItem, InboxItem.delivery_id == Delivery.id)
        .where(FilingMessage.chamber_id == chamber_id, FilingMessage.kind == MessageKind.REQUEST,
               FilingMessage.answered_at.is_(None), Filing.status == FilingStatus.INFORMATION_REQUESTED)
        .order_by(FilingMessage.due_on.is_(None), FilingMessage.due_on, FilingMessage.id).limit(500))
    return [(m, item) for m, item in rows]
