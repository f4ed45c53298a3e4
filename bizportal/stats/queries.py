"""Aggregates for the steering dashboard. Reads only the rollups (``StatRollup``), never a filing.

A ``Scope`` is the dashboard's question: a date range (calendar days in the portal's time zone,
both ends included), the period size of the trends, and optional filters by service, body kind
and body. Each function returns plain numbers; ``stats.tables`` turns them into the tables the
page, the charts and the exports show.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
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


def _month_after(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


#: the metric name of each level's rows (``services.MONTHLY``, ``YEARLY``: copies of the daily rows)
_SUFFIX = {"day": "", "month": m.MONTHLY, "year": m.YEARLY}


@dataclass(frozen=True)
class _Part:
    """Rows to add (``sign`` 1) or take away (−1): the daily rows of the days ``first`` … ``last``,
    or the monthly or yearly copies whose day (the period's first day) lies there."""

    level: str
    first: date
    last: date
    sign: int = 1

    @property
    def rows(self) -> int:
        """How many rows per key it reads at most."""
        if self.level == "day":
            return (self.last - self.first).days + 1
        if self.level == "month":
            return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        return self.last.year - self.first.year + 1


def _cost(parts: list[_Part]) -> int:
    return sum(p.rows for p in parts)


def _months(lo: date, hi: date, sign: int) -> list[_Part]:
    """``lo`` … ``hi`` (within one year) by months: a whole month as its monthly copy, a cut one
    as its days, or as the month minus its other days when that reads fewer rows."""
    parts: list[_Part] = []
    month = lo.replace(day=1)
    while month <= hi:
        after = _month_after(month)
        last_day = after - timedelta(days=1)
        a, b = max(lo, month), min(hi, last_day)
        whole = [_Part("month", month, month, sign)]
        if (a, b) == (month, last_day):
            parts += whole
        else:
            outside = ([_Part("day", month, a - timedelta(days=1), -sign)] if a > month else []) + (
                [_Part("day", b + timedelta(days=1), last_day, -sign)] if b < last_day else [])
            direct = [_Part("day", a, b, sign)]
            parts += whole + outside if _cost(whole + outside) < _cost(direct) else direct
        month = after
    return parts


def _parts(scope: Scope, yearly: bool = True) -> list[_Part]:
    """How a range is read from a rollup table with the fewest rows. A whole calendar year is its
    yearly copy and a whole month its monthly one; a year the range cuts is read by months, or as
    the year minus the months outside; a month it cuts by its days, or as the month minus the
    days outside. The copies are the sums of their daily rows (written in the same statement),
    so every way gives the same sums: a range from 5 December to 4 December reads per key one
    yearly, two monthly and eight daily rows instead of eleven monthly and 31 daily ones. Without
    ``yearly`` (a trend by month) years are read by months. No two parts meet the same row."""
    parts: list[_Part] = []
    for year in range(scope.start.year, scope.end.year + 1):
        first, last = date(year, 1, 1), date(year, 12, 31)
        a, b = max(scope.start, first), min(scope.end, last)
        whole = [_Part("year", first, first)]
        if yearly and (a, b) == (first, last):
            parts += whole
            continue
        direct = _months(a, b, 1)
        if yearly and (a.year, a.month) != (b.year, b.month):  # outside pieces in two months: no overlap
            outside = (_months(first, a - timedelta(days=1), -1) if a > first else []) + (
                _months(b + timedelta(days=1), last, -1) if b < last else [])
            if _cost(whole + outside) < _cost(direct):
                parts += whole + outside
                continue
        parts += direct
    return _joined(parts)


def _joined(parts: list[_Part]) -> list[_Part]:
    """Adjacent parts of one level and sign as one (fewer conditions, the same rows)."""
    out: list[_Part] = []
    for part in sorted(parts, key=lambda p: (p.level, p.sign, p.first)):
        last = out[-1] if out else None
        if last is not None and (last.level, last.sign) == (part.level, part.sign) and (
                part.first == (last.last + timedelta(days=1) if part.level == "day" else _month_after(last.last)
                               if part.level == "month" else last.last.replace(year=last.last.year + 1))):
            out[-1] = replace(last, last=part.last)
        else:
            out.append(part)
    return out


def _in_range(model: Any, metrics: list[str], scope: Scope, yearly: bool = True,
              daily_only: bool = False) -> tuple[Any, Any]:
    """The rows of ``metrics`` in the scope's range for a rollup table (``StatRollup``,
    ``StatHistogram``) and the sign each row's count takes (1 or −1): read as ``_parts`` says, or
    from the daily rows alone (``daily_only``: a grouping by days or weeks)."""
    parts = [_Part("day", scope.start, scope.end)] if daily_only else _parts(scope, yearly)

    def rows(part: _Part) -> Any:
        return and_(model.metric.in_([x + _SUFFIX[part.level] for x in metrics]), model.day >= part.first,
                    model.day <= part.last)

    taken_away = [rows(p) for p in parts if p.sign < 0]
    sign = case((or_(*taken_away), -1), else_=1) if taken_away else literal(1)
    return or_(*(rows(p) for p in parts)), sign


def _base_metric(column: Any) -> Any:
    """The metric of a row, daily, monthly or yearly copy alike (the copies answer under its name)."""
    return func.replace(func.replace(column, m.MONTHLY, ""), m.YEARLY, "")


def _sums(session: Session, metrics: Sequence[str], scope: Scope, by: Sequence[str], *, service: bool = True,
          body: bool = True) -> dict[tuple[Any, ...], int]:
    """Sum of ``metrics`` in the range, grouped by the named columns (``metric`` and ``day`` allowed).
    ``service``/``body``: whether the scope's filters apply (drafts have no body, logins neither).

    The range is read as ``_parts`` says (yearly and monthly copies, ``services.YEARLY`` and
    ``MONTHLY``), with months for years when grouped by day, from daily rows alone when the
    grouping needs days or weeks."""
    cols = [_base_metric(StatRollup.metric) if c == "metric" else getattr(StatRollup, c) for c in by]
    # grouped by day, a yearly copy would land in January; by days or weeks, only daily rows will do
    where, sign = _in_range(StatRollup, list(metrics), scope, yearly="day" not in by,
                            daily_only="day" in by and scope.granularity != "month")
    stmt = select(*cols, func.sum(StatRollup.count * sign)).where(where)
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
        if r[-1]:  # a group that adds up to zero in the range is no figure (a month minus its days)
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
        allowed); ``service``/``body``: whether the scope's filters apply."""
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
    cols = [_base_metric(StatRollup.metric), *(getattr(StatRollup, c) for c in KEY_COLUMNS)]
    where, sign = _in_range(StatRollup, list(metrics), scope)
    stmt = select(*cols, func.sum(StatRollup.count * sign)).where(where).group_by(*cols)
    rows: dict[tuple[str, ...], int] = {}
    result: list[Any] = list(session.execute(stmt))
    for r in result:
        if r[-1]:  # as in ``_sums``: a key that adds up to zero in the range is left out
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
    """(measure, service, body slug) → cases, median, p90 from the histograms of the range (read
    as ``_parts`` says: yearly, monthly and daily rows, some taken away)."""
    where, sign = _in_range(StatHistogram, list(TIMES), scope)
    cols = (StatHistogram.metric, StatHistogram.service_key, StatHistogram.chamber_slug, StatHistogram.counts, sign)
    stmt = select(*cols).where(where)
    if scope.service:
        stmt = stmt.where(StatHistogram.service_key == scope.service)
    if scope.body_kind:
        stmt = stmt.where(StatHistogram.body_kind == scope.body_kind)
    if scope.chamber:
        stmt = stmt.where(StatHistogram.chamber_slug == scope.chamber)
    hists: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    rows: list[Any] = list(session.execute(stmt))
    for metric, service, slug, counts, factor in rows:
        if counts:  # bucket counts added as they come (the keys stay text until the sums are made)
            hist = hists[(metric.removesuffix(m.MONTHLY).removesuffix(m.YEARLY), service, slug)]
            if factor > 0:
                hist.update(counts)
            else:
                hist.subtract(counts)
    out: dict[tuple[str, str, str], Durations] = {}
    for key, summed in hists.items():
        buckets = {int(bucket): int(n) for bucket, n in summed.items() if n}
        if cases := sum(buckets.values()):
            out[key] = Durations(cases, histogram.percentile(buckets, 0.5), histogram.percentile(buckets, 0.9))
    return out
