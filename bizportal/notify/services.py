"""The mail queue: queue a notification with its event, send it from the worker.

Every state change of a notification happens here, along the edges of ``states.MACHINE``. A notification
is written in the caller's transaction, so a rolled-back event announces nothing; the worker
claims due rows with a lease, sends each mail with no transaction open and records the outcome
only while it still holds the row. SMTP has no idempotency key: a worker that dies after the
server accepted a mail but before the outcome is committed sends it again after the lease has run
out, with the same Message-ID, so the receiving side can recognise the copy.
"""

from __future__ import annotations

import logging
import random
import smtplib
import traceback
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import Flask, current_app, has_request_context, url_for
from flask_babel import force_locale
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, scoped_session

from ..catalog.models import ServiceDefinition
from ..common import dbclock, mail
from ..common.i18n import supported_locale
from ..config import MailSettings
from ..extensions import db, table_of
from ..filings.models import Draft, Filing, FilingMessage, FilingStatus, MessageKind
from ..filings.receipts import receipt_filename, stored_receipt
from .models import Notification
from .states import MACHINE, NotificationKind, NotificationState

log = logging.getLogger(__name__)

_N = table_of(Notification)
#: the "from" filters of the bulk statements, checked against the transition table at import
_CLAIMABLE = MACHINE.edges((NotificationState.PENDING, NotificationState.SENDING), NotificationState.SENDING)
_OUTCOMES = {t: MACHINE.edges((NotificationState.SENDING,), t)
             for t in (NotificationState.SENT, NotificationState.PENDING, NotificationState.DEAD)}

#: the chamber events a company is told about by mail; the others show on the filing's page only
MAILED_EVENTS = (FilingStatus.INFORMATION_REQUESTED, FilingStatus.ACCEPTED, FilingStatus.REJECTED)


# --- queueing ------------------------------------------------------------------------------------

def enqueue_filing_received(session: Session | scoped_session[Any], filing: Filing) -> Notification | None:
    """Queue the acknowledgement of receipt (with the receipt PDF) for a just submitted filing.

    Adds the row to ``session`` without flushing or committing: the caller commits it together
    with the filing, so a submit that rolls back sends nothing. Returns ``None`` (nothing queued)
    when neither the company nor the acting person has an e-mail address.
    """
    return _enqueue(session, filing, NotificationKind.FILING_RECEIVED, {})


def enqueue_status_changed(session: Session | scoped_session[Any], filing: Filing, kind: str,
                           detail: str | None, chamber_name: str, documents: int = 0,
                           due_on: date | None = None) -> Notification | None:
    """Queue "the chamber asked for information / decided" for a chamber event on ``filing``.

    Only the events in ``MAILED_EVENTS`` are mailed; for others, and without an address, nothing
    is queued (``None``). ``documents``: how many decision documents wait in the portal (the mail
    says so and names the portal; it never carries them); ``due_on``: a request's answer date.
    Like ``enqueue_filing_received``, the caller commits the row with the event.
    """
    if kind not in MAILED_EVENTS:
        return None
    context = {"event": str(kind), "detail": (detail or "").strip() or None, "chamber": chamber_name,
               "documents": documents, "due_on": due_on.isoformat() if due_on else None}
    return _enqueue(session, filing, NotificationKind.STATUS_CHANGED, context)


def enqueue_chamber_message(session: Session | scoped_session[Any], filing: Filing, chamber_name: str,
                            body: str, documents: int = 0) -> Notification | None:
    """Queue "the chamber wrote to you" for a chamber's message about ``filing`` that changes no
    status. The mail quotes the text like a request's mail, says how many documents wait in the
    portal (``documents``; it never carries them) and links the filing's page. Like
    ``enqueue_filing_received``, the caller commits the row with the message; ``None`` without
    an address."""
    context = {"chamber": chamber_name, "detail": (body or "").strip()[:1000] or None, "documents": documents}
    return _enqueue(session, filing, NotificationKind.CHAMBER_MESSAGE, context)


