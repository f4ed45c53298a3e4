"""Configuration. The only module that reads ``os.environ`` (prefix ``BIZPORTAL_``)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PREFIX = "BIZPORTAL_"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None) -> list[str] | None:
    """A comma-separated setting as a list; unset or empty gives None."""
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    return items or None


def _env(name: str, default: Any = None) -> Any:
    return os.environ.get(PREFIX + name, default)


def _json(text: str, name: str) -> Any:
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"{PREFIX}{name} is not valid JSON: {exc}") from None


def _acr_mapping(text: str | None) -> dict[str, str]:
    from .auth.trust import parse_mapping

    return parse_mapping(text)


def instance_path_setting() -> str | None:
    """``BIZPORTAL_INSTANCE_PATH``: the folder for the embedded defaults (SQLite file, uploads, mail)."""
    return _env("INSTANCE_PATH") or None


def log_format_setting(env: str | None = None) -> str:
    """``BIZPORTAL_LOG_FORMAT``: ``json`` (one object per line; the production default) or ``text``
    (the development default). Read by ``create_app`` and by ``gunicorn.conf.py``."""
    from .common.logs import FORMATS

    env = env or _env("ENV", "development")
    value = str(_env("LOG_FORMAT", "json" if env == "production" else "text")).strip().lower()
    if value not in FORMATS:
        raise RuntimeError(f"{PREFIX}LOG_FORMAT must be json or text, not {value!r}")
    return value


def _port(name: str, default: str) -> int:
    value = str(_env(name, default)).strip()
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise RuntimeError(f"{PREFIX}{name} must be a port number (1–65535), not {value!r}")
    return int(value)


def load_config(instance_path: str, overrides: dict[str, Any] | None = None,
                dev_server: tuple[str, int] | None = None) -> dict[str, Any]:
    """Build the Flask config from defaults, ``BIZPORTAL_*`` variables and test overrides.

    ``BIZPORTAL_ENV`` is ``development`` (the embedded default) or ``production``; production
    refuses to start without an explicit secret key, database URL, login providers and the
    operator's identity (``REQUIRED_IN_PRODUCTION``). ``dev_server`` (host, port) is where
    ``flask dev`` serves, when it was given on the command line; else ``BIZPORTAL_DEV_PORT``.
    """
    env = _env("ENV", "development")
    default_db = "sqlite:///" + str(Path(instance_path) / "bizportal.sqlite")
    secret = _env("SECRET_KEY")
    # The development server (``flask dev``) and its login provider: the public base URL and the
    # issuers follow their ports unless they are set explicitly.
    dev_port = _port("DEV_OIDC_PORT", "9400")
    dev_issuer = f"http://127.0.0.1:{dev_port}"
    web_host, web_port = dev_server or ("127.0.0.1", _port("DEV_PORT", "5000"))
    if web_host in ("0.0.0.0", "::", ""):
        web_host = "127.0.0.1"
    dev_base_url = f"http://{web_host}:{web_port}"
    demo = env != "production"
    cfg: dict[str, Any] = {
        "ENV_NAME": env,
        "SECRET_KEY": secret or ("dev-only-insecure-secret" if env != "production" else None),
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL", default_db),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        #: a pooled connection idle for longer is asked whether it is alive before use (common/dbpool.py)
        "DB_PING_AFTER_IDLE_SECONDS": float(_env("DB_PING_AFTER_IDLE_SECONDS", "5")),
        # OIDC: companies
        "COMPANY_OIDC_ISSUER": _env("COMPANY_OIDC_ISSUER", dev_issuer),
        "COMPANY_OIDC_CLIENT_ID": _env("COMPANY_OIDC_CLIENT_ID", "bizportal-company"),
        "COMPANY_OIDC_CLIENT_SECRET": _env("COMPANY_OIDC_CLIENT_SECRET", "dev-company-secret"),
        "COMPANY_OIDC_SCOPE": _env("COMPANY_OIDC_SCOPE", "openid profile email"),
        "COMPANY_ID_CLAIM": _env("COMPANY_ID_CLAIM", "org_id"),
        # OIDC: staff
        "STAFF_OIDC_ISSUER": _env("STAFF_OIDC_ISSUER", dev_issuer),
        "STAFF_OIDC_CLIENT_ID": _env("STAFF_OIDC_CLIENT_ID", "bizportal-staff"),
        "STAFF_OIDC_CLIENT_SECRET": _env("STAFF_OIDC_CLIENT_SECRET", "dev-staff-secret"),
        "STAFF_OIDC_SCOPE": _env("STAFF_OIDC_SCOPE", "openid profile email"),
        "STAFF_ROLES_CLAIM": _env("STAFF_ROLES_CLAIM", "roles"),
        "STAFF_CHAMBER_CLAIM": _env("STAFF_CHAMBER_CLAIM", "chamber"),
        #: "provider value=portal role" pairs, e.g. "hwk-sachbearbeitung=chamber_staff,lenkungskreis=steering"
        "STAFF_ROLE_MAPPING": _env("STAFF_ROLE_MAPPING", ""),
        "OIDC_TIMEOUT": float(_env("OIDC_TIMEOUT", "10")),
        "OIDC_CLOCK_SKEW": int(_env("OIDC_CLOCK_SKEW", "60")),
        "OIDC_METADATA_MAX_AGE": int(_env("OIDC_METADATA_MAX_AGE", "3600")),
        "OIDC_LOGIN_MAX_AGE": int(_env("OIDC_LOGIN_MAX_AGE", "600")),
        #: a token naming an unknown key refetches the provider's key set at most this often
        "OIDC_JWKS_REFETCH_SECONDS": float(_env("OIDC_JWKS_REFETCH_SECONDS", "60")),
        "COMPANY_OIDC_CLAIMS_OPTIONS": _json(_env("COMPANY_OIDC_CLAIMS_OPTIONS", "{}"), "COMPANY_OIDC_CLAIMS_OPTIONS"),
        "STAFF_OIDC_CLAIMS_OPTIONS": _json(_env("STAFF_OIDC_CLAIMS_OPTIONS", "{}"), "STAFF_OIDC_CLAIMS_OPTIONS"),
        "OIDC_ACR_MAPPING": _acr_mapping(_env("OIDC_ACR_MAPPING")),
        "OIDC_ALLOWED_ALGS": [a.strip() for a in _env("OIDC_ALLOWED_ALGS", "RS256,ES256").split(",")],
        # Delivery worker
        "DELIVERY_MAX_ATTEMPTS": int(_env("DELIVERY_MAX_ATTEMPTS", "12")),
        "DELIVERY_LEASE_SECONDS": int(_env("DELIVERY_LEASE_SECONDS", "120")),
        "DELIVERY_BACKOFF_BASE_SECONDS": float(_env("DELIVERY_BACKOFF_BASE_SECONDS", "30")),
        "DELIVERY_BACKOFF_MAX_SECONDS": float(_env("DELIVERY_BACKOFF_MAX_SECONDS", "21600")),
        #: after a send got no answer in time, the next attempt waits twice as long, up to this cap
        "DELIVERY_TIMEOUT_CAP_SECONDS": float(_env("DELIVERY_TIMEOUT_CAP_SECONDS", "120")),
        #: sends without an answer at the cap before a delivery is dead
        "DELIVERY_TIMEOUT_CAP_ATTEMPTS": int(_env("DELIVERY_TIMEOUT_CAP_ATTEMPTS", "3")),
        #: answer times and timeouts per chamber shown to admins: over this window, published this often
        "DELIVERY_TIMING_WINDOW_SECONDS": float(_env("DELIVERY_TIMING_WINDOW_SECONDS", "900")),
        "DELIVERY_TIMING_PUBLISH_SECONDS": float(_env("DELIVERY_TIMING_PUBLISH_SECONDS", "15")),
        "WORKER_POLL_SECONDS": float(_env("WORKER_POLL_SECONDS", "2")),
        "WORKER_THREADS": int(_env("WORKER_THREADS", "16")),
        "DELIVERY_CHAMBER_CONCURRENCY": int(_env("DELIVERY_CHAMBER_CONCURRENCY", "4")),
        "DELIVERY_BREAKER_THRESHOLD": int(_env("DELIVERY_BREAKER_THRESHOLD", "5")),
        "DELIVERY_BREAKER_COOLDOWN_SECONDS": float(_env("DELIVERY_BREAKER_COOLDOWN_SECONDS", "30")),
        "DELIVERY_BREAKER_MAX_COOLDOWN_SECONDS": float(_env("DELIVERY_BREAKER_MAX_COOLDOWN_SECONDS", "600")),
        "WORKER_SHUTDOWN_GRACE_SECONDS": float(_env("WORKER_SHUTDOWN_GRACE_SECONDS", "30")),
        "WORKER_CLAIM_LINGER_SECONDS": float(_env("WORKER_CLAIM_LINGER_SECONDS", "0.02")),
        "WORKER_WRITE_LINGER_SECONDS": float(_env("WORKER_WRITE_LINGER_SECONDS", "0.005")),
        "DELIVERY_EVENTS_POLL_SECONDS": float(_env("DELIVERY_EVENTS_POLL_SECONDS", "300")),
        "DELIVERY_EVENTS_MAX_AGE_DAYS": int(_env("DELIVERY_EVENTS_MAX_AGE_DAYS", "30")),
        "DELIVERY_EVENTS_POLL_LIMIT": int(_env("DELIVERY_EVENTS_POLL_LIMIT", "500")),
        "DELIVERY_ASYNC_COMMIT": _bool(_env("DELIVERY_ASYNC_COMMIT", "false")),
        #: how long a worker leaves a chamber alone after its adapter reported unusable settings
        "DELIVERY_CONFIG_RECHECK_SECONDS": float(_env("DELIVERY_CONFIG_RECHECK_SECONDS", "60")),
        #: comma-separated adapter keys to load (e.g. "inbox,webhook"); unset: every installed adapter
        "ENABLED_ADAPTERS": _env("ENABLED_ADAPTERS"),
        #: bearer token Prometheus sends to /metrics; unset: /metrics answers 404
        "METRICS_TOKEN": _env("METRICS_TOKEN"),
        #: the portal's public address, for links in mails sent outside a web request (worker)
        #: "json" (one object per log line; production default) or "text" (development default)
        "LOG_FORMAT": log_format_setting(env),
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", dev_base_url).rstrip("/"),
        # Web
        "WTF_CSRF_TIME_LIMIT": 3600 * 8,
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": _env("TIMEZONE", "Europe/Berlin"),
        "LANGUAGES": ["de", "en"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_PATH": "/",
        "SESSION_COOKIE_DOMAIN": None,  # host-only: the __Host- prefix forbids a Domain attribute
        #: host names the portal answers (the Host header builds the redirect URI and links); unset: any
        "TRUSTED_HOSTS": _list(_env("TRUSTED_HOSTS")),
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(_env("COOKIE_SECURE", "false" if env != "production" else "true")),
        "SESSION_IDLE_MINUTES": int(_env("SESSION_IDLE_MINUTES", "30")),
        "SESSION_ABSOLUTE_HOURS": int(_env("SESSION_ABSOLUTE_HOURS", "8")),
        #: how often a session's role or company is confirmed again at the login provider (0 = never)
        "SESSION_RECHECK_MINUTES": float(_env("SESSION_RECHECK_MINUTES", "5")),
        #: how long past a missed re-check a session survives a provider that cannot be asked
        "SESSION_RECHECK_GRACE_MINUTES": float(_env("SESSION_RECHECK_GRACE_MINUTES", "30")),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(_env("SESSION_ABSOLUTE_HOURS", "8"))),
        #: the signed cookie is written when the session changes (the login, a language switch, a flash
        #: message), not signed anew for every response. Its lifetime, dated from its last change (never
        #: before the login), is the absolute limit the server-side session enforces from the login on
        #: (``auth.sessions``), so the cookie lasts at least as long as the login it carries, as before.
        "SESSION_REFRESH_EACH_REQUEST": False,
        #: largest request body of a route that takes files (filing steps, messages, staff decisions)
        "MAX_CONTENT_LENGTH": int(_env("MAX_CONTENT_LENGTH", str(25 * 1024 * 1024))),
        #: largest body of every other form post, and of any URL-encoded post (a form step needs kilobytes)
        "FORM_MAX_BODY_BYTES": int(_env("FORM_MAX_BODY_BYTES", str(256 * 1024))),
        #: largest single text field of a form, and the most fields (parts) one form may send
        "FORM_MAX_FIELD_BYTES": int(_env("FORM_MAX_FIELD_BYTES", str(64 * 1024))),
        "FORM_MAX_PARTS": int(_env("FORM_MAX_PARTS", "1000")),
        #: a filing step's hard ceiling for its text (URL-encoded body, one multipart text field): under it an
        #: answer over its field's maximum length is shown with the field's error, the others kept; over it 413
        "STEP_MAX_TEXT_BYTES": int(_env("STEP_MAX_TEXT_BYTES", str(1024 * 1024))),
        #: per company: drafts open at the same time, and the megabytes of files kept in its drafts
        "DRAFT_MAX_OPEN_PER_COMPANY": int(_env("DRAFT_MAX_OPEN_PER_COMPANY", "50")),
        "DRAFT_MAX_STORED_MB_PER_COMPANY": float(_env("DRAFT_MAX_STORED_MB_PER_COMPANY", "500")),
        #: number of reverse proxies in front (their X-Forwarded-* headers are trusted); 0 = none
        "PROXY_FIX_HOPS": int(_env("PROXY_FIX_HOPS", "0")),
        # The operator's identity: header, legal pages, mails, receipts. Development shows
        # demo values that say so; production refuses to start without the real ones.
        "PORTAL_NAME": _env("PORTAL_NAME", "Unternehmensportal (Demo)" if demo else None),
        "LAND": _env("LAND", "Demoland – keine Behörde" if demo else None),
        #: an image file (served at /betreiber/logo) or a URL on the portal's own origin
        "LOGO": _env("LOGO"),
        #: who operates the portal (authority, address; one line), named on every receipt and the imprint
        "OPERATOR": _env("OPERATOR", "Demo-Betreiber, Musterstraße 1, 12345 Musterstadt (Entwicklungsinstallation)"
                         if demo else None),
        #: the same three in English, for English receipts (unset: the German text)
        "PORTAL_NAME_EN": _env("PORTAL_NAME_EN", "Business portal (demo)" if demo else None),
        "LAND_EN": _env("LAND_EN", "Demoland – not a public authority" if demo else None),
        "OPERATOR_EN": _env("OPERATOR_EN", "Demo operator, Musterstraße 1, 12345 Musterstadt (development installation)"
                            if demo else None),
        "IMPRINT_REPRESENTATIVE": _env("IMPRINT_REPRESENTATIVE", "Erika Mustermann (Demo)" if demo else None),
        "IMPRINT_EMAIL": _env("IMPRINT_EMAIL", "kontakt@unternehmensportal.example" if demo else None),
        "IMPRINT_PHONE": _env("IMPRINT_PHONE"),
        "PRIVACY_CONTACT": _env("PRIVACY_CONTACT", "Datenschutzbeauftragte des Demo-Betreibers, Musterstraße 1, "
                                "12345 Musterstadt" if demo else None),
        "PRIVACY_EMAIL": _env("PRIVACY_EMAIL", "datenschutz@unternehmensportal.example" if demo else None),
        "ACCESSIBILITY_EMAIL": _env("ACCESSIBILITY_EMAIL",
                                    "barrierefreiheit@unternehmensportal.example" if demo else None),
        "PREFERRED_URL_SCHEME": "https" if env == "production" else "http",
        #: extra definition files each process reads at start (deployed with the node); imports go to the database
        "CATALOG_DIR": _env("CATALOG_DIR", str(Path(instance_path) / "services")),
        #: how often (seconds) each process looks whether ``flask catalog import`` changed the catalog
        "CATALOG_REFRESH_SECONDS": float(_env("CATALOG_REFRESH_SECONDS", "30")),
        # Attachments: "local" (UPLOAD_DIR on this machine) or "s3" (an S3-compatible store every node shares)
        "STORAGE": _env("STORAGE", "local"),
        "UPLOAD_DIR": _env("UPLOAD_DIR", str(Path(instance_path) / "uploads")),
        #: hosts the portal may contact for a chamber (comma-separated; "*.example.de" = its subdomains):
        #: the admin check only contacts these, and options naming another host are not saved; unset: any
        "RECEIVER_HOSTS": _env("RECEIVER_HOSTS"),
        #: the ClamAV daemon every upload is scanned by: "unix:/run/clamav/clamd.ctl" or "tcp:host:3310";
        #: unset: uploads are not scanned for malware
        "CLAMD_ADDRESS": _env("CLAMD_ADDRESS"),
        #: seconds to wait for clamd (connect and verdict); no verdict in time → the upload is refused
        "CLAMD_TIMEOUT": float(_env("CLAMD_TIMEOUT", "30")),
        "S3_ENDPOINT": _env("S3_ENDPOINT", ""),
        "S3_BUCKET": _env("S3_BUCKET", ""),
        "S3_REGION": _env("S3_REGION", ""),
        "S3_ACCESS_KEY_ID": _env("S3_ACCESS_KEY_ID", ""),
        "S3_SECRET_ACCESS_KEY": _env("S3_SECRET_ACCESS_KEY", ""),
        #: objects are named <prefix><key>; several portals (or stages) can share a bucket
        "S3_PREFIX": _env("S3_PREFIX", "attachments/"),
        #: server-side encryption of every object: "" (the bucket's default), "AES256" or "aws:kms"
        "S3_SSE": _env("S3_SSE", ""),
        "S3_KMS_KEY_ID": _env("S3_KMS_KEY_ID", ""),
        "S3_TIMEOUT": float(_env("S3_TIMEOUT", "10")),
        #: "path" (MinIO, most self-hosted stores) or "virtual" (bucket in the host name, AWS)
        "S3_ADDRESSING_STYLE": _env("S3_ADDRESSING_STYLE", "path"),
        # Mail
        "MAIL_BACKEND": _env("MAIL_BACKEND", "folder" if env != "production" else "smtp"),
        "MAIL_FOLDER": _env("MAIL_FOLDER", str(Path(instance_path) / "mail")),
        "MAIL_FROM": _env("MAIL_FROM", "Unternehmensportal (Demo) <noreply@unternehmensportal.example>"),
        #: where answers to the portal's mails go (a mailbox someone reads)
        "MAIL_REPLY_TO": _env("MAIL_REPLY_TO", "Unternehmensportal (Demo) <antworten@unternehmensportal.example>"
                              if demo else None),
        "SMTP_HOST": _env("SMTP_HOST", "localhost"),
        "SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "SMTP_STARTTLS": _bool(_env("SMTP_STARTTLS", "false")),
        "SMTP_USERNAME": _env("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD", ""),
        "SMTP_TIMEOUT": float(_env("SMTP_TIMEOUT", "10")),
        #: the mail queue (sent by the worker): attempts, backoff and lease of one queued mail
        "MAIL_MAX_ATTEMPTS": int(_env("MAIL_MAX_ATTEMPTS", "10")),
        "MAIL_BACKOFF_BASE_SECONDS": float(_env("MAIL_BACKOFF_BASE_SECONDS", "60")),
        "MAIL_BACKOFF_MAX_SECONDS": float(_env("MAIL_BACKOFF_MAX_SECONDS", "21600")),
        "MAIL_LEASE_SECONDS": int(_env("MAIL_LEASE_SECONDS", "120")),
        #: how often the worker's mail thread looks for queued mails
        "MAIL_POLL_SECONDS": float(_env("MAIL_POLL_SECONDS", "5")),
        "MAIL_REMINDER_DAYS": int(_env("MAIL_REMINDER_DAYS", "2")),
        # Chamber API (/api/v1)
        #: lifetime of a bearer token issued to a chamber system
        "API_TOKEN_SECONDS": int(_env("API_TOKEN_SECONDS", "600")),
        #: calls one API client may make per window (fixed window, counted in the database)
        "API_RATE_LIMIT": int(_env("API_RATE_LIMIT", "600")),
        "API_RATE_WINDOW_SECONDS": int(_env("API_RATE_WINDOW_SECONDS", "60")),
        #: largest request body under /api/v1 (files travel base64-encoded: 20 MB of files ≈ 27 MB)
        "API_MAX_BODY_BYTES": int(_env("API_MAX_BODY_BYTES", str(30 * 1024 * 1024))),
        # Rate limits (Flask-Limiter, ``web/ratelimit.py``): "N per minute|hour|…" per group
        #: where the counts live: memory:// (one process, development) or redis://host:6379/0 (production)
        "RATE_LIMIT_STORAGE_URI": _env("RATE_LIMIT_STORAGE_URI", "memory://" if env != "production" else None),
        "RATE_LIMIT_KEY_PREFIX": _env("RATE_LIMIT_KEY_PREFIX", "bizportal"),
        "RATE_LIMIT_LOGIN": _env("RATE_LIMIT_LOGIN", "120 per minute"),
        "RATE_LIMIT_SUBMIT": _env("RATE_LIMIT_SUBMIT", "30 per minute"),
        "RATE_LIMIT_UPLOAD": _env("RATE_LIMIT_UPLOAD", "60 per minute"),
        "RATE_LIMIT_MESSAGES": _env("RATE_LIMIT_MESSAGES", "20 per minute"),
        "RATE_LIMIT_STATUS_CALLBACK": _env("RATE_LIMIT_STATUS_CALLBACK", "300 per minute"),
        "RATE_LIMIT_API": _env("RATE_LIMIT_API", "1200 per minute"),
        # Steering statistics
        #: a figure from fewer cases than this is shown as "< n" (and hidden cells keep it so)
        "STATS_SUPPRESSION_THRESHOLD": int(_env("STATS_SUPPRESSION_THRESHOLD", "5")),
        #: a draft untouched this many days counts as abandoned (``flask stats abandon-drafts``)
        "STATS_DRAFT_ABANDON_DAYS": int(_env("STATS_DRAFT_ABANDON_DAYS", "30")),
        # Audit log
        #: anonymous refusals of one kind in one minute are counted per source address; beyond this
        #: many addresses they share one row (source "*")
        "AUDIT_NOISE_SOURCES_PER_MINUTE": int(_env("AUDIT_NOISE_SOURCES_PER_MINUTE", "20")),
        # Retention (``flask retention run``; the worker runs it once a day)
        #: for services whose definition names no [retention]: days a draft may stay untouched,
        #: years a closed (decided or withdrawn) filing is kept
        "RETENTION_DRAFT_DAYS": int(_env("RETENTION_DRAFT_DAYS", "180")),
        "RETENTION_CLOSED_YEARS": int(_env("RETENTION_CLOSED_YEARS", "3")),
        #: the company is reminded this many days before its untouched draft is deleted
        "RETENTION_REMINDER_DAYS": int(_env("RETENTION_REMINDER_DAYS", "14")),
        #: the local hour from which the worker makes the day's run (0-23); -1: the worker never runs it
        "RETENTION_HOUR": int(_env("RETENTION_HOUR", "2")),
        # Development login provider (started by ``flask --app wsgi dev``)
        "DEV_OIDC_PORT": dev_port,
        "DEV_PORT": web_port,
    }
    if _env("SESSION_COOKIE_NAME"):
        cfg["SESSION_COOKIE_NAME"] = _env("SESSION_COOKIE_NAME")
    elif demo and web_port != 5000:
        # two development instances on one host would share cookies (cookies ignore the port)
        cfg["SESSION_COOKIE_NAME"] = f"bizportal_session_{web_port}"
    if overrides:
        cfg.update(overrides)
    if "SESSION_COOKIE_NAME" not in cfg:
        # Over HTTPS the cookie is bound to exactly this host, path / and Secure (browsers refuse a
        # __Host- cookie otherwise); plain HTTP in development keeps a name browsers accept there.
        cfg["SESSION_COOKIE_NAME"] = ("__Host-" if cfg["SESSION_COOKIE_SECURE"] else "") + "bizportal_session"
    if str(cfg["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        # writers queue for SQLite's one write lock (the audit chain's appends from every thread):
        # wait up to this long instead of pysqlite's 5 s before "database is locked"
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {**cfg["SQLALCHEMY_ENGINE_OPTIONS"],
                                            "connect_args": {"timeout": float(_env("SQLITE_BUSY_TIMEOUT", "30"))}}
    else:
        # The worker's sender threads may each hold a connection (the inbox adapter writes).
        cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {**cfg["SQLALCHEMY_ENGINE_OPTIONS"],
                                            "pool_size": int(_env("DB_POOL_SIZE", "10")),
                                            "max_overflow": int(_env("DB_MAX_OVERFLOW", "20"))}
    if env == "production":
        _check_production(cfg)
    cfg["SETTINGS"] = build_settings(cfg)
    return cfg


# --- the typed settings object ------------------------------------------------------------------
# Built once from the Flask config above (defaults, environment, test overrides); services and the
# worker receive the group they need. No module outside this one supplies a default of its own.


@dataclass(frozen=True)
class OidcSettings:
    timeout: float
    clock_skew: int
    metadata_max_age: int
    login_max_age: int
    allowed_algs: tuple[str, ...]
    staff_role_mapping: str
    jwks_refetch_interval: float = 60.0


@dataclass(frozen=True)
class DeliverySettings:
    """The outbox: attempts, leases and backoff, answer timeouts, the circuit breaker and the
    back-channel poll."""

    max_attempts: int = 12
    lease_seconds: int = 120
    poll_seconds: float = 5.0
    backoff_base: float = 30.0
    backoff_max: float = 6 * 3600.0
    timeout_cap: float = 120.0
    timeout_cap_attempts: int = 3
    timing_window: float = 900.0
    timing_publish_seconds: float = 15.0
    chamber_concurrency: int = 4
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    breaker_max_cooldown: float = 600.0
    events_poll_seconds: float = 300.0
    events_max_age_days: int = 30
    events_poll_limit: int = 500
    async_commit: bool = False
    config_recheck_seconds: float = 60.0


@dataclass(frozen=True)
class WorkerSettings:
    threads: int = 16
    poll_seconds: float = 2.0
    shutdown_grace: float = 30.0
    claim_linger: float = 0.02
    write_linger: float = 0.005


@dataclass(frozen=True)
class MailSettings:
    backend: str
    folder: str
    sender: str
    smtp_host: str
    smtp_port: int
    smtp_starttls: bool
    smtp_username: str
    smtp_password: str
    smtp_timeout: float
    public_base_url: str
    #: the notification queue: attempts, backoff and lease of a queued mail
    max_attempts: int = 10
    backoff_base: float = 60.0
    backoff_max: float = 6 * 3600.0
    lease_seconds: int = 120
    poll_seconds: float = 5.0
    #: a company is reminded once, this many days before an information request is due
    reminder_days: int = 2


@dataclass(frozen=True)
class WebSettings:
    metrics_token: str | None
    session_idle_minutes: int
    session_absolute_hours: int
    upload_dir: str
    catalog_dir: str
    #: seconds between two looks of one process at the catalog's version in the database
    catalog_refresh_seconds: float
    timezone: str
    proxy_fix_hops: int
    #: adapter keys that may be loaded; ``None`` loads every installed adapter
    enabled_adapters: tuple[str, ...] | None = None
    #: re-check of a session at its provider (``auth.recheck``): interval (0 = off) and grace period
    session_recheck_minutes: float = 5.0
    session_recheck_grace_minutes: float = 30.0
    #: the clamd that scans uploads (``None``: no malware scan) and how long to wait for it
    clamd_address: str | None = None
    clamd_timeout: float = 30.0
    #: hosts a chamber's options may name (``BIZPORTAL_RECEIVER_HOSTS``); ``None``: any host
    receiver_hosts: tuple[str, ...] | None = None
    #: request limits: the body of a route that takes files, of every other form post, one text
    #: field, the number of fields
    upload_body_bytes: int = 25 * 1024 * 1024
    form_body_bytes: int = 256 * 1024
    form_field_bytes: int = 64 * 1024
    form_max_parts: int = 1000
    #: a filing step's text ceiling (``common.limits.judges_text_length``)
    step_text_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class DraftSettings:
    """What one company may keep in drafts: drafts open at once, megabytes of files in them."""

    max_open: int = 50
    max_stored_mb: float = 500.0


@dataclass(frozen=True)
class IdentitySettings:
    """Who operates the portal: shown in the header, on the legal pages, in mails and receipts."""

    portal_name: str
    land: str
    operator: str
    imprint_representative: str | None
    imprint_email: str
    imprint_phone: str | None
    privacy_contact: str
    privacy_email: str
    accessibility_email: str
    reply_to: str
    #: an image file the portal serves at /betreiber/logo, or None
    logo_file: str | None = None
    #: a path on the portal's origin (``/static/…``) when the logo is not a file; None without a logo
    logo_path: str | None = None
    #: development: the values are demo values and the header says the site is not official
    demo: bool = False
    #: the English name, Land and operator line (``*_EN`` settings), for English receipts; None: the German text
    portal_name_en: str | None = None
    land_en: str | None = None
    operator_en: str | None = None

    def in_language(self, locale: str) -> IdentitySettings:
        """These settings as a document in ``locale`` names the operator: English takes the English
        variants that are set, and the German text where none is."""
        if not str(locale).lower().startswith("en"):
            return self
        return replace(self, portal_name=self.portal_name_en or self.portal_name, land=self.land_en or self.land,
                       operator=self.operator_en or self.operator)


@dataclass(frozen=True)
class StorageSettings:
    """Where attachment contents live (``filings.storage``)."""

    backend: str
    local_dir: str
    s3_endpoint: str = ""
    s3_bucket: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_prefix: str = "attachments/"
    s3_sse: str = ""
    s3_kms_key_id: str = ""
    s3_timeout: float = 10.0
    s3_addressing_style: str = "path"


STORAGE_BACKENDS = ("local", "s3")
S3_SSE_VALUES = ("", "AES256", "aws:kms")


def _storage_settings(cfg: dict[str, Any]) -> StorageSettings:
    """The storage group; an impossible combination stops the start with the setting's name."""
    backend = str(cfg["STORAGE"]).strip().lower()
    if backend not in STORAGE_BACKENDS:
        raise RuntimeError(f"{PREFIX}STORAGE must be one of {', '.join(STORAGE_BACKENDS)}, not {cfg['STORAGE']!r}")
    sse = str(cfg["S3_SSE"] or "").strip()
    if sse not in S3_SSE_VALUES:
        raise RuntimeError(f"{PREFIX}S3_SSE must be empty, AES256 or aws:kms, not {sse!r}")
    style = str(cfg["S3_ADDRESSING_STYLE"]).strip().lower()
    if style not in ("path", "virtual", "auto"):
        raise RuntimeError(f"{PREFIX}S3_ADDRESSING_STYLE must be path, virtual or auto, not {style!r}")
    prefix = str(cfg["S3_PREFIX"] or "")
    if prefix.startswith("/") or ".." in prefix:
        raise RuntimeError(f"{PREFIX}S3_PREFIX must be a relative name such as 'attachments/', not {prefix!r}")
    if backend == "s3" and not cfg["S3_BUCKET"]:
        raise RuntimeError(f"{PREFIX}STORAGE=s3 needs {PREFIX}S3_BUCKET")
    return StorageSettings(
        backend=backend, local_dir=cfg["UPLOAD_DIR"], s3_endpoint=cfg["S3_ENDPOINT"] or "",
        s3_bucket=cfg["S3_BUCKET"] or "", s3_region=cfg["S3_REGION"] or "",
        s3_access_key_id=cfg["S3_ACCESS_KEY_ID"] or "", s3_secret_access_key=cfg["S3_SECRET_ACCESS_KEY"] or "",
        s3_prefix=prefix, s3_sse=sse, s3_kms_key_id=cfg["S3_KMS_KEY_ID"] or "",
        s3_timeout=float(cfg["S3_TIMEOUT"]), s3_addressing_style=style,
    )


