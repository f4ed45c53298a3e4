"""Uploads are scanned by ClamAV (a clamd of the test's own), fail closed when the scanner gives no
verdict, and PDFs with JavaScript or embedded files and polyglot files are refused."""

from __future__ import annotations

import dataclasses
import io
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from bizportal.catalog.loader import load_definition_file
from bizportal.common.virusscan import ClamdScanner, ScannerUnavailable
from bizportal.extensions import db
from bizportal.filings.models import Attachment, Draft, FilingMessage
from tests.support.casework import answer
from tests.support.clamd import EICAR, SIGNATURE, closed_port, running_clamd, silent_listener
from tests.support.filing import post_step, start_draft
from tests.support.pdfs import minimal_pdf

BETRIEB = {"betriebsadresse-street": "Am Wall 120", "betriebsadresse-postcode": "28195",
           "betriebsadresse-city": "Bremen", "beschaeftigte": "3", "handwerk": "yes"}
#: a valid PDF that the test signature database lists as malware (proves PDFs are scanned too)
INFECTED_PDF = minimal_pdf("this PDF is listed in the test signatures")
CLEAN_PDF = minimal_pdf("Meisterbrief Becker")


@pytest.fixture(scope="session")
def clamd_address(tmp_path_factory):
    with running_clamd(tmp_path_factory.mktemp("clamd"), {"InfectedPdf": INFECTED_PDF}) as address:
        yield address


def _app(app_factory, **config):
    app = app_factory(**config)
    definition = load_definition_file(Path(__file__).parent / "data" / "testantrag.toml")
    portal = app.extensions["bizportal"]
    portal.snapshot = dataclasses.replace(portal.snapshot, services={**portal.catalog, "testantrag": definition})
    return app


@pytest.fixture
def scanned_app(app_factory, clamd_address):
    return _app(app_factory, CLAMD_ADDRESS=clamd_address)


@pytest.fixture
def app(scanned_app):
    """The ``filed`` fixture's app, with the scanner."""
    return scanned_app


def _company(app, login):
    client = app.test_client()
    assert login(client, "anna.becker").status_code == 302
    return client


def _upload(client, content: bytes, filename: str):
    path = start_draft(client, "testantrag")
    post_step(client, path, BETRIEB)
    crafts = path.rsplit("/", 1)[0] + "/handwerk"
    return post_step(client, crafts, {}, files={"meisterbrief": (content, filename)})


