"""Use cases of the admin pages: create, rotate and revoke a chamber system's API client.

The secret is returned once, to be shown once; only its scrypt hash is stored. Every change is
audited with the admin who made it and the client's chamber.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from ..audit import services as audit
from ..bodies.models import Chamber
from ..common.time import utcnow
from ..extensions import db
from .models import SCOPES, ApiClient, ApiToken

#: werkzeug's scrypt with its default work factor (N=2^15, r=8, p=1)
HASH_METHOD = "scrypt"


class ClientRefused(ValueError):
    """The client cannot be created as asked (no scope, an unknown scope, an empty name)."""


@dataclass(frozen=True)
class Issued:
    """A client with the secret that was just set: shown once, never stored in clear."""

    client: ApiClient
    secret: str


def _new_secret() -> str:
    # A secret that starts with "-" reads as an option on a command line (argparse refuses
    # `--client-secret -abc`), so draw again: one in 64 would otherwise.
    while True:
        secret = secrets.token_urlsafe(32)
        if not secret.startswith("-"):
            return secret


def _client_id(chamber: Chamber) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", chamber.slug.lower()).strip("-")[:40] or "client"
    return f"{stem}-{secrets.token_hex(4)}"


def create(chamber: Chamber, name: str, scopes: Iterable[str], admin_id: str) -> Issued:
    """A new client of ``chamber`` with ``scopes`` (a non-empty subset of ``models.SCOPES``).
    Commits; raises ``ClientRefused`` for an empty name or a wrong scope."""
    name = (name or "").strip()[:100]
    chosen = sorted(set(scopes), key=SCOPES.index) if set(scopes) <= set(SCOPES) else None
    if not name:
        raise ClientRefused("a name is required")
    if not chosen:
        raise ClientRefused("at least one known scope is required")
    secret = _new_secret()
    client = ApiClient(client_id=_client_id(chamber), chamber_id=chamber.id, name=name, scope=" ".join(chosen),
                       secret_hash=generate_password_hash(secret, method=HASH_METHOD), created_at=utcnow())
    db.session.add(client)
    db.session.commit()
    audit.record("api_client.created", admin_id, target=f"chamber:{chamber.slug}", chamber_id=chamber.id,
                 detail=f"{client.client_id} ({client.name}): {client.scope}")
    return Issued(client, secret)


def rotate(client: ApiClient, admin_id: str) -> Issued:
    """A new secret for an active client: the old one stops working at once, and so do the
    tokens issued with it. Commits; raises ``ClientRefused`` for a revoked client."""
    if client.revoked_at is not None:
        raise ClientRefused("the client is revoked")
    secret = _new_secret()
    now = utcnow()
    client.secret_hash = generate_password_hash(secret, method=HASH_METHOD)
    client.rotated_at = now
    _revoke_tokens(client, now)
    db.session.commit()
    audit.record("api_client.rotated", admin_id, target=f"chamber:{client.chamber.slug}", chamber_id=client.chamber_id,
                 detail=f"{client.client_id} ({client.name})")
    return Issued(client, secret)


def revoke(client: ApiClient, admin_id: str) -> bool:
    """Revoke the client and every token it holds; False if it was revoked already. Commits."""
    if client.revoked_at is not None:
        return False
    now = utcnow()
    client.revoked_at = now
    _revoke_tokens(client, now)
    db.session.commit()
    audit.record("api_client.revoked", admin_id, target=f"chamber:{client.chamber.slug}", chamber_id=client.chamber_id,
                 detail=f"{client.client_id} ({client.name})")
    return True


def _revoke_tokens(client: ApiClient, now) -> None:
    db.session.execute(update(ApiToken).where(ApiToken.client_pk == client.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))


def all_clients() -> list[ApiClient]:
    """Every client, active first, by chamber and name (for the admin page)."""
    rows = db.session.scalars(select(ApiClient).join(Chamber, Chamber.id == ApiClient.chamber_id)
                              .order_by(ApiClient.revoked_at.is_not(None), Chamber.name, ApiClient.name,
                                        ApiClient.id))
    return list(rows)


def get(client_pk: int) -> ApiClient | None:
    return db.session.get(ApiClient, client_pk)
