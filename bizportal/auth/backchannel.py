"""OpenID Connect Back-Channel Logout 1.0: the provider tells the portal that a login ended.

``validate_logout_token`` checks the logout token like an ID token (pinned algorithms, keys only
from the provider's key set, ``iss``, ``aud``, ``iat``) plus the logout-specific rules: a ``jti``,
the back-channel ``events`` claim, ``sub`` or ``sid``, and no ``nonce``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify, request
from sqlalchemy import and_, or_

from ..audit import services as audit
from ..extensions import csrf
from . import idtoken, oidc
from .access import public
from .models import LoginSession
from .sessions import end_sessions

log = logging.getLogger(__name__)
bp = Blueprint("backchannel", __name__)
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: a logout token older than this is refused (limits replays of a captured token)
MAX_TOKEN_AGE = 300


class InvalidLogoutToken(Exception):
    """The logout token must not be trusted; the message is log-safe."""


def validate_logout_token(token: str, *, load_keys, allowed_algs: list[str], issuer: str, client_id: str,
                          leeway: float = 60, now: float | None = None) -> dict[str, Any]:
    """Verify the logout token and return its claims; raises ``InvalidLogoutToken``."""
    now = time.time() if now is None else now
    try:
        header = idtoken._header(token)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in idtoken.pinned_algorithms(allowed_algs):
            raise InvalidLogoutToken(f"signing alg {alg!r} not allowed")
        payload = idtoken._verify_signature(token, header, idtoken.pinned_registry(allowed_algs), load_keys)
        claims = json.loads(payload)
    except InvalidLogoutToken:
        raise
    except idtoken.InvalidIdToken as exc:
        raise InvalidLogoutToken(str(exc)) from exc
    except Exception as exc:  # malformed input of any kind
        raise InvalidLogoutToken(f"unreadable logout token ({type(exc).__name__})") from exc
    if not isinstance(claims, dict):
        raise InvalidLogoutToken("payload is not a JSON object")
    if claims.get("iss") != issuer:
        raise InvalidLogoutToken(f"iss {claims.get('iss')!r} is not the configured issuer")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise InvalidLogoutToken("aud does not name this client")
    iat = claims.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat > now + leeway:
        raise InvalidLogoutToken("iat missing or in the future")
    if iat < now - MAX_TOKEN_AGE:
        raise InvalidLogoutToken("logout token too old")
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp < now - leeway):
        raise InvalidLogoutToken("token expired")
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise InvalidLogoutToken("jti missing")
    events = claims.get("events")
    if not isinstance(events, Mapping) or not isinstance(events.get(BACKCHANNEL_EVENT), Mapping):
        raise InvalidLogoutToken("events claim without the back-channel logout event")
    if "nonce" in claims:
        raise InvalidLogoutToken("a logout token must not carry a nonce")
    if not claims.get("sub") and not claims.get("sid"):
        raise InvalidLogoutToken("neither sub nor sid")
    return claims


def _logout(name: str):
    provider = oidc.provider(name)
    token = request.form.get("logout_token", "")
    try:
        claims = validate_logout_token(
            token, load_keys=provider.jwks, allowed_algs=provider.allowed_algs,
            issuer=provider.metadata()["issuer"], client_id=provider.client_id, leeway=provider.leeway)
    except Exception as exc:
        log.warning("back-channel logout refused (%s): %s", name, exc)
        audit.record("access_refused", "anonymous", target=f"POST {request.path}", detail="invalid logout token")
        response = jsonify(error="invalid_request", error_description="logout token refused")
        response.status_code = 400
        response.headers["Cache-Control"] = "no-store"
        return response
    # Only sessions of this provider: a sid or sub means nothing at another issuer. The token's ``iss``
    # is the discovery issuer; sessions store the provider's ``account_issuer`` (no trailing slash).
    conditions = []
    if claims.get("sid"):
        conditions.append(and_(LoginSession.issuer == provider.account_issuer,
                               LoginSession.provider_sid == str(claims["sid"])))
    if claims.get("sub"):
        conditions.append(and_(LoginSession.issuer == provider.account_issuer, LoginSession.sub == str(claims["sub"])))
    ended = end_sessions(or_(*conditions), "backchannel_logout")
    audit.record("backchannel_logout", f"provider:{name}", target=str(claims.get("sub") or claims.get("sid")),
                 detail=f"{ended} session(s) ended")
    response = jsonify(ended=ended)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/backchannel-logout")
@public
@csrf.exempt
def company():
    """The company-login provider ends a login (authenticated by the signed logout token)."""
    return _logout("company")


@bp.post("/staff/backchannel-logout")
@public
@csrf.exempt
def staff():
    return _logout("staff")
