"""OAuth 2.0 client credentials (RFC 6749 §4.4) with authlib: the token endpoint and the bearer check.

``POST /api/v1/oauth/token`` authenticates the client (HTTP Basic or ``client_id`` +
``client_secret`` in the form body), refuses a scope the client does not hold, and issues a bearer
token of ``API_TOKEN_SECONDS`` (no refresh token: a system asks again). Only the token's SHA-256
is stored. ``authenticate(scope)`` checks the bearer token of an API call: unknown, expired or
revoked (also through its revoked or rotated client) → 401, missing scope → 403, each as a
problem document with the ``WWW-Authenticate`` challenge of RFC 6750.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidScopeError, MissingAuthorizationError, grants
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator, InsufficientScopeError
from flask import Flask, Response, current_app, g, json
from sqlalchemy import select

from ..common.time import utcnow
from ..extensions import db
from . import problems
from .models import AUTH_METHODS, SCOPES, ApiClient, ApiToken

REALM = "bizportal-api"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def validate_token_request(self) -> None:
        """As authlib's, and a scope the client does not hold is refused (``invalid_scope``),
        not silently dropped."""
        super().validate_token_request()
        requested = set(scope_to_list(self.request.payload.scope) or [])
        if not requested <= set(self.request.client.scopes):
            raise InvalidScopeError()


class Server(AuthorizationServer):
    """authlib's Flask server, answering its errors as problem documents (with RFC 6749's
    ``error`` member, so OAuth libraries read them as usual)."""

    def handle_response(self, status_code: int, payload: Any, headers: Any) -> Response:
        if status_code >= 400:
            body = dict(payload) if not isinstance(payload, dict) else payload
            extra = {"error": body.get("error", "invalid_request")}
            if body.get("error_description"):
                extra["error_description"] = body["error_description"]
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            return problems.response(status_code, body.get("error_description") or body.get("error") or "",
                                     dict(headers), **extra)
        return Response(json.dumps(payload), status=status_code, headers=headers, mimetype="application/json")


def _query_client(client_id: str) -> ApiClient | None:
    return db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id,
                                                     ApiClient.revoked_at.is_(None)))


def _save_token(token: dict[str, Any], request: Any) -> None:
    now = utcnow()
    client: ApiClient = request.client
    db.session.add(ApiToken(client_pk=client.id, token_sha256=token_hash(token["access_token"]),
                            scope=token.get("scope") or "", issued_at=now,
                            expires_at=now + timedelta(seconds=int(token["expires_in"]))))
    db.session.commit()
    g.api_client = client


def install(app: Flask) -> None:
    """An authorization server for this app (token lifetime from its settings)."""
    lifetime = app.config["SETTINGS"].api.token_seconds
    server = Server(query_client=_query_client, save_token=_save_token)
    server.scopes_supported = list(SCOPES)
    server.register_token_generator("default", BearerTokenGenerator(
        lambda **_: generate_token(48), None, lambda client, grant_type: lifetime))
    server.register_grant(ClientCredentials)
    app.extensions["bizportal_oauth"] = server


def token_response() -> Response:
    return current_app.extensions["bizportal_oauth"].create_token_response()


class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> ApiToken | None:
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_hash(token_string)))
        g.api_token_seen = token  # the audit names the client also when the token is refused
        return token


require_oauth = ResourceProtector()
require_oauth.register_token_validator(_Validator(realm=REALM))


def authenticate(scope: str) -> ApiClient:
    """The client behind the request's bearer token, if the token is valid and holds ``scope``.
    Raises ``problems.Problem`` (401 or 403) otherwise. Sets ``g.api_client``."""
    try:
        token: ApiToken = require_oauth.acquire_token([scope])
    except MissingAuthorizationError:
        raise problems.Problem(401, "A bearer token is required (Authorization: Bearer <token>).",
                               {"WWW-Authenticate": f'Bearer realm="{REALM}"'}) from None
    except InsufficientScopeError:
        g.api_client = _token_client()
        raise problems.Problem(403, f"The token lacks the scope {scope}.", {
            "WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'}) from None
    except OAuth2Error:
        g.api_client = _token_client()
        raise problems.Problem(401, "The bearer token is unknown, expired or revoked.", {
            "WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'}) from None
    g.api_client = token.client
    return token.client


def _token_client() -> ApiClient | None:
    token = g.get("api_token_seen")
    return token.client if token is not None else None
