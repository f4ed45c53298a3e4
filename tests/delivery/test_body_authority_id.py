"""A body's Behördenkennung (prefix and id from the DVDV / federal directory): the administrator
enters it on the body's page, checked and with CSRF; XGewerbeanzeige messages name author and
reader by it; a body without one is named by its slug under the portal's prefix, and its admin
pages say that receivers cannot match it."""

from __future__ import annotations

import io

import pytest
from lxml import etree

from bizportal.delivery.models import DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.demo import BREMEN, BREMERHAVEN
from bizportal.filings import xgewerbeanzeige
from tests.support.adapters import SECRET, webhook_options
from tests.support.bodies import audit, body, delivery_of, edit_url, token, upload
from tests.support.factories import set_adapter
from tests.support.filing import file_service, gewerbe_answers
from tests.support.receivers.webhook_receiver import webhook_receiver

NS = {"x": xgewerbeanzeige.NS}
AMT, HWK = "gewerbeamt-bremen", "hwk-bremen"
AMT_DATA = {"name": "Gewerbeamt Bremen (Stadtamt)", "kind": "GEWERBEAMT", "region": "Bremen",
            "postcode_prefixes": " ".join(BREMEN), "municipality_keys": "", "enabled": "y"}
HWK_DATA = {"name": "Handwerkskammer Bremen", "kind": "HWK", "region": "Bremen",
            "postcode_prefixes": " ".join([*BREMEN, *BREMERHAVEN]), "municipality_keys": "", "enabled": "y"}
WARNING = "Keine Behördenkennung eingetragen"


def _file(client, login_as) -> str:
    login_as("anna.becker")
    return file_service(client, "gewerbeanmeldung", gewerbe_answers())


def _ids(root: etree._Element, path: str) -> tuple[str | None, str | None]:
    node = root.find(path, NS)
    assert node is not None, path
    return (node.findtext("x:behoerdenkennung/x:praefix/code", namespaces=NS),
            node.findtext("x:behoerdenkennung/x:kennung/code", namespaces=NS))


def _set_ids(client, slug: str, data: dict, prefix: str, authority_id: str):
    return client.post(edit_url(slug), data={**data, "authority_prefix": prefix, "authority_id": authority_id,
                                              "csrf_token": token(client, edit_url(slug))})


def test_entered_ids_name_author_and_reader_of_the_message(app, client, login_as):
    login_as("admin", staff=True)
    page = client.get(f"/staff/admin/kammern/{AMT}").get_data(as_text=True)
    assert WARNING in page and f"bizportal:{AMT}" in page
    assert _set_ids(client, AMT, AMT_DATA, "MELDID", "04011000").status_code == 302
    assert _set_ids(client, HWK, HWK_DATA, "azr", "000100").status_code == 302
    page = client.get(f"/staff/admin/kammern/{AMT}").get_data(as_text=True)
    assert "MELDID:04011000" in page and WARNING not in page
    assert [e.detail for e in audit(app, "chamber.changed")][0] == \
        "authority_prefix: - → MELDID; authority_id: - → 04011000"
    # the edit form shows what is stored
    assert 'value="MELDID"' in client.get(edit_url(AMT)).get_data(as_text=True)

    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, AMT, "webhook", webhook_options(url, format="xml"))
        set_adapter(app, HWK, "webhook", webhook_options(url, format="both"))
        reference = _file(client, login_as)
        Worker(app).run_once()
    amt, hwk = delivery_of(app, reference, AMT), delivery_of(app, reference, HWK)
    assert amt.state == hwk.state == DeliveryState.DELIVERED
    to_amt = etree.fromstring(state.stored[str(amt.id)]["raw"])
    to_hwk = etree.fromstring(state.stored[str(hwk.id)]["body"]["xgewerbeanzeige"].encode())
    assert _ids(to_amt, "x:nachrichtenkopf/x:autor") == ("MELDID", "04011000")
    assert _ids(to_amt, "x:nachrichtenkopf/x:leser") == ("MELDID", "04011000")
    assert _ids(to_hwk, "x:nachrichtenkopf/x:autor") == ("MELDID", "04011000")
    assert _ids(to_hwk, "x:nachrichtenkopf/x:leser") == ("azr", "000100")
    assert _ids(to_hwk, "x:satz/x:anmeldung/x:autor") == ("MELDID", "04011000")


