"""Read-only queries for a company's drafts and filings. Every query is scoped to the company, except
``message_sent``, which its callers ask about a filing they have checked access to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import BindParameter, Row, Text, and_, bindparam, cast, exists, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..extensions import db
from .models import Attachment, Draft, Filing, FilingBundle, FilingMessage, FilingReceipt

#: filings on one page of "Meine Anträge"
FILINGS_PAGE = 25

#: the columns of a row of "Meine Anträge" (``company_filings``)
_LISTED = Filing.__table__.c


@cache
def message_parts() -> tuple:
    """What a conversation shows of each message — its author (joined) and its files (one query
    for all) — as loader options, so they come with the messages, not one query per message.
    (A function: building options configures the mappers, which must wait for every model; built
    once, as options are immutable and can be shared by statements.)"""
    return (joinedload(FilingMessage.staff), joinedload(FilingMessage.person),
            selectinload(FilingMessage.attachments))


@cache
def page_parts() -> tuple:
    """What the filing's page shows besides the filing, its files and conversation
    (``company_filing``): its bodies, timeline and its receipt's fingerprint (joined; the PDF
    itself is not read for the page). The deliveries (one or two a filing, each with its body) and
    the timeline are joined too: a round trip less each, for rows of deliveries times timeline
    entries (a filing has one or two deliveries and a handful of entries). Built once (see
    ``message_parts``)."""
    return (joinedload(Filing.receipt).defer(FilingReceipt.content), joinedload(Filing.deliveries),
            joinedload(Filing.events))


#: whether the filing (the page's statement's) has files of its own, and messages
_HAS_FILES = (exists().where(Attachment.__table__.c.filing_id == _LISTED.id).correlate(Filing.__table__)
              .label("has_files"))
_HAS_MESSAGES = (exists().where(FilingMessage.__table__.c.filing_id == _LISTED.id).correlate(Filing.__table__)
                 .label("has_messages"))


#: The statements below are built once (per variant) with bind parameters: one built anew for every
#: request costs more CPU than the database takes to answer it, as SQLAlchemy computes its cache key
#: each time (as ``auth.services.load_user``'s).


@cache
def _filings_page(paged: bool, limit: int):
    """``company_filings``' statement: parameters ``company_id`` and, ``paged``, ``after``."""
    company: BindParameter[int] = bindparam("company_id")
    query = (select(_LISTED.id, _LISTED.reference, _LISTED.service_key, _LISTED.status, _LISTED.submitted_at,
                    cast(_LISTED.data, Text).label("data_text"))
             .where(_LISTED.company_id == company))
    if paged:  # the anchor within the same statement; not the company's (NULL): the first page
        after: BindParameter[int] = bindparam("after")
        anchor = select(_LISTED.submitted_at).where(_LISTED.id == after, _LISTED.company_id == company) \
            .scalar_subquery()
        query = query.where(or_(anchor.is_(None), _LISTED.submitted_at < anchor,
                                and_(_LISTED.submitted_at == anchor, _LISTED.id < after)))
    return query.order_by(_LISTED.submitted_at.desc(), _LISTED.id.desc()).limit(limit + 1)


def company_filings(company_id: int, after: int | None = None, limit: int = FILINGS_PAGE) -> tuple[list[Row], bool]:
    """One page of the company's filings, newest first, and whether older ones follow; one statement.

    ``after``: the id of the last filing of the previous page (a filing of another company, or
    none, gives the first page). The page costs the same however many filings the company has
    (index ``ix_filing_company_submitted``). Each row is a tuple of what a row of the list shows —
    ``id``, ``reference``, ``service_key``, ``status``, ``submitted_at`` and ``data_text``, the
    answers as the stored JSON text (decoded only for a row not rendered before, see
    ``listing.filing_rows``) — read with SQLAlchemy Core: no ORM objects, nothing else of the
    filing (company snapshot, receivers, bundle context, relationships) is read.
    """
    params = {"company_id": company_id} if after is None else {"company_id": company_id, "after": after}
    rows = list(db.session.execute(_filings_page(after is not None, limit), params))
    return rows[:limit], len(rows) > limit


@cache
def _drafts_of_company():
    return (select(Draft).where(Draft.company_id == bindparam("company_id")).options(joinedload(Draft.updated_by))
            .order_by(Draft.updated_at.desc()))


def company_drafts(company_id: int) -> list[Draft]:
    """The company's drafts, last edited first, with the person who edited each (one query for all)."""
    return list(db.session.scalars(_drafts_of_company(), {"company_id": company_id}))


