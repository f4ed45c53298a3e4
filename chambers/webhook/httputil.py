"""HTTP helpers shared by the webhook and FIT-Connect adapters (retryable answers, error excerpts).

The URL policy (https only, no credentials) is declared in the options schemas
(``OptionField(format="https_url")``, enforced by ``Adapter.parse_options``).
"""

from __future__ import annotations

import re

import requests
from requests import Response
from urllib3.exceptions import ReadTimeoutError

__all__ = ["excerpt", "is_read_timeout", "RETRYABLE_4XX", "read_limited"]

#: 4xx answers that mean "not now" rather than "never": request timeout, too early, rate limited.
RETRYABLE_4XX = frozenset({408, 425, 429})

_SPACE_RE = re.compile(r"\s+")


def excerpt(text: str | bytes, limit: int = 200) -> str:
    """A short, single-line, printable excerpt of a response body for error messages."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    flat = _SPACE_RE.sub(
        " ", "".join(ch if ch.isprintable() or ch.isspace() else "?" for ch in text)
    )
    flat = flat.strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def read_limited(response: Response, limit: int = 64 * 1024) -> bytes:
    """Read at most ``limit`` bytes of a streamed ``requests`` response, then release it."""
    try:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=8192):
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
        return b"".join(chunks)[:limit]
    finally:
        response.close()


def is_read_timeout(exc: requests.RequestException) -> bool:
    """Whether the request went out and the answer did not come in time (``NoAnswer``), as opposed
    to a connection that failed or timed out before anything was sent.

    ``requests`` raises ``ReadTimeout`` while waiting for the status line and headers, but a
    ``ConnectionError`` wrapping urllib3's ``ReadTimeoutError`` while a streamed body is read.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return False
    return isinstance(exc, requests.ReadTimeout) or any(
        isinstance(arg, ReadTimeoutError) for arg in exc.args
    )
