"""Login and logout for companies (``/login``) and staff (``/staff/login``)."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..audit import services as audit
from . import oidc, services
from .access import public, safe_next

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

NEXT_KEY = "login_next"


def _start(name: str, callback_endpoint: str):
    redirect_uri = url_for(callback_endpoint, _external=True)
    try:
        authorize_url = oidc.start_login(name, redirect_uri)
    except oidc.LoginFailed as exc:
        log.warning("login start refused: %s", exc.reason)
        return _unavailable()
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    return redirect(authorize_url)


def _unavailable():
    return _login_error(503, _("Der Anmeldedienst ist zurzeit nicht erreichbar. Bitte versuchen Sie es später erneut."))


def _login_error(status: int, message: str):
    return render_template("auth/login_error.html", message=message), status


def _finish(name: str):
    cfg = current_app.config
    issuer = oidc.provider(name).account_issuer
    next_url = session.pop(NEXT_KEY, None)
    try:
        claims = oidc.complete_login(name, request.args)
        if name == "company":
            user = services.company_login(issuer, claims, cfg["COMPANY_ID_CLAIM"])
        else:
            user = services.staff_login(issuer, claims, cfg["STAFF_ROLES_CLAIM"], cfg["STAFF_CHAMBER_CLAIM"])
    except oidc.LoginFailed as exc:
        log.warning("login failed: %s (from %s)", exc.reason, request.remote_addr)
        audit.record("login_failure", "anonymous", target=f"{name} login", detail=exc.reason)
        if isinstance(exc, oidc.StateRejected):
            # Not a login this browser started: anyone can link here, so a signed-in session stays
            # as it is (only the logins in progress are dropped).
            session.pop(oidc.PENDING_KEY, None)
        else:
            session.clear()
        if isinstance(exc, oidc.ProviderUnavailable):
            return _unavailable()
        return _login_error(401, exc.user_message or _("Die Anmeldung konnte nicht abgeschlossen werden. "
                                                       "Bitte versuchen Sie es erneut."))
    session.clear()  # a fresh session at login: nothing from before the login survives
    login_user(user)
    log.info("login %s user=%s from %s", name, user.get_id(), request.remote_addr)
    flash(_("Sie sind angemeldet."), "success")
    default = url_for("filings.index") if name == "company" else url_for("inbox.staff_home")
    return redirect(next_url or default)


@bp.get("/login")
@public
def login():
    return _start("company", "auth.callback")


@bp.get("/login/callback")
@public
def callback():
    return _finish("company")


@bp.get("/staff/login")
@public
def staff_login():
    return _start("staff", "auth.staff_callback")


@bp.get("/staff/login/callback")
@public
def staff_callback():
    return _finish("staff")


@bp.post("/logout")
@public
def logout():
    """End the portal session; where the provider offers it, end the provider's session too
    (RP-initiated logout: the browser is sent to its ``end_session_endpoint`` and back)."""
    provider_name = None
    if current_user.is_authenticated:
        log.info("logout user=%s", current_user.get_id())
        provider_name = "staff" if getattr(current_user, "kind", None) == "staff" else "company"
    logout_user()
    session.clear()
    flash(_("Sie sind abgemeldet."), "info")
    home = url_for("catalog.index", _external=True)
    end_session = oidc.end_session_url(provider_name, home) if provider_name else None
    return redirect(end_session or home)
