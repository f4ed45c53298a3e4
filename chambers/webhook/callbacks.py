"""Signed status callbacks from a chamber's system to the portal (the webhook back channel).

A chamber POSTs JSON ``{"delivery_id", "event", "occurred_at", "detail"}`` signed with the same
secret and scheme as the deliveries it receives (see ``signing``). The portal endpoint hands the
raw body and headers to ``parse_status_callback`` and gets a ``CallbackEvent`` back, or an error it
answers with 4xx. A valid callback can be replayed within the timestamp window (5 minutes); the
events are state reports, so the portal should treat a repeated event as a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..base import ChamberEvent
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookVerificationError, verify_signature

__all__ = ["CALLBACK_EVENTS", "CallbackEvent", "MalformedCallback", "parse_status_callback"]

#: The event kinds a chamber may report, in the order a filing usually passes them.
CALLBACK_EVENTS = ("received", "in_progress", "information_requested", "accepted", "rejected")
MAX_DETAIL = 2000
MAX_BODY = 64 * 1024


class MalformedCallback(WebhookVerificationError):
    """The callback is signed correctly but its body is not a valid status report."""


@dataclass(frozen=True, kw_only=True)
class CallbackEvent(ChamberEvent):
    """A ``ChamberEvent`` that also names the delivery it is about."""

    delivery_id: UUID


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)  # case-insensitive for werkzeug/requests header objects
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise MalformedCallback("occurred_at must be an ISO 8601 string")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedCallback("occurred_at is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise MalformedCallback("occurred_at must carry a time zone (e.g. 'Z')")
    return parsed.astimezone(UTC)


def parse_status_callback(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    max_age: int = 300,
    now: float | None = None,
) -> CallbackEvent:
    """Verify a chamber's signed status callback and return it as a ``CallbackEvent``.

    ``headers`` is any mapping of the request headers (looked up case-insensitively), ``body`` the
    raw request body. Raises ``SignatureError`` for a missing, forged or stale signature and
    ``MalformedCallback`` for a body that is not JSON of the documented shape (unknown event,
    invalid delivery id, date-time without zone, detail not a string). Both are ``ValueError``
    subclasses; the signature is checked before the body is parsed. ``detail`` is cut to 2000
    characters.
    """
    verify_signature(
        secret,
        _header(headers, TIMESTAMP_HEADER),
        body,
        _header(headers, SIGNATURE_HEADER),
        max_age=max_age,
        now=now,
    )
    if len(body) > MAX_BODY:
        raise MalformedCallback("callback body is too large")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise MalformedCallback("callback body is not JSON") from None
    if not isinstance(doc, dict):
        raise MalformedCallback("callback body must be a JSON object")
    try:
        delivery_id = UUID(str(doc.get("delivery_id")))
    except ValueError:
        raise MalformedCallback("delivery_id is not a UUID") from None
    kind = doc.get("event")
    if kind not in CALLBACK_EVENTS:
        raise MalformedCallback(f"event must be one of {', '.join(CALLBACK_EVENTS)}")
    detail = doc.get("detail") or ""
    if not isinstance(detail, str):
        raise MalformedCallback("detail must be a string")
    return CallbackEvent(
        kind=kind,
        occurred_at=_parse_time(doc.get("occurred_at")),
        detail=detail[:MAX_DETAIL],
        delivery_id=delivery_id,
    )
