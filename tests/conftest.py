"""Fixtures: a real OIDC provider, the app on SQLite or PostgreSQL, a logged-in client, a live server.

Helpers (HTTP and login, factories, test adapters, reference receivers) live in ``tests/support``.

Set ``BIZPORTAL_TEST_DATABASE_URL`` to run the suite on PostgreSQL (a database used only for
tests: its tables are dropped and recreated from the migrations).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator

import pytest
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from werkzeug.serving import make_server

from tests.support.http import login

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # provider and portal on plain loopback HTTP

from bizportal import create_app  # noqa: E402
from bizportal.demo import ensure_chambers  # noqa: E402
from bizportal.devprovider import start_provider  # noqa: E402
from bizportal.extensions import db  # noqa: E402


class _SharedBytecode(BytecodeCache):
    """Compiled templates shared by every app this test process builds (each test builds its own
    app, and Jinja compiles a template once per app otherwise: about a sixth of the suite's time).
    Jinja checks each template's source checksum, so an edited template is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _SharedBytecode()


def _share_url_builders() -> None:
    """Werkzeug compiles two URL-builder functions (Python source put together as an AST) for every
    route of every app; the suite builds an app per test, and that compiling was about half of
    ``create_app``'s time (29 of 50 ms). A builder depends only on the rule, its parsed parts and its
    defaults (the converters are looked up through the rule when it runs), so each test process
    compiles it once per rule and shares it between its apps."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict[tuple, object] = {}

    def shared(self, append_unknown: bool = True):
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = shared  # type: ignore[method-assign]


_share_url_builders()


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, _record) -> None:
    """Test databases need no durability against a power cut: SQLite's commit does not wait for the
    disk (PostgreSQL's test databases get ``synchronous_commit = off``, ``_worker_database``).
    Locking and transactions are unchanged."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = OFF")


#: the database tests the SQLite run keeps under ``BIZPORTAL_TEST_SQLITE_SCOPE=embedded`` (bin/test): the
#: embedded default's journeys (browser, HTTP end to end, the start command, the installed wheel), and
#: the packages with code of their own per database (the delivery worker's claim, clock and events,
#: statistics, the backup of a SQLite file, the inbox's text matching, the API's and the portal's rate
#: limits, retention, the company lock of drafts and submits, the filing lifecycle's locks). The form,
#: bundle, catalog, filing-list and case-work tests, and the delivery's administration pages, store and
#: read their data through the same code on either database; they run on PostgreSQL, the production one.
SQLITE_TOO = (
    "tests/browser/", "tests/stats/", "tests/storage/", "tests/inbox/", "tests/api/", "tests/retention/",
    "tests/delivery/test_cli.py", "tests/delivery/test_clock.py", "tests/delivery/test_events.py",
    "tests/delivery/test_faults.py", "tests/delivery/test_message_forwarding.py",
    "tests/delivery/test_metrics.py", "tests/delivery/test_progress.py",
    "tests/delivery/test_receiver_problems.py", "tests/delivery/test_states.py",
    "tests/delivery/test_takeover.py", "tests/delivery/test_timeouts.py",
    "tests/delivery/test_told_payload.py", "tests/delivery/test_worker.py",
    "tests/delivery/test_xgewerbeanzeige_delivery.py",
    "tests/test_journey.py", "tests/test_services_e2e.py", "tests/test_dev_start.py", "tests/test_install.py",
    "tests/test_platform.py", "tests/test_submit_races.py", "tests/test_shared_drafts.py",
    "tests/test_rate_limits.py", "tests/test_draft_limits.py", "tests/test_delivery.py", "tests/test_sessions.py",
)


def pytest_collection_modifyitems(config, items):
    """Which tests each of bin/test's two runs takes. Every way to the test database goes through the
    ``database_url`` fixture, so a test without it gives the same result on either database.

    ``BIZPORTAL_TEST_DATABASE_ONLY=1`` (the run on PostgreSQL) keeps only the tests that use the test
    database: the others ran in the SQLite run. ``BIZPORTAL_TEST_SQLITE_SCOPE=embedded`` (the run on
    SQLite) keeps the tests without the database and the database tests of ``SQLITE_TOO``."""
    database_only = os.environ.get("BIZPORTAL_TEST_DATABASE_ONLY") == "1"
    embedded = os.environ.get("BIZPORTAL_TEST_SQLITE_SCOPE") == "embedded"
    if not (database_only or embedded):
        return
    keep, other = [], []
    for item in items:
        uses_database = "database_url" in getattr(item, "fixturenames", ())
        wanted = uses_database if database_only else not uses_database or item.nodeid.startswith(SQLITE_TOO)
        (keep if wanted else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = keep


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    """Under ``coverage run`` (bin/test): each process writes what it measured as soon as its tests and
    fixtures are done. pytest-xdist kills a worker that takes longer than 10 s to exit after the
    run, and coverage writes at exit; on a busy machine whole workers' measurements were lost."""
    try:
        import coverage
    except ImportError:  # pragma: no cover - coverage comes with the test requirements
        return
    current = coverage.Coverage.current()
    if current is not None:
        current.save()


def pytest_report_header(config):
    return f"bizportal test database: {os.environ.get('BIZPORTAL_TEST_DATABASE_URL') or 'SQLite (temporary file)'}"


@pytest.fixture(scope="session")
def provider():
    server = start_provider(0)
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def issuer(provider) -> str:
    return f"http://127.0.0.1:{provider.server_port}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("BIZPORTAL_TEST_DATABASE_URL")
    if not url:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # side by side (bin/test runs pytest-xdist): each worker its own database on the same server
        url = _worker_database(url, worker)
    _without_commit_flush(url)
    return url


def _without_commit_flush(url: str) -> None:
    """A test database's commits do not wait for the WAL flush (``synchronous_commit = off``: a
    crash of the server may lose the last commits, nothing else changes), for every connection to
    it, the worker processes' included."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    engine.dispose()


def _worker_database(url: str, worker: str) -> str:
    """``url`` with the database name suffixed by the xdist worker id; created on the server if missing."""
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """Tests marked ``postgres_only`` are skipped on SQLite (bin/test runs the suite on both)."""
    marker = request.node.get_closest_marker("postgres_only")
    if marker and not request.getfixturevalue("is_postgres"):
        why = marker.kwargs.get("reason")
        pytest.skip(f"needs PostgreSQL (set BIZPORTAL_TEST_DATABASE_URL){': ' + why if why else ''}")


@pytest.fixture(scope="session")
def migrated(database_url, issuer):
    """Drop whatever the test database holds and build the schema from the migrations."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            for table in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE "{table}"'))
    engine.dispose()
    app = create_app(_overrides(database_url, issuer))
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="head")
    return True


def _tmp_root():
    import tempfile
    from pathlib import Path

    root = Path(tempfile.gettempdir()) / f"bizportal-tests-{os.getpid()}"
    root.mkdir(exist_ok=True)
    return root


def _overrides(database_url: str, issuer: str, **extra) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "COMPANY_OIDC_ISSUER": issuer,
        "STAFF_OIDC_ISSUER": issuer,
        "SECRET_KEY": "test-secret",
        "DELIVERY_BACKOFF_BASE_SECONDS": 1.0,
        "UPLOAD_DIR": str(_tmp_root() / "uploads"),
        "MAIL_BACKEND": "folder",
        "MAIL_FOLDER": str(_tmp_root() / "mail"),
        **extra,
    }


