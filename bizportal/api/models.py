"""Credentials of chamber systems: API clients, their bearer tokens, and their request counters.

A client belongs to exactly one chamber and acts only for it. Neither the client secret nor a
bearer token is stored: the secret as a scrypt hash (``werkzeug.security``), the token as its
SHA-256 (a random 256-bit value needs no salt, and the hash finds the row).
"""

from __future__ import annotations

from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash

from ..bodies.models import Chamber
from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model

#: what a client may be allowed to do
SCOPES = ("filings:read", "filings:write", "messages:write")
GRANT_TYPE = "client_credentials"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class ApiClient(Model, ClientMixin):
    """A chamber's system that calls the API (OAuth 2.0 client credentials)."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the public client id, e.g. ``hwk-bremen-3f9a1c``
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    chamber_id: Mapped[int] = mapped_column(ForeignKey("chamber.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: space-separated subset of ``SCOPES``
    scope: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chamber: Mapped[Chamber] = relationship()

    @property
    def scopes(self) -> list[str]:
        return [s for s in (self.scope or "").split() if s in SCOPES]

    @property
    def audit_id(self) -> str:
        """How the audit log names the client (``audit.record`` actor)."""
        return f"api:{self.client_id}"

    # --- authlib's ClientMixin ---------------------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes (all of the client's when none were named); the grant has already
        refused any scope the client does not hold."""
        if not scope:
            return " ".join(self.scopes)
        return " ".join(s for s in scope.split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return self.revoked_at is None and check_password_hash(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE


class ApiToken(Model, TokenMixin):
    """A bearer token issued to a client; only its SHA-256 is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("api_client.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[ApiClient] = relationship()

    # --- authlib's TokenMixin ----------------------------------------------------------------
    def check_client(self, client: ClientMixin) -> bool:
        return isinstance(client, ApiClient) and client.id == self.client_pk

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - self.issued_at).total_seconds()))

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.client.revoked_at is not None

    def get_user(self) -> None:
        return None

    def get_client(self) -> ApiClient:
        return self.client


class ApiRateWindow(Model):
    """The calls of one client in its current fixed window (one row per client, reused)."""

    __tablename__ = "api_rate_window"

    client_pk: Mapped[int] = mapped_column(ForeignKey("api_client.id"), primary_key=True)
    #: start of the window, in whole seconds since the epoch
    window_start: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
