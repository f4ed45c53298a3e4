"""The receipt: made once at submit and stored; downloads serve those bytes; its SHA-256 on the
status page; it names operator, company and address, the person who filed, the receivers, the
answers, the attachments with SHA-256 and a SHA-256 over the canonical filing data; in the
person's language."""

from __future__ import annotations

import hashlib
import io

from pypdf import PdfReader
from sqlalchemy import select, update

from bizportal.auth.models import Person
from bizportal.extensions import db
from bizportal.filings import receipts
from bizportal.filings.models import Filing, FilingReceipt
from tests.support.filing import file_service, gewerbe_answers
from tests.support.pdfs import minimal_pdf


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


def _filing(app, reference: str) -> tuple[FilingReceipt, str]:
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        recomputed = hashlib.sha256(receipts.canonical_bytes(filing)).hexdigest()
        stored = filing.receipt
        db.session.expunge(stored)
        return stored, recomputed


def test_receipt_is_stored_at_submit_and_served_unchanged(app, client, login_as):
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    stored, recomputed = _filing(app, reference)
    assert stored.content.startswith(b"%PDF-") and stored.sha256 == hashlib.sha256(stored.content).hexdigest()
    assert stored.data_sha256 == recomputed  # the canonical data read back give the same digest
    # the person's account changes afterwards: the receipt does not
    with app.app_context():
        db.session.execute(update(Person).where(Person.sub == "anna.becker").values(name="Anna Meier"))
        db.session.commit()
    first = client.get(f"/antraege/{reference}/eingangsbestaetigung.pdf")
    second = client.get(f"/antraege/{reference}/eingangsbestaetigung.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.data == second.data == stored.content
    assert "Anna Becker" in _text(first.data) and "Anna Meier" not in _text(first.data)
    page = client.get(f"/antraege/{reference}").get_data(as_text=True)
    assert stored.sha256 in page and 'id="receipt-sha256"' in page


def test_receipt_names_who_filed_what_for_whom(app, client, login_as):
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    stored, _ = _filing(app, reference)
    text = _text(stored.content)
    assert "Eingangsbestätigung" in text and reference in text and "Gewerbeanmeldung" in text
    assert "Betreiber des Portals: Demo-Betreiber, Musterstraße 1" in text
    assert "Becker Elektrotechnik GmbH" in text and "Am Wall 120, 28195 Bremen" in text
    assert "Anna Becker <anna.becker@becker-elektro.example>" in text
    assert "Gewerbeamt Bremen (Stadtamt); Kopie an Handwerkskammer Bremen" in text
    assert "Elektroinstallation" in text  # an answer
    assert stored.data_sha256 in text.replace(" ", "")
    reader = PdfReader(io.BytesIO(stored.content))
    assert reader.trailer["/Root"]["/Lang"] == "de"
    assert reader.metadata.title == f"Eingangsbestätigung {reference}"


def test_receipt_lists_attachments_with_their_sha256(app):
    from tests.support.factories import make_filing

    pdf = minimal_pdf()
    filing_id = make_filing(app, files={"sachkundenachweis": ("sachkunde.pdf", pdf)})
    with app.app_context():
        filing = db.session.get(Filing, filing_id)
        text = _text(filing.receipt.content)
        assert filing.receipt.data_sha256 == hashlib.sha256(receipts.canonical_bytes(filing)).hexdigest()
    assert "sachkunde.pdf" in text and hashlib.sha256(pdf).hexdigest() in text.replace(" ", "")


def test_receipt_in_english_for_a_person_who_chose_english(app, client, login_as):
    login_as("anna.becker")
    client.get("/sprache/en")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    stored, _ = _filing(app, reference)
    assert stored.locale == "en"
    text = _text(stored.content)
    assert "Receipt" in text and "Business registration" in text
    assert "copy to Handwerkskammer Bremen" in text
    resp = client.get(f"/antraege/{reference}/eingangsbestaetigung.pdf")
    assert f'filename="Receipt-{reference}.pdf"' in resp.headers["Content-Disposition"]


def test_a_long_label_wraps_in_its_column_and_never_runs_into_the_value(app):
    """The bundle receipt's "Anschrift laut Unternehmenskonto" printed over the address (second
    new-user trial): a label wider than its column now wraps within it."""
    label, value = "Anschrift laut Unternehmenskonto", "Am Wall 120, 28195 Bremen"
    with app.test_request_context():
        pdf, writer = receipts._receipt_document("BP-2026-TEST01", "de")
        writer.pair(label, value)
        writer.pair("Aktenzeichen", "BP-2026-TEST01")
        data = bytes(pdf.output())
        writer.font("B", 10)
        points_per_mm = 72 / 25.4
        fragments: list[tuple[float, float, str]] = []
        PdfReader(io.BytesIO(data)).pages[0].extract_text(
            visitor_text=lambda text, cm, tm, font, size: fragments.append((tm[4], tm[5], text))
            if text.strip() else None)
        value_at = next((x, y) for x, y, t in fragments if "Am Wall" in t)
        label_parts = [(x, y, t.strip()) for x, y, t in fragments
                       if t.strip() and t.strip() in label and "Am Wall" not in t]
        assert " ".join(t for _x, _y, t in label_parts) == label  # the whole label is printed
        for x, y, text in label_parts:
            right = x + pdf.get_string_width(text) * points_per_mm
            assert y != value_at[1] or right <= value_at[0], (text, right, value_at)
        assert len({y for _x, y, _t in label_parts}) > 1  # wrapped onto a second line


def test_each_person_of_the_filing_has_its_answers_beside_their_labels(app, client, login_as):
    """A clerk reads which "Deutschland" is the country of birth and which the nationality: the
    receipt gives each entry of a repeated group as label/value rows (it printed the bare values
    in one line), the pages as a list of terms, and an empty group reads "–", not "[]"."""
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    stored, _ = _filing(app, reference)
    text = _text(stored.content)
    assert "Eintrag 1" in text
    assert "Becker, Anna" not in text  # no run-on line of bare values
    for label, value in (("Name (Feld 4)", "Becker"), ("Vornamen (Feld 5)", "Anna"),
                         ("Geschlecht (Feld 6)", "weiblich")):
        at = text.find(label)
        assert at != -1 and value in text[at:at + 120], (label, text[at:at + 120])
    page = client.get(f"/antraege/{reference}").get_data(as_text=True)
    assert '<dl class="portal-group-item">' in page and "<dt>Vornamen (Feld 5):</dt> <dd>Anna</dd>" in page
    assert "[]" not in page


def test_an_empty_repeated_group_reads_as_a_dash_on_the_pages(app):
    """ "Frühere Wohnorte" left empty read "[]" on the review, status and staff pages."""
    with app.app_context():
        service = app.extensions["bizportal"].snapshot.services["bewachungserlaubnis-34a"]
        group = next(fd for fd in service.fields if fd.type == "group")
        assert app.jinja_env.filters["answer"]([], group, "de") == "–"


def test_receipt_shows_characters_beyond_the_european_scripts(app, client, login_as):
    """The receipt sets its text in a reduced DejaVu Sans (Latin, Greek, Cyrillic); an answer in
    another script the font has (here Armenian) still reaches the PDF as real text, from the whole
    font added for that document."""
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung",
                             gewerbe_answers(activity="Elektroinstallation, Łódź – Ελλάδα – Արամ Գևորգյան"))
    text = _text(_filing(app, reference)[0].content)
    assert "Łódź – Ελλάδα – Արամ Գևորգյան" in text


def test_receipt_of_european_names_embeds_the_reduced_font_only(app, client, login_as):
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers(activity="Elektroinstallation für Łódź"))
    content = _filing(app, reference)[0].content
    assert "Elektroinstallation für Łódź" in _text(content)
    fonts = {str(font["/BaseFont"]) for page in PdfReader(io.BytesIO(content)).pages
             for font in page["/Resources"]["/Font"].values()}
    assert fonts and all(receipts.FULL_FONT not in name for name in fonts)
