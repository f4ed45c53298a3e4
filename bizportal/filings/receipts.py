"""The acknowledgement of receipt (Eingangsbestätigung) as PDF: made once at submit, stored unchanged.

``make_receipt`` renders it in the company person's language (German or English) and returns a
``FilingReceipt`` with the PDF, its SHA-256 and the SHA-256 of the filing's canonical data; the
download, the status page and the acknowledgement mail use the stored bytes only.

**Canonical filing data** (``canonical_data``/``canonical_bytes``): the JSON object with the keys
``reference``, ``service_key``, ``submitted_at`` (ISO 8601 UTC), ``company`` (the master data as
filed), ``filed_by`` (name, email, sub, issuer, trust_level as recorded at submit, or null),
``receivers`` (role, slug, name; primary first), ``data`` (the answers as filed) and
``attachments`` (filename, media_type, size, sha256, field; in upload order), serialised by
``chambers.wire.to_json_bytes`` (sorted keys, UTF-8, no insignificant whitespace). Anyone holding
the same data can recompute the digest printed on the receipt.

PDF library: fpdf2. What it gives here for accessibility: the document language (``/Lang``),
title shown as the window title, a Unicode font (DejaVu Sans when installed, so every character
is real text; a copy reduced to the Latin, Greek and Cyrillic scripts is read for each document,
and the whole font only for a document with a character beyond them), bookmarks for the sections,
and the section headings as marked structure elements (``start_section`` with title styles). It
is **not** a fully tagged PDF (PDF/UA): fpdf2 does not tag body text, so paragraphs and the
label/value lines carry no structure elements.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, format_date, format_datetime, gettext
from sqlalchemy.exc import IntegrityError

from chambers.wire import iso_utc, to_json_bytes

from ..bodies.queries import chamber_by_slug
from ..catalog import fees, wz2008
from ..catalog.models import Fee, FieldDefinition, ServiceDefinition, choice_labels, compound_values, shown_entry_fields
from ..common import countries
from ..common.formats import filesize, number
from ..common.i18n import supported_locale
from ..extensions import db
from .models import Filing, FilingReceipt

if TYPE_CHECKING:
    from fpdf import FPDF

#: a Unicode TrueType font for the receipt (Debian package fonts-dejavu-core); without it the PDF
#: core font Helvetica is used, which covers Latin-1 only
FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONT = "DejaVuSans"
#: the same font whole, added to a document only when its text has a character the reduced font lacks
FULL_FONT = "DejaVuSansFull"

#: what the receipt's reduced font keeps of DejaVu Sans (6,253 glyphs, 2,330 kept): the Latin, Greek
#: and Cyrillic scripts with their diacritics, punctuation, currency signs, arrows, mathematical
#: operators and geometric shapes. Reading the whole font costs about 30 ms per style and document.
_KEPT_RANGES = ((0x20, 0x52F), (0x1E00, 0x1EFF), (0x2000, 0x22FF), (0x25A0, 0x25FF))

_REPLACEMENTS = {"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-", "—": "-",
                 "€": "EUR", "…": "...", "\u00a0": " ", "\u202f": " "}


def canonical_data(filing: Filing) -> dict[str, Any]:
    """The filing's data whose SHA-256 the receipt prints (see the module docstring)."""
    return {
        "reference": filing.reference,
        "service_key": filing.service_key,
        "submitted_at": iso_utc(filing.submitted_at),
        "company": dict(filing.company_snapshot or {}),
        "filed_by": dict(filing.filed_by) if filing.filed_by is not None else None,
        "receivers": [dict(r) for r in filing.receivers or ()],
        "data": dict(filing.data),
        "attachments": [{"filename": a.original_name, "media_type": a.media_type, "size": a.size,
                         "sha256": a.sha256, "field": a.field_name} for a in files_of(filing)],
    }


def files_of(filing: Filing) -> list[Any]:
    """The filing's attachments in upload order (the same before and after the submit's commit)."""
    return sorted(filing.attachments, key=lambda a: (a.created_at, str(a.id)))


def canonical_bytes(filing: Filing) -> bytes:
    """``canonical_data`` as canonical JSON bytes (``chambers.wire.to_json_bytes``)."""
    return to_json_bytes(canonical_data(filing))


