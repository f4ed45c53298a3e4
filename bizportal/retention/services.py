"""Retention: what is deleted when, and the run that does it (``flask retention run``, and the
worker once a day).

Periods come from each service's definition (``retention = { draft_days, closed_years }``), else
from ``RETENTION_DRAFT_DAYS`` / ``RETENTION_CLOSED_YEARS``.

* **Drafts** untouched for ``draft_days`` are deleted with their files. The company is reminded
  once before, by mail through the mail queue, ``RETENTION_REMINDER_DAYS`` ahead; a draft is
  deleted only once that reminder is at least that old and newer than the draft's last change
  (a draft worked on after its reminder starts over and is reminded again). A draft's deletion
  counts as abandoned in the statistics unless it was counted so already (``stats``).
* **Closed filings** (accepted, rejected, withdrawn) are deleted ``closed_years`` after their
  closing event, with everything that hangs on them: answers and company data, the receipt, the
  timeline, the conversation and its files, the filing's files, deliveries, inbox items and
  internal notes, queued mails. Files are removed from storage after the commit.
* **Kept:** the statistics' rollups (counts without persons, written when the events happened)
  and the audit log (tamper-evident; it holds ids and actor keys, never a filing's content; an
  entry about a deleted filing shows "no longer there").

Each filing and each draft goes in its own transaction, locked and checked again, so a draft
saved or a filing touched meanwhile is left alone. A dry run does the same work and rolls each
transaction back: its report is what a real run would do now, and nothing changes.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import Flask
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..audit import services as audit
from ..catalog.models import ServiceDefinition
from ..common.time import utcnow
from ..config import RetentionSettings
from ..delivery.models import Delivery
from ..extensions import db, rowcount
from ..filings.models import Attachment, Draft, Filing, FilingEvent, FilingMessage, FilingReceipt
from ..filings.states import CLOSED
from ..filings.storage import AttachmentStorage
from ..inbox.models import CaseNote, InboxItem
from ..notify import services as notify
from ..notify.models import Notification
from ..stats import services as stats
from .models import RetentionRun

log = logging.getLogger(__name__)

#: the kinds a report counts, in the order it lists them
KINDS = ("drafts_reminded", "drafts_deleted", "filings_deleted", "attachments_deleted", "files_removed",
         "receipts_deleted", "timeline_events_deleted", "messages_deleted", "deliveries_deleted",
         "inbox_items_deleted", "case_notes_deleted", "notifications_deleted")


@dataclass
class Report:
    dry_run: bool
    counts: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, int]:
        return {kind: self.counts[kind] for kind in KINDS}

    def lines(self) -> list[str]:
        return [f"{kind}: {self.counts[kind]}" for kind in KINDS]

    def summary(self) -> str:
        return ("dry run: " if self.dry_run else "") + ", ".join(f"{k}={self.counts[k]}" for k in KINDS)


@dataclass(frozen=True)
class Periods:
    """The periods per service key (a key no longer in the catalog takes the defaults)."""

    catalog: Mapping[str, ServiceDefinition]
    settings: RetentionSettings

    def draft_days(self, key: str) -> int:
        service = self.catalog.get(key)
        return (service.retention.draft_days if service else None) or self.settings.draft_days

    def closed_years(self, key: str) -> int:
        service = self.catalog.get(key)
        return (service.retention.closed_years if service else None) or self.settings.closed_years

    def title(self, key: str, locale: str) -> str:
        service = self.catalog.get(key)
        return service.title.get(locale) if service else key


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def run(periods: Periods, storage: AttachmentStorage, *, dry_run: bool, actor: str,
        now: datetime | None = None) -> Report:
    """Remind, then delete what is due (see the module docstring); audited as ``retention.run``
    with the report's counts. Returns the report. Raises only for database errors (what was
    committed before stays done and is reported by the next run's counts)."""
    now = now or utcnow()
    report = Report(dry_run=dry_run)
    try:
        _remind_drafts(periods, storage, now, report)
        _delete_drafts(periods, storage, now, report)
        _delete_closed_filings(periods, storage, now, report)
    except Exception:
        db.session.rollback()
        audit.record("retention.run", actor, detail=f"failed after {report.summary()}", outcome="failed")
        raise
    audit.record("retention.run", actor, detail=report.summary())
    log.info("retention run by %s: %s", actor, report.summary())
    return report


