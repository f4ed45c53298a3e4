"""Response headers and error pages that every response gets."""

from __future__ import annotations

import logging

from flask import Flask, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from ..api import problems
from ..audit import services as audit
from ..common.fallback import HSTS, never_fails
from ..common.limits import too_large_message
from ..common.states import Refused
from ..filings.storage import StorageUnavailable

log = logging.getLogger("bizportal.security")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self' {form_action}; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)


def _signed_in() -> bool:
    """Whether a person is signed in; True when that cannot be found out (then the answer is
    not stored by caches either)."""
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:
        log.exception("could not tell whether the request is signed in")
        return True


def install(app: Flask) -> None:
    # The login forms post to the login provider; allow exactly those origins as form targets.
    providers = " ".join(sorted({app.config["COMPANY_OIDC_ISSUER"], app.config["STAFF_OIDC_ISSUER"]}))
    csp = CSP.format(form_action=providers)

    @app.before_request
    def refuse_nul_bytes():
        """No text a person types contains NUL; PostgreSQL cannot store it (500 there, not here)."""
        values = request.args.items(multi=True)
        if request.method == "POST" and not problems.is_api_request() and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            values = [*values, *request.form.items(multi=True)]
        if any("\x00" in key or "\x00" in value for key, value in values):
            abort(400)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = HSTS
        if _signed_in():
            response.headers["Cache-Control"] = "no-store"
        return response

    messages = {
        400: lambda: _("Die Anfrage war fehlerhaft."),
        403: lambda: _("Sie haben keinen Zugriff auf diese Seite."),
        404: lambda: _("Diese Seite gibt es nicht, oder sie ist für Sie nicht sichtbar."),
        405: lambda: _("Diese Aktion ist hier nicht möglich."),
        413: too_large_message,
        422: lambda: _("Die Angaben konnten nicht verarbeitet werden."),
        429: lambda: _("Sie haben diese Aktion in kurzer Zeit zu oft ausgeführt. Bitte warten Sie einen Moment "
                       "und versuchen Sie es dann erneut. Was Sie zuletzt gesendet haben, wurde nicht "
                       "verarbeitet; bereits gespeicherte Angaben bleiben erhalten."),
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
        429: lambda: _("Zu viele Anfragen"),
        500: lambda: _("Interner Fehler"),
        503: lambda: _("Dienst nicht verfügbar"),
    }

    @app.errorhandler(CSRFError)
    @never_fails
    def csrf_error(exc: CSRFError):
        log.warning("refused: CSRF check failed (%s) %s %s from %s", exc.description, request.method,
                    request.path, request.remote_addr)
        user = current_user.get_id() if current_user and current_user.is_authenticated else "anonymous"
        audit.record("access_refused", user, target=f"{request.method} {request.path}", detail="csrf")
        return _page(400, _("Sitzung abgelaufen oder Formular ungültig"),
                     _("Das Formular konnte nicht sicher übermittelt werden. Bitte laden Sie die Seite neu "
                       "und senden Sie es erneut. Es wurde nichts gespeichert."))

    @app.errorhandler(SecurityError)
    def untrusted_host(exc: SecurityError):
        """A Host header outside ``TRUSTED_HOSTS``: no URL can be built for it, so no page either."""
        log.warning("refused: untrusted host %r for %s %s from %s", request.environ.get("HTTP_HOST", "")[:100],
                    request.method, request.path, request.remote_addr)
        if problems.is_api_request():
            return problems.response(400, "The request names a host this portal does not serve.")
        body = ('<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{title}</title></head>'
                "<body><h1>{title}</h1><p>{message}</p></body></html>").format(
            title=_("Fehlerhafte Anfrage"), message=_("Diese Adresse wird von diesem Portal nicht bedient."))
        return app.response_class(body, status=400, mimetype="text/html")

    @app.errorhandler(HTTPException)
    @never_fails
    def http_error(exc: HTTPException):
        if problems.is_api_request() or (exc.code == 429 and request.path.startswith("/api/")):
            return problems.from_http_exception(exc)  # machines get a problem document, never a page
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
    @never_fails
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

    @app.errorhandler(StorageUnavailable)
    def storage_unavailable(exc: StorageUnavailable):
        """A file could not be read because the file store is down (uploads say so on their form)."""
        log.error("file store unavailable on %s %s: %s", request.method, request.path, exc)
        if problems.is_api_request():
            return problems.response(503, "The file store cannot be reached. Please try again in a few minutes.",
                                     {"Retry-After": "60"})
        html, code = _page(503, _("Dateispeicher nicht erreichbar"),
                           _("Die Datei kann gerade nicht abgerufen werden, weil der Dateispeicher nicht "
                             "erreichbar ist. Es ist nichts verloren; bitte versuchen Sie es in einigen Minuten "
                             "noch einmal."))
        return html, code, {"Retry-After": "60"}

    @app.errorhandler(problems.Problem)
    @never_fails
    def problem(exc: problems.Problem):
        return problems.from_problem(exc)

    @app.errorhandler(Exception)
    @never_fails
    def server_error(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if problems.is_api_request():
            return problems.response(500, "An internal error occurred. Please try again later.")
        return _page(500, titles[500](), messages[500]())


def _page(code: int, title: str, message: str) -> tuple[str, int]:
    """The error page (``templates/errors/error.html``) with its status."""
    return render_template("errors/error.html", code=code, title=title, message=message), code
