"""The public service catalog: search, filters and one stable page per service."""

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale

from ..auth.access import public
from . import queries
from .models import DESTINATION_KINDS, LIFE_EVENTS, SERVICE_KINDS

bp = Blueprint("catalog", __name__)


@bp.get("/")
@public
def index():
    locale = str(get_locale())
    query = request.args.get("q", "")[:200]
    kind = request.args.get("art", "")
    body = request.args.get("stelle", "")
    event = request.args.get("anlass", "")
    kind = kind if kind in SERVICE_KINDS else ""
    body = body if body in DESTINATION_KINDS else ""
    event = event if event in LIFE_EVENTS else ""
    services = queries.find_services(locale, query, kind, body, event)
    # bundles are their own entries; a filter by kind of service is about single services, one by
    # body keeps the bundles with a service for that body
    bundles = [] if kind else queries.find_bundles(locale, query, event, body)
    return render_template("catalog/index.html", services=services, locale=locale, query=query, kind=kind,
                           bundles=bundles,
                           suggestion=queries.did_you_mean(query),
                           body=body, event=event, filtered=bool(query or kind or body or event),
                           total=len(queries.catalog()))


@bp.get("/leistungen/<key>")
@public
def detail(key: str):
    service = queries.get_service(key)
    if service is None:
        abort(404)
    return render_template("catalog/detail.html", service=service, locale=str(get_locale()))
