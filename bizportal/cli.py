"""``flask --app wsgi ...`` commands: worker, demo-data, dev (the embedded all-in-one server)."""

from __future__ import annotations

import logging
import threading

import click
from flask import Flask

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
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

    @app.cli.command("demo-data")
    def demo_data_command() -> None:
        """Create the demo chambers (idempotent)."""
        from .demo import ensure_chambers

        n = ensure_chambers()
        click.echo(f"{n} demo chamber(s) created")

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
