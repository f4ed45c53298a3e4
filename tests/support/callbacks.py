"""A chamber's signed status callback, as its system would send it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from chambers.webhook import sign
from tests.support.adapters import SECRET


def at(seconds: float = 0) -> str:
    """An event time ``seconds`` from now, as a chamber's system writes it (ISO 8601, UTC)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="microseconds").replace("+00:00", "Z")


def callback(client, slug, delivery_id, event, *, secret=SECRET, detail="", occurred_at: str | None = None,
             timestamp=None, raw: bytes | None = None, headers=None):
    """POST a signed status report; ``occurred_at`` defaults to now (a body reports what just happened)."""
    occurred_at = occurred_at or at()
    body = raw if raw is not None else json.dumps(
        {"delivery_id": str(delivery_id), "event": event, "occurred_at": occurred_at, "detail": detail}).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    sent = {"X-Bizportal-Timestamp": str(ts), "X-Bizportal-Signature": sign(secret, ts, body),
            "Content-Type": "application/json"}
    if headers is not None:
        sent = headers
    return client.post(f"/api/chambers/{slug}/status", data=body, headers=sent)
