"""The e-mail for one delivery: text for people, PDF, ``filing.json`` and the attachments."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from ..base import FilingPayload
from ..wire import payload_to_dict, to_json_bytes
from .pdf import render_pdf
from .render import human_size, local_time, role_note

__all__ = ["message_id", "subject", "pdf_filename", "build_message"]

_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


def message_id(payload: FilingPayload) -> str:
    """``<delivery_id@bizportal>``: the same on every attempt, so receivers can drop duplicates."""
    return f"<{payload.delivery_id}@bizportal>"


def subject(payload: FilingPayload) -> str:
    """Reference, service, "(Kopie)" for a copy, and the delivery id: the same on every attempt,
    so the chamber's mail rules can drop a repeated delivery by its subject as well."""
    text = f"Antrag {payload.reference}: {payload.service_title}"
    if payload.destination_role == "copy":
        text += " (Kopie)"
    return f"{text} [Zustellungs-ID {payload.delivery_id}]"


def pdf_filename(payload: FilingPayload) -> str:
    return f"antrag-{_SAFE_RE.sub('-', payload.reference).strip('-') or 'filing'}.pdf"


def _text(payload: FilingPayload) -> str:
    company = payload.company
    where = " ".join(str(company.get(k) or "") for k in ("postcode", "city")).strip()
    who = ", ".join(
        p for p in (str(company.get("name") or ""), str(company.get("street") or ""), where) if p
    )
    lines = [
        "Guten Tag,",
        "",
        "über bizportal ist folgender Antrag für Sie eingegangen:",
        "",
        f"Leistung:        {payload.service_title}",
        f"Vorgangsnummer:  {payload.reference}",
        f"Eingereicht am:  {local_time(payload.submitted_at)}",
        f"Unternehmen:     {who or '—'}",
    ]
    if role_note(payload):
        lines += ["", role_note(payload)]
    lines += [
        "",
        f"Alle Angaben finden Sie im angehängten PDF ({pdf_filename(payload)}), maschinenlesbar",
        "in filing.json.",
    ]
    if payload.attachments:
        lines += ["", "Anlagen des Unternehmens:"]
        lines += [f"  - {a.filename} ({human_size(a.size)})" for a in payload.attachments]
    lines += [
        "",
        f"Zustellungs-ID: {payload.delivery_id}",
        "Diese Nachricht wurde automatisch erstellt. Bitte antworten Sie nicht auf diese E-Mail.",
    ]
    return "\n".join(lines) + "\n"


def build_message(
    payload: FilingPayload, from_address: str, to_address: str, now: datetime | None = None
) -> EmailMessage:
    """The complete message (multipart/mixed), not yet signed or encrypted.

    Parts in order: text/plain summary, the PDF, ``filing.json`` (``payload_to_dict`` without
    attachment content), then each attachment with its own media type and file name. Headers:
    stable ``Message-ID`` (``<delivery id@bizportal>``), ``Auto-Submitted: auto-generated`` (no
    auto-replies to the portal), ``X-Bizportal-Delivery-Id`` and ``X-Bizportal-Reference``; the
    subject ends with the delivery id (``subject``). Raises ``PermanentFailure`` if the filing
    cannot be serialised.
    """
    msg = EmailMessage()
    msg["Subject"] = subject(payload)
    msg["From"] = from_address
    msg["To"] = to_address
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = message_id(payload)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Bizportal-Delivery-Id"] = str(payload.delivery_id)
    msg["X-Bizportal-Reference"] = payload.reference
    msg.set_content(_text(payload), subtype="plain", charset="utf-8")
    msg.add_attachment(
        render_pdf(payload), maintype="application", subtype="pdf", filename=pdf_filename(payload)
    )
    msg.add_attachment(
        to_json_bytes(payload_to_dict(payload, include_content=False)),
        maintype="application",
        subtype="json",
        filename="filing.json",
    )
    for att in payload.attachments:
        maintype, subtype, params = _media_type(att.media_type)
        msg.add_attachment(
            att.content, maintype=maintype, subtype=subtype, filename=att.filename, params=params
        )
    return msg


def _media_type(value: str) -> tuple[str, str, dict[str, str]]:
    """(maintype, subtype, params) of a media type; a charset parameter is kept, others dropped."""
    kind, *raw_params = value.split(";")
    maintype, _, subtype = kind.strip().lower().partition("/")
    if not maintype or not subtype:
        return "application", "octet-stream", {}
    params = {}
    for item in raw_params:
        name, _, val = item.partition("=")
        if name.strip().lower() == "charset" and val.strip().strip('"'):
            params["charset"] = val.strip().strip('"')
    return maintype, subtype, params
