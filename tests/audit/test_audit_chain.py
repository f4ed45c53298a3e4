"""The audit log is tamper-evident (a hash chain that ``flask audit verify`` checks) and anonymous
noise cannot flood it or hide real events (counted per kind, source and minute)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from bizportal.audit import services as audit_services
from bizportal.audit.models import AuditEvent
from bizportal.audit.services import record
from bizportal.extensions import db
from tests.support.casework import staff_client
from tests.support.concurrency import run_at_once

PAGE = "/staff/admin/protokoll"


def verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def rows(app, **where) -> list[AuditEvent]:
    with app.app_context():
        stmt = select(AuditEvent).filter_by(**where).order_by(AuditEvent.id)
        found = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return found


def fixed_clock(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(audit_services, "utcnow", lambda: moment)


def test_a_burst_of_1000_anonymous_refusals_fills_a_row_or_two_and_hides_no_real_event(app, client, login_as):
    for i in range(1000):
        assert client.get(f"/gibt-es-nicht/{i}").status_code == 404
    login_as("anna.becker")
    refused = rows(app, action="access_refused", actor="anonymous")
    assert 1 <= len(refused) <= 2  # one per minute: the burst may straddle a minute's end
    assert sum(r.count for r in refused) == 1000
    assert refused[0].target == "GET /gibt-es-nicht/0" and refused[0].remote_addr == "127.0.0.1"

    html = staff_client(app, "admin").get(PAGE).get_data(as_text=True)
    assert "Anna Becker" in html  # the sign-in is on the first page, above the noise
    assert "-mal in dieser Minute (zusammengefasst)" in html
    assert verify(app).exit_code == 0


def test_more_sources_than_the_cap_share_one_row(app_factory, monkeypatch):
    app = app_factory(AUDIT_NOISE_SOURCES_PER_MINUTE=3)
    fixed_clock(monkeypatch, datetime(2026, 5, 4, 10, 15, 30, tzinfo=UTC))
    for i in range(10):
        for _ in range(2):
            with app.test_request_context(environ_base={"REMOTE_ADDR": f"203.0.113.{i}"}):
                record("login_failure", "anonymous", target="company login", detail="state mismatch")
    found = rows(app, action="login_failure")
    assert [(r.remote_addr, r.count) for r in found] == [
        ("203.0.113.0", 2), ("203.0.113.1", 2), ("203.0.113.2", 2), ("*", 14)]

    html = staff_client(app, "admin").get(PAGE + "?aktion=login_failure").get_data(as_text=True)
    assert "14-mal in dieser Minute (zusammengefasst)" in html and "viele Adressen" in html


def test_signed_in_refusals_are_each_recorded(app, client, login_as):
    login_as("anna.becker")
    for _ in range(3):
        assert client.get("/antraege/BP-2026-XXXXXX").status_code == 404
    refused = rows(app, action="access_refused")
    assert len(refused) == 3 and all(r.count == 1 and r.bucket is None and r.seq for r in refused)


def test_verify_names_the_entry_changed_with_raw_sql(app, monkeypatch):
    earlier = datetime(2026, 5, 4, 10, 15, 30, tzinfo=UTC)
    fixed_clock(monkeypatch, earlier)
    with app.test_request_context():
        record("login_failure", "anonymous", detail="forged state")  # counted, still open
        record("login_failure", "anonymous", detail="forged state")
    fixed_clock(monkeypatch, earlier + timedelta(minutes=2))
    with app.test_request_context():
        for i in range(5):
            record("logout", f"company:{i}")  # the first of these chains the closed minute's row
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "audit chain intact: 6 entries checked" in result.output

    victim = rows(app, action="logout")[2]
    with app.app_context():
        db.session.execute(text("UPDATE audit_event SET actor = 'company:99' WHERE id = :id"), {"id": victim.id})
        db.session.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert f"audit chain broken at entry {victim.id} (position {victim.seq}" in result.output
    assert "changed after it was written" in result.output


def test_verify_finds_a_deleted_entry_and_an_aggregate_count_changed(app, monkeypatch):
    earlier = datetime(2026, 5, 4, 10, 15, 30, tzinfo=UTC)
    fixed_clock(monkeypatch, earlier)
    with app.test_request_context():
        for _ in range(3):
            record("access_refused", "anonymous", target="POST /x", detail="csrf")
    fixed_clock(monkeypatch, earlier + timedelta(minutes=1))
    with app.test_request_context():
        for i in range(3):
            record("logout", f"company:{i}")
    aggregate = rows(app, action="access_refused")[0]
    assert aggregate.count == 3 and aggregate.seq == 1
    with app.app_context():
        db.session.execute(text("UPDATE audit_event SET count = 1 WHERE id = :id"), {"id": aggregate.id})
        db.session.commit()
    result = verify(app)
    assert result.exit_code == 1 and f"entry {aggregate.id} (position 1" in result.output

    with app.app_context():  # put it back, then remove an entry in the middle
        db.session.execute(text("UPDATE audit_event SET count = 3 WHERE id = :id"), {"id": aggregate.id})
        db.session.commit()
    assert verify(app).exit_code == 0
    second, third = rows(app, action="logout")[1:3]
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": second.id})
        db.session.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert f"entry {third.id} (position {third.seq}" in result.output and "is missing" in result.output


def test_an_entry_slipped_in_outside_the_chain_is_named(app):
    with app.test_request_context():
        record("logout", "company:1")
    with app.app_context():
        db.session.execute(text("INSERT INTO audit_event (occurred_at, action, actor, outcome, count) "
                                "VALUES (:t, 'role_change', 'staff:1', 'success', 1)"),
                           {"t": datetime(2026, 1, 1, tzinfo=UTC)})
        db.session.commit()
        slipped = db.session.scalar(select(func.max(AuditEvent.id)))
    result = verify(app)
    assert result.exit_code == 1 and f"entry {slipped} (position None" in result.output
    assert "written outside the chain" in result.output


@pytest.mark.parametrize("minutes_turn", [False, True])
def test_writers_in_many_threads_keep_one_unbroken_chain(app, monkeypatch, minutes_turn):
    threads, per_thread = 8, 25
    if minutes_turn:  # a new minute every 20 writes: aggregated rows close and are chained while
        # other writers, whose time was taken a moment earlier, still count into them
        ticks = itertools.count()
        start = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
        monkeypatch.setattr(audit_services, "utcnow", lambda: start + timedelta(seconds=3 * next(ticks)))

    def write() -> None:
        with app.test_request_context():
            for i in range(per_thread):
                if i % 5 == 0:
                    record("access_refused", "anonymous", target="GET /probe", detail="404")
                else:
                    record("logout", f"company:{i}")

    _results, errors = run_at_once(write, threads, timeout=120)
    assert errors == []
    with app.app_context():
        logouts = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "logout"))
        noise = db.session.scalar(select(func.sum(AuditEvent.count)).where(AuditEvent.action == "access_refused"))
        positions = list(db.session.scalars(select(AuditEvent.seq).where(AuditEvent.seq.is_not(None))
                                            .order_by(AuditEvent.seq)))
    assert logouts == threads * per_thread * 4 // 5 and noise == threads * per_thread // 5
    assert positions == list(range(1, len(positions) + 1))
    result = verify(app)
    assert result.exit_code == 0, result.output


def test_a_staff_entry_slipped_in_as_a_past_minutes_aggregate_is_not_sealed_but_named(app):
    """An aggregate row (``bucket`` set) is sealed into the chain only when it is what noise
    counting writes (anonymous, not a success): a forged staff action back-dated into a past minute
    must not be chained as if it had been written by the portal."""
    past = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    with app.test_request_context():
        record("logout", "company:2")  # the chain has begun
    with app.app_context():
        db.session.execute(text("INSERT INTO audit_event (occurred_at, action, actor, detail, outcome, count, bucket) "
                                "VALUES (:t, 'chamber.changed', 'staff:3', 'FORGED', 'success', 1, :t)"), {"t": past})
        db.session.commit()
        forged = db.session.scalar(select(func.max(AuditEvent.id)))
    with app.test_request_context():
        record("logout", "company:1")  # an append seals what has closed
    with app.app_context():
        assert db.session.get(AuditEvent, forged).seq is None
    result = verify(app)
    assert result.exit_code == 1 and f"entry {forged} (position None" in result.output
    assert "written outside the chain" in result.output


def test_raising_the_heads_start_does_not_hide_an_entry_slipped_in_after_the_chain_began(app):
    """The head row says which entries precede the chain (``chained_after_id``); it is writable, so
    an entry with an id after the chain's first entry is never 'before the chain', whatever it says."""
    with app.test_request_context():
        record("logout", "company:1")
        record("logout", "company:2")
    with app.app_context():
        db.session.execute(text("UPDATE audit_chain_head SET chained_after_id = 1000000"))
        db.session.execute(text("INSERT INTO audit_event (occurred_at, action, actor, outcome, count) "
                                "VALUES (:t, 'login_success', 'company:7', 'success', 1)"),
                           {"t": datetime(2026, 1, 1, tzinfo=UTC)})
        db.session.commit()
        slipped = db.session.scalar(select(func.max(AuditEvent.id)))
    result = verify(app)
    assert result.exit_code == 1 and f"entry {slipped} (position None" in result.output
