"""Writing audit events in their own transaction, so they survive the caller's rollback."""

from __future__ import annotations

import logging
import re

from flask import has_request_context, request
from sqlalchemy.orm import Session

from ..common.time import utcnow
from ..extensions import db
from .kinds import default_outcome
from .models import OUTCOMES, AuditEvent

log = logging.getLogger("bizportal.audit")
_ASSIGNED_SECRET = re.compile(
    r"((?:access_token|refresh_token|id_token|logout_token|client_secret|password|secret|code|state|nonce)"
    r"\s*[=:]\s*)[^\s,;&'\"]+", re.IGNORECASE)
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


def _clean(detail: str | None) -> str | None:
    """Audit details are short human text; values that look like credentials are blanked out."""
    if not detail:
        return None
    detail = _ASSIGNED_SECRET.sub(r"\1[withheld]", detail[:1000])
    return _JWT.sub("[token withheld]", detail)


def record(action: str, actor: str, target: str | None = None, detail: str | None = None, *,
           outcome: str | None = None, filing_id: int | None = None, chamber_id: int | None = None) -> None:
    """Append an audit event (the package docstring says what goes in which argument).

    Without a known ``outcome`` the kind's usual one is stored (``kinds.KINDS``; else success).
    Never raises: a failing audit write is logged as an error.
    """
    remote = request.remote_addr if has_request_context() else None
    outcome = outcome if outcome in OUTCOMES else default_outcome(action)
    event = AuditEvent(occurred_at=utcnow(), action=action, actor=actor[:100], target=(target or "")[:300] or None,
                       remote_addr=remote, detail=_clean(detail), outcome=outcome, filing_id=filing_id,
                       chamber_id=chamber_id)
    try:
        with Session(db.engine) as session, session.begin():
            session.add(event)
    except Exception:
        log.exception("audit write failed: %s %s %s", action, actor, target)
    log.info("audit %s actor=%s target=%s filing=%s outcome=%s from=%s", action, actor, target, filing_id, outcome,
             remote)
