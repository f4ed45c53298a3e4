"""Flask-Migrate, loaded when something needs it: the ``flask db`` commands and the tests'
``flask_migrate.upgrade``. Flask-Migrate imports Alembic and Mako (11 MB of every process), which a
web worker serving pages never uses (``/readyz`` reads the heads itself: ``web.readiness``).

``install`` puts a stand-in at ``app.extensions["migrate"]`` that knows the migrations' directory
and, when anything else of it is read, sets Flask-Migrate up for the app (which replaces the
stand-in with Flask-Migrate's own record) and answers from that; and it registers a ``db`` command
group that lists and runs Flask-Migrate's commands."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

#: Flask-Migrate's settings for this portal's migrations (SQLite needs batch mode for ALTER)
RENDER_AS_BATCH = True


class LazyMigrate:
    """``app.extensions["migrate"]`` until Flask-Migrate is needed (see the module)."""

    def __init__(self, app: Flask, db: Any, directory: str) -> None:
        self.app = app
        self.db = db
        self.directory = directory

    def real(self) -> Any:
        """Flask-Migrate's record for the app (set up on the first call)."""
        from flask_migrate import Migrate

        current = self.app.extensions.get("migrate")
        if current is self:
            Migrate(self.app, self.db, directory=self.directory, render_as_batch=RENDER_AS_BATCH)
            current = self.app.extensions["migrate"]
        return current

    def __getattr__(self, name: str) -> Any:
        # only what this object does not have itself: Flask-Migrate's migrate, configure_args, metadata…
        return getattr(self.real(), name)


class LazyGroup(click.Group):
    """``flask db``: Flask-Migrate's command group, imported when the command line asks for it (the
    whole group is handed over in ``make_context``: its options, callback, commands and help)."""

    def _group(self) -> click.Group:
        from flask_migrate.cli import db as group  # type: ignore[import-untyped]

        return group

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        # the whole group is Flask-Migrate's from here on: its options (-d, -x) and its callback too
        return self._group().make_context(info_name, args, parent=parent, **extra)


def install(app: Flask, db: Any, directory: str) -> None:
    app.extensions["migrate"] = LazyMigrate(app, db, directory)
    app.cli.add_command(LazyGroup("db", help="Perform database migrations (Flask-Migrate)."))
