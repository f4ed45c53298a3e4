"""The local folder backend: a folder the portal cannot write to is reported like an unreachable
store, and the person's text stays in the form."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from bizportal.extensions import db
from bizportal.filings.models import Attachment, FilingMessage
from bizportal.filings.storage import LocalStorage, StorageUnavailable
from tests.support.casework import form_token
from tests.support.http import csrf_token
from tests.support.pdfs import minimal_pdf

PDF = minimal_pdf("Handwerkskarte Becker")


@pytest.fixture
def app(app_factory, tmp_path):
    """The portal with an upload folder that cannot be created (a file is in its place)."""
    blocked = tmp_path / "uploads-blocked"
    blocked.write_text("not a folder")
    return app_factory(UPLOAD_DIR=str(blocked / "uploads"))


def test_a_message_with_a_file_while_the_folder_cannot_be_written_keeps_the_text(app, client, filed):
    page = client.get(f"/antraege/{filed}").get_data(as_text=True)
    resp = client.post(f"/antraege/{filed}/nachricht", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "body": "Anbei die Handwerkskarte.",
        "form_token": form_token(page, "message-form"),
        "files": [(io.BytesIO(PDF), "Karte.pdf")]})

    assert resp.status_code == 503
    shown = resp.get_data(as_text=True)
    assert "Der Dateispeicher ist gerade nicht erreichbar; die Datei wurde nicht gespeichert." in shown
    assert "Anbei die Handwerkskarte." in shown  # the text is still in the form
    with app.app_context():
        assert db.session.scalars(select(FilingMessage).where(FilingMessage.kind != "request")).all() == []
        assert db.session.scalars(select(Attachment)).all() == []


def test_local_storage_round_trip_streams_in_chunks(tmp_path):
    storage = LocalStorage(tmp_path / "files")
    content = b"%PDF-1.4\n" + bytes(range(256)) * 2000  # several chunks
    key = storage.save(content)
    chunks = list(storage.stream(key))
    assert len(chunks) > 1 and b"".join(chunks) == content == storage.read(key)
    storage.write("abc123", b"restored")
    assert storage.read("abc123") == b"restored"
    storage.delete(key)
    with pytest.raises(FileNotFoundError):
        storage.read(key)
    storage.delete(key)  # deleting twice is no error
    with pytest.raises(ValueError):
        storage.read("../etc/passwd")
    blocked = tmp_path / "blocked"
    blocked.write_text("x")
    with pytest.raises(StorageUnavailable):
        LocalStorage(blocked).save(b"%PDF-1.4")
