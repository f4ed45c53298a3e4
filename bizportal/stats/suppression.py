"""Small numbers are not shown: a count from 1 to threshold−1 shows as "< threshold" (primary
suppression), and so many other cells are hidden that no hidden count can be worked out from the
totals and the cells shown (secondary suppression); those show as "x". The page, the charts and
both exports hide the same cells.

What a reader is assumed to know: the cells shown, the totals, the threshold, and that a cell
shown as "< n" lies between 1 and n−1 while a cell shown as "x" may hold any count (zero
included). The rule for each column with a total that is shown: if a cell of the column is
hidden as small, a cell with a count above zero is hidden with it ("x", the smallest such); if
there is none, the total is hidden too. Then the hidden cells of the column add up to the
total minus the cells shown, and each small cell can still be any of at least two values (the
"x" cell takes up the rest), and the "x" cell too. A zero is no confidential figure and is shown.
A duration (median, 90th percentile) from fewer cases than the threshold is hidden with its
number of cases; a change against the previous period when either count is hidden.

Not covered (stated in docs/architecture.md): the difference between two questions (two ranges
or filters that differ by one day or one body) can still reveal a small number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cell:
    """One figure: its value (``None``: not applicable) and whether it is hidden."""

    value: Any
    hidden: bool = False
    #: hidden so that a small cell cannot be worked out (secondary suppression), not for being small
    complement: bool = False


@dataclass
class Column:
    key: str
    label: str
    #: "text", "count", "seconds", "percent" or "change"
    kind: str = "count"
    #: the column's total is shown below the rows (and takes part in secondary suppression)
    total: bool = False


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    totals: list[Cell] | None = None
    notes: list[str] = field(default_factory=list)

    def column(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)


def suppress(table: Table, threshold: int) -> Table:
    """Hide small counts and their complements in ``table`` (in place; returned for chaining)."""
    counts = [i for i, c in enumerate(table.columns) if c.kind == "count"]
    for row in table.rows:
        for i in counts:
            value = row[i].value
            if isinstance(value, int) and 0 < value < threshold:
                row[i].hidden = True
    if table.totals is not None:
        for i in counts:
            value = table.totals[i].value
            if table.columns[i].total and isinstance(value, int) and 0 < value < threshold:
                table.totals[i].hidden = True
        for i in counts:
            if table.columns[i].total:
                _complete_column(table, i, threshold)
    return table


def _complete_column(table: Table, i: int, threshold: int) -> None:
    assert table.totals is not None
    cells, total = [row[i] for row in table.rows], table.totals[i]
    if total.hidden or not any(c.hidden and not c.complement for c in cells):
        return  # without the total nothing follows by subtraction; nothing small to protect
    if any(c.hidden and c.complement and (c.value or 0) > 0 for c in cells):
        return
    candidates = [c for c in cells if not c.hidden and isinstance(c.value, int) and c.value > 0]
    if candidates:
        chosen = min(candidates, key=lambda c: c.value)
        chosen.hidden = chosen.complement = True
    else:
        total.hidden = total.complement = True


def hide_dependent(table: Table, depends: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Hide derived cells (a change, a share, a duration) whose inputs are hidden."""
    for target, sources in depends:
        t = table.column(target)
        idx = [table.column(s) for s in sources]
        for row in table.rows + ([table.totals] if table.totals else []):
            if any(row[s].hidden for s in idx) and not row[t].hidden:
                row[t].hidden = row[t].complement = True
