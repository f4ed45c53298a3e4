"""docs/api_client.py, run as a chamber would run it, against the portal on a real HTTP port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.api import PDF, make_client

CLIENT = Path(__file__).resolve().parents[2] / "docs" / "api_client.py"


def _run(live_server, creds, tmp_path, *extra):
    env = {**os.environ, "BIZPORTAL_CLIENT_SECRET": creds.secret}
    done = subprocess.run([sys.executable, str(CLIENT), "--base-url", live_server, "--client-id", creds.client_id,
                           "--cursor-file", str(tmp_path / "cursor"), *extra],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_example_client_pulls_acknowledges_and_decides(app, client, filed, live_server, tmp_path):
    creds = make_client(app, "gewerbeamt-bremen")
    decision = tmp_path / "Gewerbeschein.pdf"
    decision.write_bytes(PDF)
    assert _run(live_server, creds, tmp_path, "--accept-with", str(decision)) == [filed]
    with app.app_context():
        assert db.session.scalar(select(Filing.status).where(Filing.reference == filed)) == "accepted"
    # the company sees the decision and its document on the filing's page
    page = client.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Die Anzeige ist eingetragen." in page and "Gewerbeschein.pdf" in page
    # the next run starts behind the cursor: nothing is handled twice
    assert _run(live_server, creds, tmp_path) == []


def test_a_first_run_skips_what_was_already_worked_in_the_portal(app, client, filed, live_server, tmp_path):
    """A filing decided in the portal before the system first pulls: no step is open for it, and
    the run ends normally and keeps its cursor (it used to stop at a 409 and never get past it)."""
    from tests.support.casework import item_path, staff_client, take_step

    clerk = staff_client(app, "gewerbeamt.bremen")
    assert take_step(clerk, item_path(clerk, filed), "rejected", "Zuständig ist Bremerhaven.").status_code == 302
    creds = make_client(app, "gewerbeamt-bremen")
    decision = tmp_path / "Gewerbeschein.pdf"
    decision.write_bytes(PDF)
    assert _run(live_server, creds, tmp_path, "--accept-with", str(decision)) == [filed]
    assert (tmp_path / "cursor").read_text().strip()
    with app.app_context():
        assert db.session.scalar(select(Filing.status).where(Filing.reference == filed)) == "rejected"


def test_the_example_client_without_a_secret_says_where_to_put_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "BIZPORTAL_CLIENT_SECRET"}
    done = subprocess.run([sys.executable, str(CLIENT), "--base-url", "http://127.0.0.1:9", "--client-id", "x"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == 2 and "BIZPORTAL_CLIENT_SECRET" in done.stderr
