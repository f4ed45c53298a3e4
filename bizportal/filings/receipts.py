"""The acknowledgement of receipt (Eingangsbestätigung) as PDF."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from fpdf import FPDF

from ..catalog import wz2008
from ..catalog.models import FieldDefinition, ServiceDefinition
from ..common import countries
from .models import Filing

_REPLACEMENTS = {"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-", "—": "-",
                 "€": "EUR", "…": "...", "\u00a0": " ", "§": "§"}


def _latin1(text: str) -> str:
    """The PDF core fonts cover Latin-1 (all German letters); map the few other characters."""
    for src, dst in _REPLACEMENTS.items():
        text = text.replace(src, dst)
    return text.encode("latin-1", "replace").decode("latin-1")


def _answer(fd: FieldDefinition, value: Any, attachments: dict[str, Any]) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if fd.type == "yesno":
        return "Ja" if value else "Nein"
    if fd.type == "choice":
        return next((c.label.de for c in fd.choices if c.value == value), str(value))
    if fd.type == "date":
        try:
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        except (TypeError, ValueError):
            return str(value)
    if fd.type == "country":
        return countries.name(value)
    if fd.type == "wz2008":
        return wz2008.label(value)
    if fd.type == "file":
        item = attachments.get(fd.name)
        return item.original_name if item else "-"
    if fd.type in ("address", "person"):
        return ", ".join(str(v) for v in value.values() if v)
    if fd.type == "group":
        return "; ".join(", ".join(_answer(sub, item.get(sub.name), attachments) for sub in fd.fields
                                   if item.get(sub.name) not in (None, ""))
                         for item in value)
    return str(value)


def render_receipt(filing: Filing, service: ServiceDefinition | None) -> bytes:
    """A PDF naming service, reference, time of receipt, the content and each attachment's SHA-256."""
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Eingangsbestätigung {filing.reference}"))
    pdf.set_author("Unternehmensportal")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, _latin1("Eingangsbestätigung"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    title = service.title.de if service else filing.service_key
    submitted = filing.submitted_at.astimezone(tz).strftime("%d.%m.%Y, %H:%M:%S Uhr")
    for label, value in [("Leistung", title), ("Aktenzeichen", filing.reference), ("Eingegangen am", submitted),
                         ("Unternehmen", filing.company_snapshot.get("name") or "-"),
                         ("Eingereicht von", filing.person.name or filing.person.sub)]:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(45, 7, _latin1(label))
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 7, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(0, 8, _latin1("Ihre Angaben"), new_x="LMARGIN", new_y="NEXT")
    attachments = {a.field_name: a for a in filing.attachments}
    fields = service.fields if service else ()
    for fd in fields:
        if fd.name not in filing.data:
            continue
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(0, 6, _latin1(fd.label.de), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, _latin1(_answer(fd, filing.data.get(fd.name), attachments)), new_x="LMARGIN",
                       new_y="NEXT")
    if filing.attachments:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 13)
        pdf.multi_cell(0, 8, _latin1("Anlagen"), new_x="LMARGIN", new_y="NEXT")
        for a in filing.attachments:
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 6, _latin1(f"{a.original_name} ({a.size} Bytes)"), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Courier", "", 8)
            pdf.multi_cell(0, 5, f"SHA-256: {a.sha256}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "I", 9)
    pdf.multi_cell(0, 5, _latin1(
        "Diese Bestätigung belegt den Eingang Ihres Antrags im Unternehmensportal. Die zuständige Stelle "
        "prüft den Antrag und informiert Sie über das Ergebnis."), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
