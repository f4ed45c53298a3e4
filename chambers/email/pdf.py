"""The filing as a PDF (fpdf2), readable by people and by text extraction.

Font: Source Sans Pro from the PyPI package ``font-source-sans-pro`` (SIL OFL 1.1), embedded as a
subset, so umlauts, ß, €, typographic quotes and the Latin Extended letters common in names
(Ş, ı, ł, ő, č …) render and extract correctly. Without that package the PDF falls back to the
core font Helvetica with Windows-1252 text: German umlauts, ß, €, „“ and – still render; other
letters are reduced to their base letter (Ş → S). The PDF is deterministic for a payload (its
creation date is the submission time), so a retry attaches the same bytes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC

from fpdf import FPDF

from ..base import FilingPayload
from .render import company_rows, flatten, human_size, local_time, role_note

__all__ = ["render_pdf", "bundled_font", "FilingPDF", "setup_font", "section", "table"]

FAMILY = "SourceSans"
_FALLBACK_MAP = str.maketrans(
    {"ı": "i", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ħ": "h", "→": "->", "›": ">", "✓": "x"}
)


def bundled_font() -> tuple[str, str] | None:
    """Paths of the regular and bold TTF of the bundled font, or ``None`` if it is not installed."""
    try:
        import font_source_sans_pro as fonts
    except ImportError:
        return None
    files = fonts.font_files_ttf
    if "SourceSansPro" not in files or "SourceSansProBold" not in files:
        return None
    return files["SourceSansPro"], files["SourceSansProBold"]


def _cp1252(text: str) -> str:
    """Text the core fonts can show: cp1252 as is, other letters reduced to their base letter."""
    out = []
    for ch in text.translate(_FALLBACK_MAP):
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            out.append(base if base and all(_encodable(c) for c in base) else "?")
    return "".join(out)


def _encodable(ch: str) -> bool:
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


class FilingPDF(FPDF):
    """A4 pages with a footer line (``footer_text``) and "Seite n/m"; the portal's exports use it too."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.font_family, "", 8)
        self.cell(0, 6, self.footer_text, align="L")
        self.cell(0, 6, f"Seite {self.page_no()}/{{nb}}", align="R")


def setup_font(pdf: FPDF) -> tuple[str, Callable[[str], str]]:
    """Register the bundled font on ``pdf``; returns its family and the text mapping every string
    must pass through (identity with the bundled font, cp1252 reduction with the core font)."""
    paths = bundled_font()
    if paths is not None:
        pdf.add_font(FAMILY, "", paths[0])
        pdf.add_font(FAMILY, "B", paths[1])
        return FAMILY, lambda text: text
    pdf.core_fonts_encoding = "windows-1252"
    return "helvetica", _cp1252


def render_pdf(payload: FilingPayload) -> bytes:
    """Render the filing: heading, reference and date, company, form data, attachment list.

    Raises nothing for odd data (every value is shown as text); returns the PDF bytes.
    """
    pdf = FilingPDF(format="A4")
    family, txt = setup_font(pdf)
    submitted = payload.submitted_at
    pdf.set_creation_date(submitted if submitted.tzinfo else submitted.replace(tzinfo=UTC))
    pdf.set_title(txt(f"{payload.service_title} – {payload.reference}"))
    pdf.set_subject(txt(payload.reference))
    pdf.set_creator("bizportal")
    pdf.footer_text = txt(f"Vorgang {payload.reference} · Zustellungs-ID {payload.delivery_id}")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()

    pdf.set_font(family, "B", 16)
    pdf.multi_cell(0, 8, txt(payload.service_title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, "", 10)
    head = [("Vorgangsnummer", payload.reference), ("Eingereicht am", local_time(submitted))]
    if payload.leika:
        head.append(("Leistungsschlüssel (LeiKa)", payload.leika))
    if role_note(payload):
        head.append(("Hinweis", role_note(payload)))
    table(pdf, family, head, txt)
    section(pdf, family, "Unternehmen", company_rows(payload.company), txt)
    section(pdf, family, "Angaben", list(flatten(payload.data)), txt)
    attachments = [
        (a.filename, f"{a.media_type}, {human_size(a.size)}") for a in payload.attachments
    ]
    section(pdf, family, "Anlagen", attachments or [("—", "keine Anlagen")], txt)
    return bytes(pdf.output())


def section(
    pdf: FPDF, family: str, title: str, rows: Sequence[tuple[str, str]], txt: Callable[[str], str]
) -> None:
    """A bold heading and a two-column table of (label, value) rows; the heading never ends a page."""
    if pdf.will_page_break(24):
        pdf.add_page()
    pdf.ln(4)
    pdf.set_font(family, "B", 12)
    pdf.cell(0, 8, txt(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 10)
    table(pdf, family, rows, txt)


def table(
    pdf: FPDF, family: str, rows: Sequence[tuple[str, str]], txt: Callable[[str], str]
) -> None:
    """(label, value) rows in two columns (38 : 62), text passed through ``txt``."""
    with pdf.table(
        col_widths=(38, 62),
        text_align="LEFT",
        first_row_as_headings=False,
        line_height=5.5,
        padding=1.2,
    ) as grid:
        for label, value in rows:
            row = grid.row()
            row.cell(txt(label))
            row.cell(txt(value))
