"""Delivery throughput: N worker processes draining M filings to a loopback webhook receiver.

    python bench/delivery.py --workers 1 2 4 --filings 2000

Needs PostgreSQL (default: a database ``bizportal_bench`` on 127.0.0.1, created if missing; its
tables are dropped and rebuilt from the migrations). For every worker count the script inserts M
fresh filings with one webhook delivery each (spread over ``--chambers`` chambers that all point
at the same receiver), while the workers are already running, and measures from that commit
until the last delivery is recorded as delivered. The baseline in the same run is a bare loop in
one thread that sends the same payloads through the same ``WebhookAdapter`` with no database
bookkeeping. The receiver (the tests' reference receiver: signature check, deduplication per
Idempotency-Key) runs in its own process and is checked for exactly one copy per filing.
Rounds are interleaved (bare loop, then every worker count) and medians reported, so a busy
moment of a shared machine does not favour one side.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

import requests  # noqa: E402
from sqlalchemy import create_engine, func, insert, select, text, update  # noqa: E402

SECRET = "benchmark-shared-secret-0123456789"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bizportal_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    engine = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_app(url: str):
    from bizportal import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})


def setup(app, receiver_url: str, chambers: int) -> list[int]:
    """Schema, demo chambers, a company; ``chambers`` IHK/HWK chambers switched to the webhook."""
    from flask_migrate import upgrade

    from bizportal.auth.models import Company, Person
    from bizportal.bodies.models import Chamber
    from bizportal.demo import ensure_chambers
    from bizportal.extensions import db

    with app.app_context():
        upgrade()
        ensure_chambers()
        company = Company(issuer="bench", org_id="bench", name="Benchmark GmbH", postcode="28195")
        db.session.add(company)
        db.session.flush()
        db.session.add(Person(issuer="bench", sub="bench", company_id=company.id, name="Bench"))
        ids = list(db.session.scalars(select(Chamber.id).order_by(Chamber.id).limit(chambers)))
        options = {"url": receiver_url, "secret": SECRET, "allow_insecure_http": True, "timeout_seconds": 10}
        db.session.execute(update(Chamber).where(Chamber.id.in_(ids)).values(adapter_key="webhook", options=options))
        db.session.commit()
        return ids


def insert_filings(app, n: int, chamber_ids: list[int], tag: str) -> float:
    """M filings with one due delivery each, in one commit; returns the time of the commit."""
    from bizportal.auth.models import Company, Person
    from bizportal.common.time import utcnow
    from bizportal.delivery.models import Delivery
    from bizportal.extensions import db
    from bizportal.filings.models import Filing

    with app.app_context():
        company_id = db.session.scalar(select(Company.id).where(Company.org_id == "bench"))
        person_id = db.session.scalar(select(Person.id).where(Person.sub == "bench"))
        now = utcnow()
        rows = [{"reference": f"BP-{tag}-{i:06d}", "submit_token": f"bench-{tag}-{i}", "company_id": company_id,
                 "person_id": person_id, "service_key": "versicherungsvermittler-34d",
                 "data": {"postcode": "28195", "erlaubnis": "34d", "n": i, "text": "x" * 400},
                 "company_snapshot": {"name": "Benchmark GmbH", "postcode": "28195", "city": "Bremen"},
                 "status": "submitted", "submitted_at": now} for i in range(n)]
        ids = list(db.session.scalars(insert(Filing).returning(Filing.id, sort_by_parameter_order=True), rows))
        db.session.execute(insert(Delivery), [
            {"filing_id": fid, "chamber_id": chamber_ids[i % len(chamber_ids)], "role": "primary", "state": "pending",
             "attempts": 0, "next_attempt_at": now, "created_at": now} for i, fid in enumerate(ids)])
        db.session.commit()
        return time.time()


def clear(app) -> None:
    from bizportal.extensions import db

    with app.app_context(), db.engine.begin() as conn:
        for table in ("inbox_item", "filing_event", "delivery", "attachment", "filing", "stat_counter"):
            conn.execute(text(f"DELETE FROM {table}"))


def payloads(app):
    """The FilingPayloads of every delivery in the database, as the worker would build them."""
    from bizportal.delivery import jobs
    from bizportal.delivery.models import Delivery
    from bizportal.extensions import db

    ext = app.extensions["bizportal"]
    with app.app_context():
        ids = list(db.session.scalars(select(Delivery.id)))
        return [jobs.payload(job, ext.catalog, None) for job in jobs.read_jobs(ids).values()]


def receiver_stats(base: str) -> dict:
    return requests.get(base + "/stats", timeout=10).json()


def bare_loop(app, receiver_base: str, receiver_url: str, chamber_ids: list[int], n: int) -> float:
    """Deliveries per second of one thread posting the same payloads, without any bookkeeping."""
    from chambers.webhook import WebhookAdapter

    clear(app)
    insert_filings(app, n, chamber_ids, "BARE")
    items = payloads(app)
    clear(app)
    requests.post(receiver_base + "/reset", timeout=10)
    adapter = WebhookAdapter()
    options = {"url": receiver_url, "secret": SECRET, "allow_insecure_http": True, "timeout_seconds": 10}
    start = time.perf_counter()
    for payload in items:
        adapter.deliver(payload, options)
    elapsed = time.perf_counter() - start
    stats = receiver_stats(receiver_base)
    assert stats["stored"] == n and stats["max_per_key"] == 1, stats
    return n / elapsed


def start_workers(n: int, url: str, overrides: dict, log_dir: Path) -> list[subprocess.Popen]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIZPORTAL_")}
    env.update({"BIZPORTAL_DATABASE_URL": url, "BIZPORTAL_SECRET_KEY": "bench", "PYTHONUNBUFFERED": "1"})
    procs = []
    for i in range(n):
        with open(log_dir / f"worker-{n}-{i}.log", "wb") as log:  # the child keeps its own handle
            procs.append(subprocess.Popen([sys.executable, str(ROOT / "bench" / "worker.py"), json.dumps(overrides)],
                                          cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.time() + 60
    for i in range(n):  # wait until every worker is up and polling
        path = log_dir / f"worker-{n}-{i}.log"
        while b"delivery worker" not in path.read_bytes():
            if time.time() > deadline or procs[i].poll() is not None:
                raise SystemExit(f"worker did not start; see {path}")
            time.sleep(0.05)
    return procs


def cpu_seconds(procs: list[subprocess.Popen]) -> float:
    """User + system CPU time the processes have used so far (Linux ``/proc``)."""
    total = 0
    for p in procs:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)


def run_workers(app, url: str, receiver_base: str, chamber_ids: list[int], workers: int, n: int,
                env_extra: dict, log_dir: Path) -> dict:
    from bizportal.delivery.models import Delivery
    from bizportal.extensions import db

    clear(app)
    requests.post(receiver_base + "/reset", timeout=10)
    procs = start_workers(workers, url, env_extra, log_dir)
    try:
        cpu0 = cpu_seconds(procs)
        t0 = insert_filings(app, n, chamber_ids, f"W{workers}{secrets.token_hex(2).upper()}")
        with app.app_context():
            while True:
                done = db.session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.state == "delivered"))
                db.session.rollback()
                if done == n:
                    break
                if time.time() - t0 > 600:
                    raise SystemExit(f"only {done} of {n} delivered after 600 s")
                time.sleep(0.05)
            cpu = cpu_seconds(procs) - cpu0
            last = db.session.scalar(select(func.max(Delivery.delivered_at)))
            attempts = db.session.scalar(select(func.sum(Delivery.attempts)))
            db.session.rollback()
    finally:
        stop_workers(procs)
    elapsed = last.timestamp() - t0
    stats = receiver_stats(receiver_base)
    assert stats["stored"] == n and stats["max_per_key"] == 1 and attempts == n, (stats, attempts)
    return {"workers": workers, "seconds": elapsed, "rate": n / elapsed, "cpu_ms": 1000 * cpu / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--filings", type=int, default=2000)
    parser.add_argument("--chambers", type=int, default=4, help="chambers the filings are spread over (default 4)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds (bare loop, then each worker count); medians are reported (default 3)")
    parser.add_argument("--threads", type=int, help="WORKER_THREADS per worker (default: the app's default)")
    parser.add_argument("--per-chamber", type=int, help="DELIVERY_CHAMBER_CONCURRENCY (default: the app's default)")
    parser.add_argument("--database-url", default=os.environ.get("BIZPORTAL_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--async-commit", action="store_true",
                        help="DELIVERY_ASYNC_COMMIT=1: the worker's commits do not wait for the WAL flush")
    parser.add_argument("--json", action="store_true", help="print the results as JSON as well")
    args = parser.parse_args()

    log_dir = Path(os.environ.get("TMPDIR", "/tmp")) / "bizportal-bench"
    log_dir.mkdir(exist_ok=True)
    env_extra: dict = {"WORKER_POLL_SECONDS": 0.05, "DELIVERY_EVENTS_POLL_SECONDS": 0}
    if args.threads:
        env_extra["WORKER_THREADS"] = args.threads
    if args.per_chamber:
        env_extra["DELIVERY_CHAMBER_CONCURRENCY"] = args.per_chamber
    if args.async_commit:
        env_extra["DELIVERY_ASYNC_COMMIT"] = True

    ensure_database(args.database_url)
    port = free_port()
    receiver = subprocess.Popen([sys.executable, str(ROOT / "bench" / "receiver.py"), str(port), SECRET],
                                stdout=subprocess.PIPE)
    receiver.stdout.readline()
    receiver_base = f"http://127.0.0.1:{port}"
    receiver_url = receiver_base + "/filings"
    try:
        import logging

        app = make_app(args.database_url)
        logging.getLogger().setLevel(logging.WARNING)
        chamber_ids = setup(app, receiver_url, args.chambers)
        with app.app_context():
            from bizportal.extensions import db

            pg_version = db.session.scalar(text("SHOW server_version"))
        load_before = os.getloadavg()
        bares: list[float] = []
        runs: dict[int, list[float]] = {w: [] for w in args.workers}
        cpu: dict[int, list[float]] = {w: [] for w in args.workers}
        for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits all alike
            bares.append(bare_loop(app, receiver_base, receiver_url, chamber_ids, args.filings))
            for w in args.workers:
                result = run_workers(app, args.database_url, receiver_base, chamber_ids, w, args.filings,
                                     env_extra, log_dir)
                runs[w].append(result["rate"])
                cpu[w].append(result["cpu_ms"])
        load_after = os.getloadavg()
    finally:
        receiver.terminate()
        receiver.wait(10)

    from bizportal.delivery.worker import Worker

    probe = Worker(app, threads=args.threads)
    threads = probe.threads
    per_chamber = min(threads, args.per_chamber) if args.per_chamber else probe.per_chamber
    bare = statistics.median(bares)
    print(f"machine: {os.cpu_count()} CPU(s) ({platform.processor() or platform.machine()}), "
          f"Python {platform.python_version()}, PostgreSQL {pg_version}; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"filings: {args.filings} per run over {len(chamber_ids)} chamber(s); worker threads {threads}, "
          f"per chamber {per_chamber}; {args.repeat} round(s), medians (min-max)")
    print(f"bare loop (1 thread, same payloads, same adapter, no database): {bare:7.1f} deliveries/s "
          f"({min(bares):.0f}-{max(bares):.0f})")
    print(f"{'workers':>7} {'deliveries/s':>13} {'min-max':>11} {'vs bare loop':>13} {'worker CPU ms/delivery':>23}")
    for w in args.workers:
        rate = statistics.median(runs[w])
        print(f"{w:>7} {rate:>13.1f} {min(runs[w]):>5.0f}-{max(runs[w]):<5.0f} {rate / bare:>13.2f} "
              f"{statistics.median(cpu[w]):>23.2f}")
    if args.json:
        print(json.dumps({"bare": bares, "workers": runs, "cpu_ms": cpu, "filings": args.filings, "pg": pg_version,
                          "threads": threads, "per_chamber": per_chamber}))

if __name__ == "__main__":
    main()
