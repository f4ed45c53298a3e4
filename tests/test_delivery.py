"""The outbox worker, the adapter registry and the inbox adapter."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from importlib.metadata import EntryPoint

import pytest
from sqlalchemy import func, select, update

from bizportal.auth.models import Company, Person
from bizportal.common.time import utcnow
from bizportal.delivery import services
from bizportal.delivery.models import Chamber, Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.filings.services import start_draft, submit_draft
from bizportal.inbox.models import InboxItem
from chambers.base import Adapter, DeliveryResult, InvalidConfig, PermanentFailure, TemporaryFailure
from chambers.inbox import InboxAdapter
from chambers.registry import AdapterRegistry, DuplicateAdapter, UnknownAdapter


class FlakyAdapter(Adapter):
    """Test adapter: fails the way the chamber's options say."""

    key = "flaky"
    label = "Flaky (tests)"
    calls: list[str] = []

    def deliver(self, payload, options):
        FlakyAdapter.calls.append(payload.reference)
        mode = options.get("mode")
        if mode == "temporary":
            raise TemporaryFailure("receiver answered 503")
        if mode == "permanent":
            raise PermanentFailure("receiver answered 422: unknown service")
        if mode == "crash":
            raise RuntimeError("bug in adapter")
        return DeliveryResult(receiver_ref="ext-1")

    def validate_options(self, options):
        return dict(options or {})


@pytest.fixture
def registry():
    reg = AdapterRegistry()
    reg.register(InboxAdapter)
    reg.register(FlakyAdapter)
    FlakyAdapter.calls = []
    return reg


@pytest.fixture
def app(app_factory, registry):
    from bizportal import create_app  # noqa: F401

    app = app_factory()
    app.extensions["bizportal"].registry = registry
    return app


def make_filing(app, service_key="versicherungsvermittler-34d", postcode="28195") -> int:
    """A submitted filing by a test company, through the real draft and submit use cases."""
    with app.app_context():
        company = db.session.scalar(select(Company).where(Company.org_id == "org-test"))
        if company is None:
            company = Company(issuer="http://issuer", org_id="org-test", name="Test GmbH", postcode=postcode)
            db.session.add(company)
            db.session.flush()
            db.session.add(Person(issuer="http://issuer", sub="p1", company_id=company.id, name="P"))
            db.session.commit()
        person = db.session.scalar(select(Person).where(Person.sub == "p1"))
        service = app.extensions["bizportal"].catalog[service_key]
        answers = {"postcode": postcode, "handwerk": True}
        draft = start_draft(person, service, answers)
        draft.completed_steps = [s.key for s in service.steps]
        db.session.commit()
        return submit_draft(draft, person, service).filing.id


def set_adapter(app, slug, key, options):
    with app.app_context():
        db.session.execute(update(Chamber).where(Chamber.slug == slug).values(adapter_key=key, options=options))
        db.session.commit()


def delivery_of(app, filing_id) -> Delivery:
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.filing_id == filing_id))
        db.session.expunge(d)
        return d


def test_worker_delivers_into_the_chamber_inbox(app):
    filing_id = make_filing(app)
    assert Worker(app).run_once() == 1
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 1 and d.delivered_at
    with app.app_context():
        item = db.session.scalar(select(InboxItem))
        assert item.chamber.slug == "hk-bremen" and item.delivery_id == d.id
        assert db.session.get(Filing, filing_id).status == "forwarded"
    assert Worker(app).run_once() == 0  # nothing left to do


def test_inbox_store_keeps_one_copy_per_delivery_id(app):
    filing_id = make_filing(app)
    d = delivery_of(app, filing_id)
    with app.app_context():
        filing = db.session.get(Filing, filing_id)
        delivery = db.session.get(Delivery, d.id)
        payload = services.build_payload(delivery, app.extensions["bizportal"].catalog[filing.service_key])
        adapter = app.extensions["bizportal"].registry.create("inbox", app.extensions["bizportal"].adapter_services)
        first = adapter.deliver(payload, {"chamber_slug": "hk-bremen"})
        second = adapter.deliver(payload, {"chamber_slug": "hk-bremen"})
        assert first.receiver_ref == second.receiver_ref
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 1


def test_temporary_failure_is_retried_later_with_backoff(app):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "temporary"})
    filing_id = make_filing(app)
    before = utcnow()
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.PENDING and d.attempts == 1
    assert "503" in d.last_error and d.locked_by is None
    assert d.next_attempt_at > before
    assert Worker(app).run_once() == 0  # not due yet
    # The receiver is back and the delivery is due: it goes through.
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    with app.app_context():
        db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))
        db.session.commit()
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 2 and d.receiver_ref == "ext-1"


def test_permanent_failure_is_dead_at_once_with_reason(app):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    filing_id = make_filing(app)
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DEAD and d.attempts == 1
    assert "422: unknown service" in d.last_error and "Traceback" in d.last_error


def test_attempt_cap_ends_in_dead(app_factory, registry):
    app = app_factory(DELIVERY_MAX_ATTEMPTS=2)
    app.extensions["bizportal"].registry = registry
    set_adapter(app, "hk-bremen", "flaky", {"mode": "crash"})
    filing_id = make_filing(app)
    for _ in range(2):
        with app.app_context():
            db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))
            db.session.commit()
        Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DEAD and d.attempts == 2 and "bug in adapter" in d.last_error


