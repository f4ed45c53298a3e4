"""Limits of a company's drafts: the size of a filing's files under parallel uploads, the number of
open drafts and the bytes a company keeps in drafts."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import delete, func, select

from bizportal.auth.models import Person
from bizportal.extensions import db
from bizportal.filings.models import Attachment, Draft
from bizportal.filings.services import DraftGone, save_pending_input, save_step, start_draft, store_attachment
from tests.support.concurrency import run_at_once
from tests.support.factories import ensure_company
from tests.support.filing import TEST_PDF, TESTANTRAG_BETRIEB, path_of, with_testantrag
from tests.support.http import csrf_token, http_login, login
from tests.support.pdfs import minimal_pdf

PDF = TEST_PDF
BETRIEB = TESTANTRAG_BETRIEB


@pytest.fixture
def app(app_factory):
    return with_testantrag(app_factory())


def stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


def http_draft(client) -> str:
    """Start a test filing over HTTP and complete its first step; returns the crafts step's path."""
    resp = start(client)
    first = path_of(resp.headers["Location"])
    page = client.get(first)
    resp = client.post(first, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "action": "next",
                                    **BETRIEB})
    assert resp.status_code == 302, resp.get_data()[:2000]
    return first.rsplit("/", 1)[0] + "/handwerk"


def test_parallel_uploads_to_one_field_keep_one_file(app, live_server):
    client = http_login(live_server, "anna.becker")
    crafts = http_draft(client)
    token = csrf_token(client.get(crafts).get_data(as_text=True))
    # each file is within the field's 0.03 MB; six of them are far over the filing's 0.1 MB
    sizes = iter(range(6))

    def upload():
        content = minimal_pdf(chr(48 + next(sizes)) * 25_000)
        return client.post(crafts, data={"csrf_token": token, "action": "next",
                                         "meisterbrief": (content, "brief.pdf")}).status_code

    statuses, errors = run_at_once(upload, 6)
    assert errors == [] and len(statuses) == 6 and all(s < 500 for s in statuses), statuses
    with app.app_context():
        kept = list(db.session.scalars(select(Attachment)))
        assert len(kept) == 1
        draft = db.session.scalar(select(Draft))
        assert draft.data["meisterbrief"] == f"attachment:{kept[0].id}"
    assert len(stored_files(app)) == 1  # the replaced files are gone from the disk too


def start(client, service_key: str = "testantrag"):
    page = client.get(f"/leistungen/{service_key}/antrag")
    token = csrf_token(page.get_data(as_text=True))
    return client.post(f"/leistungen/{service_key}/antrag", data={"csrf_token": token})


def draft_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Draft))


def test_a_company_at_its_draft_limit_is_told_and_no_draft_is_added(app_factory):
    app = with_testantrag(app_factory(DRAFT_MAX_OPEN_PER_COMPANY=2))
    client = app.test_client()
    login(client, "anna.becker")
    first, _second = start(client), start(client)
    assert draft_count(app) == 2
    refused = start(client)
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/antraege")
    page = client.get("/antraege").get_data(as_text=True)
    assert "bereits 2 offene Entwürfe" in page
    assert draft_count(app) == 2
    # a copy counts like a new draft
    draft_id = path_of(first.headers["Location"]).split("/")[3]
    copy = client.post(f"/antraege/entwurf/{draft_id}/kopieren",
                       data={"csrf_token": csrf_token(page)})
    assert copy.headers["Location"].endswith("/antraege") and draft_count(app) == 2
    # the limit is the company's own: another company still starts drafts
    other = app.test_client()
    login(other, "lea.hansen")
    assert start(other).status_code == 302 and draft_count(app) == 3
    # deleting a draft makes room again
    client.post(f"/antraege/entwurf/{draft_id}/loeschen", data={"csrf_token": csrf_token(page)})
    assert "/antraege/entwurf/" in start(client).headers["Location"]


