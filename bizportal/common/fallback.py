"""The last-resort error page: made without template, translations, session or database, with
every security header, for when the real error page fails."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from html import escape
from typing import Any

from flask import Response, current_app
from werkzeug.exceptions import HTTPException

log = logging.getLogger("bizportal.security")

HSTS = "max-age=31536000; includeSubDomains"
#: the last-resort error page: no template, no translation, no session, no database
FALLBACK_CSP = "default-src 'none'; style-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
FALLBACK_PAGE = (
    '<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Fehler {code} – Unternehmensportal</title></head>\n<body><main>"
    "<h1>Fehler {code}</h1>"
    "<p>Die Anfrage konnte nicht bearbeitet werden. Bitte versuchen Sie es später erneut.</p>"
    '<p lang="en">The request could not be processed. Please try again later.</p>'
    '<p><a href="/">Zur Startseite</a> · <a href="/" lang="en">Home page</a></p>'
    "</main></body></html>\n"
)


def fallback_page(code: int, hsts: bool) -> Response:
    """The error page when the real one cannot be made (its template, the translations, the
    session or the database failed): plain HTML with every security header set here, since the
    hooks that normally add them may be what failed."""
    code = code if 400 <= code <= 599 else 500
    response = Response(FALLBACK_PAGE.format(code=escape(str(code))), status=code, mimetype="text/html")
    response.headers.update({
        "Content-Security-Policy": FALLBACK_CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY", "Cache-Control": "no-store",
    })
    if hsts:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def never_fails(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An error handler that answers ``fallback_page`` when it raises itself, so an error never
    ends on the server's bare page (or a broken connection) without the security headers."""

    @functools.wraps(handler)
    def guarded(exc: Any) -> Any:
        try:
            return handler(exc)
        except Exception:
            log.exception("the error page for %r failed; the fallback page is sent", exc)
            code = exc.code if isinstance(exc, HTTPException) and exc.code else 500
            return fallback_page(code, bool(current_app.config.get("SESSION_COOKIE_SECURE")))

    return guarded
