"""Tests marked ``postgres_only`` are skipped on SQLite (run with ``BIZPORTAL_TEST_DATABASE_URL``)."""

import pytest


@pytest.fixture(autouse=True)
def _postgres_only(request, is_postgres):
    if request.node.get_closest_marker("postgres_only") and not is_postgres:
        pytest.skip("needs PostgreSQL (set BIZPORTAL_TEST_DATABASE_URL)")
