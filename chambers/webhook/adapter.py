"""The ``webhook`` adapter: the filing as signed JSON, POSTed to the chamber's own endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import requests

from ..base import (
    Adapter,
    DeliveryResult,
    FilingPayload,
    MessagePayload,
    NoAnswer,
    OptionField,
    PermanentFailure,
    TemporaryFailure,
)
from ..wire import (
    check_attachments,
    format_option,
    message_to_dict,
    payload_to_dict,
    to_json_bytes,
    xml_document,
)
from .httputil import RETRYABLE_4XX, excerpt, is_read_timeout, read_limited
from .signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

__all__ = ["WebhookAdapter", "EVENT_HEADER", "post_signed"]

USER_AGENT = "bizportal-webhook/1"
#: what a POST carries: ``filing`` or ``message`` (also the body's ``type`` for messages)
EVENT_HEADER = "X-Bizportal-Event"
JSON_TYPE = "application/json; charset=utf-8"


class WebhookAdapter(Adapter):
    """POSTs each filing as JSON to the chamber's URL, signed with a shared secret.

    Request: body = ``payload_to_dict(payload, include_content=True)`` as canonical UTF-8 JSON
    (attachments inline as base64), headers ``Idempotency-Key: <delivery_id>``,
    ``X-Bizportal-Timestamp`` and ``X-Bizportal-Signature`` (see ``chambers.webhook.signing``).
    The receiver is expected to deduplicate on ``Idempotency-Key`` and to answer 409 for a
    delivery it already holds; both count as delivered.

    The company's answers and messages about a filing (``deliver_message``) go to the same URL
    (or ``messages_url``), signed the same way, with ``X-Bizportal-Event: message`` and a body
    ``message_to_dict(payload, include_content=True)`` whose ``type`` is ``"message"``; filings
    carry ``X-Bizportal-Event: filing``.

    The option ``format`` chooses what a filing's body is: ``"json"`` (default) the JSON above;
    ``"both"`` the JSON with the filing's XGewerbeanzeige 2.2 message as the string
    ``xgewerbeanzeige``; ``"xml"`` the message itself (``Content-Type: application/xml``, signed
    over the XML bytes, same headers). A filing without such a message (another service than the
    three trade notifications) is sent as JSON, and the result's detail says so. Messages are
    always JSON.
    """

    key = "webhook"
    label = "Webhook (JSON über HTTPS)"
    options_schema = (
        OptionField(
            "url",
            str,
            format="https_url",
            http_allowed_by="allow_insecure_http",
            help="HTTPS endpoint of the chamber that receives filings",
        ),
        OptionField(
            "secret",
            str,
            secret=True,
            min_length=16,
            help="Shared secret for the HMAC-SHA256 signature (at least 16 characters)",
        ),
        OptionField(
            "messages_url",
            str,
            required=False,
            format="https_url",
            http_allowed_by="allow_insecure_http",
            help="HTTPS endpoint for the company's answers (default: the filings URL)",
        ),
        OptionField(
            "timeout_seconds",
            int,
            required=False,
            default=10,
            min=1,
            max=120,
            help="Seconds to wait for the connection and for the answer (1-120)",
        ),
        OptionField(
            "allow_insecure_http",
            bool,
            required=False,
            default=False,
            help="Allow plain http URLs (only for tests and local networks)",
        ),
        format_option(),
    )
    answer_timeout_option = "timeout_seconds"
    forwards_messages = True

    def check_config(self, options: Mapping[str, Any] | None) -> None:
        """Raise ``InvalidConfig`` if the options are unusable. Does not contact the receiver:
        a test POST would be a filing the chamber did not ask for."""
        self.parse_options(options)

    def deliver(self, payload: FilingPayload, options: Mapping[str, Any]) -> DeliveryResult:
        """POST the filing once and map the answer.

        Returns ``DeliveryResult`` for 2xx (``receiver_ref`` = the ``id`` of a JSON answer, if any)
        and for 409 (the receiver already holds this delivery id). Raises ``TemporaryFailure`` for
        5xx, 408/425/429, connection errors and a timeout while connecting (the body may have
        arrived: the retry carries the same ``Idempotency-Key``); its subclass ``NoAnswer`` when
        the request went out and no answer came within ``timeout_seconds`` (the receiver may be
        storing it; the portal retries with a longer timeout); ``PermanentFailure`` for other 4xx, redirects and
        attachments whose content does not match their checksum; ``InvalidConfig`` for unusable
        options. Never follows redirects, so the signed body cannot be sent to another host.
        """
        opts = self.parse_options(options)
        check_attachments(payload)
        document, note = xml_document(payload, opts["format"])
        content_type = JSON_TYPE
        if document is not None and opts["format"] == "xml":
            body, content_type = document.content, document.media_type
        else:
            doc = payload_to_dict(payload, include_content=True)
            if document is not None:
                doc["xgewerbeanzeige"] = document.content.decode("utf-8")
            body = to_json_bytes(doc)
        result = post_signed(opts["url"], opts["secret"], opts["timeout_seconds"], body,
                             str(payload.delivery_id), "filing", content_type)
        return DeliveryResult(result.receiver_ref, f"{result.detail}; {note}" if note else result.detail)

    def deliver_message(self, payload: MessagePayload, options: Mapping[str, Any]) -> DeliveryResult:
        """POST the company's message once, as ``deliver`` does a filing (same answers, same
        errors), to ``messages_url`` or else ``url``."""
        opts = self.parse_options(options)
        check_attachments(payload)
        body = to_json_bytes(message_to_dict(payload, include_content=True))
        return post_signed(opts["messages_url"] or opts["url"], opts["secret"], opts["timeout_seconds"], body,
                           str(payload.delivery_id), "message")


def post_signed(
    url: str,
    secret: str,
    timeout: float,
    body: bytes,
    idempotency_key: str,
    event: str,
    content_type: str = JSON_TYPE,
) -> DeliveryResult:
    """One signed POST of ``body`` and its outcome, mapped as ``WebhookAdapter.deliver`` maps it
    (headers ``Content-Type``, ``Idempotency-Key``, ``X-Bizportal-Event``, timestamp and
    signature; no redirects)."""
    timestamp = int(time.time())
    headers = {
        "Content-Type": content_type,
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: idempotency_key,
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
        answer = read_limited(response)
    except requests.ConnectTimeout as exc:  # nothing was sent
        raise TemporaryFailure(f"webhook: could not connect within {timeout} s") from exc
    except requests.RequestException as exc:
        if is_read_timeout(exc):
            raise NoAnswer(f"webhook: no answer within {timeout} s", timeout) from exc
        raise TemporaryFailure(f"webhook: connection failed: {type(exc).__name__}") from exc
    return _outcome(response.status_code, answer, response.headers.get("Location"))


def _receiver_ref(answer: bytes) -> str | None:
    try:
        doc = json.loads(answer)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if (
        isinstance(doc, dict)
        and isinstance(doc.get("id"), (str, int))
        and not isinstance(doc["id"], bool)
    ):
        return str(doc["id"])[:200]
    return None


def _outcome(status: int, answer: bytes, location: str | None) -> DeliveryResult:
    """Map an HTTP answer to the adapter contract (see ``WebhookAdapter.deliver``)."""
    if 200 <= status < 300:
        return DeliveryResult(receiver_ref=_receiver_ref(answer), detail=f"HTTP {status}")
    if status == 409:
        return DeliveryResult(
            receiver_ref=_receiver_ref(answer),
            detail="HTTP 409: the receiver already holds this delivery",
        )
    if status >= 500 or status in RETRYABLE_4XX:
        raise TemporaryFailure(f"webhook: HTTP {status}: {excerpt(answer)}")
    if 300 <= status < 400:
        raise PermanentFailure(
            f"webhook: HTTP {status} redirect to {excerpt(location or '?')}; "
            "update the chamber's URL"
        )
    raise PermanentFailure(f"webhook: HTTP {status}: {excerpt(answer)}")
