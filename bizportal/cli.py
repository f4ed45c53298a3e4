"""``flask --app wsgi ...`` commands: worker, demo-data, dev (the embedded all-in-one server)."""

from __future__ import annotations

import logging
import threading

import click
from flask import Flask
from flask.cli import AppGroup

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    from .audit.cli import register as register_audit
    from .delivery.cli import register as register_delivery
    from .retention.cli import register as register_retention
    from .stats.cli import register as register_stats

    register_delivery(app)
    register_stats(app)
    register_audit(app)
    register_retention(app)

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    def worker_command(once: bool) -> None:
        """Deliver pending filings to the chambers through their adapters."""
        from .delivery.worker import Worker

        worker = Worker(app)
        if once:
            n = worker.run_once()
            click.echo(f"{n} delivery attempt(s) made")
        else:
            worker.run_forever()

    demo_group = AppGroup("demo", help="Demonstration data.")
    app.cli.add_command(demo_group)

    @demo_group.command("generate")
    @click.option("--filings", type=int, required=True, help="How many filings to make up.")
    @click.option("--days", type=int, default=365, show_default=True, help="Spread over the last DAYS days.")
    @click.option("--seed", type=int, default=14, show_default=True)
    def demo_generate(filings: int, days: int, seed: int) -> None:
        """Synthetic history of demo companies: filings, deliveries, case work, drafts, logins and
        their statistics (see bizportal/demo_history.py). Adds to what is there."""
        import time

        from .demo import ensure_chambers
        from .demo_history import generate

        ensure_chambers()
        t0 = time.perf_counter()
        written = generate(filings, days=days, seed=seed,
                           progress=lambda n: click.echo(f"{n} filings", err=True) if n % 100_000 == 0 else None)
        click.echo(", ".join(f"{n} {kind}" for kind, n in written.items()) + f" in {time.perf_counter() - t0:.0f} s")

    @app.cli.command("demo-data")
    def demo_data_command() -> None:
        """Create the demo chambers (idempotent)."""
        from .demo import ensure_chambers

        n = ensure_chambers()
        click.echo(f"{n} demo chamber(s) created")

    catalog_group = click.Group("catalog", help="Check and import service definitions.")
    app.cli.add_command(catalog_group)

    @catalog_group.command("check")
    @click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
    def catalog_check(files: tuple[str, ...]) -> None:
        """Validate definition files (default: every loaded definition)."""
        from pathlib import Path

        from .catalog.loader import DefinitionError, load_definition_file

        paths = [Path(f) for f in files]
        if not paths:
            click.echo(f"{len(app.extensions['bizportal'].catalog)} definition(s) loaded without error")
            return
        failed = False
        for path in paths:
            try:
                definition = load_definition_file(path)
                click.echo(f"ok    {path.name}: {definition.key}")
            except DefinitionError as exc:
                failed = True
                click.echo(f"error {exc}", err=True)
        if failed:
            raise SystemExit(1)

    @catalog_group.command("import")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
    @click.option("--replace", is_flag=True, help="Allow replacing a definition with the same key.")
    def catalog_import(files: tuple[str, ...], replace: bool) -> None:
        """Validate definition files and add them to the catalog directory (takes effect on restart)."""
        import shutil
        from pathlib import Path

        from .catalog.loader import DefinitionError, load_definition_file

        target = Path(app.config["CATALOG_DIR"])
        loaded = app.extensions["bizportal"].catalog
        checked = []
        for f in files:
            try:
                definition = load_definition_file(Path(f))
            except DefinitionError as exc:
                raise click.ClickException(str(exc)) from None
            if definition.key in loaded and not replace:
                raise click.ClickException(f"{Path(f).name}: a service '{definition.key}' exists; use --replace")
            checked.append((Path(f), definition))
        target.mkdir(parents=True, exist_ok=True)
        for path, definition in checked:  # only after every file passed: nothing is imported half
            shutil.copyfile(path, target / f"{definition.key}.toml")
            click.echo(f"imported {definition.key} into {target}")
        click.echo("Restart the web and worker processes to use the new definitions.")

    @app.cli.command("dev")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    def dev_command(host: str, port: int) -> None:
        """Run the whole portal locally: login provider, delivery worker and web server."""
        from werkzeug.serving import run_simple

        from .delivery.worker import Worker
        from .devprovider import start_provider

        issuer = app.config["COMPANY_OIDC_ISSUER"]
        provider = start_provider(app.config["DEV_OIDC_PORT"])
        worker = Worker(app, worker_id="dev-worker")
        threading.Thread(target=worker.run_forever, kwargs={"install_signal_handlers": False},
                         daemon=True, name="delivery-worker").start()
        from .demo import DEMO_USERS

        click.echo("")
        click.echo(f"  bizportal:              http://{host}:{port}/")
        click.echo(f"  development login:      {issuer} (provider on port {provider.server_port})")
        click.echo("  demo company logins:    " + ", ".join(k for k, v in DEMO_USERS.items() if "org_id" in v))
        click.echo("  demo staff logins:      " + ", ".join(k for k, v in DEMO_USERS.items() if "roles" in v))
        click.echo("  (choose the login name on the provider's page)")
        click.echo("")
        try:
            run_simple(host, port, app, threaded=True, use_reloader=False)
        finally:
            worker.stop()
            provider.shutdown()
