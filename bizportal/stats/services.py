"""Writes to the rollup counters. Callers pass their own session so counts share their commit."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session

from .models import StatCounter

FILINGS_PER_SERVICE = "filings_per_service"
FILINGS_PER_CHAMBER = "filings_per_chamber"
DELIVERED_PER_CHAMBER = "delivered_per_chamber"


def count_event(session: Session | scoped_session[Any], metric: str, dimension: str, day: date, n: int = 1) -> None:
    """Add ``n`` to the counter in the caller's transaction (an upsert, safe under concurrency)."""
    dialect = session.get_bind().dialect.name
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    stmt = insert(StatCounter).values(metric=metric, dimension=dimension, day=day, count=n)
    stmt = stmt.on_conflict_do_update(
        index_elements=["metric", "dimension", "day"],
        set_={"count": StatCounter.count + n},
    )
    session.execute(stmt)
