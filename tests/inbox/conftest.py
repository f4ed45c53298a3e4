"""Fixtures for the inbox list: signed-in staff of the Gewerbeamt Bremen and of the Handelskammer Bremen."""

from __future__ import annotations

import pytest

from tests.support.http import login


@pytest.fixture
def staff(app):
    """Sabine Krüger, Gewerbeamt Bremen."""
    client = app.test_client()
    login(client, "gewerbeamt.bremen", staff=True)
    return client


@pytest.fixture
def other_chamber(app):
    """Tobias Meyer, Handelskammer Bremen."""
    client = app.test_client()
    login(client, "hk.bremen", staff=True)
    return client


@pytest.fixture
def small_pages(monkeypatch):
    """Five rows a page, so paging needs only a few items."""
    from bizportal.inbox import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 5)
    return 5
