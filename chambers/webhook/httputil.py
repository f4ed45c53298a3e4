"""HTTP helpers shared by the webhook and FIT-Connect adapters (URL policy, error excerpts)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from requests import Response

from ..base import InvalidConfig

__all__ = ["check_url", "excerpt", "RETRYABLE_4XX", "read_limited"]

#: 4xx answers that mean "not now" rather than "never": request timeout, too early, rate limited.
RETRYABLE_4XX = frozenset({408, 425, 429})

_SPACE_RE = re.compile(r"\s+")


def check_url(adapter_key: str, option: str, url: str, allow_insecure_http: bool) -> str:
    """Return ``url`` if it is an absolute https URL (or http when explicitly allowed).

    Raises ``InvalidConfig`` naming the option otherwise. Credentials in the URL are refused: they
    would end up in logs and error messages.
    """
    parts = urlsplit(url)
    allowed = ("https", "http") if allow_insecure_http else ("https",)
    if parts.scheme not in allowed:
        hint = "" if allow_insecure_http else " (plain http needs allow_insecure_http)"
        raise InvalidConfig(f"{adapter_key}: option '{option}' must be an https URL{hint}")
    if not parts.hostname:
        raise InvalidConfig(f"{adapter_key}: option '{option}' has no host name")
    if parts.username or parts.password:
        raise InvalidConfig(f"{adapter_key}: option '{option}' must not contain credentials")
    return url


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
