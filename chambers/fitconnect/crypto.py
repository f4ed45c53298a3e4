"""Encryption for FIT-Connect: the destination's public key, JWE compact, deterministic ids.

JWE as required by FIT-Connect: ``alg`` RSA-OAEP-256, ``enc`` A256GCM, ``kid`` = the destination's
encryption key id, no compression; RSA keys below 4096 bit are refused.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from ..base import InvalidConfig

__all__ = ["JWE_ALG", "JWE_ENC", "MIN_RSA_BITS", "destination_key", "encrypt", "derived_uuid4"]

JWE_ALG = "RSA-OAEP-256"
JWE_ENC = "A256GCM"
MIN_RSA_BITS = 4096


def destination_key(jwk: Mapping[str, Any], kid: str) -> RSAKey:
    """Import the destination's public encryption key after checking it is fit for FIT-Connect.

    Requires kty RSA, ``kid`` equal to the destination's ``encryptionKid``, ``alg`` RSA-OAEP-256
    (when given), ``key_ops`` containing ``wrapKey`` (when given) and at least 4096 bit. Only the
    public part is imported. Raises ``InvalidConfig``: the destination's configuration is unusable
    (the worker retries, so a fixed key is picked up; ``check_config`` shows it to the admin).
    The key's X.509 chain (``x5c``) is not checked against the administration PKI.
    """
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
        raise InvalidConfig("fitconnect: destination key is not an RSA JWK")
    if jwk.get("kid") != kid:
        raise InvalidConfig("fitconnect: destination key id does not match encryptionKid")
    if jwk.get("alg") not in (None, JWE_ALG):
        raise InvalidConfig(f"fitconnect: destination key is for {jwk.get('alg')}, not {JWE_ALG}")
    ops = jwk.get("key_ops")
    if ops is not None and "wrapKey" not in ops:
        raise InvalidConfig("fitconnect: destination key may not be used for encryption (key_ops)")
    public = {name: jwk[name] for name in ("kty", "n", "e", "kid") if name in jwk}
    try:
        key = RSAKey.import_key(public)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidConfig(f"fitconnect: destination key cannot be read: {exc}") from exc
    bits = key.raw_value.key_size
    if bits < MIN_RSA_BITS:
        raise InvalidConfig(
            f"fitconnect: destination key has {bits} bit, FIT-Connect needs {MIN_RSA_BITS}"
        )
    return key


def encrypt(key: RSAKey, kid: str, plaintext: bytes) -> str:
    """JWE compact serialisation of ``plaintext`` for the destination key (fresh CEK per call)."""
    header = {"alg": JWE_ALG, "enc": JWE_ENC, "kid": kid}
    return jwe.encrypt_compact(header, plaintext, key, algorithms=[JWE_ALG, JWE_ENC])


def derived_uuid4(delivery_id: uuid.UUID, label: str) -> str:
    """A UUID in version-4 layout derived from the delivery id and ``label``.

    The same inputs always give the same id (so a retry announces the same attachment ids), while
    the id reveals nothing about the delivery id. FIT-Connect asks the sender for UUIDv4 attachment
    ids; these carry the v4 version and variant bits.
    """
    digest = hashlib.sha256(
        b"bizportal/fitconnect/" + delivery_id.bytes + label.encode("utf-8")
    ).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
