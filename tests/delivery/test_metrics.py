"""Delivery metrics: the Prometheus endpoint and its protection."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from bizportal.common.time import utcnow
from bizportal.config import DeliverySettings
from bizportal.delivery import claims, queries
from bizportal.delivery.models import Delivery
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from tests.support.factories import bulk_filings, make_filing, set_adapter

TOKEN = "prometheus-scrape-token-123"


def sample(text: str, name: str, chamber: str) -> float:
    match = re.search(rf'^{name}{{chamber="{chamber}",adapter="[^"]*"}} ([0-9.]+)$', text, re.M)
    assert match, f"{name} for {chamber} missing"
    return float(match.group(1))


def test_metrics_endpoint_is_hidden_without_a_configured_token(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_metrics_endpoint_needs_the_bearer_token(make_app):
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        resp = client.get("/metrics", headers=headers)
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert "bizportal" not in resp.get_data(as_text=True)
    resp = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")


def test_metrics_count_due_in_flight_delivered_failing_dead_per_chamber(make_app):
    # The failing delivery's retry lies an hour ahead: on a loaded machine the suite's 1 s backoff
    # passed before the claim below, which then took the retry too (in flight instead of failing).
    app = make_app(METRICS_TOKEN=TOKEN, DELIVERY_BACKOFF_BASE_SECONDS=3600.0)
    set_adapter(app, "hwk-bremen", "flaky", {"mode": "permanent"})
    set_adapter(app, "gewerbeamt-bremen", "flaky", {"mode": "temporary"})
    make_filing(app, service_key="gewerbeanmeldung")  # Gewerbeamt: failing; HWK copy: dead
    make_filing(app)  # Handelskammer: delivered
    Worker(app).run_once()
    bulk_filings(app, 3, ["hk-bremen"])  # due
    in_flight = bulk_filings(app, 2, ["hk-hamburg"])
    with app.app_context():
        claims.claim("metrics-test-worker", 10, DeliverySettings())
        db.session.execute(update(Delivery).where(Delivery.filing_id == in_flight[0])
                           .values(locked_until=utcnow() - timedelta(seconds=5)))  # orphaned: due again
        db.session.commit()
    text = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True)
    assert "# TYPE bizportal_delivery_due gauge" in text
    assert "# TYPE bizportal_deliveries_delivered_total counter" in text
    expected = {
        "hk-bremen": dict(due=0, in_flight=3, failing=0, dead=0, delivered=1),
        "hk-hamburg": dict(due=1, in_flight=1, failing=0, dead=0, delivered=0),
        "hwk-bremen": dict(due=0, in_flight=0, failing=0, dead=1, delivered=0),
        "gewerbeamt-bremen": dict(due=0, in_flight=0, failing=1, dead=0, delivered=0),
    }
    for slug, values in expected.items():
        assert sample(text, "bizportal_delivery_due", slug) == values["due"], slug
        assert sample(text, "bizportal_delivery_in_flight", slug) == values["in_flight"], slug
        assert sample(text, "bizportal_delivery_failing", slug) == values["failing"], slug
        assert sample(text, "bizportal_delivery_dead", slug) == values["dead"], slug
        assert sample(text, "bizportal_deliveries_delivered_total", slug) == values["delivered"], slug
    assert sample(text, "bizportal_delivery_oldest_due_seconds", "hk-hamburg") > 0


def test_label_values_are_escaped():
    m = queries.ChamberMetrics(1, 'a"b\\c', "x", "inbox\n", True, due=2)
    text = queries.prometheus_text([m])
    assert 'bizportal_delivery_due{chamber="a\\"b\\\\c",adapter="inbox\\n"} 2' in text
