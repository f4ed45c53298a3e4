"""Language switch, legal pages, health endpoints."""

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from ..auth import services as auth_services
from ..auth.access import public
from ..common.i18n import LOCALES
from ..extensions import db

bp = Blueprint("web", __name__)


@bp.get("/sprache/<lang>")
@public
def set_language(lang: str):
    if lang in LOCALES:
        session["lang"] = lang
        if current_user.is_authenticated and current_user.kind == "company":
            auth_services.remember_language(current_user, lang)  # the mails follow the choice
    target = request.referrer or ""
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


@bp.get("/healthz")
@public
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@public
def readyz():
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:  # any driver error means: not ready
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable", error=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