@dataclass(frozen=True)
class ApiSettings:
    """The chamber API: token lifetime, rate limit per client, body size."""

    token_seconds: int = 600
    rate_limit: int = 600
    rate_window_seconds: int = 60
    max_body_bytes: int = 30 * 1024 * 1024


@dataclass(frozen=True)
class StatsSettings:
    """The steering statistics: suppression of small figures, abandonment of drafts."""

    suppression_threshold: int = 5
    draft_abandon_days: int = 30


@dataclass(frozen=True)
class AuditSettings:
    """The audit log: how anonymous noise is aggregated."""

    noise_sources_per_minute: int = 20


@dataclass(frozen=True)
class RetentionSettings:
    """Retention: the periods for services without their own, the reminder, the worker's hour."""

    draft_days: int = 180
    closed_years: int = 3
    reminder_days: int = 14
    #: local hour from which the worker makes the day's run; None: never
    hour: int | None = 2


@dataclass(frozen=True)
class Settings:
    env: str
    oidc: OidcSettings
    delivery: DeliverySettings
    worker: WorkerSettings
    mail: MailSettings
    web: WebSettings
    api: ApiSettings
    stats: StatsSettings
    identity: IdentitySettings
    storage: StorageSettings
    audit: AuditSettings
    retention: RetentionSettings
    drafts: DraftSettings = DraftSettings()
    #: log lines: "json" or "text" (``common.logs``)
    log_format: str = "text"


