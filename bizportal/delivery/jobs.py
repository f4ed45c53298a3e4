"""The job → payload mapping: what one send needs, read as plain data, and the adapter's payload.

A ``Job`` is read in the claim's transaction (``pg.CLAIM`` on PostgreSQL, ``read_jobs``
elsewhere), so no ORM object outlives the transaction and no database work happens during a send.
Delivery reads the filing and attachment tables here and nowhere writes them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from chambers.base import (
    XGEWERBEANZEIGE,
    ActingPerson,
    Attachment,
    Document,
    FilingPayload,
    MessagePayload,
    PermanentFailure,
    Progress,
    Receiver,
)

from ..auth.models import Person
from ..bodies.models import Chamber
from ..catalog.models import ServiceDefinition
from ..extensions import db, table_of
from ..filings import xgewerbeanzeige
from ..filings.models import Attachment as FilingAttachment
from ..filings.models import Filing, FilingMessage
from .models import Delivery

log = logging.getLogger(__name__)

_D, _F, _C, _A = table_of(Delivery), table_of(Filing), table_of(Chamber), table_of(FilingAttachment)
_M, _P = table_of(FilingMessage), table_of(Person)


#: a body as an XGewerbeanzeige message names it: slug, name, Behördenkennung prefix and id (None, None
#: when the administrator has not entered one)
Body = tuple[str, str, str | None, str | None]


@dataclass(frozen=True)
class Target:
    """What a send needs of the receiving body."""

    chamber_id: int
    slug: str
    adapter_key: str
    options: dict[str, Any]
    name: str = ""  #: the body's name (the reader of an XGewerbeanzeige message)
    #: the body's Behördenkennung (``Chamber.authority_prefix`` / ``authority_id``; None: not entered)
    authority_prefix: str | None = None
    authority_id: str | None = None


@dataclass(frozen=True)
class Job:
    """What one send needs, read as plain data in the claim's transaction."""

    delivery_id: uuid.UUID
    attempts: int
    filing_id: int
    role: str
    reference: str
    service_key: str
    company: dict[str, Any]
    submitted_at: datetime
    data: dict[str, Any]
    target: Target
    attachments: tuple[Any, ...] = ()  #: rows (id, original_name, media_type, size, sha256, storage_key, field_name)
    timeouts: int = 0  #: earlier attempts without an answer in time: they choose this attempt's answer timeout
    holder: str = ""  #: the worker that claimed this send (``locked_by``); only it may record progress
    progress: dict[str, Any] | None = None  #: what the adapter recorded on an earlier attempt
    message_id: int | None = None  #: the row carries this company message about the filing, …
    message: MessageJob | None = None  #: … and this is what its send needs (``None``: unreadable)
    #: the filing's primary receiving body (slug, name, authority prefix, authority id): the author of
    #: its XGewerbeanzeige message
    primary: Body | None = None
    #: who filed and how they logged in, as recorded at submit (``Filing.filed_by``; None before)
    filed_by: dict[str, Any] | None = None
    #: the filing's receiving bodies as recorded at submit (``Filing.receivers``; None before)
    receivers: tuple[dict[str, Any], ...] | None = None
    #: the web request that opened the delivery (``Delivery.request_id``): the send's log lines carry it
    request_id: str | None = None
    #: the bundle the filing was submitted with, as recorded at submit (``Filing.bundle_context``)
    bundle: dict[str, Any] | None = None


@dataclass(frozen=True)
class MessageJob:
    """What the send of a company's message needs beyond its filing's job."""

    message_id: int
    kind: str  #: "answer" (to a request) or "message"
    body: str
    sent_at: datetime
    author: dict[str, Any]
    in_reply_to: dict[str, Any] | None
    filing_delivery_id: uuid.UUID  #: how the body knows the filing: the delivery it came with
    filing_receiver_ref: str | None
    attachments: tuple[Any, ...] = ()  #: rows as in ``Job.attachments``


