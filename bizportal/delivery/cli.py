"""``flask --app wsgi chambers check [SLUG]``, ``flask --app wsgi delivery poll`` and
``flask --app wsgi deliveries resend --chamber SLUG --state dead|failing|all [--since WHEN]``.

``delivery`` and ``deliveries`` are two names of one command group (``deliveries resend`` as
operators know it from the issue, ``delivery poll`` as before). ``register(app)`` adds the
commands; ``bizportal/cli.py`` calls it.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
            results = settings.check_chambers(portal.registry, portal.adapter_services, slug,
                                              portal.settings.web.receiver_hosts)
        except LookupError:
            raise click.ClickException(f"no chamber with the slug '{slug}'") from None
        for r in results:
            if r.ok:
                click.echo(f"OK     {r.slug}")
            else:
                click.echo(f"FAILED {r.slug}: {r.problem}{f' {r.status}' if r.status else ''}"
                           f"{f': {r.message}' if r.message else ''}")
        if any(not r.ok for r in results):
            raise SystemExit(1)

    delivery_group = AppGroup("delivery", help="Delivery tasks besides the worker loop (also named 'deliveries').")
    app.cli.add_command(delivery_group)
    app.cli.add_command(delivery_group, "deliveries")

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

    @delivery_group.command("resend")
    @click.option("--chamber", "slug", required=True, metavar="SLUG", help="The chamber whose deliveries to re-send.")
    @click.option("--state", "kind", required=True, type=click.Choice(["dead", "failing", "all"]),
                  help="dead, failing (pending after a failed attempt) or all (both), as on the admin page.")
    @click.option("--since", type=_When(), metavar="YYYY-MM-DD|ISO-DATETIME",
                  help="Only deliveries created at or after this moment (UTC unless an offset is given).")
    def delivery_resend(slug: str, kind: str, since: datetime | None) -> None:
        """Re-send every delivery of a chamber that matches now: due at once, with a fresh attempt budget."""
        from ..audit import services as audit
        from ..bodies import queries as bodies
        from . import resend

        chamber = bodies.chamber_by_slug(slug)
        if chamber is None:
            raise click.ClickException(f"no chamber with the slug '{slug}'")
        n = resend.resend_matching(kind, chamber.id, since)
        audit.record("delivery_resend_all", "cli", target=f"zustand={kind} kammer={slug}",
                     detail=f"requeued={n} since={since.isoformat() if since else '-'}")
        click.echo(f"{n} delivery(ies) of {slug} re-queued")


class _When(click.ParamType):
    """A date (midnight UTC) or an ISO 8601 date and time (UTC unless it carries an offset)."""

    name = "when"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            when = datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"'{value}' is neither a date (YYYY-MM-DD) nor an ISO date and time", param, ctx)
        return when if when.tzinfo else when.replace(tzinfo=UTC)
