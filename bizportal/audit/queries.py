"""Reads for the audit page: filtered, newest first, one page at a time, with names for the ids.

Pages are keyset pages (``occurred_at`` descending, ``id`` as the tiebreaker): a cursor is the id
of the last (or first) entry shown, so a page stays the same while new entries arrive and deep
pages cost no more than the first. The names behind a page's ids are read with one query per
kind of id (persons, staff, filings, chambers, companies), never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, and_, cast, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..auth.models import Company, Person, StaffUser
from ..bodies.models import Chamber
from ..common.textmatch import contains_folded
from ..extensions import db
from ..filings.models import Filing
from .models import AuditEvent

_E = AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    """What the admin asked for; empty values filter nothing. Times are UTC, ``until`` exclusive."""

    action: str = ""
    outcome: str = ""
    #: a name, e-mail address or company name (any part), or an actor key such as ``staff:7``
    person: str = ""
    #: a filing reference (any part) or a part of the target text
    filing: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Actor:
    name: str
    email: str | None
    #: the staff member's chamber or the person's company
    organisation: str | None


@dataclass(frozen=True)
class Entry:
    """An audit event with the names behind its ids (None where there is nothing to name)."""

    event: AuditEvent
    actor: Actor | None
    filing_reference: str | None
    chamber_name: str | None
    #: the target with a named chamber or company in place of its key
    target_name: str | None


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    #: cursor for the next older page, None on the last page
    older: int | None
    #: cursor for the next newer page, None on the newest page
    newer: int | None


def day_bounds(first: date | None, last: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """The UTC instants from the start of ``first`` to the end of ``last``, both days in ``zone``."""
    tz = ZoneInfo(zone)
    since = datetime.combine(first, time.min, tz).astimezone(UTC) if first else None
    until = datetime.combine(last + timedelta(days=1), time.min, tz).astimezone(UTC) if last else None
    return since, until


def _actor_key(prefix: str, id_column) -> ColumnElement[str]:
    return literal(prefix, String) + cast(id_column, String)


def _conditions(flt: AuditFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.action:
        where.append(_E.action == flt.action)
    if flt.outcome:
        where.append(_E.outcome == flt.outcome)
    if flt.since:
        where.append(_E.occurred_at >= flt.since)
    if flt.until:
        where.append(_E.occurred_at < flt.until)
    if flt.person:
        q = flt.person.strip()
        staff = select(_actor_key("staff:", StaffUser.id)).where(or_(
            contains_folded(StaffUser.name, q), contains_folded(StaffUser.email, q), StaffUser.sub == q))
        persons = select(_actor_key("company:", Person.id)).join(Company, Company.id == Person.company_id).where(or_(
            contains_folded(Person.name, q), contains_folded(Person.email, q), contains_folded(Company.name, q)))
        where.append(or_(_E.actor == q, _E.actor.in_(staff), _E.actor.in_(persons)))
    if flt.filing:
        q = flt.filing.strip()
        filings = select(Filing.id).where(contains_folded(Filing.reference, q))
        where.append(or_(_E.filing_id.in_(filings), contains_folded(_E.target, q)))
    return where


def _older_than(anchor: AuditEvent) -> ColumnElement[bool]:
    return or_(_E.occurred_at < anchor.occurred_at, and_(_E.occurred_at == anchor.occurred_at, _E.id < anchor.id))


def _newer_than(anchor: AuditEvent) -> ColumnElement[bool]:
    return or_(_E.occurred_at > anchor.occurred_at, and_(_E.occurred_at == anchor.occurred_at, _E.id > anchor.id))


def _exists(stmt: Select) -> bool:
    return db.session.scalar(stmt.with_only_columns(_E.id).limit(1)) is not None


def page(flt: AuditFilter, size: int, before: int | None = None, after: int | None = None) -> Page:
    """One page of matching entries, newest first: the newest ones, those older than the entry
    ``before`` or those newer than the entry ``after`` (an unknown cursor gives the newest page)."""
    base = select(_E).where(*_conditions(flt))
    newest_first = (_E.occurred_at.desc(), _E.id.desc())
    anchor = db.session.get(AuditEvent, before or after) if (before or after) else None
    if anchor is not None and after:
        rows = list(db.session.scalars(base.where(_newer_than(anchor))
                                       .order_by(_E.occurred_at.asc(), _E.id.asc()).limit(size)))
        rows.reverse()
        if len(rows) < size:  # close to the newest: show a full newest page instead
            anchor, rows = None, []
    if anchor is None:
        rows = list(db.session.scalars(base.order_by(*newest_first).limit(size)))
    elif before:
        rows = list(db.session.scalars(base.where(_older_than(anchor)).order_by(*newest_first).limit(size)))
    older = rows[-1].id if rows and _exists(base.where(_older_than(rows[-1]))) else None
    newer = rows[0].id if rows and _exists(base.where(_newer_than(rows[0]))) else None
    return Page(entries=_named(rows), older=older, newer=newer)


def _ids(values: Iterable[str | None], prefix: str) -> set[int]:
    found = set()
    for value in values:
        if value and value.startswith(prefix) and value[len(prefix):].isdigit():
            found.add(int(value[len(prefix):]))
    return found


def _named(events: list[AuditEvent]) -> list[Entry]:
    """The entries with the names behind their ids, read with one query per kind of id."""
    staff_ids = _ids((e.actor for e in events), "staff:")
    person_ids = _ids((e.actor for e in events), "company:")
    company_ids = _ids((e.target for e in events), "company:")
    filing_ids = {e.filing_id for e in events if e.filing_id is not None}
    chamber_ids = {e.chamber_id for e in events if e.chamber_id is not None}
    chamber_slugs = {e.target.removeprefix("chamber:") for e in events if e.target and e.target.startswith("chamber:")}

    api_ids = {e.actor[4:] for e in events if e.actor and e.actor.startswith("api:")}

    actors: dict[str, Actor] = {}
    if api_ids:
        from ..api.models import ApiClient

        for c in db.session.scalars(select(ApiClient).where(ApiClient.client_id.in_(api_ids))):
            actors[c.audit_id] = Actor(f"{c.name} (API)", None, c.chamber.name if c.chamber else None)
    if staff_ids:
        for s in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(staff_ids))):
            actors[s.get_id()] = Actor(s.display_name, s.email, s.chamber.name if s.chamber else None)
    if person_ids:
        for p in db.session.scalars(select(Person).where(Person.id.in_(person_ids))):
            actors[p.get_id()] = Actor(p.name or p.sub, p.email, p.company.name)
    references: dict[int, str] = {}
    if filing_ids:
        references = {fid: ref for fid, ref in db.session.execute(
            select(Filing.id, Filing.reference).where(Filing.id.in_(filing_ids)))}
    chambers_by_id: dict[int, str] = {}
    chambers_by_slug: dict[str, str] = {}
    if chamber_ids or chamber_slugs:
        for cid, slug, name in db.session.execute(select(Chamber.id, Chamber.slug, Chamber.name).where(
                or_(Chamber.id.in_(chamber_ids), Chamber.slug.in_(chamber_slugs)))):
            chambers_by_id[cid], chambers_by_slug[slug] = name, name
    companies: dict[int, str] = {}
    if company_ids:
        companies = {cid: name for cid, name in db.session.execute(
            select(Company.id, Company.name).where(Company.id.in_(company_ids)))}

    def target_name(target: str | None) -> str | None:
        if target and target.startswith("chamber:"):
            return chambers_by_slug.get(target.removeprefix("chamber:"), target)
        if target and target.startswith("company:") and target[8:].isdigit():
            return companies.get(int(target[8:]), target)
        return target

    return [Entry(event=e, actor=actors.get(e.actor),
                  filing_reference=references.get(e.filing_id) if e.filing_id is not None else None,
                  chamber_name=chambers_by_id.get(e.chamber_id) if e.chamber_id is not None else None,
                  target_name=target_name(e.target))
            for e in events]
