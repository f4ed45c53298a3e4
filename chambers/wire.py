"""The wire format: the filing as JSON, one serialisation shared by the webhook, FIT-Connect and
e-mail adapters (and any third-party adapter that wants the same document).

Guarantees: the same ``FilingPayload`` always serialises to the same bytes (sorted keys, UTF-8, no
insignificant whitespace), so a retry sends a byte-identical body. Values that JSON cannot carry
natively are converted predictably (datetime/date → ISO 8601, UUID → string, Decimal → string,
set/tuple → list). Anything else raises ``PermanentFailure``: a filing that cannot be serialised
today will not serialise on a retry either.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from .base import (
    XGEWERBEANZEIGE,
    Attachment,
    Document,
    FilingPayload,
    MessagePayload,
    OptionField,
    PermanentFailure,
)

__all__ = [
    "payload_to_dict",
    "message_to_dict",
    "to_json_bytes",
    "check_attachments",
    "iso_utc",
    "FORMATS",
    "format_option",
    "xml_document",
    "document_attachment",
]

#: What the ``format`` option of the webhook, e-mail and FIT-Connect adapters accepts: the
#: portal's JSON only (default), the filing's XGewerbeanzeige message instead of it, or both.
FORMATS = ("json", "xml", "both")


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; a naive datetime is taken to be UTC (the portal stores UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"value of type {type(value).__name__} is not JSON serialisable")


def to_json_bytes(obj: Any) -> bytes:
    """Canonical UTF-8 JSON of ``obj``; raises ``PermanentFailure`` for values JSON cannot carry."""
    try:
        text = json.dumps(
            obj,
            default=_default,
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise PermanentFailure(f"filing cannot be serialised as JSON: {exc}") from exc
    return text.encode("utf-8")


def check_attachments(payload: FilingPayload | MessagePayload) -> None:
    """Raise ``PermanentFailure`` unless every attachment's content matches its size and sha256.

    A mismatch means the portal handed over the wrong or a truncated file; sending it would give
    the receiver a document that differs from what the company uploaded.
    """
    for att in payload.attachments:
        if len(att.content) != att.size:
            raise PermanentFailure(
                f"attachment {att.filename!r}: content has {len(att.content)} bytes, "
                f"declared size is {att.size}"
            )
        if hashlib.sha256(att.content).hexdigest() != att.sha256.lower():
            raise PermanentFailure(
                f"attachment {att.filename!r}: content does not match its sha256"
            )


def _attachment_dict(att: Attachment, include_content: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "filename": att.filename,
        "media_type": att.media_type,
        "sha256": att.sha256.lower(),
        "size": att.size,
    }
    form_field = getattr(att, "field", "")  # the form field the file was uploaded for, if known
    if form_field:
        item["field"] = form_field
    if include_content:
        item["content_base64"] = base64.b64encode(att.content).decode("ascii")
    return item


def payload_to_dict(payload: FilingPayload, *, include_content: bool) -> dict[str, Any]:
    """The filing as a JSON-ready dict.

    Keys: delivery_id, reference, service_key, service_title, leika, company, submitted_at (ISO
    8601 UTC), data, destination_role, attachments (filename, media_type, sha256, size, the form
    ``field`` when known and — with ``include_content`` — ``content_base64``), acting_person
    (name, email, subject, issuer; or null), trust_level (or null), receivers (role, slug, name
    of each receiving body, primary first; empty if not known), bundle (reference, kind, title and
    the other filings of the life-event bundle the filing came with; or null). Does not check the attachments;
    see ``check_attachments``.
    """
    person = getattr(payload, "acting_person", None)
    return {
        "delivery_id": str(payload.delivery_id),
        "reference": payload.reference,
        "service_key": payload.service_key,
        "service_title": payload.service_title,
        "leika": payload.leika,
        "company": dict(payload.company),
        "submitted_at": iso_utc(payload.submitted_at),
        "data": dict(payload.data),
        "destination_role": payload.destination_role,
        "attachments": [_attachment_dict(a, include_content) for a in payload.attachments],
        "acting_person": None if person is None else {
            "name": person.name, "email": person.email, "subject": person.subject, "issuer": person.issuer},
        "trust_level": getattr(payload, "trust_level", None),
        "receivers": [{"role": r.role, "slug": r.slug, "name": r.name}
                      for r in getattr(payload, "receivers", ())],
        "bundle": _bundle_dict(getattr(payload, "bundle", None)),
    }


def _bundle_dict(bundle: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if bundle is None:
        return None
    return {"reference": bundle["reference"], "kind": bundle["kind"], "title": bundle.get("title", ""),
            "filings": [{"service_key": f["service_key"], "service_title": f.get("service_title", ""),
                         "reference": f["reference"], "body_kind": f.get("body_kind", "")}
                        for f in bundle.get("filings", ())]}


def message_to_dict(payload: MessagePayload, *, include_content: bool) -> dict[str, Any]:
    """A company's message as a JSON-ready dict (``"type": "message"``, so a receiver that takes
    filings and messages at one endpoint can tell them apart).

    Keys: type, kind ("answer" | "message"), delivery_id, message_id, reference,
    filing_delivery_id, filing_receiver_ref, service_key, company, author, sent_at (ISO 8601 UTC),
    body, in_reply_to (id, body, sent_at, due_on; or null), destination_role, attachments (as in
    ``payload_to_dict``).
    """
    reply = dict(payload.in_reply_to) if payload.in_reply_to is not None else None
    if reply is not None and isinstance(reply.get("sent_at"), datetime):
        reply["sent_at"] = iso_utc(reply["sent_at"])
    return {
        "type": "message",
        "kind": payload.kind,
        "delivery_id": str(payload.delivery_id),
        "message_id": payload.message_id,
        "reference": payload.reference,
        "filing_delivery_id": str(payload.filing_delivery_id),
        "filing_receiver_ref": payload.filing_receiver_ref,
        "service_key": payload.service_key,
        "company": dict(payload.company),
        "author": dict(payload.author),
        "sent_at": iso_utc(payload.sent_at),
        "body": payload.body,
        "in_reply_to": reply,
        "destination_role": payload.destination_role,
        "attachments": [_attachment_dict(a, include_content) for a in payload.attachments],
    }


def format_option() -> OptionField:
    """The ``format`` option the webhook, e-mail and FIT-Connect adapters declare (``FORMATS``)."""
    return OptionField(
        "format",
        str,
        required=False,
        default="json",
        choices=FORMATS,
        help="What the chamber receives: 'json' (the portal's JSON), 'xml' (the XGewerbeanzeige "
        "2.2 message of trade notifications; JSON for other services) or 'both'",
    )


def xml_document(payload: FilingPayload, fmt: str) -> tuple[Document | None, str]:
    """The XGewerbeanzeige document to send with ``fmt`` (a ``format`` option value), and a note
    for the delivery's detail ("" if none).

    ``None`` for ``"json"``; also ``None`` (the JSON is sent instead) when the chamber asked for
    ``"xml"`` or ``"both"`` and the filing has no such message: another service than the three
    trade notifications. The note then says so. The portal itself refuses (``PermanentFailure``)
    a trade notification whose message it could not build for a chamber that takes XML only.
    """
    if fmt == "json":
        return None, ""
    document = payload.documents.get(XGEWERBEANZEIGE)
    if document is None:
        return None, (
            f"no XGewerbeanzeige message for service '{payload.service_key}' "
            f"(format '{fmt}'): sent as JSON"
        )
    return document, ""


def document_attachment(document: Document, ref: str = XGEWERBEANZEIGE) -> Attachment:
    """``document`` as an ``Attachment`` (size and SHA-256 computed), for adapters that send it
    as a file beside the JSON."""
    return Attachment(
        filename=document.filename or f"{ref}.xml",
        media_type=document.media_type,
        size=len(document.content),
        sha256=hashlib.sha256(document.content).hexdigest(),
        content=document.content,
        ref=ref,
    )
