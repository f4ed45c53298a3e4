"""Use cases for drafts and filings. Each function owns its transaction."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import ObjectDeletedError

from ..auth.models import Company, Person
from ..bodies.routing import NoCompetentBody, competent_chamber
from ..catalog.models import BODY_RULES, FieldDefinition, ServiceDefinition
from ..common.time import utcnow
from ..common.uploads import (
    EMBEDDED_FILES,
    JAVASCRIPT,
    POLYGLOT,
    TYPES,
    UNREADABLE,
    active_content,
    extension_matches,
    safe_display_name,
    sniff,
)
from ..common.virusscan import ScannerUnavailable
from ..delivery import services as deliveries
from ..extensions import db
from ..notify import services as notify
from ..stats import services as stats
from . import lifecycle, receipts, recheck
from .lifecycle import NotWithdrawable
from .models import Attachment, Draft, Filing, FilingReceipt
from .storage import AttachmentStorage, StorageUnavailable

log = logging.getLogger(__name__)

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
MAX_REFERENCE_TRIES = 3


class ForeignSubmitToken(Exception):
    """The submit token belongs to another company's filing (a tampered form)."""


class DraftIncomplete(Exception):
    """A step that the answers make visible has not been completed."""

    def __init__(self, step_key: str):
        super().__init__(step_key)
        self.step_key = step_key


class DraftGone(Exception):
    """The draft was deleted (in another tab, by a colleague) and not filed; nothing is stored."""


class StepChanged(Exception):
    """The stored answers of a step changed (a colleague's save, another window) after its page was
    opened (``SeenStep``): nothing of the page's post was stored. ``by`` is the person who saved
    the draft last, ``at`` when."""

    def __init__(self, draft_id: uuid.UUID, step_key: str, by: Person, at: Any):
        super().__init__(str(draft_id), step_key)
        self.draft_id = draft_id
        self.step_key = step_key
        self.by = by
        self.at = at


class DraftChanged(Exception):
    """A draft to be filed was saved after its review page was opened (``review_state``): nothing
    was filed. ``draft`` is the one saved last (a bundle's review covers several drafts); its
    ``updated_by`` and ``updated_at`` say who and when."""

    def __init__(self, draft: Draft):
        super().__init__(str(draft.id))
        self.draft = draft


class NoDestination(Exception):
    """The answers route the filing nowhere (a definition gap); nothing is stored."""


class UploadRefused(ValueError):
    """The file is not accepted; the message is for the person who uploaded it."""

    #: the HTTP status of the page that says so
    status = 422


class MalwareFound(UploadRefused):
    """The virus scanner found something in the file (``signature``): it is not stored, and an
    audit entry says who uploaded it where (``UploadOrigin``)."""

    def __init__(self, message: Any, signature: str):
        super().__init__(message)
        self.signature = signature


@dataclass(frozen=True)
class UploadOrigin:
    """Who uploads a file, and for what: written to the audit log when the virus scanner refuses
    the file (never the file itself, nor its name)."""

    actor: str  #: ``user.get_id()`` of the person, or the API client's actor
    field: str  #: the form field (a filing's file field, ``files`` or ``documents`` of a message)
    company_id: int | None = None
    filing_id: int | None = None
    draft_id: uuid.UUID | None = None
    chamber_id: int | None = None
    #: a chamber's upload names the filing by the delivery it received (found only when needed)
    delivery_id: uuid.UUID | None = None

    def record_malware(self, signature: str) -> None:
        """The audit entry of a refused upload (``upload.malware``, outcome refused)."""
        from ..audit import services as audit

        filing_id = self.filing_id
        if filing_id is None and self.delivery_id is not None:
            delivery = deliveries.get(self.delivery_id)
            filing_id = delivery.filing_id if delivery is not None else None
        where = f"draft {self.draft_id}, " if self.draft_id is not None else ""
        audit.record("upload.malware", self.actor,
                     target=f"company:{self.company_id}" if self.company_id is not None else None,
                     detail=f"{where}field {self.field}: {signature}", outcome="refused",
                     filing_id=filing_id, chamber_id=self.chamber_id)


class FileStoreUnavailable(UploadRefused):
    """The file passed its checks but the file store could not be reached: nothing was stored.
    Shown like a refused file (the rest of the input stays in the form), answered with 503."""

    status = 503

    def __init__(self) -> None:
        super().__init__(_l("Der Dateispeicher ist gerade nicht erreichbar; die Datei wurde nicht gespeichert. "
                            "Ihre übrigen Angaben bleiben erhalten. Bitte versuchen Sie es in einigen Minuten "
                            "noch einmal."))


