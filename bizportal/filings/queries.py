"""Read-only queries for a company's drafts and filings. Every query is scoped to the company, except
``message_sent``, which its callers ask about a filing they have checked access to."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload, load_only, raiseload, selectinload

from ..extensions import db
from .models import Attachment, Draft, Filing, FilingBundle, FilingMessage, FilingReceipt

#: filings on one page of "Meine Anträge"
FILINGS_PAGE = 25


def message_parts() -> tuple:
    """What a conversation shows of each message — its author (joined) and its files (one query
    for all) — as loader options, so they come with the messages, not one query per message.
    (A function: building options configures the mappers, which must wait for every model.)"""
    return (joinedload(FilingMessage.staff), joinedload(FilingMessage.person),
            selectinload(FilingMessage.attachments))


def page_parts() -> tuple:
    """What the filing's page shows besides the filing: its bodies, timeline, files and conversation,
    and its receipt's fingerprint (joined; the PDF itself is not read for the page). The deliveries
    (one or two a filing, each with its body) are joined too: a round trip less for a second
    row of the filing at most."""
    return (joinedload(Filing.receipt).defer(FilingReceipt.content), joinedload(Filing.deliveries),
            selectinload(Filing.events), selectinload(Filing.attachments),
            selectinload(Filing.messages).options(*message_parts()))


def list_parts() -> tuple:
    """What a row of "Meine Anträge" shows of a filing: reference, service and its distinguishing
    answers, date and status (the id for the next page's anchor)."""
    return (load_only(Filing.id, Filing.reference, Filing.service_key, Filing.data, Filing.status,
                      Filing.submitted_at, raiseload=True), raiseload("*"))


def company_filings(company_id: int, after: int | None = None, limit: int = FILINGS_PAGE) -> tuple[list[Filing], bool]:
    """One page of the company's filings, newest first, and whether older ones follow.

    ``after``: the id of the last filing of the previous page (a filing of another company, or
    none, gives the first page). The page costs the same however many filings the company has
    (index ``ix_filing_company_submitted``). Only the columns a row of the list shows are read
    (the company snapshot, receivers and bundle context are not decoded for it), and neither
    they nor any relationship can be loaded later, one statement per row: that raises instead.
    """
    query = select(Filing).where(Filing.company_id == company_id)
    anchor = db.session.scalar(select(Filing.submitted_at).where(Filing.id == after, Filing.company_id == company_id)) \
        if after is not None else None
    if anchor is not None:
        query = query.where(or_(Filing.submitted_at < anchor, and_(Filing.submitted_at == anchor, Filing.id < after)))
    rows = list(db.session.scalars(query.options(*list_parts())
                                   .order_by(Filing.submitted_at.desc(), Filing.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def company_drafts(company_id: int) -> list[Draft]:
    """The company's drafts, last edited first, with the person who edited each (one query for all)."""
    return list(db.session.scalars(
        select(Draft).where(Draft.company_id == company_id).options(joinedload(Draft.updated_by))
        .order_by(Draft.updated_at.desc())
    ))


def company_filing(company_id: int, reference: str, page: bool = False) -> Filing | None:
    """The filing if it belongs to the company, else None (a foreign filing looks like a missing one).
    ``page``: with everything its page shows (``page_parts``)."""
    query = select(Filing).where(Filing.reference == reference, Filing.company_id == company_id)
    if not page:
        return db.session.scalar(query)
    # every row (one per delivery) makes the one filing; unique() as for any joined collection
    return db.session.execute(query.options(*page_parts())).unique().scalar_one_or_none()


def company_bundles(company_id: int) -> list[FilingBundle]:
    """The company's submitted bundles, newest first, with their filings."""
    return list(db.session.scalars(
        select(FilingBundle).where(FilingBundle.company_id == company_id)
        .options(selectinload(FilingBundle.filings)).order_by(FilingBundle.submitted_at.desc())))


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
