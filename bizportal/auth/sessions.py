"""Server-side login sessions: a new one at every login, idle and absolute timeouts, and an end
that holds for every copy of the cookie (logout, expiry, back-channel logout)."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user, user_logged_in, user_logged_out
from sqlalchemy import select, update

from ..audit import services as audit
from ..common.time import utcnow
from ..extensions import db, rowcount
from . import recheck, tokens
from .models import LoginSession
from .trust import SESSION_KEY as TRUST_KEY
from .trust import level_from_acr

log = logging.getLogger(__name__)
SESSION_KEY = "login_session"
#: last-seen times are written at most this often, not on every request
TOUCH_INTERVAL = timedelta(seconds=60)
#: requests that do not count as activity (the page asking how long the session has left)
PASSIVE_ENDPOINTS = {"sessions.status"}


def remember_login_claims(issuer: str, claims: dict) -> None:
    """Called by the login use cases so the new session records issuer, sub and provider sid."""
    g.login_identity = {"issuer": issuer, "sub": str(claims.get("sub")), "sid": claims.get("sid"),
                        "trust_level": level_from_acr(claims.get("acr"))}


def end_sessions(where, reason: str) -> int:
    """End every open session matching ``where`` (a SQLAlchemy clause). Commits."""
    result = db.session.execute(
        update(LoginSession).where(where, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rowcount(result)


def _on_login(sender, user) -> None:
    identity = getattr(g, "login_identity", None) or {"issuer": "", "sub": "", "sid": None}
    level = identity.get("trust_level", "none")
    held = getattr(g, "login_tokens", None)
    now = utcnow()
    row = LoginSession(id=secrets.token_urlsafe(32), user_key=user.get_id(), issuer=identity["issuer"],
                       sub=identity["sub"], provider_sid=identity.get("sid"), trust_level=level,
                       tokens=tokens.seal(held, current_app.config["SECRET_KEY"]) if held else None,
                       created_at=now, last_seen_at=now, confirmed_at=now, checked_at=now)
    db.session.add(row)
    db.session.commit()
    session[SESSION_KEY] = row.id
    session[TRUST_KEY] = level
    session.permanent = True
    audit.record("login_success", user.get_id(), detail=f"issuer={identity['issuer']} trust_level={level}")


def _on_logout(sender, user) -> None:
    sid = session.get(SESSION_KEY)
    if sid:
        end_sessions(LoginSession.id == sid, "logout")
    audit.record("logout", user.get_id() if user else "anonymous")


def _check_session():
    """Before each request: a signed-in request needs an open server session within its limits."""
    if request.endpoint in (None, "static") or not current_user.is_authenticated:
        return None
    cfg = current_app.config
    sid = session.get(SESSION_KEY)
    row = db.session.get(LoginSession, sid) if sid else None
    now = utcnow()
    reason = None
    if row is None or row.ended_at is not None or row.user_key != current_user.get_id():
        reason = row.end_reason if row is not None and row.ended_at is not None else "unknown"
    elif now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"]):
        reason = "idle_timeout"
    elif now - row.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"]):
        reason = "absolute_timeout"
    elif recheck.unconfirmed_too_long(row, now):
        reason = "provider_unconfirmed"
    else:
        reason = recheck.recheck(row, current_user._get_current_object(), now)
    if reason is None:
        if request.endpoint not in PASSIVE_ENDPOINTS and now - row.last_seen_at > TOUCH_INTERVAL:
            row.last_seen_at = now
            db.session.commit()
        return None
    user_key = current_user.get_id()
    if row is not None and row.ended_at is None:
        end_sessions(LoginSession.id == row.id, reason)
    audit.record("session_ended", user_key, target=request.path, detail=reason)
    logout_user()
    session.clear()
    flash(_("Ihre Sitzung ist abgelaufen oder wurde beendet. Bitte melden Sie sich erneut an."), "info")
    kind = user_key.split(":", 1)[0]
    return redirect(url_for("auth.staff_login" if kind == "staff" else "auth.login",
                            next=request.path if request.method == "GET" else None))


def install(app: Flask) -> None:
    user_logged_in.connect(_on_login, app)
    user_logged_out.connect(_on_logout, app)
    app.before_request(_check_session)


def open_sessions(user_key: str) -> list[LoginSession]:
    return list(db.session.scalars(select(LoginSession).where(LoginSession.user_key == user_key,
                                                               LoginSession.ended_at.is_(None))))


def login_started_at() -> datetime | None:
    """When the current login began (its server session was created); None if not signed in."""
    row = db.session.get(LoginSession, session.get(SESSION_KEY, "")) if current_user.is_authenticated else None
    return row.created_at if row is not None else None


def seconds_left() -> int | None:
    """Seconds until the current session ends by the idle or absolute limit (None if not signed in)."""
    if not current_user.is_authenticated:
        return None
    row = db.session.get(LoginSession, session.get(SESSION_KEY, ""))
    if row is None or row.ended_at is not None:
        return 0
    cfg = current_app.config
    now = utcnow()
    idle_end = row.last_seen_at + timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
    absolute_end = row.created_at + timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])
    return max(0, int((min(idle_end, absolute_end) - now).total_seconds()))


def extend() -> int | None:
    """Count the request as activity (the idle limit starts again); returns the seconds left."""
    row = db.session.get(LoginSession, session.get(SESSION_KEY, "")) if current_user.is_authenticated else None
    if row is not None and row.ended_at is None:
        row.last_seen_at = utcnow()
        db.session.commit()
    return seconds_left()
