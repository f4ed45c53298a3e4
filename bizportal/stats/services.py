"""Writes to the rollups. Every function joins the caller's transaction (none commits), so a count
is written exactly when the event it counts is, and never when that event is rolled back.

Callers are the owners of the events: ``filings.services`` (drafts, submit), ``filings.lifecycle``
(decisions, withdrawals, the first staff action), ``delivery.recording`` (delivery outcomes) and
``auth.services`` (company logins). Days are calendar days in the portal's time zone.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session

from ..bodies.models import Chamber
from ..common.time import utcnow
from ..delivery.models import Delivery
from ..extensions import db, rowcount, table_of
from ..filings.models import Draft, Filing, FilingEvent
from . import histogram
from .models import AbandonedDraft, ActiveMember, StatCounter, StatHistogram, StatRollup

if TYPE_CHECKING:
    from ..catalog.models import ServiceDefinition

DELIVERED_PER_CHAMBER = "delivered_per_chamber"  #: ``StatCounter``: the admins' delivery overview

# --- the metrics of ``StatRollup`` -------------------------------------------------------------
DRAFT_STARTED = "draft_started"            #: service
DRAFT_ABANDONED = "draft_abandoned"        #: service, detail = the step it stopped at
SUBMITTED = "submitted"                    #: service, primary body (one per filing)
PREFILLED = "prefilled"                    #: as SUBMITTED, for filings with answers from the account
ADDRESSED = "addressed"                    #: service, each body the filing went to, detail = role
DELIVERED_FIRST = "delivered_first"        #: service, body, adapter, detail = role
DELIVERED_RETRIED = "delivered_retried"    #: as DELIVERED_FIRST, delivered after more than one attempt
DELIVERY_DEAD = "delivery_dead"            #: as DELIVERED_FIRST, the delivery gave up
DECIDED = "decided"                        #: service, deciding body, detail = accepted | rejected
WITHDRAWN = "withdrawn"                    #: service, primary body
BUNDLE_SUBMITTED = "bundle_submitted"      #: detail = bundle key (one per binding submit of a bundle)
BUNDLE_FILED = "bundle_filed"              #: service, primary body, detail = bundle key (one per filing)
LOGINS = "logins"                          #: company logins
ACTIVE_COMPANIES = "active_companies"      #: detail = day | week | month; day = the period's first day
#: duration histograms: service, body, detail = bucket (``stats.histogram``)
T_SUBMIT_DELIVERED = "t_submit_delivered"
T_DELIVERED_ACTION = "t_delivered_action"
T_SUBMIT_DECISION = "t_submit_decision"

#: the duration metrics: histograms (``StatHistogram``), not counts
HISTOGRAMS = (T_SUBMIT_DELIVERED, T_DELIVERED_ACTION, T_SUBMIT_DECISION)
#: where an abandoned draft stopped when every step was done
REVIEW_STEP = "review"
#: every count is also kept per calendar month under ``metric + MONTHLY`` (day = the month's first
#: day) and per calendar year under ``metric + YEARLY`` (day = 1 January), so a one-year range reads
#: a few rows per key where it would read 365 (``stats.queries._parts``)
MONTHLY = ":m"
YEARLY = ":y"
#: metrics without monthly and yearly copies (active companies are kept per period already)
_DAILY_ONLY = {"active_companies"}

Key = tuple[str, date, str, str, str, str, str]
_ROLLUP = table_of(StatRollup)
_HISTOGRAM = table_of(StatHistogram)  # metric, day, service, body kind, chamber, adapter, detail


def count_event(session: Session | scoped_session[Any], metric: str, dimension: str, day: date, n: int = 1) -> None:
    """Add ``n`` to a ``StatCounter`` in the caller's transaction (an upsert, safe under concurrency)."""
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]
    stmt = insert(StatCounter).values(metric=metric, dimension=dimension, day=day, count=n)
    stmt = stmt.on_conflict_do_update(index_elements=["metric", "dimension", "day"],
                                      set_={"count": StatCounter.count + n})
    session.execute(stmt)


def _insert() -> Any:
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[db.session.get_bind().dialect.name]


