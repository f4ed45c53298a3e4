"""Reads for the staff inbox; every query is scoped to the staff member's chamber."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, func, literal, or_, select, tuple_
from sqlalchemy.orm import defer, joinedload

from ..auth.models import Person, StaffUser
from ..common.types import UTCDateTime
from ..delivery.models import Delivery
from ..extensions import db
from ..filings.models import Filing
from .models import CaseNote, InboxItem, InboxVisit

#: sort orders of the list: name → (column, newest/highest first); the id breaks ties the same way
SORTS: dict[str, tuple[Any, bool]] = {
    "neueste": (InboxItem.received_at, True),
    "aelteste": (InboxItem.received_at, False),
    "aktenzeichen": (InboxItem.reference, False),
    "unternehmen": (InboxItem.company_name_folded, False),
}
DEFAULT_SORT = "neueste"
PAGE_SIZE = 50
#: the list counts matching items up to this number, then says "more than"
COUNT_CAP = 1_000


@dataclass(frozen=True)
class InboxFilter:
    """What the list shows: every field empty means everything of the chamber.

    ``reference`` matches whole or as a beginning (upper case), ``company`` is contained in the
    name (casefolded), ``register`` is a register key (``common.validators.register_key``);
    ``received_from`` inclusive and ``received_before`` exclusive, in UTC; ``assignment`` "mir"
    (to ``staff_user_id``) or "niemand"; ``new_since`` limits to items received after it.
    """

    reference: str = ""
    company: str = ""
    register: str | None = None
    status: str = ""
    service_key: str = ""
    received_from: datetime | None = None
    received_before: datetime | None = None
    assignment: str = ""
    staff_user_id: int | None = None
    new_since: datetime | None = None
    sort: str = DEFAULT_SORT


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the sort value and id of a row (keyset pagination)."""

    sort: str
    value: Any
    id: int

    def token(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps([self.sort, value, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str, sort: str) -> Cursor:
        """The cursor in a "Weitere"/"Zurück" link; ValueError if it was not made for ``sort``."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            name, value, row_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError):
            raise ValueError("malformed cursor") from None
        if name != sort or name not in SORTS or not isinstance(row_id, int) or not isinstance(value, str):
            raise ValueError("cursor does not fit the sort order")
        if SORTS[name][0] is InboxItem.received_at:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("cursor time without zone")
            return cls(name, parsed, row_id)
        return cls(name, value, row_id)


@dataclass(frozen=True)
class Row:
    item: InboxItem
    #: the filing's current status (``filing.status``); None if the filing is gone
    status: str | None
    assigned_to: str | None
    #: who filed (``filed_by``'s shape) and every receiving body (``receivers``'s shape); read for the
    #: CSV export only, else None
    filed_by: dict[str, Any] | None = None
    receivers: list[dict[str, str]] | None = None


#: the columns of a list row (``list_page``), read as plain values, no ORM objects: the shown ones,
#: the sort keys (``SORTS``) and only the company's name out of the delivered company document
LIST_COLUMNS = (
    InboxItem.id, InboxItem.reference, InboxItem.service_key, InboxItem.service_title, InboxItem.destination_role,
    InboxItem.company["name"].as_string().label("company_name"), InboxItem.received_at,
    InboxItem.company_name_folded, Filing.status.label("status"),
    func.coalesce(StaffUser.name, StaffUser.sub).label("assigned_to"),
)


@dataclass(frozen=True)
class Page:
    #: SQLAlchemy ``Row``s with the attributes of ``LIST_COLUMNS`` (``id``, ``reference``, ``service_key``,
    #: ``service_title``, ``destination_role``, ``company_name``, ``received_at``, ``company_name_folded``,
    #: ``status``: the filing's current one, None if it is gone, ``assigned_to``: a name or None)
    rows: list[Any]
    #: cursors for "Weitere" (after the last row) and "Zurück" (before the first row), if there is more
    next: Cursor | None
    previous: Cursor | None
    #: how many items match, up to the cap + 1 (``count_matching``), when ``list_page`` was asked for it
    count: int | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _joined(query: Select, f: InboxFilter) -> Select:
    """``query`` over the chamber's items with their filing and assignee joined, filtered by ``f``
    (every value a bound parameter: ``_values``)."""
    return (query
            .outerjoin(Delivery, Delivery.id == InboxItem.delivery_id)
            .outerjoin(Filing, Filing.id == Delivery.filing_id)
            .outerjoin(StaffUser, StaffUser.id == InboxItem.assigned_to_id)
            .where(InboxItem.chamber_id == bindparam("chamber_id"), *_conditions(f)))


def _listing(f: InboxFilter) -> Select:  # (InboxItem, status, assignee name)
    return _joined(select(InboxItem, Filing.status, func.coalesce(StaffUser.name, StaffUser.sub))
                   .select_from(InboxItem), f)


def _conditions(f: InboxFilter) -> list[ColumnElement[bool]]:
    """The conditions of the filter's fields that are set, each value a bound parameter named after
    its field; ``_values`` gives them."""
    where: list[ColumnElement[bool]] = []
    if f.reference:
        where.append(InboxItem.reference.like(bindparam("reference"), escape="\\"))
    if f.company:
        where.append(InboxItem.company_name_folded.like(bindparam("company"), escape="\\"))
    if f.register:
        where.append(InboxItem.register_number == bindparam("register"))
    if f.status:
        where.append(Filing.status == bindparam("status"))
    if f.service_key:
        where.append(InboxItem.service_key == bindparam("service_key"))
    if f.received_from is not None:
        where.append(InboxItem.received_at >= bindparam("received_from"))
    if f.received_before is not None:
        where.append(InboxItem.received_at < bindparam("received_before"))
    if f.assignment == "mir":
        where.append(InboxItem.assigned_to_id == bindparam("staff_user_id"))
    elif f.assignment == "niemand":
        where.append(InboxItem.assigned_to_id.is_(None))
    if f.new_since is not None:
        where.append(InboxItem.received_at > bindparam("new_since"))
    return where


def _values(chamber_id: int, f: InboxFilter, cursor: Cursor | None = None) -> dict[str, Any]:
    """The bound parameters of the statements built from ``f`` (and of the position ``cursor``)."""
    return {"chamber_id": chamber_id, "reference": _escape_like(f.reference.upper()) + "%",
            "company": "%" + _escape_like(f.company.casefold()) + "%", "register": f.register,
            "status": f.status, "service_key": f.service_key, "received_from": f.received_from,
            "received_before": f.received_before, "staff_user_id": f.staff_user_id, "new_since": f.new_since,
            **({"cursor_value": cursor.value, "cursor_id": cursor.id} if cursor is not None else {})}


#: a stand-in for a time in ``_shape``
_SOME_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def _shape(f: InboxFilter) -> InboxFilter:
    """``f`` with a stand-in for each value: the statements built from it are those built from ``f``
    (which fields are set, the assignment chosen and the sort order decide them, the values are
    bound parameters), so one statement serves every filter of the same shape."""
    return InboxFilter(
        reference="x" if f.reference else "", company="x" if f.company else "", register="x" if f.register else None,
        status="x" if f.status else "", service_key="x" if f.service_key else "",
        received_from=_SOME_TIME if f.received_from is not None else None,
        received_before=_SOME_TIME if f.received_before is not None else None,
        assignment=f.assignment if f.assignment in ("mir", "niemand") else "",
        new_since=_SOME_TIME if f.new_since is not None else None, sort=f.sort)


def _ordered(query: Select, sort: str, backwards: bool = False) -> Select:
    column, descending = SORTS[sort]
    if descending != backwards:
        return query.order_by(column.desc(), InboxItem.id.desc())
    return query.order_by(column.asc(), InboxItem.id.asc())


def _beyond(sort: str, backwards: bool) -> ColumnElement[bool]:
    """Rows after the cursor (bound parameters ``cursor_value`` and ``cursor_id``) in the list's
    order ``sort`` (before it, ``backwards``): one row comparison, so PostgreSQL starts the index
    scan at the cursor."""
    column, descending = SORTS[sort]
    value = bindparam("cursor_value", type_=UTCDateTime() if column is InboxItem.received_at else column.type)
    key = tuple_(column, InboxItem.id)
    position = tuple_(value, bindparam("cursor_id", type_=InboxItem.id.type))
    return key < position if descending != backwards else key > position


def _cursor(sort: str, row: Any) -> Cursor:
    return Cursor(sort, getattr(row, SORTS[sort][0].key), row.id)


@lru_cache(maxsize=256)
def _page_statement(shape: InboxFilter, position: str, size: int, count_cap: int | None) -> Select:
    """The statement of a page of ``list_page`` for filters of ``shape`` (``_shape``): the first page,
    the page ``"after"`` or ``"before"`` a cursor; built once per shape (building it cost about as much
    CPU as running it)."""
    query = _joined(select(*LIST_COLUMNS).select_from(InboxItem), shape)
    if count_cap is not None:
        query = query.add_columns(_counting(shape, count_cap).scalar_subquery().label("matching"))
    if position == "before":
        return _ordered(query.where(_beyond(shape.sort, backwards=True)), shape.sort, backwards=True).limit(size + 1)
    if position == "after":
        query = query.where(_beyond(shape.sort, backwards=False))
    return _ordered(query, shape.sort).limit(size + 1)


def list_page(chamber_id: int, f: InboxFilter, after: Cursor | None = None, before: Cursor | None = None,
              size: int = PAGE_SIZE, count_cap: int | None = None) -> Page:
    """One page of the chamber's inbox in ``f.sort`` order: the first page, the page after
    ``after`` or the page before ``before``. Items arriving meanwhile never shift a page that is
    reached through a cursor (no offsets); the id breaks ties in every order.

    Only the columns a row shows (and the sort keys) are read, as plain values (``LIST_COLUMNS``):
    no ORM objects, not the delivered answers, files and bundle, and of the company document only
    its name. With ``count_cap``, the page's statement also counts the matching items as
    ``count_matching`` does (an uncorrelated subquery, evaluated once): one round trip less; a page
    without rows (past the end) counts by itself.
    """
    shape = _shape(f)
    total: list[int] = []

    def fetch(position: str, cursor: Cursor | None) -> list[Any]:
        statement = _page_statement(shape, position, size, count_cap)
        rows = list(db.session.execute(statement, _values(chamber_id, f, cursor)).all())
        if rows and count_cap is not None:
            total[:] = [rows[0].matching]
        return rows

    def page(rows: list[Any], next_: Cursor | None, previous: Cursor | None) -> Page:
        if count_cap is not None and not total:
            total.append(count_matching(chamber_id, f, count_cap))
        return Page(rows, next_, previous, total[0] if total else None)

    if before is not None:
        rows = fetch("before", before)
        if len(rows) > size:
            rows = rows[:size][::-1]
            return page(rows, _cursor(f.sort, rows[-1]), _cursor(f.sort, rows[0]))
        after = None  # back at the start: show the first page in full
    rows = fetch("after", after) if after is not None else fetch("first", None)
    more = len(rows) > size
    rows = rows[:size]
    return page(rows, _cursor(f.sort, rows[-1]) if more else None,
                _cursor(f.sort, rows[0]) if after is not None and rows else None)


def _counting(f: InboxFilter, cap: int) -> Select:
    """The count of ``count_matching`` as a statement (never correlated to an enclosing query)."""
    inner = (select(literal(1)).select_from(InboxItem)
             .where(InboxItem.chamber_id == bindparam("chamber_id"), *_conditions(f)))
    if f.status:
        inner = (inner.join(Delivery, Delivery.id == InboxItem.delivery_id)
                 .join(Filing, Filing.id == Delivery.filing_id))
    return select(func.count()).select_from(inner.correlate(None).limit(cap + 1).subquery()).correlate(None)


def count_matching(chamber_id: int, f: InboxFilter, cap: int = COUNT_CAP) -> int:
    """How many items match, counted up to ``cap + 1`` (an exact count of 100,000 rows with their
    filings joined would cost more than the page itself)."""
    return db.session.scalar(_counting(f, cap), _values(chamber_id, f)) or 0


def export_rows(chamber_id: int, f: InboxFilter, batch: int = 1000) -> Iterator[Row]:
    """Every item matching ``f`` in list order, fetched in batches (for the CSV export), each with who
    filed it and every body it went to (as ``filed_by`` and ``receivers`` give them; a filing made
    before receivers were recorded at submit costs one more query for its deliveries)."""
    query = (_listing(f)
             .add_columns(Filing.id, Filing.filed_by, Filing.receivers, Person.name, Person.email)
             .outerjoin(Person, Person.id == Filing.person_id))
    result = db.session.execute(_ordered(query, f.sort).execution_options(yield_per=batch), _values(chamber_id, f))
    row: Any
    for row in result:
        item, status, assigned, filing_id, recorded_filer, recorded_receivers, name, email = row
        filer: dict[str, Any] | None = None
        bodies: list[dict[str, str]] = []
        if filing_id is not None:
            filer = ({"name": recorded_filer.get("name"), "email": recorded_filer.get("email")}
                     if recorded_filer is not None else {"name": name, "email": email})
            bodies = ([dict(r) for r in recorded_receivers] if recorded_receivers is not None
                      else _delivered_to(filing_id))
        yield Row(item, status, assigned, filer, bodies)


def _delivered_to(filing_id: int) -> list[dict[str, str]]:
    """The receiving bodies of a filing made before they were recorded at submit, from its deliveries."""
    rows = db.session.execute(_delivered_to_statement(), {"filing_id": filing_id})
    return [{"role": row.role, "slug": row.slug, "name": row.name} for row in rows]


@cache
def _delivered_to_statement() -> Select:
    from ..bodies.models import Chamber

    return (select(Delivery.role, Chamber.slug, Chamber.name).join(Chamber, Chamber.id == Delivery.chamber_id)
            .where(Delivery.filing_id == bindparam("filing_id"), Delivery.message_id.is_(None))
            .order_by(Delivery.role != "primary", Delivery.created_at))


def new_since(staff_user_id: int, chamber_id: int) -> datetime | None:
    """Since when items count as new for this staff member (see ``services.record_visit``)."""
    return db.session.scalar(select(InboxVisit.new_since).where(InboxVisit.staff_user_id == staff_user_id,
                                                                 InboxVisit.chamber_id == chamber_id))


def chamber_item(chamber_id: int, item_id: int) -> InboxItem | None:
    """The item if it was delivered to this chamber, else None."""
    return db.session.scalar(
        select(InboxItem).where(InboxItem.id == item_id, InboxItem.chamber_id == chamber_id)
    )


@dataclass(frozen=True)
class CaseFile:
    """An inbox item of the chamber with what its page shows of it: the delivery that brought it and
    the portal's filing behind it (with the person who filed it and their company), or None where
    they are gone."""

    item: InboxItem
    delivery: Delivery | None
    filing: Filing | None
    #: whether there may be messages between the company and this chamber, internal notes, audit
    #: entries of this chamber on the filing: False when there were none as the item was read, so
    #: the page need not ask (``conversation``, ``notes``, ``staff_history``)
    has_messages: bool = True
    has_notes: bool = True
    has_history: bool = True


@cache
def _case_file_statement() -> Select:
    from ..audit.models import AuditEvent
    from ..filings.models import FilingMessage

    has_messages = (select(FilingMessage.id)
                    .where(FilingMessage.filing_id == Filing.id, FilingMessage.chamber_id == InboxItem.chamber_id)
                    .exists())
    has_notes = select(CaseNote.id).where(CaseNote.item_id == InboxItem.id).exists()
    has_history = (select(AuditEvent.id)
                   .where(AuditEvent.filing_id == Filing.id, AuditEvent.chamber_id == InboxItem.chamber_id).exists())
    # the filing's answers and company data as submitted are the item's (``InboxItem.data``,
    # ``.company``), which the page shows: the filing's copies are read only if something asks
    return (select(InboxItem, Delivery, Filing, has_messages, has_notes, has_history)
            .outerjoin(Delivery, Delivery.id == InboxItem.delivery_id)
            .outerjoin(Filing, Filing.id == Delivery.filing_id)
            .options(joinedload(Filing.person), defer(Filing.data), defer(Filing.company_snapshot),
                     defer(Filing.bundle_context), defer(Filing.submit_token))
            .where(InboxItem.id == bindparam("item_id"), InboxItem.chamber_id == bindparam("chamber_id")))


def case_file(chamber_id: int, item_id: int) -> CaseFile | None:
    """The item if it was delivered to this chamber, with its delivery, filing and the filing's
    person (and company) in one statement, and whether it has messages, notes and audit entries
    of this chamber; else None."""
    row = db.session.execute(_case_file_statement(), {"item_id": item_id, "chamber_id": chamber_id}).first()
    return None if row is None else CaseFile(row[0], row[1], row[2], bool(row[3]), bool(row[4]), bool(row[5]))


def attachment_by_ref(ref):
    """The stored attachment a delivered inbox item refers to (callers check the item first)."""
    from ..filings.models import Attachment

    return db.session.get(Attachment, ref)


def filed_by(filing: Filing | None) -> dict[str, Any] | None:
    """Who filed the filing, as the receiving body processes it: name, e-mail and the login's trust
    level as recorded at submit (``Filing.filed_by``); for a filing made before that was recorded,
    the person's name and e-mail as they read now. None without a filing."""
    if filing is None:
        return None
    recorded = filing.filed_by
    if recorded is not None:
        return {"name": recorded.get("name"), "email": recorded.get("email"),
                "trust_level": recorded.get("trust_level")}
    person = filing.person
    return {"name": person.name if person else None, "email": person.email if person else None,
            "trust_level": None}


def receivers(filing: Filing | None) -> list[dict[str, str]]:
    """Every body the filing went to, primary first ({"role", "slug", "name"}), as recorded at
    submit: a chamber learns who else received the same filing (e.g. the Gewerbeamt and the
    chamber that gets the copy), never what they did with it. For a filing made before they were
    recorded, as its deliveries name them (as ``filings.queries.filing_receivers``, one statement
    of plain values)."""
    if filing is None:
        return []
    return [dict(r) for r in filing.receivers] if filing.receivers is not None else _delivered_to(filing.id)


def filing_of(item: InboxItem):
    """The portal's filing behind an inbox item (for its current status and timeline)."""
    from ..delivery.models import Delivery
    from ..filings.models import Filing

    return db.session.scalar(select(Filing).join(Delivery, Delivery.filing_id == Filing.id)
                             .where(Delivery.id == item.delivery_id))


@cache
def _conversation_statement() -> Select:
    from ..filings.models import FilingMessage

    return (select(FilingMessage)
            .where(FilingMessage.filing_id == bindparam("filing_id"),
                   FilingMessage.chamber_id == bindparam("chamber_id"))
            # of the author only the name is shown, not their chamber or company (the message's chamber is)
            .options(joinedload(FilingMessage.staff).lazyload(StaffUser.chamber),
                     joinedload(FilingMessage.person).lazyload(Person.company), joinedload(FilingMessage.attachments))
            .order_by(FilingMessage.created_at, FilingMessage.id))


def conversation(filing_id: int, chamber_id: int):
    """The messages between the company and this chamber about a filing, oldest first, with what
    the conversation shows of each (as ``filings.queries.message_parts``: the author and the files),
    all joined: one statement (``message_parts`` reads the files with a second one)."""
    return list(db.session.scalars(_conversation_statement(),
                                   {"filing_id": filing_id, "chamber_id": chamber_id}).unique())


def message_attachment(chamber_id: int, filing_id: int, attachment_id: str):
    """A file of this chamber's conversation on this filing, else None."""
    from ..filings.models import Attachment, FilingMessage

    try:
        key = uuid.UUID(attachment_id)
    except ValueError:
        return None
    return db.session.scalar(
        select(Attachment).join(FilingMessage, FilingMessage.id == Attachment.message_id)
        .where(Attachment.id == key, FilingMessage.filing_id == filing_id, FilingMessage.chamber_id == chamber_id))


class Note(NamedTuple):
    """An internal note as the item's page shows it."""

    created_at: datetime
    author: str
    body: str


def notes(item_id: int) -> list[Note]:
    """The item's internal notes, oldest first, each with its author's name (one statement of
    plain values, no ORM objects)."""
    rows = db.session.execute(_notes_statement(), {"item_id": item_id})
    return [Note(row.created_at, row.name or row.sub, row.body) for row in rows]


@cache
def _notes_statement() -> Select:
    return (select(CaseNote.created_at, StaffUser.name, StaffUser.sub, CaseNote.body)
            .join(StaffUser, StaffUser.id == CaseNote.staff_id)
            .where(CaseNote.item_id == bindparam("item_id")).order_by(CaseNote.created_at, CaseNote.id))


class TimelineEntry(NamedTuple):
    """A step of the filing's timeline as the item's page shows it."""

    kind: str
    chamber_id: int | None
    #: the name of the body the step was taken by or for, None for the portal's own steps
    chamber_name: str | None
    occurred_at: datetime
    detail: str | None


def timeline(filing_id: int, chamber_id: int) -> list[TimelineEntry]:
    """The filing's timeline as this chamber sees it: the portal's own steps and this chamber's,
    oldest first (``Filing.events``' order), never another body's; one statement of plain values."""
    rows = db.session.execute(_timeline_statement(), {"filing_id": filing_id, "chamber_id": chamber_id})
    return [TimelineEntry._make(row) for row in rows]


@cache
def _timeline_statement() -> Select:
    from ..bodies.models import Chamber
    from ..filings.models import FilingEvent

    return (select(FilingEvent.kind, FilingEvent.chamber_id, Chamber.name, FilingEvent.occurred_at, FilingEvent.detail)
            .outerjoin(Chamber, Chamber.id == FilingEvent.chamber_id)
            .where(FilingEvent.filing_id == bindparam("filing_id"),
                   or_(FilingEvent.chamber_id.is_(None), FilingEvent.chamber_id == bindparam("chamber_id")))
            .order_by(FilingEvent.occurred_at, FilingEvent.id))


def noted(filing_id: int, chamber_id: int) -> bool:
    """Whether this chamber confirmed receipt of the filing already (a copy notes it once)."""
    from ..filings.models import FilingEvent
    from ..filings.states import FilingStatus

    return db.session.scalar(select(FilingEvent.id).where(
        FilingEvent.filing_id == filing_id, FilingEvent.chamber_id == chamber_id,
        FilingEvent.kind == FilingStatus.RECEIVED).limit(1)) is not None


def delivery_of(item: InboxItem):
    """The delivery that brought the item (state, attempts, times) for the delivery history."""
    from ..delivery.models import Delivery

    return db.session.get(Delivery, item.delivery_id)


def staff_history(filing_id: int, chamber_id: int, people: list[StaffMember] | None = None) -> list[tuple[Any, str]]:
    """The audit entries of this chamber's staff on the filing, newest first, with the person's name:
    rows with ``occurred_at``, ``action``, ``detail`` and ``outcome`` (no ORM objects). ``people`` is
    the chamber's staff (``chamber_people``) if the caller has it already. The chamber's own system
    through the API counts too (its steps and messages, not every call it made), named after its
    API client (joined, so the clients need no query of their own)."""
    staff = {f"staff:{s.id}": s.display_name for s in (chamber_people(chamber_id) if people is None else people)}
    rows = db.session.execute(_history_statement(),
                              {"filing_id": filing_id, "chamber_id": chamber_id, "actors": list(staff)})
    return [(e, staff[e.actor] if e.name is None else f"{e.name} (API)") for e in rows]


@cache
def _history_statement() -> Select:
    from ..api.models import ApiClient
    from ..audit.models import AuditEvent

    chamber_id: BindParameter[int] = bindparam("chamber_id")
    return (select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.detail, AuditEvent.outcome, AuditEvent.actor,
                   ApiClient.name)
            .outerjoin(ApiClient, and_(ApiClient.chamber_id == chamber_id,
                                       literal("api:") + ApiClient.client_id == AuditEvent.actor))
            .where(AuditEvent.filing_id == bindparam("filing_id"), AuditEvent.chamber_id == chamber_id,
                   or_(AuditEvent.actor.in_(bindparam("actors", expanding=True)),
                       and_(ApiClient.id.is_not(None), AuditEvent.action.not_in(("api.call", "api.token")))))
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(200))


def open_requests(chamber_id: int) -> list[tuple[Any, InboxItem]]:
    """This chamber's unanswered information requests on filings still waiting for the answer,
    soonest due first (no due date last), each with the inbox item to open."""
    from ..delivery.models import Delivery
    from ..filings.models import Filing, FilingMessage, MessageKind
    from ..filings.states import FilingStatus

    rows = db.session.execute(
        select(FilingMessage, InboxItem)
        .join(Filing, Filing.id == FilingMessage.filing_id)
        .join(Delivery, (Delivery.filing_id == FilingMessage.filing_id) & (Delivery.chamber_id == chamber_id)
              & Delivery.message_id.is_(None))
        .join(InboxItem, InboxItem.delivery_id == Delivery.id)
        .where(FilingMessage.chamber_id == chamber_id, FilingMessage.kind == MessageKind.REQUEST,
               FilingMessage.answered_at.is_(None), Filing.status == FilingStatus.INFORMATION_REQUESTED)
        .order_by(FilingMessage.due_on.is_(None), FilingMessage.due_on, FilingMessage.id).limit(500))
    return [(m, item) for m, item in rows]


class StaffMember(NamedTuple):
    """A staff user of a chamber, as the item's page names them (assign form, history)."""

    id: int
    name: str | None
    sub: str
    roles: list[str] | None

    @property
    def display_name(self) -> str:
        return self.name or self.sub  # as StaffUser.display_name


def chamber_people(chamber_id: int) -> list[StaffMember]:
    """Every staff user of the chamber (whatever their roles), in one statement of plain values."""
    rows = db.session.execute(_people_statement(), {"chamber_id": chamber_id})
    return [StaffMember._make(row) for row in rows]


@cache
def _people_statement() -> Select:
    return select(StaffUser.id, StaffUser.name, StaffUser.sub, StaffUser.roles).where(
        StaffUser.chamber_id == bindparam("chamber_id"))


def chamber_staff(chamber_id: int, people: list[StaffMember] | None = None) -> list[StaffMember]:
    """The chamber's staff who work the inbox (for assigning), by name; ``people`` is the chamber's
    staff (``chamber_people``) if the caller has it already."""
    people = chamber_people(chamber_id) if people is None else people
    return sorted((s for s in people if "chamber_staff" in (s.roles or [])), key=lambda s: s.display_name.lower())
