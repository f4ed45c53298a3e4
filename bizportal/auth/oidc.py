"""The two OpenID Connect clients (companies, staff) and the checks authlib leaves to us."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from authlib.integrations.base_client import OAuthError
from flask import Flask

from ..extensions import oauth

log = logging.getLogger(__name__)


class LoginFailed(Exception):
    """The login cannot be completed; ``reason`` goes to the log, ``message`` to the user."""

    def __init__(self, reason: str, user_message: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.user_message = user_message


@dataclass(frozen=True)
class ProviderSettings:
    name: str  #: "company" or "staff"
    issuer: str


def register_clients(app: Flask) -> None:
    cfg = app.config
    for name in ("company", "staff"):
        prefix = name.upper() + "_OIDC_"
        issuer = cfg[prefix + "ISSUER"].rstrip("/")
        oauth.register(
            name=name,
            client_id=cfg[prefix + "CLIENT_ID"],
            client_secret=cfg[prefix + "CLIENT_SECRET"],
            server_metadata_url=issuer + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": cfg[prefix + "SCOPE"],
                "code_challenge_method": "S256",
                "timeout": cfg["OIDC_TIMEOUT"],
            },
            overwrite=True,
        )


def client(name: str):
    return oauth.create_client(name)


def check_discovery(name: str, configured_issuer: str) -> dict[str, Any]:
    """Load the discovery document and insist its ``issuer`` is the configured one."""
    try:
        metadata = client(name).load_server_metadata()
    except Exception as exc:
        raise LoginFailed(f"{name} provider discovery failed: {exc!r}") from exc
    issuer = str(metadata.get("issuer", "")).rstrip("/")
    if issuer != configured_issuer.rstrip("/"):
        raise LoginFailed(
            f"{name} provider discovery issuer {issuer!r} differs from configured {configured_issuer!r}"
        )
    return metadata


def complete_login(name: str, issuer: str, allowed_algs: list[str]) -> dict[str, Any]:
    """Finish the code flow: state, PKCE, token exchange, ID token checks, userinfo ``sub`` check.

    Returns the merged claims (ID token first, userinfo adds what the token lacks).
    """
    oidc = client(name)
    try:
        token = oidc.authorize_access_token(
            claims_options={"iss": {"essential": True, "value": issuer.rstrip("/")}}
        )
    except OAuthError as exc:
        raise LoginFailed(f"{name} login refused by provider or state invalid: {exc.error}: "
                          f"{exc.description}") from exc
    except Exception as exc:
        raise LoginFailed(f"{name} token exchange or ID token check failed: {exc!r}") from exc
    header_alg = _id_token_alg(token.get("id_token", ""))
    if header_alg not in allowed_algs:
        raise LoginFailed(f"{name} ID token signed with {header_alg!r}, allowed: {allowed_algs}")
    id_claims = dict(token.get("userinfo") or {})
    if not id_claims.get("sub"):
        raise LoginFailed(f"{name} ID token without sub")
    try:
        userinfo = dict(oidc.userinfo(token=token))
    except Exception as exc:
        raise LoginFailed(f"{name} userinfo request failed: {exc!r}") from exc
    if userinfo.get("sub") != id_claims["sub"]:
        raise LoginFailed(f"{name} userinfo sub {userinfo.get('sub')!r} != ID token sub {id_claims['sub']!r}")
    return {**userinfo, **id_claims}


def _id_token_alg(id_token: str) -> str | None:
    import base64
    import json

    try:
        header_b64 = id_token.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
        return header.get("alg")
    except Exception:
        return None