def _finish(report: Report, files: list[str], storage: AttachmentStorage) -> None:
    """Commit (a dry run: roll back), then remove the files of what was deleted."""
    if report.dry_run:
        db.session.rollback()
        report.counts["files_removed"] += len(files)
        return
    db.session.commit()
    for key in files:
        try:
            storage.delete(key)
            report.counts["files_removed"] += 1
        except OSError:
            log.exception("retention: file %s could not be removed", key)


def _keys(model, status_filter=None) -> list[str]:
    stmt = select(model.service_key).distinct()
    if status_filter is not None:
        stmt = stmt.where(status_filter)
    keys: list[str] = list(db.session.scalars(stmt))
    db.session.rollback()
    return keys


# --- drafts --------------------------------------------------------------------------------------

def _not_reminded_since_change():
    return or_(Draft.retention_reminded_at.is_(None), Draft.retention_reminded_at < Draft.updated_at)


def _remind_drafts(periods: Periods, storage: AttachmentStorage, now: datetime, report: Report) -> None:
    lead = timedelta(days=periods.settings.reminder_days)
    for key in _keys(Draft):
        days = timedelta(days=periods.draft_days(key))
        due = db.session.scalars(
            select(Draft).where(Draft.service_key == key, Draft.updated_at < now - max(days - lead, timedelta(0)),
                                _not_reminded_since_change())
            .order_by(Draft.updated_at).with_for_update(skip_locked=True)).all()
        for draft in due:
            deleted_from = max(draft.updated_at + days, now + lead)
            notify.enqueue_draft_expiring(db.session, draft, periods.title(key, draft.updated_by.locale or "de"),
                                          stats.local_day(deleted_from))
            # a Core update: the ORM would move ``updated_at`` (onupdate) and void the reminder
            db.session.execute(update(Draft).where(Draft.id == draft.id)
                               .values(retention_reminded_at=now, updated_at=Draft.updated_at),
                               execution_options={"synchronize_session": False})
            report.counts["drafts_reminded"] += 1
        _finish(report, [], storage)


def _delete_drafts(periods: Periods, storage: AttachmentStorage, now: datetime, report: Report) -> None:
    lead = timedelta(days=periods.settings.reminder_days)
    for key in _keys(Draft):
        cutoff = now - timedelta(days=periods.draft_days(key))
        ids = list(db.session.scalars(select(Draft.id).where(
            Draft.service_key == key, Draft.updated_at < cutoff, Draft.retention_reminded_at >= Draft.updated_at,
            Draft.retention_reminded_at <= now - lead)))
        db.session.rollback()
        for draft_id in ids:
            _delete_draft(draft_id, cutoff, now - lead, storage, now, report)


def _delete_draft(draft_id: uuid.UUID, cutoff: datetime, reminded_by: datetime, storage: AttachmentStorage,
                  now: datetime, report: Report) -> None:
    draft = db.session.scalar(select(Draft).where(
        Draft.id == draft_id, Draft.updated_at < cutoff, Draft.retention_reminded_at >= Draft.updated_at,
        Draft.retention_reminded_at <= reminded_by).with_for_update(skip_locked=True))
    if draft is None:  # worked on meanwhile, or being worked on
        db.session.rollback()
        return
    files = [a.storage_key for a in draft.attachments]
    stats.draft_deleted(draft, now)
    report.counts["attachments_deleted"] += _delete(Attachment, Attachment.draft_id == draft_id)
    _delete(Draft, Draft.id == draft_id)
    report.counts["drafts_deleted"] += 1
    _finish(report, files, storage)


# --- closed filings ------------------------------------------------------------------------------

def _closed_at():
    """When a filing was closed: its last closing event (else its submission, for old rows)."""
    last = (select(func.max(FilingEvent.occurred_at))
            .where(FilingEvent.filing_id == Filing.id, FilingEvent.kind.in_(CLOSED)).scalar_subquery())
    return func.coalesce(last, Filing.submitted_at)


