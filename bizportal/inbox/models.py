"""Items in a chamber's staff inbox (what the ``inbox`` adapter delivered) and each staff member's
last look at the list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import StaffUser
from ..bodies.models import Chamber
from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model


class InboxItem(Model):
    """A filing as received by a chamber; unique per delivery id, so re-delivery is a no-op.

    The filing's status is not copied here: the list joins ``filing.status`` (owned by
    ``filings.lifecycle``). ``company_name_folded`` and ``register_number`` are search keys taken
    from the delivered payload when the item is stored; the payload never changes afterwards.
    """

    __tablename__ = "inbox_item"
    __table_args__ = (
        # keyset pagination per sort order, always with the id as tiebreaker
        Index("ix_inbox_item_chamber_received", "chamber_id", "received_at", "id"),
        Index("ix_inbox_item_chamber_reference", "chamber_id", "reference", "id"),
        # reference "begins with" (LIKE 'X%') under any collation on PostgreSQL
        Index("ix_inbox_item_chamber_reference_prefix", "chamber_id", "reference",
              postgresql_ops={"reference": "varchar_pattern_ops"}),
        Index("ix_inbox_item_chamber_company", "chamber_id", "company_name_folded", "id"),
        # "assigned to me" (= id) and "unassigned" (IS NULL), newest first
        Index("ix_inbox_item_chamber_assigned", "chamber_id", "assigned_to_id", "received_at", "id"),
        Index("ix_inbox_item_chamber_register", "chamber_id", "register_number"),
        # "name contains" on PostgreSQL (pg_trgm); a plain index elsewhere
        Index("ix_inbox_item_company_trgm", "company_name_folded", postgresql_using="gin",
              postgresql_ops={"company_name_folded": "gin_trgm_ops"}),
        # the chamber's feed for the API (``GET /api/v1/filings?after=``)
        Index("ix_inbox_item_chamber_feed", "chamber_id", "feed_seq", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"), index=True)
    reference: Mapped[str] = mapped_column(String(32))
    service_key: Mapped[str] = mapped_column(String(100))
    service_title: Mapped[str] = mapped_column(String(255))
    destination_role: Mapped[str] = mapped_column(String(16))
    company: Mapped[dict[str, Any]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the life-event bundle the filing was submitted with, as delivered (``FilingPayload.bundle``)
    bundle: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the files received: [{ref, field, filename, media_type, size, sha256}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the delivered company name, casefolded (search "contains" and sort, alike on every database)
    company_name_folded: Mapped[str] = mapped_column(String(255), default="")
    #: register type and number of the delivered Handelsregisternummer, e.g. "HRB12345" (search key)
    register_number: Mapped[str | None] = mapped_column(String(40))
    #: the staff member working the item; written by the staff pages' assign action
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    #: position in the chamber's feed (1, 2, 3, …), drawn from ``InboxFeed`` in the transaction that
    #: stores the item, so the chamber's items commit in the order of this number
    feed_seq: Mapped[int | None] = mapped_column(BigInteger)

    chamber: Mapped[Chamber] = relationship()
    assigned_to: Mapped[StaffUser | None] = relationship()


class InboxFeed(Model):
    """The last feed position handed out per chamber.

    ``DatabaseInboxStore.put`` increments it with one upsert in the transaction that stores the
    item: the row stays locked until that commit, so a second item for the same chamber gets the
    next number only after the first one is visible. Readers paging with ``feed_seq > cursor``
    therefore never skip an item that commits later with a smaller number.
    """

    __tablename__ = "inbox_feed"

    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class InboxVisit(Model):
    """When a staff member last looked at their chamber's inbox, and since when items count as new.

    ``new_since`` is the last look of an earlier login (fixed for the whole login), so paging and
    filtering within one login do not use up "new".
    """

    __tablename__ = "inbox_visit"

    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), primary_key=True)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"), primary_key=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    new_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseNote(Model):
    """An internal note of a chamber's staff on an inbox item; the company never sees it."""

    __tablename__ = "case_note"
    __table_args__ = (
        # the note form's one-time token: the same form posted twice stores one note
        UniqueConstraint("item_id", "form_token", name="uq_case_note_form_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_item.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    form_token: Mapped[str | None] = mapped_column(String(36))

    staff: Mapped[StaffUser] = relationship()
