"""Reads for the staff inbox; every query is scoped to the staff member's chamber."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import InboxItem


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
