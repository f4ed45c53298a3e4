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

    catalog_group = AppGroup("catalog", help="Check and import service and bundle definitions.")
    app.cli.add_command(catalog_group)

    @catalog_group.command("check")
    @click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
    def catalog_check(files: tuple[str, ...]) -> None:
        """Validate definition files (default: every loaded definition). A bundle file (one with a
        top-level `services` list) is checked against the served services and the services given."""
        from pathlib import Path

        from .catalog.bundle_loader import is_bundle_source, load_bundle_source
        from .catalog.loader import DefinitionError, load_definition_file

        portal = app.extensions["bizportal"]
        paths = [Path(f) for f in files]
        if not paths:
            portal.catalog_refresh.maybe_refresh()
            click.echo(f"{len(portal.catalog)} definition(s) and {len(portal.bundles)} bundle(s) loaded without error")
            return
        failed = False
        texts = {}
        for path in paths:
            try:
                texts[path] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                texts[path] = ""  # not a bundle: the definition loader names the error
        bundles = [path for path in paths if is_bundle_source(texts[path])]
        services = dict(portal.catalog)
        for path in (p for p in paths if p not in bundles):
            try:
                definition = load_definition_file(path)
                services[definition.key] = definition
                click.echo(f"ok    {path.name}: {definition.key}")
            except DefinitionError as exc:
                failed = True
                click.echo(f"error {exc}", err=True)
        for path in bundles:
            try:
                bundle = load_bundle_source(path.name, texts[path], services)
                click.echo(f"ok    {path.name}: bundle {bundle.key}")
            except DefinitionError as exc:
                failed = True
                click.echo(f"error {exc}", err=True)
        if failed:
            raise SystemExit(1)

    @catalog_group.command("import")
    @click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
    @click.option("--replace", is_flag=True, help="Allow replacing a definition with the same key.")
    def catalog_import(files: tuple[str, ...], replace: bool) -> None:
        """Validate service and bundle files and store them in the database, all or none; every web
        node and worker serves them within BIZPORTAL_CATALOG_REFRESH_SECONDS. A file with a top-level
        `services` list is a bundle; it is checked against the services as they are after the import,
        and so is every bundle already served."""
        from pathlib import Path

        from .catalog.loader import DefinitionError
        from .catalog.models import BundleDefinition
        from .catalog.services import ImportRefused, import_definitions

        refresher = app.extensions["bizportal"].catalog_refresh
        try:
            sources = [(Path(f).name, Path(f).read_text(encoding="utf-8")) for f in files]
            version, imported = import_definitions(sources, shipped=refresher.base, replace=replace,
                                                   shipped_bundles=refresher.base_bundles)
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"a file is not UTF-8 text: {exc}") from None
        except (DefinitionError, ImportRefused) as exc:
            raise click.ClickException(str(exc)) from None
        refresher.request_check()
        refresher.maybe_refresh()
        for definition in imported:
            kind = "bundle " if isinstance(definition, BundleDefinition) else ""
            click.echo(f"imported {kind}{definition.key}")
        click.echo(f"Catalog version {version}: every node serves it within "
                   f"{app.config['CATALOG_REFRESH_SECONDS']:g} seconds.")

    backup_group = AppGroup("backup", help="Back up and restore the database and the attachment files.")
    app.cli.add_command(backup_group)

    @backup_group.command("create")
    @click.argument("archive", type=click.Path(dir_okay=False, writable=True))
    def backup_create(archive: str) -> None:
        """Write one archive with the database, every attachment file and a manifest."""
        from pathlib import Path

        from .backup import BackupError, create_backup

        try:
            manifest = create_backup(app, Path(archive))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        files = manifest["attachments"]
        tables = manifest["database"]["tables"]
        click.echo(f"{archive}: database ({manifest['database']['dialect']}, {tables.get('filing', 0)} filing(s)), "
                   f"{files['count']} attachment file(s), {files['bytes']} bytes")
        if files["missing"]:
            click.echo(f"warning: {len(files['missing'])} attachment file(s) the database names were not in the "
                       f"storage: {', '.join(files['missing'][:10])}", err=True)

    @backup_group.command("restore")
    @click.argument("archive", type=click.Path(exists=True, dir_okay=False))
    @click.option("--replace", is_flag=True, help="Overwrite a database that already holds tables.")
    def backup_restore(archive: str, replace: bool) -> None:
        """Check the archive, then restore the database and the attachment files."""
        from pathlib import Path

        from .backup import BackupError, restore_backup

        try:
            manifest = restore_backup(app, Path(archive), replace=replace)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"restored: database at revision {manifest['database']['revision']}, "
                   f"{manifest['attachments']['count']} attachment file(s)")

    @app.cli.command("dev")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=None,
                  help="Port of the web server (default: BIZPORTAL_DEV_PORT, else 5000); the public base URL "
                       "follows it unless BIZPORTAL_PUBLIC_BASE_URL is set.")
    def dev_command(host: str, port: int | None) -> None:
        """Run the whole portal locally: login provider, delivery worker and web server. Refuses to
        start on a database whose schema is not at the migrations' head (every login would fail)."""
        from .extensions import db
        from .web import readiness

        with db.engine.connect() as conn:
            current = readiness.database_heads(conn)
        if current != readiness.code_heads(app.extensions["migrate"].directory):
            raise click.ClickException(
                "the database is not at the current schema"
                + (" (it is empty)" if not current else f" (at {', '.join(sorted(current))})")
                + ": run 'flask --app wsgi db upgrade head' and 'flask --app wsgi demo-data' first, "
                  "or start everything with bin/run")
        from .delivery.worker import Worker
        from .devprovider import start_provider
        from .web.devserver import dev_server

        served = app
        if port is not None and port != app.config["DEV_PORT"] or host != "127.0.0.1":
            # the configuration derives addresses from the port: build the app for this one
            from . import create_app

            served = create_app(dev_server=(host, port or app.config["DEV_PORT"]))
        cfg = served.config
        port = cfg["DEV_PORT"]
        provider = start_provider(cfg["DEV_OIDC_PORT"])
        worker = Worker(served, worker_id="dev-worker")
        threading.Thread(target=worker.run_forever, kwargs={"install_signal_handlers": False},
                         daemon=True, name="delivery-worker").start()
        from .demo import DEMO_USERS

        provider_url = f"http://127.0.0.1:{provider.server_port}"

        def issuer(name: str) -> str:
            value = cfg[name]
            return value if value == provider_url else f"{value} (set explicitly; not the development provider)"

        click.echo("")
        click.echo(f"  bizportal:              {cfg['PUBLIC_BASE_URL']}/ (listening on {host}:{port})")
        click.echo(f"  development login:      {provider_url} (BIZPORTAL_DEV_OIDC_PORT={cfg['DEV_OIDC_PORT']})")
        click.echo(f"  company issuer:         {issuer('COMPANY_OIDC_ISSUER')}")
        click.echo(f"  staff issuer:           {issuer('STAFF_OIDC_ISSUER')}")
        click.echo(f"  database:               {_without_password(cfg['SQLALCHEMY_DATABASE_URI'])}")
        click.echo(f"  session cookie:         {cfg['SESSION_COOKIE_NAME']}")
        click.echo("  demo company logins:    " + ", ".join(k for k, v in DEMO_USERS.items() if "org_id" in v))
        click.echo("  demo staff logins:      " + ", ".join(k for k, v in DEMO_USERS.items() if "roles" in v))
        click.echo("  (choose the login name on the provider's page)")
        click.echo("", nl=True)
        try:
            server = dev_server(host, port, served)  # the request log without query strings (OIDC codes)
            server.serve_forever()
        finally:
            worker.stop()
            provider.shutdown()


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