def _stored(app) -> tuple[list[Attachment], list[Path]]:
    with app.app_context():
        rows = list(db.session.scalars(select(Attachment)))
    return rows, [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


@pytest.fixture
def http_login():
    from tests.support.http import login

    return login


def test_the_eicar_file_is_refused_with_a_clear_message_and_nothing_is_stored(scanned_app, http_login):
    client = _company(scanned_app, http_login)
    resp = _upload(client, EICAR, "meisterbrief.pdf")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Die Virenprüfung hat in dieser Datei Schadsoftware gefunden" in html and SIGNATURE in html
    assert _stored(scanned_app) == ([], [])


def test_a_valid_pdf_listed_by_the_scanner_is_refused_and_a_clean_one_is_stored(scanned_app, http_login):
    client = _company(scanned_app, http_login)
    resp = _upload(client, INFECTED_PDF, "meisterbrief.pdf")
    assert resp.status_code == 422 and "Bizportal.Test.InfectedPdf" in resp.get_data(as_text=True)
    assert _stored(scanned_app) == ([], [])
    resp = _upload(client, CLEAN_PDF, "meisterbrief.pdf")
    assert resp.status_code == 302
    rows, files = _stored(scanned_app)
    assert [r.original_name for r in rows] == ["meisterbrief.pdf"] and len(files) == 1


def test_a_company_answer_with_the_eicar_file_is_refused_like_an_attachment(app, client, filed):
    resp = answer(client, filed, "Anbei der Nachweis.", files=[(EICAR, "nachweis.pdf")])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "nachweis.pdf" in html and "Schadsoftware gefunden" in html
    with app.app_context():
        assert db.session.scalars(select(FilingMessage)).all() == []
    assert _stored(app)[1] == []


@pytest.mark.parametrize("scanner", ["hung", "down"])
def test_without_a_verdict_the_upload_is_held_with_a_message_and_never_stored(app_factory, http_login, scanner):
    with (silent_listener() if scanner == "hung" else _nothing(closed_port())) as address:
        app = _app(app_factory, CLAMD_ADDRESS=address, CLAMD_TIMEOUT=0.5)
        client = _company(app, http_login)
        started = time.monotonic()
        resp = _upload(client, CLEAN_PDF, "meisterbrief.pdf")
        assert time.monotonic() - started < 10  # the timeout holds: the person is not kept waiting
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "konnte gerade nicht auf Schadsoftware geprüft werden und wurde deshalb nicht gespeichert" in html
    assert _stored(app) == ([], [])
    with app.app_context():  # the step is not marked done: the required file is still missing
        draft = db.session.scalar(select(Draft))
        assert "handwerk" not in draft.completed_steps


class _nothing:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


def test_the_client_speaks_instream_to_a_real_clamd(clamd_address):
    scanner = ClamdScanner(clamd_address, timeout=5)
    assert scanner.ping()
    found = scanner.scan(EICAR)
    assert not found.clean and found.signature.startswith(SIGNATURE)  # clamd adds ".UNOFFICIAL"
    assert scanner.scan(CLEAN_PDF).clean
    big = CLEAN_PDF + b"\0" * 300_000 + EICAR  # several INSTREAM chunks; a hash signature matches whole files
    assert scanner.scan(big).clean
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(closed_port(), timeout=1).scan(EICAR)
    with pytest.raises(ValueError):
        ClamdScanner("clamd.example:3310")


# --- active content and polyglots (no scanner needed) ----------------------------------------------

def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.html", "<script>alert(1)</script>")
    return buf.getvalue()


JAVASCRIPT_PDF = minimal_pdf(catalog_extra=b"/OpenAction 4 0 R",
                             extra_objects=(b"<< /S /JavaScript /JS (app.alert('hallo')) >>",))
#: the same with the names written in #xx escapes, as obfuscated files do
ESCAPED_JAVASCRIPT_PDF = minimal_pdf(catalog_extra=b"/OpenAction 4 0 R",
                                     extra_objects=(b"<< /S /J#61vaScript /J#53 (app.alert('hallo')) >>",))
EMBEDDED_FILE_PDF = minimal_pdf(
    catalog_extra=b"/Names << /EmbeddedFiles 4 0 R >>",
    extra_objects=(b"<< /Names [(rechnung.exe) 5 0 R] >>",
                   b"<< /Type /Filespec /F (rechnung.exe) /EF << /F 6 0 R >> >>",
                   b"<< /Type /EmbeddedFile /Length 5 >>\nstream\nMZ...\nendstream"))


def _pdf_with_js_in_an_object_stream() -> bytes:
    """A PDF written by pypdf with its objects compressed into object streams (JS not visible in the bytes)."""
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert(1)")})
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize(("content", "message"), [
    (JAVASCRIPT_PDF, "PDF-Dateien mit JavaScript oder anderen ausführbaren Inhalten werden nicht angenommen"),
    (ESCAPED_JAVASCRIPT_PDF, "PDF-Dateien mit JavaScript oder anderen ausführbaren Inhalten werden nicht angenommen"),
    (_pdf_with_js_in_an_object_stream(), "PDF-Dateien mit JavaScript"),
    (EMBEDDED_FILE_PDF, "PDF-Dateien mit eingebetteten Dateien werden nicht angenommen"),
    (CLEAN_PDF + _zip(), "zugleich eine Datei anderen Formats"),  # a valid PDF that unzips
    (CLEAN_PDF.replace(b"%PDF-1.7\n", b"%PDF-1.7\n%<html><script>alert(1)</script>\n", 1),
     "zugleich eine Datei anderen Formats"),  # a valid PDF that a browser renders as a page
    (b"%PDF-1.7\nnot really a PDF\n%%EOF\n", "Die PDF-Datei ist beschädigt oder mit einem Kennwort geschützt"),
], ids=["javascript", "escaped-names", "object-stream", "embedded-file", "pdf-zip", "pdf-html", "unreadable"])
def test_pdfs_with_active_content_and_polyglots_are_refused(app_factory, http_login, content, message):
    app = _app(app_factory)
    client = _company(app, http_login)
    resp = _upload(client, content, "meisterbrief.pdf")
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert _stored(app) == ([], [])


def test_an_image_that_is_also_a_zip_archive_is_refused():
    from bizportal.common.uploads import POLYGLOT, active_content

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    assert active_content(png, "png") is None
    assert active_content(png + _zip(), "png") == POLYGLOT


def _malware_entries(app):
    from bizportal.audit.models import AuditEvent

    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "upload.malware")))
        db.session.expunge_all()
        return found