def _host_list(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(h.strip().lower() for h in items if h.strip())


def build_settings(cfg: dict[str, Any]) -> Settings:
    """The typed, frozen settings object of a finished Flask config."""
    adapters = cfg.get("ENABLED_ADAPTERS")
    if isinstance(adapters, str):
        adapters = [a.strip() for a in adapters.split(",") if a.strip()] or None
    return Settings(
        env=cfg["ENV_NAME"],
        oidc=OidcSettings(
            timeout=float(cfg["OIDC_TIMEOUT"]), clock_skew=int(cfg["OIDC_CLOCK_SKEW"]),
            metadata_max_age=int(cfg["OIDC_METADATA_MAX_AGE"]), login_max_age=int(cfg["OIDC_LOGIN_MAX_AGE"]),
            allowed_algs=tuple(cfg["OIDC_ALLOWED_ALGS"]), staff_role_mapping=cfg["STAFF_ROLE_MAPPING"] or "",
            jwks_refetch_interval=max(0.0, float(cfg["OIDC_JWKS_REFETCH_SECONDS"])),
        ),
        delivery=DeliverySettings(
            max_attempts=int(cfg["DELIVERY_MAX_ATTEMPTS"]),
            lease_seconds=int(cfg["DELIVERY_LEASE_SECONDS"]),
            backoff_base=float(cfg["DELIVERY_BACKOFF_BASE_SECONDS"]),
            backoff_max=float(cfg["DELIVERY_BACKOFF_MAX_SECONDS"]),
            timeout_cap=float(cfg["DELIVERY_TIMEOUT_CAP_SECONDS"]),
            timeout_cap_attempts=max(1, int(cfg["DELIVERY_TIMEOUT_CAP_ATTEMPTS"])),
            timing_window=float(cfg["DELIVERY_TIMING_WINDOW_SECONDS"]),
            timing_publish_seconds=float(cfg["DELIVERY_TIMING_PUBLISH_SECONDS"]),
            chamber_concurrency=int(cfg["DELIVERY_CHAMBER_CONCURRENCY"]),
            breaker_threshold=int(cfg["DELIVERY_BREAKER_THRESHOLD"]),
            breaker_cooldown=float(cfg["DELIVERY_BREAKER_COOLDOWN_SECONDS"]),
            breaker_max_cooldown=float(cfg["DELIVERY_BREAKER_MAX_COOLDOWN_SECONDS"]),
            events_poll_seconds=float(cfg["DELIVERY_EVENTS_POLL_SECONDS"]),
            events_max_age_days=int(cfg["DELIVERY_EVENTS_MAX_AGE_DAYS"]),
            events_poll_limit=int(cfg["DELIVERY_EVENTS_POLL_LIMIT"]),
            async_commit=bool(cfg["DELIVERY_ASYNC_COMMIT"]),
            config_recheck_seconds=float(cfg["DELIVERY_CONFIG_RECHECK_SECONDS"]),
        ),
        worker=WorkerSettings(
            threads=max(1, int(cfg["WORKER_THREADS"])),
            poll_seconds=float(cfg["WORKER_POLL_SECONDS"]),
            shutdown_grace=float(cfg["WORKER_SHUTDOWN_GRACE_SECONDS"]),
            claim_linger=float(cfg["WORKER_CLAIM_LINGER_SECONDS"]),
            write_linger=float(cfg["WORKER_WRITE_LINGER_SECONDS"]),
        ),
        mail=MailSettings(
            backend=cfg["MAIL_BACKEND"], folder=cfg["MAIL_FOLDER"], sender=cfg["MAIL_FROM"],
            smtp_host=cfg["SMTP_HOST"], smtp_port=int(cfg["SMTP_PORT"]), smtp_starttls=bool(cfg["SMTP_STARTTLS"]),
            smtp_username=cfg["SMTP_USERNAME"] or "", smtp_password=cfg["SMTP_PASSWORD"] or "",
            smtp_timeout=float(cfg["SMTP_TIMEOUT"]), public_base_url=cfg["PUBLIC_BASE_URL"],
            max_attempts=int(cfg["MAIL_MAX_ATTEMPTS"]), backoff_base=float(cfg["MAIL_BACKOFF_BASE_SECONDS"]),
            backoff_max=float(cfg["MAIL_BACKOFF_MAX_SECONDS"]), lease_seconds=int(cfg["MAIL_LEASE_SECONDS"]),
            poll_seconds=float(cfg["MAIL_POLL_SECONDS"]), reminder_days=int(cfg["MAIL_REMINDER_DAYS"]),
        ),
        web=WebSettings(
            metrics_token=cfg["METRICS_TOKEN"] or None,
            session_idle_minutes=int(cfg["SESSION_IDLE_MINUTES"]),
            session_absolute_hours=int(cfg["SESSION_ABSOLUTE_HOURS"]),
            upload_dir=cfg["UPLOAD_DIR"], catalog_dir=cfg["CATALOG_DIR"],
            catalog_refresh_seconds=max(0.0, float(cfg["CATALOG_REFRESH_SECONDS"])),
            timezone=cfg["BABEL_DEFAULT_TIMEZONE"],
            proxy_fix_hops=int(cfg["PROXY_FIX_HOPS"]),
            enabled_adapters=tuple(adapters) if adapters else None,
            session_recheck_minutes=max(0.0, float(cfg["SESSION_RECHECK_MINUTES"])),
            session_recheck_grace_minutes=max(0.0, float(cfg["SESSION_RECHECK_GRACE_MINUTES"])),
            clamd_address=cfg["CLAMD_ADDRESS"] or None, clamd_timeout=float(cfg["CLAMD_TIMEOUT"]),
            receiver_hosts=_host_list(cfg["RECEIVER_HOSTS"]),
            upload_body_bytes=int(cfg["MAX_CONTENT_LENGTH"]),
            form_body_bytes=max(1024, int(cfg["FORM_MAX_BODY_BYTES"])),
            form_field_bytes=max(1024, int(cfg["FORM_MAX_FIELD_BYTES"])),
            form_max_parts=max(10, int(cfg["FORM_MAX_PARTS"])),
            step_text_bytes=max(1024, int(cfg["STEP_MAX_TEXT_BYTES"])),
        ),
        api=ApiSettings(
            token_seconds=max(1, int(cfg["API_TOKEN_SECONDS"])), rate_limit=max(1, int(cfg["API_RATE_LIMIT"])),
            rate_window_seconds=max(1, int(cfg["API_RATE_WINDOW_SECONDS"])),
            max_body_bytes=int(cfg["API_MAX_BODY_BYTES"]),
        ),
        stats=StatsSettings(
            suppression_threshold=max(1, int(cfg["STATS_SUPPRESSION_THRESHOLD"])),
            draft_abandon_days=max(1, int(cfg["STATS_DRAFT_ABANDON_DAYS"])),
        ),
        identity=_identity(cfg),
        storage=_storage_settings(cfg),
        audit=AuditSettings(noise_sources_per_minute=max(1, int(cfg["AUDIT_NOISE_SOURCES_PER_MINUTE"]))),
        retention=RetentionSettings(
            draft_days=max(1, int(cfg["RETENTION_DRAFT_DAYS"])),
            closed_years=max(1, int(cfg["RETENTION_CLOSED_YEARS"])),
            reminder_days=max(0, int(cfg["RETENTION_REMINDER_DAYS"])),
            hour=int(cfg["RETENTION_HOUR"]) if 0 <= int(cfg["RETENTION_HOUR"]) <= 23 else None,
        ),
        drafts=DraftSettings(
            max_open=max(1, int(cfg["DRAFT_MAX_OPEN_PER_COMPANY"])),
            max_stored_mb=max(0.01, float(cfg["DRAFT_MAX_STORED_MB_PER_COMPANY"])),
        ),
        log_format="json" if str(cfg["LOG_FORMAT"]).lower() == "json" else "text",
    )


LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".gif": "image/gif"}
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _email(cfg: dict[str, Any], name: str, *, display_name: bool = False) -> str:
    """An e-mail setting, checked; with ``display_name`` also ``Name <address>``."""
    value = str(cfg[name] or "").strip()
    address = value
    if display_name and value.endswith(">") and "<" in value:
        address = value[value.rindex("<") + 1:-1]
    if not _ADDRESS.match(address):
        raise RuntimeError(f"{PREFIX}{name} is not an e-mail address: {value!r}")
    return value


