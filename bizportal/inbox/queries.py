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