def test_a_body_without_ids_is_named_by_its_slug_and_its_pages_warn(app, client, login_as):
    login_as("admin", staff=True)
    listing = client.get("/staff/admin/kammern").get_data(as_text=True)
    assert listing.count("keine Behördenkennung") >= 2
    with webhook_receiver(SECRET) as (url, state):
        set_adapter(app, HWK, "webhook", webhook_options(url, format="both"))
        reference = _file(client, login_as)
        Worker(app).run_once()
    hwk = delivery_of(app, reference, HWK)
    to_hwk = etree.fromstring(state.stored[str(hwk.id)]["body"]["xgewerbeanzeige"].encode())
    assert _ids(to_hwk, "x:nachrichtenkopf/x:autor") == ("bizportal", AMT)
    assert _ids(to_hwk, "x:nachrichtenkopf/x:leser") == ("bizportal", HWK)


@pytest.mark.parametrize("prefix,authority_id,message", [
    ("M", "04011000", "„M“ ist kein Präfix einer Behördenkennung: 2 bis 10 Buchstaben oder Ziffern."),
    ("MELD-ID", "04011000", "„MELD-ID“ ist kein Präfix einer Behördenkennung"),
    ("MELDIDMELDID", "04011000", "„MELDIDMELDID“ ist kein Präfix einer Behördenkennung"),
    ("MELDID", "0401 1000", "„0401 1000“ ist keine Kennung einer Behörde: 1 bis 20 Buchstaben oder Ziffern."),
    ("MELDID", "1" * 21, "ist keine Kennung einer Behörde"),
    ("MELDID", "<b>1</b>", "„&lt;b&gt;1&lt;/b&gt;“ ist keine Kennung einer Behörde"),
    ("MELDID", "", "Bitte geben Sie Präfix und Kennung der Behördenkennung an, oder keines von beiden."),
    ("", "04011000", "Bitte geben Sie Präfix und Kennung der Behördenkennung an, oder keines von beiden."),
])
def test_bad_ids_are_refused_at_their_field_and_nothing_is_stored(app, client, login_as, prefix, authority_id,
                                                                  message):
    login_as("admin", staff=True)
    resp = _set_ids(client, AMT, AMT_DATA, prefix, authority_id)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Bitte korrigieren Sie folgende Angaben" in html and message in html
    assert 'aria-invalid="true"' in html
    stored = body(app, AMT)
    assert (stored.authority_prefix, stored.authority_id) == (None, None)
    assert audit(app, "chamber.changed") == []


def test_ids_without_the_csrf_token_are_refused(app, client, login_as):
    login_as("admin", staff=True)
    resp = client.post(edit_url(AMT), data={**AMT_DATA, "authority_prefix": "MELDID", "authority_id": "1"})
    assert resp.status_code == 400
    assert body(app, AMT).authority_id is None


def test_an_import_without_the_id_columns_keeps_the_ids_and_one_with_them_sets_them(app, client, login_as):
    login_as("admin", staff=True)
    assert _set_ids(client, AMT, AMT_DATA, "MELDID", "04011000").status_code == 302
    csv = ("slug;name;kind;region;postcode_prefixes\n"
           f"{AMT};Gewerbeamt Bremen;GEWERBEAMT;Bremen;28\n").encode()
    assert upload(client, "b.csv", csv).status_code == 302
    stored = body(app, AMT)
    assert (stored.name, stored.authority_prefix, stored.authority_id) == ("Gewerbeamt Bremen", "MELDID", "04011000")
    csv = ("slug;name;kind;region;postcode_prefixes;authority_prefix;authority_id\n"
           f"{HWK};Handwerkskammer Bremen;HWK;Bremen;28 2756 2757 2758;azr;000100\n"
           f"{AMT};Gewerbeamt Bremen;GEWERBEAMT;Bremen;28;;\n").encode()
    assert upload(client, "b.csv", csv).status_code == 302
    assert (body(app, HWK).authority_prefix, body(app, HWK).authority_id) == ("azr", "000100")
    assert body(app, AMT).authority_id is None  # empty columns: removed, as the file says
    resp = client.post("/staff/admin/kammern/import", data={
        "csrf_token": token(client, "/staff/admin/kammern/import"),
        "file": (io.BytesIO(f"slug;name;kind;region;postcode_prefixes;authority_prefix;authority_id\n"
                            f"{HWK};Handwerkskammer Bremen;HWK;Bremen;28;azr;\n".encode()), "b.csv")},
        content_type="multipart/form-data")
    assert resp.status_code == 422 and "Präfix und Kennung" in resp.get_data(as_text=True)
