"""``flask chambers check``, ``flask delivery poll`` and ``flask deliveries resend``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bizportal.audit.models import AuditEvent
from bizportal.common.time import utcnow
from bizportal.delivery.cli import register
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.extensions import db
from tests.support.adapters import SECRET
from tests.support.factories import bulk_filings, deliveries, set_adapter


@pytest.fixture
def runner(app):
    register(app)
    return app.test_cli_runner()


def test_chambers_check_prints_ok_for_every_chamber(runner):
    result = runner.invoke(args=["chambers", "check"])
    assert result.exit_code == 0, result.output
    assert "OK     hk-bremen" in result.output and "OK     hwk-hamburg" in result.output


def test_chambers_check_names_the_problem_and_exits_1(app, runner):
    set_adapter(app, "hk-bremen", "webhook", {"url": "https://hk.example/hook", "secret": "short"})
    set_adapter(app, "hwk-bremen", "nope", {})
    result = runner.invoke(args=["chambers", "check"])
    assert result.exit_code == 1
    assert "FAILED hk-bremen: configuration: webhook: option 'secret' must have at least 16 characters" in result.output
    assert "FAILED hwk-bremen: configuration: no adapter is installed under the key 'nope'" in result.output
    assert "OK     hk-hamburg" in result.output


def test_chambers_check_one_slug(app, runner):
    set_adapter(app, "hk-bremen", "webhook", {"url": "https://hk.example/hook", "secret": SECRET})
    result = runner.invoke(args=["chambers", "check", "hk-bremen"])
    assert result.exit_code == 0 and result.output.strip() == "OK     hk-bremen"
    result = runner.invoke(args=["chambers", "check", "no-such-chamber"])
    assert result.exit_code != 0 and "no chamber with the slug" in result.output


def test_delivery_poll_without_back_channels_does_nothing(runner):
    result = runner.invoke(args=["delivery", "poll"])
    assert result.exit_code == 0 and "0 delivery(ies) polled, 0 event(s) applied" in result.output


JAN, MAR = datetime(2026, 1, 10, 12, tzinfo=UTC), datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def problems(app):
    """hk-bremen: 4 dead and 3 failing from January, 2 dead and 1 failing from 1 March 00:00 UTC,
    1 delivered; hwk-bremen: 5 dead. Returns {name: filing ids}."""
    later = utcnow() + timedelta(days=30)
    groups = {
        "dead_jan": (4, "hk-bremen", JAN, {"state": DeliveryState.DEAD, "attempts": 12}),
        "failing_jan": (3, "hk-bremen", JAN, {"attempts": 3, "next_attempt_at": later}),
        "dead_mar": (2, "hk-bremen", MAR, {"state": DeliveryState.DEAD, "attempts": 12}),
        "failing_mar": (1, "hk-bremen", MAR, {"attempts": 3, "next_attempt_at": later}),
        "delivered": (1, "hk-bremen", MAR, {"state": DeliveryState.DELIVERED, "attempts": 1, "last_error": None}),
        "other_chamber": (5, "hwk-bremen", MAR, {"state": DeliveryState.DEAD, "attempts": 12}),
    }
    ids = {name: bulk_filings(app, n, [slug]) for name, (n, slug, _, _) in groups.items()}
    with app.app_context():
        for name, (_, _, created, values) in groups.items():
            db.session.execute(update(Delivery).where(Delivery.filing_id.in_(ids[name]))
                               .values(**{"last_error": "boom", "created_at": created, **values}))
        db.session.commit()
    return ids


def requeued(app, ids) -> set[str]:
    """The groups of ``ids`` whose deliveries were all re-queued (pending, no attempt yet)."""
    rows = {d.filing_id: d for d in deliveries(app)}
    fresh = lambda f: rows[f].state == DeliveryState.PENDING and rows[f].attempts == 0  # noqa: E731
    assert all(all(map(fresh, group)) or not any(map(fresh, group)) for group in ids.values())
    return {name for name, group in ids.items() if all(map(fresh, group))}


@pytest.mark.parametrize("args, expected", [
    (["--state", "dead"], {"dead_jan", "dead_mar"}),
    (["--state", "failing"], {"failing_jan", "failing_mar"}),
    (["--state", "all"], {"dead_jan", "dead_mar", "failing_jan", "failing_mar"}),
    (["--state", "dead", "--since", "2026-02-01"], {"dead_mar"}),
    (["--state", "all", "--since", "2026-03-01T00:00:00"], {"dead_mar", "failing_mar"}),
    (["--state", "all", "--since", "2026-03-01T01:00:00+01:00"], {"dead_mar", "failing_mar"}),
    (["--state", "all", "--since", "2026-03-01T00:00:01Z"], set()),
])
def test_deliveries_resend_requeues_what_matches(app, runner, problems, args, expected):
    result = runner.invoke(args=["deliveries", "resend", "--chamber", "hk-bremen", *args])
    n = sum(len(problems[name]) for name in expected)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{n} delivery(ies) of hk-bremen re-queued"
    assert requeued(app, problems) == expected
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="delivery_resend_all").one()
    assert event.actor == "cli" and event.detail.startswith(f"requeued={n} ")


def test_delivery_resend_is_the_same_command(app, runner, problems):
    result = runner.invoke(args=["delivery", "resend", "--chamber", "hwk-bremen", "--state", "dead"])
    assert result.exit_code == 0 and "5 delivery(ies) of hwk-bremen re-queued" in result.output
    assert requeued(app, problems) == {"other_chamber"}


@pytest.mark.parametrize("args, message", [
    (["--chamber", "no-such-chamber", "--state", "dead"], "no chamber with the slug 'no-such-chamber'"),
    (["--chamber", "hk-bremen", "--state", "dead", "--since", "31.12.2025"], "neither a date (YYYY-MM-DD)"),
    (["--chamber", "hk-bremen", "--state", "dead", "--since", "2026-02-30"], "neither a date (YYYY-MM-DD)"),
    (["--chamber", "hk-bremen", "--state", "delivered"], "'delivered' is not one of"),
    (["--chamber", "hk-bremen"], "Missing option '--state'"),
    (["--state", "dead"], "Missing option '--chamber'"),
])
def test_deliveries_resend_refuses_bad_input_and_changes_nothing(app, runner, problems, args, message):
    result = runner.invoke(args=["deliveries", "resend", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert requeued(app, problems) == set()