def bump(keys: Iterable[Key] | Counter[Key]) -> None:
    """Add to the rollup rows of ``keys`` (each occurrence counts one; a ``Counter`` gives its
    numbers, which may be negative to take a count back). One upsert statement, rows in key order
    so concurrent writers lock them in the same order and cannot deadlock."""
    counts = keys if isinstance(keys, Counter) else Counter(keys)
    durations = Counter({k: n for k, n in counts.items() if k[0] in HISTOGRAMS})
    if durations:
        _bump_histograms(durations)
        counts = Counter({k: n for k, n in counts.items() if k[0] not in HISTOGRAMS})
    copies: Counter[Key] = Counter()
    for (metric, day, *rest), n in counts.items():
        if metric not in _DAILY_ONLY:
            copies[(metric + MONTHLY, day.replace(day=1), *rest)] += n
            copies[(metric + YEARLY, day.replace(month=1, day=1), *rest)] += n
    counts = _add(counts, copies)
    rows = [{"metric": k[0], "day": k[1], "service_key": k[2], "body_kind": k[3], "chamber_slug": k[4],
             "adapter_key": k[5], "detail": k[6], "count": n} for k, n in sorted(counts.items()) if n]
    if rows:  # one statement compiled once, sent as multi-row VALUES in pages ("insertmanyvalues")
        db.session.execute(_upsert(db.session.get_bind().dialect.name), rows)


def _bump_histograms(keys: Counter[Key]) -> None:
    """Add durations (keys whose detail is a bucket) to their day's, month's and year's histogram
    rows: one upsert whose conflict branch adds the bucket counts (``_MERGE``)."""
    merged: dict[tuple[str, date, str, str, str], Counter[str]] = {}
    for (metric, day, service, kind, slug, _adapter, bucket), n in keys.items():
        for key in ((metric, day, service, kind, slug), (metric + MONTHLY, day.replace(day=1), service, kind, slug),
                    (metric + YEARLY, day.replace(month=1, day=1), service, kind, slug)):
            merged.setdefault(key, Counter())[bucket] += n
    rows = [{"metric": k[0], "day": k[1], "service_key": k[2], "body_kind": k[3], "chamber_slug": k[4],
             "counts": dict(c)} for k, c in sorted(merged.items())]
    db.session.execute(_histogram_upsert(db.session.get_bind().dialect.name), rows)


#: the conflict branch of the histogram upsert: bucket-wise sum of the stored and the new counts
_MERGE = {
    "postgresql": """(SELECT jsonb_object_agg(k, n) FROM (
        SELECT k, sum(v::bigint) AS n FROM (
            SELECT key AS k, value AS v FROM jsonb_each_text(stat_histogram.counts)
            UNION ALL SELECT key, value FROM jsonb_each_text(excluded.counts)) AS both_ GROUP BY k) AS sums)""",
    "sqlite": """(SELECT json_group_object(k, n) FROM (
        SELECT k, sum(v) AS n FROM (
            SELECT key AS k, value AS v FROM json_each(stat_histogram.counts)
            UNION ALL SELECT key, value FROM json_each(excluded.counts)) GROUP BY k))""",
}


@functools.cache
def _histogram_upsert(dialect: str) -> Any:
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    return insert(_HISTOGRAM).on_conflict_do_update(
        index_elements=["metric", "day", "service_key", "body_kind", "chamber_slug"],
        set_={"counts": literal_column(_MERGE[dialect])})


@functools.cache
def _upsert(dialect: str) -> Any:
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    stmt = insert(_ROLLUP)
    return stmt.on_conflict_do_update(
        index_elements=["metric", "day", "service_key", "body_kind", "chamber_slug", "adapter_key", "detail"],
        set_={"count": _ROLLUP.c.count + stmt.excluded.count})


def _add(a: Counter[Key], b: Counter[Key]) -> Counter[Key]:
    """``a + b`` keeping negative counts (``Counter.__add__`` drops them: a count taken back)."""
    out = Counter(a)
    for k, n in b.items():
        out[k] += n
    return out


def zone() -> ZoneInfo:
    """The portal's time zone."""
    return ZoneInfo(current_app.config["SETTINGS"].web.timezone)


def local_day(at: datetime) -> date:
    """The portal's calendar day of an instant."""
    return at.astimezone(zone()).date()


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


# --- drafts and submit ---------------------------------------------------------------------------

def draft_started(service_key: str, at: datetime) -> None:
    """A company started a draft (new or copied)."""
    bump([(DRAFT_STARTED, local_day(at), service_key, "", "", "", "")])


def stopped_at(draft: Draft, service: ServiceDefinition | None) -> str:
    """The step an abandoned draft stopped at: its first open step, or ``review`` when complete."""
    if service is None:
        return ""
    for step in service.visible_steps(draft.data):
        if step.key not in draft.completed_steps:
            return step.key
    return REVIEW_STEP


def draft_deleted(draft: Draft, at: datetime) -> None:
    """The company deleted a draft: abandoned at the step it stopped at, unless it was counted as
    abandoned already (then only that mark goes)."""
    if rowcount(db.session.execute(delete(AbandonedDraft).where(AbandonedDraft.draft_id == draft.id))):
        return
    service = current_app.extensions["bizportal"].catalog.get(draft.service_key)
    bump([(DRAFT_ABANDONED, local_day(at), draft.service_key, "", "", "", stopped_at(draft, service))])


