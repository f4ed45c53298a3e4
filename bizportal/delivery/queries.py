"""Read-only queries: delivery metrics per chamber and the deliveries that need an admin."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from chambers.base import AdapterError
from chambers.registry import AdapterRegistry, UnknownAdapter

from ..bodies.models import Chamber
from ..common import dbclock
from ..extensions import db
from ..filings.models import Filing
from ..stats import services as stats
from ..stats.models import StatCounter
from .models import Delivery, DeliveryState, DeliveryTiming
from .sending import NEEDS_CONFIGURATION


@dataclass
class ChamberMetrics:
    chamber_id: int
    slug: str
    name: str
    adapter_key: str
    enabled: bool
    due: int = 0  #: pending and due now, or sending with a lease that ran out
    in_flight: int = 0  #: sending under a live lease
    delivered: int = 0  #: delivered since records began (rollup counter, survives data deletion)
    failing: int = 0  #: pending with an error from the last attempt
    dead: int = 0
    #: pending because the chamber's adapter settings are unusable (``InvalidConfig``)
    needs_configuration: int = 0
    oldest_due_seconds: float = 0.0  #: how long the oldest due delivery has been waiting


def chamber_metrics(chamber_id: int | None = None) -> list[ChamberMetrics]:
    """Metrics of every chamber (or one), read from the open deliveries and the rollups.

    Only rows that are not done are scanned (the ``state`` index), so this stays cheap with
    millions of delivered rows; "delivered" comes from the ``StatCounter`` rollup.
    """
    now = dbclock.now()  # the clock the leases and due times were written with
    chamber_query = select(Chamber).order_by(Chamber.name)
    if chamber_id is not None:
        chamber_query = chamber_query.where(Chamber.id == chamber_id)
    result = {c.id: ChamberMetrics(c.id, c.slug, c.name, c.adapter_key, c.enabled)
              for c in db.session.scalars(chamber_query)}
    due = or_(
        and_(Delivery.state == DeliveryState.PENDING, Delivery.next_attempt_at <= now),
        and_(Delivery.state == DeliveryState.SENDING, Delivery.locked_until < now),
    )
    one = lambda cond: func.sum(case((cond, 1), else_=0))  # noqa: E731
    open_rows = (
        select(
            Delivery.chamber_id,
            one(due).label("due"),
            one(and_(Delivery.state == DeliveryState.SENDING, Delivery.locked_until >= now)).label("in_flight"),
            one(and_(Delivery.state == DeliveryState.PENDING, Delivery.last_error.isnot(None))).label("failing"),
            one(Delivery.state == DeliveryState.DEAD).label("dead"),
            one(and_(Delivery.state == DeliveryState.PENDING,
                     Delivery.last_error.startswith(NEEDS_CONFIGURATION))).label("needs_configuration"),
            func.min(case((due, Delivery.next_attempt_at), else_=None)).label("oldest_due"),
        )
        .where(Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.DEAD]))
        .group_by(Delivery.chamber_id)
    )
    if chamber_id is not None:
        open_rows = open_rows.where(Delivery.chamber_id == chamber_id)
    for row in db.session.execute(open_rows):
        m = result.get(row.chamber_id)
        if m is None:
            continue
        m.due, m.in_flight = int(row.due or 0), int(row.in_flight or 0)
        m.failing, m.dead = int(row.failing or 0), int(row.dead or 0)
        m.needs_configuration = int(row.needs_configuration or 0)
        if row.oldest_due is not None:
            oldest = row.oldest_due
            if isinstance(oldest, str):  # SQLite returns the raw value from an aggregate
                oldest = datetime.fromisoformat(oldest)
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=now.tzinfo)
            m.oldest_due_seconds = max(0.0, (now - oldest).total_seconds())
    by_slug = {m.slug: m for m in result.values()}
    for slug, n in db.session.execute(
        select(StatCounter.dimension, func.sum(StatCounter.count))
        .where(StatCounter.metric == stats.DELIVERED_PER_CHAMBER, StatCounter.dimension.in_(list(by_slug)))
        .group_by(StatCounter.dimension)
    ):
        by_slug[slug].delivered = int(n or 0)
    db.session.rollback()
    return list(result.values())


@dataclass(frozen=True)
class AnswerTime:
    """How fast a chamber answered within the recent window, merged over every worker."""

    chamber_id: int
    slug: str
    name: str
    configured_timeout: float | None  #: the chamber's answer timeout (adapter option); None: none
    answered: int = 0  #: delivered sends
    timeouts: int = 0  #: sends that got no answer within their timeout
    median_seconds: float | None = None
    p90_seconds: float | None = None
    #: the longest answer timeout a worker used (longer than the configured one after timeouts)
    longest_timeout: float | None = None

    @property
    def times_out(self) -> bool:
        return self.timeouts > 0


def _percentile(ordered: list[int], share: float) -> float | None:
    """Nearest-rank percentile of sorted milliseconds, in seconds."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] / 1000


