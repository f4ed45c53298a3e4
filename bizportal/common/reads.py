"""Reads of a GET request without a transaction round trip; every write still in one transaction.

psycopg opens a transaction with a ``BEGIN`` of its own before a request's first statement, and
the connection's return to the pool ends it with a ``ROLLBACK``: two round trips to the database
on every page, also on pages that only read. A connection a GET or HEAD request checks out
therefore starts in psycopg's autocommit mode (on PostgreSQL only): each plain ``SELECT`` runs as
a statement of its own. Under READ COMMITTED, PostgreSQL's level and the portal's, a statement
inside a transaction sees what was committed before the statement began, so a plain ``SELECT``
sees the same rows inside a transaction and outside one.

Before the first statement that is not a plain ``SELECT`` (an INSERT, UPDATE, DELETE, a ``SELECT …
FOR UPDATE``/``FOR SHARE``, an advisory lock, ``SET LOCAL``, a server-side cursor, anything else) the
connection leaves autocommit, so psycopg opens a transaction as before, and that statement and
everything after it up to the ``COMMIT`` or ``ROLLBACK`` is atomic as it always was. A connection
goes back to the pool with autocommit off (the worker, the CLI and POST requests use connections
exactly as before). A connection given an isolation level of its own
(``execution_options(isolation_level=…)``) is left as SQLAlchemy set it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flask import has_request_context, request
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

#: set in the pool record's ``info`` while this module holds the connection in autocommit
AUTOCOMMIT_READS = "bizportal_autocommit_reads"
READ_METHODS = frozenset({"GET", "HEAD"})

#: a statement that may run outside a transaction: it starts with SELECT ...
_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
#: ... and has nothing that needs one: row locks, functions that lock or write, SELECT INTO
_NEEDS_TRANSACTION = re.compile(
    r"\bFOR\s+(NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b|\bpg_|\bnextval\b|\bsetval\b|\bset_config\b|\bINTO\b",
    re.IGNORECASE)


@lru_cache(maxsize=2048)
def plain_select(statement: str) -> bool:
    """Whether ``statement`` only reads and takes no lock that lives until the end of a transaction.

    Errs towards False: a word like ``INTO`` inside a string literal makes a read run in a transaction,
    which costs two round trips and nothing else. Remembered per statement text (SQLAlchemy's
    compiled statements are the same few strings; a search through one costs more than the lookup).
    """
    return _SELECT.match(statement) is not None and _NEEDS_TRANSACTION.search(statement) is None


def install(engine: Engine) -> None:
    """Give connections checked out by GET and HEAD requests autocommit reads (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "checkout")
    def _reads_without_begin(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not has_request_context() or request.method not in READ_METHODS:
            return
        if dbapi_connection.autocommit or dbapi_connection.info.transaction_status != TransactionStatus.IDLE:
            return
        dbapi_connection.autocommit = True
        record.info[AUTOCOMMIT_READS] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _transaction_before_a_write(conn: Connection, cursor: Any, statement: str, parameters: Any,
                                    context: Any, executemany: bool) -> None:
        info = conn.info
        if not info.get(AUTOCOMMIT_READS):
            return
        if "isolation_level" in conn.get_execution_options():
            info.pop(AUTOCOMMIT_READS, None)  # SQLAlchemy set the connection's mode itself
            return
        if plain_select(statement) and getattr(cursor, "name", None) is None:  # a named cursor is server-side
            return
        info.pop(AUTOCOMMIT_READS, None)
        conn.connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]

    @event.listens_for(engine, "checkin")
    def _back_to_transactions(dbapi_connection: Any, record: Any) -> None:
        held = record.info.pop(AUTOCOMMIT_READS, None)
        if held and dbapi_connection is not None and not dbapi_connection.closed and dbapi_connection.autocommit:
            dbapi_connection.autocommit = False