def abandon_stale_drafts(days: int, now: datetime | None = None) -> int:
    """Count the drafts untouched for ``days`` days and not counted yet as abandoned, on the day
    they became so (last change + ``days``), at the step they stopped at; marks them so they count
    once. Commits. Returns how many were counted. Run daily (``flask stats daily``)."""
    now = now or utcnow()
    catalog = current_app.extensions["bizportal"].catalog
    counted = 0
    stale = db.session.scalars(
        select(Draft).where(Draft.updated_at < now - timedelta(days=days),
                            Draft.id.not_in(select(AbandonedDraft.draft_id)),
                            # a bundle's own draft is no service's (its service drafts count)
                            Draft.service_key.not_in(list(current_app.extensions["bizportal"].bundles)))
        .order_by(Draft.updated_at).with_for_update(skip_locked=True))
    keys: list[Key] = []
    for draft in stale:
        day = local_day(draft.updated_at + timedelta(days=days))
        step = stopped_at(draft, catalog.get(draft.service_key))
        db.session.add(AbandonedDraft(draft_id=draft.id, day=day, service_key=draft.service_key, step=step))
        keys.append((DRAFT_ABANDONED, day, draft.service_key, "", "", "", step))
        counted += 1
    bump(keys)
    db.session.commit()
    return counted


def filing_submitted(filing: Filing, draft_id: uuid.UUID, targets: Sequence[tuple[Chamber, str]],
                     prefilled: bool) -> None:
    """A filing was submitted to ``targets`` (chamber, role): one count per filing under its
    primary body, one per body it is addressed to; a draft counted as abandoned before is taken
    back (it was not abandoned after all)."""
    day = local_day(filing.submitted_at)
    primary = next((c for c, role in targets if role == "primary"), targets[0][0] if targets else None)
    kind, slug = (primary.kind, primary.slug) if primary else ("", "")
    keys: Counter[Key] = Counter()
    keys[(SUBMITTED, day, filing.service_key, kind, slug, "", "")] += 1
    if prefilled:
        keys[(PREFILLED, day, filing.service_key, kind, slug, "", "")] += 1
    for chamber, role in targets:
        keys[(ADDRESSED, day, filing.service_key, chamber.kind, chamber.slug, "", role)] += 1
    mark = db.session.get(AbandonedDraft, draft_id)
    if mark is not None:
        keys[(DRAFT_ABANDONED, mark.day, mark.service_key, "", "", "", mark.step)] -= 1
        db.session.delete(mark)
    bump(keys)


def bundle_submitted(bundle_key: str, filings: Sequence[tuple[Filing, Sequence[tuple[Chamber, str]]]],
                     at: datetime) -> None:
    """A bundle ("Betrieb gründen", …) was submitted with ``filings`` (each with its targets):
    one count per bundle, and one per filing under its service and primary body with the
    bundle's key as detail (each filing is counted per service by ``filing_submitted`` too)."""
    day = local_day(at)
    keys: Counter[Key] = Counter()
    keys[(BUNDLE_SUBMITTED, day, "", "", "", "", bundle_key)] += 1
    for filing, targets in filings:
        primary = next((c for c, role in targets if role == "primary"), None)
        kind, slug = (primary.kind, primary.slug) if primary else ("", "")
        keys[(BUNDLE_FILED, day, filing.service_key, kind, slug, "", bundle_key)] += 1
    bump(keys)


# --- deliveries ----------------------------------------------------------------------------------

def deliveries_recorded(outcomes: Sequence[tuple[uuid.UUID, str, int]], at: datetime) -> None:
    """Outcomes of filing deliveries written at ``at``: (delivery id, ``delivered`` | ``dead``,
    attempts). Delivered on the first attempt or after retries, or dead, per service, body,
    adapter and role; the time from submit to delivered. One read and one upsert per batch."""
    if not outcomes:
        return
    ids = [delivery_id for delivery_id, _, _ in outcomes]
    rows = {r.id: r for r in db.session.execute(
        select(Delivery.id, Delivery.role, Filing.service_key, Filing.submitted_at, Chamber.kind, Chamber.slug,
               Chamber.adapter_key)
        .join(Filing, Filing.id == Delivery.filing_id).join(Chamber, Chamber.id == Delivery.chamber_id)
        .where(Delivery.id.in_(ids)))}
    day = local_day(at)
    keys: Counter[Key] = Counter()
    for delivery_id, state, attempts in outcomes:
        r = rows.get(delivery_id)
        if r is None:
            continue
        if state == "dead":
            metric = DELIVERY_DEAD
        else:
            metric = DELIVERED_FIRST if attempts <= 1 else DELIVERED_RETRIED
            bucket = histogram.bucket(_seconds(r.submitted_at, at))
            keys[(T_SUBMIT_DELIVERED, day, r.service_key, r.kind, r.slug, "", str(bucket))] += 1
        keys[(metric, day, r.service_key, r.kind, r.slug, r.adapter_key, r.role)] += 1
    bump(keys)


