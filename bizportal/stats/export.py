"""A dashboard table as CSV or JSON, streamed row by row; hidden cells carry their "< n" text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from .suppression import Cell, Column, Table

#: a cell that starts like a formula gets an apostrophe (no formula runs in a spreadsheet)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


#: what a cell hidden so that a small one cannot be worked out shows
COMPLEMENT_TEXT = "x"


def _value(cell: Cell, hidden_text: str) -> Any:
    if cell.hidden:
        return COMPLEMENT_TEXT if cell.complement else hidden_text
    return cell.value


def _text(cell: Cell, column: Column, hidden_text: str) -> str:
    value = _value(cell, hidden_text)
    if value is None:
        return ""
    text = str(value)
    if column.kind == "text" and text.startswith(_FORMULA):
        return "'" + text
    return text


def csv_chunks(table: Table, hidden_text: str) -> Iterator[str]:
    """UTF-8 with BOM, semicolons (as the inbox export): header, rows, then the totals row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([c.label for c in table.columns])
    yield "\ufeff" + flush()
    for row in table.rows + ([table.totals] if table.totals else []):
        writer.writerow([_text(cell, col, hidden_text) for cell, col in zip(row, table.columns, strict=True)])
        yield flush()


def json_chunks(table: Table, hidden_text: str, meta: dict[str, Any]) -> Iterator[str]:
    """``{"table", "title", "question", "columns", "rows", "totals", "notes"}``: each row an object
    by column key; a small figure is the string "< n", one hidden with it "x", a figure that does
    not apply null."""
    columns = [{"key": c.key, "label": c.label, "kind": c.kind} for c in table.columns]
    yield ('{"table": ' + json.dumps(table.key) + ', "title": ' + json.dumps(table.title, ensure_ascii=False)
           + ', "question": ' + json.dumps(meta, ensure_ascii=False) + ', "columns": '
           + json.dumps(columns, ensure_ascii=False) + ', "rows": [')
    for i, row in enumerate(table.rows):
        obj = {col.key: _value(cell, hidden_text) for cell, col in zip(row, table.columns, strict=True)}
        yield ("" if i == 0 else ", ") + json.dumps(obj, ensure_ascii=False)
    totals = ({col.key: _value(cell, hidden_text) for cell, col in zip(table.totals, table.columns, strict=True)}
              if table.totals else None)
    yield ('], "totals": ' + json.dumps(totals, ensure_ascii=False) + ', "notes": '
           + json.dumps(table.notes, ensure_ascii=False) + "}\n")
