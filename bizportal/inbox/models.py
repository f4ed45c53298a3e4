"""Items in a chamber's staff inbox: what the ``inbox`` adapter delivered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..auth.models import StaffUser
from ..bodies.models import Chamber
from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model


class InboxItem(Model):
    """A filing as received by a chamber; unique per delivery id, so re-delivery is a no-op."""

    __tablename__ = "inbox_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"), index=True)
    reference: Mapped[str] = mapped_column(String(32))
    service_key: Mapped[str] = mapped_column(String(100))
    service_title: Mapped[str] = mapped_column(String(255))
    destination_role: Mapped[str] = mapped_column(String(16))
    company: Mapped[dict[str, Any]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the files received: [{ref, field, filename, media_type, size, sha256}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    chamber: Mapped[Chamber] = relationship()


class CaseNote(Model):
    """An internal note of a chamber's staff on an inbox item; the company never sees it."""

    __tablename__ = "case_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_item.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[StaffUser] = relationship()
