"""The steering group's dashboard and its exports: aggregates only, for steering and admins."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, g, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..auth.access import roles_required
from ..bodies import queries as bodies
from ..common.time import local_today
from ..extensions import db
from . import charts, export, tables
from .forms import StatsFilterForm
from .queries import Scope

bp = Blueprint("stats", __name__)

#: the query arguments of the question, carried by every export link
FILTER_ARGS = ("von", "bis", "einteilung", "leistung", "art", "stelle")


def _settings():
    return current_app.config["SETTINGS"]


def _default_range() -> tuple[date, date]:
    """The last twelve months: from the first of the month eleven months back up to today."""
    today = local_today(_settings().web.timezone)
    month = today.month - 11
    year = today.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1), today


def _question() -> tuple[StatsFilterForm, Scope | None, tables.Labels]:
    locale = str(get_locale())
    catalog = current_app.extensions["bizportal"].catalog
    chamber_names = bodies.names_by_slug()
    form = StatsFilterForm({k: s.title.get(locale) for k, s in catalog.items()}, chamber_names,
                           formdata=request.args)
    labels = tables.Labels(catalog, chamber_names, locale, _settings().stats.draft_abandon_days,
                           current_app.extensions["bizportal"].bundles)
    if not form.validate():
        return form, None, labels
    return form, form.scope(*_default_range()), labels


def _hidden_text() -> str:
    return _("< %(n)s", n=_settings().stats.suppression_threshold)


@bp.get("/staff/statistik")
@roles_required("steering", "admin")
def dashboard():
    form, scope, labels = _question()
    link_args = {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}
    if scope is None:
        return render_template("stats/dashboard.html", form=form, scope=None, link_args=link_args,
                               threshold=_settings().stats.suppression_threshold, hidden_text=_hidden_text()), 422
    built = tables.build(db.session(), scope, labels, _settings().stats.suppression_threshold)
    hidden = _hidden_text()
    chart_svgs = {
        "verlauf": charts.horizontal_bars(built["verlauf"], "period", "submitted", "chart-verlauf",
                                          built["verlauf"].title, hidden),
        "leistungen": charts.horizontal_bars(built["leistungen"], "service", "current", "chart-leistungen",
                                             built["leistungen"].title, hidden),
        "nutzung": charts.horizontal_bars(built["nutzung"], "period", "logins", "chart-nutzung",
                                          _("Anmeldungen von Unternehmen"), hidden),
    }
    return render_template("stats/dashboard.html", form=form, scope=scope, previous=scope.previous(), tables=built,
                           charts=chart_svgs, hidden_text=hidden, link_args=link_args,
                           threshold=_settings().stats.suppression_threshold)


@bp.get("/staff/statistik/<table>.<any(csv, json):fmt>")
@roles_required("steering", "admin")
def table_export(table: str, fmt: str):
    """One table of the dashboard for the same question, with the same cells hidden; streamed."""
    if table not in (*tables.TABLE_KEYS, "sdg"):
        abort(404)
    form, scope, labels = _question()
    if scope is None:
        abort(422)
    threshold = _settings().stats.suppression_threshold
    if table == "sdg":
        built = tables.sdg_usage(db.session(), scope, labels,
                                 lambda key: url_for("catalog.detail", key=key, _external=True), threshold)
    else:
        built = tables.build(db.session(), scope, labels, threshold)[table]
    filename = f"statistik-{table}-{scope.start.isoformat()}-{scope.end.isoformat()}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "csv":
        return Response(stream_with_context(export.csv_chunks(built, _hidden_text())),
                        mimetype="text/csv", headers=headers)
    meta = {"from": scope.start.isoformat(), "to": scope.end.isoformat(), "periods": scope.granularity,
            "service": scope.service, "body_kind": scope.body_kind, "body": scope.chamber,
            "suppressed_below": _settings().stats.suppression_threshold}
    return Response(stream_with_context(export.json_chunks(built, _hidden_text(), meta)),
                    mimetype="application/json", headers=headers)


_CELL = "kern-table__cell"
_NUMERIC_CELL = "kern-table__cell kern-table__cell--numeric"


@bp.app_template_filter("stat_rows")
def stat_rows(table, hidden_text: str) -> tuple[list[list[tuple[str, str]]], list[tuple[str, str]] | None]:
    """The rows and the totals row of a dashboard table as the page shows them: (text, CSS class)
    per cell, formatted here once so the template only writes them out (a times table has over a
    thousand cells). A total that does not apply is empty."""
    classes = [_CELL if c.kind == "text" else _NUMERIC_CELL for c in table.columns]
    columns = list(zip(table.columns, classes, strict=True))
    rows = [[(stat_cell(cell, column, hidden_text), css) for cell, (column, css) in zip(row, columns, strict=True)]
            for row in table.rows]
    totals = None
    if table.totals:
        totals = [("" if cell.value is None and i else stat_cell(cell, column, hidden_text), css)
                  for i, (cell, (column, css)) in enumerate(zip(table.totals, columns, strict=True))]
    return rows, totals


def stat_cell(cell, column, hidden_text: str) -> str:
    """A figure of a dashboard table as the page shows it."""
    value = cell.value
    if cell.hidden:
        return export.COMPLEMENT_TEXT if cell.complement else hidden_text
    if value is None:
        return "–"
    if column.kind == "text":
        return str(value)
    if column.kind == "change":
        return ("+" if value > 0 else "") + _number(value, 1) + " %"
    if column.kind == "seconds":
        return duration(value)
    if isinstance(value, float):  # a share among counts
        return _number(value, 1) + " %"
    return _number(value, 0)


def _number(value: float, decimals: int) -> str:
    """A number with the page language's separators (``format_decimal`` per cell is too slow for
    tables of hundreds of cells)."""
    symbols = g.get("stats_number_symbols")
    if symbols is None:
        numbers = get_locale().number_symbols.get("latn", {})
        symbols = g.stats_number_symbols = (numbers.get("group", ","), numbers.get("decimal", "."))
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", symbols[1]).replace("\0", symbols[0])


def duration(seconds: float) -> str:
    """A duration in the unit a reader grasps: seconds, minutes, hours or days (only the unit used
    is translated: a times table formats hundreds of durations)."""
    for limit, unit, label in ((60, 1, lambda: _("s")), (3600, 60, lambda: _("min")),
                               (172800, 3600, lambda: _("Std.")), (float("inf"), 86400, lambda: _("Tage"))):
        if seconds < limit:
            value = seconds / unit
            return f"{_number(value, 0 if value >= 100 else 1)} {label()}"
    raise AssertionError("unreachable")
