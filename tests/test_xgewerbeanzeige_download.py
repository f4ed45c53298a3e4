"""Chambers that work filings in the portal (the ``inbox`` adapter) get a trade notification's
XGewerbeanzeige message too: staff download it from the filing's page, chamber systems through
``GET /api/v1/filings/{reference}/xgewerbeanzeige``. It is the message a webhook delivery to the
same chamber carries; nobody else gets it, and other services have none."""

from __future__ import annotations

import dataclasses
import re

import pytest
from lxml import etree
from sqlalchemy import select

from bizportal.audit.models import AuditEvent
from bizportal.bodies.models import Chamber
from bizportal.delivery import jobs
from bizportal.delivery.models import Delivery
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings import xgewerbeanzeige
from bizportal.filings.models import Filing
from chambers.base import XGEWERBEANZEIGE
from tests.support.api import ApiCaller
from tests.support.casework import item_path, staff_client
from tests.support.filing import file_service, gewerbe_answers
from tests.support.inbox import Spec, deliver

NS = {"x": xgewerbeanzeige.NS}
LINK = "XGewerbeanzeige-Nachricht (XML) herunterladen"


@pytest.fixture
def anmeldung(app, client, login_as):
    """Becker's Gewerbeanmeldung, in the inboxes of Gewerbeamt Bremen (primary) and HWK Bremen (copy)."""
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    assert Worker(app).run_once() == 2
    return reference


def _delivery_id(app, reference: str, slug: str):
    with app.app_context():
        return db.session.scalar(
            select(Delivery.id).join(Filing, Filing.id == Delivery.filing_id)
            .join(Chamber, Chamber.id == Delivery.chamber_id)
            .where(Filing.reference == reference, Chamber.slug == slug, Delivery.message_id.is_(None)))


def _as_webhook_would_carry(app, reference: str, slug: str) -> bytes:
    """The message the webhook/e-mail/FIT-Connect adapters would get for this chamber's delivery."""
    delivery_id = _delivery_id(app, reference, slug)
    with app.app_context():
        job = jobs.read_jobs([delivery_id])[delivery_id]
    job = dataclasses.replace(job, target=dataclasses.replace(job.target, options={"format": "xml"}))
    return jobs.documents(job)[XGEWERBEANZEIGE].content


def _root(content: bytes) -> etree._Element:
    root = etree.fromstring(content)
    assert etree.QName(root).namespace == xgewerbeanzeige.NS
    return root


def test_staff_of_the_receiving_chamber_download_the_message_of_the_filing(app, anmeldung):
    amt = staff_client(app, "gewerbeamt.bremen")
    path = item_path(amt, anmeldung)
    page = amt.get(path).get_data(as_text=True)
    assert LINK in page
    href = re.search(r'href="([^"]+)">' + re.escape(LINK), page).group(1)
    resp = amt.get(href)
    assert resp.status_code == 200
    assert resp.mimetype == "application/xml"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="Vorgang-{anmeldung}-XGewerbeanzeige.xml"'
    root = _root(resp.data)
    answers = xgewerbeanzeige.read_message(resp.data)
    assert answers["kind"] == "anmeldung"
    assert answers["business_name"] == "Becker Elektrotechnik GmbH"
    assert answers["wz2008_key"] == "43210" and answers["postcode"] == "28195"
    assert root.findtext("x:nachrichtenkopf/x:leser/x:behoerdenname", namespaces=NS) == "Gewerbeamt Bremen (Stadtamt)"
    assert resp.data == _as_webhook_would_carry(app, anmeldung, "gewerbeamt-bremen")
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "filing.export")) \
            == "xgewerbeanzeige"


def test_the_copy_recipient_gets_its_own_message_of_the_same_record(app, anmeldung):
    amt, hwk = staff_client(app, "gewerbeamt.bremen"), staff_client(app, "hwk.bremen")
    to_amt = amt.get(item_path(amt, anmeldung) + "/xgewerbeanzeige.xml").data
    to_hwk = hwk.get(item_path(hwk, anmeldung) + "/xgewerbeanzeige.xml").data
    assert to_hwk == _as_webhook_would_carry(app, anmeldung, "hwk-bremen")
    amt_answers, hwk_answers = xgewerbeanzeige.read_message(to_amt), xgewerbeanzeige.read_message(to_hwk)
    assert amt_answers["message_id"] != hwk_answers["message_id"]
    assert amt_answers["record_id"] == hwk_answers["record_id"]
    # the Gewerbeamt is the author of both, the HWK reads its copy
    root = _root(to_hwk)
    assert root.findtext("x:nachrichtenkopf/x:autor/x:behoerdenname", namespaces=NS) == "Gewerbeamt Bremen (Stadtamt)"
    assert root.findtext("x:nachrichtenkopf/x:leser/x:behoerdenname", namespaces=NS) == "Handwerkskammer Bremen"


