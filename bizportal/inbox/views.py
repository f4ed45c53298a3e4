"""The chamber staff workspace: the inbox and the page where staff work a filing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_decimal, get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit import services as audit
from ..audit.kinds import describe as describe_action
from ..auth.access import roles_required
from ..auth.sessions import login_started_at
from ..catalog import queries as catalog
from ..common.fallback import never_fails
from ..common.limits import takes_files
from ..common.states import Refused
from ..common.time import local_today, utcnow
from ..extensions import db
from ..filings import conversation, lifecycle
from ..filings import queries as filing_queries
from ..filings.services import UploadOrigin, UploadRefused
from ..filings.states import CLOSED, FilingStatus
from ..web.rendered import Rendered, kept_with
from ..web.templating import datetime_medium
from . import actions, exports, queries, services
from .export import csv_chunks
from .forms import STATUS_LABELS, ActionForm, AssignForm, InboxFilterForm, NoteForm, StaffMessageForm
from .models import CaseNote, InboxItem

bp = Blueprint("inbox", __name__)


@bp.errorhandler(413)
@never_fails
def _too_large(_exc):
    """A message or step over the request limit: a page naming the limits, linking back to the item."""
    item_id = (request.view_args or {}).get("item_id")
    anchor = {"inbox.message": "#nachricht-heading", "inbox.act": "#schritt"}.get(request.endpoint or "")
    back = url_for("inbox.detail", item_id=item_id) + anchor if anchor and item_id else None
    return conversation.too_large_page(back)


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
    page = queries.list_page(current_user.chamber_id, where, after=after, before=before, size=queries.PAGE_SIZE,
                             count_cap=queries.COUNT_CAP)
    link_args = _link_args()
    return render_template("inbox/index.html", form=form, chamber=current_user.chamber, new_since=new_since,
                           link_args=link_args, page=page, count_cap=queries.COUNT_CAP,
                           rows_html=_rows_html(page, new_since), filter_html=_filter_html(form, link_args),
                           count=page.count, format_decimal=format_decimal)


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
    chunks = csv_chunks(queries.export_rows(chamber_id, where), labels, _settings().timezone,
                        current_user.chamber.slug)
    filename = f"posteingang-{current_user.chamber.slug}-{utcnow():%Y-%m-%d}.csv"
    return Response(stream_with_context(chunks), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


#: one row of the list; every value but the badge (markup made by the status macro) goes in escaped
_ROW = ('\n    <tr class="kern-table__row">\n'
        '      <td class="kern-table__cell"><a class="kern-link" href="{url}">{reference}</a>{copy}{new}</td>\n'
        '      <td class="kern-table__cell">{service}</td>\n'
        '      <td class="kern-table__cell">{company}</td>\n'
        '      <td class="kern-table__cell">{received}</td>\n'
        '      <td class="kern-table__cell">{badge}</td>\n'
        '      <td class="kern-table__cell">{assigned}</td>\n'
        '    </tr>')
_NEW_BADGE = ' <span class="kern-badge kern-badge--info"><span class="kern-label kern-label--small">{}</span></span>'


def _service_title(key: str, sent: str, locale: str) -> str:
    """The service's title in the reader's language from the catalog (an English page names it in
    English), or the title the filing was sent with for a service the catalog no longer has."""
    service = catalog.get_service(key)
    return (service.title.get(locale) if service else None) or sent


def _bundle_title(key: str, sent: str, locale: str) -> str:
    """The bundle's ("Betrieb gründen") title in the reader's language, as ``_service_title``."""
    bundle = catalog.get_bundle(key) if key else None
    return (bundle.title.get(locale) if bundle else None) or sent or key


#: rendered rows of the list kept per app and catalog snapshot: a row is about 0.6 KB of HTML (plus its
#: key); a page shows 50
ROWS_KEPT = 2048


def _rows_html(page: queries.Page, new_since: datetime | None) -> Markup:
    """The list's rows as HTML, written in Python: the same markup a Jinja loop wrote, at a
    fraction of its cost (50 rows of eight values each; a macro or a filter per row costs more
    in Jinja than the row's own markup). Each row links to its item, marks a copy and what is new
    since ``new_since``, and shows its status badge as the item's page does.

    Each row is written once and kept (``rendered.kept_with``), looked up by every input it shows,
    all of them read by the page's statement on every request: the language, time zone and script
    root of the request, the item's id, reference, service, delivered title, role, company name and
    time of arrival, the filing's status, the assignee's name and whether the row counts as new.
    A step, an assignment or a renamed colleague changes the key and shows at once; the catalog's
    titles and badges are those of the snapshot the store belongs to."""
    snapshot = current_app.extensions["bizportal"].snapshot
    kept = kept_with("inbox_rows", snapshot, ROWS_KEPT)
    locale = str(get_locale())
    where = (locale, str(get_timezone()), request.script_root)
    parts: dict[str, Any] = {}

    def render(row: Any, new: bool) -> str:
        if not parts:  # what every row shares, found once a request and only for a row not kept
            parts.update(url=_url_pattern("inbox.detail", "item_id"), copy=f" ({escape(_('Kopie'))})",
                         new=_NEW_BADGE.format(escape(_("neu"))), status=_status_badge_of(locale, snapshot))
        service = snapshot.services.get(row.service_key)
        title = (service.title.get(locale) if service else None) or row.service_title
        return _ROW.format(
            url=escape(parts["url"](row.id)), reference=escape(row.reference),
            copy=parts["copy"] if row.destination_role == "copy" else "", new=parts["new"] if new else "",
            service=escape(title), company=escape(row.company_name or ""),
            received=escape(datetime_medium(row.received_at)),
            badge=parts["status"](row.status or FilingStatus.SUBMITTED, service),
            assigned=escape(row.assigned_to or "–"))

    def row_html(row: Any) -> Markup:
        new = new_since is not None and row.received_at > new_since
        key = (*where, row.id, row.reference, row.service_key, row.service_title, row.destination_role,
               row.company_name, row.received_at, row.status, row.assigned_to, new)
        return kept.get(key, lambda: render(row, new))

    return Markup("".join(row_html(row) for row in page.rows))


#: an id no row has, put into a URL once to find where ids go (``_url_pattern``)
_MARKER_ID = 987_654_321_987_654_321


def _url_pattern(endpoint: str, argument: str) -> Callable[[int], str]:
    """``url_for(endpoint, **{argument: id})`` for many ids: Flask and Werkzeug build the URL once
    (about 20 µs a call), each id is then put in its place. Only for an integer argument, which
    the URL writes as its digits."""
    marker = str(_MARKER_ID)
    values: dict[str, Any] = {argument: _MARKER_ID}
    head, found, tail = url_for(endpoint, **values).partition(marker)
    if not found or marker in tail:
        raise ValueError(f"{endpoint}: {argument} must appear once in the URL")
    return lambda value: f"{head}{int(value)}{tail}"


#: status badges as the filing's page renders them, by (language, status, kind of service): the same
#: markup for everyone, rendered once per process (``_status_badge_of``)
_BADGES: dict[tuple[str, str, str], Markup] = {}


def _status_badge_of(locale: str, snapshot) -> Callable[[str, Any], Markup]:
    """The status badge of a row (status, its service in ``snapshot`` or None), by the macro the
    filing's page uses, with the item's service (an accepted trade notification is "Bestätigt"
    there and here). The macro depends on the language, the status and the kind of service only;
    each combination is rendered once per process."""
    def badge(status: str, service) -> Markup:
        kind = service.kind if service else ""
        found = _BADGES.get((locale, status, kind))
        if found is None:
            macro = get_template_attribute("filings/_status.html", "status")
            found = _BADGES[(locale, status, kind)] = macro(status, service)
        return found

    return badge


def _invalid(form: InboxFilterForm, new_since: datetime | None):
    """The list page with the errors at their fields and no results (422)."""
    return render_template("inbox/index.html", form=form, chamber=current_user.chamber, new_since=new_since,
                           link_args=_link_args(), page=None), 422


def _settings():
    return current_app.config["SETTINGS"].web


def _filter_form() -> InboxFilterForm:
    """The filter form; its service choice lists only the services that reach this chamber's kind
    of body (as primary or copy recipient), not the whole catalog."""
    locale = str(get_locale())
    services_offered = [(s.key, s.title.get(locale))
                        for s in catalog.find_services(locale, body=current_user.chamber.kind)]
    return InboxFilterForm(request.args, services=services_offered)


#: rendered filter forms by (language, service choices, query string); bounded, as the query
#: string is the visitor's. A quarter of the list's rendering time went into these ten fields.
_FILTER_HTML = Rendered(256)


def _filter_html(form: InboxFilterForm, link_args: dict[str, str]) -> Markup:
    """The filter form of a valid request as HTML, rendered once per language, service choices,
    query string and script root (its links are ``url_for``'s). The form holds nothing of the
    person (no CSRF token, no name): the same inputs give the same HTML for everyone;
    ``InboxFilterForm.Meta.csrf`` must stay off for that."""
    assert not form.meta.csrf and not form.errors
    # the form reads the first value of each argument, as link_args holds them; page cursors are not in it
    key = (str(get_locale()), request.script_root, form.services, tuple(sorted(link_args.items())))
    return _FILTER_HTML.get(key, lambda: render_template("inbox/_filter.html", form=form, link_args=link_args))


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


@bp.get("/staff/nachforderungen")
@roles_required("chamber_staff")
def requests():
    """The chamber's open information requests, overdue ones first marked as such."""
    return render_template("inbox/requests.html", rows=queries.open_requests(current_user.chamber_id),
                           chamber=current_user.chamber,
                           today=local_today(current_app.config["BABEL_DEFAULT_TIMEZONE"]))


def _item_or_404(item_id: int) -> InboxItem:
    item = queries.chamber_item(current_user.chamber_id, item_id)
    if item is None:
        abort(404)
    return item


def _case_or_404(item_id: int) -> queries.CaseFile:
    """The chamber's item with its delivery and filing (one statement), else 404."""
    case = queries.case_file(current_user.chamber_id, item_id)
    if case is None:
        abort(404)
    return case


def _noted(case: queries.CaseFile, timeline: list[queries.TimelineEntry] | None = None) -> bool:
    """Whether this chamber confirmed receipt of the filing already (a copy notes it once): read
    from the filing's timeline (``timeline``, the rows the page shows, or the filing's events)."""
    events = timeline if timeline is not None else case.filing.events if case.filing is not None else []
    return any(e.kind == FilingStatus.RECEIVED and e.chamber_id == case.item.chamber_id for e in events)


def _storage():
    return current_app.extensions["bizportal"].storage


def _action_form(case: queries.CaseFile, service, form: ActionForm | None = None,
                 noted: bool | None = None) -> ActionForm:
    """The decision form: the one posted, or a blank one carrying the status the page shows (also when
    another form of the page was posted and is shown again with its error). ``noted``: ``_noted(case)``
    if the caller has it."""
    status = case.filing.status if case.filing else ""
    if form is None:
        form = ActionForm(formdata=None)
        form.expected_status.data = status
    form.action.choices = actions.allowed(status, service.kind if service else None, case.item.destination_role,
                                          noted=_noted(case) if noted is None else noted)
    return form


def _assign_form(item: InboxItem, form: AssignForm | None = None,
                 people: list[queries.StaffMember] | None = None) -> AssignForm:
    if form is None:  # blank: it shows who works the filing now
        form = AssignForm(formdata=None)
        form.assignee.data = str(item.assigned_to_id) if item.assigned_to_id else ""
    form.assignee.choices = [("", _("niemand")), *((str(s.id), s.display_name)
                                                   for s in queries.chamber_staff(item.chamber_id, people))]
    return form


def _assignee_choices(form: AssignForm) -> list[tuple[str, str]]:
    """The (value, label) pairs of the assignee choice."""
    return [(str(c[0]), str(c[1])) for c in form.assignee.choices or []]


#: the fields of blank forms of the staff filing page, by (form, language, choices, …): bounded, as
#: the assign form's choices are each chamber's staff
_FIELDS_HTML = Rendered(512)


def _fields_html(name: str, form, blank: bool, *key: Any, **context: Any) -> Markup:
    """The fields and buttons of one of the page's forms (a macro of ``inbox/_fields.html``),
    without the form's tokens. A ``blank`` form (made without the request's input, no errors)
    is rendered once per ``key``, which must hold what its fields show besides the language
    (choices, the value chosen, attributes); a form shown again with its input is rendered anew."""
    macro = get_template_attribute("inbox/_fields.html", name)
    return _FIELDS_HTML.form_fields(blank and not form.errors, (name, str(get_locale()), *key),
                                    lambda: macro(form, **context))


def _choices(field) -> tuple[tuple[str, ...], ...]:
    """A choice field's choices as it renders them (value, label in the page's language, whether it
    is the one chosen, their attributes) for a key of ``_fields_html``."""
    return tuple(tuple(str(part) for part in choice) for choice in field.iter_choices())


#: the staff filing page's fixed labels by (language, kind of service), translated once per process
_TEXTS: dict[tuple[str, str], dict[str, Any]] = {}


def _page_texts(service) -> dict[str, Any]:
    """The fixed labels of the staff filing page in the reader's language: a template's ``_()``
    costs a context lookup and a call each, and the page had some forty of them in these lists.
    The timeline names an acceptance by the kind of service (as the status badge does)."""
    kind = service.kind if service else ""
    key = (str(get_locale()), kind)
    texts = _TEXTS.get(key)
    if texts is None:
        accepted = {"trade": _("Anzeige bestätigt durch"), "registration": _("Eingetragen durch")}
        texts = _TEXTS[key] = {
            # the page's headings and fixed sentences, as a template's ``_()`` gives them (markup, "%%" → "%")
            "labels": {key: Markup(text) % {} for key, text in {
                "error_prefix": _("Fehler:"), "copy_for_information": _("Kopie zur Kenntnis"),
                "copy_progress": _("Stand bei Ihrer Stelle:"),
                "copy_noted": _("Eingang bestätigt / zur Kenntnis genommen"),
                "copy_not_noted": _("Eingegangen, noch nicht zur Kenntnis genommen"),
                "competent_status": _("Stand des Antrags bei der zuständigen Stelle:"), "status": _("Stand:"),
                "bundle_others": _("Mit diesem Antrag hat das Unternehmen zusammen eingereicht:"),
                "reference": _("Aktenzeichen"),
                "bundle_alone": _("Aus diesem Vorhaben wurde nur dieser Antrag eingereicht."),
                "sections": _("Abschnitte"), "applicant": _("Antragsteller"), "answers": _("Angaben"),
                "messages": _("Nachrichten"), "next_step": _("Nächster Schritt"), "notes": _("Interne Notizen"),
                "history": _("Verlauf"), "export_pdf": _("Vorgang als PDF herunterladen"),
                "export_json": _("Vorgang als JSON herunterladen"),
                "export_xml": _("XGewerbeanzeige-Nachricht (XML) herunterladen"),
                "receivers": _("Empfänger dieses Antrags"), "competent": _("zuständige Stelle"),
                "yours": _("Ihre Stelle"), "account": _("Stammdaten des Kontos"),
                "account_hint": _("Aus dem Unternehmenskonto, mit dem eingereicht wurde. Für welchen Betrieb der "
                                  "Antrag gestellt ist, steht unter „Angaben im Antrag“."),
                "answers_heading": _("Angaben im Antrag"), "attachments": _("Anlagen"),
                "conversation": _("Nachrichten mit dem Unternehmen"),
                "message_heading": _("Nachricht an das Unternehmen"), "closed": _("Dieser Antrag ist abgeschlossen."),
                "no_step": _("Für Ihre Kammer ist hier kein Schritt mehr offen."),
                "no_notes": _("Noch keine Notizen."), "casework": _("Bearbeitung in Ihrer Kammer"),
                "refused": _("abgewiesen"), "no_casework": _("Noch keine Bearbeitungsschritte."),
                "delivery": _("Zustellung an Ihre Kammer"), "back": _("Zurück zum Posteingang"),
            }.items()},
            "body_kinds": {"GEWERBEAMT": _("Gewerbeamt"), "HWK": _("Handwerkskammer"),
                           "IHK": _("Industrie- und Handelskammer")},
            "applicant": {"filed_by": _("Eingereicht von"), "email": _("E-Mail"),
                          "phone": _("Telefon des Unternehmens"),
                          "notification_email": _("Adresse für Benachrichtigungen"),
                          "submitted_at": _("Eingereicht am"), "received_at": _("Eingegangen am")},
            "account_fields": [("name", _("Name")), ("legal_form", _("Rechtsform")), ("street", _("Straße")),
                               ("postcode", _("Postleitzahl")), ("city", _("Ort")),
                               ("tax_number", _("Steuernummer"))],
            "events": {"submitted": _("Eingereicht im Portal"), "forwarded": _("Zugestellt an"),
                       "received": _("Eingang bestätigt durch"), "in_progress": _("In Bearbeitung bei"),
                       "information_requested": _("Nachfrage von"), "answered": _("Antwort gesendet an"),
                       "accepted": accepted.get(kind, _("Bewilligt durch")), "rejected": _("Abgelehnt durch"),
                       "withdrawn": _("Zurückgezogen")},
            "delivery": {"state": _("Zustand"), "attempts": _("Versuche"), "created_at": _("Angelegt"),
                         "delivered_at": _("Zugestellt")},
            "delivery_states": {"pending": _("wartet auf Versand"), "sending": _("wird gesendet"),
                                "delivered": _("zugestellt"), "accepted": _("zugestellt, entschieden: positiv"),
                                "rejected": _("zugestellt, abgelehnt"), "dead": _("gescheitert"),
                                "cancelled": _("nicht gesendet (zurückgezogen)")},
        }
    return texts


def _render(case: queries.CaseFile, status: int = 200, action_form: ActionForm | None = None,
            message_form: StaffMessageForm | None = None, note_form: NoteForm | None = None):
    item, filing = case.item, case.filing
    service = catalog.get_service(item.service_key)
    people = queries.chamber_people(item.chamber_id)  # for the assign form and the history
    timeline = queries.timeline(filing.id, item.chamber_id) if filing else []
    noted = _noted(case, timeline)
    file_limits = conversation.file_input_attrs()
    limits_key = tuple(sorted(file_limits.items()))
    primary = item.destination_role == "primary"
    action = _action_form(case, service, action_form, noted)
    message = message_form or StaffMessageForm(formdata=None)
    note = note_form or NoteForm(formdata=None)
    assign = _assign_form(item, people=people)
    fields = {
        "assign": _fields_html("assign", assign, True, _choices(assign.assignee)),
        "message": _fields_html("message", message, message_form is None, limits_key, file_limits=file_limits),
        "action": _fields_html("action", action, action_form is None, _choices(action.action), primary, limits_key,
                               primary=primary, file_limits=file_limits) if action.action.choices else "",
        "note": _fields_html("note", note, note_form is None),
    }
    return render_template(
        "inbox/detail.html", item=item, service=service, filing=filing, locale=str(get_locale()),
        service_title=_service_title, bundle_title=_bundle_title,
        texts=_page_texts(service),
        action_form=action, message_form=message, note_form=note, assign_form=assign, fields=fields,
        messages=queries.conversation(filing.id, item.chamber_id) if filing and case.has_messages else [],
        notes=queries.notes(item.id) if case.has_notes else [], delivery=case.delivery,
        history=queries.staff_history(filing.id, item.chamber_id, people) if filing and case.has_history else [],
        describe_action=describe_action,
        closed=filing is None or filing.status in CLOSED, file_limits=file_limits,
        copy_noted=item.destination_role != "primary" and noted, timeline=timeline,
        attachments={a["field"]: {"original_name": a["filename"], "size": a["size"]} for a in item.attachments or []},
        answered_fields=[fd for fd in service.fields if fd.name in item.data] if service else [],
        has_xgewerbeanzeige=exports.has_xgewerbeanzeige(item),
        filed_by=queries.filed_by(filing), receivers=queries.receivers(filing),
    ), status


@bp.get("/staff/posteingang/<int:item_id>")
@roles_required("chamber_staff")
def detail(item_id: int):
    return _render(_case_or_404(item_id))


def _stale_text() -> str:
    return _("Der Stand dieses Antrags wurde inzwischen geändert (von einer Kollegin oder einem Kollegen, in "
             "einem anderen Fenster oder durch doppeltes Absenden). Es wurde nichts gespeichert; bitte prüfen "
             "Sie den Stand.")


@bp.post("/staff/posteingang/<int:item_id>/schritt")
@takes_files
@roles_required("chamber_staff")
def act(item_id: int):
    """Take one step of the filing's status machine (the form offers only the allowed ones)."""
    case = _case_or_404(item_id)
    item, filing = case.item, case.filing
    service = catalog.get_service(item.service_key)
    if filing is None:
        abort(404)
    form = _action_form(case, service, ActionForm())
    if filing_queries.message_sent(filing.id, form.form_token.token):
        # the same request or decision form posted twice: its message is there, nothing more to do
        return _already_sent(item)
    if not form.action.choices:
        flash(_("Für diesen Antrag ist kein Schritt mehr möglich. Es wurde nichts gespeichert."), "warning")
        return _render(case, 409)
    if form.expected_status.data and form.expected_status.data != filing.status:
        # checked again under the filing's lock in staff_event; here so a stale choice is not
        # mistaken for an invalid one
        flash(_stale_text(), "warning")
        return _render(case, 409)
    if not form.validate():
        return _render(case, 422, action_form=form)
    files = []
    if form.action.data in (FilingStatus.ACCEPTED, FilingStatus.REJECTED):
        try:
            files = conversation.store_files(_uploads("documents"), _storage(), accept=conversation.DECISION_TYPES,
                                             origin=_origin(item, "documents"))
        except UploadRefused as exc:
            form.documents.errors = [str(exc)]
            return _render(case, exc.status, action_form=form)
    try:
        lifecycle.staff_event(item.delivery_id, form.action.data or "", current_user,
                              form.expected_status.data or "", form.detail.data, due_on=form.due_on.data, files=files,
                              form_token=form.form_token.token)
    except lifecycle.AlreadySent:
        conversation.discard(files, _storage())
        return _already_sent(item)
    except lifecycle.StaleAction:
        conversation.discard(files, _storage())
        flash(_stale_text(), "warning")
        return _render(case, 409)
    except Refused:
        conversation.discard(files, _storage())
        flash(_("Dieser Schritt ist für diesen Antrag jetzt nicht möglich. Es wurde nichts gespeichert."), "warning")
        return _render(case, 409)
    flash(_("Gespeichert: %(step)s. Das Unternehmen sieht den neuen Stand.",
            step=actions.label(form.action.data, service.kind if service else None, item.destination_role)),
          "success")
    return redirect(url_for("inbox.detail", item_id=item.id))


def _already_sent(item: InboxItem):
    flash(_("Diese Nachricht wurde bereits gesendet; das Formular kam ein zweites Mal an. Sie wurde nicht noch "
            "einmal gespeichert."), "info")
    return redirect(url_for("inbox.detail", item_id=item.id) + "#gespraech")


def _origin(item: InboxItem, field: str) -> UploadOrigin:
    return UploadOrigin(current_user.get_id(), field, chamber_id=current_user.chamber_id, delivery_id=item.delivery_id)


def _uploads(name: str):
    return [(f.filename or "", f.stream) for f in request.files.getlist(name) if f and f.filename]


@bp.post("/staff/posteingang/<int:item_id>/nachricht")
@takes_files
@roles_required("chamber_staff")
def message(item_id: int):
    """A message to the company without a change of status."""
    case = _case_or_404(item_id)
    item = case.item
    form = StaffMessageForm()
    if not form.validate():
        return _render(case, 422, message_form=form)
    try:
        files = conversation.store_files(_uploads("files"), _storage(), origin=_origin(item, "files"))
    except UploadRefused as exc:
        form.files.errors = [str(exc)]
        return _render(case, exc.status, message_form=form)
    try:
        lifecycle.chamber_message(item.delivery_id, current_user, form.body.data or "", files,
                                  form_token=form.form_token.token)
    except lifecycle.AlreadySent:
        conversation.discard(files, _storage())
        return _already_sent(item)
    except Refused:
        conversation.discard(files, _storage())
        flash(_("Dieser Antrag ist abgeschlossen; es kann keine Nachricht mehr gesendet werden."), "warning")
        return _render(case, 409)
    flash(_("Ihre Nachricht wurde an das Unternehmen gesendet."), "success")
    return redirect(url_for("inbox.detail", item_id=item.id) + "#gespraech")


@bp.post("/staff/posteingang/<int:item_id>/zuweisen")
@roles_required("chamber_staff")
def assign(item_id: int):
    """Assign the item to a colleague of the chamber (or to nobody)."""
    case = _case_or_404(item_id)
    item = case.item
    form = _assign_form(item, AssignForm())
    if not form.validate():
        flash(_("Bitte wählen Sie eine Person Ihrer Kammer."), "warning")
        return _render(case, 422)
    staff_id = int(form.assignee.data) if form.assignee.data else None
    filing_id, chamber_id = (case.filing.id if case.filing else None), item.chamber_id  # before the commit
    item.assigned_to_id = staff_id
    db.session.commit()
    name = next((label for value, label in _assignee_choices(form) if value == (form.assignee.data or "")), "")
    audit.record("filing.assigned", current_user.get_id(), detail=f"→ {name}", filing_id=filing_id,
                 chamber_id=chamber_id)
    flash(_("Zuständig ist jetzt: %(name)s.", name=name), "success")
    return redirect(url_for("inbox.detail", item_id=item_id))


@bp.post("/staff/posteingang/<int:item_id>/notiz")
@roles_required("chamber_staff")
def note(item_id: int):
    """An internal note on the item: the chamber's staff see it, the company never does."""
    case = _case_or_404(item_id)
    item = case.item
    form = NoteForm()
    if not form.validate():
        return _render(case, 422, note_form=form)
    token = form.form_token.token
    if token and db.session.scalar(select(CaseNote.id).where(CaseNote.item_id == item.id,
                                                             CaseNote.form_token == token)) is not None:
        return _note_sent_already(item)
    filing_id, chamber_id = (case.filing.id if case.filing else None), item.chamber_id  # before the commit
    db.session.add(CaseNote(item_id=item.id, staff_id=current_user.id, body=(form.note.data or "").strip(),
                            form_token=token))
    try:
        db.session.commit()
    except IntegrityError:  # the same form posted at the same moment: the other post stored it
        db.session.rollback()
        return _note_sent_already(item)
    audit.record("filing.note", current_user.get_id(), detail="internal note", filing_id=filing_id,
                 chamber_id=chamber_id)
    flash(_("Die Notiz wurde gespeichert."), "success")
    return redirect(url_for("inbox.detail", item_id=item_id) + "#notizen")


def _note_sent_already(item: InboxItem):
    flash(_("Diese Notiz wurde bereits gespeichert."), "info")
    return redirect(url_for("inbox.detail", item_id=item.id) + "#notizen")


@bp.get("/staff/posteingang/<int:item_id>/anhang/<ref>")
@roles_required("chamber_staff")
def attachment(item_id: int, ref: str):
    """A file of a filing delivered to this chamber; nothing else is reachable through this URL."""
    from ..filings.views import attachment_response

    item = _item_or_404(item_id)
    if ref not in {a.get("ref") for a in item.attachments or []}:
        abort(404)
    try:
        stored = queries.attachment_by_ref(uuid.UUID(ref))
    except ValueError:
        abort(404)
    if stored is None:
        abort(404)
    return attachment_response(stored, _storage())


@bp.get("/staff/posteingang/<int:item_id>/dokument/<attachment_id>")
@roles_required("chamber_staff")
def message_attachment(item_id: int, attachment_id: str):
    """A file of this chamber's conversation about the filing (an answer's or a decision's)."""
    from ..filings.views import attachment_response

    item = _item_or_404(item_id)
    filing = queries.filing_of(item)
    stored = queries.message_attachment(item.chamber_id, filing.id, attachment_id) if filing else None
    if stored is None:
        abort(404)
    return attachment_response(stored, _storage())
