"""The two OpenID Connect logins (companies, staff): the relying-party side of the code flow.

authlib's requests client builds the authorization URL (PKCE S256) and performs the token
request. Everything an OpenID-certified relying party must check is ours: the discovery issuer
(``provider.py``), the state (here: one use, this provider, not too old), the ID token
(``idtoken.py``: signature with pinned algorithms, claims, nonce) and the userinfo ``sub`` (here).

Each app gets its own ``Provider`` objects (``app.extensions["bizportal.oidc"]``) with their own
discovery and key-set caches, so nothing is shared between apps built in one process.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, session
from flask_babel import gettext as _

from .provider import LoginFailed, Provider, ProviderUnavailable, StateRejected, clip

__all__ = ["LoginFailed", "ProviderUnavailable", "StateRejected", "register_clients", "start_login",
           "complete_login"]

log = logging.getLogger(__name__)

EXTENSION_KEY = "bizportal.oidc"
PENDING_KEY = "oidc_pending"  #: session key: state -> the login started with it
MAX_PENDING = 5  #: logins started in parallel (browser tabs) per session


def register_clients(app: Flask) -> None:
    """Give ``app`` fresh company and staff ``Provider`` objects (no caches shared between apps)."""
    app.extensions[EXTENSION_KEY] = {name: Provider.from_config(name, app.config)
                                     for name in ("company", "staff")}


def provider(name: str) -> Provider:
    return current_app.extensions[EXTENSION_KEY][name]


def start_login(name: str, redirect_uri: str) -> str:
    """Begin a code-flow login; return the provider URL to redirect the browser to.

    Loads and verifies discovery first, so a wrong issuer or an unreachable provider raises
    ``LoginFailed``/``ProviderUnavailable`` before anything is stored. State, nonce and PKCE
    verifier are kept in the session for one use by ``complete_login``.
    """
    p = provider(name)
    if not p.allowed_algs:
        raise LoginFailed(f"{name}: no usable algorithm in OIDC_ALLOWED_ALGS")
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    url = p.authorization_url(redirect_uri, state, nonce, verifier)
    now = time.time()
    pending = {s: e for s, e in dict(session.get(PENDING_KEY) or {}).items()
               if now - e.get("at", 0) <= _login_max_age()}
    pending[state] = {"provider": name, "nonce": nonce, "code_verifier": verifier,
                      "redirect_uri": redirect_uri, "at": now}
    newest = sorted(pending.items(), key=lambda item: item[1]["at"])[-MAX_PENDING:]
    session[PENDING_KEY] = dict(newest)
    return url


def complete_login(name: str, args: Mapping[str, str]) -> dict[str, Any]:
    """Finish the code flow from the callback's query ``args``; return the verified claims.

    The login's state is consumed first, whatever happens next, so a callback works once.
    Raises ``StateRejected`` (a ``LoginFailed``) for a missing, unknown, replayed or foreign (other
    provider) ``state`` — checked before anything else, also before a provider ``error``;
    ``LoginFailed`` for a provider ``error``, an expired ``state``, a refused code, an invalid ID token (see
    ``idtoken.validate_id_token``) or a userinfo ``sub`` that differs from the ID token's;
    ``ProviderUnavailable`` when the provider times out or fails.
    Returns the ID token claims, with userinfo claims added where the ID token has none.
    """
    p = provider(name)
    state = args.get("state")
    pending = dict(session.get(PENDING_KEY) or {})
    started = pending.pop(state, None) if state else None
    session[PENDING_KEY] = pending
    if not state:
        if args.get("error"):  # some providers drop the state from an error answer
            raise StateRejected(f"{name} provider returned error={clip(args.get('error'))} "
                                f"description={clip(args.get('error_description'))} without state",
                                _("Die Anmeldung wurde abgebrochen oder abgelehnt."))
        raise StateRejected(f"{name} callback without state")
    if started is None:
        raise StateRejected(f"{name} callback state unknown to this session "
                            "(forged, replayed or expired)")
    if started.get("provider") != name:
        raise StateRejected(f"{name} callback carries a state issued for the "
                            f"{started.get('provider')} login")
    if args.get("error"):
        raise LoginFailed(f"{name} provider returned error={clip(args.get('error'))} "
                          f"description={clip(args.get('error_description'))}",
                          _("Die Anmeldung wurde abgebrochen oder abgelehnt."))
    age = time.time() - started.get("at", 0)
    if age > _login_max_age():
        raise LoginFailed(f"{name} login started {age:.0f}s ago, longer than "
                          "OIDC_LOGIN_MAX_AGE allows")
    code = args.get("code")
    if not code:
        raise LoginFailed(f"{name} callback without code")

    token = p.exchange_code(code, started["redirect_uri"], started["code_verifier"])
    id_token, access_token = token.get("id_token"), token.get("access_token")
    if not isinstance(id_token, str) or not id_token:
        raise LoginFailed(f"{name} token response without id_token")
    if not isinstance(access_token, str) or not access_token:
        raise LoginFailed(f"{name} token response without access_token")
    claims = p.validate_id_token(id_token, started["nonce"], access_token)
    # kept (sealed) with the new session, for re-checking the login at the provider later
    refresh_token = token.get("refresh_token")
    g.login_tokens = {"access_token": access_token,
                      "refresh_token": refresh_token if isinstance(refresh_token, str) else None}
    userinfo = p.userinfo(access_token)
    if userinfo is None:
        return claims
    if userinfo.get("sub") != claims["sub"]:
        raise LoginFailed(f"{name} userinfo sub {userinfo.get('sub')!r} != "
                          f"ID token sub {claims['sub']!r}")
    return {**userinfo, **claims}


def _login_max_age() -> float:
    return float(current_app.config["SETTINGS"].oidc.login_max_age)


def end_session_url(name: str, post_logout_redirect_uri: str) -> str | None:
    """The provider's logout URL for RP-initiated logout, or None if it offers none (or is down).

    The portal keeps no ID token, so the request names the client instead of an ``id_token_hint``
    (both are allowed by OpenID Connect RP-Initiated Logout 1.0).
    """
    try:
        p = provider(name)
        endpoint = p.metadata().get("end_session_endpoint")
    except Exception as exc:  # logging out of the portal must never fail on the provider
        log.warning("%s provider unavailable for logout: %r", name, exc)
        return None
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    from urllib.parse import urlencode

    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode({"client_id": p.client_id,
                                             "post_logout_redirect_uri": post_logout_redirect_uri})
