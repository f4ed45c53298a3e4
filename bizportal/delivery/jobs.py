"""The job → payload mapping: what one send needs, read as plain data, and the adapter's payload.

A ``Job`` is read in the claim's transaction (``pg.CLAIM`` on PostgreSQL, ``read_jobs``
elsewhere), so no ORM object outlives the transaction and no database work happens during a send.
Delivery reads the filing and attachment tables here and nowhere writes them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from chambers.base import Attachment, FilingPayload, Progress

from ..bodies.models import Chamber
from ..catalog.models import ServiceDefinition
from ..extensions import db, table_of
from ..filings.models import Attachment as FilingAttachment
from ..filings.models import Filing
from .models import Delivery

_D, _F, _C, _A = table_of(Delivery), table_of(Filing), table_of(Chamber), table_of(FilingAttachment)


@dataclass(frozen=True)
class Target:
    """What a send needs of the receiving body."""

    chamber_id: int
    slug: str
    adapter_key: str
    options: dict[str, Any]


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


def job_from_row(r: Any, files: Mapping[int, list[Any]]) -> Job:
    """A job from a row of the claim statement or of ``read_jobs``."""
    return Job(r.id, r.attempts, r.filing_id, r.role, r.reference, r.service_key, r.company_snapshot,
               r.submitted_at, r.data,
               Target(r.chamber_id, r.slug, r.adapter_key, dict(r.options or {})),
               tuple(files.get(r.filing_id, ())), r.timeouts, r.locked_by or "", r.progress)


def read_jobs(ids: list[uuid.UUID]) -> dict[uuid.UUID, Job]:
    """The jobs of claimed deliveries, read in the current transaction (two queries for any number)."""
    rows = db.session.execute(
        select(_D.c.id, _D.c.attempts, _D.c.timeouts, _D.c.role, _D.c.filing_id, _D.c.locked_by, _D.c.progress,
               _F.c.reference, _F.c.service_key,
               _F.c.company_snapshot, _F.c.submitted_at, _F.c.data, _C.c.id.label("chamber_id"), _C.c.slug,
               _C.c.adapter_key, _C.c.options)
        .select_from(_D.join(_F, _F.c.id == _D.c.filing_id).join(_C, _C.c.id == _D.c.chamber_id))
        .where(_D.c.id.in_(ids))
    ).all()
    files = attachments_of(r.filing_id for r in rows)
    return {r.id: job_from_row(r, files) for r in rows}


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
        attachments=tuple(
            Attachment(filename=a.original_name, media_type=a.media_type, size=a.size, sha256=a.sha256,
                       content=storage.read(a.storage_key) if storage is not None else b"", ref=str(a.id),
                       field=a.field_name)
            for a in job.attachments
        ),
        progress=progress if progress is not None else Progress(job.progress),
    )
