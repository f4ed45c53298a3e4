"""The dashboard's tables, built from ``queries`` and suppressed (``suppression``): the page, its
charts and the CSV/JSON exports all show these same cells."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from ..catalog.models import BundleDefinition, ServiceDefinition
from . import queries as q
from . import services as m
from .suppression import Cell, Column, Table, hide_dependent, suppress

BODY_KIND_LABELS = {"HWK": _l("Handwerkskammer"), "IHK": _l("Industrie- und Handelskammer"),
                    "GEWERBEAMT": _l("Gewerbeamt")}
MEASURE_LABELS = {m.T_SUBMIT_DELIVERED: _l("Eingang bis Zustellung"),
                  m.T_DELIVERED_ACTION: _l("Zustellung bis erste Bearbeitung"),
                  m.T_SUBMIT_DECISION: _l("Eingang bis Entscheidung")}
#: the tables in the order the page shows them
TABLE_KEYS = ("kennzahlen", "verlauf", "leistungen", "vorhaben", "stellen", "trichter", "abbrueche", "zeiten",
              "zustellung", "nutzung")


class Labels:
    """Display names for the keys the rollups keep (service keys, body slugs, step keys)."""

    def __init__(self, catalog: Mapping[str, ServiceDefinition], chamber_names: Mapping[str, str], locale: str,
                 abandon_days: int, bundles: Mapping[str, BundleDefinition] | None = None):
        self.catalog, self.chamber_names, self.locale = catalog, chamber_names, locale
        self.abandon_days = abandon_days
        self.bundles = bundles or {}

    def bundle(self, key: str) -> str:
        bundle = self.bundles.get(key)
        return bundle.title.get(self.locale) if bundle else key

    def service(self, key: str) -> str:
        service = self.catalog.get(key)
        return service.title.get(self.locale) if service else key

    def chamber(self, slug: str) -> str:
        return self.chamber_names.get(slug, slug) or "–"

    def kind(self, kind: str) -> str:
        return str(BODY_KIND_LABELS.get(kind, kind or "–"))

    def step(self, service_key: str, step_key: str) -> str:
        if step_key == m.REVIEW_STEP:
            return str(_l("Prüfen und Absenden"))
        service = self.catalog.get(service_key)
        step = next((s for s in service.steps if s.key == step_key), None) if service else None
        return step.title.get(self.locale) if step else (step_key or "–")

    def period(self, start: date, granularity: str) -> str:
        if granularity == "month":
            return format_date(start, "MMMM yyyy")
        if granularity == "week":
            return str(_l("Woche ab %(day)s", day=format_date(start, "dd.MM.yyyy")))
        return format_date(start, "dd.MM.yyyy")


def _change(current: int, previous: int) -> float | None:
    return None if previous == 0 else round((current - previous) * 100 / previous, 1)


def _cells(*values: Any) -> list[Cell]:
    return [Cell(v) for v in values]


def _with_totals(table: Table) -> Table:
    table.totals = [Cell(sum(r[i].value or 0 for r in table.rows) if c.total else None)
                    for i, c in enumerate(table.columns)]
    table.totals[0] = Cell(str(_l("Summe")))
    return table


#: the metrics the tables sum over the range (besides the trends, active companies and times)
SUMMED = (m.DRAFT_STARTED, m.DRAFT_ABANDONED, m.SUBMITTED, m.PREFILLED, m.ADDRESSED, m.DELIVERED_FIRST,
          m.DELIVERED_RETRIED, m.DELIVERY_DEAD, m.DECIDED, m.WITHDRAWN, m.LOGINS, m.BUNDLE_FILED,
          m.BUNDLE_SUBMITTED)


class Figures:
    """What the tables of one question are built from: the session and scope for the trends and
    times, and the rollup sums of the range and of the previous period, each read once."""

    def __init__(self, session: Session, scope: q.Scope):
        self.session, self.scope = session, scope
        self.current = q.sums(session, scope, SUMMED)
        self.previous = q.sums(session, scope.previous(), SUMMED)


def build(session: Session, scope: q.Scope, labels: Labels, threshold: int) -> dict[str, Table]:
    """Every table of the dashboard for ``scope``, suppressed with ``threshold``."""
    builders: dict[str, Callable[[Figures, Labels], Table]] = {
        "verlauf": _trend, "leistungen": _per_service, "vorhaben": _per_bundle, "stellen": _per_body,
        "trichter": _funnel, "abbrueche": _abandonment, "zeiten": _times, "zustellung": _delivery,
        "nutzung": _usage}
    figures = Figures(session, scope)
    tables = {"kennzahlen": _overview(figures, labels, threshold)}
    for key in TABLE_KEYS[1:]:
        table = builders[key](figures, labels)
        suppress(table, threshold)
        _hide_derived(table, threshold)
        tables[key] = table
    return tables


def _hide_derived(table: Table, threshold: int) -> None:
    keys = {c.key for c in table.columns}
    if {"change", "current", "previous"} <= keys:
        hide_dependent(table, [("change", ("current", "previous"))])
    if {"cases", "median", "p90"} <= keys:
        hide_dependent(table, [("median", ("cases",)), ("p90", ("cases",))])


def _overview(f: Figures, labels: Labels, threshold: int) -> Table:
    columns = [Column("figure", str(_l("Kennzahl")), "text"), Column("current", str(_l("Zeitraum"))),
               Column("previous", str(_l("Vorperiode"))), Column("change", str(_l("Veränderung in %")), "change")]
    rows = []
    for label, metrics, kw in (
            (_l("Eingereichte Anträge"), [m.SUBMITTED], {}),
            (_l("Begonnene Entwürfe"), [m.DRAFT_STARTED], {"body": False}),
            (_l("Zustellungen (auch Abschriften)"), [m.DELIVERED_FIRST, m.DELIVERED_RETRIED], {}),
            (_l("Entschieden"), [m.DECIDED], {}),
            (_l("Anmeldungen von Unternehmen"), [m.LOGINS], {"service": False, "body": False})):
        cur, before = f.current.total(metrics, **kw), f.previous.total(metrics, **kw)
        rows.append(_cells(str(label), cur, before, _change(cur, before)))
    table = Table("kennzahlen", str(_l("Kennzahlen")), columns, rows)
    suppress(table, threshold)
    # the share of filings with answers from the account: hidden when either part is a small number
    share = [Cell(str(_l("Anteil mit Angaben aus dem Unternehmenskonto (%)")))]
    for period, submitted in ((f.current, rows[0][1]), (f.previous, rows[0][2])):
        prefilled = period.total([m.PREFILLED])
        value = round(prefilled * 100 / submitted.value, 1) if submitted.value else None
        small = any(0 < n < threshold for n in (prefilled, submitted.value - prefilled))
        share.append(Cell(value, hidden=submitted.hidden or small, complement=True))
    share.append(Cell(None))
    table.rows.append(share)
    table.notes.append(str(_l("Anmeldungen zählen für das ganze Portal: die Filter nach Leistung und Stelle gelten "
                              "für sie nicht, der Filter nach Stelle nicht für Entwürfe.")))
    return table


def _trend(f: Figures, labels: Labels) -> Table:
    scope = f.scope
    series = q.per_period(f.session, [m.SUBMITTED], scope)
    columns = [Column("period", str(_l("Zeitraum")), "text"), Column("submitted", str(_l("Anträge")), total=True)]
    rows = [_cells(labels.period(start, scope.granularity), n) for start, n in series.items()]
    return _with_totals(Table("verlauf", str(_l("Eingereichte Anträge im Verlauf")), columns, rows))


def _compare(f: Figures, metrics: list[str], by: list[str]) -> list[tuple[Any, int, int]]:
    cur, prev = f.current.grouped(metrics, by), f.previous.grouped(metrics, by)
    return sorted(((k, cur.get(k, 0), prev.get(k, 0)) for k in set(cur) | set(prev)),
                  key=lambda r: (-r[1], -r[2], str(r[0])))


def _compare_columns(first: list[Column]) -> list[Column]:
    return [*first, Column("current", str(_l("Zeitraum")), total=True),
            Column("previous", str(_l("Vorperiode")), total=True),
            Column("change", str(_l("Veränderung in %")), "change")]


def _per_service(f: Figures, labels: Labels) -> Table:
    rows = [_cells(labels.service(k), cur, prev, _change(cur, prev))
            for k, cur, prev in _compare(f, [m.SUBMITTED], ["service_key"])]
    table = Table("leistungen", str(_l("Anträge je Leistung")),
                  _compare_columns([Column("service", str(_l("Leistung")), "text")]), rows)
    return _with_totals(table)


def _per_bundle(f: Figures, labels: Labels) -> Table:
    """Per life-event bundle (every one, 0 when none was submitted): the bundles submitted, then
    the filings made through it per service (each is also counted in "Anträge je Leistung"). The
    totals row sums the filings only, not the bundle rows."""
    per_service = _compare(f, [m.BUNDLE_FILED], ["detail", "service_key"])
    table = Table("vorhaben", str(_l("Anträge aus Unternehmenslagen je Lage und Leistung")),
                  _compare_columns([Column("bundle", str(_l("Unternehmenslage")), "text"),
                                    Column("service", str(_l("Leistung")), "text")]),
                  [_cells(labels.bundle(bundle), labels.service(service), cur, prev, _change(cur, prev))
                   for (bundle, service), cur, prev in per_service])
    _with_totals(table)
    cur_total = f.current.grouped([m.BUNDLE_SUBMITTED], ["detail"], service=False, body=False)
    prev_total = f.previous.grouped([m.BUNDLE_SUBMITTED], ["detail"], service=False, body=False)
    rows = []
    for key in sorted(set(labels.bundles) | set(cur_total) | set(prev_total), key=labels.bundle):
        cur, prev = cur_total.get(key, 0), prev_total.get(key, 0)
        rows.append(_cells(labels.bundle(key), str(_l("Eingereichte Vorhaben insgesamt")), cur, prev,
                           _change(cur, prev)))
        rows += [r for r, ((bundle, _service), _c, _p) in zip(table.rows, per_service, strict=True) if bundle == key]
    table.rows = rows
    table.notes.append(str(_l("„Eingereichte Vorhaben insgesamt“ zählt jede Einreichung einer Unternehmenslage "
                              "einmal; die Filter nach Leistung und Stelle gelten dafür nicht. Die Summe zählt "
                              "nur die Anträge.")))
    return table


def _per_body(f: Figures, labels: Labels) -> Table:
    rows = [_cells(labels.kind(kind), labels.chamber(slug), cur, prev, _change(cur, prev))
            for (kind, slug), cur, prev in _compare(f, [m.ADDRESSED], ["body_kind", "chamber_slug"])]
    table = Table("stellen", str(_l("Anträge je Art der Stelle und Stelle (auch Abschriften)")),
                  _compare_columns([Column("kind", str(_l("Art")), "text"),
                                    Column("body", str(_l("Stelle")), "text")]), rows)
    return _with_totals(table)


def _funnel(f: Figures, labels: Labels) -> Table:
    stages: list[tuple[str, Any, list[str], dict[str, Any]]] = [
        ("started", _l("Entwürfe begonnen"), [m.DRAFT_STARTED], {"body": False}),
        ("submitted", _l("Eingereicht"), [m.SUBMITTED], {}),
        ("delivered", _l("Zugestellt"), [m.DELIVERED_FIRST, m.DELIVERED_RETRIED], {"primary": True}),
        ("accepted", _l("Angenommen"), [m.DECIDED], {"detail": "accepted"}),
        ("rejected", _l("Abgelehnt"), [m.DECIDED], {"detail": "rejected"}),
        ("withdrawn", _l("Zurückgezogen"), [m.WITHDRAWN], {}),
        ("abandoned", _l("Entwürfe abgebrochen"), [m.DRAFT_ABANDONED], {"body": False}),
    ]
    per_stage: dict[str, dict[str, int]] = {}
    for key, _label, metrics, opts in stages:
        if "detail" in opts or opts.get("primary"):
            sums = f.current.grouped(metrics, ["service_key", "detail"])
            want = opts.get("detail", "primary")
            per_stage[key] = {}
            for (service, detail), n in sums.items():
                if detail == want:
                    per_stage[key][service] = per_stage[key].get(service, 0) + n
        else:
            per_stage[key] = f.current.grouped(metrics, ["service_key"], body=opts.get("body", True))
    services = sorted({s for v in per_stage.values() for s in v}, key=labels.service)
    columns = [Column("service", str(_l("Leistung")), "text")] + [
        Column(key, str(label), total=True) for key, label, _, _ in stages]
    rows = [[Cell(labels.service(s))] + [Cell(per_stage[key].get(s, 0)) for key, *_ in stages] for s in services]
    table = Table("trichter", str(_l("Vom Entwurf zur Entscheidung je Leistung")), columns, rows)
    table.notes.append(str(_l("Gezählt wird, was im Zeitraum geschah: ein im Vormonat begonnener Antrag kann in "
                              "diesem Zeitraum eingereicht sein. Ein Entwurf gilt als abgebrochen, wenn er gelöscht "
                              "oder %(days)s Tage nicht bearbeitet wurde.", days=labels.abandon_days)))
    return _with_totals(table)


def _abandonment(f: Figures, labels: Labels) -> Table:
    sums = f.current.grouped([m.DRAFT_ABANDONED], ["service_key", "detail"], body=False)
    rows = [_cells(labels.service(s), labels.step(s, step), n)
            for (s, step), n in sorted(sums.items(), key=lambda kv: (labels.service(kv[0][0]), -kv[1])) if n]
    columns = [Column("service", str(_l("Leistung")), "text"), Column("step", str(_l("Letzter offener Schritt")),
                                                                        "text"),
               Column("drafts", str(_l("Abgebrochene Entwürfe")), total=True)]
    return _with_totals(Table("abbrueche", str(_l("Wo Entwürfe abgebrochen wurden")), columns, rows))


def _times(f: Figures, labels: Labels) -> Table:
    found = q.durations(f.session, f.scope)
    order = {metric: i for i, metric in enumerate(q.TIMES)}
    rows = [_cells(str(MEASURE_LABELS[metric]), labels.service(service), labels.chamber(slug), d.cases, d.median,
                   d.p90)
            for (metric, service, slug), d in sorted(found.items(), key=lambda kv: (
                order[kv[0][0]], labels.service(kv[0][1]), labels.chamber(kv[0][2])))]
    columns = [Column("measure", str(_l("Dauer")), "text"), Column("service", str(_l("Leistung")), "text"),
               Column("body", str(_l("Stelle")), "text"), Column("cases", str(_l("Fälle"))),
               Column("median", str(_l("Median")), "seconds"), Column("p90", str(_l("90-%-Wert")), "seconds")]
    table = Table("zeiten", str(_l("Bearbeitungszeiten je Leistung und Stelle")), columns, rows)
    table.notes.append(str(_l("Median und 90-%-Wert kommen aus Klassen fester Breite auf logarithmischer Skala: "
                              "sie weichen höchstens 4,5 % (unter einer Sekunde höchstens eine halbe Sekunde) vom "
                              "genauen Wert ab.")))
    return table


def _delivery(f: Figures, labels: Labels) -> Table:
    sums = f.current.grouped([m.DELIVERED_FIRST, m.DELIVERED_RETRIED, m.DELIVERY_DEAD],
                             ["body_kind", "chamber_slug", "adapter_key", "metric"])
    keys = sorted({k[:3] for k in sums}, key=lambda k: (labels.kind(k[0]), labels.chamber(k[1]), k[2]))
    rows = [_cells(labels.kind(kind), labels.chamber(slug), adapter,
                   *(sums.get((kind, slug, adapter, metric), 0)
                     for metric in (m.DELIVERED_FIRST, m.DELIVERED_RETRIED, m.DELIVERY_DEAD)))
            for kind, slug, adapter in keys]
    columns = [Column("kind", str(_l("Art")), "text"), Column("body", str(_l("Stelle")), "text"),
               Column("adapter", str(_l("Übertragungsweg")), "text"),
               Column("first", str(_l("Beim ersten Versuch zugestellt")), total=True),
               Column("retried", str(_l("Nach Wiederholung zugestellt")), total=True),
               Column("dead", str(_l("Aufgegeben")), total=True)]
    return _with_totals(Table("zustellung", str(_l("Zustellung je Stelle und Übertragungsweg")), columns, rows))


def _usage(f: Figures, labels: Labels) -> Table:
    scope = f.scope
    active = q.active_companies(f.session, scope)
    logins = q.per_period(f.session, [m.LOGINS], scope, service=False, body=False)
    rows = [_cells(labels.period(start, scope.granularity), active.get(start, 0), logins.get(start, 0))
            for start in q.periods(scope)]
    columns = [Column("period", str(_l("Zeitraum")), "text"), Column("active", str(_l("Aktive Unternehmen"))),
               Column("logins", str(_l("Anmeldungen")), total=True)]
    table = _with_totals(Table("nutzung", str(_l("Aktive Unternehmen und Anmeldungen")), columns, rows))
    table.notes.append(str(_l("Ein Unternehmen zählt je Tag, Woche oder Monat einmal, gleich wie viele Personen "
                              "sich anmelden; ein vom Zeitraum angeschnittener Monat oder eine Woche zählt ganz. "
                              "Die Summe der aktiven Unternehmen über mehrere Zeiträume wäre keine Anzahl von "
                              "Unternehmen und fehlt darum.")))
    return table


def sdg_usage(session: Session, scope: q.Scope, labels: Labels, page_url: Callable[[str], str],
              threshold: int) -> Table:
    """Use of each service per calendar month of the range, for the Single Digital Gateway
    statistics and open data (field by field in docs/statistics-export.md): the service page's
    URL, the service's key and LeiKa key, drafts started and filings submitted. Suppressed like
    every table (months cut by the range count only their days in it)."""
    monthly = q.replace(scope, granularity="month")
    keys: dict[tuple[date, str], dict[str, int]] = {}
    for metric, field in ((m.DRAFT_STARTED, "started"), (m.SUBMITTED, "submitted")):
        for (day, service), n in q.grouped(session, [metric], monthly, ["day", "service_key"], body=False).items():
            keys.setdefault((q.period_start(day, "month"), service), {"started": 0, "submitted": 0})[field] += n
    columns = [Column("month", "month", "text"), Column("service_key", "service_key", "text"),
               Column("leika", "leika", "text"), Column("title_de", "title_de", "text"),
               Column("url", "url", "text"), Column("drafts_started", "drafts_started", total=True),
               Column("filings_submitted", "filings_submitted", total=True)]
    rows = []
    for (month, service), figures in sorted(keys.items()):
        definition = labels.catalog.get(service)
        rows.append(_cells(month.strftime("%Y-%m"), service, definition.leika if definition else None,
                           definition.title.get("de") if definition else service, page_url(service),
                           figures["started"], figures["submitted"]))
    table = _with_totals(Table("sdg", "usage per service and month", columns, rows))
    assert table.totals is not None
    table.totals[0] = Cell("total")
    return suppress(table, threshold)