def _delete_closed_filings(periods: Periods, storage: AttachmentStorage, now: datetime, report: Report) -> None:
    for key in _keys(Filing, Filing.status.in_(CLOSED)):
        cutoff = years_before(now, periods.closed_years(key))
        ids = list(db.session.scalars(select(Filing.id).where(
            Filing.service_key == key, Filing.status.in_(CLOSED), _closed_at() < cutoff).order_by(Filing.id)))
        db.session.rollback()
        for filing_id in ids:
            _delete_filing(filing_id, cutoff, storage, report)


def _delete(model, condition) -> int:
    return rowcount(db.session.execute(delete(model).where(condition),
                                       execution_options={"synchronize_session": False}))


def _delete_filing(filing_id: int, cutoff: datetime, storage: AttachmentStorage, report: Report) -> None:
    filing = db.session.scalar(select(Filing).where(Filing.id == filing_id, Filing.status.in_(CLOSED),
                                                    _closed_at() < cutoff).with_for_update(skip_locked=True))
    if filing is None:
        db.session.rollback()
        return
    deliveries = select(Delivery.id).where(Delivery.filing_id == filing_id)
    items = select(InboxItem.id).where(InboxItem.delivery_id.in_(deliveries))
    messages = select(FilingMessage.id).where(FilingMessage.filing_id == filing_id)
    own_files = or_(Attachment.filing_id == filing_id, Attachment.message_id.in_(messages))
    files = list(db.session.scalars(select(Attachment.storage_key).where(own_files)))
    c = report.counts
    c["case_notes_deleted"] += _delete(CaseNote, CaseNote.item_id.in_(items))
    c["inbox_items_deleted"] += _delete(InboxItem, InboxItem.delivery_id.in_(deliveries))
    c["notifications_deleted"] += _delete(Notification, Notification.filing_id == filing_id)
    c["deliveries_deleted"] += _delete(Delivery, Delivery.filing_id == filing_id)
    c["attachments_deleted"] += _delete(Attachment, own_files)
    db.session.execute(update(FilingMessage).where(FilingMessage.filing_id == filing_id).values(reply_to_id=None),
                       execution_options={"synchronize_session": False})
    c["messages_deleted"] += _delete(FilingMessage, FilingMessage.filing_id == filing_id)
    c["timeline_events_deleted"] += _delete(FilingEvent, FilingEvent.filing_id == filing_id)
    c["receipts_deleted"] += _delete(FilingReceipt, FilingReceipt.filing_id == filing_id)
    _delete(Filing, Filing.id == filing_id)
    c["filings_deleted"] += 1
    db.session.expunge(filing)
    _finish(report, files, storage)


# --- runs ----------------------------------------------------------------------------------------

def periods_for(app: Flask) -> Periods:
    return Periods(catalog=app.extensions["bizportal"].catalog, settings=app.config["SETTINGS"].retention)


def run_recorded(app: Flask, *, dry_run: bool, actor: str, day: date | None = None,
                 now: datetime | None = None) -> Report | None:
    """``run`` with a ``RetentionRun`` row holding its report. With ``day`` (the worker's daily
    run) the row is claimed first and ``None`` returned when that day's run was already taken
    (by this or another worker). Needs an app context."""
    record = RetentionRun(day=day, actor=actor, dry_run=dry_run, started_at=now or utcnow())
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    run_id = record.id
    report = run(periods_for(app), app.extensions["bizportal"].storage, dry_run=dry_run, actor=actor, now=now)
    db.session.execute(update(RetentionRun).where(RetentionRun.id == run_id)
                       .values(finished_at=utcnow(), report=report.as_dict()))
    db.session.commit()
    return report


def daily_run_due(app: Flask, now: datetime | None = None) -> date | None:
    """The portal's calendar day whose run is due now (past ``RETENTION_HOUR`` and not run yet), else None."""
    hour = app.config["SETTINGS"].retention.hour
    if hour is None:
        return None
    local = stats.local_day(now or utcnow())
    local_hour = (now or utcnow()).astimezone(stats.zone()).hour
    if local_hour < hour:
        return None
    taken = db.session.scalar(select(RetentionRun.id).where(RetentionRun.day == local))
    db.session.rollback()
    return None if taken else local