def attachments_of(filing_ids: Iterable[int]) -> dict[int, list[Any]]:
    """The attachment rows of the filings, oldest first, by filing id (one query)."""
    ids = set(filing_ids)
    found: dict[int, list[Any]] = {}
    if not ids:
        return found
    for a in db.session.execute(
        select(_A.c.filing_id, _A.c.id, _A.c.original_name, _A.c.media_type, _A.c.size, _A.c.sha256,
               _A.c.storage_key, _A.c.field_name)
        .where(_A.c.filing_id.in_(ids))
        .order_by(_A.c.filing_id, _A.c.created_at)
    ):
        found.setdefault(a.filing_id, []).append(a)
    return found


def messages_of(rows: Iterable[Any]) -> dict[uuid.UUID, MessageJob]:
    """The message parts of claimed rows that carry a company message, by delivery id (three
    queries for any number; none if no row carries a message)."""
    wanted = {r.id: r for r in rows if r.message_id is not None}
    if not wanted:
        return {}
    ids = {r.message_id for r in wanted.values()}
    request, filing_row = aliased(_M), aliased(_D)
    found = {m.id: m for m in db.session.execute(
        select(_M.c.id, _M.c.body, _M.c.created_at, _M.c.filing_id, _M.c.chamber_id,
               _P.c.name.label("person_name"), _P.c.email.label("person_email"),
               request.c.id.label("request_id"), request.c.body.label("request_body"),
               request.c.created_at.label("request_at"), request.c.due_on.label("request_due_on"),
               filing_row.c.id.label("filing_delivery_id"), filing_row.c.receiver_ref.label("filing_receiver_ref"))
        .select_from(_M)
        .outerjoin(_P, _P.c.id == _M.c.person_id)
        .outerjoin(request, request.c.id == _M.c.reply_to_id)
        .join(filing_row, (filing_row.c.filing_id == _M.c.filing_id) & (filing_row.c.chamber_id == _M.c.chamber_id)
              & filing_row.c.message_id.is_(None))
        .where(_M.c.id.in_(ids)))}
    files: dict[int, list[Any]] = {}
    for a in db.session.execute(
        select(_A.c.message_id, _A.c.id, _A.c.original_name, _A.c.media_type, _A.c.size, _A.c.sha256,
               _A.c.storage_key, _A.c.field_name)
        .where(_A.c.message_id.in_(ids)).order_by(_A.c.message_id, _A.c.created_at)
    ):
        files.setdefault(a.message_id, []).append(a)
    jobs: dict[uuid.UUID, MessageJob] = {}
    for delivery_id, r in wanted.items():
        m = found.get(r.message_id)
        if m is None:  # no delivery of the filing to this body: nothing to refer to (never made so)
            continue
        reply = None if m.request_id is None else {
            "id": str(m.request_id), "body": m.request_body, "sent_at": m.request_at,
            "due_on": m.request_due_on.isoformat() if m.request_due_on else None}
        jobs[delivery_id] = MessageJob(
            m.id, "answer" if m.request_id is not None else "message", m.body, m.created_at,
            {k: v for k, v in (("name", m.person_name), ("email", m.person_email)) if v},
            reply, m.filing_delivery_id, m.filing_receiver_ref, tuple(files.get(m.id, ())))
    return jobs


def job_from_row(r: Any, files: Mapping[int, list[Any]], messages: Mapping[uuid.UUID, MessageJob]) -> Job:
    """A job from a row of the claim statement or of ``read_jobs``."""
    return Job(r.id, r.attempts, r.filing_id, r.role, r.reference, r.service_key, r.company_snapshot,
               r.submitted_at, r.data,
               Target(r.chamber_id, r.slug, r.adapter_key, dict(r.options or {}), r.chamber_name,
                      r.authority_prefix, r.authority_id),
               () if r.message_id is not None else tuple(files.get(r.filing_id, ())), r.timeouts,
               r.locked_by or "", r.progress, r.message_id, messages.get(r.id),
               (r.primary_slug, r.primary_name, r.primary_authority_prefix, r.primary_authority_id)
               if r.primary_slug is not None else None,
               r.filed_by, tuple(r.receivers) if r.receivers is not None else None, r.request_id,
               r.bundle_context)