def test_a_detection_is_audited_with_company_draft_field_and_signature_but_not_the_file(scanned_app, http_login):
    client = _company(scanned_app, http_login)
    assert _upload(client, EICAR, "kontoauszug-mueller.pdf").status_code == 422
    (entry,) = _malware_entries(scanned_app)
    with scanned_app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        person_key = f"company:{draft.created_by_id}"
        company_id = draft.company_id
        draft_id = draft.id
    assert entry.outcome == "refused" and entry.seq is not None  # chained, not counted as noise
    assert entry.actor == person_key
    assert entry.target == f"company:{company_id}"
    assert entry.detail.startswith(f"draft {draft_id}, field meisterbrief: {SIGNATURE}")  # clamd may add ".UNOFFICIAL"
    columns = " ".join(str(v) for v in (entry.target, entry.detail, entry.actor))
    assert "kontoauszug" not in columns and EICAR.decode() not in columns  # neither the file's name nor its content
    page = scanned_app.test_client()
    http_login(page, "admin", staff=True)
    html = page.get("/staff/admin/protokoll").get_data(as_text=True)
    assert "Hochgeladene Datei mit Schadsoftware abgewiesen" in html and SIGNATURE in html


def test_a_clean_upload_writes_no_malware_entry(scanned_app, http_login):
    client = _company(scanned_app, http_login)
    assert _upload(client, CLEAN_PDF, "meisterbrief.pdf").status_code == 302
    assert _malware_entries(scanned_app) == []


def test_an_answer_with_malware_is_audited_with_its_filing(app, client, filed):
    assert answer(client, filed, "Anbei.", files=[(EICAR, "nachweis.pdf")]).status_code == 422
    (entry,) = _malware_entries(app)
    with app.app_context():
        from bizportal.filings.models import Filing

        filing = db.session.scalars(select(Filing).where(Filing.reference == filed)).one()
        assert entry.filing_id == filing.id and entry.target == f"company:{filing.company_id}"
    assert entry.detail.startswith(f"field files: {SIGNATURE}") and entry.actor.startswith("company:")


def test_a_staff_decision_document_with_malware_is_audited_with_the_filing_and_chamber(app, filed):
    from tests.support.casework import item_path, staff_client, take_step

    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    resp = take_step(staff, path, "accepted", documents=[(EICAR, "bescheid.pdf")])
    assert resp.status_code == 422 and "Schadsoftware gefunden" in resp.get_data(as_text=True)
    (entry,) = _malware_entries(app)
    with app.app_context():
        from bizportal.auth.models import StaffUser
        from bizportal.bodies.models import Chamber
        from bizportal.filings.models import Filing

        filing = db.session.scalars(select(Filing).where(Filing.reference == filed)).one()
        gewerbeamt = db.session.scalars(select(Chamber).where(Chamber.slug == "gewerbeamt-bremen")).one()
        staff_id = db.session.scalars(select(StaffUser.id).where(StaffUser.sub == "gewerbeamt.bremen")).one()
        assert filing.status != "accepted"
    assert (entry.filing_id, entry.chamber_id, entry.actor) == (filing.id, gewerbeamt.id, f"staff:{staff_id}")
    assert entry.detail.startswith(f"field documents: {SIGNATURE}")
