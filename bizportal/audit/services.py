"""Writing audit events in their own transaction, so they survive the caller's rollback; each one
joins the hash chain (``chain``), anonymous noise is counted per kind, source and minute."""

from __future__ import annotations

import dataclasses
import logging
import re

from flask import current_app, has_request_context, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..common.time import utcnow
from ..extensions import db
from . import chain
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


def is_noise(actor: str, outcome: str) -> bool:
    """Anonymous refusals and failures (probes, forged requests, failed logins) are counted per
    kind, source and minute instead of one entry each."""
    return actor == "anonymous" and outcome != "success"


def record(action: str, actor: str, target: str | None = None, detail: str | None = None, *,
           outcome: str | None = None, filing_id: int | None = None, chamber_id: int | None = None) -> None:
    """Append an audit event (the package docstring says what goes in which argument).

    Without a known ``outcome`` the kind's usual one is stored (``kinds.KINDS``; else success).
    The entry joins the hash chain in the same transaction (``chain``); anonymous noise
    (``is_noise``) is counted in the open row of its kind, source and minute instead.
    Never raises: a failing audit write is logged as an error.
    """
    remote = request.remote_addr if has_request_context() else None
    outcome = outcome if outcome in OUTCOMES else default_outcome(action)
    values = dict(action=action, actor=actor[:100], target=(target or "")[:300] or None, remote_addr=remote,
                  detail=_clean(detail), outcome=outcome, filing_id=filing_id, chamber_id=chamber_id)
    noise = is_noise(actor, outcome)
    for attempt in (1, 2):
        event = AuditEvent(occurred_at=utcnow(), count=1, bucket=None, **values)
        try:
            if noise:  # most of a burst: one more in the open row, without queueing on the chain head
                with Session(db.engine) as session, session.begin():
                    if chain.count_in_open_row(session, event):
                        break
            with Session(db.engine) as session, session.begin():
                head = chain.lock_head(session)
                chain.seal_closed(session, head, event.occurred_at)
                if noise:
                    chain.count_noise(session, event, current_app.config["SETTINGS"].audit.noise_sources_per_minute)
                else:
                    head.link(event)
                    session.add(event)
                head.save()
            break
        except IntegrityError:
            if attempt == 2:  # the chain head was made by another writer at the same moment: once more
                log.exception("audit write failed: %s %s %s", action, actor, target)
        except Exception:
            log.exception("audit write failed: %s %s %s", action, actor, target)
            break
    log.info("audit %s actor=%s target=%s filing=%s outcome=%s from=%s", action, actor, target, filing_id, outcome,
             remote)


def seal_closed_noise() -> int:
    """Chain the aggregated rows whose minute is over (every append does this too); commits.
    Returns how many were chained."""
    with Session(db.engine) as session, session.begin():
        head = chain.lock_head(session)
        sealed = chain.seal_closed(session, head, utcnow())
        head.save()
    return sealed


def verify_chain(pinned: chain.Head | None = None) -> chain.Verdict:
    """Chain what has closed, then walk the whole chain (``chain.verify``); with ``pinned`` (a
    head printed earlier by ``flask audit head`` and kept outside the database) the chain must
    still hold that entry (``chain.check_pinned``)."""
    seal_closed_noise()
    with Session(db.engine) as session:
        verdict = chain.verify(session)
        if pinned is not None and verdict.broken is None:
            broken = chain.check_pinned(session, pinned)
            if broken is not None:
                verdict = dataclasses.replace(verdict, broken=broken)
        return verdict


def chain_head() -> chain.Head:
    """Chain what has closed; the chain's end (``flask audit head``)."""
    seal_closed_noise()
    with Session(db.engine) as session:
        return chain.head_of(session)