def read_jobs(ids: list[uuid.UUID]) -> dict[uuid.UUID, Job]:
    """The jobs of claimed deliveries, read in the current transaction (two queries for any number)."""
    primary_delivery, primary_body = aliased(_D), aliased(_C)
    primary = (primary_delivery.c.filing_id == _F.c.id) & (primary_delivery.c.role == "primary") & \
        primary_delivery.c.message_id.is_(None)
    rows = db.session.execute(
        select(_D.c.id, _D.c.attempts, _D.c.timeouts, _D.c.role, _D.c.filing_id, _D.c.locked_by, _D.c.progress,
               _D.c.message_id, _D.c.request_id, _F.c.reference, _F.c.service_key,
               _F.c.company_snapshot, _F.c.submitted_at, _F.c.data, _F.c.filed_by, _F.c.receivers,
               _F.c.bundle_context,
               _C.c.id.label("chamber_id"), _C.c.slug,
               _C.c.adapter_key, _C.c.options, _C.c.name.label("chamber_name"), _C.c.authority_prefix,
               _C.c.authority_id, primary_body.c.slug.label("primary_slug"),
               primary_body.c.name.label("primary_name"),
               primary_body.c.authority_prefix.label("primary_authority_prefix"),
               primary_body.c.authority_id.label("primary_authority_id"))
        .select_from(_D.join(_F, _F.c.id == _D.c.filing_id).join(_C, _C.c.id == _D.c.chamber_id)
                     .outerjoin(primary_delivery, primary)
                     .outerjoin(primary_body, primary_body.c.id == primary_delivery.c.chamber_id))
        .where(_D.c.id.in_(ids))
    ).all()
    files = attachments_of(r.filing_id for r in rows if r.message_id is None)
    messages = messages_of(rows)
    return {r.id: job_from_row(r, files, messages) for r in rows}


def _files(rows: Iterable[Any], storage: Any) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(filename=a.original_name, media_type=a.media_type, size=a.size, sha256=a.sha256,
                   content=storage.read(a.storage_key) if storage is not None else b"", ref=str(a.id),
                   field=a.field_name)
        for a in rows
    )


def message_payload(job: Job, catalog: Mapping[str, ServiceDefinition], storage: Any,
                    progress: Progress | None = None) -> MessagePayload:
    """Plain data for the adapter's ``deliver_message``; file contents are read from storage here."""
    message = job.message
    if message is None:
        raise ValueError(f"delivery {job.delivery_id} carries no message")
    service = catalog.get(job.service_key)
    return MessagePayload(
        delivery_id=job.delivery_id,
        message_id=str(message.message_id),
        kind=message.kind,
        reference=job.reference,
        filing_delivery_id=message.filing_delivery_id,
        filing_receiver_ref=message.filing_receiver_ref,
        service_key=job.service_key,
        service_title=service.title.de if service else job.service_key,
        leika=service.leika if service else None,
        company=dict(job.company),
        author=dict(message.author),
        sent_at=message.sent_at,
        body=message.body,
        in_reply_to=message.in_reply_to,
        destination_role=job.role,
        destination=job.target.slug,
        attachments=_files(message.attachments, storage),
        progress=progress if progress is not None else Progress(job.progress),
    )


def payload(job: Job, catalog: Mapping[str, ServiceDefinition], storage: Any,
            progress: Progress | None = None) -> FilingPayload:
    """Plain data for the adapter; attachment contents are read from storage here. ``progress``:
    where the adapter finds and records its progress (default: the job's, kept in memory only)."""
    service = catalog.get(job.service_key)
    return FilingPayload(
        delivery_id=job.delivery_id,
        reference=job.reference,
        service_key=job.service_key,
        service_title=service.title.de if service else job.service_key,
        leika=service.leika if service else None,
        company=dict(job.company),
        submitted_at=job.submitted_at,
        data=dict(job.data),
        destination_role=job.role,
        destination=job.target.slug,
        attachments=_files(job.attachments, storage),
        progress=progress if progress is not None else Progress(job.progress),
        documents=documents(job),
        acting_person=acting_person(job.filed_by),
        trust_level=(job.filed_by or {}).get("trust_level"),
        receivers=tuple(Receiver(role=r["role"], slug=r["slug"], name=r["name"]) for r in job.receivers or ()),
        bundle=job.bundle,
    )


def acting_person(filed_by: Mapping[str, Any] | None) -> ActingPerson | None:
    """The person who filed, from the filing's record made at submit (``None`` if there is none)."""
    if not filed_by:
        return None
    return ActingPerson(name=filed_by.get("name"), email=filed_by.get("email"), subject=filed_by["sub"],
                        issuer=filed_by.get("issuer") or "")


