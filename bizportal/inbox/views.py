"""The chamber staff workspace."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import roles_required
from ..auth.sessions import login_started_at
from ..catalog import queries as catalog
from ..common.states import Refused
from ..common.time import utcnow
from ..filings import lifecycle
from . import queries, services
from .export import csv_chunks
from .forms import STATUS_LABELS, InboxFilterForm, StatusForm

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
    """The chamber's inbox: search, filters, sort order and keyset pages ("Weitere"/"Zurück"),
    all in the query string. Opening it counts as a visit (for "new since my last visit")."""
    form = _filter_form()
    new_since = services.record_visit(current_user.id, current_user.chamber_id, login_started_at())
    if not form.validate():
        return _invalid(form, new_since)
    where = _filter(form, new_since)
    try:
        after = queries.Cursor.parse(request.args["nach"], where.sort) if request.args.get("nach") else None
        before = queries.Cursor.parse(request.args["vor"], where.sort) if request.args.get("vor") else None
    except ValueError:
        abort(400)
    page = queries.list_page(current_user.chamber_id, where, after=after, before=before, size=queries.PAGE_SIZE)
    return render_template("inbox/index.html", form=form, chamber=current_user.chamber, new_since=new_since,
                           link_args=_link_args(), page=page, count_cap=queries.COUNT_CAP,
                           count=queries.count_matching(current_user.chamber_id, where), format_decimal=format_decimal)


@bp.get("/staff/posteingang.csv")
@roles_required("chamber_staff")
def export():
    """The whole filtered list (not only one page) as a CSV file; the same filter as the list."""
    form = _filter_form()
    if not form.validate():
        return _invalid(form, None)
    chamber_id = current_user.chamber_id
    where = _filter(form, queries.new_since(current_user.id, chamber_id))
    labels = {key: str(label) for key, label in STATUS_LABELS.items()}
    chunks = csv_chunks(queries.export_rows(chamber_id, where), labels, _settings().timezone)
    filename = f"posteingang-{current_user.chamber.slug}-{utcnow():%Y-%m-%d}.csv"
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _invalid(form: InboxFilterForm, new_since: datetime | None):
    """The list page with the errors at their fields and no results (422)."""
    return render_template("inbox/index.html", form=form, chamber=current_user.chamber, new_since=new_since,
                           link_args=_link_args(), page=None), 422


def _settings():
    return current_app.config["SETTINGS"].web


def _filter_form() -> InboxFilterForm:
    locale = str(get_locale())
    services_offered = [(s.key, s.title.get(locale)) for s in catalog.list_services(locale)]
    return InboxFilterForm(request.args, services=services_offered)


def _link_args() -> dict[str, str]:
    """The query string of the current list without its page position (for page and export links)."""
    return {key: value for key, value in request.args.items() if key not in ("nach", "vor")}


def _filter(form: InboxFilterForm, new_since: datetime | None) -> queries.InboxFilter:
    """The query behind a valid filter form; dates are whole days in the portal's time zone."""
    zone = ZoneInfo(_settings().timezone)

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time.min, zone).astimezone(UTC)

    return queries.InboxFilter(
        reference=form.aktenzeichen.data or "", company=form.unternehmen.data or "", register=form.register(),
        status=form.stand.data or "", service_key=form.leistung.data or "",
        received_from=start_of(form.von.data) if form.von.data else None,
        received_before=start_of(form.bis.data + timedelta(days=1)) if form.bis.data else None,
        assignment=form.zuweisung.data or "", staff_user_id=current_user.id,
        new_since=new_since if form.neu.data else None, sort=form.sortierung.data or queries.DEFAULT_SORT)


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
