"""A chamber's signed status callback, as its system would send it."""

from __future__ import annotations

import json
import time

from chambers.webhook import sign
from tests.support.adapters import SECRET


def callback(client, slug, delivery_id, event, *, secret=SECRET, detail="", occurred_at="2025-12-01T10:00:00Z",
             timestamp=None, raw: bytes | None = None, headers=None):
    body = raw if raw is not None else json.dumps(
        {"delivery_id": str(delivery_id), "event": event, "occurred_at": occurred_at, "detail": detail}).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    sent = {"X-Bizportal-Timestamp": str(ts), "X-Bizportal-Signature": sign(secret, ts, body),
            "Content-Type": "application/json"}
    if headers is not None:
        sent = headers
    return client.post(f"/api/chambers/{slug}/status", data=body, headers=sent)