def save_checked(storage: AttachmentStorage, content: bytes) -> str:
    """Store content that passed ``check_upload``; ``FileStoreUnavailable`` when the store is down."""
    try:
        return storage.save(content)
    except StorageUnavailable as exc:
        log.error("file store unavailable: %s", exc)
        raise FileStoreUnavailable() from exc


class TooManyDrafts(Exception):
    """The company has as many open drafts as it may keep (``DraftSettings.max_open``); nothing
    is stored."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


@dataclass(frozen=True)
class SubmitOutcome:
    filing: Filing
    created: bool  #: False when the same draft was submitted before (double click, retried POST)


def new_reference(year: int) -> str:
    """A human reference like ``BP-2026-7KQ3MZ``; random so references reveal no volumes."""
    return f"BP-{year}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


# --- drafts -------------------------------------------------------------------------------------

def lock_company(company_id: int) -> None:
    """Hold the company's row until the commit, so writes that check a limit of the company or of
    one of its drafts (uploads, new drafts, submit) run one after the other and each sees what
    the one before committed. PostgreSQL: a row lock. SQLite ignores ``FOR UPDATE``: a write
    that changes nothing takes the database's write lock first, and a concurrent writer waits."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Company).where(Company.id == company_id)
                           .values(updated_at=Company.updated_at).execution_options(synchronize_session=False))
    db.session.execute(_LOCK_COMPANY, {"company_id": company_id})


#: ``lock_company``'s and ``_lock_fresh``'s statements, built once (see ``_draft_of_company``)
_LOCK_COMPANY = select(Company.id).where(Company.id == bindparam("company_id")).with_for_update()
_FRESH_DRAFT = select(Draft).where(Draft.id == bindparam("draft_id")).execution_options(populate_existing=True)


#: ``db.session.info`` key: the draft read under its company's lock (``company_draft(locked=True)``)
#: and the transaction that holds the lock
_READ_LOCKED = "bizportal.draft_read_locked"


def _lock_fresh(draft: Draft) -> None:
    """Take the company's lock and read the draft again, as the last committed write left it;
    ``DraftGone`` (after a rollback) when it was deleted or filed meanwhile. Nothing to do for a
    draft read under the lock by ``company_draft(locked=True)`` in the transaction still open:
    every write of a draft holds that lock, so none has been committed since that read."""
    identity = sa_inspect(draft).identity
    draft_id = identity[0] if identity else draft.id
    held = db.session.info.get(_READ_LOCKED)
    if held is not None and held[0] == draft_id and held[1] is db.session().get_transaction():
        return
    try:
        company_id = draft.company_id  # loaded again after an earlier commit of this request
    except ObjectDeletedError:
        company_id = None
    if company_id is not None:
        lock_company(company_id)
    # one statement: the row as now committed, written over what the session holds (as a refresh
    # would), or none when it is gone
    fresh = None if company_id is None else db.session.scalars(_FRESH_DRAFT, {"draft_id": draft_id}).one_or_none()
    if fresh is None:
        db.session.rollback()
        raise DraftGone(str(draft_id))


def _draft_limits():
    from flask import current_app

    return current_app.config["SETTINGS"].drafts


def _company_draft_bytes(company_id: int) -> int:
    """The size of all files in the company's drafts (files already filed do not count)."""
    total = db.session.scalar(select(func.coalesce(func.sum(Attachment.size), 0))
                              .where(Attachment.company_id == company_id, Attachment.draft_id.is_not(None)))
    return int(total or 0)


def _check_open_drafts(company_id: int) -> None:
    """Under the company's lock: raise ``TooManyDrafts`` (after a rollback) at the limit."""
    limit = _draft_limits().max_open
    if db.session.scalar(select(func.count()).select_from(Draft).where(Draft.company_id == company_id)) >= limit:
        db.session.rollback()
        raise TooManyDrafts(limit)


def start_draft(person: Person, service: ServiceDefinition, prefill: dict[str, Any]) -> Draft:
    """A new draft of the person's company, prefilled from the account. Commits. Raises
    ``TooManyDrafts`` when the company has as many open drafts as it may keep."""
    lock_company(person.company_id)
    _check_open_drafts(person.company_id)
    draft = Draft(company_id=person.company_id, created_by_id=person.id, updated_by_id=person.id,
                  service_key=service.key, data=dict(prefill), completed_steps=[], pending_input={})
    db.session.add(draft)
    stats.draft_started(service.key, utcnow())
    db.session.commit()
    return draft


