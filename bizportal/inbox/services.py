"""The store behind the ``inbox`` adapter: filings delivered into a chamber's staff inbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chambers.base import FilingPayload

from ..bodies.models import Chamber
from ..extensions import db
from .models import InboxItem


class UnknownChamber(LookupError):
    pass


class DatabaseInboxStore:
    """Implements ``chambers.inbox.InboxStore`` on the portal database, in its own transaction.

    Deduplicates on the delivery id: a repeated delivery returns the existing item.
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
                attachments=[{"ref": a.ref, "field": a.field, "filename": a.filename, "media_type": a.media_type,
                              "size": a.size, "sha256": a.sha256} for a in payload.attachments],
                submitted_at=payload.submitted_at,
            )
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
