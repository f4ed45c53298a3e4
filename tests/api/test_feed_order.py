"""The feed never misses or repeats a filing, also when filings reach a chamber at the same moment
and their transactions would commit in another order than they started (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bizportal.bodies.models import Chamber
from bizportal.extensions import db
from bizportal.inbox.models import InboxItem
from bizportal.inbox.services import DatabaseInboxStore, next_feed_seq, search_keys
from tests.support.api import ApiCaller, payloads
from tests.support.concurrency import run_at_once
from tests.support.factories import wait_for

pytestmark = pytest.mark.postgres_only


def _pull_all(api, cursor):
    seen = []
    while True:
        page = api.get("/filings?limit=3" + (f"&after={cursor}" if cursor else "")).get_json()
        seen += [f["reference"] for f in page["filings"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return seen, cursor


def test_concurrent_deliveries_are_pulled_exactly_once_each(app, client):
    batch = payloads(app, "hk-bremen", 24)
    api = ApiCaller(app, client, "hk-bremen")
    store = DatabaseInboxStore()
    pending = iter(batch)
    lock = threading.Lock()
    seen: list[str] = []
    cursor = None
    done = threading.Event()

    def put_next():
        with lock:
            payload = next(pending)
        with app.app_context():
            return store.put("hk-bremen", payload)

    def pull_while_they_arrive():
        nonlocal cursor
        puller = app.test_client()
        while True:
            finished = done.is_set()
            got, cursor = _pull_all(_With(api, puller), cursor)
            seen.extend(got)
            if finished:
                return

    reader = threading.Thread(target=pull_while_they_arrive)
    reader.start()
    results, errors = run_at_once(put_next, 24)
    done.set()
    reader.join(60)
    assert errors == [] and len(results) == 24
    assert sorted(seen) == sorted(p.reference for p in batch)
    assert len(seen) == len(set(seen))


class _With:
    """The caller's token on another test client (one per thread)."""

    def __init__(self, api, test_client):
        self.api, self.client = api, test_client

    def get(self, path):
        return self.client.get("/api/v1" + path, headers=self.api.headers)


def test_a_later_filing_waits_for_the_earlier_commit(app, client):
    first, second = payloads(app, "hk-bremen", 2)
    api = ApiCaller(app, client, "hk-bremen")
    with app.app_context():
        chamber_id = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hk-bremen"))
        slow = Session(db.engine)  # a delivery that took its number and has not committed yet
        failed: list[BaseException] = []
        blocked = threading.Thread(target=lambda: _put(app, second, failed))
        try:
            seq = next_feed_seq(slow, chamber_id)
            blocked.start()
            # AUTOCOMMIT: pg_stat_activity is read once per transaction, so one open transaction
            # would poll the same picture for ever (the CI failure when the first poll came early)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                wait_for(lambda: failed or conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()")).scalar() >= 1,
                    what="the second delivery waiting for the first")
            assert not failed, f"the second delivery failed instead of waiting: {failed!r}"
            listed = api.get("/filings")
            assert listed.status_code == 200, listed.get_data(as_text=True)
            assert listed.get_json()["filings"] == []
            slow.add(InboxItem(delivery_id=first.delivery_id, chamber_id=chamber_id, reference=first.reference,
                               service_key=first.service_key, service_title=first.service_title,
                               destination_role="primary", company=dict(first.company), data={}, attachments=[],
                               submitted_at=first.submitted_at, feed_seq=seq, **search_keys(first.company, {})))
            slow.commit()
        finally:  # a failure above must not leave the counter locked (the teardown would wait for ever)
            slow.rollback()
            slow.close()
            if blocked.is_alive() or blocked.ident is not None:
                blocked.join(30)
    page = api.get("/filings").get_json()
    assert [(f["reference"], f["cursor"]) for f in page["filings"]] == [(first.reference, str(seq)),
                                                                       (second.reference, str(seq + 1))]


def _put(app, payload, failed):
    try:
        with app.app_context():
            DatabaseInboxStore().put("hk-bremen", payload)
    except BaseException as exc:  # reported by the test, not lost in the thread
        failed.append(exc)
        raise
