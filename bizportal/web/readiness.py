"""What ``/readyz`` checks besides the database: the schema is at the migrations' head, and every
template the code names can be found (an install without its templates answers every page with
an error while the database is fine)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATE_NAME = re.compile(r"""["']([a-z0-9_]+(?:/[a-z0-9_.-]+)*\.(?:html|txt))["']""")


@cache
def code_heads(directory: str) -> frozenset[str]:
    """The head revisions of the migrations this code carries (read once per process)."""
    config = Config(str(Path(directory) / "alembic.ini"))
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_heads(connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


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
