"""Real PDF files for upload tests: uploads are opened and checked (``common.uploads.active_content``),
so a few bytes that merely start with ``%PDF-`` are refused as unreadable."""

from __future__ import annotations


def minimal_pdf(note: str = "", extra_objects: tuple[bytes, ...] = (), catalog_extra: bytes = b"") -> bytes:
    """A valid one-page PDF with a correct cross-reference table. ``note`` goes into a comment
    line (different notes give different files), ``extra_objects`` are appended as objects 4, 5, …
    and ``catalog_extra`` is added to the catalog dictionary (for crafted test files)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>", *extra_objects]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    if note:
        out += b"%" + note.replace("\n", " ").encode("utf-8") + b"\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def receipt_text(app, reference: str) -> str:
    """The text of the stored receipt of the filing ``reference``, its whitespace made single spaces."""
    import io

    from pypdf import PdfReader
    from sqlalchemy import select

    from bizportal.extensions import db
    from bizportal.filings.models import Filing

    with app.app_context():
        content = db.session.scalar(select(Filing).where(Filing.reference == reference)).receipt.content
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages)
