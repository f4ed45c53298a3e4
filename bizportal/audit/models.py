"""The audit log: who did what, when, from where. Never a token or a secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model


class AuditEvent(Model):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: login_success, login_failure, logout, session_expired, role_change, access_refused, backchannel_logout
    action: Mapped[str] = mapped_column(String(40))
    #: the acting user ("company:3", "staff:7") or "anonymous"
    actor: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(300))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
