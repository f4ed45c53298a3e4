"""The delivery worker: a dispatcher thread claims due rows, a small thread pool sends them.

Isolation between chambers: at most ``DELIVERY_CHAMBER_CONCURRENCY`` deliveries of one chamber
are in flight in one worker process (of ``WORKER_THREADS``), so a slow receiver can occupy only
its own slots; a per-chamber circuit breaker stops claiming a chamber's rows after
``DELIVERY_BREAKER_THRESHOLD`` temporary failures in a row and probes it again after a cooldown.
The dispatcher also renews the leases of the deliveries in flight (heartbeat), so a send that
takes longer than the lease is not taken over while its worker lives; a killed worker's rows are
due again once the lease has run out.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from ..extensions import db
from . import services
from .breaker import CircuitBreakers
from .services import Claim, DeliverySettings

log = logging.getLogger(__name__)


class Worker:
    """Drains due deliveries. ``stop()`` (or SIGTERM/SIGINT) stops claiming; sends in flight
    finish (up to ``WORKER_SHUTDOWN_GRACE_SECONDS``, then they are handed back)."""

    def __init__(self, app: Flask, worker_id: str | None = None, threads: int | None = None):
        self.app = app
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        cfg = app.config
        self.settings = DeliverySettings.from_config(cfg)
        self.threads = max(1, int(threads or cfg.get("WORKER_THREADS", 4)))
        self.per_chamber = max(1, min(self.threads, int(cfg.get("DELIVERY_CHAMBER_CONCURRENCY", 2))))
        self.poll_seconds = float(cfg.get("WORKER_POLL_SECONDS", 2))
        self.events_poll_seconds = float(cfg.get("DELIVERY_EVENTS_POLL_SECONDS", 300))
        self.shutdown_grace = float(cfg.get("WORKER_SHUTDOWN_GRACE_SECONDS", 30))
        self.heartbeat_seconds = max(0.2, self.settings.lease_seconds / 3)
        self.breakers = CircuitBreakers(
            threshold=int(cfg.get("DELIVERY_BREAKER_THRESHOLD", 5)),
            cooldown=float(cfg.get("DELIVERY_BREAKER_COOLDOWN_SECONDS", 30)),
            max_cooldown=float(cfg.get("DELIVERY_BREAKER_MAX_COOLDOWN_SECONDS", 600)),
        )
        self._stop = threading.Event()
        self._cond = threading.Condition(threading.RLock())  # re-entrant: stop() may run in a signal handler
        self._in_flight: dict[uuid.UUID, int] = {}
        self._completed = 0
        self._executor: ThreadPoolExecutor | None = None
        self._last_heartbeat = time.monotonic()

    # --- control ----------------------------------------------------------------------------

    def stop(self, *_args) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def in_flight(self) -> dict[uuid.UUID, int]:
        with self._cond:
            return dict(self._in_flight)

    # --- one round ----------------------------------------------------------------------------

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="delivery")
        return self._executor

    def dispatch(self) -> int:
        """Claim as many due deliveries as there are free slots and start them; returns how many."""
        with self._cond:
            free = self.threads - len(self._in_flight)
            per_chamber = Counter(self._in_flight.values())
        if free <= 0 or self._stop.is_set():
            return 0

        def slots(chamber_id: int) -> int:
            return self.breakers.allowance(chamber_id, self.per_chamber - per_chamber.get(chamber_id, 0))

        with self.app.app_context():
            try:
                claims = services.claim(self.worker_id, free, self.settings, slots)
            finally:
                db.session.remove()
        pool = self._pool()
        for index, claim in enumerate(claims):
            if self._stop.is_set():
                # Shutting down: hand the rest back now instead of waiting for the lease.
                self._release([c.id for c in claims[index:]])
                return index
            self.breakers.started(claim.chamber_id)
            with self._cond:
                self._in_flight[claim.id] = claim.chamber_id
            pool.submit(self._send, claim)
        return len(claims)

    def _send(self, claim: Claim) -> None:
        ext = self.app.extensions["bizportal"]
        outcome = None
        try:
            with self.app.app_context():
                try:
                    outcome = services.deliver(claim.id, self.worker_id, ext.registry, ext.adapter_services,
                                               ext.catalog, self.settings)
                except Exception:
                    # The database failed under us: give the row back (the lease covers the worst case).
                    log.exception("delivery %s could not be recorded", claim.id)
                    db.session.rollback()
                    try:
                        services.release([claim.id], self.worker_id)
                    except Exception:
                        log.exception("delivery %s could not be released; its lease will run out", claim.id)
                finally:
                    db.session.remove()
            if outcome is not None and outcome.state != "lost":
                self.breakers.record(claim.chamber_id, outcome.temporary)
        finally:
            with self._cond:
                self._in_flight.pop(claim.id, None)
                self._completed += 1
                self._cond.notify_all()

    def _release(self, ids: list[uuid.UUID]) -> None:
        with self.app.app_context():
            try:
                services.release(ids, self.worker_id)
            finally:
                db.session.remove()

    def heartbeat(self, force: bool = False) -> None:
        """Renew the leases of the sends in flight (every lease/3 seconds)."""
        now = time.monotonic()
        if not force and now - self._last_heartbeat < self.heartbeat_seconds:
            return
        self._last_heartbeat = now
        ids = list(self.in_flight())
        if not ids:
            return
        with self.app.app_context():
            try:
                services.renew_leases(ids, self.worker_id, self.settings)
            finally:
                db.session.remove()

    def _wait(self, completed_before: int, timeout: float) -> None:
        """Sleep until a send completes, ``stop()`` is called or ``timeout`` passes."""
        with self._cond:
            self._cond.wait_for(lambda: self._completed != completed_before or self._stop.is_set(),
                                timeout=max(0.0, timeout))

    def _drain(self) -> None:
        """Let the sends in flight finish; after the grace period hand back what still runs."""
        deadline = time.monotonic() + self.shutdown_grace
        while self.in_flight() and time.monotonic() < deadline:
            with self._cond:
                self._cond.wait(timeout=max(0.0, min(deadline - time.monotonic(), self.heartbeat_seconds)))
            self.heartbeat()
        leftover = list(self.in_flight())
        if leftover:
            log.warning("worker %s: %d send(s) still running after %.0f s; handing them back",
                        self.worker_id, len(leftover), self.shutdown_grace)
            with self.app.app_context():
                try:
                    services.abandon(leftover, self.worker_id)
                finally:
                    db.session.remove()

    def _close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=not self.in_flight())
            self._executor = None

    # --- loops --------------------------------------------------------------------------------

    def run_batch(self) -> int:
        """Claim one round and wait for those sends to finish; returns how many were started."""
        n = self.dispatch()
        with self._cond:
            self._cond.wait_for(lambda: not self._in_flight)
        return n

    def run_once(self) -> int:
        """Deliver everything that is due now, then return the number of attempts made."""
        start = self._completed
        try:
            while not self._stop.is_set():
                before = self._completed
                n = self.dispatch()
                with self._cond:
                    if n == 0 and not self._in_flight:
                        break
                self._wait(before, self.heartbeat_seconds)
                self.heartbeat()
            self._drain()
        finally:
            self._close()
        return self._completed - start

    def run_forever(self, install_signal_handlers: bool = True) -> None:
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        log.info("delivery worker %s started (%d threads, %d per chamber)", self.worker_id, self.threads,
                 self.per_chamber)
        poller = None
        if self.events_poll_seconds > 0:
            poller = threading.Thread(target=self._events_loop, name="delivery-events", daemon=True)
            poller.start()
        try:
            while not self._stop.is_set():
                before = self._completed
                try:
                    self.dispatch()
                    self.heartbeat()
                except Exception:
                    log.exception("delivery worker round failed; retrying after a pause")
                    self._stop.wait(self.poll_seconds)
                    continue
                self._wait(before, min(self.poll_seconds, self.heartbeat_seconds))
            self._drain()
        finally:
            self._close()
            if poller is not None:
                poller.join(timeout=5)
        log.info("delivery worker %s stopped", self.worker_id)

    def _events_loop(self) -> None:
        """Poll receivers with a back channel (e.g. FIT-Connect) for status events, periodically."""
        from . import events

        while not self._stop.is_set():
            try:
                with self.app.app_context():
                    try:
                        events.poll_pass(self.app, should_stop=self._stop.is_set)
                    finally:
                        db.session.remove()
            except Exception:
                log.exception("polling chamber events failed")
            if self._stop.wait(self.events_poll_seconds):
                break
