"""What a chamber system reads through the API; every query is scoped to the client's chamber.

The feed is the chamber's inbox items in ``feed_seq`` order (``inbox.models.InboxFeed`` says
why that order never skips or repeats an item). A filing is found by its reference among the
chamber's own items; another chamber's filing is not found at all (404, never 403).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from flask import url_for
from sqlalchemy import or_, select

from ..bodies.models import CHAMBER_KINDS, Chamber
from ..catalog import queries as catalog
from ..delivery.models import Delivery
from ..extensions import db
from ..filings.models import Attachment, Filing, FilingEvent, FilingMessage
from ..inbox import actions
from ..inbox import queries as inbox
from ..inbox.exports import answers
from ..inbox.models import InboxItem
from . import schemas


def feed(chamber_id: int, after: int | None, limit: int) -> schemas.FeedPage:
    """The chamber's filings behind position ``after`` (from the start without it), oldest first."""
    query = (select(InboxItem, Filing.status)
             .outerjoin(Delivery, Delivery.id == InboxItem.delivery_id)
             .outerjoin(Filing, Filing.id == Delivery.filing_id)
             .where(InboxItem.chamber_id == chamber_id, InboxItem.feed_seq.is_not(None)))
    if after is not None:
        query = query.where(InboxItem.feed_seq > after)
    rows = db.session.execute(query.order_by(InboxItem.feed_seq).limit(limit + 1)).all()
    more = len(rows) > limit
    entries = [_entry(item, status) for item, status in rows[:limit]]
    cursor = entries[-1].cursor if entries else (str(after) if after is not None else None)
    return schemas.FeedPage(filings=entries, next_cursor=cursor, has_more=more)


def _service(item: InboxItem) -> schemas.Service:
    service = catalog.get_service(item.service_key)
    return schemas.Service(key=item.service_key, title=item.service_title, leika=service.leika if service else None)


def _bundle(item: InboxItem) -> schemas.Bundle | None:
    """The bundle context as delivered to this chamber (``FilingPayload.bundle``), reduced to what
    the API promises of the other filings: reference, service and kind of body. Whatever else the
    stored context might hold is not passed on."""
    raw = item.bundle
    if not isinstance(raw, dict) or not raw.get("reference"):
        return None
    others = []
    for other in raw.get("filings") or []:
        key = str(other.get("service_key") or "")
        service = catalog.get_service(key)
        kind = other.get("body_kind")
        others.append(schemas.BundleFiling(
            reference=str(other.get("reference") or ""),
            service=schemas.Service(key=key, title=str(other.get("service_title") or key),
                                    leika=service.leika if service else None),
            body_kind=cast(Any, kind) if kind in CHAMBER_KINDS else None))
    return schemas.Bundle(reference=str(raw["reference"]), kind=str(raw.get("kind") or ""),
                          title=str(raw.get("title") or raw.get("kind") or ""), filings=others)


def _href(item: InboxItem) -> str:
    return url_for("api.filing", reference=item.reference)


def _entry(item: InboxItem, status: str | None) -> schemas.FeedEntry:
    return schemas.FeedEntry(
        reference=item.reference, cursor=str(item.feed_seq), service=_service(item),
        destination_role="primary" if item.destination_role == "primary" else "copy", status=cast(Any, status),
        company_name=(item.company or {}).get("name"), submitted_at=item.submitted_at,
        received_at=item.received_at, bundle=_bundle(item), href=_href(item))


def item_by_reference(chamber_id: int, reference: str) -> InboxItem | None:
    """The chamber's inbox item of the filing ``reference``, else None."""
    return db.session.scalar(select(InboxItem).where(InboxItem.chamber_id == chamber_id,
                                                     InboxItem.reference == reference.upper()).limit(1))


def filing_of(item: InboxItem) -> Filing | None:
    return inbox.filing_of(item)


def allowed_transitions(item: InboxItem, filing: Filing | None) -> list[str]:
    """The steps the chamber may take now: the same as the staff page offers (``inbox.actions``)."""
    if filing is None:
        return []
    service = catalog.get_service(item.service_key)
    return [value for value, _ in actions.allowed(filing.status, service.kind if service else None,
                                                  item.destination_role, inbox.noted(filing.id, item.chamber_id))]


def filing(item: InboxItem) -> schemas.Filing:
    """The whole filing as the chamber may see it."""
    record = filing_of(item)
    service = catalog.get_service(item.service_key)
    files = [schemas.FileLink(id=str(a.get("ref")), filename=str(a.get("filename")),
                              media_type=str(a.get("media_type")), size=int(a.get("size") or 0),
                              sha256=str(a.get("sha256")), field=a.get("field"),
                              href=url_for("api.attachment", reference=item.reference, attachment_id=a.get("ref")))
             for a in item.attachments or []]
    return schemas.Filing(
        reference=item.reference, cursor=str(item.feed_seq), service=_service(item),
        destination_role="primary" if item.destination_role == "primary" else "copy",
        status=cast(Any, record.status if record else None),
        allowed_transitions=cast(Any, allowed_transitions(item, record)),
        submitted_at=item.submitted_at, received_at=item.received_at, company=dict(item.company or {}),
        bundle=_bundle(item),
        answers=[schemas.Answer(**a) for a in answers(item, service)], attachments=files,
        timeline=_timeline(record.id, item.chamber_id) if record else [],
        messages=messages(item, record) if record else [])


def _timeline(filing_id: int, chamber_id: int) -> list[schemas.TimelineEntry]:
    rows = db.session.execute(
        select(FilingEvent.kind, FilingEvent.occurred_at, Chamber.name, FilingEvent.detail)
        .outerjoin(Chamber, Chamber.id == FilingEvent.chamber_id)
        .where(FilingEvent.filing_id == filing_id,
               or_(FilingEvent.chamber_id.is_(None), FilingEvent.chamber_id == chamber_id))
        .order_by(FilingEvent.occurred_at, FilingEvent.id))
    return [schemas.TimelineEntry(kind=kind, occurred_at=at, chamber=name, detail=detail)
            for kind, at, name, detail in rows]


def _author(m: FilingMessage) -> str | None:
    """The company's person, or the chamber's staff member (None for a chamber system's message)."""
    if m.from_company:
        return m.person.name if m.person else None
    return m.staff.display_name if m.staff else None


def message(item: InboxItem, m: FilingMessage) -> schemas.Message:
    author = _author(m)
    return schemas.Message(
        id=m.id, kind=cast(Any, m.kind), sender="company" if m.from_company else "chamber", author=author, body=m.body,
        created_at=m.created_at, due_on=m.due_on, answered_at=m.answered_at, reply_to=m.reply_to_id,
        files=[schemas.FileLink(id=str(a.id), filename=a.original_name, media_type=a.media_type, size=a.size,
                                sha256=a.sha256, field=None, href=url_for("api.attachment", reference=item.reference,
                                                              attachment_id=str(a.id)))
               for a in m.attachments])


def messages(item: InboxItem, record: Filing) -> list[schemas.Message]:
    """The conversation between the company and this chamber, oldest first."""
    return [message(item, m) for m in inbox.conversation(record.id, item.chamber_id)]


def attachment(item: InboxItem, attachment_id: str) -> Attachment | None:
    """A file of the filing as delivered to this chamber, or of this chamber's conversation on it."""
    try:
        key = uuid.UUID(attachment_id)
    except ValueError:
        return None
    if str(key) in {str(a.get("ref")) for a in item.attachments or []}:
        return db.session.get(Attachment, key)
    record = filing_of(item)
    return inbox.message_attachment(item.chamber_id, record.id, str(key)) if record else None
