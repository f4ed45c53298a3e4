"""Fixtures for the delivery tests: adapters, filings in bulk, reference receivers, workers.

Tests marked ``postgres_only`` are skipped on SQLite; CI runs the suite a second time with
``BIZPORTAL_TEST_DATABASE_URL`` pointing at PostgreSQL, where they run.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey
from sqlalchemy import func, insert, select, update

from bizportal.auth.models import Company, Person
from bizportal.bodies.models import Chamber
from bizportal.common.time import utcnow
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.filings.services import start_draft, submit_draft
from chambers.base import Adapter, DeliveryResult, InvalidConfig, PermanentFailure, TemporaryFailure
from chambers.email import EmailAdapter
from chambers.fitconnect import FitConnectAdapter
from chambers.inbox import InboxAdapter
from chambers.registry import AdapterRegistry
from chambers.webhook import WebhookAdapter
from tests.chambers.fitconnect_receiver import Keys
from tests.chambers.fitconnect_receiver import fit_options as _fit_options

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-shared-with-the-chamber"


@pytest.fixture(autouse=True)
def _postgres_only(request, is_postgres):
    if request.node.get_closest_marker("postgres_only") and not is_postgres:
        pytest.skip("needs PostgreSQL (set BIZPORTAL_TEST_DATABASE_URL)")


class FlakyAdapter(Adapter):
    """Test adapter: fails the way the chamber's options say."""

    key = "flaky"
    label = "Flaky (tests)"
    calls: list[str] = []

    def deliver(self, payload, options):
        FlakyAdapter.calls.append(payload.reference)
        mode = options.get("mode")
        if mode == "temporary":
            raise TemporaryFailure("receiver answered 503")
        if mode == "permanent":
            raise PermanentFailure("receiver answered 422: unknown service")
        if mode == "crash":
            raise RuntimeError("bug in adapter")
        if mode == "misconfigured":
            raise InvalidConfig("flaky: option 'mode' names a receiver that does not exist")
        return DeliveryResult(receiver_ref="ext-1")

    def parse_options(self, options):
        return dict(options or {})


class GateAdapter(Adapter):
    """Test adapter: every send waits until ``GateAdapter.gate`` opens; counts concurrency."""

    key = "gate"
    label = "Gate (tests)"
    gate = threading.Event()
    lock = threading.Lock()
    running = 0
    max_running = 0
    started = 0

    @classmethod
    def reset(cls) -> None:
        cls.gate = threading.Event()
        cls.running = cls.max_running = cls.started = 0

    def deliver(self, payload, options):
        cls = GateAdapter
        with cls.lock:
            cls.running += 1
            cls.started += 1
            cls.max_running = max(cls.max_running, cls.running)
        try:
            if not cls.gate.wait(float(options.get("wait", 30))):
                raise TemporaryFailure("gate: no answer in time")
            return DeliveryResult(receiver_ref="gate-ok")
        finally:
            with cls.lock:
                cls.running -= 1

    def parse_options(self, options):
        return dict(options or {})


@pytest.fixture
def registry():
    reg = AdapterRegistry()
    for cls in (InboxAdapter, WebhookAdapter, FitConnectAdapter, EmailAdapter, FlakyAdapter, GateAdapter):
        reg.register(cls)
    FlakyAdapter.calls = []
    GateAdapter.reset()
    return reg


@pytest.fixture
def make_app(app_factory, registry) -> Callable:
    def make(**config):
        app = app_factory(**config)
        app.extensions["bizportal"].registry = registry
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


# --- data -----------------------------------------------------------------------------------------

def ensure_company(app) -> tuple[int, int]:
    with app.app_context():
        company = db.session.scalar(select(Company).where(Company.org_id == "org-test"))
        if company is None:
            company = Company(issuer="http://issuer", org_id="org-test", name="Test GmbH", postcode="28195")
            db.session.add(company)
            db.session.flush()
            db.session.add(Person(issuer="http://issuer", sub="p1", company_id=company.id, name="P",
                                  email="p1@test.example"))
            db.session.commit()
        person_id = db.session.scalar(select(Person.id).where(Person.sub == "p1"))
        return company.id, person_id


def make_filing(app, service_key="versicherungsvermittler-34d", postcode="28195", handwerk=True) -> int:
    """A submitted filing by a test company, through the real draft and submit use cases."""
    ensure_company(app)
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == "p1"))
        service = app.extensions["bizportal"].catalog[service_key]
        draft = start_draft(person, service, {"postcode": postcode, "handwerk": handwerk})
        draft.completed_steps = [s.key for s in service.steps]
        db.session.commit()
        return submit_draft(draft, person, service).filing.id