def stored_receipt(filing: Filing, service: ServiceDefinition | None) -> FilingReceipt:
    """The filing's stored receipt. A filing made before receipts were stored (or written without
    the submit use case) gets its receipt now, once, in the filing person's language, with the
    receivers its deliveries name; commits. Every later call returns those bytes."""
    if filing.receipt is not None:
        return filing.receipt
    receivers = None
    if filing.receivers is None:
        ordered = sorted(filing.deliveries, key=lambda d: d.role != "primary")
        receivers = [{"role": d.role, "slug": d.chamber.slug, "name": d.chamber.name} for d in ordered]
    receipt = make_receipt(filing, service, filing.person.locale, receivers=receivers)
    db.session.add(receipt)
    try:
        db.session.commit()
    except IntegrityError:  # made at the same moment by another request or the worker: take that one
        db.session.rollback()
        stored = db.session.get(FilingReceipt, filing.id)
        if stored is None:
            raise
        return stored
    return receipt


def receipt_filename(reference: str, locale: str) -> str:
    stem = "Receipt" if locale == "en" else "Eingangsbestaetigung"
    return f"{stem}-{reference}.pdf"


def make_receipt(filing: Filing, service: ServiceDefinition | None, locale: str | None,
                 receivers: list[dict[str, Any]] | None = None) -> FilingReceipt:
    """The receipt of ``filing`` in ``locale`` (one of the portal's languages; default German), as a
    new ``FilingReceipt`` (not added to the session). ``receivers`` default to the recorded ones."""
    lang = supported_locale(locale)
    with force_locale(lang):
        content = render_receipt(filing, service, lang, receivers)
    return FilingReceipt(filing_id=filing.id, locale=lang, content=content,
                         sha256=hashlib.sha256(content).hexdigest(),
                         data_sha256=hashlib.sha256(canonical_bytes(filing)).hexdigest())


#: the width of a label's column in a receipt's label/value rows (mm)
LABEL_WIDTH = 50


@dataclass(frozen=True)
class _Fonts:
    """The receipt's font files: the whole DejaVu Sans (regular, bold) and the reduced copies made
    from it (the whole ones again where they could not be made), with the characters those cover."""

    regular: str
    bold: str
    reduced_regular: str
    reduced_bold: str
    covered: frozenset[int] | None  # None: the reduced files are the whole ones

    def covers(self, value: str) -> bool:
        return self.covered is None or all(ord(ch) in self.covered for ch in value)


def _reduced(source: str, covered: frozenset[int]) -> str:
    """A copy of the font ``source`` with the glyphs of ``covered`` only, made once and kept in the
    temporary directory under a name from the source's size and time and the kept ranges (written
    to a temporary name and renamed, so processes making it at once do not read half a file)."""
    import tempfile

    import fontTools
    from fontTools import subset, ttLib

    stat = os.stat(source)
    key = hashlib.sha256(repr((source, stat.st_size, stat.st_mtime_ns, _KEPT_RANGES,
                               fontTools.version)).encode()).hexdigest()[:16]
    folder = os.path.join(tempfile.gettempdir(), f"bizportal-fonts-{os.getuid()}")
    target = os.path.join(folder, f"{os.path.splitext(os.path.basename(source))[0]}-{key}.ttf")
    if os.path.exists(target):
        return target
    os.makedirs(folder, mode=0o700, exist_ok=True)
    font = ttLib.TTFont(source, recalcTimestamp=False)
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the font's names and licence text
    options.notdef_outline = True
    options.glyph_names = True
    options.layout_features = []  # fpdf2 sets glyphs one by one (no shaping)
    options.drop_tables += ["FFTM"]  # FontForge's timestamps
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=covered)
    subsetter.subset(font)
    handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        font.save(out)
    os.replace(partial, target)
    return target


@functools.cache
def _fonts() -> _Fonts | None:
    """The font files, or None without DejaVu Sans. Made once per process."""
    regular, bold = os.path.join(FONT_DIR, "DejaVuSans.ttf"), os.path.join(FONT_DIR, "DejaVuSans-Bold.ttf")
    if not (os.path.exists(regular) and os.path.exists(bold)):
        return None
    logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # not a line per table pruned, per PDF
    wanted = frozenset(cp for low, high in _KEPT_RANGES for cp in range(low, high + 1))
    try:
        from fontTools import ttLib

        in_both = set.intersection(*(set(ttLib.TTFont(path, lazy=True).getBestCmap()) for path in (regular, bold)))
        covered = frozenset(wanted & in_both)
        return _Fonts(regular, bold, _reduced(regular, covered), _reduced(bold, covered), covered)
    except Exception:  # noqa: BLE001 - a font that cannot be reduced (or no place to keep it) is used whole
        current_app.logger.warning("receipt font: could not make the reduced copies, using the whole font",
                                   exc_info=True)
        return _Fonts(regular, bold, regular, bold, None)


