"""How much one request may send: a form step takes kilobytes of text (URL-encoded or multipart),
only the routes that take files take megabytes, and an over-limit request stores nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from bizportal.extensions import db
from bizportal.filings.models import Attachment, Draft
from tests.support.filing import TEST_PDF as PDF
from tests.support.filing import TESTANTRAG_BETRIEB as BETRIEB
from tests.support.filing import start_draft, with_testantrag
from tests.support.http import csrf_token, field_error
from tests.support.pdfs import minimal_pdf

KB = 1024


@pytest.fixture
def app(app_factory):
    return with_testantrag(app_factory())


@pytest.fixture
def step(client, login_as):
    """The first step of a new test draft, and its CSRF token."""
    login_as("anna.becker")
    path = start_draft(client, "testantrag")
    return path, csrf_token(client.get(path).get_data(as_text=True))


def nothing_pending(app) -> bool:
    with app.app_context():
        draft = db.session.scalar(select(Draft))
        return draft.pending_input == {} and draft.completed_steps == []


def assert_too_large(resp) -> None:
    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "Daten zu groß" in html and "es wurde nichts gespeichert" in html and "256 KB" in html
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_a_url_encoded_step_cannot_carry_megabytes_into_the_draft(app, client, step):
    path, token = step
    resp = client.post(path, data={"csrf_token": token, "action": "next", **BETRIEB, "ustid": "x" * (2 * KB * KB)})
    assert_too_large(resp)
    assert nothing_pending(app)


def pending_of(app) -> dict:
    with app.app_context():
        return db.session.scalar(select(Draft)).pending_input


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/x-www-form-urlencoded"])
def test_an_over_long_answer_is_shown_at_its_field_and_the_others_are_kept(app, client, step, content_type):
    """400 KB pasted into one field (issue 16): the step again, the field's error, nothing lost."""
    path, token = step
    resp = client.post(path, data={"csrf_token": token, "action": "next", **BETRIEB, "ustid": "x" * (400 * KB)},
                       content_type=content_type)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert field_error(html, "ustid") == \
        "Fehler: Dieser Text ist zu lang: höchstens 200 Zeichen, eingegeben wurden 409.600. Bitte kürzen Sie ihn."
    assert 'value="Am Wall 120"' in html and 'value="3"' in html  # the other answers as typed
    # kept for the next visit, the over-long text not stored
    pending = pending_of(app)["betrieb"]
    assert pending["betriebsadresse-street"] == ["Am Wall 120"] and "ustid" not in pending
    again = client.get(path).get_data(as_text=True)
    assert 'value="Am Wall 120"' in again and "x" * 300 not in again


def test_the_over_long_answer_error_in_english(app, client, step):
    path, token = step
    client.get("/sprache/en")
    resp = client.post(path, data={"csrf_token": token, "action": "next", **BETRIEB, "ustid": "x" * (400 * KB)},
                       content_type="multipart/form-data")
    assert resp.status_code == 422
    assert field_error(resp.get_data(as_text=True), "ustid") == \
        "Error: This text is too long: at most 200 characters, 409,600 were entered. Please shorten it."


@pytest.mark.parametrize("action", ["back", "save"])
def test_leaving_a_step_with_an_over_long_answer_shows_the_error_first(app, client, step, action):
    path, token = step
    resp = client.post(path, data={"csrf_token": token, "action": action, **BETRIEB, "ustid": "x" * (400 * KB)},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "Dieser Text ist zu lang: höchstens 200 Zeichen" in resp.get_data(as_text=True)
    assert "ustid" not in pending_of(app)["betrieb"]


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/x-www-form-urlencoded"])
def test_a_step_still_refuses_megabytes_of_text(app, client, step, content_type):
    """The hard ceiling (``STEP_MAX_TEXT_BYTES``, 1 MB): Werkzeug refuses while reading."""
    path, token = step
    resp = client.post(path, data={"csrf_token": token, "action": "next", **BETRIEB, "ustid": "x" * (3 * KB * KB)},
                       content_type=content_type)
    assert_too_large(resp)
    assert nothing_pending(app)


def test_one_text_field_over_the_field_limit_is_refused_outside_a_step(app, client, step):
    """Routes that do not judge each field's length keep the 64 KB field limit."""
    _path, token = step
    resp = client.post("/leistungen/testantrag/antrag", content_type="multipart/form-data",
                       data={"csrf_token": token, "x": "x" * (100 * KB)})
    assert resp.status_code == 413


def test_many_text_fields_of_a_multipart_step_are_held_to_the_form_limit(app, client, step):
    path, token = step
    fields = {f"extra{i}": "x" * (60 * KB) for i in range(6)}  # each within the field limit, 360 KB together
    resp = client.post(path, data={"csrf_token": token, "action": "next", **BETRIEB, **fields},
                       content_type="multipart/form-data")
    assert_too_large(resp)
    assert nothing_pending(app)


def test_a_form_with_too_many_fields_is_refused(app, client, step):
    path, token = step
    fields = {f"f{i}": "1" for i in range(1200)}
    resp = client.post(path, data={"csrf_token": token, "action": "next", **fields}, content_type="multipart/form-data")
    assert resp.status_code == 413 and nothing_pending(app)


def test_a_route_without_files_refuses_an_upload_sized_body(app, client, step):
    _path, token = step
    resp = client.post("/leistungen/testantrag/antrag", content_type="multipart/form-data",
                       data={"csrf_token": token, "datei": (io.BytesIO(minimal_pdf("0" * (KB * KB))), "a.pdf")})
    assert_too_large(resp)
    with app.app_context():
        assert len(list(db.session.scalars(select(Draft)))) == 1


def test_a_file_step_still_takes_files_larger_than_a_form(app, client, step):
    path, token = step
    assert client.post(path, data={"csrf_token": token, "action": "next", **BETRIEB}).status_code == 302
    crafts = path.rsplit("/", 1)[0] + "/handwerk"
    token = csrf_token(client.get(crafts).get_data(as_text=True))
    padding = {"register": ""}
    # a 300 KB file (over the form limit, under the upload limit) reaches the field's own check
    resp = client.post(crafts, content_type="multipart/form-data",
                       data={"csrf_token": token, "action": "next", **padding,
                             "meisterbrief": (io.BytesIO(minimal_pdf("0" * (300 * KB))), "m.pdf")})
    assert resp.status_code == 422 and "Die Datei ist zu groß" in resp.get_data(as_text=True)
    resp = client.post(crafts, content_type="multipart/form-data",
                       data={"csrf_token": token, "action": "next", "meisterbrief": (io.BytesIO(PDF), "m.pdf")})
    assert resp.status_code == 302
    with app.app_context():
        assert len(list(db.session.scalars(select(Attachment)))) == 1
