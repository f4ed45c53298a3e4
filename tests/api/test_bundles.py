"""The chamber API carries the life-event bundle a filing was submitted with (issue 16).

Becker founds an electrical business with one bundle ("Betrieb gründen"): the Gewerbeanmeldung goes
to Gewerbeamt Bremen (with a copy to the Handwerkskammer, a crafts business), the entry in the
Handwerksrolle to the Handwerkskammer Bremen. Each chamber's system pulls its filings and learns of
the other filing of the bundle only its reference, service and kind of body.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.inbox.models import InboxItem
from tests.support.api import ApiCaller
from tests.support.bundles import PLANS, SHARED, file_bundle

FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a", "ausbilden": "no"}


@pytest.fixture
def founded(app, client, login_as):
    """The bundle filed over HTTP and delivered; (bundle reference, {service key: filing reference})."""
    login_as("anna.becker")
    status = file_bundle(client, "betrieb-gruenden", FOUNDING)
    while Worker(app).run_once():
        pass
    with app.app_context():
        filings = {f.service_key: f.reference for f in db.session.scalars(select(Filing))}
    assert set(filings) == {"gewerbeanmeldung", "handwerksrolle-eintragung"}
    return status.rsplit("/", 1)[-1], filings


def _sibling(reference: str, key: str, title: str, body_kind: str, leika: str | None = None) -> dict:
    return {"reference": reference, "service": {"key": key, "title": title, "leika": leika}, "body_kind": body_kind}


def test_each_receiving_chamber_pulls_the_bundle_with_its_other_filing(app, client, founded):
    bundle_ref, filings = founded
    anmeldung, rolle = filings["gewerbeanmeldung"], filings["handwerksrolle-eintragung"]
    anmeldung_sibling = _sibling(anmeldung, "gewerbeanmeldung", "Gewerbeanmeldung", "GEWERBEAMT", "99050012104000")
    rolle_sibling = _sibling(rolle, "handwerksrolle-eintragung", "Eintragung in die Handwerksrolle", "HWK")
    bundle = {"reference": bundle_ref, "kind": "betrieb-gruenden", "title": "Betrieb gründen"}

    office = ApiCaller(app, client, "gewerbeamt-bremen")
    feed = office.get("/filings").get_json()["filings"]
    assert [(f["reference"], f["bundle"]) for f in feed] == [(anmeldung, {**bundle, "filings": [rolle_sibling]})]
    doc = office.get(f"/filings/{anmeldung}").get_json()
    assert doc["bundle"] == {**bundle, "filings": [rolle_sibling]}

    crafts = ApiCaller(app, client, "hwk-bremen")
    feed = {f["reference"]: f for f in crafts.get("/filings").get_json()["filings"]}
    assert {ref: f["destination_role"] for ref, f in feed.items()} == {rolle: "primary", anmeldung: "copy"}
    assert feed[rolle]["bundle"] == {**bundle, "filings": [anmeldung_sibling]}
    assert feed[anmeldung]["bundle"] == {**bundle, "filings": [rolle_sibling]}  # the copy names it too
    assert crafts.get(f"/filings/{rolle}").get_json()["bundle"] == {**bundle, "filings": [anmeldung_sibling]}

    commerce = ApiCaller(app, client, "hk-bremen")  # received nothing of the bundle
    assert commerce.get("/filings").get_json()["filings"] == []


def test_a_bundle_names_the_other_filing_but_does_not_open_it(app, client, founded):
    """The Gewerbeamt learns that a Handwerksrolle filing exists (reference, service, HWK), not its
    answers, its company data, its status or which Handwerkskammer has it."""
    _bundle_ref, filings = founded
    rolle = filings["handwerksrolle-eintragung"]
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    doc = office.get(f"/filings/{filings['gewerbeanmeldung']}").get_json()
    (sibling,) = doc["bundle"]["filings"]
    assert set(sibling) == {"reference", "service", "body_kind"} and sibling["reference"] == rolle
    text = json.dumps(doc["bundle"], ensure_ascii=False)
    for secret in ("meisterpruefung", "elektrotechniker", "Handwerkskammer Bremen", "hwk-bremen", "forwarded"):
        assert secret not in text
    assert office.get(f"/filings/{rolle}").status_code == 404  # not delivered to the Gewerbeamt
    assert office.get(f"/filings/{rolle}/messages").status_code == 404


def test_more_members_in_a_stored_context_are_not_passed_on(app, client, founded):
    """What the API gives of the other filings is its declared three members, whatever else an
    inbox item's stored context might hold (e.g. from a newer portal version)."""
    _bundle_ref, filings = founded
    anmeldung = filings["gewerbeanmeldung"]
    with app.app_context():
        item = db.session.scalar(select(InboxItem).where(InboxItem.reference == anmeldung,
                                                         InboxItem.destination_role == "primary"))
        context = dict(item.bundle)
        context["company"] = {"name": "Becker Elektro Neugründung GmbH"}
        context["filings"] = [{**context["filings"][0], "data": {"trade": "elektrotechniker"},
                               "chamber": "hwk-bremen"}]
        item.bundle = context
        db.session.commit()
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    for bundle in (office.get(f"/filings/{anmeldung}").get_json()["bundle"],
                   office.get("/filings").get_json()["filings"][0]["bundle"]):
        assert set(bundle) == {"reference", "kind", "title", "filings"}
        assert set(bundle["filings"][0]) == {"reference", "service", "body_kind"}
        assert "elektrotechniker" not in json.dumps(bundle) and "hwk-bremen" not in json.dumps(bundle)


def test_a_filing_outside_a_bundle_has_bundle_null(app, client, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    (entry,) = office.get("/filings").get_json()["filings"]
    assert "bundle" in entry and entry["bundle"] is None
    doc = office.get(f"/filings/{filed}").get_json()
    assert "bundle" in doc and doc["bundle"] is None


def test_the_openapi_document_declares_the_bundle(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    nullable_bundle = [{"$ref": "#/components/schemas/Bundle"}, {"type": "null"}]
    for model in ("FeedEntry", "Filing"):
        assert schemas[model]["properties"]["bundle"]["anyOf"] == nullable_bundle
        assert "bundle" in schemas[model]["required"]
    assert set(schemas["Bundle"]["properties"]) == {"reference", "kind", "title", "filings"}
    assert set(schemas["BundleFiling"]["properties"]) == {"reference", "service", "body_kind"}
    assert schemas["BundleFiling"]["additionalProperties"] is False
    page = client.get("/api/v1/docs").get_data(as_text=True)  # the reference page a developer reads
    assert 'id="schema-Bundle"' in page and 'id="schema-BundleFiling"' in page
    assert "<code>body_kind</code>" in page
