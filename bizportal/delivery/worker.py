"""The delivery worker loop: claim what is due, deliver, repeat."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

from flask import Flask

from ..extensions import db
from . import services
from .services import DeliverySettings

log = logging.getLogger(__name__)


class Worker:
    """Drains due deliveries. ``stop()`` (or SIGTERM) ends the loop after the current delivery."""

    def __init__(self, app: Flask, worker_id: str | None = None):
        self.app = app
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        cfg = app.config
        self.settings = DeliverySettings(
            max_attempts=cfg["DELIVERY_MAX_ATTEMPTS"],
            lease_seconds=cfg["DELIVERY_LEASE_SECONDS"],
            backoff_base=cfg["DELIVERY_BACKOFF_BASE_SECONDS"],
            backoff_max=cfg["DELIVERY_BACKOFF_MAX_SECONDS"],
        )
        self.batch_size = cfg["WORKER_BATCH_SIZE"]
        self.poll_seconds = cfg["WORKER_POLL_SECONDS"]
        self._stop = threading.Event()

    def stop(self, *_args) -> None:
        self._stop.set()

    def run_batch(self) -> int:
        """Claim and deliver one batch; returns how many deliveries were attempted."""
        ext = self.app.extensions["bizportal"]
        with self.app.app_context():
            try:
                ids = services.claim_due_deliveries(self.worker_id, self.batch_size, self.settings)
                for index, delivery_id in enumerate(ids):
                    if self._stop.is_set():
                        # Shutting down: hand the rest back now instead of waiting for the lease.
                        services.release(ids[index:], self.worker_id)
                        return index
                    try:
                        services.deliver_one(
                            delivery_id, self.worker_id, ext.registry, ext.adapter_services,
                            ext.catalog, self.settings,
                        )
                    except Exception:
                        # The database failed under us: give the rest back and let the loop pause.
                        db.session.rollback()
                        services.release(ids[index:], self.worker_id)
                        raise
                return len(ids)
            finally:
                db.session.remove()

    def run_once(self) -> int:
        """Deliver everything that is due now, then return the number of attempts made."""
        total = 0
        while not self._stop.is_set():
            n = self.run_batch()
            total += n
            if n == 0:
                break
        return total

    def run_forever(self, install_signal_handlers: bool = True) -> None:
        if install_signal_handlers:
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        log.info("delivery worker %s started", self.worker_id)
        while not self._stop.is_set():
            try:
                n = self.run_batch()
            except Exception:
                log.exception("delivery worker batch failed; retrying after a pause")
                n = 0
            if n == 0:
                self._stop.wait(self.poll_seconds)
        log.info("delivery worker %s stopped", self.worker_id)
