"""Fixtures for the statistics tests: the app with the test adapters (a receiver that fails on demand)."""

from __future__ import annotations

import pytest

from chambers.inbox import InboxAdapter
from chambers.registry import AdapterRegistry
from tests.support.adapters import FlakyAdapter


@pytest.fixture
def app(app_factory):
    app = app_factory()
    registry = AdapterRegistry()
    for cls in (InboxAdapter, FlakyAdapter):
        registry.register(cls)
    app.extensions["bizportal"].registry = registry
    return app


@pytest.fixture
def history(app, client):
    """A small history made through the real use cases (``tests.support.stats.make_history``)."""
    from tests.support.stats import make_history

    return make_history(app)
