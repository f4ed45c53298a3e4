"""The steering group's dashboard: aggregates only."""

from flask import Blueprint, render_template
from flask_babel import get_locale

from ..auth.access import roles_required
from ..bodies import queries as bodies
from ..catalog import queries as catalog
from ..extensions import db
from . import queries, services

bp = Blueprint("stats", __name__)


@bp.get("/staff/statistik")
@roles_required("steering", "admin")
def dashboard():
    locale = str(get_locale())
    services_by_key = catalog.catalog()
    chamber_names = bodies.names_by_slug()  # the counters keep slugs
    per_service = [
        (services_by_key[k].title.get(locale) if k in services_by_key else k, n)
        for k, n in queries.totals(db.session, services.SUBMITTED, "service_key")
    ]
    per_chamber = [(chamber_names.get(k, k), n)
                   for k, n in queries.totals(db.session, services.ADDRESSED, "chamber_slug")]
    delivered = dict(queries.totals(db.session, services.DELIVERED_FIRST, "chamber_slug"))
    for slug, n in queries.totals(db.session, services.DELIVERED_RETRIED, "chamber_slug"):
        delivered[slug] = delivered.get(slug, 0) + n
    delivered_named = {chamber_names.get(k, k): n for k, n in delivered.items()}
    return render_template(
        "stats/dashboard.html",
        per_service=per_service,
        per_chamber=[(name, n, delivered_named.get(name, 0)) for name, n in per_chamber],
        total=sum(n for _, n in per_service),
    )
