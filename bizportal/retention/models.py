"""The record of retention runs: what each deleted, and the worker's one run a day."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model


class RetentionRun(Model):
    """One run of ``retention.services.run``: who started it, and its report (counts per kind)."""

    __tablename__ = "retention_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the portal's calendar day of a worker's daily run (unique: one worker runs it per day);
    #: None for runs started with the command
    day: Mapped[date | None] = mapped_column(Date, unique=True)
    actor: Mapped[str] = mapped_column(String(100))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: counts per kind (``services.Report.counts``); None while it runs or when it failed
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