def answer_times(registry: AdapterRegistry, window_seconds: float,
                 chamber_id: int | None = None) -> list[AnswerTime]:
    """Answer times, timeouts and answer timeouts per chamber (or of one), from what the workers
    published within the last ``window_seconds`` (``timing.publish``); chambers whose adapter has
    an answer timeout or that have published numbers, by name."""
    since = dbclock.now() - timedelta(seconds=window_seconds)
    chamber_query = select(Chamber).order_by(Chamber.name)
    if chamber_id is not None:
        chamber_query = chamber_query.where(Chamber.id == chamber_id)
    chambers = list(db.session.scalars(chamber_query))
    rows: dict[int, list[DeliveryTiming]] = {}
    timing_query = select(DeliveryTiming).where(DeliveryTiming.updated_at >= since)
    if chamber_id is not None:
        timing_query = timing_query.where(DeliveryTiming.chamber_id == chamber_id)
    for t in db.session.scalars(timing_query):
        rows.setdefault(t.chamber_id, []).append(t)
    found = []
    for c in chambers:
        try:
            configured = registry.create(c.adapter_key).answer_timeout(c.options)
        except (AdapterError, UnknownAdapter):
            configured = None
        seen = rows.get(c.id, [])
        if configured is None and not seen:
            continue
        sample = sorted(ms for t in seen for ms in t.answer_ms or [])
        longest = max((t.longest_timeout for t in seen if t.longest_timeout), default=None)
        found.append(AnswerTime(c.id, c.slug, c.name, configured, sum(t.answered for t in seen),
                                sum(t.timeouts for t in seen), _percentile(sample, 0.5), _percentile(sample, 0.9),
                                longest))
    db.session.rollback()
    return found


@dataclass(frozen=True)
class ProblemDelivery:
    id: uuid.UUID
    chamber_slug: str
    chamber_name: str
    reference: str
    state: str
    attempts: int
    error: str  #: first line of the last error
    next_attempt_at: datetime | None
    created_at: datetime
    message: bool = False  #: the delivery carries a company's answer about the filing, not the filing


PROBLEM_KINDS = ("all", "dead", "failing")


def problem_filter(kind: str = "all", chamber_id: int | None = None,
                   since: datetime | None = None) -> list[ColumnElement[bool]]:
    """The WHERE of the problem list: ``kind`` "dead", "failing" (pending after a failed attempt) or
    "all" (both), optionally of one chamber and created at or after ``since``.

    The problem page, its count and the bulk re-send (``resend.resend_matching``) use this one filter,
    so the confirmation counts the rows the re-send changes. Raises ``ValueError`` for another kind.
    """
    if kind not in PROBLEM_KINDS:
        raise ValueError(f"unknown kind of problem delivery: {kind!r}")
    conditions = {
        "dead": Delivery.state == DeliveryState.DEAD,
        "failing": and_(Delivery.state == DeliveryState.PENDING, Delivery.last_error.isnot(None)),
    }
    filters: list[ColumnElement[bool]] = [conditions[kind] if kind in conditions else or_(*conditions.values())]
    if chamber_id is not None:
        filters.append(Delivery.chamber_id == chamber_id)
    if since is not None:
        filters.append(Delivery.created_at >= since)
    return filters


def count_problem_deliveries(kind: str = "all", chamber_id: int | None = None,
                             since: datetime | None = None) -> int:
    """How many deliveries ``problem_filter`` matches right now."""
    total = db.session.scalar(select(func.count()).select_from(Delivery)
                              .where(*problem_filter(kind, chamber_id, since))) or 0
    db.session.rollback()
    return int(total)


def problem_deliveries(kind: str = "all", chamber_id: int | None = None, limit: int = 100,
                       offset: int = 0) -> tuple[list[ProblemDelivery], int]:
    """Dead deliveries and pending ones whose last attempt failed, oldest first; and the total."""
    filters = problem_filter(kind, chamber_id)
    total = db.session.scalar(select(func.count()).select_from(Delivery).where(*filters)) or 0
    rows = db.session.execute(
        select(Delivery.id, Chamber.slug, Chamber.name, Filing.reference, Delivery.state, Delivery.attempts,
               Delivery.last_error, Delivery.next_attempt_at, Delivery.created_at, Delivery.message_id)
        .join(Chamber, Chamber.id == Delivery.chamber_id)
        .join(Filing, Filing.id == Delivery.filing_id)
        .where(*filters)
        .order_by(Delivery.created_at, Delivery.id)
        .limit(limit)
        .offset(offset)
    ).all()
    db.session.rollback()
    return [
        ProblemDelivery(r.id, r.slug, r.name, r.reference, r.state, r.attempts, first_line(r.last_error),
                        r.next_attempt_at if r.state == DeliveryState.PENDING else None, r.created_at,
                        r.message_id is not None)
        for r in rows
    ], total


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else ""


# --- Prometheus ---------------------------------------------------------------------------------

_METRICS = (
    ("bizportal_delivery_due", "gauge", "Deliveries due now (pending and due, or with an expired lease)", "due"),
    ("bizportal_delivery_in_flight", "gauge", "Deliveries being sent under a live lease", "in_flight"),
    ("bizportal_delivery_failing", "gauge", "Pending deliveries whose last attempt failed", "failing"),
    ("bizportal_delivery_dead", "gauge", "Dead deliveries waiting for an admin", "dead"),
    ("bizportal_delivery_oldest_due_seconds", "gauge", "Age of the oldest due delivery", "oldest_due_seconds"),
    ("bizportal_deliveries_delivered_total", "counter", "Deliveries delivered since records began", "delivered"),
)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(metrics: list[ChamberMetrics]) -> str:
    """The metrics in the Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for name, kind, help_text, attr in _METRICS:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for m in sorted(metrics, key=lambda m: m.slug):
            value = getattr(m, attr)
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            lines.append(f'{name}{{chamber="{_label(m.slug)}",adapter="{_label(m.adapter_key)}"}} {shown}')
    return "\n".join(lines) + "\n"
