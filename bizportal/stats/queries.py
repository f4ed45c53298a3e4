"""Aggregates for the steering dashboard. Reads only the rollup counters."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import StatCounter


def totals(session: Session, metric: str, since: date | None = None) -> list[tuple[str, int]]:
    """(dimension, total) for a metric, largest first."""
    stmt = select(StatCounter.dimension, func.sum(StatCounter.count)).where(
        StatCounter.metric == metric
    )
    if since is not None:
        stmt = stmt.where(StatCounter.day >= since)
    stmt = stmt.group_by(StatCounter.dimension).order_by(
        func.sum(StatCounter.count).desc(), StatCounter.dimension
    )
    return [(dim, int(total)) for dim, total in session.execute(stmt)]

