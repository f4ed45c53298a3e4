"""Fixtures for the mail queue: a real SMTP server on loopback, filings, queued notifications.

Tests marked ``postgres_only`` are skipped on SQLite (run with ``BIZPORTAL_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from bizportal.auth.models import Company, Person
from bizportal.common.time import utcnow
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.notify import services as notify
from bizportal.notify.models import Notification
from bizportal.notify.states import NotificationState
from tests.chambers.loopback import closed_port
from tests.chambers.smtp_receiver import SmtpRecorder

SERVICE_KEY = "versicherungsvermittler-34d"
PUBLIC_BASE_URL = "https://portal.example"
#: the queue's settings in these tests (the mail settings of the app, with a small attempt cap)
QUEUE = {"max_attempts": 3, "backoff_base": 60.0, "backoff_max": 3600.0, "lease_seconds": 60}


@pytest.fixture(autouse=True)
def _postgres_only(request, is_postgres):
    if request.node.get_closest_marker("postgres_only") and not is_postgres:
        pytest.skip("needs PostgreSQL (set BIZPORTAL_TEST_DATABASE_URL)")


class HookedRecorder(SmtpRecorder):
    """The recording SMTP server; ``on_data(raw)`` runs when a message arrives, before it is accepted."""

    on_data: Callable[[bytes], None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.on_data is not None:
            self.on_data(envelope.original_content)
        return await super().handle_DATA(server, session, envelope)


class SmtpServer:
    """A real SMTP server (aiosmtpd) on one loopback port that can go down and come back."""

    def __init__(self) -> None:
        self.port = closed_port()
        self.recorder = HookedRecorder()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mails(self) -> list[EmailMessage]:
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(raw) for _from, _to, raw in self.recorder.messages]  # type: ignore[misc]

    def recipients(self) -> list[list[str]]:
        return [to for _from, to, _raw in self.recorder.messages]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(app_factory, smtp):
    return app_factory(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TIMEOUT=5,
                       PUBLIC_BASE_URL=PUBLIC_BASE_URL, MAIL_MAX_ATTEMPTS=QUEUE["max_attempts"],
                       MAIL_BACKOFF_BASE_SECONDS=QUEUE["backoff_base"], MAIL_BACKOFF_MAX_SECONDS=QUEUE["backoff_max"],
                       MAIL_LEASE_SECONDS=QUEUE["lease_seconds"])


def send_due(app, worker_id: str = "w1", limit: int = 10) -> int:
    """One round of a worker: ``notify.send_due`` with the app's mail settings."""
    return notify.send_due(app, worker_id, app.config["SETTINGS"].mail, limit)


# --- data -----------------------------------------------------------------------------------------

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