def bulk_filings(app, n: int, chamber_slugs: list[str], service_key="versicherungsvermittler-34d") -> list[int]:
    """``n`` filings inserted directly (no HTTP, no draft), each with one delivery, round-robin over chambers."""
    company_id, person_id = ensure_company(app)
    now = utcnow()
    with app.app_context():
        chamber_ids = [db.session.scalar(select(Chamber.id).where(Chamber.slug == s)) for s in chamber_slugs]
        tag = secrets.token_hex(3).upper()
        rows = [{"reference": f"BP-T{tag}-{i:06d}", "submit_token": f"bulk-{tag}-{i}", "company_id": company_id,
                 "person_id": person_id, "service_key": service_key, "data": {"postcode": "28195", "n": i},
                 "company_snapshot": {"name": "Test GmbH", "postcode": "28195"}, "status": "submitted",
                 "submitted_at": now} for i in range(n)]
        ids = list(db.session.scalars(insert(Filing).returning(Filing.id, sort_by_parameter_order=True), rows))
        db.session.execute(insert(Delivery), [
            {"filing_id": fid, "chamber_id": chamber_ids[i % len(chamber_ids)], "role": "primary",
             "state": DeliveryState.PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
            for i, fid in enumerate(ids)
        ])
        db.session.commit()
        return ids


def set_adapter(app, slug, key, options, enabled=True):
    with app.app_context():
        db.session.execute(update(Chamber).where(Chamber.slug == slug)
                           .values(adapter_key=key, options=options, enabled=enabled))
        db.session.commit()


def webhook_options(url: str, **extra) -> dict:
    return {"url": url, "secret": SECRET, "allow_insecure_http": True, "timeout_seconds": 5, **extra}


def delivery_of(app, filing_id) -> Delivery:
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.filing_id == filing_id))
        db.session.expunge(d)
        return d


def deliveries(app, **where) -> list[Delivery]:
    with app.app_context():
        query = select(Delivery)
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        rows = list(db.session.scalars(query))
        for d in rows:
            db.session.expunge(d)
        return rows


def state_counts(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())


def make_due(app) -> None:
    """Skip the backoff: every pending delivery is due now."""
    with app.app_context():
        db.session.execute(update(Delivery).where(Delivery.state == DeliveryState.PENDING)
                           .values(next_attempt_at=utcnow()))
        db.session.commit()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


# --- a worker in a thread -------------------------------------------------------------------------

@pytest.fixture
def run_worker():
    """Start ``Worker.run_forever`` in a thread; stopped (gracefully) at the end of the test."""
    from bizportal.delivery.worker import Worker

    started: list[tuple[Worker, threading.Thread]] = []

    def start(app, **kwargs) -> Worker:
        worker = Worker(app, **kwargs)
        thread = threading.Thread(target=worker.run_forever, kwargs={"install_signal_handlers": False}, daemon=True)
        thread.start()
        started.append((worker, thread))
        return worker

    yield start
    GateAdapter.gate.set()
    for worker, thread in started:
        worker.stop()
        thread.join(30)


# --- worker processes -----------------------------------------------------------------------------

def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIZPORTAL_")}
    env.update({
        "BIZPORTAL_DATABASE_URL": database_url,
        "BIZPORTAL_SECRET_KEY": "test-secret",
        "BIZPORTAL_WORKER_POLL_SECONDS": "0.2",
        "BIZPORTAL_DELIVERY_BACKOFF_BASE_SECONDS": "0.5",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k if k.startswith("BIZPORTAL_") else "BIZPORTAL_" + k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def worker_processes(database_url, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start real ``flask --app wsgi worker`` processes; terminated at the end of the test."""
    procs: list[subprocess.Popen] = []

    def start(**env_extra) -> subprocess.Popen:
        with open(tmp_path / f"worker-{len(procs)}.log", "wb") as log:  # the child keeps its own handle
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                cwd=ROOT, env=worker_env(database_url, **env_extra), stdout=log, stderr=subprocess.STDOUT,
            )
        proc.log_path = log.name  # type: ignore[attr-defined]
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- FIT-Connect keys -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fit_keys() -> Keys:
    """Generated once per session: 4096-bit keys are slow to make."""
    return Keys(
        encryption=RSAKey.generate_key(4096, parameters={"kid": "dest-enc-1"}),
        signing=RSAKey.generate_key(4096, parameters={"kid": "zustelldienst-sig-1"}),
        forger=RSAKey.generate_key(2048, parameters={"kid": "zustelldienst-sig-1"}),
    )


def fit_options(url: str, state, **extra) -> dict:
    return _fit_options(url, state, **{"timeout_seconds": 10, **extra})


# --- reference webhook receiver, with per-key counts and a gate -----------------------------------

from contextlib import contextmanager  # noqa: E402
from http.server import ThreadingHTTPServer  # noqa: E402

from tests.chambers.loopback import base_url  # noqa: E402
from tests.chambers.webhook_receiver import WebhookHandler, WebhookState  # noqa: E402


class CountingWebhookHandler(WebhookHandler):
    """The reference receiver, counting requests per ``Idempotency-Key``; while ``server.gate`` is
    closed, requests wait before they are handled (a hanging receiver)."""

    def do_POST(self) -> None:  # noqa: N802
        server = self.server
        key = self.headers.get("Idempotency-Key") or ""
        with server.counts_lock:
            server.per_key[key] = server.per_key.get(key, 0) + 1
            server.arrived += 1
        if not server.gate.wait(120):
            return self.drop()
        super().do_POST()


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # several workers connect at once


@contextmanager
def counting_receiver(port: int = 0, gate_open: bool = True):
    """Yield (url, server) of a reference receiver on ``port`` (0: any free port).

    ``server.state`` is the ``WebhookState``; ``server.per_key`` counts requests per idempotency
    key; ``server.gate`` (a ``threading.Event``) holds requests while cleared.
    """
    server = _ReceiverServer(("127.0.0.1", port), CountingWebhookHandler)
    server.state = WebhookState(secret=SECRET.encode())
    server.per_key = {}
    server.arrived = 0
    server.counts_lock = threading.Lock()
    server.gate = threading.Event()
    if gate_open:
        server.gate.set()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield base_url(server) + "/filings", server
    finally:
        server.gate.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
