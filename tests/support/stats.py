"""Test data for the statistics: a history of filings, deliveries, case work, drafts and logins
made through the real use cases, so that every rollup is written by its owner."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bizportal.auth.models import Person
from bizportal.catalog.models import ServiceDefinition
from bizportal.common.time import utcnow
from bizportal.delivery.models import Delivery
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings import lifecycle
from bizportal.filings import services as filing_services
from bizportal.filings.models import Draft, Filing
from bizportal.stats import services as stats
from tests.support.factories import complete_draft, ensure_company, make_due, make_filing, set_adapter
from tests.support.http import login


def person(sub="p1") -> Person:
    return db.session.scalar(select(Person).where(Person.sub == sub))


def new_draft(app, service_key: str, postcode="28195") -> Draft:
    service: ServiceDefinition = app.extensions["bizportal"].catalog[service_key]
    return filing_services.start_draft(person(), service, {"postcode": postcode, "handwerk": True})


def make_history(app) -> dict:
    """Filings of two services to five bodies (4 Gewerbeanmeldungen to the Gewerbeamt Bremen with a
    copy to the HWK; 3 + 1 Versicherungsvermittler to the Handelskammer Bremen, 2 to Hamburg);
    first-attempt, retried and dead deliveries; 5 decisions, 2 withdrawals, a request; drafts
    deleted, stale, and stale then submitted; 4 company logins of 2 companies."""
    ensure_company(app)
    gewerbe = [make_filing(app, "gewerbeanmeldung") for _ in range(4)]  # Gewerbeamt + copy to the HWK
    set_adapter(app, "hk-bremen", "flaky", {"mode": "temporary"})
    set_adapter(app, "hk-hamburg", "flaky", {"mode": "permanent"})
    vermittler = [make_filing(app, "versicherungsvermittler-34d") for _ in range(3)]
    dead = [make_filing(app, "versicherungsvermittler-34d", postcode="20095") for _ in range(2)]
    assert Worker(app).run_once() >= 13
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    make_due(app)
    assert Worker(app).run_once() == 3
    with app.app_context():
        now = utcnow()

        def delivery(filing_id: int, role="primary") -> Delivery:
            return db.session.scalar(select(Delivery).where(Delivery.filing_id == filing_id, Delivery.role == role))

        # the bodies act after minutes, hours and days, so the durations spread over many buckets
        for i, filing_id in enumerate(gewerbe + vermittler):
            d = delivery(filing_id)
            lifecycle.apply_chamber_event(d.id, "received", occurred_at=d.delivered_at + timedelta(minutes=7 * i + 1))
        copy = delivery(gewerbe[0], "copy")
        lifecycle.apply_chamber_event(copy.id, "received", occurred_at=copy.delivered_at + timedelta(hours=5))
        for i, filing_id in enumerate(gewerbe[:3] + vermittler[:2]):
            d = delivery(filing_id)
            kind = "rejected" if i % 2 else "accepted"
            lifecycle.apply_chamber_event(d.id, kind, detail="Begründung",
                                          occurred_at=now + timedelta(days=i, hours=3 * i + 1))
        lifecycle.apply_chamber_event(delivery(vermittler[2]).id, "information_requested", detail="Bitte Nachweis")
        lifecycle.withdraw(db.session.get(Filing, gewerbe[3]), person(), "nicht mehr nötig")
        lifecycle.withdraw(db.session.get(Filing, dead[0]), person(), None)

        # drafts: one deleted at its first step, one left untouched for 40 days, one stale and then submitted
        deleted = new_draft(app, "gewerbeanmeldung")
        filing_services.delete_draft(deleted, app.extensions["bizportal"].storage)
        stale = new_draft(app, "versicherungsvermittler-34d")
        resumed = new_draft(app, "versicherungsvermittler-34d")
        resumed_id = resumed.id
        db.session.execute(update(Draft).where(Draft.id.in_([stale.id, resumed.id]))
                           .values(updated_at=now - timedelta(days=40)))
        db.session.commit()
        assert stats.abandon_stale_drafts(30) == 2
        assert stats.abandon_stale_drafts(30) == 0  # counted once
        service = app.extensions["bizportal"].catalog["versicherungsvermittler-34d"]
        resumed = db.session.get(Draft, resumed_id)
        complete_draft(person(), service, resumed)
        filing_services.submit_draft(resumed, person(), service)
    for sub in ("anna.becker", "jonas.weber", "anna.becker", "lea.hansen"):
        fresh = app.test_client()
        assert login(fresh, sub).status_code == 302
    return {"drafts_started": 4 + 3 + 2 + 3}
