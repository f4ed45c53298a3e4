"""Case-insensitive "contains" that also folds umlauts and other non-ASCII letters, alike on
PostgreSQL and SQLite.

SQLite's ``lower()`` (and so SQLAlchemy's ``icontains``/``ilike`` there) folds ASCII letters only:
"müller" would not find "Müller". On SQLite, ``lowered`` therefore compiles to a function the
portal registers on every SQLite connection (Python's ``str.lower``); on PostgreSQL it is the
built-in ``lower()``, which folds every letter in a UTF-8 database. Both lower-case the same way
(``ß`` stays ``ß``), so a search finds the same rows on either database.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import ColumnElement, String, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

#: the SQLite function behind ``lowered``
SQLITE_LOWER = "bizportal_lower"


class lowered(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    """``lower(text)`` for every letter, not only ASCII."""

    type = String()
    name = "lowered"
    inherit_cache = True


@compiles(lowered)
def _lower_default(element: lowered, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(lowered, "sqlite")
def _lower_sqlite(element: lowered, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def _python_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "connect")
def _register_sqlite_lower(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(SQLITE_LOWER, 1, _python_lower, deterministic=True)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_folded(column: Any, text: str) -> ColumnElement[bool]:
    """``column`` contains ``text``, ignoring case of every letter (``%`` and ``_`` in ``text`` are
    plain characters)."""
    return lowered(column).like("%" + _escape_like(text.lower()) + "%", escape="\\")