# --- case work -----------------------------------------------------------------------------------

def chamber_event(delivery_id: uuid.UUID, kind: str, occurred_at: datetime) -> None:
    """A receiving body's status event, called by the filing's owner before the event is written:
    the time from delivery to the body's first action on the filing, and for a decision the
    decision and the time from submit to it."""
    row = db.session.execute(
        select(Delivery.filing_id, Delivery.chamber_id, Delivery.delivered_at, Filing.service_key,
               Filing.submitted_at, Chamber.kind, Chamber.slug)
        .join(Filing, Filing.id == Delivery.filing_id).join(Chamber, Chamber.id == Delivery.chamber_id)
        .where(Delivery.id == delivery_id)).one()
    day = local_day(occurred_at)
    keys: list[Key] = []
    first = db.session.scalar(select(FilingEvent.id).where(
        FilingEvent.filing_id == row.filing_id, FilingEvent.chamber_id == row.chamber_id,
        FilingEvent.kind.in_(CHAMBER_ACTIONS)).limit(1)) is None
    if first and row.delivered_at is not None:
        bucket = histogram.bucket(_seconds(row.delivered_at, occurred_at))
        keys.append((T_DELIVERED_ACTION, day, row.service_key, row.kind, row.slug, "", str(bucket)))
    if kind in DECISIONS:
        keys.append((DECIDED, day, row.service_key, row.kind, row.slug, "", kind))
        bucket = histogram.bucket(_seconds(row.submitted_at, occurred_at))
        keys.append((T_SUBMIT_DECISION, day, row.service_key, row.kind, row.slug, "", str(bucket)))
    bump(keys)


#: a body's status events (``filings.states.CHAMBER_EVENTS``) and decisions, as stored strings
CHAMBER_ACTIONS = ("received", "in_progress", "information_requested", "accepted", "rejected")
DECISIONS = ("accepted", "rejected")


def filing_withdrawn(filing: Filing, at: datetime) -> None:
    """The company withdrew a filing: counted under its primary body."""
    primary = db.session.execute(
        select(Chamber.kind, Chamber.slug).join(Delivery, Delivery.chamber_id == Chamber.id)
        .where(Delivery.filing_id == filing.id, Delivery.message_id.is_(None), Delivery.role == "primary")
        .limit(1)).first()
    kind, slug = (primary.kind, primary.slug) if primary else ("", "")
    bump([(WITHDRAWN, local_day(at), filing.service_key, kind, slug, "", "")])


# --- logins --------------------------------------------------------------------------------------

def periods(day: date) -> list[tuple[str, date]]:
    """The day, ISO week and calendar month a day belongs to, each as (kind, first day)."""
    return [("day", day), ("week", day - timedelta(days=day.weekday())), ("month", day.replace(day=1))]


def member_key(period: str, company_id: int) -> str:
    """A company's entry in one period's set: a keyed hash of period and company id (32 hex digits).

    Without the portal's secret key it cannot be tied to a company; with it, only by trying every
    company of that period. The same company's entries of two periods differ.
    """
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"stats-active:{period}:{company_id}".encode(), hashlib.sha256).hexdigest()[:32]


def company_login(company_id: int, at: datetime) -> None:
    """A person logged in for a company: one login, and the company counted once as active in
    the day, week and month (a conflict-free insert into each period's set decides)."""
    day = local_day(at)
    keys: list[Key] = [(LOGINS, day, "", "", "", "", "")]
    insert = _insert()
    for kind, start in periods(day):
        period = f"{kind[0]}{start.isoformat()}"
        stmt = (insert(ActiveMember).values(period=period, member=member_key(period, company_id))
                .on_conflict_do_nothing(index_elements=["period", "member"]).returning(ActiveMember.period))
        if db.session.execute(stmt).first() is not None:  # new in this period's set
            keys.append((ACTIVE_COMPANIES, start, "", "", "", "", kind))
    bump(keys)


def purge_members(today: date) -> int:
    """Delete the sets of periods that are over (their counts stay); commits. Returns rows deleted."""
    current = [f"{kind[0]}{start.isoformat()}" for kind, start in periods(today)]
    deleted = rowcount(db.session.execute(delete(ActiveMember).where(ActiveMember.period.not_in(current))))
    db.session.commit()
    return deleted
