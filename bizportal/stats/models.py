"""Rollups for the steering group. No personal data, no filing ids, no company ids.

Every row is written in the same transaction as the event it counts (``stats.services``), so the
figures match the raw data exactly and survive the deletion of the filings, drafts and logins
they count.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model


class StatCounter(Model):
    """A daily count of one metric for one dimension value (a service key or a chamber slug).

    Kept for the admins' delivery overview (``delivered_per_chamber``); the steering dashboard
    reads ``StatRollup``.
    """

    __tablename__ = "stat_counter"
    __table_args__ = (
        UniqueConstraint("metric", "dimension", "day", name="uq_stat_counter_metric_dim_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(50))
    dimension: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer, default=0)


class StatRollup(Model):
    """How often one thing happened on one day (the portal's calendar day) for one combination of
    service, receiving body (kind and slug), adapter and detail.

    ``detail`` is the metric's own sub-key: the step an abandoned draft stopped at, the decision,
    the bucket of a time histogram (``stats.histogram``). Unused parts of the key are ``""``. The
    key never holds a company, a person or a filing.
    """

    __tablename__ = "stat_rollup"
    __table_args__ = (
        UniqueConstraint("metric", "day", "service_key", "body_kind", "chamber_slug", "adapter_key", "detail",
                         name="uq_stat_rollup_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    service_key: Mapped[str] = mapped_column(String(100), default="")
    body_kind: Mapped[str] = mapped_column(String(16), default="")
    chamber_slug: Mapped[str] = mapped_column(String(64), default="")
    adapter_key: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(64), default="")
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class StatHistogram(Model):
    """Durations of one kind (``metric``) on one day for one service and body, as a histogram:
    ``counts`` maps a bucket of ``stats.histogram`` (as text) to how many durations fell into it.
    One row per key instead of one per bucket, so a year of them is a few thousand rows. Kept per
    day and, under ``metric + ":m"`` and ``":y"``, per calendar month and year, like ``StatRollup``."""

    __tablename__ = "stat_histogram"
    __table_args__ = (
        UniqueConstraint("metric", "day", "service_key", "body_kind", "chamber_slug", name="uq_stat_histogram_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    service_key: Mapped[str] = mapped_column(String(100), default="")
    body_kind: Mapped[str] = mapped_column(String(16), default="")
    chamber_slug: Mapped[str] = mapped_column(String(64), default="")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=dict)


class ActiveMember(Model):
    """One company seen active in one period (a day, an ISO week, a calendar month), so that it is
    counted once per period. ``member`` is a keyed hash of the company id *and* the period
    (``stats.services.member_key``): it says nothing without the portal's secret key, and the same
    company's rows of two periods cannot be linked. Rows of a closed period are deleted by
    ``stats.services.purge_members``; their count stays in ``StatRollup``.
    """

    __tablename__ = "stat_active_member"

    period: Mapped[str] = mapped_column(String(12), primary_key=True)
    member: Mapped[str] = mapped_column(String(32), primary_key=True)


class AbandonedDraft(Model):
    """A draft counted as abandoned (untouched for ``STATS_DRAFT_ABANDON_DAYS``) that still exists:
    if it is submitted after all, the count is taken back; if it is deleted, the mark goes with
    it. Holds the draft's id only while the draft exists."""

    __tablename__ = "stat_abandoned_draft"
    __table_args__ = (Index("ix_stat_abandoned_draft_day", "day"),)

    draft_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    service_key: Mapped[str] = mapped_column(String(100))
    step: Mapped[str] = mapped_column(String(64))