def test_staff_of_another_chamber_and_company_people_do_not_get_it(app, client, anmeldung):
    path = item_path(staff_client(app, "gewerbeamt.bremen"), anmeldung)
    assert staff_client(app, "hk.bremen").get(f"{path}/xgewerbeanzeige.xml").status_code == 404
    assert client.get(f"{path}/xgewerbeanzeige.xml").status_code == 403  # anna.becker, who filed it
    anonymous = app.test_client().get(f"{path}/xgewerbeanzeige.xml")
    assert anonymous.status_code == 302 and "/staff/login" in anonymous.headers["Location"]


def test_a_filing_of_another_service_has_no_message(app, client):
    (reference,) = deliver(app, "hk-bremen", [Spec(service_key="versicherungsvermittler-34d",
                                                   service_title="Erlaubnis als Versicherungsvermittler")])
    staff = staff_client(app, "hk.bremen")
    path = item_path(staff, reference)
    page = staff.get(path).get_data(as_text=True)
    assert "Vorgang als JSON herunterladen" in page and LINK not in page
    assert staff.get(f"{path}/xgewerbeanzeige.xml").status_code == 404
    api = ApiCaller(app, client, "hk-bremen")
    resp = api.get(f"/filings/{reference}/xgewerbeanzeige")
    assert resp.status_code == 404 and resp.content_type == "application/problem+json"


def test_the_chamber_api_serves_the_message_to_the_receiving_chamber_only(app, client, anmeldung):
    office = ApiCaller(app, client, "gewerbeamt-bremen", scopes=("filings:read",))
    resp = office.get(f"/filings/{anmeldung}/xgewerbeanzeige")
    assert resp.status_code == 200 and resp.mimetype == "application/xml"
    assert resp.data == _as_webhook_would_carry(app, anmeldung, "gewerbeamt-bremen")
    assert xgewerbeanzeige.read_message(resp.data)["business_name"] == "Becker Elektrotechnik GmbH"
    other = ApiCaller(app, client, "hk-bremen")
    refused = other.get(f"/filings/{anmeldung}/xgewerbeanzeige")
    assert refused.status_code == 404 and b"gewerbemeldung" not in refused.data
    writer = ApiCaller(app, client, "gewerbeamt-bremen", scopes=("messages:write",))
    assert writer.get(f"/filings/{anmeldung}/xgewerbeanzeige").status_code == 403
    assert client.get(f"/api/v1/filings/{anmeldung}/xgewerbeanzeige").status_code == 401


def test_the_served_openapi_document_describes_the_operation(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/filings/{reference}/xgewerbeanzeige"]["get"]
    assert list(op["responses"]["200"]["content"]) == ["application/xml"]
    assert op["security"] == [{"oauth2": ["filings:read"]}]
    assert "404" in op["responses"]


def test_the_downloaded_message_carries_what_the_form_asked(app, client, login_as):
    """Answers given on the portal's form reach the message: legal form code, the person's phone and
    e-mail, the "Nein" to the Handwerkskarte, the municipality key of the premises."""
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers(**{
        "personen-0-telefon": "0421 123456", "personen-0-email": "anna.becker@example.org"}))
    assert Worker(app).run_once() == 2
    amt = staff_client(app, "gewerbeamt.bremen")
    answers = xgewerbeanzeige.read_message(amt.get(item_path(amt, reference) + "/xgewerbeanzeige.xml").data)
    assert (answers["rechtsform_code"], answers["gemeinde"], answers["handwerkskarte"]) == ("350", "04011000", False)
    (person,) = answers["personen"]
    assert person["erreichbarkeit"] == {"telefon": "0421 123456", "email": "anna.becker@example.org"}
    assert person["aufenthaltstitel"] is None  # a German: not asked
