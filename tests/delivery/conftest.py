"""Fixtures for the delivery tests: a registry with the test adapters, workers in threads and processes.

Tests marked ``postgres_only`` are skipped on SQLite; CI runs the suite a second time with
``BIZPORTAL_TEST_DATABASE_URL`` pointing at PostgreSQL, where they run.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from chambers.email import EmailAdapter
from chambers.fitconnect import FitConnectAdapter
from chambers.inbox import InboxAdapter
from chambers.registry import AdapterRegistry
from chambers.webhook import WebhookAdapter
from tests.support.adapters import FlakyAdapter, GateAdapter
from tests.support.clock import faketime_env
from tests.support.receivers.fitconnect_receiver import Keys
from tests.support.workers import worker_env

ROOT = Path(__file__).resolve().parents[2]


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



@pytest.fixture
def worker_processes(database_url, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start real ``flask --app wsgi worker`` processes; terminated at the end of the test."""
    procs: list[subprocess.Popen] = []

    def start(clock_offset: float = 0, **env_extra) -> subprocess.Popen:
        """``clock_offset``: the process's wall clock runs that many seconds ahead (negative: behind)."""
        env = worker_env(database_url, **env_extra)
        if clock_offset:
            env.update(faketime_env(clock_offset))
        with open(tmp_path / f"worker-{len(procs)}.log", "wb") as log:  # the child keeps its own handle
            proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
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
        destination_signing=RSAKey.generate_key(4096, parameters={"kid": "dest-sig-1"}),
    )