#: the prefix under which an XGewerbeanzeige message names a body without a Behördenkennung: its
#: slug, which no receiver's authority directory knows (the admin pages warn about such bodies;
#: ``docs/gewerbeanzeige.md``, "Behördenkennung")
AUTHORITY_PREFIX = "bizportal"


def authority(body: Body) -> xgewerbeanzeige.Authority:
    """The body as an XGewerbeanzeige header names it: its Behördenkennung when entered, else its
    slug under ``AUTHORITY_PREFIX``; with its name."""
    slug, name, prefix, authority_id = body
    if prefix and authority_id:
        return xgewerbeanzeige.Authority(prefix, authority_id, name or slug)
    return xgewerbeanzeige.Authority(AUTHORITY_PREFIX, slug, name or slug)


def message_uuid(delivery_id: uuid.UUID) -> uuid.UUID:
    """The ``nachrichtenUUID`` of a delivery's XGewerbeanzeige message: derived from the delivery
    id, so every attempt sends the same message."""
    return uuid.uuid5(delivery_id, XGEWERBEANZEIGE)


#: namespace of the records' uuids (``satz/…/uuid``): one per filing, derived from its reference
RECORD_NAMESPACE = uuid.UUID("5b0f3c5e-7a43-4e0e-9d1c-2f6f0c6b8a11")


def record_uuid(reference: str) -> uuid.UUID:
    """The ``uuid`` of a filing's XGewerbeanzeige record: the same in the message to every reader
    and on every attempt, and never the ``nachrichtenUUID`` of a message."""
    return uuid.uuid5(RECORD_NAMESPACE, reference)


def xgewerbeanzeige_message(service_key: str, data: Mapping[str, Any], submitted_at: datetime, reference: str,
                            delivery_id: uuid.UUID, reader: Body, author: Body | None) -> bytes:
    """The XGewerbeanzeige message of one delivery of a trade notification, as every adapter and the
    inbox's download carry it: reader the delivery's body, author the filing's primary body (the
    reader when unknown), each named by ``authority``. Raises what ``build_message`` raises."""
    return xgewerbeanzeige.build_message(
        service_key, data, submitted_at, authority(author or reader), authority(reader),
        message_uuid(delivery_id), record_uuid(reference))


def documents(job: Job) -> dict[str, Document]:
    """The filing in standard formats for the adapter (``FilingPayload.documents``): the
    XGewerbeanzeige 2.2 message of a trade notification for a chamber whose option ``format`` asks
    for XML ("xml" or "both"); nothing for other services or JSON-only chambers.

    Author of the message is the filing's primary receiving body (the Gewerbeamt), reader the body
    of this delivery; both named by their Behördenkennung and name (``authority``). A message that cannot be
    built is left out and logged, so the adapter sends the JSON; only a chamber that takes XML
    alone (option ``format`` = ``"xml"``) gets ``PermanentFailure`` instead: it would receive
    nothing it can read.
    """
    if job.service_key not in xgewerbeanzeige.KINDS or job.target.options.get("format", "json") == "json":
        return {}  # the chamber takes JSON only: no message to build (the worker's hot path)
    try:
        content = xgewerbeanzeige_message(job.service_key, job.data, job.submitted_at, job.reference,
                                          job.delivery_id, (job.target.slug, job.target.name,
                                                            job.target.authority_prefix, job.target.authority_id),
                                          job.primary)
    except Exception as exc:  # the JSON still carries the filing
        if job.target.options.get("format") == "xml":
            raise PermanentFailure(
                f"the XGewerbeanzeige message of filing {job.reference} cannot be built "
                f"({type(exc).__name__}: {exc}) and {job.target.slug} takes XML only") from exc
        log.exception("delivery %s: XGewerbeanzeige message not built; sending JSON only", job.delivery_id)
        return {}
    return {XGEWERBEANZEIGE: Document(media_type=xgewerbeanzeige.MEDIA_TYPE, content=content,
                                      schema_uri=xgewerbeanzeige.SCHEMA_URI, filename="xgewerbeanzeige.xml")}
