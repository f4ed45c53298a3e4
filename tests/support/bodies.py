"""Helpers for the receiving bodies' admin pages: their URLs, a form token, reading a body and the
audit entries back, uploading an import file, and one body's delivery of a filing."""

from __future__ import annotations

import io

from sqlalchemy import select

from bizportal.audit.models import AuditEvent
from bizportal.bodies.models import Chamber
from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.http import csrf_token

NEW = "/staff/admin/kammern/neu"
IMPORT = "/staff/admin/kammern/import"


def edit_url(slug: str) -> str:
    return f"/staff/admin/kammern/{slug}/stammdaten"


def token(client, path: str = NEW) -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def body(app, slug: str) -> Chamber | None:
    with app.app_context():
        chamber = db.session.scalar(select(Chamber).where(Chamber.slug == slug))
        if chamber is not None:
            db.session.expunge(chamber)
        return chamber


def audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def upload(client, name: str, content: bytes):
    return client.post(IMPORT, data={"csrf_token": token(client, IMPORT), "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


def delivery_of(app, reference: str, slug: str) -> Delivery:
    """The delivery of the filing ``reference`` to the body ``slug`` (not a message's)."""
    with app.app_context():
        d = db.session.scalar(
            select(Delivery).join(Filing, Filing.id == Delivery.filing_id)
            .join(Chamber, Chamber.id == Delivery.chamber_id)
            .where(Filing.reference == reference, Chamber.slug == slug, Delivery.message_id.is_(None)))
        db.session.expunge(d)
        return d
