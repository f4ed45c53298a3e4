"""Response headers and error pages that every response gets."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..api import problems
from ..audit import services as audit
from ..common.states import Refused

log = logging.getLogger("bizportal.security")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self' {form_action}; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)


def install(app: Flask) -> None:
    # The login forms post to the login provider; allow exactly those origins as form targets.
    providers = " ".join(sorted({app.config["COMPANY_OIDC_ISSUER"], app.config["STAFF_OIDC_ISSUER"]}))
    csp = CSP.format(form_action=providers)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if current_user and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
        return response

    messages = {
        400: lambda: _("Die Anfrage war fehlerhaft."),
        403: lambda: _("Sie haben keinen Zugriff auf diese Seite."),
        404: lambda: _("Diese Seite gibt es nicht, oder sie ist für Sie nicht sichtbar."),
        405: lambda: _("Diese Aktion ist hier nicht möglich."),
        413: lambda: _("Die gesendeten Daten sind zu groß."),
        422: lambda: _("Die Angaben konnten nicht verarbeitet werden."),
        500: lambda: _("Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später erneut."),
        503: lambda: _("Der Dienst ist vorübergehend nicht verfügbar."),
    }

    titles = {
        400: lambda: _("Fehlerhafte Anfrage"),
        403: lambda: _("Kein Zugriff"),
        404: lambda: _("Seite nicht gefunden"),
        405: lambda: _("Aktion nicht möglich"),
        413: lambda: _("Daten zu groß"),
        422: lambda: _("Angaben nicht verarbeitbar"),
        500: lambda: _("Interner Fehler"),
        503: lambda: _("Dienst nicht verfügbar"),
    }

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        log.warning("refused: CSRF check failed (%s) %s %s from %s", exc.description, request.method,
                    request.path, request.remote_addr)
        user = current_user.get_id() if current_user and current_user.is_authenticated else "anonymous"
        audit.record("access_refused", user, target=f"{request.method} {request.path}", detail="csrf")
        return _page(400, _("Sitzung abgelaufen oder Formular ungültig"),
                     _("Das Formular konnte nicht sicher übermittelt werden. Bitte laden Sie die Seite neu "
                       "und senden Sie es erneut. Es wurde nichts gespeichert."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if problems.is_api_request():  # the chamber API answers every error as a problem document
            return problems.from_http_exception(exc)
        if exc.code in (403, 404):
            # anonymous 404s (probes) are counted per source and minute by ``audit.record``
            user = current_user.get_id() if current_user and current_user.is_authenticated else "anonymous"
            log.warning("refused: %s %s %s for %s from %s", exc.code, request.method, request.path, user,
                        request.remote_addr)
            audit.record("access_refused", user, target=f"{request.method} {request.path}", detail=str(exc.code))
        message = messages.get(exc.code or 500, lambda: exc.description)()
        title = titles.get(exc.code or 500, lambda: exc.name)()
        return _page(exc.code or 500, title, message)

    @app.errorhandler(Refused)
    def refused(exc: Refused):
        """A domain rule refused the action (e.g. a state change the state machine does not allow)."""
        log.info("refused on %s %s: %s", request.method, request.path, exc)
        if problems.is_api_request():
            return problems.response(409, str(exc))
        if request.path.startswith("/api/"):
            return {"type": "about:blank", "title": "Conflict", "status": 409, "detail": str(exc)}, 409, \
                {"Content-Type": "application/problem+json"}
        return _page(409, _("Aktion nicht möglich"),
                     _("Diese Aktion passt nicht zum aktuellen Stand. Laden Sie die Seite neu, um den "
                       "aktuellen Stand zu sehen. Es wurde nichts geändert."))

    @app.errorhandler(problems.Problem)
    def problem(exc: problems.Problem):
        return problems.from_problem(exc)

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if problems.is_api_request():
            return problems.response(500, "An internal error occurred. Please try again later.")
        return _page(500, titles[500](), messages[500]())


def _page(code: int, title: str, message: str) -> tuple[str, int]:
    """The error page (``templates/errors/error.html``) with its status."""
    return render_template("errors/error.html", code=code, title=title, message=message), code
