"""What a chamber system changes through the API, on the same ``filings.lifecycle`` functions as
the staff workspace: the same status machine, the same conversation, mails and audit entries.

The client acts as a ``lifecycle.ChamberActor`` (its messages name no staff member; the audit
names the client). Refusals are ``problems.Problem``: 409 for a step that does not fit the
filing (with its current status), 422 for input the staff form would refuse too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from datetime import date, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import select

from ..common.states import Refused
from ..common.time import local_today
from ..extensions import db
from ..filings import conversation, lifecycle
from ..filings.models import Filing, FilingMessage
from ..filings.services import ScanUnavailable, UploadOrigin, UploadRefused
from ..filings.states import FilingStatus
from ..inbox import queries as inbox
from ..inbox.forms import MAX_ANSWER_DAYS
from ..inbox.models import InboxItem
from . import problems, schemas
from .models import ApiClient


def actor(client: ApiClient) -> lifecycle.ChamberActor:
    return lifecycle.ChamberActor(audit_id=client.audit_id, chamber_id=client.chamber_id)


def _origin(client: ApiClient, item: InboxItem, field: str) -> UploadOrigin:
    return UploadOrigin(client.audit_id, field, chamber_id=client.chamber_id, delivery_id=item.delivery_id)


def _storage():
    return current_app.extensions["bizportal"].storage


def _conflict(exc: Exception, filing: Filing | None) -> problems.Problem:
    status = filing.status if filing is not None else None
    return problems.Problem(409, str(exc), current_status=status)


def _decode(files: list[schemas.FileUpload], accept: tuple[str, ...],
            origin: UploadOrigin) -> list[lifecycle.StoredFile]:
    """Decode and check the files like uploads of the staff pages, and store them (all or none)."""
    uploads = []
    for i, f in enumerate(files):
        try:
            content = base64.b64decode(f.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise problems.Problem(422, f"File {i + 1} ({f.filename}): content_base64 is not valid base64.",
                                   errors=[{"loc": ["body", i, "content_base64"], "msg": "not base64"}]) from None
        uploads.append((f.filename, io.BytesIO(content)))
    try:
        return conversation.store_files(uploads, _storage(), accept=accept, origin=origin)
    except ScanUnavailable as exc:  # no verdict: try again later, nothing was stored
        raise problems.Problem(503, str(exc), headers={"Retry-After": "60"}) from None
    except UploadRefused as exc:
        raise problems.Problem(exc.status, str(exc)) from None


def acknowledge(client: ApiClient, item: InboxItem) -> schemas.TransitionResult:
    """Confirm receipt (``received``). Idempotent: when the chamber confirmed already, nothing
    changes and ``recorded`` is false. 409 when the filing is closed or beyond receipt."""
    filing = inbox.filing_of(item)
    if filing is None:
        raise problems.Problem(409, "The filing is no longer in the portal.")
    if inbox.noted(filing.id, item.chamber_id):
        return schemas.TransitionResult(reference=item.reference, status=cast(Any, filing.status), recorded=False)
    try:
        filing = lifecycle.staff_event(item.delivery_id, FilingStatus.RECEIVED, actor(client), filing.status)
    except Refused as exc:
        raise _conflict(exc, inbox.filing_of(item)) from None
    return schemas.TransitionResult(reference=item.reference, status=cast(Any, filing.status), recorded=True)


def _check_step(body: schemas.TransitionRequest) -> None:
    """What the staff form checks before the lifecycle does (``inbox.forms.ActionForm``)."""
    reason = (body.reason or "").strip()
    if body.to in (FilingStatus.INFORMATION_REQUESTED, FilingStatus.REJECTED) and not reason:
        raise problems.Problem(422, "A request for information and a rejection need a reason.",
                               errors=[{"loc": ["body", "reason"], "msg": "required for this step"}])
    if body.to == FilingStatus.INFORMATION_REQUESTED:
        today = local_today(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        if body.due_on is None or not today < body.due_on <= today + timedelta(days=MAX_ANSWER_DAYS):
            raise problems.Problem(422, "A request for information needs due_on: a day after today, at most a "
                                        "year ahead.", errors=[{"loc": ["body", "due_on"], "msg": "out of range"}])
    if body.documents and body.to not in (FilingStatus.ACCEPTED, FilingStatus.REJECTED):
        raise problems.Problem(422, "Documents go only with a decision (accepted or rejected).",
                               errors=[{"loc": ["body", "documents"], "msg": "only with a decision"}])


def transition(client: ApiClient, item: InboxItem, body: schemas.TransitionRequest) -> schemas.TransitionResult:
    """One step of the status machine, refused (409) when ``expected_status`` is no longer the
    filing's status or the step is not allowed from it; decision documents are stored with the
    decision, and removed again when it is refused."""
    _check_step(body)
    filing = inbox.filing_of(item)
    if filing is None:
        raise problems.Problem(409, "The filing is no longer in the portal.")
    due_on: date | None = body.due_on if body.to == FilingStatus.INFORMATION_REQUESTED else None
    files = _decode(body.documents, conversation.DECISION_TYPES, _origin(client, item, "documents")) \
        if body.documents else []
    try:
        filing = lifecycle.staff_event(item.delivery_id, body.to, actor(client), body.expected_status,
                                       body.reason, due_on=due_on, files=files)
    except Refused as exc:
        conversation.discard(files, _storage())
        raise _conflict(exc, inbox.filing_of(item)) from None
    return schemas.TransitionResult(reference=item.reference, status=cast(Any, filing.status), recorded=True)


def message(client: ApiClient, item: InboxItem, body: schemas.MessageRequest,
            idempotency_key: str | None = None) -> schemas.Message:
    """A message to the company (with documents) without a change of status; 409 on a closed
    filing. With ``idempotency_key`` a repeated request answers the message stored first."""
    if not body.body.strip():
        raise problems.Problem(422, "The message is empty.", errors=[{"loc": ["body", "body"], "msg": "empty"}])
    token = _idempotency_token(client, idempotency_key)
    files = _decode(body.files, conversation.MESSAGE_TYPES, _origin(client, item, "files")) if body.files else []
    from .queries import message as shown

    try:
        written = lifecycle.chamber_message(item.delivery_id, actor(client), body.body, files, form_token=token)
    except lifecycle.AlreadySent:  # a retry of a message that was stored: the same answer again
        conversation.discard(files, _storage())
        filing = inbox.filing_of(item)
        earlier = db.session.scalars(select(FilingMessage).where(FilingMessage.filing_id == filing.id,
                                                                 FilingMessage.form_token == token)).one()
        return shown(item, earlier)
    except Refused as exc:
        conversation.discard(files, _storage())
        raise _conflict(exc, inbox.filing_of(item)) from None
    return shown(item, written)


def _idempotency_token(client: ApiClient, key: str | None) -> str | None:
    """The message's one-time token from the client's ``Idempotency-Key`` (kept per client): a
    repeated request with the same key stores nothing new and answers the stored message."""
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise problems.Problem(400, "Idempotency-Key must be 1 to 200 printable characters.")
    return hashlib.sha256(f"{client.client_id}\n{key}".encode()).hexdigest()[:32]
