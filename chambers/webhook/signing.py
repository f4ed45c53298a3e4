"""HMAC-SHA256 signatures for webhook deliveries and status callbacks.

Scheme (both directions): ``X-Bizportal-Timestamp: <unix seconds>`` and
``X-Bizportal-Signature: sha256=<hex>``, where ``<hex>`` is HMAC-SHA256 with the shared secret over
the bytes ``b"<timestamp>." + raw_body``. Receivers verify with ``verify_signature``; this module
has no dependency beyond the standard library so a chamber can copy it as is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

__all__ = [
    "TIMESTAMP_HEADER",
    "SIGNATURE_HEADER",
    "IDEMPOTENCY_HEADER",
    "WebhookVerificationError",
    "SignatureError",
    "sign",
    "verify_signature",
]

TIMESTAMP_HEADER = "X-Bizportal-Timestamp"
SIGNATURE_HEADER = "X-Bizportal-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"

_SIGNATURE_RE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")


class WebhookVerificationError(ValueError):
    """Base class: a signed request or callback was refused."""


class SignatureError(WebhookVerificationError):
    """The signature is missing, malformed, wrong, or its timestamp is stale or in the future."""


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not key:
        raise ValueError("webhook secret must not be empty")
    return key


def _mac(secret: str | bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(
        _key(secret), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Bizportal-Signature`` value (``sha256=<hex>``) for ``body`` at ``timestamp``."""
    return "sha256=" + _mac(secret, int(timestamp), body)


def verify_signature(
    secret: str | bytes,
    timestamp: str | int | None,
    body: bytes | str,
    signature: str | None,
    max_age: int = 300,
    now: float | None = None,
) -> None:
    """Accept a signed request or raise ``SignatureError``; returns ``None`` when it is genuine.

    ``timestamp`` and ``signature`` are the raw header values, ``body`` the raw request body exactly
    as received (a ``str`` is encoded as UTF-8). Refuses a timestamp more than ``max_age`` seconds
    old or ahead of ``now`` (default: the current time), so a captured request cannot be replayed
    later. The comparison runs in constant time. Raising (rather than returning ``False``) means a
    caller cannot forget to check the result.
    """
    if timestamp is None or signature is None:
        raise SignatureError("signature or timestamp header missing")
    ts_text = str(timestamp).strip()
    if not _TIMESTAMP_RE.fullmatch(ts_text):
        raise SignatureError("timestamp is not a unix time in seconds")
    ts = int(ts_text)
    current = time.time() if now is None else now
    if abs(current - ts) > max_age:
        raise SignatureError(f"timestamp is outside the accepted window of {max_age} s")
    match = _SIGNATURE_RE.fullmatch(signature.strip())
    if match is None:
        raise SignatureError("signature is not of the form sha256=<64 hex digits>")
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    expected = _mac(secret, ts, raw)
    if not hmac.compare_digest(expected, match.group(1).lower()):
        raise SignatureError("signature does not match")
