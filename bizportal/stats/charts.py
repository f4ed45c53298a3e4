"""Bar charts as SVG, drawn on the server: no script, no font or file from elsewhere, colours as
presentation attributes (the CSP allows no inline style). Each chart stands beside the table with
the same numbers; hidden (suppressed) figures get no bar, only their "< n" label."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from .suppression import Cell, Table

BAR = "#0b5394"     # contrast 7.9:1 against white (WCAG 1.4.11 needs 3:1 for graphics)
AXIS = "#4a4a4a"
ROW_HEIGHT = 28
LABEL_WIDTH = 210
PLOT_WIDTH = 230
VALUE_WIDTH = 60


def horizontal_bars(table: Table, label_col: str, value_col: str, chart_id: str, title: str,
                    hidden_text: str) -> Markup:
    """One bar per row of ``table``: the label column on the left, the value column as the bar."""
    li, vi = table.column(label_col), table.column(value_col)
    items: Sequence[tuple[str, Cell]] = [(str(r[li].value), r[vi]) for r in table.rows]
    top = max([c.value for _, c in items if not c.hidden and isinstance(c.value, int | float)] + [1])
    height = ROW_HEIGHT * max(len(items), 1) + 10
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="stats-chart" id="{chart_id}" role="img" '
             f'aria-labelledby="{chart_id}-title" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'preserveAspectRatio="xMinYMin meet">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<line x1="{LABEL_WIDTH}" y1="0" x2="{LABEL_WIDTH}" y2="{height - 5}" stroke="{AXIS}" stroke-width="1"/>']
    for i, (label, cell) in enumerate(items):
        y = 5 + i * ROW_HEIGHT
        short = label if len(label) <= 24 else label[:23] + "…"
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 19}" text-anchor="end" font-size="15" '
                     f'fill="#1b1b1b">{escape(short)}</text>')
        if cell.hidden:
            text = hidden_text
        else:
            value = cell.value if isinstance(cell.value, int | float) else 0
            bar = round(PLOT_WIDTH * value / top, 1)
            if bar > 0:
                parts.append(f'<rect x="{LABEL_WIDTH + 1}" y="{y + 3}" width="{bar}" height="{ROW_HEIGHT - 6}" '
                             f'fill="{BAR}"/>')
            text = f"{value:n}" if isinstance(value, int) else str(value)
        parts.append(f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 6}" y="{y + 19}" font-size="15" '
                     f'fill="#1b1b1b">{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