def company_draft(company_id: int, draft_id: str, with_files: bool = False, locked: bool = False) -> Draft | None:
    """The draft if it belongs to the company; a foreign or malformed id looks like a missing one.
    ``with_files``: its files joined to the same statement (a step page shows them; a draft has a
    few), instead of a statement of their own when they are first read. ``locked`` (for a request
    that writes the draft): the company's lock is taken first (``lock_company``, held until the
    commit), so the draft is read as the last committed write left it and the first write of this
    transaction (``save_step``, ``save_pending_input``, …) need not read it again. A draft not
    found gives the lock back at once (a rollback). On SQLite the lock is the whole database's write
    lock, which would keep every other writer waiting while the request validates and renders (and
    the request's own audit entry, written on a connection of its own, failing): there the draft is
    read without it and the first write locks and reads it again, as ``_lock_fresh`` does."""
    try:
        key = uuid.UUID(draft_id)
    except ValueError:
        return None
    params = {"draft_id": key, "company_id": company_id}
    if locked and db.session.get_bind().dialect.name != "sqlite":
        lock_company(company_id)
        draft = db.session.scalars(_draft_of_company("locked"), params).one_or_none()
        if draft is None:
            db.session.rollback()
        else:
            db.session.info[_READ_LOCKED] = (draft.id, db.session().get_transaction())
        return draft
    if not with_files:
        return db.session.scalar(_draft_of_company("plain"), params)
    return db.session.execute(_draft_of_company("with_files"), params).unique().scalar_one_or_none()


@cache
def _draft_of_company(variant: str):
    """``company_draft``'s statement ("plain", "with_files", "locked"), built once with bind
    parameters: one built anew for every request costs more CPU than the database takes to answer
    it (SQLAlchemy computes its cache key each time), as ``auth.services.load_user``'s."""
    query = select(Draft).where(Draft.id == bindparam("draft_id"), Draft.company_id == bindparam("company_id"))
    if variant == "with_files":
        return query.options(joinedload(Draft.attachments))
    if variant == "locked":  # written over what the session holds, as a refresh would
        return query.execution_options(populate_existing=True)
    return query


def filed_from(company_id: int, draft_id: str) -> tuple[str, str] | None:
    """What a draft of the company that is gone became when it was submitted: ("filing", its
    reference) or ("bundle", the bundle's reference); None for a draft deleted or never there."""
    from .models import FilingBundle

    try:
        token = str(uuid.UUID(draft_id))
    except ValueError:
        return None
    reference = db.session.scalar(select(Filing.reference).where(Filing.submit_token == token,
                                                                 Filing.company_id == company_id))
    if reference is not None:
        return "filing", reference
    reference = db.session.scalar(select(FilingBundle.reference).where(FilingBundle.submit_token == token,
                                                                       FilingBundle.company_id == company_id))
    return ("bundle", reference) if reference is not None else None


def visible_fields(service: ServiceDefinition, answers: dict[str, Any]) -> set[str]:
    steps = {s.key for s in service.visible_steps(answers)}
    return {fd.name for fd in service.fields if fd.step in steps and fd.visible(answers)}


def first_open_step(service: ServiceDefinition, draft: Draft) -> str | None:
    """The first visible step not completed yet (None when the draft is ready for review)."""
    for step in service.visible_steps(draft.data):
        if step.key not in draft.completed_steps:
            return step.key
    return None


@dataclass(frozen=True)
class DraftProgress:
    """Where a draft stands: ``step`` is the number of the first open step among the ``total``
    visible ones (``total + 1`` once every step is done: the review is next), ``done`` the steps
    completed."""

    step: int
    total: int
    done: int

    @property
    def ready(self) -> bool:
        return self.done == self.total


def draft_progress(service: ServiceDefinition, draft: Draft) -> DraftProgress:
    """The progress of ``draft`` over the steps its answers make visible (conditional steps count
    only once they apply, so the total can grow or shrink as the answers change)."""
    visible = service.visible_steps(draft.data)
    done = sum(1 for s in visible if s.key in draft.completed_steps)
    open_key = first_open_step(service, draft)
    step = next((i for i, s in enumerate(visible, 1) if s.key == open_key), len(visible) + 1)
    return DraftProgress(step=step, total=len(visible), done=done)


def step_reachable(service: ServiceDefinition, draft: Draft, step_key: str) -> bool:
    """A step can be opened when it is visible and every visible step before it is completed."""
    for step in service.visible_steps(draft.data):
        if step.key == step_key:
            return True
        if step.key not in draft.completed_steps:
            return False
    return False


# --- pages opened before a colleague's save (optimistic concurrency) ------------------------------

@dataclass(frozen=True)
class SeenStep:
    """What a step's page showed when it was opened, as its form carries it back: the draft's
    ``revision`` and the digest of the step's stored answers (``answers_digest`` over ``names``,
    ``step_answer_names``)."""

    step_key: str
    names: tuple[str, ...]
    revision: int
    digest: str

    def changed(self, draft: Draft) -> bool:
        """Whether the step's stored answers are no longer those the page showed: the draft was
        saved since (another revision) and the step's answers differ. A save of another step (or
        one that left this step's answers as they were) is no change: the page's answers can be
        taken as they are."""
        return draft.revision != self.revision and answers_digest(draft, self.names) != self.digest


