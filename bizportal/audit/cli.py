"""``flask --app wsgi audit verify`` and ``audit head``: check the audit log's hash chain, and pin
its end outside the database."""

from __future__ import annotations

import re

import click
from flask import Flask
from flask.cli import AppGroup

_HASH = re.compile(r"[0-9a-f]{64}\Z")


def register(app: Flask) -> None:
    group = AppGroup("audit", help="The audit log.")
    app.cli.add_command(group)

    @group.command("head")
    def head() -> None:
        """Print the chain's end: the number of chained entries and the last one's hash.

        Store the line off the database server (daily, e.g. in the backup log); ``audit verify
        --expect-count N --expect-head HASH`` then finds a chain cut back or rewritten since.
        """
        from . import services

        pinned = services.chain_head()
        click.echo(f"count={pinned.count} head={pinned.entry_hash}")

    @group.command("verify")
    @click.option("--expect-head", "expect_head", metavar="HASH",
                  help="a head printed earlier by 'audit head': the chain must still contain it")
    @click.option("--expect-count", "expect_count", type=click.IntRange(min=0), metavar="N",
                  help="the count printed with that head")
    def verify(expect_head: str | None, expect_count: int | None) -> None:
        """Check that no audit entry was changed, removed or slipped in since it was written.

        Exits with status 1 and names the first entry that breaks the chain. With
        ``--expect-head`` and ``--expect-count`` (printed earlier by ``audit head`` and kept
        outside the database) the chain must also still contain that entry.
        """
        from . import chain, services

        pinned = None
        if (expect_head is None) != (expect_count is None):
            raise click.UsageError("--expect-head and --expect-count go together (as 'audit head' prints them)")
        if expect_head is not None and expect_count is not None:
            if not _HASH.match(expect_head):
                raise click.UsageError("--expect-head must be the 64 hex digits 'audit head' printed")
            pinned = chain.Head(expect_count, expect_head)
        verdict = services.verify_chain(pinned)
        extra = []
        if verdict.before_chain:
            extra.append(f"{verdict.before_chain} written before the chain began, not covered")
        if verdict.still_open:
            extra.append(f"{verdict.still_open} aggregated row(s) of the current minute still counting")
        if verdict.broken is not None:
            intact = "" if verdict.broken.pinned else f" ({verdict.checked} entries before it are intact)"
            raise click.ClickException(f"audit chain broken at {verdict.broken.describe()}{intact}")
        summary = f"audit chain intact: {verdict.checked} entries checked"
        if pinned is not None:
            summary += f"; it still contains the pinned entry {pinned.count}"
        click.echo("; ".join([summary, *extra]))
