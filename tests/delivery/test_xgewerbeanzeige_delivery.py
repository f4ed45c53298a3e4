"""A Gewerbeanmeldung filed in the portal reaches the Gewerbeamt and the HWK as an XGewerbeanzeige
message when their adapter's ``format`` asks for it: the same message on every attempt, the
Gewerbeamt as author, the receiving body as reader; a message that cannot be built never stops
the worker."""

from __future__ import annotations

import uuid

from lxml import etree
from sqlalchemy import select

from bizportal.bodies.models import Chamber
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings import xgewerbeanzeige
from bizportal.filings.models import Filing
from tests.support.adapters import SECRET, webhook_options
from tests.support.factories import make_due, set_adapter
from tests.support.filing import file_service, gewerbe_answers
from tests.support.receivers.webhook_receiver import webhook_receiver

AMT, HWK = "gewerbeamt-bremen", "hwk-bremen"
NS = {"x": xgewerbeanzeige.NS}


def _delivery(app, reference: str, slug: str) -> Delivery:
    with app.app_context():
        d = db.session.scalar(
            select(Delivery).join(Filing, Filing.id == Delivery.filing_id)
            .join(Chamber, Chamber.id == Delivery.chamber_id)
            .where(Filing.reference == reference, Chamber.slug == slug, Delivery.message_id.is_(None)))
        db.session.expunge(d)
        return d


def _file(client, login_as) -> str:
    login_as("anna.becker")
    return file_service(client, "gewerbeanmeldung", gewerbe_answers())


def _authority(root: etree._Element, role: str) -> tuple[str | None, str | None]:
    node = root.find(f"x:nachrichtenkopf/x:{role}", NS)
    assert node is not None
    return (node.findtext("x:behoerdenkennung/x:kennung/code", namespaces=NS),
            node.findtext("x:behoerdenname", namespaces=NS))


def test_gewerbeamt_gets_the_message_and_the_hwk_json_with_the_message(app, client, login_as):
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, AMT, "webhook", webhook_options(url, format="xml"))
        set_adapter(app, HWK, "webhook", webhook_options(url, format="both"))
        reference = _file(client, login_as)
        Worker(app).run_once()
    amt, hwk = _delivery(app, reference, AMT), _delivery(app, reference, HWK)
    assert amt.state == DeliveryState.DELIVERED, amt.last_error
    assert hwk.state == DeliveryState.DELIVERED, hwk.last_error

    to_amt, to_hwk = state.stored[str(amt.id)], state.stored[str(hwk.id)]
    assert to_amt["headers"]["Content-Type"] == "application/xml"
    answers = xgewerbeanzeige.read_message(to_amt["raw"])
    assert answers["kind"] == "anmeldung" and answers["business_name"] == "Becker Elektrotechnik GmbH"
    assert answers["wz2008_key"] == "43210" and answers["grund"] == "neugruendung"
    assert answers["personen"][0]["familienname"] == "Becker"
    # the same message on every attempt: its id is derived from the delivery id
    assert answers["message_id"] == str(uuid.uuid5(amt.id, "xgewerbeanzeige"))

    assert to_hwk["body"]["reference"] == reference and to_hwk["body"]["data"]["business_name"]
    copy = etree.fromstring(to_hwk["body"]["xgewerbeanzeige"].encode("utf-8"))
    assert _authority(copy, "autor") == (AMT, "Gewerbeamt Bremen (Stadtamt)")
    assert _authority(copy, "leser") == (HWK, "Handwerkskammer Bremen")
    assert xgewerbeanzeige.read_message(to_hwk["body"]["xgewerbeanzeige"].encode())["message_id"] == str(
        uuid.uuid5(hwk.id, "xgewerbeanzeige"))


def test_a_retry_sends_the_identical_message(app, client, login_as):
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, AMT, "webhook", webhook_options(url, format="xml"))
        state.fault = "500-twice-each"
        reference = _file(client, login_as)
        Worker(app).run_once()
        make_due(app)
        state.fault = None
        Worker(app).run_once()
    amt = _delivery(app, reference, AMT)
    assert amt.state == DeliveryState.DELIVERED and state.seen[str(amt.id)] == 2
    first, second = state.bodies_seen[str(amt.id)]
    assert first == second  # byte for byte: same message id, same creation time
    assert xgewerbeanzeige.read_message(state.stored[str(amt.id)]["raw"])["message_id"] == str(
        uuid.uuid5(amt.id, "xgewerbeanzeige"))


def _broken(*args, **kwargs):
    raise ValueError("code list entry missing")


def test_a_message_that_cannot_be_built_ends_an_xml_only_delivery_and_sends_json_elsewhere(
        app, client, login_as, monkeypatch):
    monkeypatch.setattr(xgewerbeanzeige, "build_message", _broken)
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, AMT, "webhook", webhook_options(url, format="xml"))
        set_adapter(app, HWK, "webhook", webhook_options(url, format="both"))
        reference = _file(client, login_as)
        Worker(app).run_once()  # does not crash
    amt, hwk = _delivery(app, reference, AMT), _delivery(app, reference, HWK)
    assert amt.state == DeliveryState.DEAD and str(amt.id) not in state.stored
    assert "XGewerbeanzeige" in amt.last_error and "takes XML only" in amt.last_error
    assert "code list entry missing" in amt.last_error
    assert hwk.state == DeliveryState.DELIVERED
    body = state.stored[str(hwk.id)]["body"]
    assert body["reference"] == reference and "xgewerbeanzeige" not in body
