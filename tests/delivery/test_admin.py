"""Admin pages: problem deliveries and re-send, chambers, configuration check and editing."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from bizportal.bodies.models import Chamber
from bizportal.bodies.settings import MASK
from bizportal.delivery.models import DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from tests.support.adapters import SECRET
from tests.support.factories import bulk_filings, delivery_of, make_filing, set_adapter
from tests.support.http import csrf_token

PAGES = ["/staff/admin/zustellungen", "/staff/admin/zustellungen/probleme", "/staff/admin/kammern",
         "/staff/admin/kammern/hk-bremen", "/staff/admin/kammern/hk-bremen/bearbeiten"]


@pytest.fixture
def admin(client, login_as):
    login_as("admin", staff=True)
    return client


def chamber(app, slug) -> Chamber:
    with app.app_context():
        c = db.session.scalar(select(Chamber).where(Chamber.slug == slug))
        db.session.expunge(c)
        return c


def test_only_admins_open_the_delivery_pages(client, login_as):
    for path in PAGES:
        assert "/staff/login" in client.get(path).headers["Location"]
    login_as("hk.bremen", staff=True)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post("/staff/admin/zustellungen/erneut-senden").status_code in (400, 403)


def test_dead_and_failing_deliveries_are_listed_with_their_reason(app, admin):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    set_adapter(app, "hwk-bremen", "flaky", {"mode": "temporary"})
    dead = make_filing(app)
    failing = make_filing(app, service_key="gewerbeanmeldung")  # Gewerbeamt (ok) + HWK copy (failing)
    Worker(app).run_once()
    page = admin.get("/staff/admin/zustellungen/probleme")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    with app.app_context():
        from bizportal.filings.models import Filing

        refs = {f.id: f.reference for f in db.session.scalars(select(Filing))}
    assert refs[dead] in html and refs[failing] in html
    assert "Handelskammer Bremen" in html and "Handwerkskammer Bremen" in html
    assert "PermanentFailure: receiver answered 422: unknown service" in html
    assert "TemporaryFailure: receiver answered 503" in html
    assert "Traceback" not in html  # only the first line
    assert 'name="csrf_token"' in html
    only_dead = admin.get("/staff/admin/zustellungen/probleme?zustand=dead").get_data(as_text=True)
    assert refs[dead] in only_dead and refs[failing] not in only_dead
    per_chamber = admin.get("/staff/admin/zustellungen/probleme?kammer=hwk-bremen").get_data(as_text=True)
    assert refs[failing] in per_chamber and refs[dead] not in per_chamber
    assert admin.get("/staff/admin/zustellungen/probleme?kammer=nope").status_code == 404


def test_resend_many_requeues_dead_ones_and_leaves_delivered_alone(app, admin):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    first, second = make_filing(app), make_filing(app)
    Worker(app).run_once()
    ok = make_filing(app, service_key="gewerbeanmeldung")
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    Worker(app).run_once()
    dead_ids = [delivery_of(app, first).id, delivery_of(app, second).id]
    delivered = delivery_of(app, ok)
    assert delivered.state == DeliveryState.DELIVERED

    page = admin.get("/staff/admin/zustellungen/probleme")
    token = csrf_token(page.get_data(as_text=True))
    resp = admin.post("/staff/admin/zustellungen/erneut-senden",
                      data={"csrf_token": token, "ids": [str(i) for i in dead_ids] + [str(delivered.id), "junk"],
                            "next": "/staff/admin/zustellungen/probleme?zustand=dead"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/staff/admin/zustellungen/probleme?zustand=dead")
    follow = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "2 Zustellung(en) werden erneut gesendet" in follow
    assert "1 Zustellung(en) wurden nicht verändert" in follow
    for filing_id in (first, second):
        d = delivery_of(app, filing_id)
        assert d.state == DeliveryState.PENDING and d.attempts == 0
    after = delivery_of(app, ok)
    assert (after.state, after.attempts, after.delivered_at) == (
        delivered.state, delivered.attempts, delivered.delivered_at)
    assert Worker(app).run_once() == 2
    assert delivery_of(app, first).state == DeliveryState.DELIVERED


def test_resend_one_with_its_own_button(app, admin):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    first, second = make_filing(app), make_filing(app)
    Worker(app).run_once()
    page = admin.get("/staff/admin/kammern/hk-bremen")
    html = page.get_data(as_text=True)
    one = delivery_of(app, first).id
    assert f'name="one" value="{one}"' in html
    resp = admin.post("/staff/admin/zustellungen/erneut-senden",
                      data={"csrf_token": csrf_token(html), "one": str(one), "ids": [str(delivery_of(app, second).id)],
                            "next": "https://evil.example/"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/admin/zustellungen/probleme")
    assert delivery_of(app, first).state == DeliveryState.PENDING
    assert delivery_of(app, second).state == DeliveryState.DEAD


def test_resend_without_csrf_token_is_refused(app, admin):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    filing_id = make_filing(app)
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    resp = admin.post("/staff/admin/zustellungen/erneut-senden", data={"ids": [str(d.id)]})
    assert resp.status_code == 400
    assert delivery_of(app, filing_id).state == DeliveryState.DEAD


def test_overview_and_chamber_page_show_the_numbers(app, admin):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    make_filing(app)
    Worker(app).run_once()
    bulk_filings(app, 3, ["hk-bremen"])
    html = admin.get("/staff/admin/zustellungen").get_data(as_text=True)
    assert "Handelskammer Bremen" in html and "Handwerkskammer Bremen" in html
    row = re.search(r"Handelskammer Bremen – IHK.*?</tr>", html, re.S).group(0)
    cells = re.findall(r'kern-table__cell--numeric">(?:<a[^>]*>)?(\d+)', row)
    assert cells == ["3", "0", "0", "0", "1"]  # due, in flight, delivered, failing, dead
    detail = admin.get("/staff/admin/kammern/hk-bremen").get_data(as_text=True)
    assert "receiver answered 422" in detail and "Konfiguration prüfen" in detail
    assert admin.get("/staff/admin/kammern/nope").status_code == 404


def test_check_configuration_button_shows_the_adapters_verdict(app, admin):
    set_adapter(app, "hk-bremen", "webhook", {"url": "http://chamber.example/hook", "secret": SECRET})
    page = admin.get("/staff/admin/kammern")
    html = page.get_data(as_text=True)
    assert "Konfiguration prüfen" in html and "Webhook (JSON über HTTPS)" in html
    token = csrf_token(html)
    resp = admin.post("/staff/admin/kammern/hk-bremen/pruefen",
                      data={"csrf_token": token, "next": "/staff/admin/kammern"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/admin/kammern")
    html = admin.get("/staff/admin/kammern").get_data(as_text=True)
    assert "ist fehlerhaft" in html and "must be an https URL" in html
    resp = admin.post("/staff/admin/kammern/hwk-bremen/pruefen", data={"csrf_token": token})
    html = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Die Konfiguration von Handwerkskammer Bremen ist in Ordnung." in html
    assert admin.post("/staff/admin/kammern/hwk-bremen/pruefen", data={}).status_code == 400


def test_edit_refuses_options_the_adapter_does_not_accept(app, admin):
    before = chamber(app, "hk-bremen")
    form = admin.get("/staff/admin/kammern/hk-bremen/bearbeiten").get_data(as_text=True)
    token = csrf_token(form)
    post = lambda **data: admin.post("/staff/admin/kammern/hk-bremen/bearbeiten",  # noqa: E731
                                     data={"csrf_token": token, "enabled": "y", **data})
    resp = post(adapter_key="webhook", options='{"url": "https://hk.example/hook", ')
    assert resp.status_code == 422 and "Kein gültiges JSON" in resp.get_data(as_text=True)
    resp = post(adapter_key="webhook", options='["not", "an", "object"]')
    assert resp.status_code == 422 and "JSON-Objekt" in resp.get_data(as_text=True)
    resp = post(adapter_key="webhook", options='{"url": "https://hk.example/hook", "secret": "short"}')
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "at least 16 characters" in html and 'id="options-error"' in html
    resp = post(adapter_key="webhook",
                options=json.dumps({"url": "https://hk.example/hook", "secret": SECRET, "colour": 1}))
    assert resp.status_code == 422 and "unknown option" in resp.get_data(as_text=True)
    resp = post(adapter_key="no-such", options="{}")
    assert resp.status_code == 422
    after = chamber(app, "hk-bremen")
    assert (after.adapter_key, after.options, after.enabled) == (before.adapter_key, before.options, before.enabled)


def test_edit_saves_valid_options_and_keeps_masked_secrets(app, admin):
    form = admin.get("/staff/admin/kammern/hk-bremen/bearbeiten").get_data(as_text=True)
    token = csrf_token(form)
    resp = admin.post("/staff/admin/kammern/hk-bremen/bearbeiten", data={
        "csrf_token": token, "adapter_key": "webhook",
        "options": json.dumps({"url": "https://hk.example/hook", "secret": SECRET, "timeout_seconds": 5})})
    assert resp.status_code == 302
    saved = chamber(app, "hk-bremen")
    assert saved.adapter_key == "webhook" and saved.options["secret"] == SECRET and saved.enabled is False
    # The secret is never shown again, and saving the masked value keeps it.
    form = admin.get("/staff/admin/kammern/hk-bremen/bearbeiten").get_data(as_text=True)
    assert SECRET not in form and MASK in form
    detail = admin.get("/staff/admin/kammern/hk-bremen")
    assert detail.status_code == 200 and SECRET not in detail.get_data(as_text=True)
    resp = admin.post("/staff/admin/kammern/hk-bremen/bearbeiten", data={
        "csrf_token": token, "adapter_key": "webhook", "enabled": "y",
        "options": json.dumps({"url": "https://hk2.example/hook", "secret": MASK, "timeout_seconds": 5})})
    assert resp.status_code == 302
    saved = chamber(app, "hk-bremen")
    assert saved.options == {"url": "https://hk2.example/hook", "secret": SECRET, "timeout_seconds": 5}
    assert saved.enabled is True
