"""The FIT-Connect event log: verify Security Event Tokens and turn them into ``ChamberEvent``s.

Each entry of ``GET /cases/{caseId}/events`` is a SET (RFC 8417): a JWS with header
``typ: secevent+jwt``, ``alg: PS512`` and a ``kid``, claims ``jti``, ``iss``, ``iat``,
``sub: submission:<uuid>``, ``txn: case:<uuid>`` and exactly one event. A token counts only if
all of this holds (``verify_set``); every other token is logged and ignored, so a forged
"accepted" can never reach the company:

* **Issuer bound to the event type** (``ISSUERS``). The delivery service (Zustelldienst) issues
  create, submit, notify, forward and delete; the destination (the receiving system behind the
  Zustellpunkt) issues accept and reject. The delivery service may issue a reject as well: the
  FIT-Connect documentation has it mark a submission nobody fetched within 14 days undeliverable
  with a reject event. A token is verified only against the keys of an issuer allowed for its
  event: an ``accept-submission`` signed with a delivery-service key is refused.
* **``iss``** must name that issuer: the destination signs with ``iss`` = its destination id
  (FIT-Connect documentation), the delivery service with its own URL (``Trust.delivery_service``;
  the adapter's option ``delivery_service_issuer``).
* **``iat``** may lie at most ``MAX_CLOCK_SKEW_SECONDS`` in the future.
* **``authenticationTags``**: a ``submit-submission`` names the AES-GCM authentication tags of the
  encrypted metadata, data and attachments the delivery service holds. When the sender knows what
  it sent (``sent_tags``), the event must carry exactly those tags; an accept or reject that
  carries tags must match them too. A mismatch means the destination got content we did not send.
* **``jti``**: within one event log each ``jti`` counts once (the first token in log order); a
  repeated one is refused. The portal applies each returned event once across polls (see
  ``ChamberEvent.event_id``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..base import ChamberEvent

__all__ = [
    "EVENT_PREFIX",
    "EVENT_KINDS",
    "ISSUERS",
    "MAX_CLOCK_SKEW_SECONDS",
    "InvalidEventToken",
    "Issuer",
    "Trust",
    "parse_jwks",
    "tags_digest",
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
DELIVERY_SERVICE = "delivery service"
DESTINATION = "destination"
#: who may issue each event (see the module docstring)
ISSUERS: dict[str, tuple[str, ...]] = {
    "create-submission": (DELIVERY_SERVICE,),
    "submit-submission": (DELIVERY_SERVICE,),
    "notify-submission": (DELIVERY_SERVICE,),
    "forward-submission": (DELIVERY_SERVICE,),
    "delete-submission": (DELIVERY_SERVICE,),
    "accept-submission": (DESTINATION,),
    "reject-submission": (DESTINATION, DELIVERY_SERVICE),
}
#: how far ``iat`` may lie in the future (clocks of issuer and portal differ a little)
MAX_CLOCK_SKEW_SECONDS = 300
#: events whose ``authenticationTags`` (when present) must be the ones the sender sent
TAGGED_EVENTS = frozenset({"submit-submission", "accept-submission", "reject-submission"})
SET_TYPE = "secevent+jwt"
SET_ALG = "PS512"


class InvalidEventToken(ValueError):
    """A Security Event Token failed verification (signature, header or claims)."""


@dataclass(frozen=True)
class Issuer:
    """A party that signs event-log entries: its role, its ``iss`` and its public keys."""

    role: str  #: ``DELIVERY_SERVICE`` or ``DESTINATION``
    iss: str
    keys: KeySet


@dataclass(frozen=True)
class Trust:
    """Whom the sender trusts for which event (built from the adapter's options)."""

    delivery_service: Issuer
    destination: Issuer

    def allowed(self, event: str) -> list[Issuer]:
        roles = ISSUERS[event]
        return [i for i in (self.destination, self.delivery_service) if i.role in roles]


def parse_jwks(text: str) -> KeySet:
    """Parse a JWKS option (JSON with RSA keys, each with a ``kid``); only public parts are kept.

    Raises ``ValueError`` whose text follows "option '<name>' " (``OptionField.check``).
    """
    try:
        doc = json.loads(text)
        keys = doc["keys"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("is not a JWKS JSON document") from None
    if not isinstance(keys, list) or not keys:
        raise ValueError("holds no keys")
    public = []
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") != "RSA" or not key.get("kid"):
            raise ValueError("must hold only RSA keys, each with a kid")
        public.append({k: key[k] for k in ("kty", "n", "e", "kid", "alg", "use") if k in key})
    try:
        return KeySet.import_key_set({"keys": public})
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"cannot be read: {exc}") from None


def tags_digest(tags: Any) -> str | None:
    """A short fingerprint of ``authenticationTags`` ({metadata, data, attachments: {id: tag}}).

    The same tags always give the same digest (43 characters, base64url SHA-256 of the canonical
    JSON); ``None`` if ``tags`` does not have that shape.
    """
    if not isinstance(tags, Mapping):
        return None
    attachments = tags.get("attachments") or {}
    values = [tags.get("metadata"), tags.get("data")]
    if not isinstance(attachments, Mapping) or not all(isinstance(v, str) for v in values):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in attachments.items()):
        return None
    canonical = json.dumps(
        {"metadata": values[0], "data": values[1], "attachments": dict(attachments)},
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _event_name(claims: Mapping[str, Any]) -> str:
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:
        raise InvalidEventToken("a SET must carry exactly one event")
    (uri,) = events
    if not isinstance(uri, str) or not uri.startswith(EVENT_PREFIX):
        raise InvalidEventToken(f"unknown event {uri!r}")
    name = uri[len(EVENT_PREFIX) :]
    if name not in EVENT_KINDS:
        raise InvalidEventToken(f"unknown event {uri!r}")
    return name


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise InvalidEventToken("payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidEventToken("payload is not a JSON object")
    return claims


def _same_iss(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def verify_set(token: Any, trust: Trust, now: float | None = None) -> dict[str, Any]:
    """Return the claims of a genuine SET; raise ``InvalidEventToken`` saying why it is not.

    Genuine: header ``typ``/``alg``/``kid`` as FIT-Connect prescribes, signed by a key of an
    issuer allowed for its event (``ISSUERS``), ``iss`` naming that issuer, ``jti``/``sub``/
    ``txn`` present, ``iat`` not more than ``MAX_CLOCK_SKEW_SECONDS`` after ``now`` (default:
    the current time), exactly one known event.
    """
    if not isinstance(token, str):
        raise InvalidEventToken("event log entry is not a string")
    try:
        unverified = jws.extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidEventToken("not a compact JWS") from None
    name = _event_name(_claims(unverified.payload))
    allowed = trust.allowed(name)
    sig = None
    for issuer in allowed:
        try:
            sig = jws.deserialize_compact(token, issuer.keys, algorithms=[SET_ALG])
        except (JoseError, ValueError, KeyError, TypeError):
            continue
        break
    if sig is None:
        roles = " or ".join(i.role for i in allowed)
        raise InvalidEventToken(f"{name} is not signed by a key of the {roles}")
    header = sig.protected
    if header.get("typ") != SET_TYPE or header.get("alg") != SET_ALG or not header.get("kid"):
        raise InvalidEventToken("header must have typ secevent+jwt, alg PS512 and a kid")
    claims = _claims(sig.payload)
    for claim in ("jti", "iss", "sub", "txn"):
        if not isinstance(claims.get(claim), str) or not claims[claim]:
            raise InvalidEventToken(f"claim '{claim}' missing")
    iat = claims.get("iat")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise InvalidEventToken("claim 'iat' missing")
    if not _same_iss(claims["iss"], issuer.iss):
        raise InvalidEventToken(
            f"iss {claims['iss']!r} of {name} is not the {issuer.role} ({issuer.iss!r})"
        )
    ahead = iat - (time.time() if now is None else now)
    if ahead > MAX_CLOCK_SKEW_SECONDS:
        raise InvalidEventToken(
            f"iat lies {int(ahead)} s in the future (allowed clock skew: "
            f"{MAX_CLOCK_SKEW_SECONDS} s)"
        )
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


def _check_tags(name: str, payload: Any, sent_tags: str | None) -> None:
    """Raise ``InvalidEventToken`` if the event's ``authenticationTags`` are not what was sent."""
    if sent_tags is None or name not in TAGGED_EVENTS:
        return
    tags = payload.get("authenticationTags") if isinstance(payload, dict) else None
    if tags is None and name != "submit-submission":
        return  # accept/reject may omit them
    if tags_digest(tags) != sent_tags:
        raise InvalidEventToken(
            f"{name}: authenticationTags do not match what was sent"
            if tags is not None
            else f"{name} carries no authenticationTags"
        )


def chamber_events(
    tokens: Iterable[Any],
    trust: Trust,
    submission_id: str,
    case_id: str,
    sent_tags: str | None = None,
    now: float | None = None,
) -> list[ChamberEvent]:
    """Verified events of one submission, oldest first, each ``jti`` at most once.

    Tokens that fail ``verify_set``, repeat a ``jti`` seen earlier in the log, or (about this
    submission) carry ``authenticationTags`` other than ``sent_tags`` (``tags_digest`` of what
    was sent; ``None``: unknown, not compared) are logged (warning, with the reason) and skipped;
    tokens about another submission or case are skipped silently. ``occurred_at`` is the token's
    ``iat``, ``event_id`` its ``jti``; a rejection's ``detail`` lists the RFC 7807 ``problems``.
    """
    found: list[tuple[int, ChamberEvent]] = []
    seen: set[str] = set()
    for token in tokens:
        try:
            claims = verify_set(token, trust, now)
            if claims["jti"] in seen:
                raise InvalidEventToken(f"jti {claims['jti']} repeated")
            seen.add(claims["jti"])
            if claims["sub"] != f"submission:{submission_id}" or claims["txn"] != f"case:{case_id}":
                continue
            ((uri, payload),) = claims["events"].items()
            name = uri[len(EVENT_PREFIX) :]
            _check_tags(name, payload, sent_tags)
        except InvalidEventToken as exc:
            log.warning("fitconnect: ignoring event of case %s: %s", case_id, exc)
            continue
        kind = EVENT_KINDS[name]
        if kind is None:
            continue
        when = datetime.fromtimestamp(claims["iat"], tz=UTC)
        event = ChamberEvent(
            kind=kind, occurred_at=when, detail=_detail(name, payload), event_id=claims["jti"]
        )
        found.append((claims["iat"], event))
    found.sort(key=lambda pair: pair[0])
    return [event for _, event in found]
