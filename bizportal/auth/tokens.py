"""The provider's tokens of a login, sealed for storage on its ``LoginSession`` row.

AES-256-GCM with a key derived from ``SECRET_KEY``: a copy of the database alone does not give
away tokens that still work at the provider. A row sealed under another secret key (the key was
rotated) unseals to ``None``, and its session cannot be re-checked any more (``auth.recheck``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_CONTEXT = b"bizportal login-session tokens v1"


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(_CONTEXT + b"\0" + secret_key.encode()).digest()


def seal(tokens: dict[str, Any], secret_key: str) -> str:
    """``tokens`` (JSON-serialisable) encrypted and authenticated, as URL-safe text."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, json.dumps(tokens).encode(), _CONTEXT)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(text: str | None, secret_key: str) -> dict[str, Any] | None:
    """The tokens sealed by ``seal``; None when there are none or they cannot be opened."""
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode())
        data = json.loads(AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], _CONTEXT))
    except (InvalidTag, ValueError):
        return None
    return data if isinstance(data, dict) else None
