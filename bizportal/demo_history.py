"""Synthetic history for demonstrations and benchmarks (``flask --app wsgi demo generate``).

Writes filings, their deliveries and timelines over the last ``days`` days — services in
realistic shares, seasons and weekdays, the routing of each service, first-attempt, retried and
dead deliveries, receipts, requests, decisions, withdrawals — and, for the same made-up events,
the statistics rollups the use cases would have written (drafts started and abandoned, logins and
active companies included, whose raw rows the portal does not keep). Demo companies only; no real
person. The rollups are computed from the generated records with the definitions of
``stats.services``, so dashboard and raw tables agree.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from .auth.models import Company, Person
from .bodies.models import Chamber
from .catalog.models import ServiceDefinition
from .common.time import utcnow
from .delivery.models import Delivery
from .extensions import db, table_of
from .filings.models import Filing, FilingEvent
from .stats import histogram
from .stats import services as stats

#: relative demand per service (unknown keys: 1)
WEIGHTS = {"gewerbeanmeldung": 30, "gewerbeummeldung": 12, "gewerbeabmeldung": 14, "ursprungszeugnis": 10,
           "ausbildungsvertrag-eintragung": 9, "handwerksrolle-eintragung": 5, "gaststaettenerlaubnis": 4,
           "versicherungsvermittler-34d": 3, "immobilienmakler-34c": 3, "reisegewerbekarte": 2}
#: relative demand per month (January … December): busy at the turn of the year, quiet in summer
SEASON = (1.35, 1.1, 1.05, 1.0, 0.95, 0.9, 0.8, 0.7, 1.0, 1.05, 1.0, 1.1)
#: where the businesses are, and the share of each region
REGIONS = (("Bremen", 0.45), ("Bremerhaven", 0.1), ("Hamburg", 0.45))
BATCH = 5000


def _lognormal(rng: random.Random, median_seconds: float, sigma: float) -> timedelta:
    return timedelta(seconds=median_seconds * math.exp(rng.gauss(0, sigma)))


class _Rollups:
    """The rollup rows of the generated events, keyed as ``stats.services`` keys them."""

    def __init__(self) -> None:
        self.keys: Counter[stats.Key] = Counter()
        self.delivered_per_chamber: Counter[tuple[str, Any]] = Counter()

    def add(self, metric: str, at: datetime, service: str = "", kind: str = "", slug: str = "", adapter: str = "",
            detail: str = "") -> None:
        self.keys[(metric, stats.local_day(at), service, kind, slug, adapter, detail)] += 1

    def time(self, metric: str, start: datetime, end: datetime, service: str, kind: str, slug: str) -> None:
        self.add(metric, end, service, kind, slug, "", str(histogram.bucket((end - start).total_seconds())))


def generate(filings: int, days: int = 365, seed: int = 14, now: datetime | None = None,
             progress: Callable[[int], None] | None = None, companies: int | None = None) -> dict[str, int]:
    """Add ``filings`` synthetic filings (and their history) submitted within the last ``days``
    days, by ``companies`` demo companies (default: one per 20 filings, 10 to 50,000); commits in
    batches. Needs the demo chambers (``demo.ensure_chambers``). Returns the numbers of rows
    written per kind."""
    from flask import current_app

    rng = random.Random(seed)
    now = now or utcnow()
    catalog: dict[str, ServiceDefinition] = current_app.extensions["bizportal"].catalog
    services = sorted(catalog)
    weights = [WEIGHTS.get(k, 1) for k in services]
    chambers = {(c.kind, c.region): c for c in db.session.scalars(select(Chamber))}
    if not chambers:
        raise RuntimeError("no chambers: run 'flask --app wsgi demo-data' first")
    firms = _companies(rng, companies or max(10, min(50_000, filings // 20)))
    rollups = _Rollups()
    logins: set[tuple[int, Any]] = set()
    written: Counter[str] = Counter()
    next_id = (db.session.scalar(select(func.max(Filing.id))) or 0) + 1
    day_weights = _day_weights(now, days)
    for start in range(0, filings, BATCH):
        rows_f: list[dict[str, Any]] = []
        rows_d: list[dict[str, Any]] = []
        rows_e: list[dict[str, Any]] = []
        for i in range(start, min(filings, start + BATCH)):
            filing_id = next_id + i
            record = _one(rng, filing_id, now, day_weights, catalog, services, weights, chambers, firms, rollups,
                          logins)
            rows_f.append(record["filing"])
            rows_d += record["deliveries"]
            rows_e += record["events"]
        # Core tables: sent as multi-row VALUES pages (the ORM's bulk path would go row by row)
        db.session.execute(table_of(Filing).insert(), rows_f)
        db.session.execute(table_of(Delivery).insert(), rows_d)
        db.session.execute(table_of(FilingEvent).insert(), [{"chamber_id": None, "detail": None, **e} for e in rows_e])
        db.session.commit()
        written.update(filings=len(rows_f), deliveries=len(rows_d), events=len(rows_e))
        if progress:
            progress(written["filings"])
    _abandoned_drafts(rng, filings, now, days, catalog, services, weights, rollups)
    _logins(logins, rollups)
    for chunk in _chunks(list(rollups.keys.items()), BATCH):
        stats.bump(Counter(dict(chunk)))
    for (slug, day), n in sorted(rollups.delivered_per_chamber.items()):
        stats.count_event(db.session, stats.DELIVERED_PER_CHAMBER, slug, day, n)
    db.session.commit()
    written["rollup rows"] = len(rollups.keys)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(func.now())  # a statement boundary before ANALYZE
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE stat_rollup, stat_histogram")  # the upserts left dead rows
            conn.exec_driver_sql("ANALYZE")
    return dict(written)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for k in range(0, len(items), size):
        yield items[k:k + size]


def _companies(rng: random.Random, n: int) -> list[tuple[int, int, str]]:
    """(company id, person id, region) of ``n`` demo companies (created once, found again)."""
    existing = db.session.execute(select(Company.id, Person.id, Company.city)
                                  .join(Person, Person.company_id == Company.id)
                                  .where(Company.issuer == "demo-history").order_by(Company.id)).all()
    if len(existing) >= n:
        return [(c, p, city or "Bremen") for c, p, city in existing[:n]]
    regions = [r for r, _ in REGIONS]
    shares = [s for _, s in REGIONS]
    for k in range(len(existing), n):
        region = rng.choices(regions, shares)[0]
        company = Company(issuer="demo-history", org_id=f"demo-history-{k}", name=f"Demo-Unternehmen {k}",
                          postcode={"Bremen": "28195", "Bremerhaven": "27568", "Hamburg": "20095"}[region],
                          city=region)
        db.session.add(company)
        db.session.flush()
        db.session.add(Person(issuer="demo-history", sub=f"demo-history-{k}", company_id=company.id,
                              name=f"Demo-Person {k}"))
    db.session.commit()
    return _companies(rng, n)


def _day_weights(now: datetime, days: int) -> tuple[list[datetime], list[float]]:
    starts = [now - timedelta(days=d) for d in range(days, 0, -1)]
    weights = [SEASON[s.month - 1] * (0.15 if s.weekday() >= 5 else 1.0) for s in starts]
    return starts, weights


def _chamber(chambers: dict[tuple[str, str], Chamber], kind: str, region: str) -> Chamber:
    return chambers.get((kind, region)) or chambers.get((kind, "Bremen")) or next(
        c for (k, _), c in chambers.items() if k == kind)


def _one(rng: random.Random, filing_id: int, now: datetime, day_weights: tuple[list[datetime], list[float]],
         catalog: dict[str, ServiceDefinition], services: list[str], weights: list[int],
         chambers: dict[tuple[str, str], Chamber], companies: list[tuple[int, int, str]], r: _Rollups,
         logins: set[tuple[int, Any]]) -> dict[str, Any]:
    key = rng.choices(services, weights)[0]
    service = catalog[key]
    company_id, person_id, region = companies[rng.randrange(len(companies))]
    day = rng.choices(*day_weights)[0]
    submitted = day.replace(hour=rng.randrange(7, 19), minute=rng.randrange(60), second=rng.randrange(60))
    if submitted > now:
        submitted = now - timedelta(minutes=rng.randrange(1, 600))
    answers = {rule.when.field: rule.when.equals if rng.random() < 0.4 else None
               for rule in service.routing if rule.when is not None}
    targets = [(_chamber(chambers, kind, region), role) for kind, role in service.destinations(answers)] or [
        (_chamber(chambers, service.routing[0].kind, region), "primary")]
    primary = next((c for c, role in targets if role == "primary"), targets[0][0])
    started = submitted - _lognormal(rng, 1800, 2.0)
    r.add(stats.DRAFT_STARTED, started, key)
    r.add(stats.SUBMITTED, submitted, key, primary.kind, primary.slug)
    if rng.random() < 0.8:
        r.add(stats.PREFILLED, submitted, key, primary.kind, primary.slug)
    logins.add((company_id, stats.local_day(started)))
    logins.add((company_id, stats.local_day(submitted)))
    events: list[dict[str, Any]] = [{"filing_id": filing_id, "kind": "submitted", "occurred_at": submitted}]
    deliveries: list[dict[str, Any]] = []
    primary_delivered: datetime | None = None
    all_out: datetime | None = submitted
    for chamber, role in targets:
        r.add(stats.ADDRESSED, submitted, key, chamber.kind, chamber.slug, "", role)
        roll = rng.random()
        attempts = 1 if roll < 0.93 else rng.randint(2, 6)
        dead = roll > 0.985
        at = submitted + (_lognormal(rng, 40, 0.8) if attempts == 1 else _lognormal(rng, 1800 * attempts, 1.0))
        delivered = not dead and at < now
        if delivered:
            r.add(stats.DELIVERED_FIRST if attempts == 1 else stats.DELIVERED_RETRIED, at, key, chamber.kind,
                  chamber.slug, chamber.adapter_key, role)
            r.time(stats.T_SUBMIT_DELIVERED, submitted, at, key, chamber.kind, chamber.slug)
            r.delivered_per_chamber[(chamber.slug, at.date())] += 1
            events.append({"filing_id": filing_id, "kind": "forwarded", "chamber_id": chamber.id, "occurred_at": at})
            all_out = max(all_out, at) if all_out else None
            if role == "primary":
                primary_delivered = at
        else:
            all_out = None
            if dead:
                r.add(stats.DELIVERY_DEAD, at, key, chamber.kind, chamber.slug, chamber.adapter_key, role)
        deliveries.append({"id": uuid.uuid4(), "filing_id": filing_id, "chamber_id": chamber.id, "role": role,
                           "state": "delivered" if delivered else ("dead" if dead else "pending"),
                           "attempts": attempts if (delivered or dead) else 0, "next_attempt_at": submitted,
                           "created_at": submitted, "delivered_at": at if delivered else None,
                           "last_error": "PermanentFailure: demo" if dead else None})
    status = "forwarded" if all_out else "submitted"
    primary_row = next(d for d in deliveries if d["chamber_id"] == primary.id)
    if primary_delivered is not None:
        status = _case_work(rng, filing_id, key, primary, primary_delivered, submitted, now, events, r, primary_row,
                            status)
    elif rng.random() < 0.03:
        withdrawn = submitted + _lognormal(rng, 3600, 1.0)
        if withdrawn < now:
            events.append({"filing_id": filing_id, "kind": "withdrawn", "occurred_at": withdrawn})
            r.add(stats.WITHDRAWN, withdrawn, key, primary.kind, primary.slug)
            status = "withdrawn"
            for d in deliveries:  # what was not sent is cancelled, as lifecycle.withdraw does
                if d["state"] == "pending":
                    d["state"] = "cancelled"
    filing = {"id": filing_id, "reference": f"BP-{submitted.year}-D{filing_id:07d}",
              "submit_token": f"demo-{filing_id}",
              "company_id": company_id, "person_id": person_id, "service_key": key, "data": {"demo": True},
              "company_snapshot": {"name": f"Demo-Unternehmen {company_id}"}, "status": status,
              "submitted_at": submitted}
    return {"filing": filing, "deliveries": deliveries, "events": events}


def _case_work(rng: random.Random, filing_id: int, key: str, primary: Chamber, delivered: datetime,
               submitted: datetime, now: datetime, events: list[dict[str, Any]], r: _Rollups,
               primary_row: dict[str, Any], status: str) -> str:
    at = delivered + _lognormal(rng, 6 * 3600, 1.2)
    if at >= now or rng.random() < 0.05:
        return status
    steps = ["received"] + (["in_progress"] if rng.random() < 0.7 else [])
    if rng.random() < 0.15:
        steps.append("information_requested")
    first = True
    for kind in steps:
        if at >= now:
            return status
        if first:
            r.time(stats.T_DELIVERED_ACTION, delivered, at, key, primary.kind, primary.slug)
            first = False
        events.append({"filing_id": filing_id, "kind": kind, "chamber_id": primary.id, "occurred_at": at})
        status = kind
        at += _lognormal(rng, 2 * 86400, 1.0)
    if rng.random() < 0.04:
        if at < now:
            events.append({"filing_id": filing_id, "kind": "withdrawn", "occurred_at": at})
            r.add(stats.WITHDRAWN, at, key, primary.kind, primary.slug)
            return "withdrawn"
        return status
    decided = at + _lognormal(rng, 5 * 86400, 1.0)
    if decided >= now or status == "information_requested" and rng.random() < 0.3:
        return status
    kind = "accepted" if rng.random() < 0.88 else "rejected"
    events.append({"filing_id": filing_id, "kind": kind, "chamber_id": primary.id, "occurred_at": decided,
                   "detail": "Demo" if kind == "rejected" else None})
    r.add(stats.DECIDED, decided, key, primary.kind, primary.slug, "", kind)
    r.time(stats.T_SUBMIT_DECISION, submitted, decided, key, primary.kind, primary.slug)
    primary_row["state"] = kind
    return kind


def _abandoned_drafts(rng: random.Random, filings: int, now: datetime, days: int,
                      catalog: dict[str, ServiceDefinition], services: list[str], weights: list[int],
                      r: _Rollups) -> None:
    """Drafts started and never submitted (about one for every three filings); each counts as
    abandoned 30 days after its start, at a step weighted towards the first ones. No draft rows
    are written: they would have been deleted by now."""
    for _ in range(filings // 3):
        key = rng.choices(services, weights)[0]
        started = now - timedelta(seconds=rng.randrange(days * 86400))
        r.add(stats.DRAFT_STARTED, started, key)
        abandoned = started + timedelta(days=30)
        if abandoned < now:
            steps = [s.key for s in catalog[key].steps] + [stats.REVIEW_STEP]
            step = rng.choices(steps, [1 / (k + 1) for k in range(len(steps))])[0]
            r.add(stats.DRAFT_ABANDONED, abandoned, key, "", "", "", step)


def _logins(logins: set[tuple[int, Any]], r: _Rollups) -> None:
    """One login on each day a company started or submitted something; each company active once
    per day, week and month."""
    seen: set[tuple[int, str, Any]] = set()
    for company_id, day in logins:
        r.keys[(stats.LOGINS, day, "", "", "", "", "")] += 1
        for kind, start in stats.periods(day):
            if (company_id, kind, start) not in seen:
                seen.add((company_id, kind, start))
                r.keys[(stats.ACTIVE_COMPANIES, start, "", "", "", "", kind)] += 1
