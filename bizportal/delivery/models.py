"""Delivery rows: the transactional outbox, one row per (filing, receiving body)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..bodies.models import Chamber
from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model
from .states import DeliveryState

if TYPE_CHECKING:
    from ..filings.models import Filing

__all__ = ["Delivery", "DeliveryState", "DeliveryTiming"]


#: the rows that carry a filing (the others carry a company's message about it)
_FILING_ROWS = text("message_id IS NULL")


class Delivery(Model):
    """One filing, or one company message about it (``message_id``), to one destination. Written
    in the same commit as the filing or the message (the outbox)."""

    __tablename__ = "delivery"
    __table_args__ = (
        # one delivery of a filing per destination; one per message
        Index("uq_delivery_filing_chamber", "filing_id", "chamber_id", unique=True,
              sqlite_where=_FILING_ROWS, postgresql_where=_FILING_ROWS),
        Index("uq_delivery_message", "message_id", unique=True),
        Index("ix_delivery_due", "state", "next_attempt_at"),
        # the worker claims per chamber: oldest due rows of one chamber
        Index("ix_delivery_chamber_due", "chamber_id", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    filing_id: Mapped[int] = mapped_column(ForeignKey("filing.id"), index=True)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"))
    #: a company's answer or message about the filing, forwarded through the chamber's adapter
    #: (``None``: the row carries the filing itself)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("filing_message.id"))
    role: Mapped[str] = mapped_column(String(16), default="primary")
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: attempts that went out and got no answer within their timeout (``NoAnswer``): they choose the
    #: next attempt's longer timeout and do not spend the ``DELIVERY_MAX_ATTEMPTS`` budget
    timeouts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    receiver_ref: Mapped[str | None] = mapped_column(String(255))
    #: the adapter's notes on this delivery (``chambers.base.Progress``), written during a send by
    #: the worker holding the lease (``claims.save_progress``) and handed to the next attempt
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the web request that opened the delivery (``common.logs``): the worker's log lines about
    #: sending it carry the same id
    request_id: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chamber: Mapped[Chamber] = relationship(lazy="joined")
    filing: Mapped[Filing] = relationship()


class DeliveryTiming(Model):
    """How one worker process saw one chamber answer over the recent window (``timing.AnswerTimes``).

    Each worker overwrites its own rows every ``DELIVERY_TIMING_PUBLISH_SECONDS``, off the hot
    path; the admin pages merge the rows published within the window (``queries.answer_times``).
    """

    __tablename__ = "delivery_timing"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered: Mapped[int] = mapped_column(Integer, default=0)  #: sends with an answer in the window
    timeouts: Mapped[int] = mapped_column(Integer, default=0)  #: sends without an answer in time
    #: answer times in milliseconds of the latest answered sends (a bounded sample)
    answer_ms: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: the longest answer timeout this worker used for the chamber in the window (seconds)
    longest_timeout: Mapped[float | None] = mapped_column(Float)
