"""Attachments in an S3-compatible object store that every web node shares."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from bizportal.extensions import db
from bizportal.filings.models import Attachment, Draft
from tests.support.filing import path_of, post_step, start_draft
from tests.support.http import http_login, login
from tests.support.pdfs import minimal_pdf
from tests.support.storage import CERTIFICATE, closed_port, file_with_certificate, objects, with_test_definition

PDF = minimal_pdf("Meisterbrief Anna Becker " * 40)
BETRIEB = {"betriebsadresse-street": "Am Wall 120", "betriebsadresse-postcode": "28195",
           "betriebsadresse-city": "Bremen", "beschaeftigte": "3", "handwerk": "yes"}


def upload_meisterbrief(client, content: bytes = PDF, register: str = ""):
    """Start the test service, answer the first step, upload the certificate on the crafts step."""
    first = start_draft(client, "testantrag")
    resp = post_step(client, first, BETRIEB)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    crafts = path_of(resp.headers["Location"])
    assert crafts.endswith("/handwerk")
    return crafts, post_step(client, crafts, {"register": register}, files={"meisterbrief": (content, "meister.pdf")})


def attachment_rows(app) -> list[tuple[str, str, int, str]]:
    with app.app_context():
        return [(str(a.id), a.storage_key, a.size, a.sha256) for a in db.session.scalars(select(Attachment))]


def test_upload_over_http_lands_encrypted_in_the_bucket_and_downloads_the_same_bytes(
        app_factory, serve, s3, bucket, s3_config, tmp_path):
    app = with_test_definition(app_factory(**s3_config))
    company = http_login(serve(app), "anna.becker")

    _, resp = upload_meisterbrief(company)
    assert resp.status_code == 302, resp.get_data()[:2000]

    [(attachment_id, key, size, sha256)] = attachment_rows(app)
    assert objects(s3, bucket) == [f"portal/attachments/{key}"]
    head = s3.head_object(Bucket=bucket, Key=f"portal/attachments/{key}")
    assert head["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key=f"portal/attachments/{key}")["Body"].read() == PDF
    assert not any(p.is_file() for p in (tmp_path / "uploads").rglob("*"))  # nothing on this node's disk

    download = company.session.get(f"{company.base}/antraege/anhang/{attachment_id}", timeout=10)
    assert download.status_code == 200
    assert download.content == PDF and size == len(PDF) and sha256 == hashlib.sha256(PDF).hexdigest()
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Length"] == str(len(PDF))
    assert "attachment" in download.headers["Content-Disposition"]


def test_a_file_stored_through_one_node_is_served_by_another(app_factory, serve, s3_config, tmp_path):
    node_a = with_test_definition(app_factory(**s3_config, UPLOAD_DIR=str(tmp_path / "node-a")))
    node_b = with_test_definition(app_factory(**s3_config, UPLOAD_DIR=str(tmp_path / "node-b")))
    url_a, url_b = serve(node_a), serve(node_b)
    company = http_login(url_a, "anna.becker")
    _, resp = upload_meisterbrief(company)
    assert resp.status_code == 302

    [(attachment_id, *_)] = attachment_rows(node_a)
    # The same person's next request lands on the other node (the load balancer chose it).
    download = company.session.get(f"{url_b}/antraege/anhang/{attachment_id}", timeout=10)
    assert download.status_code == 200 and download.content == PDF
    # A file replaced through node B is gone for node A as well: one store, not two copies.
    company.base = url_b
    draft_step = f"/antraege/entwurf/{_draft_id(node_b)}/handwerk"
    resp = post_step(company, draft_step, {}, files={"meisterbrief": (PDF + b"%v2\n", "neu.pdf")})
    assert resp.status_code == 302
    [(new_id, *_)] = attachment_rows(node_b)
    assert company.session.get(f"{url_a}/antraege/anhang/{attachment_id}", timeout=10).status_code == 404
    again = company.session.get(f"{url_a}/antraege/anhang/{new_id}", timeout=10)
    assert again.status_code == 200 and again.content == PDF + b"%v2\n"


def _draft_id(app) -> str:
    with app.app_context():
        return str(db.session.scalars(select(Draft.id)).one())


@pytest.mark.parametrize("sse,kms_key", [("aws:kms", ""), ("aws:kms", "alias/bizportal"), ("", "")])
def test_other_encryption_settings_reach_the_store(app_factory, serve, s3, bucket, s3_config, sse, kms_key):
    app = with_test_definition(app_factory(**{**s3_config, "S3_SSE": sse, "S3_KMS_KEY_ID": kms_key}))
    company = http_login(serve(app), "anna.becker")
    _, resp = upload_meisterbrief(company)
    assert resp.status_code == 302
    [(_, key, _, _)] = attachment_rows(app)
    head = s3.head_object(Bucket=bucket, Key=f"portal/attachments/{key}")
    assert head.get("ServerSideEncryption") == (sse or None)  # empty: the bucket's own default applies
    if kms_key:
        assert head["SSEKMSKeyId"].endswith(kms_key)


def test_unreachable_store_is_reported_and_nothing_is_half_stored(app_factory, s3_config):
    down = {**s3_config, "S3_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "S3_TIMEOUT": 1}
    app = with_test_definition(app_factory(**down))
    client = app.test_client()
    assert login(client, "anna.becker").status_code == 302
    crafts, resp = upload_meisterbrief(client, register="HRB 4711 Bremen")

    assert resp.status_code == 503
    page = resp.get_data(as_text=True)
    assert "Der Dateispeicher ist gerade nicht erreichbar; die Datei wurde nicht gespeichert." in page
    assert 'name="register" type="text" value="Bremen HRB 4711"' in page  # the rest of the step is kept
    assert attachment_rows(app) == []
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        assert "meisterbrief" not in draft.data and "handwerk" not in draft.completed_steps
    # The step is still open: the person cannot move on as if the file were there.
    review = client.get(crafts.rsplit("/", 1)[0] + "/pruefen")
    assert review.status_code == 302 and review.headers["Location"].endswith("/handwerk")


def test_download_while_the_store_is_down_says_so(app_factory, serve, s3_config):
    node_a = with_test_definition(app_factory(**s3_config))
    company = http_login(serve(node_a), "anna.becker")
    _, resp = upload_meisterbrief(company)
    assert resp.status_code == 302
    [(attachment_id, *_)] = attachment_rows(node_a)

    cut_off = app_factory(**{**s3_config, "S3_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "S3_TIMEOUT": 1})
    download = company.session.get(f"{serve(cut_off)}/antraege/anhang/{attachment_id}", timeout=30)
    assert download.status_code == 503
    assert "Dateispeicher nicht erreichbar" in download.text
    assert download.headers["Retry-After"] == "60"


@pytest.mark.parametrize("setting,value,named", [
    ("STORAGE", "ftp", "BIZPORTAL_STORAGE must be one of local, s3"),
    ("S3_SSE", "rot13", "BIZPORTAL_S3_SSE must be empty, AES256 or aws:kms"),
    ("S3_BUCKET", "", "BIZPORTAL_STORAGE=s3 needs BIZPORTAL_S3_BUCKET"),
])
def test_impossible_storage_settings_stop_the_start_naming_the_setting(app_factory, s3_config, setting, value, named):
    with pytest.raises(RuntimeError, match=named):
        app_factory(**{**s3_config, setting: value})


def test_a_delivery_waits_while_the_store_is_down_and_goes_out_after(app_factory, s3_config):
    """A worker that cannot read an attachment retries later (nothing lost); a chamber system
    asking for the file meanwhile gets a 503 problem document, then the file."""
    from bizportal.delivery.models import Delivery
    from bizportal.delivery.worker import Worker
    from tests.support.api import ApiCaller
    from tests.support.factories import make_due

    web = with_test_definition(app_factory(**s3_config))
    company = web.test_client()
    assert login(company, "anna.becker").status_code == 302
    reference = file_with_certificate(company)
    cut_off = with_test_definition(app_factory(**{**s3_config, "S3_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
                                                  "S3_TIMEOUT": 1}))

    Worker(cut_off).run_once()
    with cut_off.app_context():
        states = {(d.state, "read portal/attachments/" in (d.last_error or "")) for d in db.session.scalars(select(
            Delivery))}
    assert states == {("pending", True)}  # both bodies wait; the error names the store

    make_due(web)  # the backoff has passed
    assert Worker(web).run_once() == 2
    with web.app_context():
        assert {d.state for d in db.session.scalars(select(Delivery))} == {"delivered"}
        [attachment_id] = db.session.scalars(select(Attachment.id)).all()

    path = f"/filings/{reference}/attachments/{attachment_id}"
    down = ApiCaller(cut_off, cut_off.test_client(), "hwk-bremen").get(path)
    assert down.status_code == 503 and down.headers["Content-Type"] == "application/problem+json"
    assert "file store" in down.get_json()["detail"]
    up = ApiCaller(web, web.test_client(), "hwk-bremen").get(path)
    assert up.status_code == 200 and up.data == CERTIFICATE