def _logo(value: str | None, base_url: str) -> tuple[str | None, str | None]:
    """``BIZPORTAL_LOGO`` as (file, path on the portal's origin). An existing file is served by the
    portal; otherwise it must be a path or URL on the portal's own origin (the CSP allows images
    from there only). Raises ``RuntimeError`` for anything else."""
    if not value:
        return None, None
    value = value.strip()
    suffix = Path(urlsplit(value).path).suffix.lower()
    if Path(value).is_file():
        if suffix not in LOGO_TYPES:
            raise RuntimeError(f"{PREFIX}LOGO must be one of {', '.join(sorted(LOGO_TYPES))}: {value!r}")
        return value, None
    parts = urlsplit(value)
    origin = urlsplit(base_url)
    if parts.scheme or parts.netloc:
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            raise RuntimeError(f"{PREFIX}LOGO {value!r} is neither an image file nor on the portal's origin "
                               f"{origin.scheme}://{origin.netloc}")
        value = urlunsplit(("", "", parts.path, parts.query, ""))
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        raise RuntimeError(f"{PREFIX}LOGO {value!r} is neither an image file nor a path on the portal (/static/…)")
    path = urlsplit(value).path
    if path.startswith("/static/"):  # the portal serves it itself: it must be one of its static files
        static = (Path(__file__).parent / "static").resolve()
        target = (static / path.removeprefix("/static/")).resolve()
        if not target.is_relative_to(static) or not target.is_file():
            raise RuntimeError(f"{PREFIX}LOGO {value!r} is not among the portal's static files ({static}); "
                               "give the image file's path instead")
    return None, value


