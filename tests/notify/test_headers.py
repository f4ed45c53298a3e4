"""What a mail carries besides its text: Date, Message-ID, From and the Reply-To where answers
are read, and the operator's name instead of demo text — as the real SMTP server receives it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr, parsedate_to_datetime

import pytest

from tests.support.identity import DEMO_WORDS, IDENTITY
from tests.support.mailqueue import PUBLIC_BASE_URL, QUEUE, queue_received, send_due


@pytest.fixture
def app(app_factory, smtp):
    identity = {k: v for k, v in IDENTITY.items() if k not in ("PUBLIC_BASE_URL",)}
    return app_factory(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TIMEOUT=5,
                       PUBLIC_BASE_URL=PUBLIC_BASE_URL, MAIL_MAX_ATTEMPTS=QUEUE["max_attempts"],
                       MAIL_LEASE_SECONDS=QUEUE["lease_seconds"], ENV_NAME="production", **identity)


def test_mail_has_date_message_id_sender_and_reply_to_of_the_operator(app, smtp):
    notification_id, reference = queue_received(app, person_email="anna@firma.example")
    before = datetime.now(UTC)
    assert send_due(app) == 1
    [mail] = smtp.mails()
    sent = parsedate_to_datetime(mail["Date"])
    assert sent.tzinfo is not None and before - timedelta(seconds=5) <= sent <= datetime.now(UTC) + timedelta(seconds=5)
    assert mail["Message-ID"] == f"<notification.{notification_id}@wirtschaft.bremen.example.org>"
    assert parseaddr(mail["From"]) == ("Unternehmensportal Bremen", "portal@wirtschaft.bremen.example.org")
    assert parseaddr(mail["Reply-To"]) == ("Servicestelle", "service@wirtschaft.bremen.example.org")
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "im Portal „Unternehmensportal Bremen“ eingegangen" in body
    assert body.rstrip().endswith("Unternehmensportal Bremen\nDie Senatorin für Wirtschaft, Zweite Schlachtpforte 3, "
                                  "28195 Bremen")
    for word in DEMO_WORDS:
        assert word not in body and word not in mail["Subject"]


def test_development_mails_answer_to_the_marked_demo_address(app_factory, smtp):
    app = app_factory(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TIMEOUT=5)
    queue_received(app)
    assert send_due(app) == 1
    [mail] = smtp.mails()
    assert parseaddr(mail["Reply-To"])[1] == "antworten@unternehmensportal.example"
    assert mail["Date"] and mail["Message-ID"]
