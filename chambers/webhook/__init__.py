"""The ``webhook`` adapter: signed JSON over HTTPS, plus the helpers a receiver needs.

``WebhookAdapter`` sends; ``verify_signature`` lets a chamber (or the portal) check a signed
request; ``parse_status_callback`` turns a chamber's signed status report into a ``ChamberEvent``.
"""

from .adapter import WebhookAdapter
from .callbacks import CALLBACK_EVENTS, CallbackEvent, MalformedCallback, parse_status_callback
from .signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    WebhookVerificationError,
    sign,
    verify_signature,
)

__all__ = [
    "WebhookAdapter",
    "verify_signature",
    "sign",
    "parse_status_callback",
    "CallbackEvent",
    "CALLBACK_EVENTS",
    "WebhookVerificationError",
    "SignatureError",
    "MalformedCallback",
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
]