def _identity(cfg: dict[str, Any]) -> IdentitySettings:
    logo_file, logo_path = _logo(cfg["LOGO"], cfg["PUBLIC_BASE_URL"])
    return IdentitySettings(
        portal_name=str(cfg["PORTAL_NAME"] or "Unternehmensportal"), land=str(cfg["LAND"] or ""),
        operator=str(cfg["OPERATOR"] or ""), imprint_representative=cfg["IMPRINT_REPRESENTATIVE"] or None,
        imprint_email=_email(cfg, "IMPRINT_EMAIL"), imprint_phone=cfg["IMPRINT_PHONE"] or None,
        privacy_contact=str(cfg["PRIVACY_CONTACT"] or ""), privacy_email=_email(cfg, "PRIVACY_EMAIL"),
        accessibility_email=_email(cfg, "ACCESSIBILITY_EMAIL"),
        reply_to=_email(cfg, "MAIL_REPLY_TO", display_name=True),
        logo_file=logo_file, logo_path=logo_path, demo=cfg["ENV_NAME"] != "production",
        portal_name_en=str(cfg.get("PORTAL_NAME_EN") or "").strip() or None,
        land_en=str(cfg.get("LAND_EN") or "").strip() or None,
        operator_en=str(cfg.get("OPERATOR_EN") or "").strip() or None,
    )


