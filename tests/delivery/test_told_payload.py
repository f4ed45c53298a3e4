"""What every receiver of a filing is told: who filed (as at submit), how securely they logged in,
the service's LeiKa key and every receiving body of the filing."""

from __future__ import annotations

from sqlalchemy import select, update

from bizportal.auth.models import Person
from bizportal.bodies.models import Chamber
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing
from chambers.base import ActingPerson
from chambers.wire import payload_to_dict
from tests.support.adapters import SECRET, webhook_options
from tests.support.factories import set_adapter
from tests.support.filing import file_service, gewerbe_answers
from tests.support.payloads import build_payload
from tests.support.receivers.webhook_receiver import webhook_receiver

AMT, HWK = "gewerbeamt-bremen", "hwk-bremen"
RECEIVERS = [{"role": "primary", "slug": AMT, "name": "Gewerbeamt Bremen (Stadtamt)"},
             {"role": "copy", "slug": HWK, "name": "Handwerkskammer Bremen"}]


def _delivery_ids(app, reference: str) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(
            select(Chamber.slug, Delivery.id).join(Filing, Filing.id == Delivery.filing_id)
            .join(Chamber, Chamber.id == Delivery.chamber_id).where(Filing.reference == reference))
        return {slug: str(did) for slug, did in rows}


def test_each_receiver_learns_who_filed_how_securely_and_who_else_received_it(app, client, login_as):
    login_as("anna.becker")
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, AMT, "webhook", webhook_options(url))
        set_adapter(app, HWK, "webhook", webhook_options(url))
        reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
        # the account changes after the submit: the receivers are told what held when she filed
        with app.app_context():
            db.session.execute(update(Person).where(Person.sub == "anna.becker")
                               .values(name="Anna Meier", email="anna.meier@example.org"))
            db.session.commit()
        Worker(app).run_once()
    ids = _delivery_ids(app, reference)
    assert set(ids) == {AMT, HWK}
    for slug in (AMT, HWK):
        body = state.stored[ids[slug]]["body"]
        assert body["acting_person"] == {"name": "Anna Becker", "email": "anna.becker@becker-elektro.example",
                                         "subject": "anna.becker", "issuer": body["acting_person"]["issuer"]}
        assert body["acting_person"]["issuer"].startswith("http")
        assert body["trust_level"] == "substantial"
        assert body["leika"] == "99050012104000"
        assert body["receivers"] == RECEIVERS
    with app.app_context():
        assert {d.state for d in db.session.scalars(select(Delivery))} == {DeliveryState.DELIVERED}


def test_a_filing_recorded_before_this_tells_nothing_it_does_not_know(app, client, login_as):
    login_as("anna.becker")
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, AMT, "webhook", webhook_options(url))
        set_adapter(app, HWK, "webhook", webhook_options(url))
        reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
        with app.app_context():  # as a filing made before the portal recorded these
            db.session.execute(update(Filing).values(filed_by=None, receivers=None))
            db.session.commit()
        Worker(app).run_once()
    body = state.stored[_delivery_ids(app, reference)[AMT]]["body"]
    assert body["acting_person"] is None and body["trust_level"] is None and body["receivers"] == []


def test_a_payload_built_without_the_new_fields_still_serialises():
    """Third-party adapters and tools that build payloads as before keep working."""
    doc = payload_to_dict(build_payload(), include_content=False)
    assert doc["acting_person"] is None and doc["trust_level"] is None and doc["receivers"] == []
    person = ActingPerson(name="Ida", email=None, subject="s-1")
    doc = payload_to_dict(build_payload(acting_person=person, trust_level="high"), include_content=False)
    assert doc["acting_person"] == {"name": "Ida", "email": None, "subject": "s-1", "issuer": ""}
    assert doc["trust_level"] == "high"
