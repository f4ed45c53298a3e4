"""GET requests read without psycopg's BEGIN/ROLLBACK round trips (``common.reads``), and every
write they make is still one transaction: committed whole or not at all."""

from __future__ import annotations

import pytest
from flask import jsonify, request
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from bizportal.auth.access import public
from bizportal.common.reads import plain_select
from bizportal.extensions import db

PROBE = "probe_write"


@pytest.fixture
def probe_app(app_factory, database_url):
    """The portal with three GET routes that read, write and lock rows of a table of their own."""
    setup = create_engine(database_url)
    with setup.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))
        conn.execute(text(f"CREATE TABLE {PROBE} (id integer PRIMARY KEY)"))
    app = app_factory()

    def rows():
        return jsonify(ids=list(db.session.scalars(text(f"SELECT id FROM {PROBE} ORDER BY id"))))

    def write_two():
        """Reads, then writes two rows; with ``?clash=1`` the second has the first's key and fails."""
        db.session.execute(text(f"SELECT count(*) FROM {PROBE}"))
        db.session.execute(text(f"INSERT INTO {PROBE} (id) VALUES (1)"))
        db.session.execute(text(f"INSERT INTO {PROBE} (id) VALUES (:id)"),
                           {"id": 1 if request.args.get("clash") else 2})
        db.session.commit()
        return "written"

    def lock_and_ask():
        """Locks row 1 and asks from another connection whether it can lock it too."""
        db.session.execute(text(f"SELECT id FROM {PROBE} WHERE id = 1 FOR UPDATE"))
        try:
            with setup.connect() as other:
                other.execute(text(f"SELECT id FROM {PROBE} WHERE id = 1 FOR UPDATE NOWAIT"))
        except OperationalError:
            return "held"
        return "free"

    for rule, view in (("/probe/rows", rows), ("/probe/write-two", write_two), ("/probe/lock", lock_and_ask)):
        app.add_url_rule(rule, view.__name__, public(view))
    yield app, setup
    with setup.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))
    setup.dispose()


def stored(setup) -> list[int]:
    with setup.connect() as conn:
        return list(conn.scalars(text(f"SELECT id FROM {PROBE} ORDER BY id")))


@pytest.mark.postgres_only
def test_a_get_that_writes_two_rows_commits_both(probe_app):
    app, setup = probe_app
    assert app.test_client().get("/probe/write-two").status_code == 200
    assert stored(setup) == [1, 2]


@pytest.mark.postgres_only
def test_a_get_whose_second_write_fails_leaves_the_first_unwritten(probe_app):
    app, setup = probe_app
    assert app.test_client().get("/probe/write-two?clash=1").status_code == 500
    assert stored(setup) == []


@pytest.mark.postgres_only
def test_a_row_lock_taken_in_a_get_holds_until_the_request_ends(probe_app):
    app, setup = probe_app
    with setup.begin() as conn:
        conn.execute(text(f"INSERT INTO {PROBE} (id) VALUES (1)"))
    answer = app.test_client().get("/probe/lock")
    assert answer.get_data(as_text=True) == "held"


@pytest.mark.postgres_only
def test_a_read_only_get_sees_what_was_committed_since_the_last_request(probe_app):
    app, setup = probe_app
    client = app.test_client()
    assert client.get("/probe/rows").get_json() == {"ids": []}
    with setup.begin() as conn:
        conn.execute(text(f"INSERT INTO {PROBE} (id) VALUES (7)"))
    assert client.get("/probe/rows").get_json() == {"ids": [7]}


@pytest.mark.postgres_only
def test_a_connection_a_get_read_with_writes_atomically_afterwards_outside_requests(probe_app):
    app, setup = probe_app
    with app.app_context():
        db.engine.dispose()  # the GET's connection is then the only one in the pool
    assert app.test_client().get("/probe/rows").status_code == 200
    with app.app_context(), pytest.raises(IntegrityError), db.engine.begin() as conn:  # a worker's transaction
        conn.execute(text(f"INSERT INTO {PROBE} (id) VALUES (3)"))
        conn.execute(text(f"INSERT INTO {PROBE} (id) VALUES (3)"))
    assert stored(setup) == []


def test_only_plain_selects_run_outside_a_transaction():
    assert plain_select("SELECT person.id FROM person WHERE person.id = %(id)s")
    assert plain_select("  select count(*) from filing")
    assert not plain_select("UPDATE login_session SET last_seen_at = now()")
    assert not plain_select("INSERT INTO audit_event (action) VALUES ('x') RETURNING id")
    assert not plain_select("WITH moved AS (DELETE FROM draft RETURNING id) SELECT count(*) FROM moved")
    assert not plain_select("SELECT draft.id FROM draft WHERE draft.id = 3 FOR UPDATE")
    assert not plain_select("SELECT company.id FROM company FOR NO KEY UPDATE OF company SKIP LOCKED")
    assert not plain_select("SELECT filing.id FROM filing FOR SHARE")
    assert not plain_select("SELECT pg_advisory_xact_lock(42)")
    assert not plain_select("SELECT nextval('filing_seq')")
    assert not plain_select("SET LOCAL synchronous_commit TO OFF")
    assert not plain_select("SELECT * INTO copy FROM filing")
