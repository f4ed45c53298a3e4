"""The two OpenID Connect providers (companies, staff) and the relying-party side of the code flow.

authlib's requests client builds the authorization URL (with PKCE S256) and performs the token
request; everything an OpenID-certified relying party must check is done here and in
``idtoken.py``: the discovery issuer, state (one use, this provider, not too old), the ID token
(signature with pinned algorithms, claims, nonce) and the userinfo ``sub``.

Each app gets its own ``Provider`` objects (``app.extensions["bizportal.oidc"]``) with their own
discovery and key-set caches, so nothing leaks between apps built in one process.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask import Flask, current_app, session
from flask_babel import gettext as _

from . import idtoken

log = logging.getLogger(__name__)

EXTENSION_KEY = "bizportal.oidc"
PENDING_KEY = "oidc_pending"  #: session key: state -> the login started with it
MAX_PENDING = 5  #: logins started in parallel (tabs) per browser session
WELL_KNOWN = "/.well-known/openid-configuration"


class LoginFailed(Exception):
    """The login cannot be completed; ``reason`` goes to the log, ``message`` to the user."""

    status = 401

    def __init__(self, reason: str, user_message: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.user_message = user_message


class ProviderUnavailable(LoginFailed):
    """The provider did not answer in time, could not be reached or answered with an error."""

    status = 503


class Provider:
    """One configured OpenID provider for one app: settings plus verified discovery and keys.

    Discovery and key set are fetched on first use and cached for ``metadata_max_age`` seconds
    (the key set also again whenever a token names an unknown ``kid``). All HTTP requests use
    ``timeout``; a timeout or connection failure raises ``ProviderUnavailable``.
    """

    def __init__(self, name: str, *, issuer: str, client_id: str, client_secret: str, scope: str,
                 timeout: float, allowed_algs: list[str], leeway: float, metadata_max_age: float,
                 claims_options: Mapping[str, Mapping[str, Any]] | None = None):
        self.name = name
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        scopes = scope.split()
        self.scope = " ".join(scopes if "openid" in scopes else ["openid", *scopes])
        self.timeout = timeout
        self.allowed_algs = allowed_algs
        self.leeway = leeway
        self.metadata_max_age = metadata_max_age
        self.claims_options = dict(claims_options or {})
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any]) -> "Provider":
        prefix = name.upper() + "_OIDC_"
        claims_options = cfg.get(prefix + "CLAIMS_OPTIONS") or {}
        if isinstance(claims_options, str):
            claims_options = json.loads(claims_options)
        return cls(
            name,
            issuer=cfg[prefix + "ISSUER"],
            client_id=cfg[prefix + "CLIENT_ID"],
            client_secret=cfg[prefix + "CLIENT_SECRET"],
            scope=cfg[prefix + "SCOPE"],
            timeout=float(cfg.get("OIDC_TIMEOUT", 10)),
            allowed_algs=idtoken.pinned_algorithms(cfg.get("OIDC_ALLOWED_ALGS", ["RS256", "ES256"])),
            leeway=float(cfg.get("OIDC_CLOCK_SKEW", 60)),
            metadata_max_age=float(cfg.get("OIDC_METADATA_MAX_AGE", 3600)),
            claims_options=claims_options,
        )

    # -- discovery and keys -------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The discovery document, verified by ``check_discovery``; raises ``LoginFailed``."""
        with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > self.metadata_max_age:
                metadata = self._get_json(self.issuer.rstrip("/") + WELL_KNOWN, "discovery")
                self.check_discovery(metadata)
                self._metadata, self._metadata_at, self._jwks = metadata, time.monotonic(), None
            return self._metadata

    def check_discovery(self, metadata: Mapping[str, Any]) -> None:
        """Insist the document names the configured issuer and the endpoints the code flow needs.

        The issuer must equal the configured one (a trailing ``/`` on the configured value is
        tolerated); ID tokens are then checked against the discovery ``issuer`` exactly. Every
        endpoint and the key set are taken from this document, none is derived from the issuer.
        """
        issuer = metadata.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != self.issuer.rstrip("/"):
            raise LoginFailed(f"{self.name} provider discovery issuer {issuer!r} differs from "
                              f"configured {self.issuer!r}")
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = metadata.get(field)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise LoginFailed(f"{self.name} provider discovery lacks a usable {field} ({value!r})")

    def jwks(self, refresh: bool = False) -> dict[str, Any]:
        """The provider's key set from the discovery ``jwks_uri``; ``refresh`` fetches it anew."""
        jwks_uri = self.metadata()["jwks_uri"]
        with self._lock:
            if refresh or self._jwks is None:
                jwks = self._get_json(jwks_uri, "key set")
                if not isinstance(jwks.get("keys"), list):
                    raise LoginFailed(f"{self.name} provider key set has no 'keys' list")
                self._jwks = jwks
            return self._jwks

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            resp = requests.get(url, timeout=self.timeout, headers={"Accept": "application/json"})
        except requests.Timeout as exc:
            raise ProviderUnavailable(f"{self.name} provider {what} request timed out after "
                                      f"{self.timeout:g}s ({url})") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"{self.name} provider {what} request failed: "
                                      f"{type(exc).__name__} ({url})") from exc
        if resp.status_code != 200:
            raise ProviderUnavailable(f"{self.name} provider {what} answered HTTP {resp.status_code} ({url})")
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{self.name} provider {what} is not a JSON object ({url})")
        return data

    # -- the code flow ------------------------------------------------------------------------

    def _oauth_session(self, redirect_uri: str) -> OAuth2Session:
        methods = self.metadata().get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        auth_method = "client_secret_post" if "client_secret_basic" not in methods \
            and "client_secret_post" in methods else "client_secret_basic"
        return OAuth2Session(client_id=self.client_id, client_secret=self.client_secret,
                             scope=self.scope, redirect_uri=redirect_uri, code_challenge_method="S256",
                             token_endpoint_auth_method=auth_method, default_timeout=self.timeout)

    def authorization_url(self, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        """The authorization endpoint URL for a code-flow login with PKCE S256 and ``nonce``."""
        with self._oauth_session(redirect_uri) as oauth:
            url, _state = oauth.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state, code_verifier=code_verifier,
                nonce=nonce)
        return url

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        """Redeem ``code`` at the token endpoint; raises ``LoginFailed``/``ProviderUnavailable``."""
        try:
            with self._oauth_session(redirect_uri) as oauth:
                token = oauth.fetch_token(self.metadata()["token_endpoint"], grant_type="authorization_code",
                                          code=code, code_verifier=code_verifier)
        except requests.Timeout as exc:
            raise ProviderUnavailable(f"{self.name} token request timed out after {self.timeout:g}s") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"{self.name} token request failed: {type(exc).__name__}") from exc
        except OAuthError as exc:
            raise LoginFailed(f"{self.name} token endpoint refused the code: {exc.error}: "
                              f"{_clip(exc.description)}") from exc
        except LoginFailed:
            raise
        except Exception as exc:  # malformed response, insecure transport, ...
            raise LoginFailed(f"{self.name} token request failed: {type(exc).__name__}") from exc
        return dict(token)

    def validate_id_token(self, id_token: str, nonce: str, access_token: str | None) -> dict[str, Any]:
        """``idtoken.validate_id_token`` with this provider's settings; raises ``LoginFailed``."""
        if not self.allowed_algs:
            raise LoginFailed(f"{self.name}: no usable algorithm in OIDC_ALLOWED_ALGS")
        try:
            return idtoken.validate_id_token(
                id_token, load_keys=self.jwks, allowed_algs=self.allowed_algs,
                issuer=self.metadata()["issuer"], client_id=self.client_id, nonce=nonce,
                leeway=self.leeway, access_token=access_token, claims_options=self.claims_options)
        except idtoken.InvalidIdToken as exc:
            raise LoginFailed(f"{self.name} ID token rejected: {exc}") from exc

    def userinfo(self, access_token: str) -> dict[str, Any] | None:
        """The userinfo claims (``None`` when discovery names no userinfo endpoint)."""
        endpoint = self.metadata().get("userinfo_endpoint")
        if not endpoint:
            return None
        try:
            resp = requests.get(endpoint, timeout=self.timeout, headers={
                "Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        except requests.Timeout as exc:
            raise ProviderUnavailable(f"{self.name} userinfo request timed out after {self.timeout:g}s") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"{self.name} userinfo request failed: {type(exc).__name__}") from exc
        if resp.status_code >= 500:
            raise ProviderUnavailable(f"{self.name} userinfo answered HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise LoginFailed(f"{self.name} userinfo answered HTTP {resp.status_code}")
        if "json" not in resp.headers.get("Content-Type", ""):
            raise LoginFailed(f"{self.name} userinfo is {resp.headers.get('Content-Type')!r}, "
                              "only plain JSON is supported")
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise LoginFailed(f"{self.name} userinfo is not a JSON object")
        return data


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
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    url = p.authorization_url(redirect_uri, state, nonce, verifier)
    now = time.time()
    pending = {s: e for s, e in dict(session.get(PENDING_KEY) or {}).items()
               if now - e.get("at", 0) <= _login_max_age()}
    pending[state] = {"provider": name, "nonce": nonce, "code_verifier": verifier,
                      "redirect_uri": redirect_uri, "at": now}
    session[PENDING_KEY] = dict(sorted(pending.items(), key=lambda kv: kv[1]["at"])[-MAX_PENDING:])
    return url


def complete_login(name: str, args: Mapping[str, str]) -> dict[str, Any]:
    """Finish the code flow from the callback's query ``args``; return the verified claims.

    The login's state is consumed first, whatever happens next, so a callback works once.
    Raises ``LoginFailed`` for a provider ``error``, a missing, unknown, replayed, foreign (other
    provider) or expired ``state``, a refused code, an invalid ID token (see
    ``idtoken.validate_id_token``) or a userinfo ``sub`` that differs from the ID token's;
    ``ProviderUnavailable`` when the provider times out or fails.
    Returns the ID token claims, with userinfo claims added where the ID token has none.
    """
    p = provider(name)
    state = args.get("state")
    pending = dict(session.get(PENDING_KEY) or {})
    started = pending.pop(state, None) if state else None
    session[PENDING_KEY] = pending
    if args.get("error"):
        raise LoginFailed(f"{name} provider returned error={_clip(args.get('error'))} "
                          f"description={_clip(args.get('error_description'))}",
                          _("Die Anmeldung wurde abgebrochen oder abgelehnt."))
    if not state:
        raise LoginFailed(f"{name} callback without state")
    if started is None:
        raise LoginFailed(f"{name} callback state unknown to this session (forged, replayed or expired)")
    if started.get("provider") != name:
        raise LoginFailed(f"{name} callback carries a state issued for the {started.get('provider')} login")
    age = time.time() - started.get("at", 0)
    if age > _login_max_age():
        raise LoginFailed(f"{name} login started {age:.0f}s ago, longer than OIDC_LOGIN_MAX_AGE allows")
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
    userinfo = p.userinfo(access_token)
    if userinfo is None:
        return claims
    if userinfo.get("sub") != claims["sub"]:
        raise LoginFailed(f"{name} userinfo sub {userinfo.get('sub')!r} != ID token sub {claims['sub']!r}")
    return {**userinfo, **claims}


def _login_max_age() -> float:
    return float(current_app.config.get("OIDC_LOGIN_MAX_AGE", 600))


def _clip(value: Any, limit: int = 200) -> str:
    """A provider-supplied string made safe for one log line."""
    return repr(None if value is None else str(value)[:limit])
