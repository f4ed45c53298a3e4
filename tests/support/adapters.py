"""Test adapters (always fine, failing on demand, held at a gate) and options of the real ones."""

from __future__ import annotations

import threading

from chambers.base import Adapter, DeliveryResult, InvalidConfig, PermanentFailure, TemporaryFailure
from tests.support.receivers.fitconnect_receiver import fit_options as _fit_options

SECRET = "s3cr3t-shared-with-the-chamber"


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


def webhook_options(url: str, **extra) -> dict:
    return {"url": url, "secret": SECRET, "allow_insecure_http": True, "timeout_seconds": 5, **extra}


def fit_options(url: str, state, **extra) -> dict:
    return _fit_options(url, state, **{"timeout_seconds": 10, **extra})
