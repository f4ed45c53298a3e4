"""Two people of one company on one draft: pages opened by one before the other saved, sent later,
as a browser sends what it still shows."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from bizportal.extensions import db
from bizportal.filings.models import Draft
from tests.support.bundles import form_values
from tests.support.http import login


def colleague_of_anna(app):
    """Jonas Weber, Anna Becker's colleague at Becker Elektrotechnik, signed in with a client of his own."""
    client = app.test_client()
    login(client, "jonas.weber")
    return client


def open_page(client, path: str) -> dict[str, str]:
    """The form of the step or review page at ``path`` as the browser holds it: what it would send
    (the CSRF token and the page's hidden marks included)."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code, page.headers.get("Location"))
    return form_values(page.get_data(as_text=True))


def send(client, path: str, page: dict[str, str], action: str = "next", **changes):
    """Send the page held in ``page`` (``open_page``) with ``changes`` typed into it."""
    return client.post(path, data={**page, **changes, "action": action}, content_type="multipart/form-data")


def stored(app, draft_id: str) -> Draft:
    """The draft as it is stored now."""
    with app.app_context():
        draft = db.session.scalar(select(Draft).where(Draft.id == uuid.UUID(draft_id)))
        db.session.expunge(draft)
        return draft
