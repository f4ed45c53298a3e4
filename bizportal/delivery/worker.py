"""The delivery worker: one process = a dispatcher, a pool of sender threads and a writer thread.

* The dispatcher claims due rows (and reads what their sends need) in one short transaction,
  only as many as there are free sender threads, and at most ``DELIVERY_CHAMBER_CONCURRENCY``
  per chamber; it skips chambers whose circuit breaker is open. It also renews the leases of
  everything it holds (heartbeat, every lease/3), so a slow send is not taken over while its
  worker lives, and a killed worker's rows are due again once their lease has run out.
* Sender threads (``WORKER_THREADS``) only call the adapters; they never touch the database.
  A slow or failing chamber can occupy at most its own slots, never the others'.
* The writer thread records outcomes in batches, one transaction per batch (group commit).
* Each send's answer time (or its timeout) goes into ``timing.AnswerTimes`` in memory; the
  dispatcher publishes it for the admin pages every ``DELIVERY_TIMING_PUBLISH_SECONDS``.
* A mail thread sends the queued mails to companies (``notify.send_due``), so a slow SMTP server
  never holds up deliveries; a background thread polls receivers with a back channel.

``stop()`` (SIGTERM/SIGINT) stops claiming; sends in flight finish and are recorded (up to
``WORKER_SHUTDOWN_GRACE_SECONDS``; what still runs then is handed back, due at once).
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

from ..common import logs
from ..common.time import local_today
from ..extensions import db
from ..notify import services as notify
from . import claims, recording, sending, timing
from .breaker import CircuitBreakers
from .claims import Claim
from .sending import SendResult

log = logging.getLogger(__name__)


class Worker:
    """Drains due deliveries; see the module docstring."""

    def __init__(self, app: Flask, worker_id: str | None = None, threads: int | None = None):
        self.app = app
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        settings = app.config["SETTINGS"]
        self.settings = settings.delivery
        self.mail_settings = settings.mail
        self.mail_batch = 20  #: mails claimed per round of the mail thread
        work = settings.worker
        self.threads = max(1, int(threads or work.threads))
        self.per_chamber = max(1, min(self.threads, self.settings.chamber_concurrency))
        self.poll_seconds = work.poll_seconds
        self.events_poll_seconds = self.settings.events_poll_seconds
        self.shutdown_grace = work.shutdown_grace
        self.heartbeat_seconds = max(0.2, self.settings.lease_seconds / 3)
        self.claim_batch = max(1, self.threads // 2)
        self.claim_linger = work.claim_linger
        self._hold_since: float | None = None
        self.write_linger = work.write_linger
        self.breakers = CircuitBreakers(
            threshold=self.settings.breaker_threshold,
            cooldown=self.settings.breaker_cooldown,
            max_cooldown=self.settings.breaker_max_cooldown,
        )
        self.answer_times = timing.AnswerTimes(self.settings.timing_window)
        self._last_timing_publish = time.monotonic()
        #: chambers whose adapter reported unusable settings: not claimed until then (monotonic time)
        self._paused: dict[int, float] = {}
        self.pause_seconds = self.settings.config_recheck_seconds
        self._stop = threading.Event()
        self._cond = threading.Condition(threading.RLock())  # re-entrant: stop() may run in a signal handler
        self._sending: dict[uuid.UUID, int] = {}  # in a sender thread → chamber id
        self._unwritten: dict[uuid.UUID, SendResult] = {}  # sent, outcome not yet recorded
        self._completed = 0  # sends finished (the attempts made)
        self._progress = 0  # grows whenever a send finishes or outcomes are written
        self._executor: ThreadPoolExecutor | None = None
        self._writer: threading.Thread | None = None
        self._writer_stop = threading.Event()
        self._last_heartbeat = time.monotonic()

    # --- control ----------------------------------------------------------------------------

    def stop(self, *_args) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def in_flight(self) -> set[uuid.UUID]:
        """Deliveries this worker holds: being sent or waiting for their outcome to be written."""
        with self._cond:
            return set(self._sending) | set(self._unwritten)

    def _busy(self) -> bool:
        with self._cond:
            return bool(self._sending or self._unwritten)

    # --- claiming and sending -------------------------------------------------------------------

    def _start_threads(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="delivery-send")
        if self._writer is None:
            self._writer_stop.clear()
            self._writer = threading.Thread(target=self._write_loop, name="delivery-write", daemon=True)
            self._writer.start()
        return self._executor

    def dispatch(self) -> int:
        """Claim as many due deliveries as there are free slots and start them; returns how many."""
        with self._cond:
            free = self.threads - len(self._sending)
            per_chamber = Counter(self._sending.values())
        if free <= 0 or self._stop.is_set():
            return 0
        with self.app.app_context():  # an imported service definition reaches this worker too
            self.app.extensions["bizportal"].catalog_refresh.maybe_refresh()
        # Claim in rounds of at least half the pool (fewer, larger claim transactions), but never
        # hold free threads back longer than ``claim_linger``: a slow chamber holding some threads
        # must not delay the others.
        now = time.monotonic()
        if free < self.claim_batch and per_chamber:
            if self._hold_since is None:
                self._hold_since = now
            if now - self._hold_since < self.claim_linger:
                return 0
        self._hold_since = None

        # Chambers with sends in flight, a tripped breaker or a pause get their own limit; others the default.
        paused = self._paused_chambers(now)
        tripped = self.breakers.tripped()
        slots = {cid: self.breakers.allowance(cid, self.per_chamber - per_chamber.get(cid, 0))
                 for cid in set(per_chamber) | tripped}
        slots.update({cid: 0 for cid in paused})
        # A half-open breaker's probe is the chamber's most-tried due row (see ``breaker``).
        probes = {cid for cid in tripped if slots.get(cid, 0) > 0}
        with self.app.app_context():
            try:
                claimed = claims.claim(self.worker_id, free, self.settings, slots, default_slots=self.per_chamber,
                                       probe_chambers=probes)
                # A send that finished during the claim may have paused its chamber after the slots
                # were counted: hand such rows back unattempted.
                paused = self._paused_chambers(time.monotonic())
                if any(c.chamber_id in paused for c in claimed):
                    claims.release([c.id for c in claimed if c.chamber_id in paused], self.worker_id)
                    claimed = [c for c in claimed if c.chamber_id not in paused]
            finally:
                db.session.remove()
        pool = self._start_threads()
        for index, claim in enumerate(claimed):
            if self._stop.is_set():
                # Shutting down: hand the rest back now instead of waiting for the lease.
                self._call(claims.release, [c.id for c in claimed[index:]], self.worker_id)
                return index
            self.breakers.started(claim.chamber_id)
            with self._cond:
                self._sending[claim.id] = claim.chamber_id
            pool.submit(self._send, claim)
        return len(claimed)

    def _paused_chambers(self, now: float) -> set[int]:
        with self._cond:
            for cid in [c for c, until in self._paused.items() if until <= now]:
                del self._paused[cid]
            return set(self._paused)

    def _send(self, claim: Claim) -> None:
        ext = self.app.extensions["bizportal"]
        result: SendResult | None = None
        job = claim.job
        try:
            with logs.context(request_id=job.request_id, filing_id=job.filing_id, delivery_id=job.delivery_id):
                with self.app.app_context():  # adapters' host services (e.g. the inbox store) need it
                    result = sending.send(job, ext.registry, ext.adapter_services, ext.catalog, self.settings)
                log.info("delivery %s of filing %s to %s (attempt %d): %s", job.delivery_id, job.filing_id,
                         job.target.slug, job.attempts, result.state)
            if result.waiting:
                self.breakers.not_tried(claim.chamber_id)
                with self._cond:
                    self._paused[claim.chamber_id] = time.monotonic() + self.pause_seconds
            elif result.superseded:
                self.breakers.not_tried(claim.chamber_id)
            elif result.inconclusive:
                self.breakers.inconclusive(claim.chamber_id)
            else:
                self.breakers.record(claim.chamber_id, result.temporary, result.attempts)
            if result.answer_seconds is not None or result.timeouts > claim.job.timeouts:
                self.answer_times.record(claim.chamber_id, result.answer_seconds, result.answer_timeout)
        except Exception:
            log.exception("delivery %s: send failed; the lease will hand it back", claim.id)
        finally:
            with self._cond:
                self._sending.pop(claim.id, None)
                if result is not None:
                    self._unwritten[claim.id] = result
                self._completed += 1
                self._progress += 1
                self._cond.notify_all()

    # --- writing outcomes ---------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._unwritten or self._writer_stop.is_set(), timeout=1.0)
                if self._unwritten and len(self._unwritten) < self.claim_batch and self._sending:
                    # Group commit: let a few more outcomes arrive (a few milliseconds at most).
                    self._cond.wait_for(lambda: len(self._unwritten) >= self.claim_batch or not self._sending
                                        or self._writer_stop.is_set(), timeout=self.write_linger)
                batch = list(self._unwritten.values())
                if not batch and self._writer_stop.is_set():
                    return
            if not batch:
                continue
            try:
                with self.app.app_context():
                    try:
                        recording.record(self.worker_id, batch, self.settings)
                    finally:
                        db.session.remove()
            except Exception:
                # The database failed: keep the outcomes and try again (the heartbeat keeps the
                # leases); on shutdown give up, and the leases hand the rows back.
                log.exception("writing %d delivery outcome(s) failed", len(batch))
                if self._writer_stop.wait(1.0):
                    with self._cond:
                        for r in batch:
                            self._unwritten.pop(r.delivery_id, None)
                        self._progress += 1
                        self._cond.notify_all()
                continue
            with self._cond:
                for r in batch:
                    self._unwritten.pop(r.delivery_id, None)
                self._progress += 1
                self._cond.notify_all()

    # --- housekeeping -------------------------------------------------------------------------

    def _call(self, fn, *args):
        with self.app.app_context():
            try:
                return fn(*args)
            finally:
                db.session.remove()

    def heartbeat(self, force: bool = False) -> None:
        """Renew the leases of everything this worker holds (every lease/3 seconds)."""
        now = time.monotonic()
        if not force and now - self._last_heartbeat < self.heartbeat_seconds:
            return
        self._last_heartbeat = now
        ids = self.in_flight()
        if ids:
            self._call(claims.renew_leases, list(ids), self.worker_id, self.settings)

    def publish_timing(self, force: bool = False) -> None:
        """Publish the answer times seen within the window (every ``DELIVERY_TIMING_PUBLISH_SECONDS``).

        A failure is logged and retried next time: the numbers are for admins, never for sending.
        """
        now = time.monotonic()
        if not force and now - self._last_timing_publish < self.settings.timing_publish_seconds:
            return
        self._last_timing_publish = now
        try:
            self._call(timing.publish, self.worker_id, self.answer_times.snapshot(), self.settings.timing_window)
        except Exception:
            log.exception("publishing the chambers' answer times failed")

    def _wait(self, progress_before: int, timeout: float) -> None:
        """Sleep until a send finishes or outcomes are written, ``stop()``, or ``timeout``."""
        if self._hold_since is not None:  # free threads are held back for a moment: look again soon
            timeout = min(timeout, self.claim_linger)
        with self._cond:
            self._cond.wait_for(lambda: self._progress != progress_before or self._stop.is_set(),
                                timeout=max(0.0, timeout))

    def _drain(self) -> None:
        """Let the sends in flight finish; after the grace period hand back what still runs."""
        deadline = time.monotonic() + self.shutdown_grace
        while True:
            with self._cond:
                if not self._sending or time.monotonic() >= deadline:
                    leftover = list(self._sending)
                    break
                self._cond.wait(timeout=max(0.0, min(deadline - time.monotonic(), self.heartbeat_seconds)))
            self.heartbeat()
        if leftover:
            log.warning("worker %s: %d send(s) still running after %.0f s; handing them back",
                        self.worker_id, len(leftover), self.shutdown_grace)
            self._call(claims.abandon, leftover, self.worker_id)
        with self._cond:  # the outcomes of the finished sends are written before the worker ends
            self._cond.wait_for(lambda: not self._unwritten, timeout=max(5.0, self.shutdown_grace))

    def _close(self) -> None:
        if self._writer is not None:
            self._writer_stop.set()
            with self._cond:
                self._cond.notify_all()
            self._writer.join(timeout=10)
            self._writer = None
        if self._executor is not None:
            with self._cond:
                idle = not self._sending
            self._executor.shutdown(wait=idle)
            self._executor = None

    # --- loops --------------------------------------------------------------------------------

    def run_batch(self) -> int:
        """Claim one round and wait until those sends are recorded; returns how many were started."""
        n = self.dispatch()
        with self._cond:
            self._cond.wait_for(lambda: not self._sending and not self._unwritten)
        return n

    def run_once(self) -> int:
        """Deliver everything that is due now and send the mails that are due (also those the
        deliveries queued), then return the number of delivery attempts made."""
        start = self._completed
        try:
            while not self._stop.is_set():
                before = self._progress
                n = self.dispatch()
                if n == 0 and not self._busy():
                    break
                if n == 0:
                    self._wait(before, self.heartbeat_seconds)
                self.heartbeat()
            self._drain()
        finally:
            self._close()
        self.publish_timing(force=True)
        self.send_mails()
        return self._completed - start

    def send_mails(self) -> int:
        """Queue the reminders that are due, then send the queued mails that are due, batch after
        batch; returns how many were attempted."""
        with self.app.app_context():
            notify.queue_reminders(self.mail_settings.reminder_days,
                                   local_today(self.app.config["SETTINGS"].web.timezone))
        total = 0
        while not self._stop.is_set():
            n = notify.send_due(self.app, self.worker_id, self.mail_settings, self.mail_batch)
            total += n
            if n < self.mail_batch:
                break
        return total

    def run_forever(self, install_signal_handlers: bool = True) -> None:
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
            signal.signal(signal.SIGHUP, self.app.extensions["bizportal"].catalog_refresh.request_check)
        log.info("delivery worker %s started (%d threads, %d per chamber)", self.worker_id, self.threads,
                 self.per_chamber)
        poller = None
        if self.events_poll_seconds > 0:
            poller = threading.Thread(target=self._events_loop, name="delivery-events", daemon=True)
            poller.start()
        mailer = threading.Thread(target=self._mail_loop, name="mail", daemon=True)
        mailer.start()
        try:
            while not self._stop.is_set():
                before = self._progress
                try:
                    self.dispatch()
                    self.heartbeat()
                    self.publish_timing()
                except Exception:
                    log.exception("delivery worker round failed; retrying after a pause")
                    self._stop.wait(self.poll_seconds)
                    continue
                self._wait(before, min(self.poll_seconds, self.heartbeat_seconds))
            self._drain()
            self.publish_timing(force=True)
        finally:
            self._close()
            if poller is not None:
                poller.join(timeout=5)
            mailer.join(timeout=max(5.0, self.mail_settings.smtp_timeout + 1))
        log.info("delivery worker %s stopped", self.worker_id)

    def daily_jobs(self) -> bool:
        """Run the day's retention (``retention.services``) once past ``RETENTION_HOUR``: one
        worker of all claims the day; returns whether this one ran it."""
        from ..retention import services as retention

        with self.app.app_context():
            day = retention.daily_run_due(self.app)
            if day is None:
                return False
            report = retention.run_recorded(self.app, dry_run=False, actor="worker", day=day)
            return report is not None

    def _mail_loop(self) -> None:
        """Send queued mails until the worker stops (before them, the daily jobs: retention queues
        its reminders); a failing database or SMTP server is retried."""
        while not self._stop.is_set():
            try:
                self.daily_jobs()
                self.send_mails()
            except Exception:
                log.exception("sending queued mails failed; retrying after a pause")
            if self._stop.wait(self.mail_settings.poll_seconds):
                break

    def _events_loop(self) -> None:
        """Poll receivers with a back channel (e.g. FIT-Connect) for status events, periodically."""
        from . import events

        while not self._stop.is_set():
            try:
                self._call(events.poll_pass, self.app, self._stop.is_set)
            except Exception:
                log.exception("polling chamber events failed")
            if self._stop.wait(self.events_poll_seconds):
                break
