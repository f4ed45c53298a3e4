"""One owner per state: the transition tables, and the paths where a delivery must wait, not fail."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from bizportal.bodies.models import Chamber
from bizportal.common.states import TransitionRefused
from bizportal.common.time import utcnow
from bizportal.delivery import claims, jobs, recording
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.sending import NEEDS_CONFIGURATION
from bizportal.delivery.states import MACHINE as DELIVERY
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing, FilingEvent
from bizportal.filings.states import CLOSED, FilingStatus
from bizportal.filings.states import MACHINE as FILING
from bizportal.inbox.models import InboxItem
from bizportal.inbox.services import DatabaseInboxStore
from tests.support.adapters import GateAdapter
from tests.support.concurrency import run_at_once
from tests.support.factories import bulk_filings, delivery_of, make_filing, set_adapter, wait_for
from tests.support.http import csrf_token

# --- the tables -----------------------------------------------------------------------------------

DELIVERY_EDGES = {
    ("pending", "sending"), ("pending", "cancelled"), ("pending", "pending"),
    ("sending", "sending"), ("sending", "delivered"), ("sending", "pending"), ("sending", "dead"),
    ("delivered", "accepted"), ("delivered", "rejected"),
    ("dead", "pending"),
}


@pytest.mark.parametrize("current,target", list(itertools.product(DeliveryState, DeliveryState)))
def test_delivery_moves_only_along_the_declared_edges(current, target):
    if (current.value, target.value) in DELIVERY_EDGES:
        assert DELIVERY.check(current, target) == target
    else:
        with pytest.raises(TransitionRefused):
            DELIVERY.check(current, target)


def test_decided_cancelled_and_accepted_deliveries_never_move_again():
    assert set(DELIVERY.terminal()) == {DeliveryState.ACCEPTED, DeliveryState.REJECTED, DeliveryState.CANCELLED}


@pytest.mark.parametrize("current", list(FilingStatus))
def test_a_closed_filing_takes_nothing_and_an_open_one_can_always_be_withdrawn(current):
    for target in FilingStatus:
        if current in CLOSED:
            assert not FILING.allowed(current, target)
    if current not in CLOSED:
        assert FILING.allowed(current, FilingStatus.WITHDRAWN)
    assert FILING.allowed(current, FilingStatus.FORWARDED) == (current == FilingStatus.SUBMITTED)


def test_a_bulk_statement_cannot_declare_an_edge_the_table_lacks():
    with pytest.raises(TransitionRefused):
        DELIVERY.edges((DeliveryState.DELIVERED,), DeliveryState.PENDING)


# --- a chamber that needs configuration -----------------------------------------------------------

def test_invalid_config_waits_without_spending_attempts_or_tripping_the_breaker(make_app, client, login_as):
    app = make_app(DELIVERY_BREAKER_THRESHOLD=1)
    set_adapter(app, "hk-bremen", "flaky", {"mode": "misconfigured"})
    filing_id = make_filing(app)
    worker = Worker(app)
    before = utcnow()
    assert worker.run_once() == 1
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.PENDING and d.attempts == 0
    assert d.last_error.startswith(NEEDS_CONFIGURATION) and "names a receiver" in d.last_error
    # It waits (for every worker) until the configuration is looked at again or changed.
    assert d.next_attempt_at >= before + timedelta(seconds=59)
    with app.app_context():
        hk = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hk-bremen"))
    assert not worker.breakers.is_open(hk)
    # The same worker does not hammer the chamber: it waits before trying it again.
    assert worker.run_once() == 0

    login_as("admin", staff=True)
    page = client.get("/staff/admin/zustellungen")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Stellen brauchen eine gültige Konfiguration" in text and "/staff/admin/kammern/hk-bremen/bearbeiten" in text

    # The admin fixes the settings: the waiting delivery is due at once and the notice is gone.
    form = client.get("/staff/admin/kammern/hk-bremen/bearbeiten").get_data(as_text=True)
    saved = client.post("/staff/admin/kammern/hk-bremen/bearbeiten", follow_redirects=True, data={
        "csrf_token": csrf_token(form), "adapter_key": "flaky", "options": '{"mode": "ok"}', "enabled": "y"})
    text = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "1 wartende Zustellung(en) werden jetzt" in text
    assert "Stellen brauchen eine gültige Konfiguration" not in text
    assert Worker(app).run_once() == 1
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 1
    page = client.get("/staff/admin/zustellungen")
    assert page.status_code == 200 and "Stellen brauchen eine gültige Konfiguration" not in page.get_data(as_text=True)


def test_inbox_options_naming_another_chamber_are_refused_when_saved_and_when_checked(app, client, login_as):
    login_as("admin", staff=True)
    form = client.get("/staff/admin/kammern/hk-bremen/bearbeiten").get_data(as_text=True)
    refused = client.post("/staff/admin/kammern/hk-bremen/bearbeiten", data={
        "csrf_token": csrf_token(form), "adapter_key": "inbox", "options": '{"chamber_slug": "hwk-bremen"}',
        "enabled": "y"})
    assert refused.status_code == 422
    assert ("option &#39;chamber_slug&#39; names &#39;hwk-bremen&#39;, not this chamber (hk-bremen)"
            in refused.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(Chamber.options).where(Chamber.slug == "hk-bremen")) == {
            "chamber_slug": "hk-bremen"}
    # Set behind the form's back (e.g. in the database): the check says what is wrong.
    set_adapter(app, "hk-bremen", "inbox", {"chamber_slug": "hwk-bremen"})
    page = client.get("/staff/admin/kammern/hk-bremen").get_data(as_text=True)
    checked = client.post("/staff/admin/kammern/hk-bremen/pruefen", data={"csrf_token": csrf_token(page)},
                          follow_redirects=True)
    assert checked.status_code == 200 and "ist fehlerhaft" in checked.get_data(as_text=True)


def test_inbox_options_naming_another_chamber_put_nothing_into_that_inbox(app):
    set_adapter(app, "hk-bremen", "inbox", {"chamber_slug": "hwk-bremen"})
    filing_id = make_filing(app)
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.PENDING and d.attempts == 0 and NEEDS_CONFIGURATION in d.last_error
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 0


def test_chamber_disabled_while_sends_are_in_flight_gets_those_and_no_more(make_app, run_worker):
    app = make_app(WORKER_THREADS=4, DELIVERY_CHAMBER_CONCURRENCY=2, WORKER_POLL_SECONDS=0.1)
    set_adapter(app, "hk-bremen", "gate", {"wait": 60})
    ids = bulk_filings(app, 4, ["hk-bremen"])
    run_worker(app)
    wait_for(lambda: GateAdapter.started == 2, what="two sends in flight")
    set_adapter(app, "hk-bremen", "gate", {"wait": 60}, enabled=False)
    GateAdapter.gate.set()

    def states():
        with app.app_context():
            return sorted(db.session.scalars(select(Delivery.state).where(Delivery.filing_id.in_(ids))))

    wait_for(lambda: states().count("delivered") == 2, what="the two sends in flight to be recorded")
    assert states() == ["delivered", "delivered", "pending", "pending"]
    assert GateAdapter.started == 2
    with app.app_context():
        waiting = db.session.scalars(select(Delivery.attempts).where(Delivery.state == DeliveryState.PENDING)).all()
    assert waiting == [0, 0]


# --- the writer and the record step ---------------------------------------------------------------

def test_outcomes_are_written_after_the_database_failed_once(app, monkeypatch):
    real = recording.record
    calls = []

    def flaky_record(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("UPDATE delivery", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    monkeypatch.setattr(recording, "record", flaky_record)
    filing_id = make_filing(app)
    assert Worker(app).run_once() == 1
    assert len(calls) == 2
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 1
    with app.app_context():
        kinds = db.session.scalars(select(FilingEvent.kind).where(FilingEvent.filing_id == filing_id)).all()
        assert sorted(kinds) == ["forwarded", "submitted"]
        assert db.session.get(Filing, filing_id).status == "forwarded"


def test_record_refuses_an_outcome_a_send_cannot_have(app):
    filing_id = make_filing(app)
    with app.app_context():
        (claim,) = claims.claim("w1", 1, app.config["SETTINGS"].delivery)
        from bizportal.delivery.sending import SendResult

        bogus = SendResult(claim.id, claim.chamber_id, "hk-bremen", filing_id, 1, DeliveryState.ACCEPTED, False)
        with pytest.raises(ValueError):
            recording.record("w1", [bogus], app.config["SETTINGS"].delivery)
    assert delivery_of(app, filing_id).state == DeliveryState.SENDING


# --- the inbox store ------------------------------------------------------------------------------

def test_inbox_store_keeps_one_item_when_the_same_delivery_races_itself(app):
    filing_id = make_filing(app)
    d = delivery_of(app, filing_id)
    with app.app_context():
        payload = jobs.payload(jobs.read_jobs([d.id])[d.id], app.extensions["bizportal"].catalog, None)
    store = DatabaseInboxStore()

    def put():
        with app.app_context():
            return store.put("hk-bremen", payload)

    results, errors = run_at_once(put, 6)
    assert errors == [] and len(results) == 6 and len(set(results)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 1


def test_inbox_store_refuses_a_chamber_it_does_not_know(app):
    from bizportal.inbox.services import UnknownChamber

    filing_id = make_filing(app)
    d = delivery_of(app, filing_id)
    with app.app_context():
        payload = jobs.payload(jobs.read_jobs([d.id])[d.id], app.extensions["bizportal"].catalog, None)
        with pytest.raises(UnknownChamber):
            DatabaseInboxStore().put("no-such-chamber", payload)
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 0


# --- refusals on the web --------------------------------------------------------------------------

def test_a_refused_transition_is_a_clear_409_page_and_nothing_changes(app):
    @app.get("/test-only/refuse")
    def refuse():
        DELIVERY.check(DeliveryState.ACCEPTED, DeliveryState.PENDING)

    @app.get("/api/test-only/refuse")
    def refuse_api():
        DELIVERY.check(DeliveryState.ACCEPTED, DeliveryState.PENDING)

    client = app.test_client()
    page = client.get("/test-only/refuse")
    assert page.status_code == 409 and "passt nicht zum aktuellen Stand" in page.get_data(as_text=True)
    api = client.get("/api/test-only/refuse")
    assert api.status_code == 409 and api.content_type == "application/problem+json"
    assert api.json["status"] == 409 and "accepted → pending" in api.json["detail"]


def test_withdrawal_cancels_only_unsent_deliveries(app):
    ids = bulk_filings(app, 1, ["hk-bremen"])
    with app.app_context():
        db.session.execute(update(Delivery).where(Delivery.filing_id == ids[0]).values(state="sending"))
        db.session.commit()
        from bizportal.delivery import services

        assert services.cancel_unsent(ids[0], "withdrawn") == 0
        db.session.commit()
    assert delivery_of(app, ids[0]).state == DeliveryState.SENDING
