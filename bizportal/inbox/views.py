"""The chamber staff workspace."""

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import roles_required
from ..catalog import queries as catalog
from ..common.states import Refused
from ..filings import lifecycle
from . import queries
from .forms import StatusForm

bp = Blueprint("inbox", __name__)


@bp.get("/staff")
@roles_required("chamber_staff", "steering", "admin")
def staff_home():
    """Send each staff member to the workspace of their role."""
    if current_user.has_role("chamber_staff"):
        return redirect(url_for("inbox.index"))
    if current_user.has_role("steering"):
        return redirect(url_for("stats.dashboard"))
    return redirect(url_for("delivery.admin_overview"))


@bp.get("/staff/posteingang")
@roles_required("chamber_staff")
def index():
    items = queries.chamber_items(current_user.chamber_id)
    return render_template("inbox/index.html", items=items, chamber=current_user.chamber,
                           statuses=queries.statuses(items))


@bp.route("/staff/posteingang/<int:item_id>", methods=["GET", "POST"])
@roles_required("chamber_staff")
def detail(item_id: int):
    item = queries.chamber_item(current_user.chamber_id, item_id)
    if item is None:
        abort(404)
    service = catalog.get_service(item.service_key)
    filing = queries.filing_of(item)
    form = StatusForm()
    if item.destination_role != "primary":
        form.receipt_only()
    status = 200
    if form.validate_on_submit():
        try:
            lifecycle.apply_chamber_event(item.delivery_id, form.kind.data, form.detail.data)
        except Refused:
            flash(_("Dieser Stand kann für diesen Antrag nicht gesetzt werden."), "warning")
        else:
            flash(_("Der Stand wurde gespeichert und dem Unternehmen angezeigt."), "success")
            return redirect(url_for("inbox.detail", item_id=item.id))
    elif form.is_submitted():
        status = 422
    return render_template("inbox/detail.html", item=item, service=service, filing=filing, form=form,
                           locale=str(get_locale())), status


@bp.get("/staff/posteingang/<int:item_id>/anhang/<ref>")
@roles_required("chamber_staff")
def attachment(item_id: int, ref: str):
    """A file of a filing delivered to this chamber; nothing else is reachable through this URL."""
    from ..filings.views import attachment_response

    item = queries.chamber_item(current_user.chamber_id, item_id)
    if item is None or ref not in {a.get("ref") for a in item.attachments or []}:
        abort(404)
    try:
        stored = queries.attachment_by_ref(uuid.UUID(ref))
    except ValueError:
        abort(404)
    if stored is None:
        abort(404)
    return attachment_response(stored, current_app.extensions["bizportal"].storage)
