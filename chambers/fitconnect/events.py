"""The FIT-Connect event log: verify Security Event Tokens and turn them into ``ChamberEvent``s.

Each entry of ``GET /cases/{caseId}/events`` is a SET (RFC 8417): a JWS with header
``typ: secevent+jwt``, ``alg: PS512`` and a ``kid``, claims ``jti``, ``iss``, ``iat``,
``sub: submission:<uuid>``, ``txn: case:<uuid>`` and exactly one event. Only tokens whose signature
verifies against the configured JWKS (``event_signing_jwks``: the delivery service's keys and the
destination's signature key) are used; every other token is logged and ignored, so a forged
"accepted" can never reach the company.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..base import ChamberEvent, InvalidConfig

__all__ = [
    "EVENT_PREFIX",
    "EVENT_KINDS",
    "InvalidEventToken",
    "load_jwks",
    "verify_set",
    "chamber_events",
]

log = logging.getLogger(__name__)

EVENT_PREFIX = "https://schema.fitko.de/fit-connect/events/"
#: FIT-Connect event → ``ChamberEvent.kind``; ``None``: the sender's own step, not news for anyone.
EVENT_KINDS: dict[str, str | None] = {
    "create-submission": None,
    "submit-submission": "received",
    "notify-submission": "notified",
    "forward-submission": "forwarded",
    "accept-submission": "accepted",
    "reject-submission": "rejected",
    "delete-submission": "deleted",
}
SET_TYPE = "secevent+jwt"
SET_ALG = "PS512"


class InvalidEventToken(ValueError):
    """A Security Event Token failed verification (signature, header or claims)."""


def load_jwks(text: str) -> KeySet:
    """Parse the ``event_signing_jwks`` option (JWKS JSON); ``InvalidConfig`` if unusable."""
    try:
        doc = json.loads(text)
        keys = doc["keys"]
    except (ValueError, KeyError, TypeError):
        raise InvalidConfig(
            "fitconnect: option 'event_signing_jwks' is not a JWKS JSON document"
        ) from None
    if not isinstance(keys, list) or not keys:
        raise InvalidConfig("fitconnect: option 'event_signing_jwks' holds no keys")
    public = []
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") != "RSA" or not key.get("kid"):
            raise InvalidConfig(
                "fitconnect: every key in 'event_signing_jwks' must be RSA with a kid"
            )
        public.append({k: key[k] for k in ("kty", "n", "e", "kid", "alg", "use") if k in key})
    try:
        return KeySet.import_key_set({"keys": public})
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidConfig(
            f"fitconnect: option 'event_signing_jwks' cannot be read: {exc}"
        ) from None


def verify_set(token: str, keys: KeySet) -> dict[str, Any]:
    """Return the claims of a genuine SET; raise ``InvalidEventToken`` saying why it is not."""
    if not isinstance(token, str):
        raise InvalidEventToken("event log entry is not a string")
    try:
        sig = jws.deserialize_compact(token, keys, algorithms=[SET_ALG])
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise InvalidEventToken(
            f"signature not valid for the configured keys ({type(exc).__name__})"
        ) from None
    header = sig.protected
    if header.get("typ") != SET_TYPE or header.get("alg") != SET_ALG or not header.get("kid"):
        raise InvalidEventToken("header must have typ secevent+jwt, alg PS512 and a kid")
    try:
        claims = json.loads(sig.payload)
    except (ValueError, UnicodeDecodeError):
        raise InvalidEventToken("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidEventToken("payload is not a JSON object")
    for name in ("jti", "iss", "sub", "txn"):
        if not isinstance(claims.get(name), str):
            raise InvalidEventToken(f"claim '{name}' missing")
    if not isinstance(claims.get("iat"), int) or isinstance(claims.get("iat"), bool):
        raise InvalidEventToken("claim 'iat' missing")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:
        raise InvalidEventToken("a SET must carry exactly one event")
    (uri,) = events
    if not uri.startswith(EVENT_PREFIX) or uri[len(EVENT_PREFIX) :] not in EVENT_KINDS:
        raise InvalidEventToken(f"unknown event {uri!r}")
    return claims


def _detail(name: str, payload: Any) -> str:
    problems = payload.get("problems") if isinstance(payload, dict) else None
    if not isinstance(problems, list):
        return ""
    texts = []
    for problem in problems:
        if isinstance(problem, dict):
            text = ": ".join(str(problem[k]) for k in ("title", "detail") if problem.get(k))
            texts.append(text or str(problem.get("type", "")))
    return "; ".join(t for t in texts if t)[:2000]


def chamber_events(
    tokens: Iterable[Any], keys: KeySet, submission_id: str, case_id: str
) -> list[ChamberEvent]:
    """Verified events of one submission, oldest first.

    Tokens that fail verification are logged (warning, with the reason) and skipped; tokens about
    another submission or case are skipped silently. ``occurred_at`` is the token's ``iat``;
    a rejection's ``detail`` lists the RFC 7807 ``problems`` (title: detail).
    """
    found: list[tuple[int, ChamberEvent]] = []
    for token in tokens:
        try:
            claims = verify_set(token, keys)
        except InvalidEventToken as exc:
            log.warning("fitconnect: ignoring event of case %s: %s", case_id, exc)
            continue
        if claims["sub"] != f"submission:{submission_id}" or claims["txn"] != f"case:{case_id}":
            continue
        ((uri, payload),) = claims["events"].items()
        name = uri[len(EVENT_PREFIX) :]
        kind = EVENT_KINDS[name]
        if kind is None:
            continue
        when = datetime.fromtimestamp(claims["iat"], tz=UTC)
        found.append(
            (
                claims["iat"],
                ChamberEvent(kind=kind, occurred_at=when, detail=_detail(name, payload)),
            )
        )
    found.sort(key=lambda pair: pair[0])
    return [event for _, event in found]
