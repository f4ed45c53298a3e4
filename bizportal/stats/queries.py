"""Aggregates for the steering dashboard. Reads only the rollups (``StatRollup``), never a filing.

A ``Scope`` is the dashboard's question: a date range (calendar days in the portal's time zone,
both ends included), the period size of the trends, and optional filters by service, body kind
and body. Each function returns plain numbers; ``stats.tables`` turns them into the tables the
page, the charts and the exports show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from . import histogram
from . import services as m
from .models import StatHistogram, StatRollup

GRANULARITIES = ("day", "week", "month")
__all__ = ["GRANULARITIES", "MAX_PERIODS", "Durations", "Scope", "Sums", "TIMES", "active_companies", "durations",
           "grouped", "per_period", "period_start", "periods", "replace", "sums", "total"]
#: a trend has at most this many periods (a day-by-day view of ten years is no chart)
MAX_PERIODS = 400


@dataclass(frozen=True)
class Scope:
    start: date
    end: date
    granularity: str = "month"
    service: str | None = None
    body_kind: str | None = None
    chamber: str | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Scope:
        """The period of the same length right before this one."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))


def period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def periods(scope: Scope) -> list[date]:
    """The first days of the periods that meet the range (the first may begin before it)."""
    out, current = [], period_start(scope.start, scope.granularity)
    while current <= scope.end:
        out.append(current)
        if scope.granularity == "day":
            current += timedelta(days=1)
        elif scope.granularity == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def _in_range(model: Any, metrics: list[str], scope: Scope, months: tuple[date, date] | None) -> Any:
    """The rows of ``metrics`` in the scope's range for a rollup table (``StatRollup``,
    ``StatHistogram``): whole calendar months ``months`` from the monthly copies, the days before
    and after them (or the whole range when ``months`` is None) from the daily rows."""
    daily = model.metric.in_(metrics)
    if months is None:
        return and_(daily, model.day >= scope.start, model.day <= scope.end)
    first, last = months
    end_of_last = (last.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return or_(and_(daily, model.day >= scope.start, model.day < first),
               and_(daily, model.day > end_of_last, model.day <= scope.end),
               and_(model.metric.in_([x + m.MONTHLY for x in metrics]), model.day >= first, model.day <= last))


def _whole_months(scope: Scope) -> tuple[date, date] | None:
    """The first days of the first and the last calendar month lying wholly in the range."""
    first = scope.start if scope.start.day == 1 else (scope.start.replace(day=28) + timedelta(days=4)).replace(day=1)
    after = scope.end + timedelta(days=1)
    last = (after.replace(day=1) - timedelta(days=1)).replace(day=1) if after.day != 1 else \
        (after - timedelta(days=1)).replace(day=1)
    return (first, last) if first <= last else None


def _sums(session: Session, metrics: Sequence[str], scope: Scope, by: Sequence[str], *, service: bool = True,
          body: bool = True) -> dict[tuple[Any, ...], int]:
    """Sum of ``metrics`` in the range, grouped by the named columns (``metric`` and ``day`` allowed).
    ``service``/``body``: whether the scope's filters apply (drafts have no body, logins neither).

    Whole calendar months of the range are read from the monthly copies (``services.MONTHLY``),
    the days before and after them from the daily rows, unless the grouping needs days of weeks."""
    metric_col = StatRollup.metric
    if "metric" in by:  # the monthly copies answer under the daily metric's name
        metric_col = func.replace(StatRollup.metric, m.MONTHLY, "")  # type: ignore[assignment]
    cols = [metric_col if c == "metric" else getattr(StatRollup, c) for c in by]
    months = _whole_months(scope) if "day" not in by or scope.granularity == "month" else None
    stmt = select(*cols, func.sum(StatRollup.count)).where(_in_range(StatRollup, list(metrics), scope, months))
    if service and scope.service:
        stmt = stmt.where(StatRollup.service_key == scope.service)
    if body and scope.body_kind:
        stmt = stmt.where(StatRollup.body_kind == scope.body_kind)
    if body and scope.chamber:
        stmt = stmt.where(StatRollup.chamber_slug == scope.chamber)
    if cols:
        stmt = stmt.group_by(*cols)
    rows: list[Any] = list(session.execute(stmt))
    out: dict[tuple[Any, ...], int] = {}
    for r in rows:
        if r[-1] is not None:
            key = tuple(r[:-1])
            out[key] = out.get(key, 0) + int(r[-1])
    return out


def total(session: Session, metrics: Sequence[str], scope: Scope, **kw: Any) -> int:
    return _sums(session, metrics, scope, [], **kw).get((), 0)


def per_period(session: Session, metrics: Sequence[str], scope: Scope, **kw: Any) -> dict[date, int]:
    """The metrics summed per period of the scope (every period present, 0 when nothing happened)."""
    out = dict.fromkeys(periods(scope), 0)
    for (day,), n in _sums(session, metrics, scope, ["day"], **kw).items():
        out[period_start(day, scope.granularity)] += n
    return out


def grouped(session: Session, metrics: Sequence[str], scope: Scope, by: Sequence[str], **kw: Any) -> dict[Any, int]:
    sums = _sums(session, metrics, scope, by, **kw)
    return {(k[0] if len(by) == 1 else k): n for k, n in sums.items()}


#: the columns of a rollup's key besides metric and day, in the order ``Sums`` keeps them
KEY_COLUMNS = ("service_key", "body_kind", "chamber_slug", "adapter_key", "detail")


class Sums:
    """The rollups of one range summed per metric and key (every column but the day), read in one
    query (``sums``). The dashboard's tables group and filter these in memory: the same figures as
    ``grouped`` and ``total`` for the same range, without one query per figure."""

    def __init__(self, scope: Scope, rows: dict[tuple[str, ...], int]):
        self.scope = scope
        #: (metric, service, body kind, body slug, adapter, detail) → count
        self.rows = rows

    def grouped(self, metrics: Sequence[str], by: Sequence[str], *, service: bool = True,
                body: bool = True) -> dict[Any, int]:
        """As ``grouped``: the sums of ``metrics`` per value of the ``by`` columns (``metric``
        allowed), a group that adds up to zero included; ``service``/``body``: whether the scope's
        filters apply."""
        wanted = set(metrics)
        index = [0 if c == "metric" else 1 + KEY_COLUMNS.index(c) for c in by]
        conditions = []
        if service and self.scope.service:
            conditions.append((1, self.scope.service))
        if body and self.scope.body_kind:
            conditions.append((2, self.scope.body_kind))
        if body and self.scope.chamber:
            conditions.append((3, self.scope.chamber))
        out: dict[Any, int] = {}
        for key, n in self.rows.items():
            if key[0] not in wanted or any(key[i] != value for i, value in conditions):
                continue
            group = key[index[0]] if len(index) == 1 else tuple(key[i] for i in index)
            out[group] = out.get(group, 0) + n
        return out

    def total(self, metrics: Sequence[str], **kw: Any) -> int:
        return sum(self.grouped(metrics, [], **kw).values())


def sums(session: Session, scope: Scope, metrics: Sequence[str]) -> Sums:
    """The rollups of ``metrics`` in the scope's range, whole months from the monthly copies, by
    every key column (the scope's filters are applied by ``Sums``, since some metrics ignore them)."""
    metric = func.replace(StatRollup.metric, m.MONTHLY, "")
    cols = [metric, *(getattr(StatRollup, c) for c in KEY_COLUMNS)]
    stmt = (select(*cols, func.sum(StatRollup.count))
            .where(_in_range(StatRollup, list(metrics), scope, _whole_months(scope))).group_by(*cols))
    rows: dict[tuple[str, ...], int] = {}
    result: list[Any] = list(session.execute(stmt))
    for r in result:
        if r[-1] is not None:
            key = tuple(r[:-1])
            rows[key] = rows.get(key, 0) + int(r[-1])
    return Sums(scope, rows)


def active_companies(session: Session, scope: Scope) -> dict[date, int]:
    """Companies active (at least one login) per period of the scope: counted once per calendar
    day, ISO week or month. A period cut by the range is counted whole."""
    starts = periods(scope)
    out = dict.fromkeys(starts, 0)
    stmt = (select(StatRollup.day, func.sum(StatRollup.count))
            .where(StatRollup.metric == m.ACTIVE_COMPANIES, StatRollup.detail == scope.granularity,
                   StatRollup.day >= starts[0], StatRollup.day <= scope.end)
            .group_by(StatRollup.day))
    for day, n in session.execute(stmt):
        if day in out:
            out[day] = int(n)
    return out


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile of one kind of duration for one service and body (seconds)."""

    cases: int
    median: float | None
    p90: float | None


TIMES = (m.T_SUBMIT_DELIVERED, m.T_DELIVERED_ACTION, m.T_SUBMIT_DECISION)


def durations(session: Session, scope: Scope) -> dict[tuple[str, str, str], Durations]:
    """(measure, service, body slug) → cases, median, p90 from the histograms of the range (whole
    months from the monthly rows, the days around them from the daily ones)."""
    cols = (StatHistogram.metric, StatHistogram.service_key, StatHistogram.chamber_slug, StatHistogram.counts)
    stmt = select(*cols).where(_in_range(StatHistogram, list(TIMES), scope, _whole_months(scope)))
    if scope.service:
        stmt = stmt.where(StatHistogram.service_key == scope.service)
    if scope.body_kind:
        stmt = stmt.where(StatHistogram.body_kind == scope.body_kind)
    if scope.chamber:
        stmt = stmt.where(StatHistogram.chamber_slug == scope.chamber)
    hists: dict[tuple[str, str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    rows: list[Any] = list(session.execute(stmt))
    for metric, service, slug, counts in rows:
        hist = hists[(metric.removesuffix(m.MONTHLY), service, slug)]
        for bucket, n in (counts or {}).items():
            hist[int(bucket)] += int(n)
    return {key: Durations(sum(h.values()), histogram.percentile(h, 0.5), histogram.percentile(h, 0.9))
            for key, h in hists.items()}