def test_files_in_a_companys_drafts_are_capped(app_factory):
    app = with_testantrag(app_factory(DRAFT_MAX_STORED_MB_PER_COMPANY=0.04))
    client = app.test_client()
    login(client, "anna.becker")
    big = minimal_pdf("0" * 25_000)
    first, second = http_draft(client), http_draft(client)
    assert post_file(client, first, big).status_code == 302
    # the same field again replaces the file: the old one does not count
    assert post_file(client, first, big + b"1").status_code == 302
    refused = post_file(client, second, big)
    assert refused.status_code == 422
    assert "höchstens 0.04 MB sind möglich" in refused.get_data(as_text=True)
    with app.app_context():
        kept = list(db.session.scalars(select(Attachment)))
        assert [a.size for a in kept] == [len(big) + 1]
    assert len(stored_files(app)) == 1
    # another company has its own allowance
    other = app.test_client()
    login(other, "lea.hansen")
    assert post_file(other, http_draft(other), big).status_code == 302


def post_file(client, step: str, content: bytes):
    token = csrf_token(client.get(step).get_data(as_text=True))
    return client.post(step, data={"csrf_token": token, "action": "next",
                                   "meisterbrief": (io.BytesIO(content), "b.pdf")},
                       content_type="multipart/form-data")


def _upload(draft, person, service, note: str):
    ext = current_app.extensions["bizportal"]
    return store_attachment(draft, person, service, service.field("meisterbrief"), "brief.pdf",
                            io.BytesIO(minimal_pdf(note)), ext.storage)


def test_a_step_saved_after_another_request_replaced_the_file_keeps_the_new_file(app):
    """The interleaving behind a failure of the parallel-upload test: request 1 read the draft with
    file A, request 2 replaced A by B (A deleted), then request 1 saved its step. The draft must
    point at B, not at the deleted A."""
    _company_id, person_id = ensure_company(app)
    service = app.extensions["bizportal"].catalog["testantrag"]
    with app.app_context():
        person = db.session.get(Person, person_id)
        draft = start_draft(person, service, {"handwerk": True})  # shows the crafts step and its file
        first_id, draft_id = _upload(draft, person, service, "a").id, draft.id
        assert draft.data["meisterbrief"] == f"attachment:{first_id}"  # what request 1 has read

        def other_request():
            with app.app_context():
                _upload(db.session.get(Draft, draft_id), db.session.get(Person, person_id), service, "b")

        thread = threading.Thread(target=other_request)
        thread.start()
        thread.join()
        save_step(draft, person, service, "handwerk", {"register": "HRB 12345"})  # the step's text answer
        kept = list(db.session.scalars(select(Attachment)))
        assert len(kept) == 1 and kept[0].id != first_id
        assert db.session.scalar(select(Draft.data).where(Draft.id == draft_id))["meisterbrief"] \
            == f"attachment:{kept[0].id}"


def test_a_step_saved_after_the_draft_was_deleted_stores_nothing_and_says_so(app):
    _company_id, person_id = ensure_company(app)
    service = app.extensions["bizportal"].catalog["testantrag"]
    with app.app_context():
        person = db.session.get(Person, person_id)
        draft = start_draft(person, service, {})
        draft_id = draft.id

        def other_request():
            with app.app_context():
                db.session.execute(delete(Draft).where(Draft.id == draft_id))
                db.session.commit()

        thread = threading.Thread(target=other_request)
        thread.start()
        thread.join()
        with pytest.raises(DraftGone):
            save_step(draft, person, service, "handwerk", {})
        with pytest.raises(DraftGone):
            save_pending_input(draft, person, "handwerk", {"x": ["1"]})
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 0


def test_a_copy_of_a_draft_with_files_says_the_files_were_not_copied(app):
    client = app.test_client()
    login(client, "anna.becker")
    first = path_of(start(client).headers["Location"])
    page = client.get(first).get_data(as_text=True)
    assert client.post(first, data={"csrf_token": csrf_token(page), "action": "next", **BETRIEB}).status_code == 302
    crafts = first.rsplit("/", 1)[0] + "/handwerk"
    page = client.get(crafts).get_data(as_text=True)
    resp = client.post(crafts, data={"csrf_token": csrf_token(page), "action": "next",
                                     "meisterbrief": (io.BytesIO(minimal_pdf("m")), "brief.pdf")})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    draft_id = first.split("/")[-2]
    page = client.get("/antraege").get_data(as_text=True)
    resp = client.post(f"/antraege/entwurf/{draft_id}/kopieren", data={"csrf_token": csrf_token(page)},
                       follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Der Entwurf wurde kopiert." in html
    assert "Hochgeladene Dateien wurden nicht mitkopiert." in html
