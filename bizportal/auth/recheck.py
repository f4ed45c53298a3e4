"""Re-checking a signed-in session at its login provider, every few minutes.

Back-channel logout is the fast path; this is the net under it. A role revoked or a person moved
to another company at the provider must not live on in older portal sessions until their idle
timeout. Every ``SESSION_RECHECK_MINUTES`` a request of the session asks the provider's userinfo
endpoint with the login's access token (sealed on the row, ``auth.tokens``); an access token the
provider refuses is renewed once with the refresh token. Outcomes:

- the provider confirms the same ``sub`` and still grants the session's roles and chamber (staff)
  or names the same company (company person): ``confirmed_at`` moves on;
- it answers but no longer confirms (another company, other or no roles, the tokens refused:
  the login ended there, a missing refresh token, tokens that cannot be opened): the session ends
  with that reason;
- it cannot be asked (timeout, network error, HTTP 5xx): the session stays, and is asked again
  after the next interval. Only when nothing was confirmed for the interval plus
  ``SESSION_RECHECK_GRACE_MINUTES`` does it end (``provider_unconfirmed``). A short outage does
  not log everyone out; a long one does not keep revoked sessions alive for ever.

Only one request per session asks (a conditional update of ``checked_at`` decides which), and no
database transaction is open while the provider is asked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import update

from ..common.time import utcnow
from ..extensions import db, rowcount
from . import oidc, tokens
from .models import LoginSession, Person, StaffUser
from .provider import LoginFailed, ProviderUnavailable, TokenRejected

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    interval: timedelta | None  #: None: no re-check
    grace: timedelta


def policy() -> Policy:
    web = current_app.config["SETTINGS"].web
    interval = timedelta(minutes=web.session_recheck_minutes) if web.session_recheck_minutes > 0 else None
    return Policy(interval=interval, grace=timedelta(minutes=web.session_recheck_grace_minutes))


def unconfirmed_too_long(row: LoginSession, now: datetime) -> bool:
    """The provider has not confirmed the session for longer than the interval plus the grace period."""
    rule = policy()
    if rule.interval is None:
        return False
    return now - (row.confirmed_at or row.created_at) > rule.interval + rule.grace


def recheck(row: LoginSession, user: Person | StaffUser, now: datetime) -> str | None:
    """Ask the provider about ``row`` if its interval has passed; return a reason to end it, or None.

    Commits (the claim of the check, and its outcome).
    """
    rule = policy()
    if rule.interval is None:
        return None
    last = row.checked_at or row.confirmed_at or row.created_at
    if now - last < rule.interval:
        return None
    sealed, sub, user_key = row.tokens, row.sub, user.get_id()  # read before the commit expires them
    claimed = db.session.execute(
        update(LoginSession).where(LoginSession.id == row.id, _same(LoginSession.checked_at, row.checked_at))
        .values(checked_at=now).execution_options(synchronize_session=False))
    db.session.commit()
    if rowcount(claimed) != 1:
        return None  # another request of this session is asking right now
    name = "staff" if isinstance(user, StaffUser) else "company"
    outcome, renewed = _ask(name, sealed, sub, user)
    if outcome == "unavailable":
        return None
    if outcome is not None:
        log.info("session of %s not confirmed by the %s provider: %s", user_key, name, outcome)
        return outcome
    values: dict[str, Any] = {"confirmed_at": utcnow()}
    if renewed is not None:
        values["tokens"] = tokens.seal(renewed, current_app.config["SECRET_KEY"])
    db.session.execute(update(LoginSession).where(LoginSession.id == row.id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return None


def _same(column, value):
    return column.is_(None) if value is None else column == value


def _ask(name: str, sealed: str | None, sub: str, user: Person | StaffUser) -> tuple[str | None, dict | None]:
    """(None | end reason | "unavailable", renewed tokens or None) — the provider's word on the login."""
    secret = current_app.config["SECRET_KEY"]
    held = tokens.unseal(sealed, secret)
    if not held or not held.get("access_token"):
        return "not_recheckable", None
    provider = oidc.provider(name)
    renewed = None
    try:
        try:
            claims = provider.userinfo(held["access_token"])
        except TokenRejected:
            if not held.get("refresh_token"):
                raise
            answer = provider.refresh(held["refresh_token"])
            renewed = {"access_token": answer["access_token"],
                       "refresh_token": answer.get("refresh_token") or held["refresh_token"]}
            claims = provider.userinfo(renewed["access_token"])
    except ProviderUnavailable as exc:
        log.warning("session re-check: %s", exc.reason)
        return "unavailable", None
    except TokenRejected as exc:
        log.info("session re-check: %s", exc.reason)
        return "provider_refused", None
    except LoginFailed as exc:
        log.warning("session re-check: %s", exc.reason)
        return "provider_refused", None
    if claims is None:  # no userinfo endpoint: only back-channel logout can end such sessions
        return None, renewed
    if claims.get("sub") != sub:
        return "provider_refused", None
    from . import services  # services → sessions → recheck: import at call time

    cfg = current_app.config
    db.session.refresh(user)
    if isinstance(user, StaffUser):
        reason = services.staff_claims_hold(user, claims, cfg["STAFF_ROLES_CLAIM"], cfg["STAFF_CHAMBER_CLAIM"])
    else:
        reason = services.company_claims_hold(user, claims, cfg["COMPANY_ID_CLAIM"])
    db.session.rollback()  # nothing to write here; no transaction stays open
    return reason, renewed
