"""``flask --app wsgi chambers check [SLUG]`` and ``flask --app wsgi delivery poll``.

``register(app)`` adds the commands; ``bizportal/cli.py`` calls it.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup


def register(app: Flask) -> None:
    if "chambers" in app.cli.commands:  # registered already
        return

    chambers_group = AppGroup("chambers", help="Check the chambers' adapter settings.")
    app.cli.add_command(chambers_group)

    @chambers_group.command("check")
    @click.argument("slug", required=False)
    def chambers_check(slug: str | None) -> None:
        """Run each chamber's adapter check (it may contact the receiver); exit 1 on any failure."""
        from ..bodies import settings

        portal = app.extensions["bizportal"]
        try:
            results = settings.check_chambers(portal.registry, portal.adapter_services, slug)
        except LookupError:
            raise click.ClickException(f"no chamber with the slug '{slug}'") from None
        for r in results:
            if r.ok:
                click.echo(f"OK     {r.slug}")
            else:
                click.echo(f"FAILED {r.slug}: {r.message}")
        if any(not r.ok for r in results):
            raise SystemExit(1)

    delivery_group = AppGroup("delivery", help="Delivery tasks besides the worker loop.")
    app.cli.add_command(delivery_group)

    @delivery_group.command("poll")
    def delivery_poll() -> None:
        """Ask receivers with a back channel (FIT-Connect) for status events once and apply new ones."""
        from . import events

        report = events.poll_pass(app)
        if report.skipped:
            click.echo("another worker is polling right now; nothing done")
            return
        click.echo(f"{report.deliveries} delivery(ies) polled, {report.applied} event(s) applied, "
                   f"{report.refused} refused, {len(report.errors)} error(s)")
        for error in report.errors:
            click.echo(f"error  {error}", err=True)
        if report.errors:
            raise SystemExit(1)
