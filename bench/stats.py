"""The steering dashboard at scale: one year of synthetic history, the page from the rollups
against the same figures computed from the raw tables, in the same run.

    python bench/stats.py --filings 1000000            # generate, then measure
    python bench/stats.py --filings 1000000 --keep     # measure the data a previous run left

Needs PostgreSQL (default: a database ``bizportal_stats_bench`` on 127.0.0.1, created if
missing; without ``--keep`` its tables are dropped and rebuilt from the migrations and filled with
``flask demo generate``'s generator, seeded). It then times, each ``--repeat`` times after one
warm-up, the median in ms:

* **rollups**: the whole request of ``/staff/statistik`` for a one-year range by month, as the
  steering role (before-request hooks, every query of the page, charts, template), in-process
  through the test client with a session signed in once before the clock runs (server time, no
  network), and the CPU time the web process spent on it (the figure a loaded machine distorts
  least: the wall time also counts the waits for a CPU);
* **raw tables**: only the queries that compute the same figures from ``filing``, ``delivery`` and
  ``filing_event`` (per service and its previous year, per month, per body, the funnel, delivery
  health, the three medians and 90th percentiles with ``percentile_cont``) — no rendering, and
  without drafts, abandonment, logins and active companies, which the raw tables do not hold.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.delivery import make_app  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bizportal_stats_bench"

#: the raw-table version of the page's figures (PostgreSQL); :start/:end the range, :pstart the previous
RAW = {
    "per service, this year and the one before": """
        SELECT service_key, count(*) FILTER (WHERE submitted_at >= :start),
               count(*) FILTER (WHERE submitted_at < :start)
        FROM filing WHERE submitted_at >= :pstart AND submitted_at < :end GROUP BY service_key""",
    "per month": """
        SELECT date_trunc('month', submitted_at AT TIME ZONE 'Europe/Berlin'), count(*)
        FROM filing WHERE submitted_at >= :start AND submitted_at < :end GROUP BY 1""",
    "per body (addressed)": """
        SELECT c.kind, c.slug, count(*) FROM delivery d JOIN filing f ON f.id = d.filing_id
        JOIN chamber c ON c.id = d.chamber_id
        WHERE d.message_id IS NULL AND f.submitted_at >= :start AND f.submitted_at < :end GROUP BY 1, 2""",
    "funnel: delivered": """
        SELECT f.service_key, count(*) FROM delivery d JOIN filing f ON f.id = d.filing_id
        WHERE d.role = 'primary' AND d.message_id IS NULL AND d.delivered_at >= :start AND d.delivered_at < :end
        GROUP BY 1""",
    "funnel: decided and withdrawn": """
        SELECT f.service_key, e.kind, count(*) FROM filing_event e JOIN filing f ON f.id = e.filing_id
        WHERE e.kind IN ('accepted', 'rejected', 'withdrawn') AND e.occurred_at >= :start AND e.occurred_at < :end
        GROUP BY 1, 2""",
    "delivery health": """
        SELECT c.slug, c.adapter_key, count(*) FILTER (WHERE d.attempts = 1 AND d.delivered_at IS NOT NULL),
               count(*) FILTER (WHERE d.attempts > 1 AND d.delivered_at IS NOT NULL),
               count(*) FILTER (WHERE d.state = 'dead')
        FROM delivery d JOIN chamber c ON c.id = d.chamber_id
        WHERE d.message_id IS NULL AND d.created_at >= :start AND d.created_at < :end GROUP BY 1, 2""",
    "times: submit to delivered": """
        SELECT f.service_key, c.slug,
               percentile_cont(ARRAY[0.5, 0.9])
                 WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - f.submitted_at))
        FROM delivery d JOIN filing f ON f.id = d.filing_id JOIN chamber c ON c.id = d.chamber_id
        WHERE d.delivered_at >= :start AND d.delivered_at < :end GROUP BY 1, 2""",
    "times: delivered to first action": """
        SELECT f.service_key, c.slug,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM a.first - d.delivered_at))
        FROM (SELECT filing_id, chamber_id, min(occurred_at) AS first FROM filing_event
              WHERE kind IN ('received', 'in_progress', 'information_requested', 'accepted', 'rejected')
              GROUP BY 1, 2) a
        JOIN delivery d ON d.filing_id = a.filing_id AND d.chamber_id = a.chamber_id AND d.message_id IS NULL
        JOIN filing f ON f.id = a.filing_id JOIN chamber c ON c.id = a.chamber_id
        WHERE a.first >= :start AND a.first < :end GROUP BY 1, 2""",
    "times: submit to decision": """
        SELECT f.service_key, c.slug,
               percentile_cont(ARRAY[0.5, 0.9])
                 WITHIN GROUP (ORDER BY extract(epoch FROM e.occurred_at - f.submitted_at))
        FROM filing_event e JOIN filing f ON f.id = e.filing_id JOIN chamber c ON c.id = e.chamber_id
        WHERE e.kind IN ('accepted', 'rejected') AND e.occurred_at >= :start AND e.occurred_at < :end
        GROUP BY 1, 2""",
}


def prepare(url: str, keep: bool) -> None:
    base, _, name = url.rpartition("/")
    engine = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            keep = False
    engine.dispose()
    if not keep:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()


def timed(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU times of ``repeat`` calls after one warm-up, in ms."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def spread(times: list[float]) -> str:
    return f"**{statistics.median(times):.1f}** ({min(times):.1f}–{max(times):.1f})"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filings", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--raw-repeat", type=int, help="repetitions of the raw-table side (default: --repeat)")
    parser.add_argument("--keep", action="store_true", help="measure the data of a previous run")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()

    from flask_login import login_user
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from bizportal.auth.models import StaffUser
    from bizportal.common.time import local_today
    from bizportal.demo import ensure_chambers
    from bizportal.demo_history import generate
    from bizportal.extensions import db
    from bizportal.filings.models import Filing

    prepare(args.database_url, args.keep)
    app = make_app(args.database_url)
    generated = ""
    with app.app_context():
        upgrade(revision="heads")
        ensure_chambers()
        if not args.keep:
            t0 = time.perf_counter()
            written = generate(args.filings, days=365,
                               progress=lambda n: print(f"  {n:,} filings", file=sys.stderr) if n % 100_000 == 0
                               else None)
            generated = (f"generated in {time.perf_counter() - t0:.0f} s ("
                         + ", ".join(f"{n:,} {k}" for k, n in written.items()) + "); ")
        filings = db.session.scalar(select(func.count()).select_from(Filing))
        staff = db.session.scalar(select(StaffUser).where(StaffUser.sub == "bench-steering"))
        if staff is None:
            staff = StaffUser(issuer="bench", sub="bench-steering", name="Bench", roles=["steering"])
            db.session.add(staff)
            db.session.commit()
        staff_id = staff.id
        version = db.session.execute(text("SHOW server_version")).scalar()
        today = local_today(app.config["SETTINGS"].web.timezone)
    start = today - timedelta(days=364)
    query = f"/staff/statistik?von={start.isoformat()}&bis={today.isoformat()}&einteilung=month"

    from flask import session

    with app.test_request_context("/"):  # signed in once, as a browser would be
        login_user(db.session.get(StaffUser, staff_id))
        signed_in = dict(session)
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie.update(signed_in)

    def dashboard() -> None:
        response = client.get(query)
        assert response.status_code == 200, response.status_code
        response.get_data()

    def raw_figures() -> None:
        params = {"start": f"{start.isoformat()} 00:00+01",
                  "end": f"{(today + timedelta(days=1)).isoformat()} 00:00+01",
                  "pstart": f"{(start - timedelta(days=365)).isoformat()} 00:00+01"}
        with app.app_context():
            for sql in RAW.values():
                db.session.execute(text(sql), params).all()
            db.session.remove()

    before = load()
    rollup_wall, rollup_cpu = timed(dashboard, args.repeat)
    raw_wall, _ = timed(raw_figures, args.raw_repeat or args.repeat)
    print(f"{filings:,} filings over one year; {generated}PostgreSQL {version}, Python "
          f"{platform.python_version()}, {platform.machine()}; after one warm-up each; load average "
          f"(1/5/15 min) {before} before, {load()} after")
    print("| one-year dashboard, by month | runs | server time, ms: median (min–max) | CPU of the web process, ms |")
    print("|---|---|---|---|")
    print(f"| rollups: whole request (queries, charts, template) | {args.repeat} | {spread(rollup_wall)} | "
          f"{spread(rollup_cpu)} |")
    print(f"| raw tables: the queries alone (no drafts, logins, rendering) | {args.raw_repeat or args.repeat} | "
          f"{spread(raw_wall)} | |")


if __name__ == "__main__":
    main()
