"""The worker's side: sending once, retrying, giving up, and respecting another worker's lease."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from bizportal.common.time import utcnow
from bizportal.extensions import db
from bizportal.notify.models import Notification
from bizportal.notify.states import NotificationState
from tests.support.mailqueue import PUBLIC_BASE_URL, QUEUE, make_due, notification, queue_received, send_due

ROOT = Path(__file__).resolve().parents[2]


def _id_of(raw: bytes) -> uuid.UUID:
    """The notification a raw mail belongs to, from its Message-ID."""
    return uuid.UUID(message_from_bytes(raw)["Message-ID"].strip("<>").split("@")[0].removeprefix("notification."))


def test_receipt_mail_is_sent_once_with_subject_body_and_the_receipt_pdf(app, smtp, tmp_path):
    notification_id, reference = queue_received(app, person_email="anna@firma.example")
    title = app.extensions["bizportal"].catalog["versicherungsvermittler-34d"].title.de

    assert send_due(app) == 1
    assert send_due(app) == 0  # nothing left to send

    [mail] = smtp.mails()
    assert smtp.recipients() == [["anna@firma.example"]]
    assert mail["Subject"] == f"Eingangsbestätigung {reference}: {title}"
    body = mail.get_body(("plain",)).get_content()
    assert f"Ihr Antrag „{title}“ ist im Portal „Unternehmensportal (Demo)“ eingegangen." in body
    assert f"Aktenzeichen: {reference}" in body
    assert f"Stand und Verlauf: {PUBLIC_BASE_URL}/antraege/{reference}" in body
    [pdf] = mail.iter_attachments()
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"Eingangsbestaetigung-{reference}.pdf"
    (tmp_path / "receipt.pdf").write_bytes(pdf.get_content())
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "receipt.pdf").pages)
    assert "Eingangsbestätigung" in text and reference in text
    assert str(notification_id) in mail["Message-ID"]

    row = notification(app, notification_id)
    assert (row.state, row.attempts, row.locked_by) == (NotificationState.SENT, 1, None)
    assert row.sent_at is not None and row.last_error is None


@pytest.mark.parametrize("outage", ["server down", "server answers 451"])
def test_mail_waits_while_smtp_fails_then_is_sent_exactly_once(app, smtp, outage):
    if outage == "server down":
        smtp.stop()
    else:
        smtp.recorder.data_reply = "451 4.3.0 Try again later"
    notification_id, _ref = queue_received(app)
    before = utcnow()

    assert send_due(app) == 1
    row = notification(app, notification_id)
    assert (row.state, row.attempts, row.locked_by) == (NotificationState.PENDING, 1, None)
    assert row.last_error and ("Connection refused" in row.last_error or "451" in row.last_error)
    # the first retry waits between half and all of the base delay
    assert before + timedelta(seconds=QUEUE["backoff_base"] / 2) <= row.next_attempt_at
    assert row.next_attempt_at <= utcnow() + timedelta(seconds=QUEUE["backoff_base"])
    assert send_due(app) == 0  # not due yet
    assert smtp.recorder.messages == []

    if outage == "server down":
        smtp.start()
    else:
        smtp.recorder.data_reply = None
    make_due(app)
    assert send_due(app) == 1
    make_due(app)
    assert send_due(app) == 0
    assert len(smtp.recorder.messages) == 1
    row = notification(app, notification_id)
    assert (row.state, row.attempts, row.last_error) == (NotificationState.SENT, 2, None)


def test_mail_is_dead_after_the_attempt_cap(app, smtp):
    smtp.stop()
    notification_id, _ref = queue_received(app)
    for _ in range(QUEUE["max_attempts"]):
        make_due(app)
        assert send_due(app) == 1
    row = notification(app, notification_id)
    assert (row.state, row.attempts) == (NotificationState.DEAD, QUEUE["max_attempts"])
    assert "Connection refused" in row.last_error

    smtp.start()
    make_due(app)
    assert send_due(app) == 0
    assert smtp.recorder.messages == []
    assert notification(app, notification_id).state == NotificationState.DEAD


def test_mailbox_refused_for_good_is_dead_at_once(app, smtp):
    smtp.recorder.refuse_rcpt["gone@firma.example"] = "550 5.1.1 mailbox unknown"
    notification_id, _ref = queue_received(app, person_email="gone@firma.example")

    assert send_due(app) == 1
    row = notification(app, notification_id)
    assert (row.state, row.attempts) == (NotificationState.DEAD, 1)
    assert "550" in row.last_error and smtp.recorder.messages == []


def test_outcome_is_not_written_for_a_mail_another_worker_took_over(app, smtp):
    notification_id, _ref = queue_received(app)

    def take_over(_raw: bytes) -> None:  # w1's lease ran out mid-send; w2 claimed the row
        with app.app_context():
            db.session.execute(update(Notification).where(Notification.id == notification_id)
                               .values(locked_by="w2", locked_until=utcnow() + timedelta(seconds=60)))
            db.session.commit()

    smtp.recorder.on_data = take_over
    assert send_due(app) == 1

    assert len(smtp.recorder.messages) == 1
    row = notification(app, notification_id)
    assert (row.state, row.locked_by, row.sent_at) == (NotificationState.SENDING, "w2", None)


def test_mail_whose_lease_was_lost_before_sending_is_not_sent(app, smtp):
    first, _ = queue_received(app)
    second, _ = queue_received(app)

    def take_over_the_other(raw: bytes) -> None:  # while w1 sends one, w2 takes the other row
        with app.app_context():
            db.session.execute(update(Notification).where(Notification.id != _id_of(raw))
                               .values(locked_by="w2", locked_until=utcnow() + timedelta(seconds=60)))
            db.session.commit()

    smtp.recorder.on_data = take_over_the_other
    assert send_due(app) == 2

    [raw] = [raw for _from, _to, raw in smtp.recorder.messages]
    sent, lost = (first, second) if _id_of(raw) == first else (second, first)
    assert notification(app, sent).state == NotificationState.SENT
    row = notification(app, lost)
    assert (row.state, row.locked_by, row.attempts, row.sent_at) == (NotificationState.SENDING, "w2", 1, None)


def test_resend_after_a_worker_died_before_recording_carries_the_same_message_id(
        app, smtp, database_url, issuer, tmp_path):
    notification_id, _ref = queue_received(app)
    worker = subprocess.Popen(
        [sys.executable, "-c", (
            "import json, sys\n"
            "from bizportal import create_app\n"
            "from bizportal.notify.services import send_due\n"
            "app = create_app(json.loads(sys.argv[1]))\n"
            "send_due(app, 'w-killed', app.config['SETTINGS'].mail, 10)\n"
        ), json.dumps({
            "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret", "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port, "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "COMPANY_OIDC_ISSUER": issuer, "STAFF_OIDC_ISSUER": issuer, "UPLOAD_DIR": str(tmp_path / "uploads"),
            "MAIL_LEASE_SECONDS": QUEUE["lease_seconds"],
        })],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def kill_worker(_raw: bytes) -> None:  # the server has the mail; the worker dies before it commits
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)

    smtp.recorder.on_data = kill_worker
    assert worker.wait(60) == -signal.SIGKILL
    smtp.recorder.on_data = None
    row = notification(app, notification_id)
    assert (row.state, row.locked_by, row.attempts) == (NotificationState.SENDING, "w-killed", 1)

    assert send_due(app, "w2") == 0  # the dead worker's lease still runs
    with app.app_context():  # ... until it has run out
        db.session.execute(update(Notification).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert send_due(app, "w2") == 1

    first, second = smtp.mails()
    assert first["Message-ID"] == second["Message-ID"]  # the receiving side can tell it is the same mail
    assert str(notification_id) in first["Message-ID"]
    row = notification(app, notification_id)
    assert (row.state, row.attempts, row.locked_by) == (NotificationState.SENT, 2, None)