def step_answer_names(service: ServiceDefinition, step_key: str) -> tuple[str, ...]:
    """The fields of the step whose stored answers a page opened earlier must not overwrite
    unseen: all of the step's fields, shown or not, but its files (a page's own uploads are saved
    before its answers, and a file is only replaced by one chosen on purpose)."""
    return tuple(fd.name for fd in service.step_fields(step_key) if fd.type != "file")


def answers_digest(draft: Draft, names: tuple[str, ...]) -> str:
    """A short digest of the draft's stored answers to ``names`` (missing ones count as None)."""
    answers = {name: draft.data.get(name) for name in names}
    return hashlib.sha256(json.dumps(answers, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _refuse_changed_step(draft: Draft, seen: SeenStep | None) -> None:
    """Under the company's lock, with ``draft`` as the last commit left it: ``StepChanged`` (after a
    rollback) when the page ``seen`` shows answers of its step that were changed since."""
    if seen is not None and seen.changed(draft):
        changed = StepChanged(draft.id, seen.step_key, draft.updated_by, draft.updated_at)
        db.session.rollback()
        raise changed


def review_state(drafts: list[Draft]) -> str:
    """What a review page carries of the drafts it shows: each one's id and revision
    (``"<id>:<revision>"``, sorted, space-separated)."""
    return " ".join(sorted(f"{d.id}:{d.revision}" for d in drafts))


def changed_since_review(drafts: list[Draft], state: str | None) -> Draft | None:
    """The draft saved last among ``drafts`` that is not as the review page with ``state`` showed
    it (another revision, or not on that page at all); None when all are as shown, or when there
    was no page (``state`` None: a caller that shows none)."""
    if state is None:
        return None
    seen = set(state.split())
    changed = [d for d in drafts if f"{d.id}:{d.revision}" not in seen]
    return max(changed, key=lambda d: d.updated_at, default=None)


def save_step(draft: Draft, person: Person, service: ServiceDefinition, step_key: str,
              answers: dict[str, Any], seen: SeenStep | None = None, prefilled: Collection[str] = ()) -> None:
    """Store a validated step and mark it completed. Later steps whose visible fields change, or
    whose checks read an answer that changed, are marked open again, and answers that are no
    longer visible are dropped, except the account data a field is prefilled with (the service's
    ``prefill``, and ``prefilled``: a bundle's, ``bundles.bundle_prefill``). Commits. ``DraftGone``
    when the draft was deleted meanwhile.

    The answers are merged into the draft as the last write left it (under the company's lock,
    like uploads): a step saved while another request of the same draft stored a file must not
    write back the file reference it read before that upload (the other request deleted it).
    With the page ``seen`` that sent the answers: ``StepChanged`` (nothing stored) when the step's
    answers were changed since that page was opened."""
    _lock_fresh(draft)
    _refuse_changed_step(draft, seen)
    before = {s.key: _step_field_names(service, s.key, draft.data) for s in service.steps}
    data = {**draft.data, **answers}
    after = {s.key: _step_field_names(service, s.key, data) for s in service.steps}
    order = [s.key for s in service.steps]
    later = order[order.index(step_key) + 1:]
    changed = {name for name, value in answers.items() if draft.data.get(name) != value}
    keep = visible_fields(service, data) | {fd.name for fd in service.fields if fd.prefill} | set(prefilled)
    data = {k: v for k, v in data.items() if k in keep}
    # a later step is open again when a check of it reads a changed answer and may refuse now: a
    # body rule (its bodies are looked up on the step), any other rule only when it does refuse
    # (issue 16: adding a second person no longer reopens the plans, whose dates the persons' ages check)
    rechecked = {fd.step for c in service.checks if c.inputs & changed and (fd := service.field(c.field))
                 and (c.rule in BODY_RULES or c.problem(data) is not None)}
    completed = [k for k in draft.completed_steps
                 if k not in later or (before[k] == after[k] and k not in rechecked)]
    if step_key not in completed:
        completed.append(step_key)
    draft.data = data
    draft.completed_steps = completed
    draft.pending_input = {k: v for k, v in draft.pending_input.items() if k != step_key}
    if draft.reopened_steps:
        draft.reopened_steps = [k for k in draft.reopened_steps if k != step_key] or None
    draft.updated_by_id = person.id
    db.session.commit()


def save_pending_input(draft: Draft, person: Person, step_key: str, raw: dict[str, list[str]],
                       seen: SeenStep | None = None) -> None:
    """Keep what was typed into a step that did not validate, so leaving the page loses nothing.
    Commits; ``StepChanged`` (nothing stored) when the step's answers were changed since the page
    ``seen`` was opened, ``DraftGone`` when the draft was deleted."""
    _lock_fresh(draft)
    _refuse_changed_step(draft, seen)
    draft.pending_input = {**draft.pending_input, step_key: raw}
    if step_key in draft.completed_steps:
        draft.completed_steps = [k for k in draft.completed_steps if k != step_key]
    draft.updated_by_id = person.id
    db.session.commit()


def _step_field_names(service: ServiceDefinition, step_key: str, answers: dict[str, Any]) -> tuple[str, ...]:
    step = next(s for s in service.steps if s.key == step_key)
    if not step.visible(answers):
        return ()
    return tuple(fd.name for fd in service.step_fields(step_key) if fd.visible(answers))


def duplicate_draft(draft: Draft, person: Person) -> Draft:
    """A copy of the answers as a new draft (attachments are not copied). Commits. Raises
    ``TooManyDrafts`` like ``start_draft``."""
    lock_company(draft.company_id)
    _check_open_drafts(draft.company_id)
    copy = Draft(company_id=draft.company_id, created_by_id=person.id, updated_by_id=person.id,
                 service_key=draft.service_key,
                 data={k: v for k, v in draft.data.items() if not _is_attachment_answer(v)},
                 completed_steps=[], pending_input={})
    db.session.add(copy)
    stats.draft_started(draft.service_key, utcnow())
    db.session.commit()
    return copy


def _is_attachment_answer(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("attachment:")


def delete_draft(draft: Draft, storage: AttachmentStorage) -> None:
    """Delete the draft and its files (counted as abandoned). Commits, then removes the files.
    Under the company's lock, as the saves: a colleague's save of the same moment goes first or
    finds the draft gone (``DraftGone`` here when it was filed or deleted meanwhile)."""
    _lock_fresh(draft)
    keys = [a.storage_key for a in draft.attachments]
    stats.draft_deleted(draft, utcnow())
    for attachment in list(draft.attachments):
        db.session.delete(attachment)
    db.session.delete(draft)
    db.session.commit()
    for key in keys:
        storage.delete(key)


# --- attachments --------------------------------------------------------------------------------

def store_attachment(draft: Draft, person: Person, service: ServiceDefinition, fd: FieldDefinition,
                     filename: str, stream: IO[bytes], storage: AttachmentStorage,
                     seen: SeenStep | None = None) -> Attachment:
    """Check and store an upload for a file field, replacing the field's previous file.

    The type is decided by the content (magic bytes), the extension must agree, and the field's
    and the filing's size limits hold; otherwise ``UploadRefused`` is raised before anything is
    stored. Commits. ``StepChanged`` (nothing stored) when the answers of the step of the page
    ``seen`` that sent the file were changed since it was opened.
    """
    content = stream.read(int(fd.max_size_mb * 1024 * 1024) + 1)
    origin = UploadOrigin(person.get_id(), fd.name, company_id=draft.company_id, draft_id=draft.id)
    name, type_key = check_upload(filename, content, fd.accept, fd.max_size_mb, origin=origin)
    # Parallel uploads (of this draft or another of the company) wait here for each other, so every
    # limit below is checked against what the others committed.
    lock_company(draft.company_id)
    present = list(db.session.scalars(select(Attachment).where(Attachment.draft_id == draft.id)))
    if db.session.scalar(select(Draft.id).where(Draft.id == draft.id)) is None:
        db.session.rollback()
        raise UploadRefused(_l("Dieser Entwurf wurde inzwischen eingereicht oder gelöscht."))
    db.session.refresh(draft)
    _refuse_changed_step(draft, seen)
    previous = [a for a in present if a.field_name == fd.name]
    others = sum(a.size for a in present if a.field_name != fd.name)
    if others + len(content) > service.max_total_attachments_mb * 1024 * 1024:
        db.session.rollback()
        raise UploadRefused(_l("Alle Anhänge zusammen dürfen höchstens %(mb)s MB groß sein.",
                               mb=_mb(service.max_total_attachments_mb)))
    limits = _draft_limits()
    in_drafts = _company_draft_bytes(draft.company_id) - sum(a.size for a in previous)
    if in_drafts + len(content) > limits.max_stored_mb * 1024 * 1024:
        db.session.rollback()
        raise UploadRefused(_l("Ihr Unternehmen hat in seinen Entwürfen bereits %(used)s MB an Dateien "
                               "gespeichert; höchstens %(mb)s MB sind möglich. Bitte reichen Sie Entwürfe ein "
                               "oder löschen Sie nicht mehr benötigte Entwürfe.",
                               used=_mb(round(in_drafts / (1024 * 1024), 1)), mb=_mb(limits.max_stored_mb)))
    key = save_checked(storage, content)
    attachment = Attachment(company_id=draft.company_id, draft_id=draft.id, field_name=fd.name,
                            original_name=name, media_type=TYPES[type_key][0], size=len(content),
                            sha256=hashlib.sha256(content).hexdigest(), storage_key=key)
    old_keys = [a.storage_key for a in previous]
    for old in previous:
        db.session.delete(old)
    db.session.add(attachment)
    db.session.flush()
    draft.data = {**draft.data, fd.name: f"attachment:{attachment.id}"}
    draft.updated_by_id = person.id
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        storage.delete(key)
        raise
    for old_key in old_keys:
        storage.delete(old_key)
    return attachment


def check_upload(filename: str, content: bytes, accept: tuple[str, ...], max_size_mb: float, *,
                 origin: UploadOrigin) -> tuple[str, str]:
    """The display name and type key of an upload, or ``UploadRefused`` with the reason for the person.

    The size must not exceed ``max_size_mb``; the portal's virus scanner (clamd, when configured)
    must find nothing, and must answer: without a verdict the file is refused too
    (``ScanUnavailable``, fail closed); the type is decided by the content (magic bytes) and must
    be one of ``accept``; the name's extension must agree; a PDF with JavaScript or embedded
    files, and a file that is also another format (a ZIP archive, a web page), is refused
    (``common.uploads.active_content``). Used for filing attachments and for the files of the
    conversation (answers, decision documents) alike, so every upload passes here before storage.
    """
    if len(content) > int(max_size_mb * 1024 * 1024):
        raise UploadRefused(_l("Die Datei ist zu groß. Erlaubt sind höchstens %(mb)s MB.", mb=_mb(max_size_mb)))
    if not content:
        raise UploadRefused(_l("Die Datei ist leer."))
    _scan(filename, content, origin)
    type_key = sniff(content[:16])
    allowed = ", ".join(t.upper() for t in accept)
    if type_key is None or type_key not in accept:
        raise UploadRefused(_l("Dieser Dateityp ist hier nicht erlaubt. Erlaubt: %(types)s.", types=allowed))
    name = safe_display_name(filename or "")
    if not extension_matches(name, type_key):
        raise UploadRefused(_l("Die Dateiendung passt nicht zum Inhalt der Datei (erkannt: %(type)s).",
                               type=type_key.upper()))
    problem = active_content(content, type_key)
    if problem is not None:
        raise UploadRefused(_content_message(problem))
    return name, type_key


class ScanUnavailable(UploadRefused):
    """The virus scanner gave no verdict (not reachable, no answer in time): the file is not stored."""


def _scan(filename: str, content: bytes, origin: UploadOrigin) -> None:
    """Scan with the portal's clamd, if one is configured; ``MalwareFound`` when it finds
    something (with an audit entry), ``ScanUnavailable`` when it does not answer (never stored
    unscanned)."""
    from flask import current_app

    scanner = current_app.extensions["bizportal"].scanner
    if scanner is None:
        return
    try:
        verdict = scanner.scan(content)
    except ScannerUnavailable as exc:
        log.error("upload %r refused: no virus scan verdict: %s", safe_display_name(filename or ""), exc)
        raise ScanUnavailable(_l("Die Datei konnte gerade nicht auf Schadsoftware geprüft werden und wurde deshalb "
                                 "nicht gespeichert. Bitte versuchen Sie es in einigen Minuten noch einmal.")) from None
    if not verdict.clean:
        log.warning("upload %r refused: the virus scanner found %s", safe_display_name(filename or ""),
                    verdict.signature)
        signature = verdict.signature or "?"
        origin.record_malware(signature)
        raise MalwareFound(_l("Die Virenprüfung hat in dieser Datei Schadsoftware gefunden (%(signature)s). Die Datei "
                              "wurde nicht gespeichert. Bitte prüfen Sie Ihr Gerät und laden Sie eine saubere Datei "
                              "hoch.", signature=signature), signature)


def _content_message(problem: str) -> Any:
    messages = {
        JAVASCRIPT: _l("PDF-Dateien mit JavaScript oder anderen ausführbaren Inhalten werden nicht angenommen. Bitte "
                       "speichern Sie das Dokument ohne Skripte neu (zum Beispiel mit „Als PDF drucken“)."),
        EMBEDDED_FILES: _l("PDF-Dateien mit eingebetteten Dateien werden nicht angenommen. Bitte laden Sie jede Datei "
                           "einzeln hoch."),
        POLYGLOT: _l("Die Datei ist zugleich eine Datei anderen Formats (etwa ein ZIP-Archiv oder eine Webseite) und "
                     "wird deshalb nicht angenommen. Bitte speichern Sie das Dokument neu."),
        UNREADABLE: _l("Die PDF-Datei ist beschädigt oder mit einem Kennwort geschützt und kann nicht geprüft werden. "
                       "Bitte laden Sie eine ungeschützte PDF-Datei hoch."),
    }
    return messages[problem]


def remove_attachment(draft: Draft, person: Person, field_name: str, storage: AttachmentStorage,
                      seen: SeenStep | None = None) -> bool:
    """Remove the file of a field before submit. Commits; returns whether there was one.
    ``StepChanged`` (nothing removed) when the answers of the step of the page ``seen`` were
    changed since it was opened; ``DraftGone`` when the draft was deleted."""
    _lock_fresh(draft)
    _refuse_changed_step(draft, seen)
    previous = [a for a in draft.attachments if a.field_name == field_name]
    if not previous:
        db.session.rollback()
        return False
    keys = [a.storage_key for a in previous]
    for a in previous:
        db.session.delete(a)
    draft.data = {k: v for k, v in draft.data.items() if k != field_name}
    # The step that held the file must be completed again (a required file may now be missing).
    step_key = next((fd.step for fd in _service_fields(draft) if fd.name == field_name), None)
    draft.completed_steps = [k for k in draft.completed_steps if k != step_key]
    draft.updated_by_id = person.id
    db.session.commit()
    for key in keys:
        storage.delete(key)
    return True


def _service_fields(draft: Draft):
    from flask import current_app

    service = current_app.extensions["bizportal"].catalog.get(draft.service_key)
    return service.fields if service else ()


def _mb(value: float) -> str:
    return f"{value:g}"


# --- submit -------------------------------------------------------------------------------------

def final_answers(service: ServiceDefinition, draft: Draft) -> dict[str, Any]:
    """The answers that are filed: visible fields only, files as attachment references."""
    first_open = first_open_step(service, draft)
    if first_open:
        raise DraftIncomplete(first_open)
    visible = visible_fields(service, draft.data)
    data = service.with_copies(draft.data)  # e.g. a guardian "at the trainee's address": the address itself
    return {fd.name: data.get(fd.name) for fd in service.fields if fd.name in visible}


def _existing(token: str, company_id: int) -> SubmitOutcome | None:
    filing = db.session.scalar(select(Filing).where(Filing.submit_token == token))
    if filing is None:
        return None
    if filing.company_id != company_id:
        raise ForeignSubmitToken(token)
    return SubmitOutcome(filing, created=False)


def previous_submit(draft_id: str, company_id: int) -> SubmitOutcome | None:
    """The filing an earlier submit of this draft created, if any (double click, retried POST)."""
    return _existing(draft_id, company_id)


def filed_by(person: Person, trust_level: str | None) -> dict[str, Any]:
    """What the filing records of the person who files it (``Filing.filed_by``): the login's
    subject and issuer, name and e-mail as now, and the login's trust level (None: not known)."""
    return {"name": person.name, "email": person.email, "sub": person.sub, "issuer": person.issuer,
            "trust_level": trust_level}


def receivers_of(targets: list[tuple[Any, str]]) -> list[dict[str, Any]]:
    """The receiving bodies as the filing records them (``Filing.receivers``): primary first."""
    ordered = sorted(targets, key=lambda t: t[1] != "primary")
    return [{"role": role, "slug": chamber.slug, "name": chamber.name} for chamber, role in ordered]


def destinations_of(service: ServiceDefinition, answers: dict[str, Any], person: Person) -> list[tuple[Any, str]]:
    """The receiving bodies of these answers, as (chamber, role), primary first. Raises
    ``NoDestination`` or ``NoCompetentBody``."""
    destinations = service.destinations(answers)
    if not destinations:
        raise NoDestination(service.key)
    postcode = service.postcode_from(answers) or person.company.postcode
    municipality_key = service.municipality_key_from(answers)
    targets = [(competent_chamber(db.session, kind, postcode, municipality_key), role) for kind, role in destinations]
    return sorted(targets, key=lambda t: t[1] != "primary")


def _prefilled(service: ServiceDefinition, person: Person, answers: dict[str, Any]) -> bool:
    """Whether at least one answer is filed as the company account supplied it (for the statistics)."""
    from .forms import prefill_values

    known = prefill_values(service, {"company": person.company.master_data(), "person": person.account_data()})
    return any(answers.get(name) == value for name, value in known.items())


def submit_draft(draft: Draft, person: Person, service: ServiceDefinition, *, trust_level: str | None = None,
                 locale: str | None = None, reviewed: str | None = None) -> SubmitOutcome:
    """File the draft: the filing (with who filed, at which ``trust_level``, and the receivers),
    its attachments, one Delivery row per destination, the first timeline event, the statistics,
    the receipt PDF (in ``locale``, else the person's language, else German) and the
    acknowledgement mail (queued), all in one commit (transactional outbox); the draft is
    consumed. Idempotent per draft. Raises ``DraftIncomplete``, ``recheck.AnswerRefused`` (a step
    refuses one of the stored answers now: its fields' rules or a check of the service, run again
    under the company's lock), ``NoCompetentBody`` or ``NoDestination`` (nothing stored),
    ``DraftGone`` when the draft was deleted meanwhile, ``DraftChanged`` when it was saved after the
    review page that sent the submit was opened (``reviewed``: that page's ``review_state``; None
    when there was no page).

    Submits of the company wait for each other (its row lock): a second press of the same draft
    (a double click, another tab, a retried POST) finds the first one's filing and returns it."""
    token = str(draft.id)
    lock_company(person.company_id)
    existing = _existing(token, person.company_id)
    if existing:
        return existing
    if db.session.scalar(select(Draft.id).where(Draft.id == draft.id)) is None:
        db.session.rollback()
        raise DraftGone(token)
    db.session.refresh(draft)  # what the last save of another tab left
    if changed_since_review([draft], reviewed) is not None:  # the submitter did not see that save
        db.session.rollback()
        raise DraftChanged(draft)
    answers = final_answers(service, draft)
    refused = recheck.invalid_answer(service, draft, locale or person.locale or "de")
    if refused is not None:  # the steps' marks are not trusted: what they would refuse is not filed
        db.session.rollback()
        raise recheck.AnswerRefused(refused)
    targets = destinations_of(service, answers, person)

    for _attempt in range(MAX_REFERENCE_TRIES):
        now = utcnow()
        reference = new_reference(now.year)
        try:
            filing = file_in_transaction(draft, person, service, answers, targets, now, reference,
                                         trust_level=trust_level, locale=locale)
            db.session.commit()
            log.info("filing %s submitted as %s: %d delivery(ies) opened", filing.id, reference, len(targets),
                     extra={"filing_id": filing.id})
            return SubmitOutcome(filing, created=True)
        except IntegrityError:
            db.session.rollback()
            existing = _existing(token, person.company_id)
            if existing:  # a concurrent submit of the same draft won the race
                return existing
            if db.session.scalar(select(Filing.id).where(Filing.reference == reference)) is None:
                raise  # not a reference clash: a real integrity problem
    raise RuntimeError("could not allocate a unique reference")


def file_in_transaction(draft: Draft, person: Person, service: ServiceDefinition, answers: dict[str, Any],
                        targets: list[tuple[Any, str]], now: Any, reference: str, *, trust_level: str | None,
                        locale: str | None, bundle_id: int | None = None) -> Filing:
    """Write the filing of ``draft`` (with ``answers`` routed to ``targets``) in the caller's
    transaction and flush, without committing: the filing, its attachments, its Delivery rows,
    the first timeline event, the statistics, the receipt and the queued mail; the draft is
    deleted. ``submit_draft`` commits one of these, ``bundles.submit_bundle`` several at once.
    Raises ``IntegrityError`` at the flush on a clash (the caller rolls back)."""
    # No autoflush while the filing is assembled: a clash must surface at the flush below, not
    # at the lazy load of the draft's attachments.
    with db.session.no_autoflush:
        filing = Filing(reference=reference, submit_token=str(draft.id), company_id=person.company_id,
                        person_id=person.id, service_key=service.key, data=answers,
                        company_snapshot=person.company.master_data(), submitted_at=now,
                        filed_by=filed_by(person, trust_level), receivers=receivers_of(targets),
                        bundle_id=bundle_id)
        db.session.add(filing)
        for attachment in draft.attachments:
            attachment.filing = filing
            attachment.draft_id = None
        lifecycle.record_submitted(filing, now)
    db.session.flush()  # the filing's id, for its deliveries
    deliveries.open_deliveries(filing.id, targets, now)
    db.session.add(receipts.make_receipt(filing, service, locale or person.locale))
    stats.filing_submitted(filing, draft.id, targets, _prefilled(service, person, answers))
    notify.enqueue_filing_received(db.session, filing)
    db.session.delete(draft)
    return filing


def receipt_of(filing: Filing, service: ServiceDefinition | None) -> FilingReceipt:
    """The filing's stored receipt (``receipts.stored_receipt``: made now, once, for a filing
    made before receipts were stored)."""
    return receipts.stored_receipt(filing, service)


__all__ = [
    "DraftChanged", "DraftGone", "DraftIncomplete", "FileStoreUnavailable", "ForeignSubmitToken", "NoCompetentBody",
    "NoDestination", "NotWithdrawable", "ScanUnavailable", "StepChanged", "SubmitOutcome", "TooManyDrafts",
    "UploadRefused",
]
