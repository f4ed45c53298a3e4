"""Admin pages: problem deliveries and re-send, chambers, configuration check and editing."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bizportal.audit.models import AuditEvent
from bizportal.bodies.models import Chamber
from bizportal.bodies.settings import MASK
from bizportal.common.time import utcnow
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from tests.support.adapters import SECRET
from tests.support.factories import bulk_filings, deliveries, delivery_of, make_filing, set_adapter
from tests.support.http import csrf_token

PAGES = ["/staff/admin/zustellungen", "/staff/admin/zustellungen/probleme", "/staff/admin/kammern",
         "/staff/admin/kammern/hk-bremen", "/staff/admin/kammern/hk-bremen/bearbeiten",
         "/staff/admin/zustellungen/probleme/alle-erneut-senden?zustand=dead"]
RESEND_ALL = "/staff/admin/zustellungen/probleme/alle-erneut-senden"


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


def test_only_admins_resend_all(app, client, login_as):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    filing_id = make_filing(app)
    Worker(app).run_once()
    login_as("hk.bremen", staff=True)
    token = csrf_token(client.get("/staff/posteingang").get_data(as_text=True))  # the logout form's token
    assert client.get(RESEND_ALL + "?zustand=dead").status_code == 403
    assert client.post(RESEND_ALL, data={"csrf_token": token, "zustand": "dead", "kammer": ""}).status_code == 403
    assert delivery_of(app, filing_id).state == DeliveryState.DEAD


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


def _set_state(app, filing_ids, **values):
    with app.app_context():
        db.session.execute(update(Delivery).where(Delivery.filing_id.in_(filing_ids)).values(**values))
        db.session.commit()


def _requeued(app, slug) -> int:
    """Deliveries of a chamber that a re-send made due (pending, no attempt yet)."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Delivery).join(Chamber)
                                 .where(Chamber.slug == slug, Delivery.state == DeliveryState.PENDING,
                                        Delivery.attempts == 0)) or 0


def test_resend_all_dead_of_one_chamber_requeues_exactly_those(app, admin):
    dead_here = bulk_filings(app, 1000, ["hk-bremen"])
    dead_elsewhere = bulk_filings(app, 300, ["hwk-bremen", "hk-hamburg"])
    failing_here = bulk_filings(app, 20, ["hk-bremen"])
    delivered_here = bulk_filings(app, 30, ["hk-bremen"])
    later = utcnow() + timedelta(days=365)
    _set_state(app, dead_here + dead_elsewhere, state=DeliveryState.DEAD, attempts=12, last_error="boom")
    _set_state(app, failing_here, attempts=3, last_error="TemporaryFailure: 503", next_attempt_at=later)
    _set_state(app, delivered_here, state=DeliveryState.DELIVERED, attempts=1, delivered_at=utcnow())

    listing = admin.get("/staff/admin/zustellungen/probleme?zustand=dead&kammer=hk-bremen").get_data(as_text=True)
    assert "Alle 1000 passenden erneut senden" in listing
    assert RESEND_ALL + "?zustand=dead&amp;kammer=hk-bremen" in listing
    page = admin.get(RESEND_ALL + "?zustand=dead&kammer=hk-bremen")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Zu diesem Filter passen jetzt 1000 Zustellung(en)." in html
    assert "Handelskammer Bremen" in html and "gescheitert" in html and "Die Zahl kann sich noch ändern" in html
    assert _requeued(app, "hk-bremen") == 0  # the confirmation changes nothing

    resp = admin.post(RESEND_ALL, data={"csrf_token": csrf_token(html), "zustand": "dead", "kammer": "hk-bremen",
                                        "angezeigt": "1000"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/staff/admin/zustellungen/probleme?zustand=dead&kammer=hk-bremen")
    follow = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "1000 Zustellung(en) werden erneut gesendet." in follow
    assert "Bei der Bestätigung passten" not in follow

    here = {d.filing_id: d for d in deliveries(app)}
    assert all(here[f].state == DeliveryState.PENDING and here[f].attempts == 0 for f in dead_here)
    assert all(here[f].next_attempt_at <= utcnow() for f in dead_here)
    assert all((here[f].state, here[f].attempts) == (DeliveryState.DEAD, 12) for f in dead_elsewhere)
    assert all((here[f].attempts, here[f].next_attempt_at) == (3, later) for f in failing_here)
    assert all((here[f].state, here[f].attempts) == (DeliveryState.DELIVERED, 1) for f in delivered_here)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "delivery_resend_all"))
    assert event.target == "zustand=dead kammer=hk-bremen" and event.detail == "requeued=1000 confirmed=1000"
    assert event.actor.startswith("staff:")


def test_resend_all_takes_the_rows_that_match_when_it_is_sent(app, admin):
    first = bulk_filings(app, 5, ["hk-bremen", "hwk-bremen"])
    _set_state(app, first, state=DeliveryState.DEAD, last_error="boom")
    html = admin.get(RESEND_ALL + "?zustand=all").get_data(as_text=True)
    assert "Zu diesem Filter passen jetzt 5 Zustellung(en)." in html and "alle Stellen" in html
    more = bulk_filings(app, 2, ["hk-hamburg"])
    _set_state(app, more, last_error="TemporaryFailure: 503", attempts=4)  # failing: matches "all" too
    resp = admin.post(RESEND_ALL, data={"csrf_token": csrf_token(html), "zustand": "all", "kammer": "",
                                        "angezeigt": "5"})
    follow = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "7 Zustellung(en) werden erneut gesendet." in follow
    assert "Bei der Bestätigung passten 5 Zustellung(en); erneut gesendet wurden die 7" in follow
    assert all(d.attempts == 0 and d.state == DeliveryState.PENDING for d in deliveries(app))


def test_resend_all_without_csrf_token_or_filter_changes_nothing(app, admin):
    filings = bulk_filings(app, 3, ["hk-bremen"])
    _set_state(app, filings, state=DeliveryState.DEAD, last_error="boom")
    html = admin.get(RESEND_ALL + "?zustand=dead").get_data(as_text=True)
    assert admin.post(RESEND_ALL, data={"zustand": "dead", "kammer": ""}).status_code == 400
    assert admin.post(RESEND_ALL, data={"csrf_token": "forged", "zustand": "dead", "kammer": ""}).status_code == 400
    token = csrf_token(html)
    assert admin.post(RESEND_ALL, data={"csrf_token": token}).status_code == 400  # no filter: not "all"
    assert admin.post(RESEND_ALL, data={"csrf_token": token, "zustand": "dead"}).status_code == 400
    assert admin.post(RESEND_ALL, data={"csrf_token": token, "zustand": "everything",
                                        "kammer": ""}).status_code == 400
    assert admin.post(RESEND_ALL, data={"csrf_token": token, "zustand": "dead", "kammer": "nope"}).status_code == 404
    assert admin.get(RESEND_ALL + "?kammer=nope").status_code == 404
    assert all(d.state == DeliveryState.DEAD for d in deliveries(app))


def test_resend_all_with_nothing_matching_says_so(app, admin):
    html = admin.get(RESEND_ALL + "?zustand=dead&kammer=hk-bremen").get_data(as_text=True)
    assert "Zu diesem Filter passt jetzt keine Zustellung." in html and "resend-all-form" not in html
    assert "alle-erneut-senden" not in admin.get("/staff/admin/zustellungen/probleme").get_data(as_text=True)
    resp = admin.post(RESEND_ALL, data={"csrf_token": csrf_token(html), "zustand": "dead", "kammer": "hk-bremen"})
    follow = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Keine Zustellung passte zum Filter; nichts wurde verändert." in follow
