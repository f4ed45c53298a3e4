"""bizportal: business-services portal. ``create_app`` wires everything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, session
from werkzeug.routing import IntegerConverter

from chambers.registry import AdapterRegistry

from . import migrating
from .catalog.bundle_loader import load_bundles
from .catalog.loader import load_catalog
from .catalog.models import BundleDefinition, ServiceDefinition
from .catalog.refresh import CatalogSnapshot
from .catalog.search import CatalogIndex
from .common import logs
from .common.limits import PortalRequest
from .common.virusscan import ClamdScanner
from .config import Settings, load_config
from .extensions import babel, csrf, db, login_manager

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent


def resource_dir(name: str) -> Path:
    """A run-time folder (``templates``, ``migrations``): at the top of the checkout, or, in an
    installed wheel, the copy inside the package (see setup.py)."""
    packaged = PACKAGE / name
    return packaged if packaged.is_dir() else ROOT / name


def _instance_path() -> str | None:
    """``BIZPORTAL_INSTANCE_PATH``; else ``instance/`` of the checkout; else (installed) Flask's
    default, ``<prefix>/var/bizportal-instance``."""
    from .config import instance_path_setting

    chosen = instance_path_setting()
    if chosen:
        return chosen
    return str(ROOT / "instance") if (ROOT / "wsgi.py").is_file() and (ROOT / "templates").is_dir() else None


@dataclass
class Portal:
    """What the portal keeps on the app: settings, the catalog and its search index, the adapter
    registry and the services adapters may use."""

    settings: Settings
    #: services, bundles and search index of one catalog version, replaced whole (``catalog.refresh``)
    snapshot: CatalogSnapshot
    registry: AdapterRegistry
    storage: Any
    #: the clamd client every upload goes through (``None``: not configured, no malware scan)
    scanner: ClamdScanner | None = None
    adapter_services: dict[str, Any] = field(default_factory=dict)
    #: keeps ``snapshot`` at the database's version (``catalog.refresh``)
    catalog_refresh: Any = None

    @property
    def catalog(self) -> Mapping[str, ServiceDefinition]:
        """The services of the current snapshot (read once per use: a refresh replaces the snapshot)."""
        return self.snapshot.services

    @property
    def bundles(self) -> Mapping[str, BundleDefinition]:
        """The life-event bundles of the current snapshot, checked against its services."""
        return self.snapshot.bundles

    @property
    def search_index(self) -> CatalogIndex:
        return self.snapshot.search_index


class DatabaseInt(IntegerConverter):
    """``<int:…>`` in URLs: an id beyond a 64-bit column is no route (404), not an overflow (500)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(overrides: dict[str, Any] | None = None, registry: AdapterRegistry | None = None,
               dev_server: tuple[str, int] | None = None) -> Flask:
    """Build the application: config → extensions → blueprints → catalog and adapter registry.

    ``dev_server`` (host, port): where ``flask dev`` serves it; the public base URL follows.

    A broken service definition raises ``DefinitionError`` here, so the app does not start.
    """
    app = Flask(
        __name__,
        template_folder=str(resource_dir("templates")),
        instance_path=_instance_path(),
        instance_relative_config=False,
    )
    app.url_map.converters["int"] = DatabaseInt  # before any route is added
    app.request_class = PortalRequest  # per-route body and form limits (common/limits.py)
    app.config.update(load_config(app.instance_path, overrides, dev_server))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_FIX_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    logs.configure(app.config["SETTINGS"].log_format)
    logs.install(app)

    db.init_app(app)
    from .common import dbpool, reads

    with app.app_context():
        for engine in db.engines.values():
            dbpool.install(engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
            reads.install(engine)
    migrating.install(app, db, str(resource_dir("migrations")))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    from . import models  # noqa: F401  (all tables known to SQLAlchemy and Alembic)
    from .auth import oidc
    from .auth import services as auth_services

    login_manager.user_loader(auth_services.load_user)
    oidc.register_clients(app)

    from .api.admin_views import bp as api_admin_bp
    from .api.views import bp as api_bp
    from .audit.views import bp as audit_bp
    from .auth.backchannel import bp as backchannel_bp
    from .auth.session_views import bp as sessions_bp
    from .auth.views import bp as auth_bp
    from .auth.workspace import bp as workspace_bp
    from .auth.workspace import require_review
    from .catalog.views import bp as catalog_bp
    from .delivery import body_views  # noqa: F401  (its routes join the delivery blueprint)
    from .delivery.views import bp as delivery_bp
    from .filings import bundle_views  # noqa: F401  (its routes join the filings blueprint)
    from .filings.views import bp as filings_bp
    from .inbox import export_views  # noqa: F401  (its routes join the inbox blueprint)
    from .inbox.views import bp as inbox_bp
    from .stats.views import bp as stats_bp
    from .web.views import bp as web_bp

    for bp in (api_bp, api_admin_bp, audit_bp, auth_bp, backchannel_bp, catalog_bp, web_bp, delivery_bp, filings_bp,
               inbox_bp, stats_bp, sessions_bp, workspace_bp):
        app.register_blueprint(bp)

    from .auth import sessions
    from .web import security, templating, widgets

    sessions.install(app)
    app.before_request(require_review)  # after the session check: only live sessions get here

    security.install(app)
    templating.install(app)
    widgets.install()

    from .api import oauth as api_oauth
    from .api import operations as api_operations

    api_oauth.install(app)
    api_operations.install(app)

    from .web import ratelimit

    ratelimit.install(app)  # after every blueprint: it wraps the registered views

    from .filings.storage import make_storage
    from .inbox.services import DatabaseInboxStore

    settings: Settings = app.config["SETTINGS"]
    if registry is None:
        registry = AdapterRegistry()
        registry.discover(allowed=settings.web.enabled_adapters)
    storage = make_storage(settings.storage)
    catalog = load_catalog(extra=Path(settings.web.catalog_dir))
    bundles = load_bundles(catalog)
    app.extensions["bizportal"] = Portal(
        settings=settings,
        snapshot=CatalogSnapshot(services=catalog, bundles=bundles,
                                 search_index=CatalogIndex(list(catalog.values()), list(bundles.values()))),
        registry=registry,
        storage=storage,
        scanner=(ClamdScanner(settings.web.clamd_address, settings.web.clamd_timeout)
                 if settings.web.clamd_address else None),
        adapter_services={"inbox_store": DatabaseInboxStore(), "storage": storage},
    )
    from .catalog.refresh import CatalogRefresher

    portal: Portal = app.extensions["bizportal"]
    portal.catalog_refresh = refresher = CatalogRefresher(portal, catalog, settings.web.catalog_refresh_seconds)

    @app.before_request
    def refresh_catalog() -> None:
        refresher.maybe_refresh()

    @app.context_processor
    def template_globals():
        from flask_babel import get_locale

        return {"current_locale": str(get_locale())}

    from . import cli

    cli.register(app)
    return app


def _select_locale() -> str:
    """The language switched to in this session, else the company person's stored choice, else German."""
    from flask_login import current_user

    lang = session.get("lang")
    if lang is None and current_user and current_user.is_authenticated:
        lang = getattr(current_user, "locale", None)
    return lang if lang in ("de", "en") else "de"
