"""Admin view of chambers and the state of their deliveries."""

from flask import Blueprint, render_template
from sqlalchemy import func, select

from ..auth.access import roles_required
from ..extensions import db
from .models import Chamber, Delivery

bp = Blueprint("delivery", __name__)


@bp.get("/staff/admin/zustellungen")
@roles_required("admin")
def admin_overview():
    chambers = list(db.session.scalars(select(Chamber).order_by(Chamber.name)))
    counts: dict[int, dict[str, int]] = {}
    for chamber_id, state, n in db.session.execute(
        select(Delivery.chamber_id, Delivery.state, func.count()).group_by(Delivery.chamber_id, Delivery.state)
    ):
        counts.setdefault(chamber_id, {})[state] = n
    return render_template("delivery/admin_overview.html", chambers=chambers, counts=counts)
