"""The synthetic history: its rollups agree with its raw rows, and the dashboard shows it."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from bizportal.bodies.models import Chamber
from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings.models import Filing, FilingEvent
from bizportal.stats import services as stats
from bizportal.stats.models import StatRollup
from tests.support.http import login


def _rollup(metric: str, *cols: str) -> Counter:
    columns = [getattr(StatRollup, c) for c in cols]
    return Counter({tuple(r[:-1]): int(r[-1]) for r in db.session.execute(
        select(StatRollup.day, *columns, func.sum(StatRollup.count)).where(StatRollup.metric == metric)
        .group_by(StatRollup.day, *columns)) if r[-1]})


def test_generated_history_agrees_with_its_rollups(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "generate", "--filings", "400", "--days", "120"])
    assert result.exit_code == 0, result.output
    assert "400 filings" in result.output
    with app.app_context():
        day = stats.local_day
        filings = {f.id: f for f in db.session.scalars(select(Filing))}
        assert len(filings) == 400
        assert len({f.service_key for f in filings.values()}) >= 8
        assert sum(_rollup(stats.SUBMITTED).values()) == 400
        assert _rollup(stats.SUBMITTED, "service_key") == Counter(
            (day(f.submitted_at), f.service_key) for f in filings.values())
        chambers = {c.id: c for c in db.session.scalars(select(Chamber))}
        first, retried = Counter(), Counter()
        for d in db.session.scalars(select(Delivery).where(Delivery.delivered_at.is_not(None))):
            (first if d.attempts == 1 else retried)[(day(d.delivered_at), chambers[d.chamber_id].slug)] += 1
        assert _rollup(stats.DELIVERED_FIRST, "chamber_slug") == first and retried
        assert _rollup(stats.DELIVERED_RETRIED, "chamber_slug") == retried
        events = list(db.session.scalars(select(FilingEvent)))
        decided = Counter((day(e.occurred_at), filings[e.filing_id].service_key, e.kind)
                          for e in events if e.kind in stats.DECISIONS)
        assert decided and _rollup(stats.DECIDED, "service_key", "detail") == decided
        withdrawn = Counter(day(e.occurred_at) for e in events if e.kind == "withdrawn")
        assert Counter({k[0]: n for k, n in _rollup(stats.WITHDRAWN).items()}) == withdrawn
        dead = db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == "dead"))
        assert sum(_rollup(stats.DELIVERY_DEAD).values()) == dead
        assert sum(_rollup(stats.DRAFT_ABANDONED).values()) > 0
    steering = app.test_client()
    assert login(steering, "steering", staff=True).status_code == 302
    assert steering.get("/staff/statistik").status_code == 200
