"""Aggregates for the steering dashboard. Reads only the rollups."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import StatRollup


def totals(session: Session, metric: str, column: str, since: date | None = None) -> list[tuple[str, int]]:
    """(value of ``column``, total) of a rollup metric, largest first."""
    col = getattr(StatRollup, column)
    stmt = select(col, func.sum(StatRollup.count)).where(StatRollup.metric == metric)
    if since is not None:
        stmt = stmt.where(StatRollup.day >= since)
    stmt = stmt.group_by(col).order_by(func.sum(StatRollup.count).desc(), col)
    rows: list[Any] = list(session.execute(stmt))
    return [(str(dim), int(total)) for dim, total in rows]
