"""The e-mail for one delivery: text for people, PDF, ``filing.json`` and the attachments."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from ..base import Document, FilingPayload, MessagePayload
from ..wire import message_to_dict, payload_to_dict, to_json_bytes
from .render import human_size, local_time, role_note

__all__ = ["message_id", "subject", "pdf_filename", "build_message", "build_message_mail", "message_subject"]

_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


def message_id(payload: FilingPayload | MessagePayload) -> str:
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


#: the file name of the XGewerbeanzeige message in the mail
XML_FILENAME = "xgewerbeanzeige.xml"


def _text(payload: FilingPayload, machine_readable: str = "filing.json") -> str:
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
        f"in {machine_readable}.",
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
    payload: FilingPayload,
    from_address: str,
    to_address: str,
    now: datetime | None = None,
    xml: Document | None = None,
    json_too: bool = True,
) -> EmailMessage:
    """The complete message (multipart/mixed), not yet signed or encrypted.

    Parts in order: text/plain summary, the PDF, ``filing.json`` (``payload_to_dict`` without
    attachment content; left out if ``json_too`` is false and ``xml`` is given),
    ``xgewerbeanzeige.xml`` (``xml``, the XGewerbeanzeige message, if given), then each
    attachment with its own media type and file name. Headers:
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
    with_json = json_too or xml is None
    files = [name for name, wanted in (("filing.json", with_json), (XML_FILENAME, xml)) if wanted]
    msg.set_content(_text(payload, " und ".join(files)), subtype="plain", charset="utf-8")
    from .pdf import render_pdf  # fpdf2 at the first PDF, not with the adapter (about 33 MB)

    msg.add_attachment(
        render_pdf(payload), maintype="application", subtype="pdf", filename=pdf_filename(payload)
    )
    if with_json:
        msg.add_attachment(
            to_json_bytes(payload_to_dict(payload, include_content=False)),
            maintype="application",
            subtype="json",
            filename="filing.json",
        )
    if xml is not None:
        maintype, _, subtype = xml.media_type.partition("/")
        msg.add_attachment(xml.content, maintype=maintype, subtype=subtype, filename=XML_FILENAME)
    _add_files(msg, payload)
    return msg


def _add_files(msg: EmailMessage, payload: FilingPayload | MessagePayload) -> None:
    for att in payload.attachments:
        maintype, subtype, params = _media_type(att.media_type)
        msg.add_attachment(
            att.content, maintype=maintype, subtype=subtype, filename=att.filename, params=params
        )


def message_subject(payload: MessagePayload) -> str:
    """"Antwort zu Antrag <reference>" (or "Nachricht zu …") and the delivery id, as ``subject``."""
    what = "Antwort" if payload.kind == "answer" else "Nachricht"
    return f"{what} zu Antrag {payload.reference}: {payload.service_title} [Zustellungs-ID {payload.delivery_id}]"


def _message_text(payload: MessagePayload) -> str:
    company = str(payload.company.get("name") or "")
    author = ", ".join(
        str(payload.author.get(k)) for k in ("name", "email", "phone") if payload.author.get(k)
    )
    lines = ["Guten Tag,", ""]
    if payload.kind == "answer":
        lines.append(
            f"das Unternehmen {company or '—'} antwortet auf Ihre Nachforderung zum Antrag "
            f"{payload.reference}."
        )
    else:
        lines.append(f"das Unternehmen {company or '—'} schreibt Ihnen zum Antrag {payload.reference}.")
    lines += [
        "",
        f"Leistung:        {payload.service_title}",
        f"Vorgangsnummer:  {payload.reference}",
        f"Gesendet am:     {local_time(payload.sent_at)}",
        f"Von:             {author or '—'}",
    ]
    if payload.in_reply_to is not None:
        lines += ["", "Ihre Nachforderung:"]
        lines += ["  > " + line for line in str(payload.in_reply_to.get("body") or "").splitlines()]
    lines += ["", "Nachricht des Unternehmens:", "", payload.body]
    if payload.attachments:
        lines += ["", "Anlagen:"]
        lines += [f"  - {a.filename} ({human_size(a.size)})" for a in payload.attachments]
    lines += [
        "",
        f"Zustellungs-ID: {payload.delivery_id}",
        f"Zustellungs-ID des Antrags: {payload.filing_delivery_id}",
        "Diese Nachricht wurde automatisch erstellt. Bitte antworten Sie nicht auf diese E-Mail.",
    ]
    return "\n".join(lines) + "\n"


def build_message_mail(
    payload: MessagePayload, from_address: str, to_address: str, now: datetime | None = None
) -> EmailMessage:
    """The e-mail for a company's message about a filing: text (the message, and the request it
    answers), ``message.json`` (``message_to_dict`` without file content), then the files.

    Threaded under the filing's mail: ``In-Reply-To`` and ``References`` name the filing's
    ``Message-ID`` (``<filing delivery id@bizportal>``); its own ``Message-ID``, the header
    ``X-Bizportal-Delivery-Id`` and the subject carry this message's delivery id, the same on
    every attempt, so repeats can be dropped.
    """
    msg = EmailMessage()
    msg["Subject"] = message_subject(payload)
    msg["From"] = from_address
    msg["To"] = to_address
    msg["Date"] = format_datetime(now or datetime.now(UTC))
    msg["Message-ID"] = message_id(payload)
    msg["In-Reply-To"] = f"<{payload.filing_delivery_id}@bizportal>"
    msg["References"] = f"<{payload.filing_delivery_id}@bizportal>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Bizportal-Delivery-Id"] = str(payload.delivery_id)
    msg["X-Bizportal-Reference"] = payload.reference
    msg["X-Bizportal-Event"] = "message"
    msg.set_content(_message_text(payload), subtype="plain", charset="utf-8")
    msg.add_attachment(
        to_json_bytes(message_to_dict(payload, include_content=False)),
        maintype="application",
        subtype="json",
        filename="message.json",
    )
    _add_files(msg, payload)
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
