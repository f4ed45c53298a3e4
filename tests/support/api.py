"""The chamber API in tests: clients made through the admin use case, tokens from the real token
endpoint, and calls with a bearer token."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sqlalchemy import select

from bizportal.api import clients
from bizportal.bodies.models import Chamber
from bizportal.extensions import db
from tests.support.pdfs import minimal_pdf

ALL = ("filings:read", "filings:write", "messages:write")
PDF = minimal_pdf("decision document")


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str
    pk: int


def make_client(app, chamber_slug: str, scopes=ALL, name: str = "Fachverfahren") -> Credentials:
    with app.app_context():
        chamber = db.session.scalar(select(Chamber).where(Chamber.slug == chamber_slug))
        issued = clients.create(chamber, name, scopes, "cli")
        return Credentials(issued.client.client_id, issued.secret, issued.client.id)


def token(client, creds: Credentials, scope: str | None = None, expect: int = 200) -> str:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    resp = client.post("/api/v1/oauth/token", data=data, auth=(creds.client_id, creds.secret))
    assert resp.status_code == expect, resp.get_data(as_text=True)
    return resp.get_json().get("access_token", "")


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


class ApiCaller:
    """Calls of one chamber system through the Flask test client, with a fresh token."""

    def __init__(self, app, client, chamber_slug: str, scopes=ALL):
        self.creds = make_client(app, chamber_slug, scopes)
        self.client = client
        self.headers = bearer(token(client, self.creds))

    def get(self, path: str, **kw):
        return self.client.get("/api/v1" + path, headers=self.headers, **kw)

    def post(self, path: str, json=None, **kw):
        return self.client.post("/api/v1" + path, headers=self.headers, json=json, **kw)

    def transition(self, reference: str, to: str, expected: str, **body):
        return self.post(f"/filings/{reference}/transitions", json={"to": to, "expected_status": expected, **body})


def payloads(app, chamber_slug: str, n: int):
    """``n`` filings (inserted in bulk, each with one delivery to ``chamber_slug``) as the inbox
    adapter would deliver them; nothing is in the inbox yet."""
    from bizportal.delivery.models import Delivery
    from bizportal.filings.models import Filing
    from chambers.base import FilingPayload
    from tests.support.factories import bulk_filings

    out = []
    with app.app_context():
        for filing_id in bulk_filings(app, n, [chamber_slug]):
            filing = db.session.get(Filing, filing_id)
            delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.filing_id == filing_id))
            out.append(FilingPayload(
                delivery_id=delivery_id, reference=filing.reference, service_key="gewerbeanmeldung",
                service_title="Gewerbeanmeldung", leika=None, company={"name": "Test GmbH", "postcode": "28195"},
                submitted_at=filing.submitted_at, data={}, destination_role="primary", destination=chamber_slug))
        db.session.rollback()
    return out
