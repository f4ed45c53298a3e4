"""``flask --app wsgi stats daily``: the statistics' daily job (run it once a day, e.g. from cron)."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from ..common.time import local_today


def register(app: Flask) -> None:
    group = AppGroup("stats", help="Steering statistics.")
    app.cli.add_command(group)

    @group.command("daily")
    def daily() -> None:
        """Count drafts untouched for STATS_DRAFT_ABANDON_DAYS as abandoned; delete the active-company
        sets of days, weeks and months that are over (their counts stay)."""
        from . import services

        settings = current_app.config["SETTINGS"]
        abandoned = services.abandon_stale_drafts(settings.stats.draft_abandon_days)
        purged = services.purge_members(local_today(settings.web.timezone))
        click.echo(f"{abandoned} draft(s) counted as abandoned, {purged} set entr(ies) of closed periods deleted")