def enqueue_draft_expiring(session: Session | scoped_session[Any], draft: Draft, title: str,
                           deleted_from: date) -> Notification | None:
    """Queue "your untouched draft will be deleted from ``deleted_from`` on" (retention) to the
    company's address, else the person who last worked on it, in that person's language.

    Adds the row to ``session``; the caller commits it with the draft's reminder mark. ``None``
    (nothing queued) without an address. The mail names the service and links the company's
    list of drafts; it carries none of the draft's answers.
    """
    person = draft.updated_by
    to = (person.company.notification_email or person.email or "").strip() or None
    if to is None:
        log.info("no e-mail address for draft %s; its deletion is not announced by mail", draft.id)
        return None
    notification = Notification(kind=NotificationKind.DRAFT_EXPIRING, filing_id=None, recipient=to,
                                locale=supported_locale(person.locale),
                                context={"title": title, "deleted_from": deleted_from.isoformat(),
                                         "draft": str(draft.id)})
    session.add(notification)
    return notification


def queue_reminders(days_before: int, today: date, limit: int = 200) -> int:
    """Queue one reminder mail for each unanswered information request of an open filing that is
    due within ``days_before`` days of ``today`` (the portal's calendar day) and not reminded yet.
    Marks the request reminded in the same commit, so a request is reminded at most once, also
    with several workers (rows another worker holds are skipped). Returns how many were queued.
    """
    rows = db.session.execute(
        select(FilingMessage, Filing).join(Filing, Filing.id == FilingMessage.filing_id)
        .where(FilingMessage.kind == MessageKind.REQUEST, FilingMessage.answered_at.is_(None),
               FilingMessage.reminded_at.is_(None), FilingMessage.due_on.is_not(None),
               FilingMessage.due_on >= today, FilingMessage.due_on <= today + timedelta(days=days_before),
               # not on the day of the request: the request's own mail has just told the company
               FilingMessage.created_at <= dbclock.now_sql(-timedelta(days=1)),
               Filing.status == FilingStatus.INFORMATION_REQUESTED)
        .order_by(FilingMessage.due_on, FilingMessage.id).limit(limit)
        .with_for_update(skip_locked=True, of=FilingMessage)).all()
    if not rows:
        db.session.rollback()
        return 0
    now = dbclock.now()
    for request, filing in rows:
        request.reminded_at = now
        _enqueue(db.session, filing, NotificationKind.REQUEST_REMINDER, {
            "due_on": request.due_on.isoformat() if request.due_on else None,
            "chamber": request.chamber.name, "detail": request.body[:1000]})
    db.session.commit()
    return len(rows)


def recipient_of(filing: Filing) -> str | None:
    """The company's address for notifications, else the acting person's; ``None`` without either."""
    return (filing.company.notification_email or filing.person.email or "").strip() or None


def _enqueue(session: Session | scoped_session[Any], filing: Filing, kind: NotificationKind,
             context: dict[str, Any]) -> Notification | None:
    to = recipient_of(filing)
    if to is None:
        log.info("no e-mail address for filing %s; %s shown on its page only", filing.reference, kind)
        return None
    notification = Notification(kind=kind, filing=filing, recipient=to, locale=supported_locale(filing.person.locale),
                                context=context)
    session.add(notification)
    return notification


# --- sending -------------------------------------------------------------------------------------