def test_unknown_adapter_key_is_dead_not_retried_forever(app):
    set_adapter(app, "hk-bremen", "no-such-adapter", {})
    filing_id = make_filing(app)
    Worker(app).run_once()
    assert delivery_of(app, filing_id).state == DeliveryState.DEAD


def test_expired_lease_of_a_dead_worker_is_taken_over(app):
    filing_id = make_filing(app)
    settings = services.DeliverySettings(lease_seconds=60)
    with app.app_context():
        claimed = services.claim_due_deliveries("crashed-worker", 10, settings)
        assert len(claimed) == 1
        # The worker dies here. While its lease runs, nobody else takes the row.
        assert services.claim_due_deliveries("other", 10, settings) == []
        db.session.execute(update(Delivery).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert Worker(app, worker_id="other").run_once() == 1
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 1


def test_outcome_of_a_worker_that_lost_its_lease_is_not_written(app):
    filing_id = make_filing(app)
    settings = services.DeliverySettings()
    ext = app.extensions["bizportal"]
    with app.app_context():
        (delivery_id,) = services.claim_due_deliveries("slow-worker", 10, settings)
        db.session.execute(update(Delivery).values(locked_by="someone-else"))
        db.session.commit()
        assert services.deliver_one(delivery_id, "slow-worker", ext.registry, ext.adapter_services,
                                    ext.catalog, settings) == "lost"
    assert delivery_of(app, filing_id).state == DeliveryState.SENDING


def test_resend_makes_dead_delivery_due_and_leaves_delivered_alone(app):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "permanent"})
    filing_id = make_filing(app)
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    with app.app_context():
        assert services.resend(d.id) is True
    Worker(app).run_once()
    assert delivery_of(app, filing_id).state == DeliveryState.DELIVERED
    with app.app_context():
        assert services.resend(d.id) is False
    assert Worker(app).run_once() == 0
    assert FlakyAdapter.calls.count(FlakyAdapter.calls[0]) == 2


def test_failing_chamber_does_not_block_another(app):
    set_adapter(app, "gewerbeamt-bremen", "flaky", {"mode": "temporary"})
    filing_id = make_filing(app, service_key="gewerbeanmeldung")
    Worker(app).run_once()
    with app.app_context():
        states = dict(db.session.execute(
            select(Chamber.slug, Delivery.state).join(Delivery.chamber).where(Delivery.filing_id == filing_id)
        ).all())
    assert states == {"gewerbeamt-bremen": "pending", "hwk-bremen": "delivered"}


def test_worker_cli_once_drains_due_deliveries(app):
    make_filing(app)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "1 delivery attempt(s) made" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 1


# --- the registry -------------------------------------------------------------------------------

def test_registry_discovers_inbox_through_entry_points():
    reg = AdapterRegistry()
    reg.discover()
    assert "inbox" in reg.keys()
    assert reg.get_class("inbox") is InboxAdapter


def test_registry_refuses_duplicate_keys():
    reg = AdapterRegistry()
    reg.register(InboxAdapter)

    class Impostor(InboxAdapter):
        key = "inbox"

    with pytest.raises(DuplicateAdapter):
        reg.register(Impostor)


def test_registry_logs_and_skips_adapter_that_fails_to_load(caplog):
    reg = AdapterRegistry()
    eps = [
        EntryPoint(name="broken", value="no_such_module_xyz:Adapter", group="bizportal.chambers"),
        EntryPoint(name="inbox", value="chambers.inbox:InboxAdapter", group="bizportal.chambers"),
    ]
    with caplog.at_level(logging.ERROR):
        reg.discover(eps)
    assert reg.keys() == ["inbox"]
    assert "skipping chamber adapter 'broken'" in caplog.text


def test_unknown_adapter_lookup_raises():
    with pytest.raises(UnknownAdapter):
        AdapterRegistry().create("nope")


def test_inbox_options_are_validated():
    adapter = InboxAdapter(services={"inbox_store": object()})
    with pytest.raises(InvalidConfig, match="chamber_slug"):
        adapter.check_config({})
    with pytest.raises(InvalidConfig, match="unknown option"):
        adapter.check_config({"chamber_slug": "x", "url": "http://"})
    adapter.check_config({"chamber_slug": "hk-bremen"})


def test_stopping_worker_releases_claimed_but_unsent_deliveries(app, registry):
    for _ in range(3):
        make_filing(app)
    worker = Worker(app)

    class StopAfterFirst(FlakyAdapter):
        def deliver(self, payload, options):
            worker.stop()  # SIGTERM arrives while the first delivery is in flight
            return super().deliver(payload, options)

    registry._classes["flaky"] = StopAfterFirst
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    assert worker.run_once() == 1
    with app.app_context():
        states = sorted(db.session.scalars(select(Delivery.state)))
        assert states == ["delivered", "pending", "pending"]
        assert db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.locked_by.isnot(None))) == 0
        assert sorted(db.session.scalars(select(Delivery.attempts))) == [0, 0, 1]
