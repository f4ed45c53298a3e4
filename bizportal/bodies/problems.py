"""What went wrong when the portal talked to a receiving body, in classes an admin can act on.

Adapters raise errors whose text may carry the receiver's own words (an excerpt of its answer),
URLs with query strings (tokens, signatures) and, below them, the cause's traceback. Admin pages
and ``Delivery.last_error`` get the class and a short message of the portal's own (``classify``,
``short_message``); the full text and the traceback go to the log only.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from chambers.base import InvalidConfig, NoAnswer

#: the classes, in the words of the admin pages' key (labels in ``delivery.views``)
UNREACHABLE = "unreachable"  #: no connection (name not found, refused, connect timeout, dropped)
TLS = "tls"  #: the TLS handshake or the certificate failed
UNAUTHORIZED = "unauthorized"  #: 401/403, a refused login or refused client credentials
SERVER_ERROR = "server_error"  #: 5xx
NO_ANSWER = "no_answer"  #: the request went out, no answer in time
REFUSED = "refused"  #: another 4xx: the receiver refused this request
HOST_NOT_ALLOWED = "host_not_allowed"  #: the options name a host outside ``RECEIVER_HOSTS``
CONFIGURATION = "configuration"  #: the options do not fit the adapter (checked without contacting anyone)
OTHER = "other"  #: anything else (details in the log)

_HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.I)
_SMTP_CODE = re.compile(r"\((\d{3}),")


@dataclass(frozen=True)
class Problem:
    kind: str
    status: int | None = None  #: the HTTP status (or SMTP reply code) when there was one
    protocol: str = "HTTP"  #: what ``status`` is a code of


def classify(exc: BaseException) -> Problem:
    """The class of an adapter's error, judged by the chain of causes (network and TLS errors
    of ``requests``, ``ssl``, ``socket``, ``smtplib``) and the HTTP status the adapters name."""
    import smtplib

    import requests

    chain = _chain(exc)
    for err in chain:
        if isinstance(err, NoAnswer | requests.ReadTimeout):
            return Problem(NO_ANSWER)
        if isinstance(err, ssl.SSLError | ssl.CertificateError | requests.exceptions.SSLError):
            return Problem(TLS)
        if isinstance(err, smtplib.SMTPAuthenticationError):
            return Problem(UNAUTHORIZED, err.smtp_code, "SMTP")
    for err in chain:
        if isinstance(err, requests.ConnectionError | requests.ConnectTimeout | socket.gaierror | ConnectionError
                      | smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected | TimeoutError):
            return Problem(UNREACHABLE)
    for err in chain:
        match = _HTTP_STATUS.search(str(err))
        if match:
            status = int(match.group(1))
            if status in (401, 403):
                return Problem(UNAUTHORIZED, status)
            if status >= 500:
                return Problem(SERVER_ERROR, status)
            if 400 <= status < 500:
                return Problem(REFUSED, status)
    if any(isinstance(err, OSError) for err in chain):
        return Problem(UNREACHABLE)
    if isinstance(exc, InvalidConfig) and len(chain) == 1:
        return Problem(CONFIGURATION)
    return Problem(OTHER)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def scrub(text: str, limit: int = 300) -> str:
    """``text`` on one line, URLs cut to scheme, host and path (no query string, fragment or
    credentials), at most ``limit`` characters."""
    def short_url(match: re.Match[str]) -> str:
        try:
            parts = urlsplit(match.group(0))
            return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"
        except ValueError:
            return "<url>"

    flat = " ".join(_URL.sub(short_url, text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def short_message(exc: BaseException, problem: Problem | None = None) -> str:
    """``last_error``'s one line: ``[class] ExceptionType: message`` with the message scrubbed.
    For TLS, 401/403 and 5xx the receiver's words are left out (only the status); a 4xx refusal
    keeps its short reason."""
    problem = problem or classify(exc)
    name = type(exc).__name__
    if problem.kind in (CONFIGURATION, OTHER, NO_ANSWER, UNREACHABLE):  # the adapter's own words
        return f"[{problem.kind}] {name}: {scrub(str(exc))}"
    status = f": {problem.protocol} {problem.status}" if problem.status else ""
    line = f"[{problem.kind}] {name}: {_adapter_prefix(exc)}{status}"
    if problem.kind == REFUSED:
        # A refusal's reason (which field the receiver rejected) is what the admin must fix before
        # re-sending: kept, on one line, URLs without query strings, short. 5xx and 401/403 texts
        # (stack traces, secrets of a broken receiver) are not.
        text = str(exc)
        match = _HTTP_STATUS.search(text)
        reason = scrub(text[match.end():].lstrip(" :"), 200) if match else ""
        if reason:
            line += f": {reason}"
    return line


def _adapter_prefix(exc: BaseException) -> str:
    """The adapter's own words before the receiver's (``webhook: HTTP 500: <receiver text>`` →
    ``webhook``), so the line still says which adapter and step failed."""
    text = str(exc)
    head = re.split(r"\bHTTP \d{3}\b|: connection failed|: could not connect|: check failed", text, maxsplit=1)[0]
    return scrub(head.rstrip(" :(;"), 120)