def send_due(app: Flask, worker_id: str, settings: MailSettings, limit: int) -> int:
    """Send up to ``limit`` due notifications; returns how many were attempted (sent or not).

    Claims due rows (pending and due, or sending with a lease that ran out) in one committed
    transaction; on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so concurrent workers never take
    the same row (SQLite runs one worker). Then per row: renew the lease (a row taken over by
    another worker meanwhile is skipped), render, send with no transaction open, and record
    ``sent``, a retry with backoff (``pending``) or ``dead`` (refused for good, or the attempt cap),
    only if this worker still holds the row. Leases, due times and ``sent_at`` are reckoned from
    the database's clock (``common.dbclock``), never the worker's. Raises only for database
    errors; a mail that cannot be rendered or sent counts as a failed attempt.
    """
    with app.app_context():
        try:
            claimed = _claim(worker_id, settings, limit)
            for notification_id in claimed:
                _attempt(notification_id, worker_id, settings)
            return len(claimed)
        finally:
            db.session.remove()


def _due(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    """Due: pending and its time has come, or sending with a lease that ran out (its worker died)."""
    pending, sending = _CLAIMABLE
    return or_(
        and_(_N.c.state == pending, _N.c.next_attempt_at <= now),
        and_(_N.c.state == sending, _N.c.locked_until < now),
    )


def _claim(worker_id: str, settings: MailSettings, limit: int) -> list[uuid.UUID]:
    """Lease up to ``limit`` due notifications to ``worker_id``, counting the attempt; commits."""
    if limit <= 0:
        return []
    now = dbclock.now_sql()
    picked = (
        select(_N.c.id).where(_due(now)).order_by(_N.c.next_attempt_at).limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite ignores it (one worker, writers serialised)
        .cte("picked")
    )
    rows = db.session.execute(
        _N.update()
        .where(_N.c.id.in_(select(picked.c.id)), _due(now))
        .values(state=NotificationState.SENDING, locked_by=worker_id,
                locked_until=dbclock.now_sql(timedelta(seconds=settings.lease_seconds)),
                attempts=_N.c.attempts + 1)
        .returning(_N.c.id, _N.c.next_attempt_at, _N.c.created_at)
    ).all()
    db.session.commit()
    return [r.id for r in sorted(rows, key=lambda r: (r.next_attempt_at, r.created_at))]


def _attempt(notification_id: uuid.UUID, worker_id: str, settings: MailSettings) -> None:
    """Send one claimed notification and record the outcome (nothing when the lease is lost)."""
    attempts = _renew(notification_id, worker_id, settings)
    if attempts is None:
        log.warning("notification %s was taken over by another worker before sending", notification_id)
        return
    error: BaseException | None = None
    try:
        message = _render(notification_id)
    except Exception as exc:  # a mail that cannot be built must not block the others
        db.session.rollback()
        log.exception("notification %s could not be rendered", notification_id)
        error = exc
    else:
        try:
            mail.send(message)  # no transaction is open here
        except Exception as exc:
            error = exc
    if not _record(notification_id, worker_id, attempts, error, settings):
        log.warning("notification %s: lease lost before the outcome was written", notification_id)


def _renew(notification_id: uuid.UUID, worker_id: str, settings: MailSettings) -> int | None:
    """Extend this worker's lease right before the send; commits. Returns the attempt number,
    or ``None`` when another worker holds the row now."""
    attempts = db.session.scalar(
        _N.update()
        .where(_N.c.id == notification_id, _N.c.locked_by == worker_id, _N.c.state == NotificationState.SENDING)
        .values(locked_until=dbclock.now_sql(timedelta(seconds=settings.lease_seconds)))
        .returning(_N.c.attempts)
    )
    db.session.commit()
    return attempts


def _render(notification_id: uuid.UUID) -> EmailMessage:
    """Build the mail from the notification and its filing, read afresh; ends the read transaction."""
    notification = db.session.get_one(Notification, notification_id)
    filing = notification.filing
    if filing is None:  # about a draft: everything the mail says is in its context
        with force_locale(notification.locale):
            subject, body = render_mail(notification.kind, {
                **notification.context, "deleted_from": date.fromisoformat(notification.context["deleted_from"]),
                "link": _link("filings.index")})
        message = mail.build_message(notification.recipient, subject, body, [],
                                     message_id=message_id(notification.id))
        db.session.rollback()
        return message
    catalog: Mapping[str, ServiceDefinition] = current_app.extensions["bizportal"].catalog
    service = catalog.get(filing.service_key)
    locale = notification.locale
    identity = current_app.config["SETTINGS"].identity
    values = {
        **notification.context,
        "reference": filing.reference,
        "title": service.title.get(locale) if service else filing.service_key,
        "link": _link("filings.detail", reference=filing.reference),
        "service_kind": service.kind if service else "",
        "portal": identity.portal_name,
        "operator": identity.operator,
    }
    attachments: list[tuple[str, str, bytes]] = []
    with force_locale(locale):
        subject, body = render_mail(notification.kind, values)
        if notification.kind == NotificationKind.FILING_RECEIVED:
            # the receipt as stored at submit (in the language it was made in), never re-rendered
            receipt = stored_receipt(filing, service)
            attachments.append((receipt_filename(filing.reference, receipt.locale), "application/pdf",
                                receipt.content))
    message = mail.build_message(notification.recipient, subject, body, attachments,
                                 message_id=message_id(notification.id))
    db.session.rollback()
    return message


def render_mail(kind: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body from ``templates/mail/<kind>.txt`` (blocks ``subject`` and ``body``).

    Rendered in the current locale (use ``force_locale``); the subject is one line.
    """
    template = current_app.jinja_env.get_template(f"mail/{kind}.txt")
    context = template.new_context(dict(values))
    subject = " ".join("".join(template.blocks["subject"](context)).split())
    body = "".join(template.blocks["body"](context)).strip() + "\n"
    return subject, body


def message_id(notification_id: uuid.UUID) -> str:
    """The Message-ID of a notification's mail: the same on every attempt."""
    return f"<notification.{notification_id}@{mail.mail_domain()}>"


def _link(endpoint: str, **values) -> str:
    """An absolute link for a mail, also from the worker (no web request): PUBLIC_BASE_URL."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["SETTINGS"].mail.public_base_url):
        return url_for(endpoint, _external=True, **values)


# --- recording -----------------------------------------------------------------------------------

def _record(notification_id: uuid.UUID, worker_id: str, attempts: int, error: BaseException | None,
            settings: MailSettings) -> bool:
    """Write the outcome of one attempt if this worker still holds the row; commits. Returns whether written."""
    values: dict[str, Any] = {"locked_by": None, "locked_until": None}
    if error is None:
        values.update(state=NotificationState.SENT, sent_at=dbclock.now_sql(), last_error=None)
    elif is_permanent(error) or attempts >= settings.max_attempts:
        values.update(state=NotificationState.DEAD, last_error=_describe(error))
    else:
        values.update(state=NotificationState.PENDING, last_error=_describe(error),
                      next_attempt_at=dbclock.now_sql(backoff_delay(attempts, settings)))
    written = db.session.scalar(
        _N.update()
        .where(_N.c.id == notification_id, _N.c.locked_by == worker_id, _N.c.state.in_(_OUTCOMES[values["state"]]))
        .values(**values)
        .returning(_N.c.id)
    )
    db.session.commit()
    if written is None:
        return False
    (log.debug if error is None else log.info)("notification %s: %s (attempt %d)", notification_id,
                                               values["state"], attempts)
    return True


def is_permanent(exc: BaseException) -> bool:
    """Whether the SMTP server refused the mail itself for good (5xx for all recipients, or for the data).

    A refused sender or login is a configuration problem, not the mail's: retried like a
    connection failure.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _msg in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def backoff_delay(attempts: int, settings: MailSettings) -> timedelta:
    """Exponential backoff with jitter: between half and all of base·2^(attempts−1), capped."""
    delay = min(settings.backoff_max, settings.backoff_base * (2 ** max(attempts - 1, 0)))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPException | OSError):
        return f"{type(exc).__name__}: {exc}"[:2000]
    return (f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc)))[-8000:]
