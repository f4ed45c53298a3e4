"""The database's clock: the one time that every worker and web process agree on.

Leases and due times are compared between processes on different machines, so the instants
they start from are taken from the database, never from the clock of the process that writes
them: a worker whose clock runs 30 s ahead would otherwise see every other worker's lease as run
out, and write timestamps that lie in the future. Durations (lease length, backoff) stay Python
values; only the base instant comes from here.

* PostgreSQL: ``statement_timestamp()``, the start of the statement. One instant for every row a
  statement touches (a batch claim or record), and unlike ``now()`` (the start of the
  transaction) never older than the statement itself. ``clock_timestamp()`` would change from
  row to row. The hot-path statements in ``delivery/pg.py`` spell it in their SQL: no round trip.
* SQLite runs inside the worker's process (one worker): its ``'now'`` (milliseconds, taken at the
  end of the tick) is read with one SELECT and bound as a parameter, so the stored text keeps
  exactly ``UTCDateTime``'s format and compares correctly with every other stored time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Interval, func, literal, text, type_coerce

from ..extensions import db
from .types import UTCDateTime

_SQLITE_NOW = text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
_SQLITE_TICK = timedelta(microseconds=999)


def is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def now() -> datetime:
    """The database's current time (aware, UTC), read with one statement in the session's transaction."""
    if is_postgres():
        value = db.session.scalar(text("SELECT statement_timestamp()"))
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    raw = db.session.scalar(_SQLITE_NOW)
    # SQLite's clock ticks in milliseconds; take the last microsecond of the tick, so a row written
    # with a microsecond time earlier in that same millisecond counts as already due.
    return datetime.strptime(str(raw), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC) + _SQLITE_TICK


def now_sql(plus: timedelta = timedelta(0)) -> ColumnElement[datetime]:
    """The database's current time plus ``plus``, for a statement about to be built and run at once.

    On PostgreSQL an expression evaluated by the statement itself (no extra round trip); on SQLite
    the value of ``now()`` bound as a parameter (SQLite has no interval arithmetic on stored text).
    """
    if is_postgres():
        base = func.statement_timestamp()
        return type_coerce(base + literal(plus, Interval()) if plus else base, UTCDateTime())
    return literal(now() + plus, UTCDateTime())
