"""Delivery rows: the transactional outbox, one row per (filing, receiving body)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..bodies.models import Chamber
from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model
from .states import DeliveryState

if TYPE_CHECKING:
    from ..filings.models import Filing

__all__ = ["Delivery", "DeliveryState"]


class Delivery(Model):
    """One filing to one destination. Written in the same commit as its filing (the outbox)."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("filing_id", "chamber_id", name="uq_delivery_filing_chamber"),
        Index("ix_delivery_due", "state", "next_attempt_at"),
        # the worker claims per chamber: oldest due rows of one chamber
        Index("ix_delivery_chamber_due", "chamber_id", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id"), index=True)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"))
    role: Mapped[str] = mapped_column(String(16), default="primary")
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    receiver_ref: Mapped[str | None] = mapped_column(String(255))
    #: the adapter's notes on this delivery (``chambers.base.Progress``), written during a send by
    #: the worker holding the lease (``claims.save_progress``) and handed to the next attempt
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chamber: Mapped[Chamber] = relationship(lazy="joined")
    filing: Mapped[Filing] = relationship(back_populates="deliveries")
