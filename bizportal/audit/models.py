"""The audit log: who did what, when, from where. Never a token or a secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model

#: what an entry's ``outcome`` can be
OUTCOMES = ("success", "refused", "failed")


class AuditEvent(Model):
    """One audited action. See the package docstring for what goes in which column."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_occurred_at", "occurred_at"),
        # the admin page filters by kind or by person, newest first
        Index("ix_audit_event_action_occurred_at", "action", "occurred_at"),
        Index("ix_audit_event_actor_occurred_at", "actor", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: what happened: a key of ``audit.kinds.KINDS`` (login_success, filing.transition, …)
    action: Mapped[str] = mapped_column(String(40))
    #: the acting user ("company:3", "staff:7") or "anonymous", "cli", "provider:<name>"
    actor: Mapped[str] = mapped_column(String(100))
    #: what the action was about, as text ("GET /staff/statistik", "company:4", "chamber:hwk-bremen")
    target: Mapped[str | None] = mapped_column(String(300))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    #: success, refused (access or transition not allowed) or failed (e.g. a login that did not succeed)
    outcome: Mapped[str] = mapped_column(String(16), default="success", server_default="success")
    #: the filing the action was about; no foreign key: the audit log outlives deleted filings
    filing_id: Mapped[int | None] = mapped_column(index=True)
    #: the receiving body the action was done for (a staff member's chamber); no foreign key either
    chamber_id: Mapped[int | None] = mapped_column()
