"""Notification rows: the mail queue, an outbox like ``Delivery`` (states in ``notify.states``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..common.states import TransitionRefused
from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model
from .states import MACHINE, NotificationState

if TYPE_CHECKING:
    from ..filings.models import Filing


class Notification(Model):
    """One mail to a company about a filing (or a draft: ``filing_id`` None, the context says
    which). Written in the same commit as the event it announces."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "state", "next_attempt_at"),)

    #: also the stable Message-ID of the mail, the same on every attempt
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(32))
    filing_id: Mapped[int | None] = mapped_column(ForeignKey("filing.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(255))
    #: language of the mail: the acting person's choice when it was queued
    locale: Mapped[str] = mapped_column(String(8))
    #: what the filing row does not hold, e.g. the event, its detail and the chamber's name
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default=NotificationState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    filing: Mapped[Filing | None] = relationship()

    @validates("state")
    def _check_state(self, _key: str, value: str) -> str:
        if self.state is None:  # a new row starts as pending
            if value != NotificationState.PENDING:
                raise TransitionRefused(MACHINE.name, "new", value, str(self.id or ""))
            return value
        return MACHINE.check(self.state, value, str(self.id))
