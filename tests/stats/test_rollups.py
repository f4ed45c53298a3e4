"""The rollups match a recount from the raw rows: counts exactly, percentiles within the stated
bucket error; they are written with their event and never without it."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bizportal.auth.models import LoginSession, Person
from bizportal.bodies.models import Chamber
from bizportal.common.time import utcnow
from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings import services as filing_services
from bizportal.filings.forms import prefill_values
from bizportal.filings.models import Draft, Filing, FilingEvent
from bizportal.stats import histogram
from bizportal.stats import services as stats
from bizportal.stats.models import StatHistogram, StatRollup
from tests.support.factories import complete_draft, ensure_company
from tests.support.http import login
from tests.support.stats import new_draft, person


def rollup(metric: str, *parts: str) -> Counter:
    """The rollup of a metric, keyed by day and the named key columns."""
    cols = [getattr(StatRollup, p) for p in parts]
    rows = db.session.execute(select(StatRollup.day, *cols, func.sum(StatRollup.count))
                              .where(StatRollup.metric == metric).group_by(StatRollup.day, *cols))
    return Counter({tuple(r[:-1]): int(r[-1]) for r in rows if r[-1]})


def histograms(metric: str) -> dict[tuple[str, str], dict[int, int]]:
    """The daily histogram rows of a duration metric, summed per service and body."""
    out: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in db.session.scalars(select(StatHistogram).where(StatHistogram.metric == metric)):
        for bucket, n in row.counts.items():
            out[(row.service_key, row.chamber_slug)][int(bucket)] += int(n)
    return out


def _primary(filing_ids=None):
    q = (select(Delivery.filing_id, Chamber.kind, Chamber.slug).join(Chamber, Chamber.id == Delivery.chamber_id)
         .where(Delivery.role == "primary", Delivery.message_id.is_(None)))
    return {f: (k, s) for f, k, s in db.session.execute(q)}


def test_counts_match_a_recount_from_the_raw_rows(app, history):
    with app.app_context():
        day = stats.local_day
        primary = _primary()
        filings = list(db.session.scalars(select(Filing)))
        assert len(filings) == 10
        # submitted, under the primary body
        assert rollup(stats.SUBMITTED, "service_key", "body_kind", "chamber_slug") == Counter(
            (day(f.submitted_at), f.service_key, *primary[f.id]) for f in filings)
        # addressed: every body, with its role
        raw = db.session.execute(select(Filing.submitted_at, Filing.service_key, Chamber.kind, Chamber.slug,
                                        Delivery.role).join(Delivery, Delivery.filing_id == Filing.id)
                                 .join(Chamber, Chamber.id == Delivery.chamber_id)).all()
        assert rollup(stats.ADDRESSED, "service_key", "body_kind", "chamber_slug", "detail") == Counter(
            (day(r[0]), *r[1:]) for r in raw)
        assert sum(rollup(stats.ADDRESSED).values()) == 14
        # prefilled from the account: an answer filed as the account's data supplied it
        catalog = app.extensions["bizportal"].catalog
        expected = Counter()
        for f in filings:
            known = prefill_values(catalog[f.service_key], {"company": f.company_snapshot,
                                                             "person": {"name": f.person.name,
                                                                        "email": f.person.email}})
            if any(f.data.get(k) == v for k, v in known.items()):
                expected[(day(f.submitted_at), f.service_key, *primary[f.id])] += 1
        assert expected and rollup(stats.PREFILLED, "service_key", "body_kind", "chamber_slug") == expected
        # delivery health per body, adapter and role
        rows = db.session.execute(select(Delivery, Filing.service_key, Chamber).join(Filing).join(Chamber)
                                  .where(Delivery.message_id.is_(None))).all()
        first, retried, dead = Counter(), Counter(), Counter()
        for d, service_key, chamber in rows:
            key = (service_key, chamber.kind, chamber.slug, chamber.adapter_key, d.role)
            if d.delivered_at is not None:
                (first if d.attempts == 1 else retried)[(day(d.delivered_at), *key)] += 1
            elif d.state == "dead":
                dead[key] += 1
        cols = ("service_key", "body_kind", "chamber_slug", "adapter_key", "detail")
        assert rollup(stats.DELIVERED_FIRST, *cols) == first and sum(first.values()) == 8
        assert rollup(stats.DELIVERED_RETRIED, *cols) == retried and sum(retried.values()) == 3
        assert Counter({k[1:]: n for k, n in rollup(stats.DELIVERY_DEAD, *cols).items()}) == dead
        assert sum(dead.values()) == 2
        # decisions and withdrawals
        events = db.session.execute(select(FilingEvent, Filing.service_key).join(Filing)).all()
        chambers = {c.id: c for c in db.session.scalars(select(Chamber))}
        decided = Counter((day(e.occurred_at), s, chambers[e.chamber_id].kind, chambers[e.chamber_id].slug, e.kind)
                          for e, s in events if e.kind in ("accepted", "rejected"))
        assert rollup(stats.DECIDED, "service_key", "body_kind", "chamber_slug", "detail") == decided
        assert sum(decided.values()) == 5
        withdrawn = Counter((day(e.occurred_at), s, *primary[e.filing_id]) for e, s in events if e.kind == "withdrawn")
        assert rollup(stats.WITHDRAWN, "service_key", "body_kind", "chamber_slug") == withdrawn
        assert sum(withdrawn.values()) == 2
        # drafts: started (filed, deleted, stale, resumed); abandoned = deleted + still stale
        assert sum(rollup(stats.DRAFT_STARTED).values()) == history["drafts_started"]
        assert sum(rollup(stats.DRAFT_STARTED).values()) == len(filings) + db.session.scalar(
            select(func.count()).select_from(Draft)) + 1  # + the deleted one
        abandoned = rollup(stats.DRAFT_ABANDONED, "service_key", "detail")
        first_step = {key: catalog[key].steps[0].key for key in ("gewerbeanmeldung", "versicherungsvermittler-34d")}
        assert {k[1:]: n for k, n in abandoned.items()} == {  # both stopped at their first step
            ("gewerbeanmeldung", first_step["gewerbeanmeldung"]): 1,
            ("versicherungsvermittler-34d", first_step["versicherungsvermittler-34d"]): 1}
        # logins and active companies: from the login sessions
        sessions = list(db.session.scalars(select(LoginSession).where(LoginSession.user_key.like("company:%"))))
        assert sum(rollup(stats.LOGINS).values()) == len(sessions) == 4
        companies = {db.session.get(Person, int(s.user_key.split(":")[1])).company_id for s in sessions}
        active = rollup(stats.ACTIVE_COMPANIES, "detail")
        for period in ("day", "week", "month"):
            assert sum(n for k, n in active.items() if k[1] == period) == len(companies) == 2


def test_times_match_the_raw_rows_within_the_bucket_error(app, history):
    with app.app_context():
        raw: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
        chambers = {c.id: c for c in db.session.scalars(select(Chamber))}
        for d, f in db.session.execute(select(Delivery, Filing).join(Filing)
                                       .where(Delivery.message_id.is_(None), Delivery.delivered_at.is_not(None))):
            key = (f.service_key, chambers[d.chamber_id].slug)
            raw[stats.T_SUBMIT_DELIVERED][key].append((d.delivered_at - f.submitted_at).total_seconds())
            body_events = sorted((e for e in f.events
                                  if e.chamber_id == d.chamber_id and e.kind in stats.CHAMBER_ACTIONS),
                                 key=lambda e: e.id)  # the first the portal recorded from the body
            if body_events:
                raw[stats.T_DELIVERED_ACTION][key].append((body_events[0].occurred_at - d.delivered_at).total_seconds())
            raw[stats.T_SUBMIT_DECISION][key] += [(e.occurred_at - f.submitted_at).total_seconds()
                                                  for e in body_events if e.kind in stats.DECISIONS]
        assert sum(len(v) for v in raw[stats.T_DELIVERED_ACTION].values()) == 8
        for metric, per_key in raw.items():
            hists = histograms(metric)
            assert set(hists) == {k for k, v in per_key.items() if v}, metric
            for key, values in per_key.items():
                if not values:
                    continue
                assert sum(hists[key].values()) == len(values)
                for q in (0.5, 0.9):
                    exact = histogram.exact_percentile(values, q)
                    reported = histogram.percentile(hists[key], q)
                    assert histogram.within_error(reported, exact), (metric, key, q, reported, exact)
        # the hours and days the bodies took are not all in one bucket
        assert len(set().union(*(h.keys() for h in histograms(stats.T_SUBMIT_DECISION).values()))) >= 4


def test_rollups_survive_deleting_the_filings(app, history):
    with app.app_context():
        before = db.session.execute(select(StatRollup.metric, StatRollup.day, StatRollup.service_key,
                                           StatRollup.chamber_slug, StatRollup.detail, StatRollup.count)
                                    .order_by(StatRollup.id)).all()
        from tests.support.retention import delete_all_filings

        delete_all_filings()
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 0
        after = db.session.execute(select(StatRollup.metric, StatRollup.day, StatRollup.service_key,
                                          StatRollup.chamber_slug, StatRollup.detail, StatRollup.count)
                                   .order_by(StatRollup.id)).all()
        assert after == before and len(before) > 20


def test_a_submit_that_fails_counts_nothing(app, monkeypatch):
    ensure_company(app)
    with app.app_context():
        draft = new_draft(app, "versicherungsvermittler-34d")
        service = app.extensions["bizportal"].catalog["versicherungsvermittler-34d"]
        complete_draft(person(), service, draft)

        def broken(*args, **kwargs):
            raise RuntimeError("mail queue down")

        monkeypatch.setattr(filing_services.notify, "enqueue_filing_received", broken)
        with pytest.raises(RuntimeError):
            filing_services.submit_draft(draft, person(), service)
        db.session.rollback()
        assert rollup(stats.SUBMITTED) == Counter() and rollup(stats.ADDRESSED) == Counter()
        assert sum(rollup(stats.DRAFT_STARTED).values()) == 1


def test_the_active_set_holds_keyed_hashes_not_companies(app, client):
    assert login(client, "anna.becker").status_code == 302
    assert login(app.test_client(), "jonas.weber").status_code == 302  # same company: counted once
    with app.app_context():
        from bizportal.stats.models import ActiveMember

        company_id = person("anna.becker").company_id
        members = {m.period: m.member for m in db.session.scalars(select(ActiveMember))}
        assert len(members) == 3 and len(set(members.values())) == 3  # day, week, month: not linkable
        assert all(member == stats.member_key(period, company_id) for period, member in members.items())
        app.config["SECRET_KEY"] = "another portal's key"
        assert all(member != stats.member_key(period, company_id) for period, member in members.items())
        assert sum(rollup(stats.LOGINS).values()) == 2
        assert stats.purge_members(utcnow().date() + timedelta(days=40)) == 3
        assert db.session.scalar(select(func.count()).select_from(ActiveMember)) == 0
        assert sum(rollup(stats.ACTIVE_COMPANIES).values()) == 3  # the counts stay


def test_the_daily_command_counts_stale_drafts_once(app):
    ensure_company(app)
    with app.app_context():
        draft_id = new_draft(app, "gewerbeanmeldung").id
        db.session.execute(update(Draft).where(Draft.id == draft_id).values(updated_at=utcnow() - timedelta(days=31)))
        db.session.commit()
    runner = app.test_cli_runner()
    assert "1 draft(s) counted as abandoned" in runner.invoke(args=["stats", "daily"]).output
    assert "0 draft(s) counted as abandoned" in runner.invoke(args=["stats", "daily"]).output
    with app.app_context():
        # deleting it now takes only the mark: it was counted already
        filing_services.delete_draft(db.session.get(Draft, draft_id), app.extensions["bizportal"].storage)
        assert sum(rollup(stats.DRAFT_ABANDONED).values()) == 1


def test_whole_months_come_from_the_monthly_copies_with_the_same_sums(app, history):
    from bizportal.stats import queries as q

    with app.app_context():
        today = stats.local_day(utcnow())
        # ranges with and without whole months, cutting months at both ends
        for start, end in ((today.replace(day=1) - timedelta(days=40), today + timedelta(days=45)),
                           (today.replace(day=1), today.replace(day=1) + timedelta(days=70)),
                           (today - timedelta(days=2), today + timedelta(days=3))):
            scope = q.Scope(start, end)
            for metric in (stats.SUBMITTED, stats.DECIDED, stats.LOGINS):
                daily = Counter()
                for service, n in db.session.execute(
                        select(StatRollup.service_key, StatRollup.count).where(
                            StatRollup.metric == metric, StatRollup.day >= start, StatRollup.day <= end)):
                    daily[service] += n
                assert q.grouped(db.session, [metric], scope, ["service_key"]) == dict(daily), (metric, start, end)
            hists: dict = defaultdict(lambda: defaultdict(int))
            for row in db.session.scalars(select(StatHistogram).where(
                    StatHistogram.metric.in_(q.TIMES), StatHistogram.day >= start, StatHistogram.day <= end)):
                for bucket, n in row.counts.items():
                    hists[(row.metric, row.service_key, row.chamber_slug)][int(bucket)] += n
            daily_only = {k: q.Durations(sum(h.values()), histogram.percentile(h, 0.5), histogram.percentile(h, 0.9))
                          for k, h in hists.items()}
            assert q.durations(db.session, scope) == daily_only  # the monthly histograms say the same
            if start <= today <= end:
                assert sum(d.cases for d in daily_only.values()) >= 8


def test_cut_months_and_years_read_as_their_copies_minus_the_rest_give_the_same_figures(app):
    """Whichever way ``queries`` reads a month or year the range cuts (its days or months, or the
    monthly or yearly copy minus what lies outside), every figure equals the sum of the daily rows
    in the range."""
    from datetime import date

    from bizportal.stats import queries as q

    days = [date(2025, 12, 2), date(2025, 12, 30), date(2026, 1, 1), date(2026, 2, 27), date(2026, 3, 1),
            date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 15), date(2026, 3, 30), date(2026, 3, 31),
            date(2026, 4, 1), date(2026, 4, 29), date(2026, 12, 3), date(2026, 12, 31), date(2027, 1, 2)]
    with app.app_context():
        keys: Counter = Counter()
        for i, day in enumerate(days):
            service = ("gewerbeanmeldung", "ursprungszeugnis")[i % 2]
            keys[(stats.SUBMITTED, day, service, "IHK", "hk-bremen", "", "")] += i + 1
            keys[(stats.DECIDED, day, service, "IHK", "hk-bremen", "", "accepted")] += 1
            for seconds in (30 * (i + 1), 3600 * (i + 1), 86400 * (i + 1)):
                bucket = str(histogram.bucket(seconds))
                keys[(stats.T_SUBMIT_DECISION, day, service, "IHK", "hk-bremen", "", bucket)] += 1
        stats.bump(keys)
        db.session.commit()
        ranges = [(date(2026, 3, a), date(2026, 3, b)) for a in (1, 2, 3, 5, 16) for b in (14, 29, 30, 31)]
        ranges += [(date(2026, 2, 20), date(2026, 4, 2)), (date(2026, 3, 2), date(2026, 4, 28)),
                   (date(2026, 2, 28), date(2026, 3, 30)), (date(2026, 3, 3), date(2026, 3, 3)),
                   (date(2025, 12, 5), date(2026, 12, 4)), (date(2026, 1, 1), date(2026, 12, 31)),
                   (date(2025, 12, 31), date(2027, 1, 1)), (date(2026, 1, 3), date(2026, 12, 30)),
                   (date(2025, 11, 20), date(2026, 11, 30))]
        month_minus_days = year_minus_months = 0
        for start, end in ranges:
            scope = q.Scope(start, end)
            parts = q._parts(scope)
            month_minus_days += any(p.sign < 0 and p.level == "day" for p in parts)
            year_minus_months += any(p.level == "year" for p in parts) and any(p.sign < 0 for p in parts)
            in_range = [(k, n) for k, n in keys.items() if start <= k[1] <= end]
            for metric in (stats.SUBMITTED, stats.DECIDED):
                expected = Counter()
                for k, n in in_range:
                    if k[0] == metric:
                        expected[k[2]] += n
                assert q.grouped(db.session, [metric], scope, ["service_key"]) == dict(expected), (start, end)
                assert q.sums(db.session, scope, [metric]).grouped([metric], ["service_key"]) == dict(expected)
                assert q.total(db.session, [metric], scope) == sum(expected.values())
            per_month = q.per_period(db.session, [stats.SUBMITTED], scope)
            assert per_month == {month: sum(n for k, n in in_range if k[0] == stats.SUBMITTED
                                            and k[1].replace(day=1) == month) for month in q.periods(scope)}
            hists: dict = defaultdict(lambda: defaultdict(int))
            for k, n in in_range:
                if k[0] == stats.T_SUBMIT_DECISION:
                    hists[(k[0], k[2], k[4])][int(k[6])] += n
            assert q.durations(db.session, scope) == {
                key: q.Durations(sum(h.values()), histogram.percentile(h, 0.5), histogram.percentile(h, 0.9))
                for key, h in hists.items()}, (start, end)
        # the subtracting ways were taken, not only the plain one
        assert month_minus_days >= 8 and year_minus_months >= 2


def test_the_migration_fills_the_yearly_copies_as_the_writes_do(app):
    """Migration 0022 makes the yearly copies of rollups written before it from their monthly
    ones: the same rows ``bump`` writes today."""
    import importlib.util
    from datetime import date
    from pathlib import Path

    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import delete

    path = Path(__file__).parents[2] / "migrations" / "versions" / "0022_stats_speed.py"
    spec = importlib.util.spec_from_file_location("stats_speed", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with app.app_context():
        keys: Counter = Counter()
        for i, day in enumerate((date(2025, 3, 2), date(2025, 3, 9), date(2025, 11, 30), date(2026, 1, 5))):
            keys[(stats.SUBMITTED, day, "gewerbeanmeldung", "GEWERBEAMT", "gewerbeamt-bremen", "", "")] += i + 1
            keys[(stats.DELIVERED_FIRST, day, "gewerbeanmeldung", "IHK", "hk-bremen", "inbox", "copy")] += 2
            for seconds in (5, 50 * (i + 1), 5000):
                keys[(stats.T_SUBMIT_DELIVERED, day, "gewerbeanmeldung", "IHK", "hk-bremen", "",
                      str(histogram.bucket(seconds)))] += 1
        stats.bump(keys)
        db.session.commit()

        def yearly():
            counts = {(r.metric, r.day, r.service_key, r.chamber_slug, r.adapter_key, r.detail): r.count
                      for r in db.session.scalars(select(StatRollup).where(StatRollup.metric.like("%:y")))}
            hists = {(h.metric, h.day, h.service_key, h.chamber_slug): {k: int(n) for k, n in h.counts.items()}
                     for h in db.session.scalars(select(StatHistogram).where(StatHistogram.metric.like("%:y")))}
            return counts, hists

        written = yearly()
        assert len(written[0]) == 4 and len(written[1]) == 2  # two metrics and one histogram, in two years
        db.session.execute(delete(StatRollup).where(StatRollup.metric.like("%:y")))
        db.session.execute(delete(StatHistogram).where(StatHistogram.metric.like("%:y")))
        db.session.commit()
        with db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            migration.upgrade()
        db.session.expire_all()
        assert yearly() == written
