"""Filings: what a company submitted for a service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import db


class FilingStatus:
    SUBMITTED = "submitted"
    FORWARDED = "forwarded"


class Filing(db.Model):
    """A submitted filing. Belongs to the company; records the acting person."""

    __tablename__ = "filing"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    #: one-time token of the form that produced this filing; makes submit idempotent
    submit_token: Mapped[str] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    service_key: Mapped[str] = mapped_column(String(100), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    company_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32), default=FilingStatus.SUBMITTED)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    company: Mapped["Company"] = relationship()  # noqa: F821
    person: Mapped["Person"] = relationship()  # noqa: F821
    deliveries: Mapped[list["Delivery"]] = relationship(  # noqa: F821
        back_populates="filing", order_by="Delivery.created_at"
    )
