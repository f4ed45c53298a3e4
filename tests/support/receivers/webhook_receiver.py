"""A reference webhook receiver, as a chamber would run it, on loopback HTTP.

It checks the signature itself (plain ``hmac``, not the adapter's helper, so a bug shared by
signer and verifier cannot cancel out), refuses stale timestamps, deduplicates on
``Idempotency-Key`` (409 with the stored id) and records what it accepted. ``fault`` switches
misbehaviour on: ``"slow"`` (answer after ``slow_seconds``), ``"500-once"``, ``"400"``, ``"422"``,
``"drop-after-store"`` (store, then close the line without an answer, once), and faults that
every filing meets: ``"500"`` (always), ``"500-twice-each"`` (the first two requests of each
``Idempotency-Key`` get 500), ``"drop-after-store-each"`` (every filing is stored, then the line
is closed without an answer, as a proxy with a shorter timeout than the receiver does; the retry
gets 409), ``"store-then-slow"`` (every request is handled at once, the filing stored or found
already there, and answered only after ``slow_seconds``: a receiver slower than the sender's
timeout that stores each filing anyway).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from .loopback import QuietHandler, base_url, serve


@dataclass
class WebhookState:
    secret: bytes
    fault: str | None = None
    slow_seconds: float = 2.5
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key → record
    requests: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # idempotency key → requests
    refused_signatures: int = 0
    #: every request body by idempotency key, in the order received (faults included)
    bodies_seen: dict[str, list[bytes]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [rec["body"] for rec in self.stored.values()]


class WebhookHandler(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        state: WebhookState = self.server.state
        raw = self.read_body()
        key = self.headers.get("Idempotency-Key") or ""
        with state.lock:
            state.requests += 1
            state.seen[key] = seen = state.seen.get(key, 0) + 1
            state.bodies_seen.setdefault(key, []).append(raw)
            fault = state.fault
        if fault == "slow":
            time.sleep(state.slow_seconds)
        if fault == "500-once":
            state.fault = None
            return self.answer(500, b'{"error":"database unavailable"}')
        if fault == "500" or (fault == "500-twice-each" and seen <= 2):
            return self.answer(500, b'{"error":"database unavailable"}')
        if fault in ("400", "422"):
            return self.answer(
                int(fault), json.dumps({"error": "field 'data.gewerbe' is required"}).encode()
            )
        if not self._signature_ok(state.secret, raw):
            state.refused_signatures += 1
            return self.answer(401, b'{"error":"bad signature"}')
        with state.lock:
            held = state.stored.get(key)
            if held is None:
                record = {
                    "id": f"rcv-{len(state.stored) + 1}",
                    # an XML body (the adapter's format "xml") is kept as bytes, like ``raw``
                    "body": raw if self._is_xml() else json.loads(raw),
                    "headers": dict(self.headers.items()),
                    "path": self.path,
                    "raw": raw,
                }
                state.stored[key] = record
        if held is not None:
            return self._late(fault, 409, json.dumps({"id": held["id"]}).encode())
        if fault == "drop-after-store":
            state.fault = None
            return self.drop()
        if fault == "drop-after-store-each":
            return self.drop()
        self._late(fault, 201, json.dumps({"id": record["id"]}).encode())

    def _late(self, fault: str | None, status: int, body: bytes) -> None:
        """Answer; with ``store-then-slow`` only after ``slow_seconds`` (the work is done already)."""
        if fault == "store-then-slow":
            time.sleep(self.server.state.slow_seconds)
        with suppress(OSError):  # the sender may have given up waiting
            self.answer(status, body)

    def _is_xml(self) -> bool:
        media_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        return media_type in ("application/xml", "text/xml")

    def _signature_ok(self, secret: bytes, raw: bytes) -> bool:
        ts = self.headers.get("X-Bizportal-Timestamp") or ""
        sig = self.headers.get("X-Bizportal-Signature") or ""
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300 or not sig.startswith("sha256="):
            return False
        expected = hmac.new(secret, ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, sig[len("sha256=") :])


@contextmanager
def webhook_receiver(secret: str) -> Iterator[tuple[str, WebhookState]]:
    """Yield (url, state) of a running receiver that shares ``secret`` with the portal."""
    state = WebhookState(secret=secret.encode())
    with serve(WebhookHandler, state=state) as server:
        yield base_url(server) + "/filings", state