class _Writer:
    """Text into the PDF with the font at hand: the reduced DejaVu Sans, with the whole font as a
    fallback added at the first character the reduced one lacks, or the Latin-1 core font."""

    def __init__(self, pdf: FPDF):
        self.pdf = pdf
        self.fonts = _fonts()
        self.unicode = self.fonts is not None
        self.whole_font_added = False
        if self.fonts is not None:
            pdf.add_font(FONT, "", self.fonts.reduced_regular)
            pdf.add_font(FONT, "B", self.fonts.reduced_bold)
            self.family = FONT
        else:
            self.family = "Helvetica"

    def text(self, value: str) -> str:
        if self.fonts is not None:
            if not self.whole_font_added and not self.fonts.covers(value):
                self.pdf.add_font(FULL_FONT, "", self.fonts.regular)
                self.pdf.add_font(FULL_FONT, "B", self.fonts.bold)
                self.pdf.set_fallback_fonts([FULL_FONT])
                self.whole_font_added = True
            return value
        for src, dst in _REPLACEMENTS.items():
            value = value.replace(src, dst)
        return value.encode("latin-1", "replace").decode("latin-1")

    def font(self, style: str = "", size: float = 10) -> None:
        self.pdf.set_font(self.family, style, size)

    def line(self, value: str, style: str = "", size: float = 10, height: float = 6) -> None:
        self.font(style, size)
        self.pdf.multi_cell(0, height, self.text(value), new_x="LMARGIN", new_y="NEXT")

    def pair(self, label: str, value: str) -> None:
        """``label`` in a 50 mm column (wrapped when longer, never over the value), ``value`` beside it."""
        self.font("B", 10)
        label = self.text(label)
        if self.pdf.get_string_width(label) <= LABEL_WIDTH - 2 * self.pdf.c_margin:
            self.pdf.cell(LABEL_WIDTH, 6, label)
            self.font("", 10)
            self.pdf.multi_cell(0, 6, self.text(value or "-"), new_x="LMARGIN", new_y="NEXT")
            return
        label_height = float(self.pdf.multi_cell(LABEL_WIDTH, 6, label, align="L", dry_run=True,  # type: ignore[arg-type]
                                                 output="HEIGHT"))
        if self.pdf.will_page_break(label_height):
            self.pdf.add_page()
        top = self.pdf.get_y()
        self.pdf.multi_cell(LABEL_WIDTH, 6, label, align="L", new_x="RIGHT", new_y="TOP")
        self.font("", 10)
        self.pdf.multi_cell(0, 6, self.text(value or "-"), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_y(max(self.pdf.get_y(), top + label_height))

    def section(self, title: str, level: int = 0) -> None:
        self.pdf.start_section(self.text(title), level=level)


def _answer(fd: FieldDefinition, value: Any, attachments: dict[str, Any], locale: str) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if fd.type == "yesno":
        return gettext("Ja") if value else gettext("Nein")
    if fd.type == "choice":
        return next((c.label.get(locale) for c in fd.choices if c.value == value), str(value))
    if fd.type == "multichoice":
        return ", ".join(choice_labels(fd, value, locale)) or "-"
    if fd.type == "date":
        try:
            return format_date(date.fromisoformat(value), "medium")
        except (TypeError, ValueError):
            return str(value)
    if fd.type == "number":
        return number(value)
    if fd.type == "country":
        return countries.name(value, locale)
    if fd.type == "wz2008":
        return wz2008.label(value)
    if fd.type == "file":
        item = attachments.get(fd.name)
        return item.original_name if item else "-"
    if fd.type in ("address", "person") and isinstance(value, dict):
        parts = compound_values(value, locale)
        if value.get("birth_date"):
            parts.append(gettext("geboren am %(date)s", date=_answer_date(value["birth_date"])))
        return ", ".join(parts) or "-"
    if fd.type == "group":
        return "; ".join(", ".join(_answer(sub, sub_value, attachments, locale)
                                   for sub, sub_value in shown_entry_fields(fd.fields, item))
                         for item in value)
    return str(value)


def _group_items(w: _Writer, fd: FieldDefinition, items: list[Any], attachments: dict[str, Any],
                 locale: str) -> None:
    """A repeated group (persons, former residences) as numbered entries, each answer beside its
    label: a line of bare values ("Becker, Anna, weiblich, Deutschland, Deutschland") does not say
    which is which."""
    for index, item in enumerate(items, 1):
        w.line(gettext("Eintrag %(number)s", number=index), style="B", size=9, height=5)
        for sub, value in shown_entry_fields(fd.fields, item):
            w.pair(sub.label.get(locale), _answer(sub, value, attachments, locale))


def _answer_date(value: Any) -> str:
    try:
        return format_date(date.fromisoformat(value), "medium")
    except (TypeError, ValueError):
        return str(value)


def _address(snapshot: dict[str, Any]) -> str:
    city = " ".join(str(v) for v in (snapshot.get("postcode"), snapshot.get("city")) if v)
    return ", ".join(str(v) for v in (snapshot.get("street"), city) if v) or "-"


def _receiver_line(receivers: list[dict[str, Any]]) -> str:
    return "; ".join(r["name"] if r["role"] == "primary" else gettext("Kopie an %(name)s", name=r["name"])
                     for r in receivers)


def _fee_region(receivers: list[dict[str, Any]]) -> str | None:
    """The region of the body that works the filing (its primary receiver), whose fee applies; None
    when no primary is named or that body is gone."""
    primary = next((r for r in receivers if r.get("role") == "primary"), None)
    chamber = chamber_by_slug(primary["slug"]) if primary else None
    return chamber.region if chamber else None


def _fee_rows(fee: Fee, region: str | None, locale: str) -> list[tuple[str, str]]:
    """The fee as the review showed it: the amount, the note of ``region`` (every region's, each
    labelled, where it is not known), the note that holds everywhere; and the legal basis."""
    notes = [f"{label}: {note}" if label else note for label, note in fees.regional_notes(fee, region, locale)]
    lines = [fees.fee_text(fee), *notes, *([fee.note.get(locale)] if fee.note else [])]
    return [(gettext("Gebühr"), "\n".join(lines)),
            (gettext("Rechtsgrundlage der Gebühr"), fees.basis_text(fee, region, locale))]


def _receipt_document(reference: str, locale: str) -> tuple[FPDF, _Writer]:
    """A receipt's PDF with its first page begun: document properties (title with ``reference``,
    the operator as author, language), heading styles, the title and the portal's operator."""
    # fpdf2 (with fontTools and Pillow, about 33 MB) is imported at the first PDF, not with the
    # portal: most web workers never render one
    from fpdf import FPDF
    from fpdf.fonts import TextStyle
    from fpdf.prefs import ViewerPreferences

    identity = current_app.config["SETTINGS"].identity.in_language(locale)
    pdf = FPDF(format="A4")
    w = _Writer(pdf)
    title = gettext("Eingangsbestätigung")
    pdf.set_title(w.text(f"{title} {reference}"))
    pdf.set_author(w.text(identity.operator))
    pdf.set_creator("bizportal")
    pdf.set_lang(locale)
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.set_section_title_styles(
        TextStyle(font_family=w.family, font_style="B", font_size_pt=16, t_margin=0, b_margin=3),
        TextStyle(font_family=w.family, font_style="B", font_size_pt=13, t_margin=4, b_margin=2),
    )
    pdf.add_page()
    w.font("B", 16)
    w.section(title)
    w.line(f"{identity.portal_name} – {identity.land}", size=9)
    w.line(gettext("Betreiber des Portals: %(operator)s", operator=identity.operator), size=9)
    pdf.ln(2)
    return pdf, w


def render_receipt(filing: Filing, service: ServiceDefinition | None, locale: str,
                   receivers: list[dict[str, Any]] | None = None) -> bytes:
    """The PDF in the current locale (``locale`` names it, for choice labels and the document
    language): operator, service, reference, time of receipt, company and address, the person who
    filed, the receivers, the fee (with the note of the primary receiver's region), the answers,
    the attachments with SHA-256 and the SHA-256 of the canonical filing data."""
    tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    identity = current_app.config["SETTINGS"].identity.in_language(locale)
    pdf, w = _receipt_document(filing.reference, locale)
    service_title = service.title.get(locale) if service else filing.service_key
    person = filing.filed_by or {"name": filing.person.name, "email": filing.person.email, "sub": filing.person.sub}
    snapshot = dict(filing.company_snapshot or {})
    company = str(snapshot.get("name") or "-")
    if snapshot.get("legal_form") and str(snapshot["legal_form"]) not in company:
        company += f" ({snapshot['legal_form']})"
    person_line = person.get("name") or person.get("sub") or "-"
    if person.get("email"):
        person_line += f" <{person['email']}>"
    receivers = receivers if receivers is not None else list(filing.receivers or ())
    rows = [
        (gettext("Leistung"), service_title),
        (gettext("Aktenzeichen"), filing.reference),
        (gettext("Eingegangen am"), format_datetime(filing.submitted_at.astimezone(tz), "long")),
        (gettext("Unternehmen"), company),
        (gettext("Anschrift"), _address(snapshot)),
        (gettext("Eingereicht von"), person_line),
        (gettext("Empfänger"), _receiver_line(receivers)),
        *(_fee_rows(service.fee, _fee_region(receivers), locale) if service and service.fee else ()),
    ]
    for label, value in rows:
        w.pair(label, value)
    w.section(gettext("Ihre Angaben"), level=1)
    attachments = {a.field_name: a for a in files_of(filing)}
    for fd in service.fields if service else ():
        if fd.name not in filing.data:
            continue
        w.line(fd.label.get(locale), style="B")
        value = filing.data.get(fd.name)
        if fd.type == "group" and isinstance(value, list) and value:
            _group_items(w, fd, value, attachments, locale)
        else:
            w.line(_answer(fd, value, attachments, locale))
    if filing.attachments:
        w.section(gettext("Anlagen"), level=1)
        for a in files_of(filing):
            w.line(f"{a.original_name} ({filesize(a.size)})")
            w.line(f"SHA-256: {a.sha256}", size=8, height=5)
    w.section(gettext("Prüfsumme"), level=1)
    w.line(gettext("SHA-256 der Antragsdaten (kanonisches JSON):"), size=9)
    w.line(hashlib.sha256(canonical_bytes(filing)).hexdigest(), size=8, height=5)
    pdf.ln(4)
    w.line(gettext("Diese Bestätigung belegt den Eingang Ihres Antrags im Portal „%(portal)s“. Die zuständige "
                   "Stelle prüft den Antrag und informiert Sie über das Ergebnis.", portal=identity.portal_name),
           size=9, height=5)
    w.line(gettext("Fragen zum Portal: %(contact)s", contact=identity.imprint_email), size=9, height=5)
    return bytes(pdf.output())


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def render_bundle_receipt(record: Any, bundle: Any, filings: list[Filing], catalog: Any, locale: str,
                          premises: dict[str, dict[str, Any]] | None = None) -> bytes:
    """The receipt of a bundle submit (``FilingBundle``) as PDF in ``locale``: the bundle, its
    reference and time of receipt, company (with the account's address, labelled as such) and
    person, the business premises the bundle gives (``premises``: ``current`` and, for a move,
    ``new``; see ``bundles.premises``), and every filing made with it (service,
    reference, receivers, SHA-256 of its canonical data) and each service left out (not filed);
    each filing keeps its own receipt too."""
    lang = supported_locale(locale)
    with force_locale(lang):
        tz = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        identity = current_app.config["SETTINGS"].identity.in_language(lang)
        pdf, w = _receipt_document(record.reference, lang)
        first = filings[0]
        snapshot = dict(first.company_snapshot or {})
        person = first.filed_by or {"name": first.person.name, "email": first.person.email}
        for label, value in (
            (gettext("Vorhaben"), bundle.title.get(lang)),
            (gettext("Aktenzeichen"), record.reference),
            (gettext("Eingegangen am"), format_datetime(record.submitted_at.astimezone(tz), "long")),
            (gettext("Unternehmen"), str(snapshot.get("name") or "-")),
            (gettext("Anschrift laut Unternehmenskonto"), _address(snapshot)),
            *((label, _address(address)) for key, label in (
                ("current", gettext("Betriebsstätte laut Vorhaben")),
                ("new", gettext("Neue Betriebsstätte laut Vorhaben"))) if (address := (premises or {}).get(key))),
            (gettext("Eingereicht von"), person.get("name") or person.get("sub") or "-"),
            (gettext("Anträge"), str(len(filings))),
        ):
            w.pair(label, value)
        w.section(gettext("Eingereichte Anträge"), level=1)
        for filing in filings:
            service = catalog.get(filing.service_key)
            w.line(service.title.get(lang) if service else filing.service_key, style="B")
            w.pair(gettext("Aktenzeichen"), filing.reference)
            w.pair(gettext("Empfänger"), _receiver_line(list(filing.receivers or ())))
            w.line(gettext("SHA-256 der Antragsdaten (kanonisches JSON):"), size=8, height=5)
            w.line(hashlib.sha256(canonical_bytes(filing)).hexdigest(), size=8, height=5)
            pdf.ln(2)
        for key in record.left_out or ():
            service = catalog.get(key)
            w.line(service.title.get(lang) if service else key, style="B")
            w.line(gettext("Nicht beantragt (weggelassen)."))
            pdf.ln(2)
        w.line(gettext("Diese Bestätigung belegt den Eingang aller hier genannten Anträge im Portal „%(portal)s“. "
                       "Zu jedem Antrag gibt es außerdem eine eigene Eingangsbestätigung.",
                       portal=identity.portal_name), size=9, height=5)
        return bytes(pdf.output())
