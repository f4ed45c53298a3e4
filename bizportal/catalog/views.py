"""The public service catalog."""

from flask import Blueprint, abort, render_template
from flask_babel import get_locale

from ..auth.access import public
from . import queries

bp = Blueprint("catalog", __name__)


@bp.get("/")
@public
def index():
    locale = str(get_locale())
    return render_template("catalog/index.html", services=queries.list_services(locale), locale=locale)


@bp.get("/leistungen/<key>")
@public
def detail(key: str):
    service = queries.get_service(key)
    if service is None:
        abort(404)
    return render_template("catalog/detail.html", service=service, locale=str(get_locale()))
