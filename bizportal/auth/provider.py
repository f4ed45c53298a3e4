"""One OpenID provider as the relying party sees it: verified discovery, key set, HTTP calls.

Every endpoint and the key set come from the discovery document, which is accepted only when
it names the configured issuer. All requests use the configured timeout; a provider that is
slow, unreachable or failing raises ``ProviderUnavailable``. Reasons in exceptions are meant for
the log and never contain a token, code or secret.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from . import idtoken

WELL_KNOWN = "/.well-known/openid-configuration"


class LoginFailed(Exception):
    """The login cannot be completed; ``reason`` goes to the log, ``message`` to the user."""

    status = 401

    def __init__(self, reason: str, user_message: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.user_message = user_message


class StateRejected(LoginFailed):
    """A callback whose ``state`` this browser did not start (missing, unknown, replayed, foreign).

    Anyone can send a browser to the callback URL, so such a callback must not change the browser's
    session: a signed-in person stays signed in (no cross-site sign-out).
    """


class TokenRejected(LoginFailed):
    """The provider refused a token it issued (expired, revoked, the grant ended)."""


class ProviderUnavailable(LoginFailed):
    """The provider did not answer in time, could not be reached or answered with an error."""

    status = 503


def clip(value: Any, limit: int = 200) -> str:
    """A provider-supplied string made safe for one log line."""
    return repr(None if value is None else str(value)[:limit])


def _json_object(resp) -> dict[str, Any] | None:
    """The response body if it is a JSON object, else None."""
    try:
        data = resp.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Provider:
    """One configured OpenID provider for one app: settings plus verified discovery and keys.

    Discovery and key set are fetched on first use and cached for ``metadata_max_age`` seconds;
    the key set is also fetched again when ``idtoken`` asks for it (a token names a key the cached set
    lacks: a rotated signing key, or a forged token), but at most once per ``jwks_refetch_interval``
    seconds, so a stream of forged tokens costs the provider one request per interval. The key set
    has its own lock: a slow key-set request does not hold up logins that only need discovery.
    """

    def __init__(self, name: str, *, issuer: str, client_id: str, client_secret: str, scope: str,
                 timeout: float, allowed_algs: list[str], leeway: float, metadata_max_age: float,
                 claims_options: Mapping[str, Mapping[str, Any]] | None = None,
                 jwks_refetch_interval: float = 60.0):
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
        self.claims_options = idtoken.extra_claims_options(claims_options)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: dict[str, Any] | None = None
        self.jwks_refetch_interval = jwks_refetch_interval
        self._jwks_lock = threading.Lock()
        self._jwks_refetched_at = -float("inf")  #: monotonic time of the last refetch asked for

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any]) -> Provider:
        """Settings ``<NAME>_OIDC_*`` plus the shared ``OIDC_*`` ones (see the README)."""
        prefix = name.upper() + "_OIDC_"
        settings = cfg["SETTINGS"].oidc
        claims_options = cfg.get(prefix + "CLAIMS_OPTIONS") or {}
        if isinstance(claims_options, str):
            claims_options = json.loads(claims_options)
        return cls(
            name,
            issuer=cfg[prefix + "ISSUER"],
            client_id=cfg[prefix + "CLIENT_ID"],
            client_secret=cfg[prefix + "CLIENT_SECRET"],
            scope=cfg[prefix + "SCOPE"],
            timeout=settings.timeout,
            allowed_algs=idtoken.pinned_algorithms(list(settings.allowed_algs)),
            leeway=float(settings.clock_skew),
            metadata_max_age=float(settings.metadata_max_age),
            claims_options=claims_options,
            jwks_refetch_interval=float(settings.jwks_refetch_interval),
        )

    @property
    def account_issuer(self) -> str:
        """The issuer as stored on companies, persons, staff users and login sessions.

        The configured issuer without a trailing ``/``: discovery accepts the provider's spelling with
        or without one (``check_discovery``), so tokens may carry either; every lookup by issuer uses
        this value.
        """
        return self.issuer.rstrip("/")

    # -- discovery and keys -------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The discovery document, verified by ``check_discovery``; raises ``LoginFailed``."""
        with self._lock:
            age = time.monotonic() - self._metadata_at
            if self._metadata is None or age > self.metadata_max_age:
                metadata = self._get_json(self.issuer.rstrip("/") + WELL_KNOWN, "discovery")
                self.check_discovery(metadata)
                self._metadata, self._metadata_at, self._jwks = metadata, time.monotonic(), None
            return self._metadata

    def check_discovery(self, metadata: Mapping[str, Any]) -> None:
        """Insist the document names the configured issuer and the endpoints the code flow needs.

        The issuer must equal the configured one (a trailing ``/`` on the configured value is
        tolerated); ID tokens are then checked against the discovery ``issuer`` exactly. Raises
        ``LoginFailed``.
        """
        issuer = metadata.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != self.issuer.rstrip("/"):
            raise LoginFailed(f"{self.name} provider discovery issuer {issuer!r} differs from "
                              f"configured {self.issuer!r}")
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = metadata.get(field)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise LoginFailed(f"{self.name} provider discovery lacks a usable {field} "
                                  f"({value!r})")

    def jwks(self, refresh: bool = False) -> dict[str, Any]:
        """The key set from the discovery ``jwks_uri``.

        ``refresh`` asks for it anew; that is honoured once per ``jwks_refetch_interval`` (else the
        cached set is returned, and a token naming an unknown key is refused with it).
        """
        jwks_uri = self.metadata()["jwks_uri"]
        with self._jwks_lock:
            now = time.monotonic()
            refetch = refresh and now - self._jwks_refetched_at >= self.jwks_refetch_interval
            if refetch or self._jwks is None:
                jwks = self._get_json(jwks_uri, "key set")
                if not isinstance(jwks.get("keys"), list):
                    raise LoginFailed(f"{self.name} provider key set has no 'keys' list")
                self._jwks = jwks
                if refetch:
                    self._jwks_refetched_at = now
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
            raise ProviderUnavailable(f"{self.name} provider {what} answered HTTP "
                                      f"{resp.status_code} ({url})")
        data = _json_object(resp)
        if data is None:
            raise ProviderUnavailable(f"{self.name} provider {what} is not a JSON object ({url})")
        return data

    # -- the code flow ------------------------------------------------------------------------

    def _oauth_session(self, redirect_uri: str) -> OAuth2Session:
        """authlib's client with PKCE S256, our timeout and the client authentication to use."""
        methods = self.metadata().get("token_endpoint_auth_methods_supported") or []
        auth_method = "client_secret_basic"  # the default of the spec
        if methods and auth_method not in methods and "client_secret_post" in methods:
            auth_method = "client_secret_post"
        return OAuth2Session(client_id=self.client_id, client_secret=self.client_secret,
                             scope=self.scope, redirect_uri=redirect_uri,
                             code_challenge_method="S256", token_endpoint_auth_method=auth_method,
                             default_timeout=self.timeout)

    def authorization_url(self, redirect_uri: str, state: str, nonce: str,
                          code_verifier: str) -> str:
        """The authorization endpoint URL for a code-flow login with PKCE S256 and ``nonce``."""
        with self._oauth_session(redirect_uri) as oauth:
            url, _state = oauth.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=state,
                code_verifier=code_verifier, nonce=nonce)
        return url

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        """Redeem ``code`` at the token endpoint; raises ``LoginFailed``/``ProviderUnavailable``."""
        what = f"{self.name} token request"
        try:
            with self._oauth_session(redirect_uri) as oauth:
                token = oauth.fetch_token(self.metadata()["token_endpoint"],
                                          grant_type="authorization_code", code=code,
                                          code_verifier=code_verifier)
        except requests.Timeout as exc:
            raise ProviderUnavailable(f"{what} timed out after {self.timeout:g}s") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"{what} failed: {type(exc).__name__}") from exc
        except OAuthError as exc:
            raise LoginFailed(f"{self.name} token endpoint refused the code: {clip(exc.error)}: "
                              f"{clip(exc.description)}") from exc
        except LoginFailed:
            raise
        except Exception as exc:  # a malformed response, insecure transport, ...
            raise LoginFailed(f"{what} failed: {type(exc).__name__}") from exc
        return dict(token)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new token response for ``refresh_token`` (refresh-token grant).

        Raises ``TokenRejected`` when the provider refuses the grant (the login ended there),
        ``ProviderUnavailable`` when it cannot be asked, ``LoginFailed`` for anything malformed.
        """
        what = f"{self.name} refresh-token request"
        try:
            with self._oauth_session("") as oauth:
                token = oauth.refresh_token(self.metadata()["token_endpoint"], refresh_token=refresh_token)
        except requests.Timeout as exc:
            raise ProviderUnavailable(f"{what} timed out after {self.timeout:g}s") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"{what} failed: {type(exc).__name__}") from exc
        except OAuthError as exc:
            if exc.error in ("invalid_grant", "invalid_token", "unauthorized_client"):
                raise TokenRejected(f"{what} refused: {clip(exc.error)}") from exc
            raise ProviderUnavailable(f"{what} failed: {clip(exc.error)}") from exc
        except LoginFailed:
            raise
        except Exception as exc:  # a malformed response
            raise LoginFailed(f"{what} failed: {type(exc).__name__}") from exc
        if not isinstance(token.get("access_token"), str) or not token["access_token"]:
            raise LoginFailed(f"{what} answered without access_token")
        return dict(token)

    def validate_id_token(self, id_token: str, nonce: str,
                          access_token: str | None) -> dict[str, Any]:
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
        except LoginFailed:
            raise
        except Exception as exc:  # whatever a hostile token may provoke: never a 500, never a pass
            raise LoginFailed(f"{self.name} ID token rejected: {type(exc).__name__}") from exc

    def userinfo(self, access_token: str) -> dict[str, Any] | None:
        """The userinfo claims (``None`` when discovery names no userinfo endpoint).

        Only a plain JSON answer is accepted (signed or encrypted userinfo is refused).
        """
        endpoint = self.metadata().get("userinfo_endpoint")
        if not endpoint:
            return None
        what = f"{self.name} userinfo request"
        try:
            resp = requests.get(endpoint, timeout=self.timeout, headers={
                "Authorization": f"Bearer {access_token}", "Accept": "application/json"})
        except requests.Timeout as exc:
            raise ProviderUnavailable(f"{what} timed out after {self.timeout:g}s") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"{what} failed: {type(exc).__name__}") from exc
        if resp.status_code >= 500:
            raise ProviderUnavailable(f"{what} answered HTTP {resp.status_code}")
        if 400 <= resp.status_code < 500:  # RFC 6750 says 401; some providers answer 400 or 403
            raise TokenRejected(f"{what} answered HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise LoginFailed(f"{what} answered HTTP {resp.status_code}")
        content_type = resp.headers.get("Content-Type", "")
        if "json" not in content_type:
            raise LoginFailed(f"{what} answered {clip(content_type)}, only plain JSON is supported")
        data = _json_object(resp)
        if data is None:
            raise LoginFailed(f"{what} answered something other than a JSON object")
        return data
