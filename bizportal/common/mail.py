"""Sending e-mail: SMTP in production, a folder of .eml files in development."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


def build_message(to: str, subject: str, body: str, attachments: Sequence[tuple[str, str, bytes]] = (),
                  message_id: str | None = None) -> EmailMessage:
    """A plain-text mail from ``MAIL_FROM`` with answers going to ``MAIL_REPLY_TO`` (a mailbox that is
    read), dated now; ``message_id`` (default: a fresh one) as given."""
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["Reply-To"] = cfg["SETTINGS"].identity.reply_to
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain=mail_domain())
    msg["Date"] = format_datetime(datetime.now(UTC))  # RFC 5322 requires it; "+0000", not "-0000" (zone unknown)
    msg.set_content(body)
    for filename, media_type, content in attachments:
        maintype, _, subtype = media_type.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def mail_domain() -> str:
    """The domain of ``MAIL_FROM``, for Message-IDs."""
    return current_app.config["MAIL_FROM"].rsplit("@", 1)[-1].strip(">")


def send(msg: EmailMessage) -> None:
    """Deliver the message through the configured backend; raises on failure."""
    cfg = current_app.config
    if cfg["MAIL_BACKEND"] == "folder":
        folder = Path(cfg["MAIL_FOLDER"])
        folder.mkdir(parents=True, exist_ok=True)
        name = msg["Message-ID"].strip("<>").replace("@", "_").replace("/", "_") + ".eml"
        (folder / name).write_bytes(bytes(msg))
        return
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"]) as smtp:
        if cfg["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if cfg["SMTP_USERNAME"]:
            smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
        smtp.send_message(msg)


def outbox(limit: int = 50) -> list[EmailMessage]:
    """The newest messages of the development folder backend."""
    from email import policy
    from email.parser import BytesParser

    folder = Path(current_app.config["MAIL_FOLDER"])
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in files]
