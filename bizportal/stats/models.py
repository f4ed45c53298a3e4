"""Rollup counters for the steering group. No personal data, no filing ids."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model


class StatCounter(Model):
    """A daily count of one metric for one dimension value (a service key or a chamber slug).

    Written in the same transaction as the event it counts, so the counts stay exact and
    survive the deletion of the filings they count.
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
