"""Pooled database connections that the server ended while they sat idle (a restart, a proxy's
idle timeout) are replaced before a request uses them; busy ones are not asked every time."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.postgres_only


def end_other_connections(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    engine.dispose()
    time.sleep(0.1)
    return int(ended or 0)


def test_a_request_after_the_server_ended_idle_connections_is_served(app_factory, database_url):
    app = app_factory(DB_PING_AFTER_IDLE_SECONDS=0.05)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert end_other_connections(database_url) >= 1
    time.sleep(0.1)  # idle for longer than the setting
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.get_json()


def test_a_connection_in_use_a_moment_ago_is_not_asked_again(app_factory, database_url):
    app = app_factory(DB_PING_AFTER_IDLE_SECONDS=3600)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    end_other_connections(database_url)
    # not idle long enough to be asked: the dead connection is used, the request sees the error
    # (the pool then replaces every connection, so the next request is served again)
    assert client.get("/readyz").status_code == 503
    assert client.get("/readyz").status_code == 200
