"""Signature helper and signed status callbacks: what a chamber and the portal rely on."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from uuid import UUID

import pytest

from chambers.base import ChamberEvent
from chambers.webhook import (
    MalformedCallback,
    SignatureError,
    parse_status_callback,
    sign,
    verify_signature,
)

SECRET = "s3cr3t-shared-with-the-chamber"
NOW = 1_764_329_400  # 2025-11-28T11:30:00Z
BODY = b'{"hello":"w\xc3\xb6rld"}'


def test_signature_matches_the_documented_scheme():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == "sha256=" + expected
    verify_signature(SECRET, str(NOW), BODY, "sha256=" + expected.upper(), now=NOW + 10)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda ts, body, sig: (ts, body + b" ", sig),  # body changed
        lambda ts, body, sig: (str(int(ts) + 1), body, sig),  # timestamp changed
        lambda ts, body, sig: (
            ts,
            body,
            sign("another-secret-entirely", int(ts), body),
        ),  # wrong key
        lambda ts, body, sig: (ts, body, sig.replace("sha256=", "sha1=")),  # wrong scheme
        lambda ts, body, sig: (ts, body, None),  # missing
    ],
)
def test_forged_or_altered_requests_are_refused(tamper):
    ts, body, sig = tamper(str(NOW), BODY, sign(SECRET, NOW, BODY))
    with pytest.raises(SignatureError):
        verify_signature(SECRET, ts, body, sig, now=NOW)


@pytest.mark.parametrize("now", [NOW + 301, NOW - 301])
def test_stale_or_future_timestamps_are_refused(now):
    with pytest.raises(SignatureError, match="window"):
        verify_signature(SECRET, str(NOW), BODY, sign(SECRET, NOW, BODY), now=now)


def test_non_numeric_timestamp_is_refused():
    with pytest.raises(SignatureError, match="unix time"):
        verify_signature(SECRET, "2025-11-28", BODY, sign(SECRET, NOW, BODY), now=NOW)


def callback(body: dict | bytes, secret: str = SECRET, ts: int = NOW) -> tuple[dict, bytes]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    # lower-case names, as some proxies deliver them
    return {"x-bizportal-timestamp": str(ts), "x-bizportal-signature": sign(secret, ts, raw)}, raw


REPORT = {
    "delivery_id": "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f",
    "event": "rejected",
    "occurred_at": "2025-11-28T12:31:00+01:00",
    "detail": "Meisterbrief fehlt",
}


def test_status_callback_becomes_a_chamber_event():
    headers, raw = callback(REPORT)
    event = parse_status_callback(SECRET, headers, raw, now=NOW)
    assert isinstance(event, ChamberEvent)
    assert event.kind == "rejected"
    assert event.detail == "Meisterbrief fehlt"
    assert event.occurred_at == datetime(2025, 11, 28, 11, 31, tzinfo=UTC)
    assert event.delivery_id == UUID(REPORT["delivery_id"])


def test_forged_status_callback_is_refused():
    headers, raw = callback(REPORT, secret="someone-elses-secret-value")
    with pytest.raises(ValueError) as err:  # the portal endpoint answers any ValueError with 4xx
        parse_status_callback(SECRET, headers, raw, now=NOW)
    assert isinstance(err.value, SignatureError)


def test_replayed_old_status_callback_is_refused():
    headers, raw = callback(REPORT, ts=NOW - 3600)
    with pytest.raises(SignatureError):
        parse_status_callback(SECRET, headers, raw, now=NOW)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json", "not JSON"),
        ({**REPORT, "event": "approved"}, "event must be one of"),
        ({**REPORT, "delivery_id": "BP-2025-000123"}, "not a UUID"),
        ({**REPORT, "occurred_at": "2025-11-28T12:31:00"}, "time zone"),
        ({**REPORT, "detail": {"why": "x"}}, "detail must be a string"),
        ([REPORT], "JSON object"),
    ],
)
def test_malformed_but_signed_callback_is_refused(body, message):
    headers, raw = callback(body)
    with pytest.raises(MalformedCallback, match=message):
        parse_status_callback(SECRET, headers, raw, now=NOW)
