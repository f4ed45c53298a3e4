"""Queued mails in tests: filings with notifications, one round of sending, reading the rows."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import select, update

from bizportal.auth.models import Company, Person
from bizportal.common.time import utcnow
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.notify import services as notify
from bizportal.notify.models import Notification
from bizportal.notify.states import NotificationState

SERVICE_KEY = "versicherungsvermittler-34d"


PUBLIC_BASE_URL = "https://portal.example"


#: the queue's settings in these tests (the mail settings of the app, with a small attempt cap)
QUEUE = {"max_attempts": 3, "backoff_base": 60.0, "backoff_max": 3600.0, "lease_seconds": 60}


def send_due(app, worker_id: str = "w1", limit: int = 10) -> int:
    """One round of a worker: ``notify.send_due`` with the app's mail settings."""
    return notify.send_due(app, worker_id, app.config["SETTINGS"].mail, limit)


def add_filing(person_email: str | None = "anna@firma.example", locale: str | None = None,
               notification_email: str | None = None, person: Person | None = None) -> Filing:
    """A submitted filing, added to ``db.session`` (not committed): by ``person``, else by a new
    person of a new company."""
    tag = secrets.token_hex(4).upper()
    if person is None:
        company = Company(issuer="http://issuer", org_id=f"org-{tag}", name=f"Firma {tag} GmbH",
                          postcode="28195", notification_email=notification_email)
        person = Person(issuer="http://issuer", sub=f"p-{tag}", company=company, name="Anna",
                        email=person_email, locale=locale)
        db.session.add_all([company, person])
    filing = Filing(reference=f"BP-2026-{tag[:6]}", submit_token=f"t-{tag}", company=person.company,
                    person=person, service_key=SERVICE_KEY, data={"postcode": "28195"},
                    company_snapshot={"name": person.company.name, "postcode": "28195"})
    db.session.add(filing)
    return filing


def queue_received(app, **person) -> tuple[uuid.UUID, str]:
    """A committed filing with its queued acknowledgement; returns (notification id, reference)."""
    with app.app_context():
        filing = add_filing(**person)
        notification = notify.enqueue_filing_received(db.session, filing)
        db.session.commit()
        assert notification is not None
        return notification.id, filing.reference


def notification(app, notification_id) -> Notification:
    with app.app_context():
        row = db.session.get_one(Notification, notification_id)
        db.session.expunge(row)
        return row


def notification_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Notification.id)).all())


def make_due(app) -> None:
    """Skip the backoff: every pending notification is due now."""
    with app.app_context():
        db.session.execute(update(Notification).where(Notification.state == NotificationState.PENDING)
                           .values(next_attempt_at=utcnow()))
        db.session.commit()