@cache
def _filing_of_company(page: bool):
    query = select(Filing).where(Filing.reference == bindparam("reference"),
                                 Filing.company_id == bindparam("company_id"))
    return query.add_columns(_HAS_FILES, _HAS_MESSAGES).options(*page_parts()) if page else query


def company_filing(company_id: int, reference: str, page: bool = False) -> Filing | None:
    """The filing if it belongs to the company, else None (a foreign filing looks like a missing one).

    ``page``: with everything its page shows — ``page_parts`` in the filing's statement, which also
    tells whether the filing has files and messages; its files (one statement) and its messages
    with their authors and files (``message_parts``: one statement, and one for the messages'
    files) are read only when there are any, else set empty without asking.
    """
    params = {"reference": reference, "company_id": company_id}
    if not page:
        return db.session.scalar(_filing_of_company(False), params)
    # every row (one per delivery and timeline entry) makes the one filing; unique() as for any
    # joined collection
    row = db.session.execute(_filing_of_company(True), params).unique().one_or_none()
    if row is None:
        return None
    filing: Filing = row[0]
    has_files, has_messages = row[1], row[2]
    set_committed_value(filing, "attachments", list(db.session.scalars(
        select(Attachment).where(Attachment.filing_id == filing.id).order_by(Attachment.created_at)))
        if has_files else [])
    set_committed_value(filing, "messages", list(db.session.scalars(
        select(FilingMessage).where(FilingMessage.filing_id == filing.id)
        .order_by(FilingMessage.created_at, FilingMessage.id).options(*message_parts())).unique())
        if has_messages else [])
    return filing


@dataclass(frozen=True)
class ListedBundle:
    """A submitted bundle as "Meine Anträge" lists it."""

    reference: str
    bundle_key: str
    submitted_at: datetime
    #: the references of its filings, in the order they were made
    filings: list[str]


_b, _f = FilingBundle.__table__.c, Filing.__table__.c
_BUNDLES_OF_COMPANY = (
    select(_b.id, _b.reference, _b.bundle_key, _b.submitted_at, _f.reference.label("filing"))
    .select_from(FilingBundle.__table__.outerjoin(Filing.__table__, _f.bundle_id == _b.id))
    .where(_b.company_id == bindparam("company_id")).order_by(_b.submitted_at.desc(), _b.id.desc(), _f.id))


def company_bundles(company_id: int) -> list[ListedBundle]:
    """The company's submitted bundles, newest first, with their filings' references: one statement
    (the bundles joined to their filings, Core rows; not the receipt PDF or anything else)."""
    rows = db.session.execute(_BUNDLES_OF_COMPANY, {"company_id": company_id})
    listed: dict[int, ListedBundle] = {}
    for row in rows:
        bundle = listed.get(row.id)
        if bundle is None:
            bundle = listed[row.id] = ListedBundle(row.reference, row.bundle_key, row.submitted_at, [])
        if row.filing is not None:
            bundle.filings.append(row.filing)
    return list(listed.values())


def company_bundle(company_id: int, reference: str) -> FilingBundle | None:
    """The submitted bundle if it belongs to the company, with its filings (else None)."""
    return db.session.scalar(
        select(FilingBundle).where(FilingBundle.reference == reference, FilingBundle.company_id == company_id)
        .options(selectinload(FilingBundle.filings).selectinload(Filing.deliveries))
    )


def company_attachment(company_id: int, attachment_id: str) -> Attachment | None:
    try:
        key = uuid.UUID(attachment_id)
    except ValueError:
        return None
    return db.session.scalar(select(Attachment).where(Attachment.id == key, Attachment.company_id == company_id))


def primary_chamber(filing: Filing):
    """The body that works and decides the filing (whom a message without a request goes to)."""
    return next((d.chamber for d in filing.deliveries if d.role == "primary"), None)


def message_sent(filing_id: int, form_token: str | None) -> bool:
    """Whether a message of the filing was sent with this one-time form token (None: never)."""
    if not form_token:
        return False
    found = db.session.scalar(select(FilingMessage.id).where(FilingMessage.filing_id == filing_id,
                                                             FilingMessage.form_token == form_token).limit(1))
    return found is not None


def filing_receivers(filing: Filing) -> list[dict[str, str]]:
    """The receiving bodies of the filing, primary first: [{"role", "slug", "name"}] as recorded at
    submit, or — for filings made before that was recorded — as their deliveries name them."""
    if filing.receivers is not None:
        return [dict(r) for r in filing.receivers]
    ordered = sorted(filing.deliveries, key=lambda d: d.role != "primary")
    return [{"role": d.role, "slug": d.chamber.slug, "name": d.chamber.name} for d in ordered]
