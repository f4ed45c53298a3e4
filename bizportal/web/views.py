"""Language switch, legal pages, health endpoints."""

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user

from ..auth import services as auth_services
from ..auth.access import public
from ..common.i18n import LOCALES
from ..extensions import db

bp = Blueprint("web", __name__)


@bp.get("/sprache/<lang>")
@public
def set_language(lang: str):
    target = request.referrer or ""
    if lang in LOCALES:
        session["lang"] = lang
        # The mails follow the choice. A GET changes stored data only when it demonstrably comes
        # from this site (a link on another site must not change a person's mail language).
        same_site = request.headers.get("Sec-Fetch-Site", "same-origin") == "same-origin" \
            and target.startswith(request.host_url)
        if same_site and current_user.is_authenticated and current_user.kind == "company":
            auth_services.remember_language(current_user, lang)
    # Go back to the page the switch was used on, but only within this site.
    if target.startswith(request.host_url):
        return redirect(target)
    return redirect(url_for("catalog.index"))


@bp.get("/barrierefreiheit")
@public
def accessibility():
    return render_template("common/accessibility.html")


@bp.get("/leichte-sprache")
@public
def easy_language():
    return render_template("common/easy_language.html")


@bp.get("/impressum")
@public
def imprint():
    return render_template("common/imprint.html")


@bp.get("/datenschutz")
@public
def privacy():
    return render_template("common/privacy.html")


@bp.get("/betreiber/logo")
@public
def logo():
    """The operator's logo when ``BIZPORTAL_LOGO`` names a file (404 otherwise)."""
    from pathlib import Path

    from ..config import LOGO_TYPES

    path = current_app.config["SETTINGS"].identity.logo_file
    if not path:
        abort(404)
    response = send_file(Path(path).resolve(), mimetype=LOGO_TYPES[Path(path).suffix.lower()], max_age=3600)
    # an SVG opened on its own must not run anything
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


@bp.get("/healthz")
@public
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz():
    """Ready to serve: the database answers, its schema is at the migrations' head, and the
    templates are there. 503 with what is wrong, else 200."""
    from . import readiness

    try:
        current = readiness.database_heads(db.session.connection())
        db.session.rollback()
    except Exception as exc:  # any driver error means: not ready
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable", error=type(exc).__name__), 503
    expected = readiness.code_heads(current_app.extensions["migrate"].directory)
    missing = readiness.missing_templates(current_app)
    body: dict = {"database": "ok", "migrations": "current" if current == expected else "behind",
                  "templates": "ok" if not missing else "missing"}
    if current != expected:
        body["migration_heads"] = {"database": sorted(current), "code": sorted(expected)}
    if missing:
        body["missing_templates"] = missing[:20]
    ready = current == expected and not missing
    body["status"] = "ok" if ready else "unavailable"
    return jsonify(body), 200 if ready else 503
