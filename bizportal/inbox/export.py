"""The inbox list as a CSV file for Excel: semicolons, UTF-8 with BOM, formulas defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from .queries import Row
from .services import REGISTER_FIELD

#: a cell starting with one of these is read as a formula by spreadsheet programs
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> str:
    """The cell text; one that a spreadsheet would run as a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def filer(filed_by: Mapping[str, Any] | None) -> str:
    """"Anna Becker <anna@example.de>"; empty when nothing is known."""
    if not filed_by:
        return ""
    name, email = filed_by.get("name"), filed_by.get("email")
    return " ".join(filter(None, [name, f"<{email}>" if email else None]))


def other_receivers(receivers: Iterable[Mapping[str, Any]] | None, own_slug: str) -> str:
    """The other bodies the same filing went to, with their role: "Gewerbeamt Bremen (Stadtamt)
    (zuständige Stelle), Handelskammer Bremen (Kopie)"; empty when there are none."""
    return ", ".join(
        f"{r.get('name')} ({_('zuständige Stelle') if r.get('role') == 'primary' else _('Kopie')})"
        for r in receivers or () if r.get("slug") != own_slug)


def csv_chunks(rows: Iterable[Row], status_labels: Mapping[str, str], timezone: str,
               own_slug: str = "") -> Iterator[str]:
    """The file as text pieces: BOM and header first, then one line per row (streamed).
    ``own_slug``: the exporting chamber, left out of "Weitere Empfänger"."""
    zone = ZoneInfo(timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([_("Aktenzeichen"), _("Leistung"), _("Empfang als"), _("Unternehmen"), _("Registernummer"),
                     _("Eingegangen"), _("Stand"), _("Zugewiesen an"), _("Eingereicht von"),
                     _("Weitere Empfänger")])
    yield "\ufeff" + flush()
    for n, row in enumerate(rows, 1):
        item = row.item
        writer.writerow([defuse(cell) for cell in (
            item.reference, item.service_title,
            _("Kopie") if item.destination_role == "copy" else _("Zuständige Stelle"),
            (item.company or {}).get("name"), (item.data or {}).get(REGISTER_FIELD),
            item.received_at.astimezone(zone).strftime("%d.%m.%Y %H:%M"),
            status_labels.get(row.status or "", row.status or ""), row.assigned_to,
            filer(row.filed_by), other_receivers(row.receivers, own_slug))])
        if n % 500 == 0:
            yield flush()
    yield flush()
