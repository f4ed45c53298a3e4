"""Inbox items for the list tests: filings delivered through the real inbox store, then placed in time."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bizportal.auth.models import StaffUser
from bizportal.common.time import utcnow
from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.inbox.models import InboxItem
from bizportal.inbox.services import DatabaseInboxStore
from chambers.base import FilingPayload
from tests.support.factories import bulk_filings

ROW_RE = re.compile(r'<a class="kern-link" href="/staff/posteingang/\d+">([^<]+)</a>')
NEXT_RE = re.compile(r'id="next-page" href="([^"]+)"')
PREVIOUS_RE = re.compile(r'id="previous-page" href="([^"]+)"')


@dataclass
class Spec:
    """One delivered filing as the list should see it."""

    company: str = "Test GmbH"
    register: str | None = None
    service_key: str = "gewerbeanmeldung"
    service_title: str = "Gewerbeanmeldung"
    #: minutes before now the item arrived
    age_minutes: float = 60
    #: or exactly when
    received_at: datetime | None = None
    #: the filing's status (test data: set directly, as if the lifecycle had moved it there)
    status: str = "forwarded"
    role: str = "primary"
    extra: dict[str, Any] = field(default_factory=dict)


def deliver(app, chamber_slug: str, specs: list[Spec]) -> list[str]:
    """Filings delivered into ``chamber_slug``'s inbox through ``DatabaseInboxStore.put``, one per
    spec; returns their references (in spec order)."""
    filing_ids = bulk_filings(app, len(specs), [chamber_slug])
    store = DatabaseInboxStore()
    now = utcnow()
    payloads = []
    with app.app_context():
        for filing_id, spec in zip(filing_ids, specs, strict=True):
            filing = db.session.get(Filing, filing_id)
            delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.filing_id == filing_id))
            data = {**({"handelsregisternummer": spec.register} if spec.register else {}), **spec.extra}
            payloads.append(FilingPayload(
                delivery_id=delivery_id, reference=filing.reference, service_key=spec.service_key,
                service_title=spec.service_title, leika=None, company={"name": spec.company, "postcode": "28195"},
                submitted_at=filing.submitted_at, data=data, destination_role=spec.role, destination=chamber_slug))
        db.session.rollback()  # the store writes in its own transaction (SQLite: one writer)
        for filing_id, spec, payload in zip(filing_ids, specs, payloads, strict=True):
            item_id = int(store.put(chamber_slug, payload))
            db.session.execute(update(InboxItem).where(InboxItem.id == item_id)
                               .values(received_at=spec.received_at or now - timedelta(minutes=spec.age_minutes)))
            db.session.execute(update(Filing).where(Filing.id == filing_id).values(status=spec.status))
            db.session.commit()
    return [p.reference for p in payloads]


def staff_user_id(app, sub: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(StaffUser.id).where(StaffUser.sub == sub))
        assert found is not None, f"{sub} never logged in"
        return found


def colleague(app, chamber_id: int, name: str = "Kollegin Weber") -> int:
    """Another staff member of a chamber (never logs in here)."""
    with app.app_context():
        user = StaffUser(issuer="http://colleague", sub=f"colleague-{uuid.uuid4().hex[:8]}", name=name,
                         roles=["chamber_staff"], chamber_id=chamber_id)
        db.session.add(user)
        db.session.commit()
        return user.id


def assign(app, references: list[str], staff_id: int | None) -> None:
    """What the staff pages' assign action writes."""
    with app.app_context():
        db.session.execute(update(InboxItem).where(InboxItem.reference.in_(references))
                           .values(assigned_to_id=staff_id))
        db.session.commit()


def chamber_id_of(app, reference: str) -> int:
    with app.app_context():
        return db.session.scalar(select(InboxItem.chamber_id).where(InboxItem.reference == reference))


def listed(html: str) -> list[str]:
    """The references in the list, in page order."""
    return ROW_RE.findall(html)


def unescape(url: str) -> str:
    return url.replace("&amp;", "&")


def next_link(html: str) -> str | None:
    match = NEXT_RE.search(html)
    return unescape(match.group(1)) if match else None


def previous_link(html: str) -> str | None:
    match = PREVIOUS_RE.search(html)
    return unescape(match.group(1)) if match else None


def all_pages(client, url: str) -> list[list[str]]:
    """Follow "Weitere" from ``url`` to the end; the references of each page."""
    pages = []
    next_url: str | None = url
    while next_url:
        html = client.get(next_url).get_data(as_text=True)
        pages.append(listed(html))
        next_url = next_link(html)
    return pages


def csv_rows(body: bytes) -> list[list[str]]:
    """The cells of a CSV export (after its BOM)."""
    assert body.startswith("\ufeff".encode()), "no BOM"
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:]), delimiter=";"))


def at(minutes_ago: float) -> datetime:
    return utcnow() - timedelta(minutes=minutes_ago)
