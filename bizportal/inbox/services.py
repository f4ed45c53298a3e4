"""The store behind the ``inbox`` adapter (filings delivered into a chamber's staff inbox), and the
record of a staff member's visits to the list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chambers.base import FilingPayload

from ..bodies.models import Chamber
from ..common.time import utcnow
from ..common.validators import register_key
from ..extensions import db
from .models import InboxFeed, InboxItem, InboxVisit

#: the answer of the catalog's services that holds the company's Handelsregisternummer
REGISTER_FIELD = "handelsregisternummer"


def search_keys(company: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The search columns of an inbox item, from the delivered company data and answers."""
    register = data.get(REGISTER_FIELD)
    return {"company_name_folded": str(company.get("name") or "").casefold()[:255],
            "register_number": register_key(register) if isinstance(register, str) else None}


class UnknownChamber(LookupError):
    pass


def next_feed_seq(session: Session, chamber_id: int) -> int:
    """The chamber's next feed position, in the caller's transaction. The upsert locks the
    chamber's counter row until that transaction ends (on SQLite it takes the write lock), so
    positions are handed out, and committed, one after the other per chamber."""
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    stmt = (insert(InboxFeed).values(chamber_id=chamber_id, last_seq=1)
            .on_conflict_do_update(index_elements=["chamber_id"], set_={"last_seq": InboxFeed.last_seq + 1})
            .returning(InboxFeed.last_seq))
    return int(session.execute(stmt).scalar_one())


def _plain_bundle(payload: FilingPayload) -> dict[str, Any] | None:
    """The payload's bundle context as stored on the item (None outside a bundle)."""
    bundle = getattr(payload, "bundle", None)
    return None if bundle is None else dict(bundle)


class DatabaseInboxStore:
    """Implements ``chambers.inbox.InboxStore`` on the portal database, in its own transaction.

    Deduplicates on the delivery id: a repeated delivery returns the existing item. Each new
    item gets the chamber's next feed position (``next_feed_seq``) as the last step before the
    commit, so the counter's lock is held only for the insert.
    """

    def put(self, chamber_slug: str, payload: FilingPayload) -> str:
        with Session(db.engine) as session:
            existing = session.scalar(select(InboxItem.id).where(InboxItem.delivery_id == payload.delivery_id))
            if existing is not None:
                return str(existing)
            chamber_id = session.scalar(select(Chamber.id).where(Chamber.slug == chamber_slug))
            if chamber_id is None:
                raise UnknownChamber(chamber_slug)
            item = InboxItem(
                delivery_id=payload.delivery_id,
                chamber_id=chamber_id,
                reference=payload.reference,
                service_key=payload.service_key,
                service_title=payload.service_title,
                destination_role=payload.destination_role,
                company=dict(payload.company),
                data=dict(payload.data),
                bundle=_plain_bundle(payload),
                attachments=[{"ref": a.ref, "field": a.field, "filename": a.filename, "media_type": a.media_type,
                              "size": a.size, "sha256": a.sha256} for a in payload.attachments],
                submitted_at=payload.submitted_at,
                **search_keys(payload.company, payload.data),
            )
            item.feed_seq = next_feed_seq(session, chamber_id)
            session.add(item)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                existing = session.scalar(
                    select(InboxItem.id).where(InboxItem.delivery_id == payload.delivery_id)
                )
                if existing is None:
                    raise
                return str(existing)
            return str(item.id)


def record_visit(staff_user_id: int, chamber_id: int, login_started_at: datetime | None) -> datetime | None:
    """A staff member opens their chamber's inbox list: remember the moment, and return since when
    items count as new for them (None: everything is new, the first visit).

    "New" means received after the person's last look at the list during an earlier login
    (``login_started_at`` is the start of the current one); within one login the answer stays the
    same, however often the list is opened, paged or filtered.

    One statement reads the visit and when the chamber's newest item arrived. The look is written
    (and committed) only when it changes an answer: the first look, the first look of a login
    (``new_since`` moves), or a look after an item arrived (the next login must not count that
    item as new). A look that saw nothing newer than the one
    written down leaves it: the next login's "new" would be the same items either way.
    """
    now = utcnow()
    key = (InboxVisit.staff_user_id == staff_user_id, InboxVisit.chamber_id == chamber_id)
    # the newest item's arrival, not "EXISTS an item newer than last_seen_at": the planner cannot
    # estimate the correlated comparison and scanned all of a big inbox when nothing was newer;
    # max() is one step down the (chamber_id, received_at, id) index
    newest = select(func.max(InboxItem.received_at)).where(InboxItem.chamber_id == chamber_id).scalar_subquery()
    seen = db.session.execute(select(InboxVisit.last_seen_at, InboxVisit.new_since, newest).where(*key)).one_or_none()
    if seen is None:
        db.session.add(InboxVisit(staff_user_id=staff_user_id, chamber_id=chamber_id, last_seen_at=now,
                                  new_since=None))
        db.session.commit()
        return None
    last_seen_at, new_since, newest_item = seen
    if login_started_at is None or last_seen_at < login_started_at:
        new_since = last_seen_at  # the first look of this login: "new" counts from the last one before it
    elif newest_item is None or newest_item <= last_seen_at:
        return new_since
    db.session.execute(update(InboxVisit).where(*key).values(last_seen_at=now, new_since=new_since))
    db.session.commit()
    return new_since