#: settings production must set explicitly (the development defaults would be wrong or unsafe)
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "COMPANY_OIDC_ISSUER", "COMPANY_OIDC_CLIENT_SECRET",
                          "STAFF_OIDC_ISSUER", "STAFF_OIDC_CLIENT_SECRET", "TRUSTED_HOSTS",
                          "RATE_LIMIT_STORAGE_URI", "PUBLIC_BASE_URL",
                          # the operator's identity: no demo text may reach a real user
                          "PORTAL_NAME", "LAND", "LOGO", "OPERATOR", "IMPRINT_EMAIL", "PRIVACY_CONTACT",
                          "PRIVACY_EMAIL", "ACCESSIBILITY_EMAIL", "MAIL_FROM", "MAIL_REPLY_TO")


def _check_production(cfg: dict[str, Any]) -> None:
    missing = [PREFIX + name for name in REQUIRED_IN_PRODUCTION if not os.environ.get(PREFIX + name)]
    if missing:
        raise RuntimeError("BIZPORTAL_ENV=production needs these settings: " + ", ".join(missing))
    if len(cfg["SECRET_KEY"]) < 32:
        raise RuntimeError("BIZPORTAL_SECRET_KEY must be at least 32 characters long")
    from werkzeug.sansio.utils import host_is_trusted

    public_host = urlsplit(str(cfg["PUBLIC_BASE_URL"])).hostname
    if public_host and not host_is_trusted(public_host, cfg["TRUSTED_HOSTS"]):
        # the worker builds the links in mails for this host; outside TRUSTED_HOSTS no mail could be written
        raise RuntimeError(f"BIZPORTAL_TRUSTED_HOSTS must contain the host of BIZPORTAL_PUBLIC_BASE_URL "
                           f"({public_host}); it holds {', '.join(cfg['TRUSTED_HOSTS'])}")
