"""Retention deletes personal data, never the counts: the steering dashboard shows the same figures
after every closed filing and every stale draft of the history is gone."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bizportal.common.time import local_today, utcnow
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from bizportal.retention import services as retention
from tests.support.http import login
from tests.support.stats import make_history

CSRF = re.compile(r'(value|data-csrf)="[^"]*\.[^"]*\.[^"]*"')
FIGURES = ("kennzahlen", "leistungen", "stellen", "trichter", "abbrueche", "zeiten", "zustellung")


@pytest.fixture
def exact(app_factory):
    """The app with the test adapters and no suppression (exact figures)."""
    from chambers.inbox import InboxAdapter
    from chambers.registry import AdapterRegistry
    from tests.support.adapters import FlakyAdapter

    app = app_factory(STATS_SUPPRESSION_THRESHOLD=1)
    registry = AdapterRegistry()
    for cls in (InboxAdapter, FlakyAdapter):
        registry.register(cls)
    app.extensions["bizportal"].registry = registry
    return app


def figures(app) -> dict[str, str]:
    steering = app.test_client()
    assert login(steering, "steering", staff=True).status_code == 302
    with app.app_context():
        today = local_today(app.config["SETTINGS"].web.timezone)
    args = f"von={(today - timedelta(days=30)).isoformat()}&bis={(today + timedelta(days=10)).isoformat()}"
    shown = {key: steering.get(f"/staff/statistik/{key}.json?{args}").get_data(as_text=True) for key in FIGURES}
    page = steering.get(f"/staff/statistik?{args}").get_data(as_text=True)
    shown["page"] = CSRF.sub("", page)  # the sign-in's own token differs; the figures must not
    return shown


def test_the_dashboard_shows_the_same_numbers_after_retention(exact):
    make_history(exact)
    before = figures(exact)
    with exact.app_context():
        closed = db.session.scalar(select(func.count()).select_from(Filing).where(
            Filing.status.in_(("accepted", "rejected", "withdrawn"))))
        drafts = db.session.scalar(select(func.count()).select_from(Draft))
        later = utcnow() + timedelta(days=4 * 365)
        first = retention.run_recorded(exact, dry_run=False, actor="cli", now=later)
        second = retention.run_recorded(exact, dry_run=False, actor="cli", now=later + timedelta(days=15))
        assert first is not None and second is not None
        assert first.counts["filings_deleted"] == closed == 7
        assert first.counts["drafts_reminded"] == drafts >= 1 and second.counts["drafts_deleted"] == drafts
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
    after = figures(exact)
    assert after == before
    assert '"current": 10' in before["leistungen"]
