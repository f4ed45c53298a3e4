"""Soak test: the production setup on loopback under steady use for a while, then the bill.

    pip install -e .[bench]          # locust
    python bench/soak.py                  # 10 minutes (the figures in docs/benchmarks.md)
    python bench/soak.py --minutes 1      # a quick check

What runs (all on 127.0.0.1, ``BIZPORTAL_ENV=production``, JSON logs): PostgreSQL (default: a
database ``bizportal_soak``, created if missing; its tables are dropped and rebuilt), Redis for
the rate limits, the login provider (``bizportal.devprovider``, in this process), the reference
webhook receiver (``bench/receiver.py``), and ``deploy/cluster.py``'s topology: nginx in front
of a gunicorn node (the project's ``gunicorn.conf.py``) and the delivery workers. The
Handelskammern Bremen and Hamburg deliver through the webhook adapter to the receiver; the other
bodies use the portal's inbox. The rate limits are raised (every simulated person comes from
127.0.0.1); everything else is the production default.

locust (``bench/soak_users.py``, headless) plays companies filing services of the end-to-end test
cases (sign in, draft, every step, PDF uploads, submit, status page), chamber staff working
their inbox (list, open a filing, take its next step) and the steering group reading the
dashboard, while the workers deliver.

After ``--warmup-seconds`` the resident memory (RSS) of every gunicorn and worker process is
sampled, and again when the load ends. Then the deliveries get ``--drain-seconds`` to finish.
The report (also written as JSON to ``<dir>/report.json``) gives req/s, p50 and p99 per request
kind, HTTP errors and failed flows, failed deliveries (dead, or retried after an error),
deliveries not done at the end, the memory growth per process, and the log lines that were not
one JSON object. Exit status 1 when there was any error or a process grew by ``--max-growth``
per cent or more.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import json
import logging
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.delivery import ensure_database, free_port  # noqa: E402

SECRET = "soak-shared-webhook-secret-0123456789"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bizportal_soak"
WEBHOOK_BODIES = ("hk-bremen", "hk-hamburg")
#: the end-to-end cases the companies file (their person, service, steps and files)
CASE_IDS = (
    "gewerbeanmeldung-elektro-bremen", "gewerbeanmeldung-makler-hamburg",
    "ausbildungsvertrag-kaufmaennisch-im-handwerk-bremen", "ausbildungsvertrag-ihk-verkuerzt-hamburg",
    "gewerbeabmeldung-aufgabe-zweigstelle-bremerhaven", "ausnahmebewilligung-uebernahme-beschraenkt-bremen",
    "versicherungsvermittler-makler-hamburg", "handwerksrolle-meister-bremen",
)


def write_cases(path: Path) -> list[str]:
    """The cases for ``soak_users.py`` as JSON (files base64), by person; returns the persons."""
    from tests.support.filing import EveryStep
    from tests.test_services_e2e import CASES

    chosen: dict[str, list[dict]] = {}
    for case in CASES:
        if case.id in CASE_IDS:
            chosen.setdefault(case.user, []).append({
                "id": case.id, "service": case.service, "steps": case.steps,
                "every": isinstance(case.steps, EveryStep),
                "files": {k: [base64.b64encode(c).decode(), n] for k, (c, n) in case.files.items()}})
    path.write_text(json.dumps(chosen))
    return sorted(chosen)


def production_env(database_url: str, issuer: str, redis_port: int, state_dir: Path) -> dict[str, str]:
    from tests.support.identity import IDENTITY

    env = {k: v for k, v in os.environ.items() if not k.startswith("BIZPORTAL_")}
    env.update({f"BIZPORTAL_{k}": v for k, v in IDENTITY.items()})
    env.update({
        "BIZPORTAL_ENV": "production", "BIZPORTAL_LOG_FORMAT": "json",
        "BIZPORTAL_SECRET_KEY": secrets.token_urlsafe(32), "BIZPORTAL_DATABASE_URL": database_url,
        "BIZPORTAL_COMPANY_OIDC_ISSUER": issuer, "BIZPORTAL_STAFF_OIDC_ISSUER": issuer,
        "BIZPORTAL_COMPANY_OIDC_CLIENT_SECRET": "soak-company-secret",
        "BIZPORTAL_STAFF_OIDC_CLIENT_SECRET": "soak-staff-secret",
        # the proxy on loopback, and the public host the worker writes mail links for
        "BIZPORTAL_TRUSTED_HOSTS": f"127.0.0.1,{urlsplit(IDENTITY['PUBLIC_BASE_URL']).hostname}",
        "BIZPORTAL_COOKIE_SECURE": "false",  # plain HTTP on loopback
        "BIZPORTAL_RATE_LIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
        "BIZPORTAL_UPLOAD_DIR": str(state_dir / "uploads"), "BIZPORTAL_MAIL_BACKEND": "folder",
        "BIZPORTAL_MAIL_FOLDER": str(state_dir / "mail"), "BIZPORTAL_WORKER_POLL_SECONDS": "0.5",
        "AUTHLIB_INSECURE_TRANSPORT": "1",
    })
    for group in ("LOGIN", "SUBMIT", "UPLOAD", "MESSAGES", "STATUS_CALLBACK", "API"):
        env[f"BIZPORTAL_RATE_LIMIT_{group}"] = "100000 per minute"
    return env


def prepare_bodies(database_url: str, receiver_url: str) -> None:
    """The demo bodies; the Handelskammern deliver to the webhook receiver."""
    from sqlalchemy import update

    from bizportal import create_app
    from bizportal.bodies.models import Chamber
    from bizportal.demo import ensure_chambers
    from bizportal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    options = {"url": receiver_url, "secret": SECRET, "allow_insecure_http": True, "timeout_seconds": 10}
    with app.app_context():
        ensure_chambers()
        db.session.execute(update(Chamber).where(Chamber.slug.in_(WEBHOOK_BODIES))
                           .values(adapter_key="webhook", options=options))
        db.session.commit()
        db.engine.dispose()


# --- processes and their memory -------------------------------------------------------------------

def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return sorted(found)


def portal_processes(cluster: dict) -> dict[str, int]:
    """name → pid of every web process (gunicorn master and its workers) and delivery worker."""
    found: dict[str, int] = {}
    for proc in cluster["processes"]:
        if proc["name"].startswith("worker"):
            # ``flask worker`` under bin/cluster's session: the process itself
            found[proc["name"]] = proc["pid"]
        elif proc["name"].startswith("web"):
            found[f"{proc['name']}-master"] = proc["pid"]
            for i, child in enumerate(children(proc["pid"]), start=1):
                found[f"{proc['name']}-worker{i}"] = child
    return found


def sample(processes: dict[str, int]) -> dict[str, int | None]:
    return {name: rss_kb(pid) for name, pid in processes.items()}


# --- the bill ---------------------------------------------------------------------------------------

def request_kinds(stats_csv: Path) -> list[dict]:
    rows = []
    with stats_csv.open() as f:
        for row in csv.DictReader(f):
            rows.append({"type": row["Type"], "name": row["Name"], "requests": int(row["Request Count"]),
                         "failures": int(row["Failure Count"]), "rps": float(row["Requests/s"]),
                         "p50_ms": _num(row["50%"]), "p99_ms": _num(row["99%"])})
    return rows


def _num(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def delivery_states(database_url: str) -> dict:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT state, count(*) FROM delivery GROUP BY state")).all())
        retried = conn.scalar(text("SELECT count(*) FROM delivery WHERE last_error IS NOT NULL"))
        traced = conn.scalar(text("SELECT count(*) FROM delivery WHERE request_id LIKE 'soak-%'"))
        request_ids = set(conn.scalars(text("SELECT request_id FROM delivery WHERE request_id IS NOT NULL")))
        filings = conn.scalar(text("SELECT count(*) FROM filing"))
        mails = dict(conn.execute(text("SELECT state, count(*) FROM notification GROUP BY state")).all())
    engine.dispose()
    return {"states": states, "retried_after_error": retried, "traced": traced, "request_ids": request_ids,
            "filings": filings, "mails": mails, "mails_not_sent": sum(n for s, n in mails.items() if s != "sent")}


def wait_for_deliveries(database_url: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        found = delivery_states(database_url)
        open_ = sum(n for s, n in found["states"].items() if s in ("pending", "sending")) + found["mails_not_sent"]
        if open_ == 0 or time.monotonic() > deadline:
            return found
        time.sleep(1)


def read_logs(log_dir: Path, names: list[str]) -> dict:
    """Lines that are not one JSON object, lines of level ERROR or worse, and the request ids the
    workers' lines carry."""
    not_json, errors, lines, worker_ids = [], [], 0, set()
    for name in names:
        path = log_dir / f"{name}.log"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            lines += 1
            try:
                record = json.loads(line)
                assert isinstance(record, dict) and {"time", "level", "logger", "message"} <= record.keys()
            except (ValueError, AssertionError):
                not_json.append(f"{name}: {line[:200]}")
                continue
            if record.get("level") in ("ERROR", "CRITICAL"):
                errors.append(f"{name}: {record.get('logger')}: {str(record.get('message'))[:200]}")
            if name.startswith("worker") and record.get("delivery_id") and record.get("request_id"):
                worker_ids.add(record["request_id"])
    return {"lines": lines, "not_json": not_json, "errors": errors, "worker_request_ids": worker_ids}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="load after the warm-up (default 10)")
    parser.add_argument("--warmup-seconds", type=float, default=60.0)
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    parser.add_argument("--companies", type=int, default=4)
    parser.add_argument("--staff", type=int, default=2)
    parser.add_argument("--steering", type=int, default=1)
    parser.add_argument("--web-processes", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--workers", type=int, default=2, help="delivery workers")
    parser.add_argument("--max-growth", type=float, default=10.0, help="per cent RSS growth that fails")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--dir", default=str(ROOT / "instance" / "soak"))
    parser.add_argument("--locust", default=shutil.which("locust") or str(Path(sys.executable).parent / "locust"))
    args = parser.parse_args(argv)

    for name in ("werkzeug", "oidc_provider_mock"):  # the login provider's lines
        logging.getLogger(name).setLevel(logging.WARNING)
    state_dir = Path(args.dir).resolve()
    shutil.rmtree(state_dir, ignore_errors=True)
    state_dir.mkdir(parents=True)
    ensure_database(args.database_url)

    from bizportal.devprovider import start_provider
    from deploy import cluster as topology

    provider = start_provider(0)
    issuer = f"http://127.0.0.1:{provider.server_port}"
    redis_port, receiver_port = free_port(), free_port()
    helpers = [
        subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"], stdout=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, str(ROOT / "bench" / "receiver.py"), str(receiver_port), SECRET],
                         stdout=subprocess.PIPE, text=True),
    ]
    helpers[1].stdout.readline()  # type: ignore[union-attr]
    receiver = f"http://127.0.0.1:{receiver_port}"
    os.environ.update(production_env(args.database_url, issuer, redis_port, state_dir))
    cluster_args = argparse.Namespace(dir=str(state_dir / "cluster"), database_url=args.database_url, web=1,
                                      web_processes=args.web_processes, workers=args.workers, port=0, timeout=120,
                                      env=[], demo=False)
    report: dict = {"command": " ".join(["python", "bench/soak.py", *(argv or sys.argv[1:])]),
                    "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
                               f"Python {platform.python_version()}"}
    try:
        state = topology.start(cluster_args)
        prepare_bodies(args.database_url, receiver + "/filings")
        persons = write_cases(state_dir / "cases.json")
        processes = portal_processes(state)
        report["load_before"] = os.getloadavg()
        run_seconds = int(args.warmup_seconds + args.minutes * 60)
        locust_env = {**os.environ, "SOAK_CASES": str(state_dir / "cases.json"), "SOAK_HOST": state["url"],
                      "SOAK_COMPANIES": str(args.companies), "SOAK_STAFF": str(args.staff),
                      "SOAK_STEERING": str(args.steering)}
        users = args.companies + args.staff + args.steering
        load = subprocess.Popen(
            [args.locust, "-f", str(ROOT / "bench" / "soak_users.py"), "--headless", "--host", state["url"],
             "-u", str(users), "-r", str(users), "--run-time", f"{run_seconds}s", "--stop-timeout", "60",
             "--csv", str(state_dir / "locust"), "--only-summary", "--loglevel", "WARNING"],
            env=locust_env, cwd=ROOT, stdout=(state_dir / "locust.log").open("w"), stderr=subprocess.STDOUT)
        time.sleep(args.warmup_seconds)
        start_rss = sample(processes)
        load.wait(timeout=run_seconds + 180)
        end_rss = sample(processes)
        report["load_after"] = os.getloadavg()
        deliveries = wait_for_deliveries(args.database_url, args.drain_seconds)
        logs = read_logs(Path(state["processes"][0]["log"]).parent, [p["name"] for p in state["processes"]
                                                                   if p["name"] != "nginx"])
        receiver_stats = requests.get(receiver + "/stats", timeout=10).json()
    finally:
        with contextlib.suppress(Exception):
            topology.stop(cluster_args)
        for helper in helpers:
            helper.terminate()
            helper.wait(10)
        provider.shutdown()

    kinds = request_kinds(state_dir / "locust_stats.csv")
    total = next(k for k in kinds if k["name"] == "Aggregated")
    http = [k for k in kinds if k["type"] != "FLOW" and k["name"] != "Aggregated"]
    flows = [k for k in kinds if k["type"] == "FLOW"]
    growth = {}
    for name, before in start_rss.items():
        after = end_rss.get(name)
        if before and after:
            growth[name] = {"start_mb": round(before / 1024, 1), "end_mb": round(after / 1024, 1),
                            "growth_pct": round((after - before) * 100 / before, 1)}
        else:
            growth[name] = {"start_mb": before, "end_mb": after, "growth_pct": None, "note": "process gone"}
    states = deliveries["states"]
    not_done = sum(n for s, n in states.items() if s in ("pending", "sending"))
    failed = states.get("dead", 0)
    soak_ids = {i for i in deliveries["request_ids"] if i.startswith("soak-")}
    errors = {
        "http": sum(k["failures"] for k in http),
        "flows": sum(k["failures"] for k in flows),
        "deliveries_failed": failed,
        "deliveries_not_done": not_done,
        "processes_gone": sum(1 for g in growth.values() if g["growth_pct"] is None),
        "log_errors": len(logs["errors"]),
        "mails_not_sent": deliveries["mails_not_sent"],
    }
    report.update({
        "minutes": args.minutes, "users": {"companies": args.companies, "staff": args.staff,
                                           "steering": args.steering},
        "persons": persons, "requests": total["requests"], "rps": total["rps"],
        "kinds": [k for k in kinds if k["name"] != "Aggregated"], "filings": deliveries["filings"],
        "deliveries": states, "mails": deliveries["mails"],
        "deliveries_retried_after_error": deliveries["retried_after_error"],
        "receiver": receiver_stats, "memory": growth, "errors": errors,
        "log_lines": logs["lines"], "log_lines_not_json": logs["not_json"][:20],
        "log_errors": logs["errors"][:20],
        "traced_filings_seen_in_worker_logs": f"{len(soak_ids & logs['worker_request_ids'])} of {len(soak_ids)}",
    })
    (state_dir / "report.json").write_text(json.dumps(report, indent=2, default=str))
    print_report(report)
    too_much = [n for n, g in growth.items() if g["growth_pct"] is not None and g["growth_pct"] >= args.max_growth]
    failed_run = sum(errors.values()) > 0 or bool(too_much) or bool(logs["not_json"])
    print(f"\nresult: {'FAILED' if failed_run else 'passed'}"
          + (f" (grew {args.max_growth:g} % or more: {', '.join(too_much)})" if too_much else ""))
    return 1 if failed_run else 0


