"""The ``email`` adapter: the filing as an e-mail (text, PDF, JSON, attachments) over SMTP."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, NoReturn

from ..base import (
    Adapter,
    DeliveryResult,
    FilingPayload,
    InvalidConfig,
    MessagePayload,
    OptionField,
    PermanentFailure,
    TemporaryFailure,
)
from ..webhook.httputil import excerpt
from ..wire import check_attachments, format_option, xml_document
from .message import build_message, build_message_mail, message_id

__all__ = ["EmailAdapter"]


def _reply(code: int, text: bytes | str) -> str:
    return f"SMTP {code} {excerpt(text)}"


class EmailAdapter(Adapter):
    """Sends each filing as one e-mail to the chamber's address.

    Delivery is at least once: SMTP has no idempotency of its own and a mail server cannot be
    asked whether it already took a message, so a send is repeated — a second, identical
    message — whenever its outcome was not recorded: a lost ``250`` reply to the message data, or
    a worker that died or stalled past its lease after sending. The adapter records no progress
    (there is nothing to continue: a message is sent whole or not at all). Every attempt carries
    the same delivery id three times, so the chamber's mail rules or system can drop repeats:
    ``Message-ID`` ``<delivery_id@bizportal>``, the header ``X-Bizportal-Delivery-Id`` and the end
    of the subject (``[Zustellungs-ID <delivery_id>]``). Integrity and confidentiality in transit
    rest on STARTTLS (on by default); end-to-end protection is the job of ``sign_or_encrypt``.

    The option ``format``: ``"json"`` (default) attaches ``filing.json``; ``"xml"`` attaches the
    filing's XGewerbeanzeige 2.2 message as ``xgewerbeanzeige.xml`` instead, ``"both"`` both. A
    filing without such a message (another service) gets ``filing.json``, and the result's detail
    says so. Text and PDF are always there.
    """

    key = "email"
    label = "E-Mail (SMTP)"
    forwards_messages = True
    options_schema = (
        OptionField("host", str, help="SMTP server (the portal's outgoing relay)"),
        OptionField(
            "port",
            int,
            required=False,
            default=587,
            min=1,
            max=65535,
            help="SMTP port (587 submission, 25 relay)",
        ),
        OptionField(
            "from_address",
            str,
            format="email_address",
            help="Sender address, e.g. antraege@portal.example",
        ),
        OptionField(
            "to_address", str, format="email_address", help="The chamber's receiving address"
        ),
        OptionField(
            "starttls",
            bool,
            required=False,
            default=True,
            help="Require STARTTLS before sending (refuse to send if the server lacks it)",
        ),
        OptionField("username", str, required=False, help="SMTP login (needs STARTTLS)"),
        OptionField("password", str, required=False, secret=True, help="SMTP password"),
        OptionField(
            "timeout_seconds",
            int,
            required=False,
            default=30,
            min=1,
            max=120,
            help="Seconds to wait for each SMTP reply (1-120)",
        ),
        format_option(),
    )

    def parse_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The schema's checks (see ``Adapter.parse_options``), then the rules across options.

        Username and password only together, and a login only with STARTTLS (a password is never
        sent in clear text). Raises ``InvalidConfig`` naming the options.
        """
        opts = super().parse_options(options)
        if bool(opts["username"]) != bool(opts["password"]):
            raise InvalidConfig("email: options 'username' and 'password' go together")
        if opts["username"] and not opts["starttls"]:
            raise InvalidConfig(
                "email: a login needs 'starttls'; the password would travel in clear text"
            )
        return opts

    def sign_or_encrypt(self, message: EmailMessage, options: Mapping[str, Any]) -> EmailMessage:
        """Extension point for S/MIME or OpenPGP; returns ``message`` unchanged here.

        A subclass may sign and/or encrypt (e.g. S/MIME ``multipart/signed`` and
        ``application/pkcs7-mime`` with ``cryptography.hazmat.primitives.serialization.pkcs7``, or
        PGP/MIME per RFC 3156) and return the new message. Contract: keep ``Message-ID``, ``From``,
        ``To`` and ``Subject`` of the original (receivers deduplicate on ``Message-ID``); raise
        ``InvalidConfig`` for missing keys or certificates and ``PermanentFailure`` if this filing
        cannot be protected. Called once per attempt, after the message is built and before
        connecting.
        """
        return message

    def check_config(self, options: Mapping[str, Any] | None) -> None:
        """Validate the options, then ping: connect, EHLO, STARTTLS and login as configured.

        Sends no message. Raises ``InvalidConfig`` with the reason if any step fails.
        """
        opts = self.parse_options(options)
        try:
            smtp = self._connect(opts)
        except (TemporaryFailure, PermanentFailure) as exc:
            raise InvalidConfig(f"email: check failed: {exc}") from exc
        _quit(smtp)

    def deliver(self, payload: FilingPayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Build the message, pass it through ``sign_or_encrypt`` and send it once.

        Returns ``DeliveryResult`` with ``receiver_ref`` = the Message-ID once the server accepted
        the message. Raises ``TemporaryFailure`` for connection errors, timeouts and 4xx replies;
        ``PermanentFailure`` for 5xx replies (e.g. 550 mailbox unknown, 552 too large) and
        attachments that do not match their checksum; ``InvalidConfig`` for unusable options, a
        server without STARTTLS when it is required, or a refused login.
        """
        opts = self.parse_options(options)
        check_attachments(payload)
        xml, note = xml_document(payload, opts["format"])
        message = self.sign_or_encrypt(
            build_message(
                payload,
                opts["from_address"],
                opts["to_address"],
                xml=xml,
                json_too=opts["format"] != "xml",
            ),
            opts,
        )
        self._send(opts, message)
        detail = f"accepted by {opts['host']}"
        return DeliveryResult(
            receiver_ref=message_id(payload), detail=f"{detail}; {note}" if note else detail
        )

    def deliver_message(self, payload: MessagePayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Send the company's message as one e-mail threaded under the filing's mail
        (``build_message_mail``); at least once, like ``deliver``, with the same errors."""
        opts = self.parse_options(options)
        check_attachments(payload)
        message = self.sign_or_encrypt(
            build_message_mail(payload, opts["from_address"], opts["to_address"]), opts
        )
        self._send(opts, message)
        return DeliveryResult(
            receiver_ref=message_id(payload), detail=f"accepted by {opts['host']}"
        )

    def _send(self, opts: Mapping[str, Any], message: EmailMessage) -> None:
        smtp = self._connect(opts)
        try:
            smtp.send_message(
                message,
                from_addr=parseaddr(opts["from_address"])[1],
                to_addrs=[parseaddr(opts["to_address"])[1]],
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            _raise_for(code, text, "recipient refused")
        except smtplib.SMTPResponseException as exc:
            _raise_for(exc.smtp_code, exc.smtp_error, "message refused")
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"email: sending failed: {type(exc).__name__}: {exc}") from exc
        finally:
            _quit(smtp)

    def _connect(self, opts: Mapping[str, Any]) -> smtplib.SMTP:
        """SMTP session after EHLO, STARTTLS and login as configured (errors: see ``deliver``)."""
        try:
            smtp = smtplib.SMTP(opts["host"], opts["port"], timeout=opts["timeout_seconds"])
        except smtplib.SMTPConnectError as exc:
            _raise_for(exc.smtp_code, exc.smtp_error, "server refused the connection")
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(
                f"email: cannot connect to {opts['host']}:{opts['port']}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        try:
            smtp.ehlo()
            if opts["starttls"]:
                if not smtp.has_extn("starttls"):
                    raise InvalidConfig(
                        f"email: {opts['host']} does not offer STARTTLS; nothing was sent"
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if opts["username"]:
                smtp.login(opts["username"], opts["password"])
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
            _quit(smtp)
            raise InvalidConfig(f"email: login refused by {opts['host']}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            _quit(smtp)
            _raise_for(exc.smtp_code, exc.smtp_error, "session refused")
        except InvalidConfig:
            _quit(smtp)
            raise
        except (smtplib.SMTPException, OSError) as exc:
            _quit(smtp)
            raise TemporaryFailure(
                f"email: session with {opts['host']} failed: {type(exc).__name__}: {exc}"
            ) from exc
        return smtp


def _raise_for(code: int, text: bytes | str, what: str) -> NoReturn:
    """4xx (and anything unexpected) → ``TemporaryFailure``; 5xx → ``PermanentFailure``."""
    message = f"email: {what}: {_reply(code, text)}"
    if 500 <= code < 600:
        raise PermanentFailure(message)
    raise TemporaryFailure(message)


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session politely; a failing QUIT after an accepted message changes nothing."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
