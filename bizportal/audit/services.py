"""Writing audit events in their own transaction, so they survive the caller's rollback."""

from __future__ import annotations

import logging

from flask import has_request_context, request
from sqlalchemy.orm import Session

from ..common.time import utcnow
from ..extensions import db
from .models import AuditEvent

log = logging.getLogger("bizportal.audit")
_SECRET_HINTS = ("token", "secret", "password", "code=", "assertion")


def _clean(detail: str | None) -> str | None:
    """Audit details are short human text; anything that looks like a credential is cut out."""
    if not detail:
        return None
    detail = detail[:1000]
    if any(h in detail.lower() for h in _SECRET_HINTS):
        return "[detail withheld: may contain a credential]"
    return detail


def record(action: str, actor: str, target: str | None = None, detail: str | None = None) -> None:
    """Append an audit event. Never raises: a failing audit write is logged as an error."""
    remote = request.remote_addr if has_request_context() else None
    event = AuditEvent(occurred_at=utcnow(), action=action, actor=actor[:100], target=(target or "")[:300] or None,
                       remote_addr=remote, detail=_clean(detail))
    try:
        with Session(db.engine) as session, session.begin():
            session.add(event)
    except Exception:
        log.exception("audit write failed: %s %s %s", action, actor, target)
    log.info("audit %s actor=%s target=%s from=%s", action, actor, target, remote)
