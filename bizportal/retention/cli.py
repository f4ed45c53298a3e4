"""``flask --app wsgi retention run [--dry-run]``: delete what retention says is due, with a report."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup


def register(app: Flask) -> None:
    group = AppGroup("retention", help="Deleting drafts and closed filings on schedule.")
    app.cli.add_command(group)

    @group.command("run")
    @click.option("--dry-run", is_flag=True, help="Report what would be reminded and deleted; change nothing.")
    def run(dry_run: bool) -> None:
        """Remind the companies of drafts that will be deleted, delete untouched drafts and long-closed
        filings (periods from the service definitions), and report the counts per kind. Audited.
        The worker runs this once a day by itself (RETENTION_HOUR)."""
        from . import services

        report = services.run_recorded(app, dry_run=dry_run, actor="cli")
        assert report is not None  # a run without a day is never refused
        click.echo("retention dry run (nothing changed):" if dry_run else "retention run:")
        for line in report.lines():
            click.echo(f"  {line}")