@pytest.fixture
def app_factory(database_url, issuer, migrated, tmp_path):
    """Build an app with extra config; tables are emptied and demo chambers seeded after each test.

    Uploads and mails go to this test's own temporary folders.
    """
    apps = []

    def factory(**extra):
        extra.setdefault("UPLOAD_DIR", str(tmp_path / "uploads"))
        extra.setdefault("MAIL_FOLDER", str(tmp_path / "mail"))
        app = create_app(_overrides(database_url, issuer, **extra))
        app.jinja_env.bytecode_cache = _BYTECODE
        apps.append(app)
        with app.app_context():
            ensure_chambers()
        return app

    yield factory
    if apps:
        with apps[0].app_context():
            db.session.remove()
            with db.engine.begin() as conn:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())
        for a in apps:
            with a.app_context():
                db.engine.dispose()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()








@pytest.fixture
def login_as(client):
    def do(sub: str, staff: bool = False):
        resp = login(client, sub, staff=staff)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
        return resp

    return do


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The portal served over real HTTP on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def filed(app, client, login_as):
    """Becker's Gewerbeanmeldung of a crafts business, delivered to Gewerbeamt Bremen (primary) and
    the Handwerkskammer Bremen (copy); returns its reference."""
    from bizportal.delivery.worker import Worker
    from tests.support.filing import file_service, gewerbe_answers

    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    assert Worker(app).run_once() == 2
    return reference
