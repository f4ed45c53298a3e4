"""Pooled connections are checked before use only when they sat idle.

A connection that served a request a moment ago is alive; asking the server on every checkout
(SQLAlchemy's ``pool_pre_ping``) costs one more round trip on every request. A connection idle
for longer than ``DB_PING_AFTER_IDLE_SECONDS`` is asked first (a restarted server, a proxy or
firewall that dropped it); one that does not answer is thrown away and the pool hands out
another, so the request does not fail.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

IDLE_SINCE = "bizportal_idle_since"


def install(engine: Engine, after_idle_seconds: float) -> None:
    """Ping ``engine``'s connections at checkout when idle for longer than ``after_idle_seconds``.

    Raises ``DisconnectionError`` from the checkout for a dead connection, which makes the pool
    discard it and try a fresh one.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from_now(dbapi_connection: Any, record: Any) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive_after_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get(IDLE_SINCE)
        if since is None or time.monotonic() - since <= after_idle_seconds:
            return  # new, or in use a moment ago
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()  # the ping opened a transaction (no autocommit)
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection dead after idle: {error}") from error
