"""The production topology on loopback (``bin/cluster``): nginx in front of two gunicorn web nodes
and two delivery workers on one PostgreSQL database. A filing made through one node is served,
with its attachment, by the other and through the proxy; a worker killed in the middle of its
sends loses nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.extensions import db
from tests.support.adapters import webhook_options
from tests.support.factories import bulk_filings, set_adapter, state_counts, wait_for
from tests.support.filing import file_service
from tests.support.http import http_login
from tests.support.receivers.counting import counting_receiver, settled_arrivals
from tests.test_services_e2e import CASES

pytestmark = [
    pytest.mark.postgres_only(reason="several web nodes and workers share one PostgreSQL database"),
    pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                       reason="nginx is not installed (.ci/run installs it)"),
]

ROOT = Path(__file__).resolve().parent.parent


def held_by(app, pid: int) -> set:
    """The deliveries a worker process holds (``locked_by`` is ``host:pid:random``)."""
    with app.app_context():
        return set(db.session.scalars(select(Delivery.id).where(
            Delivery.state == DeliveryState.SENDING, Delivery.locked_by.like(f"%:{pid}:%"))))


@pytest.fixture
def cluster(app, database_url, issuer, tmp_path):
    """Start the topology on the test database; stop it afterwards, whatever happened."""
    state_dir = tmp_path / "cluster"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIZPORTAL_", "COV"))}
    env.update({"BIZPORTAL_COMPANY_OIDC_ISSUER": issuer, "BIZPORTAL_STAFF_OIDC_ISSUER": issuer,
                "AUTHLIB_INSECURE_TRANSPORT": "1"})
    command = [sys.executable, str(ROOT / "deploy" / "cluster.py"), "--dir", str(state_dir)]
    started = subprocess.run(command + ["start", "--database-url", database_url, "--web-processes", "1",
                                        "--env", "DELIVERY_LEASE_SECONDS=2", "--env", "WORKER_POLL_SECONDS=0.1",
                                        "--env", "DELIVERY_BACKOFF_BASE_SECONDS=0.5", "--env", "LOG_FORMAT=json"],
                             env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr[-3000:] + started.stdout[-2000:]
    state = json.loads(started.stdout)
    try:
        yield state
    finally:
        subprocess.run(command + ["stop"], env=env, timeout=120)


def test_a_filing_made_through_one_node_is_served_with_its_attachment_by_the_other(cluster):
    node_a, node_b = cluster["nodes"]
    case = next(c for c in CASES if c.id == "ausbildungsvertrag-kaufmaennisch-im-handwerk-bremen")
    company = http_login(node_a, case.user)
    reference = file_service(company, case.service, case.steps, files=case.files)
    content, name = case.files["ausbildungsvertrag"]

    for base in (node_b, cluster["url"]):
        company.base = base  # the same browser session, now answered by the other node / the proxy
        page = company.get(f"/antraege/{reference}")
        assert page.status_code == 200 and reference in page.get_data()
        link = re.search(r'href="(/antraege/anhang/[^"]+)"', page.get_data())
        assert link, "the status page links the attachment"
        download = company.session.get(base + link.group(1), timeout=10)
        assert download.status_code == 200 and download.content == content
        assert name in download.headers["Content-Disposition"]
    assert requests.get(cluster["url"] + "/", timeout=10).status_code == 200


def test_a_worker_killed_in_the_middle_of_its_sends_loses_nothing(app, cluster):
    """Sends held at a deduplicating receiver; one worker is killed (SIGKILL) while it holds some:
    after its leases run out the other takes them over, and every filing is stored exactly once."""
    workers = {p["name"]: p for p in cluster["processes"] if p["name"].startswith("worker")}
    n = 30
    with counting_receiver(gate_open=False) as (url, server):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url, timeout_seconds=30))
        ids = bulk_filings(app, n, ["hk-bremen"], spread=timedelta(minutes=5))
        settled_arrivals(server)
        victims = held_by(app, workers["worker1"]["pid"])
        assert victims, "the first worker holds sends when it is killed"
        os.killpg(workers["worker1"]["pid"], signal.SIGKILL)  # with whatever it holds
        server.gate.set()
        wait_for(lambda: state_counts(app) == {DeliveryState.DELIVERED: n}, timeout=120, interval=0.3,
                 what="every delivery delivered after the kill")
        assert len(server.state.stored) == n  # stored once each: nothing lost, nothing twice
        assert {str(v) for v in victims} <= set(server.state.stored)
        assert held_by(app, workers["worker1"]["pid"]) == set() and len(ids) == n
    status = subprocess.run([sys.executable, str(ROOT / "deploy" / "cluster.py"), "--dir",
                             str(Path(workers["worker1"]["log"]).parent.parent), "status"],
                            capture_output=True, text=True, timeout=30)
    assert status.returncode != 0, "status fails while a process is down"
    assert re.search(r"worker1\s+pid\s+\d+\s+DOWN", status.stdout) and re.search(r"worker2\s+pid\s+\d+\s+up",
                                                                                  status.stdout)


def test_a_demo_cluster_has_its_own_login_provider_and_demo_chambers(database_url, tmp_path):
    """``--demo``: the development login provider and the demo chambers, so that a person can sign in
    and file through the proxy without any other setup (on a database of its own)."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    name = f"{url.database}_demo"
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    demo_url = url.set(database=name).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIZPORTAL_", "COV"))}
    command = [sys.executable, str(ROOT / "deploy" / "cluster.py"), "--dir", str(tmp_path / "demo")]
    started = subprocess.run(command + ["start", "--demo", "--database-url", demo_url, "--web", "1",
                                        "--workers", "1", "--web-processes", "1"],
                             env=env, capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, started.stderr[-3000:] + started.stdout[-2000:]
    state = json.loads(started.stdout)
    try:
        assert [p["name"] for p in state["processes"]][0] == "provider"
        company = http_login(state["url"], "anna.becker")
        mine = company.get("/antraege")
        assert mine.status_code == 200 and "Meine Anträge" in mine.get_data()
        case = next(c for c in CASES if c.id == "ausbildungsvertrag-kaufmaennisch-im-handwerk-bremen")
        reference = file_service(company, case.service, case.steps, files=case.files)
        page = company.get(f"/antraege/{reference}")
        assert page.status_code == 200 and reference in page.get_data()
    finally:
        subprocess.run(command + ["stop"], env=env, timeout=120)


def test_every_line_of_gunicorn_and_the_app_is_json_and_the_access_line_names_the_request(cluster):
    trace = "cluster-trace-4f2a9b"
    resp = requests.get(cluster["url"] + "/", headers={"X-Request-ID": trace}, timeout=10)
    assert resp.status_code == 200 and resp.headers["X-Request-ID"] == trace

    def lines() -> list[dict]:
        found = []
        for proc in cluster["processes"]:
            if proc["name"].startswith(("web", "worker")):
                for line in Path(proc["log"]).read_text().splitlines():
                    record = json.loads(line)  # every line one JSON object: gunicorn's, the app's, the worker's
                    assert {"time", "level", "logger", "message"} <= record.keys(), line
                    found.append(record)
        return found

    wait_for(lambda: any(r["logger"] == "gunicorn.access" and r.get("request_id") == trace for r in lines()),
             what="the access line of the request")
    assert any(r["logger"] == "gunicorn.error" for r in lines())  # gunicorn's own start lines, as JSON too
