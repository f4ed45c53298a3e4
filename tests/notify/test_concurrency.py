"""Several workers on PostgreSQL: every mail is sent by exactly one of them."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select, text

from bizportal.extensions import db
from bizportal.notify import services as notify
from bizportal.notify.models import Notification
from tests.support.mailqueue import add_filing, send_due

pytestmark = pytest.mark.postgres_only


def test_two_workers_sending_at_once_never_send_one_mail_twice(app, smtp):
    with app.app_context():
        for _ in range(40):
            notify.enqueue_filing_received(db.session, add_filing())
        db.session.commit()
    smtp.recorder.on_data = lambda _raw: time.sleep(0.01)  # a real server takes a moment: the claims overlap
    attempts: dict[str, int] = {}

    def work(worker_id: str) -> None:
        total = 0
        while n := send_due(app, worker_id, 3):
            total += n
        attempts[worker_id] = total

    threads = [threading.Thread(target=work, args=(w,)) for w in ("w1", "w2")]
    with app.app_context(), db.engine.connect() as gate, \
            db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as observer:
        # Hold both workers' first claims at the table until both wait, then let them go together:
        # they read the same due rows at the same moment.
        gate.execute(text("LOCK TABLE notification IN EXCLUSIVE MODE"))
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while observer.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%notification%'")) < 2:
            assert time.monotonic() < deadline, "the workers' claims never met at the table lock"
            time.sleep(0.01)
        gate.commit()
    for t in threads:
        t.join(120)

    per_mail = Counter(m["Message-ID"] for m in smtp.mails())
    assert len(per_mail) == 40 and set(per_mail.values()) == {1}
    assert sum(attempts.values()) == 40 and min(attempts.values()) > 0  # both worked, none twice
    with app.app_context():
        states = dict(db.session.execute(
            select(Notification.state, func.count()).group_by(Notification.state)).all())
        max_attempts = db.session.scalar(select(func.max(Notification.attempts)))
    assert states == {"sent": 40} and max_attempts == 1
