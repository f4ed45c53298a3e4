"""``flask --app wsgi audit verify``: check the audit log's hash chain."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup


def register(app: Flask) -> None:
    group = AppGroup("audit", help="The audit log.")
    app.cli.add_command(group)

    @group.command("verify")
    def verify() -> None:
        """Check that no audit entry was changed, removed or slipped in since it was written.

        Exits with status 1 and names the first entry that breaks the chain.
        """
        from . import services

        verdict = services.verify_chain()
        extra = []
        if verdict.before_chain:
            extra.append(f"{verdict.before_chain} written before the chain began, not covered")
        if verdict.still_open:
            extra.append(f"{verdict.still_open} aggregated row(s) of the current minute still counting")
        if verdict.broken is not None:
            raise click.ClickException(
                f"audit chain broken at {verdict.broken.describe()} ({verdict.checked} entries before it are intact)")
        summary = f"audit chain intact: {verdict.checked} entries checked"
        click.echo("; ".join([summary, *extra]))
