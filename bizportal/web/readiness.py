"""What ``/readyz`` checks besides the database: the schema is at the migrations' head, and every
template the code names can be found (an install without its templates answers every page with
an error while the database is fine)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from flask import Flask
from sqlalchemy import inspect, text

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATE_NAME = re.compile(r"""["']([a-z0-9_]+(?:/[a-z0-9_.-]+)*\.(?:html|txt))["']""")


#: a migration's ``revision = '…'`` and ``down_revision = '…'`` / ``('…', '…')`` / ``None`` lines
#: (optionally typed, as Alembic writes them)
_REVISION = re.compile(r"^revision(?:\s*:\s*[\w\[\], |]+)?\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:\s*:\s*[\w\[\], |]+)?\s*=\s*(.+)$", re.M)


@cache
def code_heads(directory: str) -> frozenset[str]:
    """The head revisions of the migrations this code carries: the revisions no other migration
    names as its ``down_revision`` (read once per process from the files, as Alembic reads them,
    without loading Alembic into a web worker; compared with Alembic's own in the tests)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for source in sorted((Path(directory) / "versions").glob("*.py")):
        code = source.read_text(encoding="utf-8")
        revision, down = _REVISION.search(code), _DOWN.search(code)
        if revision is None or down is None:
            raise ValueError(f"{source}: no revision or down_revision line")
        revisions.add(revision.group(1))
        parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions - parents)


def database_heads(connection) -> frozenset[str]:
    """The revisions the database is at (Alembic's ``alembic_version`` table; none before the first
    migration)."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


@cache
def named_templates() -> frozenset[str]:
    """Template names the package's code refers to by a literal (``render_template`` with a name in quotes)."""
    names: set[str] = set()
    for source in PACKAGE.rglob("*.py"):
        names.update(TEMPLATE_NAME.findall(source.read_text(encoding="utf-8")))
    return frozenset(names)


def missing_templates(app: Flask) -> list[str]:
    loader = app.jinja_loader
    available = set(loader.list_templates()) if loader is not None else set()
    return sorted(named_templates() - available)