def print_report(report: dict) -> None:
    print(f"soak: {report['minutes']:g} min after warm-up, users {report['users']}, {report['machine']}")
    print(f"load average before {_load(report['load_before'])}, after {_load(report['load_after'])}")
    print(f"\n{'kind':58} {'count':>7} {'fail':>5} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for k in sorted(report["kinds"], key=lambda k: (k["type"] == "FLOW", -k["requests"])):
        print(f"{(k['type'] + ' ' + k['name'] if k['type'] == 'FLOW' else k['name'])[:58]:58} {k['requests']:>7} "
              f"{k['failures']:>5} {k['rps']:>7.2f} {_ms(k['p50_ms']):>8} {_ms(k['p99_ms']):>8}")
    print(f"\nall requests: {report['requests']} ({report['rps']:.2f} req/s); filings: {report['filings']}")
    print(f"deliveries: {report['deliveries']}; retried after an error: "
          f"{report['deliveries_retried_after_error']}; receiver: {report['receiver']}")
    print(f"traced filings seen in the workers' log lines: {report['traced_filings_seen_in_worker_logs']}")
    print(f"log lines: {report['log_lines']}, not one JSON object: {len(report['log_lines_not_json'])}")
    for line in report["log_lines_not_json"]:
        print(f"  {line}")
    print("\nmemory (RSS) after warm-up → end:")
    for name, g in report["memory"].items():
        print(f"  {name:16} {g['start_mb']} MB → {g['end_mb']} MB  ({g['growth_pct']} %)")
    print(f"\nerrors: {report['errors']}")


def _load(avg) -> str:
    return " ".join(f"{x:.2f}" for x in avg)


def _ms(value) -> str:
    return "-" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    sys.exit(main())
