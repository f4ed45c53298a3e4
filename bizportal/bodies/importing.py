"""Reading an import file of receiving bodies (CSV or JSON) into rows for ``services.import_bodies``.

CSV: UTF-8, comma or semicolon separated, a header row with the columns ``slug, name, kind, region,
postcode_prefixes, municipality_keys, enabled, authority_prefix, authority_id`` (all after
``region`` may be missing; several values in one cell separated by spaces; a row of a stored body
without the two authority columns keeps its Behördenkennung). JSON: an array of objects with the
same keys (areas as lists or text, ``enabled`` as true/false). Each row is named by its line in the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext

from .services import FIELDS

REQUIRED = ("slug", "name", "kind", "region")
#: more bodies than any Land has; a file beyond it is a mistake
MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024


class ImportFileError(Exception):
    """The file as a whole cannot be read (encoding, syntax, columns); nothing was imported."""


Rows = list[tuple[str, Mapping[str, Any]]]


def read_bodies_file(filename: str, content: bytes) -> Rows:
    """The rows of a CSV or JSON file (by extension, else by its first character). Raises
    ``ImportFileError`` with a message that names the line where it can."""
    if len(content) > MAX_BYTES:
        raise ImportFileError(gettext("Die Datei ist größer als %(n)d MB.", n=MAX_BYTES // (1024 * 1024)))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise ImportFileError(gettext("Die Datei ist nicht UTF-8-kodiert (Zeile %(line)d).", line=line)) from None
    name = filename.lower()
    if name.endswith(".json") or (not name.endswith(".csv") and text.lstrip()[:1] in ("[", "{")):
        rows = _json_rows(text)
    else:
        rows = _csv_rows(text)
    if len(rows) > MAX_ROWS:
        raise ImportFileError(gettext("Die Datei enthält mehr als %(n)d Stellen.", n=MAX_ROWS))
    return rows


def _where(line: int) -> str:
    return gettext("Zeile %(line)d", line=line)


def _unknown(keys: list[str], line: int) -> None:
    unknown = [k for k in keys if k not in FIELDS]
    if unknown:
        raise ImportFileError(gettext("%(where)s: unbekannte Felder %(fields)s; erlaubt sind %(allowed)s.",
                                      where=_where(line), fields=", ".join(unknown), allowed=", ".join(FIELDS)))


def _csv_rows(text: str) -> Rows:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if not any(header):
            raise ImportFileError(gettext("Die Datei ist leer; die erste Zeile muss die Spalten nennen."))
        _unknown(header, 1)
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ImportFileError(gettext("Zeile 1: es fehlen die Spalten %(columns)s.", columns=", ".join(missing)))
        rows: Rows = []
        start = reader.line_num + 1
        for cells in reader:
            if not any(c.strip() for c in cells):
                start = reader.line_num + 1
                continue
            if len(cells) != len(header):
                raise ImportFileError(gettext("%(where)s: %(n)d Werte, aber %(m)d Spalten.", where=_where(start),
                                              n=len(cells), m=len(header)))
            rows.append((_where(start), dict(zip(header, cells, strict=True))))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(gettext("%(where)s: die CSV-Datei ist fehlerhaft (%(error)s).",
                                      where=_where(reader.line_num), error=str(exc))) from None
    return rows


def _json_rows(text: str) -> Rows:
    """The objects of a top-level JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(gettext("Zeile %(line)d, Spalte %(col)d: kein gültiges JSON (%(error)s).",
                                      line=exc.lineno, col=exc.colno, error=exc.msg)) from None
    if not isinstance(value, list):
        raise ImportFileError(gettext("Die JSON-Datei muss eine Liste von Stellen sein: [{\"slug\": …}, …]."))
    rows: Rows = []
    pos = text.index("[") + 1
    for _ in value:  # walk the array again to learn where each entry starts
        while text[pos] in " \t\r\n,":
            pos += 1
        line = text.count("\n", 0, pos) + 1
        entry, pos = decoder.raw_decode(text, pos)
        if not isinstance(entry, dict):
            raise ImportFileError(gettext("%(where)s: jeder Eintrag muss ein Objekt sein ({\"slug\": …}).",
                                          where=_where(line)))
        _unknown(list(entry), line)
        rows.append((_where(line), entry))
    return rows
