"""The mail queue's leases and times follow the database's clock, not the sending worker's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bizportal.notify.states import NotificationState
from tests.support.clock import database_now, skew_clock
from tests.support.mailqueue import PUBLIC_BASE_URL, QUEUE, notification, queue_received, send_due

SKEW = 30.0


@pytest.fixture
def app(app_factory, smtp):
    """The queue of ``tests/notify`` with a lease shorter than the skew."""
    return app_factory(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TIMEOUT=5,
                       PUBLIC_BASE_URL=PUBLIC_BASE_URL, MAIL_MAX_ATTEMPTS=QUEUE["max_attempts"],
                       MAIL_BACKOFF_BASE_SECONDS=QUEUE["backoff_base"], MAIL_BACKOFF_MAX_SECONDS=QUEUE["backoff_max"],
                       MAIL_LEASE_SECONDS=10)


@pytest.mark.parametrize(("sender_skew", "other_skew"), [(0, +SKEW), (-SKEW, 0)])
def test_mail_being_sent_is_not_sent_again_by_a_worker_with_another_clock(app, smtp, monkeypatch,
                                                                          sender_skew, other_skew):
    """Clock 30 s ahead: the other worker must not see the live lease as run out. Sender's clock
    30 s behind: its lease must not have run out when it is written."""
    notification_id, _ref = queue_received(app)
    skew_clock(monkeypatch, sender_skew)
    others: list[int] = []

    def other_worker_looks(_raw: bytes) -> None:  # while w1 sends, w2 runs a round
        monkeypatch.undo()
        skew_clock(monkeypatch, other_skew)
        others.append(send_due(app, "w2"))
        monkeypatch.undo()

    smtp.recorder.on_data = other_worker_looks
    before = database_now(app)
    assert send_due(app, "w1") == 1
    after = database_now(app)
    assert others == [0] and len(smtp.recorder.messages) == 1
    row = notification(app, notification_id)
    assert (row.state, row.attempts, row.locked_by) == (NotificationState.SENT, 1, None)
    assert before <= row.sent_at <= after


@pytest.mark.parametrize("skew", [+SKEW, -SKEW])
def test_mail_retry_of_a_worker_with_a_skewed_clock_waits_the_backoff_in_database_time(app, smtp, monkeypatch,
                                                                                      skew):
    smtp.stop()
    notification_id, _ref = queue_received(app)
    skew_clock(monkeypatch, skew)
    before = database_now(app)
    assert send_due(app) == 1
    after = database_now(app)
    row = notification(app, notification_id)
    assert (row.state, row.attempts) == (NotificationState.PENDING, 1)
    base = QUEUE["backoff_base"]
    assert before + timedelta(seconds=base / 2) <= row.next_attempt_at <= after + timedelta(seconds=base)
    assert send_due(app) == 0
