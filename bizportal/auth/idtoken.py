"""ID token validation for the OpenID Connect code flow, done here rather than by authlib.

``validate_id_token`` is the single place where an ID token becomes trusted claims. It follows
OpenID Connect Core 1.0, section 3.1.3.7, with the algorithms pinned by our configuration (never by
what the provider advertises) and the keys taken only from the provider's published key set.

Every check raises ``InvalidIdToken`` with a short reason meant for the log: the reason names the
check and harmless values (alg, kid, iss, aud), never the token, the nonce or a key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key
from joserfc.jws import JWSRegistry

log = logging.getLogger(__name__)

#: key types whose keys can be published in a JWKS without giving away the signing secret
ASYMMETRIC_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
#: claims whose checks are fixed; claims options can add checks for other claims, never relax these
CORE_CLAIMS = frozenset({"iss", "aud", "azp", "sub", "iat", "exp", "nbf", "nonce", "at_hash"})

#: ``load_keys(refresh)`` returns the provider's JWKS as a dict; ``refresh=True`` fetches it anew
KeyLoader = Callable[[bool], Mapping[str, Any]]


class InvalidIdToken(Exception):
    """The ID token must not be trusted; ``str(exc)`` says which check failed (log-safe)."""


def pinned_algorithms(configured: Iterable[str] | str | None) -> list[str]:
    """Reduce the configured algorithm list to asymmetric JWS algorithms joserfc implements.

    ``none`` and the HMAC family (``HS*``) are dropped with an error in the log: an ID token
    verified against a published key set can only be trusted with public-key signatures (an HMAC
    "signed" with the public key is the classic algorithm-confusion attack). An empty result
    means no ID token can be accepted at all.
    """
    if isinstance(configured, str):
        configured = configured.split(",")
    pinned: list[str] = []
    for alg in (a.strip() for a in configured or ()):
        model = JWSRegistry.algorithms.get(alg)
        if model is None or model.key_type not in ASYMMETRIC_KEY_TYPES:
            log.error("OIDC_ALLOWED_ALGS: %r is not an asymmetric JWS algorithm; ignored", alg)
        elif alg not in pinned:
            pinned.append(alg)
    return pinned


def pinned_registry(allowed_algs: list[str]) -> JWSRegistry:
    """The joserfc registry used for verification: it knows only ``allowed_algs``.

    Never built from the provider's ``id_token_signing_alg_values_supported``. An empty list is
    refused here because joserfc would then fall back to its own "recommended" algorithms.
    """
    if not allowed_algs:
        raise InvalidIdToken("no signing algorithm is allowed (check OIDC_ALLOWED_ALGS)")
    return JWSRegistry(algorithms=list(allowed_algs), strict_check_header=False)


def validate_id_token(
    id_token: str,
    *,
    load_keys: KeyLoader,
    allowed_algs: list[str],
    issuer: str,
    client_id: str,
    nonce: str,
    leeway: float = 60,
    access_token: str | None = None,
    claims_options: Mapping[str, Mapping[str, Any]] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify signature and claims of ``id_token``; return its claims.

    Guarantees, in this order (the first failure raises ``InvalidIdToken``):

    1. the token is a compact JWS whose header ``alg`` is one of ``allowed_algs`` — checked
       before any key is touched, and again by joserfc, whose registry is pinned to the same list
       (``pinned_registry``);
       ``none`` and ``HS*`` can never pass (see ``pinned_algorithms``);
    2. the signature verifies with a key from the provider's key set (see ``_select_key``;
       keys embedded in the token header — ``jwk``, ``jku``, ``x5u``, ``x5c`` — are ignored);
    3. ``iss`` equals ``issuer`` exactly, whatever ``claims_options`` say;
    4. ``aud`` is present and contains ``client_id``; with several audiences ``azp`` must be
       present, and an ``azp`` must always equal ``client_id``;
    5. ``sub`` is a non-empty string; ``iat`` and ``exp`` are numbers; ``exp`` is not in the past
       and ``iat`` (and ``nbf``, if present) not in the future, each give or take ``leeway``
       seconds;
    6. ``nonce`` equals the nonce sent with this login (compared in constant time);
    7. ``at_hash``, if present, matches ``access_token``;
    8. ``claims_options`` (authlib style: ``{"acr": {"essential": True, "values": [...]}}``)
       add checks for other claims; options for the claims above are ignored
       (``extra_claims_options``).
    """
    if not allowed_algs:
        raise InvalidIdToken("no signing algorithm is allowed (check OIDC_ALLOWED_ALGS)")
    header = _header(id_token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise InvalidIdToken(f"unsigned ID token (alg {alg!r}) refused")
    if alg not in allowed_algs:
        raise InvalidIdToken(f"signing alg {alg!r} not allowed "
                             f"(allowed: {', '.join(allowed_algs)})")
    model = JWSRegistry.algorithms.get(alg)
    if model is None or model.key_type not in ASYMMETRIC_KEY_TYPES:
        raise InvalidIdToken(f"signing alg {alg!r} is not an asymmetric JWS algorithm")

    payload = _verify_signature(id_token, header, pinned_registry(allowed_algs), load_keys)
    try:
        claims = json.loads(payload)
    except ValueError as exc:
        raise InvalidIdToken("ID token payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise InvalidIdToken("ID token payload is not a JSON object")

    check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, leeway=leeway,
                 now=time.time() if now is None else now)
    if "at_hash" in claims:
        _check_at_hash(claims["at_hash"], alg, access_token)
    if claims_options:
        _check_claims_options(claims, claims_options)
    return claims


def check_claims(claims: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str,
                 leeway: float, now: float) -> None:
    """The claim checks of ``validate_id_token`` (steps 3 to 6); raises ``InvalidIdToken``."""
    if claims.get("iss") != issuer:
        raise InvalidIdToken(f"iss {claims.get('iss')!r} is not the issuer {issuer!r}")

    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not audiences or not isinstance(audiences, list) \
            or not all(isinstance(a, str) for a in audiences):
        raise InvalidIdToken(f"aud missing or malformed ({aud!r})")
    if client_id not in audiences:
        raise InvalidIdToken(f"aud {audiences!r} does not contain our client_id {client_id!r}")
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise InvalidIdToken(f"several audiences {audiences!r} but no azp")
    if azp is not None and azp != client_id:
        raise InvalidIdToken(f"azp {azp!r} is not our client_id {client_id!r}")

    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise InvalidIdToken("sub missing or empty")

    iat = _number(claims, "iat")
    exp = _number(claims, "exp")
    if exp <= now - leeway:
        raise InvalidIdToken(f"expired {now - exp:.0f}s ago (leeway {leeway:g}s)")
    if iat > now + leeway:
        raise InvalidIdToken(f"iat {iat - now:.0f}s in the future (leeway {leeway:g}s)")
    if "nbf" in claims and _number(claims, "nbf") > now + leeway:
        raise InvalidIdToken(f"nbf in the future (leeway {leeway:g}s)")

    got = claims.get("nonce")
    if not isinstance(got, str) or not got:
        raise InvalidIdToken("nonce missing")
    if not hmac.compare_digest(got.encode(), nonce.encode()):
        raise InvalidIdToken("nonce does not match this login")


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise InvalidIdToken(f"{name} missing")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidIdToken(f"{name} is not a number")
    return float(value)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _header(id_token: str) -> dict[str, Any]:
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        raise InvalidIdToken("ID token is not a compact JWS "
                             "(encrypted ID tokens are not supported)")
    try:
        header = json.loads(_b64decode(id_token.split(".", 1)[0]))
    except ValueError as exc:
        raise InvalidIdToken("ID token header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise InvalidIdToken("ID token header is not a JSON object")
    return header


def _verify_signature(id_token: str, header: Mapping[str, Any], registry: JWSRegistry,
                      load_keys: KeyLoader) -> bytes:
    """Verify with the cached key set, refetching it once when it cannot hold the right key.

    The key set is fetched anew (once per token) when the token's ``kid`` is unknown, or when a
    token without ``kid`` fails with the single cached key — both happen when the provider has
    rotated its signing key. After that one refetch the token is rejected.
    """
    alg = header["alg"]
    kid = header.get("kid")
    for refreshed in (False, True):
        keys = _import_keys(load_keys(refreshed), JWSRegistry.algorithms[alg].key_type, alg)
        key = _select_key(keys, kid, refreshed)
        if key is None:
            continue  # unknown kid: refetch once
        try:
            return jws.deserialize_compact(id_token, key, registry=registry).payload
        except (JoseError, ValueError) as exc:
            if kid is None and not refreshed:
                continue  # the single key may have been rotated: refetch once
            raise InvalidIdToken(f"signature invalid ({type(exc).__name__}, alg {alg}, "
                                 f"kid {kid!r})") from exc
    raise InvalidIdToken(f"no key in the provider's key set for kid {kid!r} "
                         "(key set refetched once)")


def _import_keys(jwks: Mapping[str, Any], key_type: str, alg: str) -> list[Key]:
    """The published keys that can verify ``alg``: matching type, not ``use: enc``, no other alg."""
    keys = []
    for data in jwks.get("keys") or []:
        if not isinstance(data, dict) or data.get("kty") != key_type:
            continue
        if data.get("use", "sig") != "sig" or data.get("alg", alg) != alg:
            continue
        try:
            keys.append(JWKRegistry.import_key(data))
        except (JoseError, ValueError, TypeError) as exc:
            log.warning("ignoring unusable key %r in the provider's key set: %s",
                        data.get("kid"), exc)
    return keys


def _select_key(keys: list[Key], kid: Any, refreshed: bool) -> Key | None:
    """The key named by ``kid``, or the only candidate key when the token names none.

    Returns ``None`` when ``kid`` is unknown (the caller refetches once). A token without ``kid``
    is rejected when the key set holds several candidate keys (we do not try them in turn).
    """
    if kid is None:
        if len(keys) == 1:
            return keys[0]
        if not keys and not refreshed:
            return None
        raise InvalidIdToken(f"ID token names no kid and the key set has {len(keys)} "
                             "candidate keys")
    for key in keys:
        if key.kid == kid:
            return key
    return None


_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def _check_at_hash(at_hash: Any, alg: str, access_token: str | None) -> None:
    """``at_hash`` is the left half of the hash of the access token (Core 1.0, 3.1.3.6)."""
    hash_fn = hashlib.sha512 if alg in ("EdDSA", "Ed25519") else _HASHES.get(alg[-3:])
    if hash_fn is None or not access_token:
        raise InvalidIdToken(f"at_hash cannot be checked (alg {alg}, "
                             f"access token given: {bool(access_token)})")
    digest = hash_fn(access_token.encode()).digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=")
    if not isinstance(at_hash, str) or not hmac.compare_digest(at_hash.encode(), expected):
        raise InvalidIdToken("at_hash does not match the access token")


ClaimsOptions = Mapping[str, Mapping[str, Any]]


def extra_claims_options(options: ClaimsOptions | None) -> dict[str, Mapping[str, Any]]:
    """The configured claims options minus those for ``CORE_CLAIMS`` (warned about, then dropped).

    Options can only add checks; the checks of the core claims are fixed.
    """
    extra = {}
    for name, option in (options or {}).items():
        if name in CORE_CLAIMS:
            log.warning("claims option for %r ignored: that claim is always checked in full", name)
        else:
            extra[name] = option
    return extra


def _check_claims_options(claims: Mapping[str, Any], options: ClaimsOptions) -> None:
    """Extra checks in authlib's ``claims_options`` format: ``essential``, ``value``, ``values``."""
    for name, option in extra_claims_options(options).items():
        value = claims.get(name)
        if value is None:
            if option.get("essential"):
                raise InvalidIdToken(f"essential claim {name!r} missing")
            continue
        if "value" in option and value != option["value"]:
            raise InvalidIdToken(f"claim {name!r} is {value!r}, required {option['value']!r}")
        if "values" in option and value not in option["values"]:
            raise InvalidIdToken(f"claim {name!r} is {value!r}, allowed {list(option['values'])!r}")
