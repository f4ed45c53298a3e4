"""Filing a service step by step, the company's drafts and filings, receipts and withdrawal."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from typing import Any, NoReturn

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
    session,
    url_for,
)
from flask_babel import format_date, format_decimal, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, FormField
from wtforms.validators import Length

from ..auth import trust
from ..auth.access import company_required, safe_next
from ..bodies.routing import NoCompetentBody
from ..catalog import queries as catalog
from ..catalog.models import differs
from ..common import legal_forms
from ..common.fallback import never_fails
from ..common.limits import judges_text_length, takes_files, too_large_message
from ..web.rendered import Rendered
from . import bundles, conversation, earlier, lifecycle, listing, queries, receipts, recheck, services
from .forms import (
    MessageForm,
    ReviewForm,
    answers_from_form,
    build_step_form,
    formdata_from_answers,
    minimum_notes,
    prefill_values,
    visible_step_fields,
)

bp = Blueprint("filings", __name__)
log = logging.getLogger(__name__)


def _storage():
    return current_app.extensions["bizportal"].storage


def _locale() -> str:
    return str(get_locale())


def _prefill(service, filing=None):
    """The answers a new draft of ``service`` starts with: the account's, and for the fields that
    declare ``from_filing`` the company's latest filed Gewerbeanzeige's (``earlier``; ``filing``
    when the caller looked it up already)."""
    company = current_user.company
    if filing is None and any(fd.from_filing for fd in service.fields):
        filing = earlier.latest_gewerbeanzeige(current_user.company_id)
    # contact_email: where the company is reached, as the portal's own mails reach it (notify):
    # its address for notifications, else the login's
    # in_register, owner_function: what the account's legal form tells (``common.legal_forms``)
    return prefill_values(service, {
        "company": {**company.master_data(), "phone": company.phone, "email": company.notification_email,
                    "contact_email": company.notification_email or current_user.email,
                    "in_register": legal_forms.in_register(company.legal_form),
                    "owner_function": legal_forms.owner_function(company.legal_form)},
        "person": current_user.account_data(),
        "gewerbeanzeige": earlier.filing_values(filing),
    })


def _filing_source(filing) -> str:
    """The badge of an answer taken from the earlier filing: "aus Ihrer Gewerbeanmeldung BP-… vom …"."""
    date = format_date(filing.submitted_at, "medium")
    if filing.service_key == "gewerbeummeldung":
        return _("aus Ihrer Gewerbeummeldung %(reference)s vom %(date)s", reference=filing.reference, date=date)
    return _("aus Ihrer Gewerbeanmeldung %(reference)s vom %(date)s", reference=filing.reference, date=date)


class TrustTooLow(Exception):
    def __init__(self, service):
        self.service = service


def _require_trust(service) -> None:
    """A login below the service's trust level may look but not file; it is told why."""
    if not trust.meets(trust.current_level(), service.trust_level):
        raise TrustTooLow(service)


@bp.errorhandler(413)
@never_fails
def _too_large(_exc):
    """A message over the request limit (checked before the view runs): a page that names the
    limits and links back to the filing (its own view checks access again)."""
    if request.endpoint != "filings.message":  # a step of a draft: its text or files were too large
        return render_template("errors/error.html", code=413, title=_("Daten zu groß"),
                               message=too_large_message()), 413
    reference = (request.view_args or {}).get("reference")
    back = url_for("filings.detail", reference=reference) + "#antworten" \
        if request.endpoint == "filings.message" and reference else None
    return conversation.too_large_page(back)


@bp.errorhandler(TrustTooLow)
@never_fails
def _trust_too_low(exc: TrustTooLow):
    return render_template("filings/trust_too_low.html", service=exc.service, locale=_locale(),
                           level=trust.current_level()), 403


@bp.errorhandler(services.DraftGone)
def _draft_gone(_exc):
    """The draft was filed or deleted (in another tab, by a colleague) while this step was saved:
    nothing was stored; say so on "Meine Anträge" instead of a server error."""
    flash(_("Dieser Entwurf wurde inzwischen eingereicht oder gelöscht."), "warning")
    return redirect(url_for("filings.index"))


@bp.errorhandler(services.StepChanged)
def _step_changed(exc: services.StepChanged):
    """The step's answers were changed since the posted page was opened: nothing of the post was
    stored. The step is shown again with the answers as they are now, and a message naming who
    changed them and when; the person compares, enters again what they meant and saves."""
    at = _when(exc.at)
    if exc.by.id == current_user.id:
        flash(_("Die Angaben dieses Schritts wurden am %(time)s in einem anderen Fenster geändert, nachdem Sie "
                "die Seite geöffnet hatten. Ihre Eingaben wurden nicht gespeichert. Unten sehen Sie die jetzt "
                "gespeicherten Angaben; bitte prüfen Sie sie und geben Sie Ihre Änderungen erneut ein.", time=at),
              "warning")
    else:
        flash(_("%(name)s hat die Angaben dieses Schritts am %(time)s geändert, nachdem Sie die Seite geöffnet "
                "hatten. Ihre Eingaben wurden nicht gespeichert. Unten sehen Sie die Angaben von %(name)s; bitte "
                "prüfen Sie sie und geben Sie Ihre Änderungen erneut ein.", name=_person_name(exc.by), time=at),
              "warning")
    return redirect(url_for("filings.step", draft_id=exc.draft_id, step_key=exc.step_key))


def _review_again(exc: services.DraftChanged, review_url: str):
    """A submit from a review page opened before the draft (or one of a bundle's drafts) was saved
    again: nothing was filed; back to the review, which shows the answers as they are now, with a
    message naming who changed the draft and when."""
    at = _when(exc.draft.updated_at)
    if exc.draft.updated_by_id == current_user.id:
        flash(_("Der Entwurf wurde am %(time)s in einem anderen Fenster geändert, nachdem Sie diese Seite geöffnet "
                "hatten. Es wurde nichts eingereicht. Bitte prüfen Sie die Angaben erneut und reichen Sie dann "
                "ein.", time=at), "warning")
    else:
        flash(_("Der Entwurf wurde am %(time)s von %(name)s geändert, nachdem Sie diese Seite geöffnet hatten. Es "
                "wurde nichts eingereicht. Bitte prüfen Sie die Angaben erneut und reichen Sie dann ein.",
                time=at, name=_person_name(exc.draft.updated_by)), "warning")
    return redirect(review_url)


def _when(at) -> str:
    return current_app.jinja_env.filters["datetimeformat"](at)


def _person_name(person) -> str:
    return person.name or person.email or _("eine andere Person Ihres Unternehmens")


#: the hidden fields of a step's form that say what the page showed when it was opened: the
#: draft's revision and the digest of the step's stored answers (``services.SeenStep``)
REVISION_FIELD = "draft_revision"
DIGEST_FIELD = "step_answers"
SEEN_FIELDS = (REVISION_FIELD, DIGEST_FIELD)


def _seen_step(service, step_key: str) -> services.SeenStep | None:
    """What the posted step page showed when it was opened; None for a form without the marks
    (sent by a page made before they existed): it is taken as before."""
    revision = request.form.get(REVISION_FIELD, "")
    digest = request.form.get(DIGEST_FIELD, "")
    if not revision.isdigit() or len(revision) > 18 or not digest:
        return None
    return services.SeenStep(step_key, services.step_answer_names(service, step_key), int(revision), digest[:64])


def _draft_or_404(draft_id: str, with_files: bool = False, locked: bool = False):
    draft = services.company_draft(current_user.company_id, draft_id, with_files, locked)
    if draft is None:
        _to_what_it_became(draft_id)
    return draft, _service_of(draft)


def _to_what_it_became(draft_id: str) -> NoReturn:
    """A draft that was submitted since (the back button, a colleague's link, a second tab) leads
    to its filing's or bundle's page with a word; any other missing draft is a 404."""
    filed = services.filed_from(current_user.company_id, draft_id)
    if filed is None:
        abort(404)
    kind, reference = filed
    flash(_("Dieser Entwurf wurde bereits eingereicht."), "info")
    abort(redirect(url_for("filings.detail", reference=reference) if kind == "filing"
                   else url_for("filings.bundle_detail", reference=reference)))


def _service_of(draft):
    """The definition whose steps the draft follows: its service, or a bundle's questionnaire."""
    service = catalog.get_service(draft.service_key)
    if service is None:
        bundle = catalog.get_bundle(draft.service_key)
        if bundle is None:
            abort(404)
        return bundle.questionnaire
    _require_trust(service)
    return service


def _bundle_draft_of(draft):
    """The bundle draft ``draft`` belongs to (itself for a bundle draft), or None."""
    if catalog.get_bundle(draft.service_key) is not None:
        return draft
    if draft.bundle_draft_id is None:
        return None
    return services.company_draft(current_user.company_id, str(draft.bundle_draft_id))


@bp.get("/antraege")
@company_required
def index():
    snapshot = current_app.extensions["bizportal"].snapshot  # services and bundles of one catalog version
    services_by_key = {**snapshot.services, **{k: b.questionnaire for k, b in snapshot.bundles.items()}}
    drafts = queries.company_drafts(current_user.company_id)
    bundle_drafts = {d.id for d in drafts if d.service_key in snapshot.bundles}
    drafts = [d for d in drafts if d.bundle_draft_id not in bundle_drafts]  # shown on their bundle's page
    progress: dict = {}
    for d in drafts:
        bundle = catalog.get_bundle(d.service_key)
        if bundle is not None:  # the questions and each chosen service's draft
            progress[d.id] = bundles.progress(d, bundle, catalog.catalog())
        elif d.service_key in services_by_key:
            progress[d.id] = services.draft_progress(services_by_key[d.service_key], d)
    after = request.args.get("nach", "")
    after_id = int(after) if after.isdigit() and len(after) <= 18 else None  # within a 64-bit id
    filings, more = queries.company_filings(current_user.company_id, after_id)
    locale = _locale()
    return render_template("filings/index.html", filings=filings, more=more, paged=after_id is not None,
                           filing_rows=listing.filing_rows(filings, services_by_key, locale, snapshot),
                           bundles=queries.company_bundles(current_user.company_id),
                           bundle_titles={k: b.title for k, b in catalog.bundles().items()},
                           drafts=drafts, progress=progress, catalog=services_by_key,
                           locale=locale, form=FlaskForm())


@bp.route("/leistungen/<key>/antrag", methods=["GET", "POST"])
@company_required
def start(key: str):
    """GET shows what the filing needs and a button; POST (CSRF-checked) creates the draft."""
    service = catalog.get_service(key)
    if service is None:
        abort(404)
    _require_trust(service)
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            draft = services.start_draft(current_user, service, _prefill(service))
        except services.TooManyDrafts as exc:
            return _too_many_drafts(exc)
        return redirect(url_for("filings.step", draft_id=draft.id, step_key=service.steps[0].key))
    return render_template("filings/start.html", service=service, form=form, locale=_locale())


@bp.route("/antraege/entwurf/<draft_id>/<step_key>", methods=["GET", "POST"])
@takes_files
@judges_text_length
@company_required
def step(draft_id: str, step_key: str):
    # the page shows its files; a POST writes the draft, under the company's lock from its read on
    draft, service = _draft_or_404(draft_id, with_files=request.method == "GET", locked=request.method == "POST")
    back_to = _return_to()
    if not services.step_reachable(service, draft, step_key):
        target = services.first_open_step(service, draft)
        if target is None:
            return redirect(back_to or url_for("filings.review", draft_id=draft.id))
        flash(_("Bitte bearbeiten Sie die Schritte der Reihe nach."), "info")
        return redirect(url_for("filings.step", draft_id=draft.id, step_key=target, next=back_to))
    locale = _locale()
    here = url_for("filings.step", draft_id=draft.id, step_key=step_key, next=back_to)
    shown = visible_step_fields(service, step_key, draft.data)
    from_bundle = _from_bundle(service, draft, shown, here)
    given = from_bundle["given"]  # the bundle's answers: read-only here, never taken from the form
    waived = from_bundle["waived"]  # uploads the bundle makes unnecessary: a note, no input
    fields = [fd for fd in shown if fd.name not in given and fd.name not in waived]
    searches = {fd.name: request.args.get(f"suche-{fd.name}", "").strip()[:100]
                for fd in fields if fd.type == "wz2008"}
    # the page a picker's "Suchen" leads to: what was typed is shown as it was, not judged yet
    searched = any(f"suche-{name}" in request.args for name in searches)
    # the page a refused review or submit leads to: what is wrong is shown at once
    judged = request.args.get(JUDGE_ARG) == "1"
    form_cls = build_step_form(service, step_key, draft.data, locale, searches,
                               leave_out=frozenset(given) | frozenset(waived))
    more_checks, bundle_says = _bundle_checks(service, draft)  # the bundle's checks on the service's fields
    status = 200
    upload_errors: dict[str, str] = {}
    store_down = False
    if request.method == "POST":
        form = form_cls(earlier_answers={**draft.data, **given, **bundle_says}, more_checks=more_checks)
        # an answer over its field's length is shown with the field's error and never stored; the
        # rest of the step's text (kept as pending input) stays within a form's limit
        too_long = _over_long(form)
        if _text_bytes(request.form, leave_out=too_long) > current_app.config["SETTINGS"].web.form_body_bytes:
            abort(413)
        seen = _seen_step(service, step_key)
        if seen is not None and seen.changed(draft):  # checked again under the lock by each write below
            raise services.StepChanged(draft.id, step_key, draft.updated_by, draft.updated_at)
        action = request.form.get("action", "next")
        valid = form.validate()  # CSRF was checked before the view (CSRFProtect)
        _too_long_errors(too_long)
        upload_errors, store_down = _handle_uploads(draft, service, fields, seen)
        if action.startswith("remove_file:"):
            services.remove_attachment(draft, current_user, action.split(":", 1)[1], _storage(), seen)
            return redirect(here)
        if action.startswith(("add:", "remove:")) and not too_long:
            return _change_group(draft, step_key, form, fields, action, seen, back_to)
        if action.startswith("search:") and not too_long:
            return _search_picker(draft, step_key, fields, action.split(":", 1)[1], seen, back_to)
        missing_files = _missing_files(draft, fields)
        if valid and _contradicts_bundle(draft, service, fields, form):
            valid = False
        if _alike(draft, fields, form):  # also next to a check's error (a move to the same address and town)
            valid = False
        if valid and not upload_errors and not missing_files:
            extra = _bundle_prefill(draft, service)
            # asked before the save's commit, which expires the draft (read again only where it is used)
            bundle = catalog.get_bundle(draft.service_key)
            services.save_step(draft, current_user, service, step_key, {**answers_from_form(fields, form), **given},
                               seen, prefilled={fd.name for fd in extra.fields} if extra else ())
            if bundle is not None and services.first_open_step(service, draft) is None:
                # the questions are answered: each chosen service gets its draft with the shared
                # answers (again after a change, so no service draft keeps an old shared answer)
                try:
                    bundles.prepare_services(draft, current_user, bundle, catalog.catalog(), _prefill)
                except services.TooManyDrafts as exc:
                    return _too_many_drafts(exc)
            if action == "save":
                flash(_("Ihr Entwurf wurde gespeichert."), "success")
                return redirect(url_for("filings.index"))
            if action in LEAVING:
                return redirect(_leave_to(action, service, draft, step_key, back_to))
            nxt = services.first_open_step(service, draft)
            if nxt is None:
                return redirect(back_to or url_for("filings.review", draft_id=draft.id))
            return redirect(url_for("filings.step", draft_id=draft.id, step_key=nxt, next=back_to))
        raw = {key: values for key, values in _typed(request.form).items() if key not in too_long}
        if action in LEAVING and not too_long:  # kept as typed, unjudged; the step is done once "Weiter" accepts it
            if step_key in draft.pending_input or not _as_saved(raw, fields, draft.data):
                services.save_pending_input(draft, current_user, step_key, {**raw, UNJUDGED: ["1"]}, seen)
                flash(_("Ihre Eingaben auf der Seite „%(step)s“ sind gespeichert, aber noch nicht vollständig "
                        "oder nicht richtig. Mit „Weiter“ auf dieser Seite werden sie geprüft.",
                        step=_step_title(service, step_key)), "info")
            return redirect(_leave_to(action, service, draft, step_key, back_to))
        for name, message in missing_files.items():
            upload_errors.setdefault(name, message)
        services.save_pending_input(draft, current_user, step_key, raw, seen)
        status = 503 if store_down else 422
    else:
        pending = draft.pending_input.get(step_key)
        if pending:
            formdata = MultiDict([(k, v) for k, vs in pending.items() for v in vs if k != UNJUDGED])
        else:
            formdata = formdata_from_answers(fields, draft.data)
        formdata["csrf_token"] = generate_csrf()
        form = form_cls(formdata=formdata, earlier_answers={**draft.data, **given, **bundle_says},
                        more_checks=more_checks)
        if ((pending and UNJUDGED not in pending) or judged) and not searched:
            form.validate()  # show again what was wrong with the unfinished input
        if judged and not searched:  # as "Weiter" would judge the answers
            _alike(draft, fields, form)
            upload_errors = _missing_files(draft, fields)
    for name, message in upload_errors.items():
        form[name].errors = [*(form[name].errors or []), message]
    for note in minimum_notes(form.step_checks, {**draft.data, **given, **bundle_says}, {fd.name for fd in fields}):
        flash(note, "info")  # a statutory minimum of a year without a published row: which year's is applied
    return render_template(
        "filings/step.html", service=service, draft=draft, step_key=step_key, form=form, fields=shown,
        steps=_progress(service, draft, step_key), attachments={a.field_name: a for a in draft.attachments},
        prefilled=_prefilled_names(service, draft), locale=locale, here=here,
        previous=_previous_step(service, draft, step_key), overview=_overview_of(service, draft),
        seen_digest=services.answers_digest(draft, services.step_answer_names(service, step_key)), **from_bundle,
    ), status


#: the step page's buttons that leave it for the previous step or the bundle's overview: valid
#: answers are saved as "Weiter" saves them, anything else is kept as typed (pending input)
LEAVING = ("back", "overview")
#: the mark of pending input kept by "Zurück" or "Zur Übersicht": shown again without errors
#: (nobody asked for it to be judged yet)
UNJUDGED = "__ungeprueft"
#: the query argument of a step page that names where to go once its draft has no open step (the
#: review whose "ändern" link opened it, the service step whose "im Vorhaben ändern" did)
RETURN_ARG = "next"


def _return_to() -> str | None:
    """The step page's ``next``: a path of the company's drafts in this portal (``safe_next``
    refuses other hosts, scheme-relative and backslash tricks), else None."""
    target = safe_next(request.args.get(RETURN_ARG))
    return target if target and target.startswith("/antraege/") else None


def _step_title(service, step_key: str) -> str:
    step = next((s for s in service.steps if s.key == step_key), None)
    return step.title.get(_locale()) if step else step_key


def _previous_step(service, draft, step_key: str):
    """The visible step before ``step_key`` (None on the first)."""
    shown = service.visible_steps(draft.data)
    keys = [s.key for s in shown]
    return shown[keys.index(step_key) - 1] if step_key in keys and keys.index(step_key) > 0 else None


def _overview_of(service, draft) -> str | None:
    """The bundle overview a step of ``draft`` offers a way back to: a service draft's bundle, or
    the bundle's own questionnaire once every question is answered (before, there is no overview)."""
    parent = _bundle_draft_of(draft)
    if parent is None or (parent is draft and services.first_open_step(service, draft) is not None):
        return None
    return url_for("filings.bundle_overview", draft_id=parent.id)


def _leave_to(action: str, service, draft, step_key: str, back_to: str | None) -> str:
    """Where "Zurück" (the previous step, the ``next`` kept) or "Zur Übersicht" (the bundle's
    overview) leads; without either, the step itself."""
    if action == "overview":
        target = _overview_of(service, draft)
        if target:
            return target
    previous = _previous_step(service, draft, step_key)
    if previous is not None:
        return url_for("filings.step", draft_id=draft.id, step_key=previous.key, next=back_to)
    return _overview_of(service, draft) or url_for("filings.step", draft_id=draft.id, step_key=step_key,
                                                   next=back_to)


#: the query argument of a step page that shows at once what is wrong with its answers (the
#: review or the submit refused them and led here)
JUDGE_ARG = "pruefen"


def _to_refused_step(draft_id, definition, step_key: str, field_name: str, message: str):
    """An answer the review or the submit refuses (a check, a field's rule): say where and why, and
    open that step showing the errors at its fields (nothing is filed)."""
    locale = _locale()
    fd = definition.field(field_name)
    step = next((s for s in definition.steps if s.key == step_key), None)
    flash(_("„%(title)s“, Schritt „%(step)s“, Angabe „%(field)s“: %(message)s Es wurde nichts eingereicht.",
            title=definition.title.get(locale), step=step.title.get(locale) if step else step_key,
            field=fd.label.get(locale) if fd else field_name, message=message), "danger")
    args: dict[str, Any] = {"draft_id": draft_id, "step_key": step_key, JUDGE_ARG: "1"}
    if request.endpoint in ("filings.review", "filings.bundle_review"):
        # once corrected, "Weiter" returns to the review that refused it (a bundle's questions
        # would otherwise lead on to the bundle's overview)
        args[RETURN_ARG] = request.path
    return redirect(url_for("filings.step", **args))


def _answer_refused(failure: recheck.InvalidAnswer):
    return _to_refused_step(failure.draft.id, failure.definition, failure.step, failure.field, failure.message)


def _from_bundle(service, draft, fields, here: str) -> dict:
    """For a service draft of a bundle: the fields whose answer the bundle gives (a shared answer
    or a fixed value) and still holds, and the bundle's title, so that the step marks them as
    coming from the bundle (not from the company account) and says where to change them; among
    ``fields``, those the bundle gives whole (``given``, shown read-only) with the link to the
    bundle's step that asks them (its overview for a fixed value) and the note of a fixed value
    (``notes``); the required uploads the bundle waives (``waived``, shown as its note). The link
    to a question returns to this step (``here``) once the questions are answered again."""
    parent = _bundle_draft_of(draft)
    bundle = catalog.get_bundle(parent.service_key) if parent is not None and parent is not draft else None
    if bundle is None:
        return {"from_bundle": set(), "bundle_title": "", "given": {}, "change_at": {}, "notes": {}, "waived": {}}
    given = bundles.given_answers(parent, bundle, service.key)
    whole = bundles.given_whole(parent, bundle, service.key, fields)
    change_at = {}
    for name in whole:
        question = bundle.question_filling(service.key, name)
        change_at[name] = (url_for("filings.step", draft_id=parent.id, step_key=question.step, next=here)
                           if question else url_for("filings.bundle_overview", draft_id=parent.id))
    return {"from_bundle": {name for name, value in given.items() if not differs(value, draft.data.get(name))},
            "bundle_title": bundle.title.get(_locale()), "given": whole, "change_at": change_at,
            "notes": bundles.preset_notes(parent, bundle, service.key),
            "waived": bundles.waived(parent, bundle, service.key, catalog.catalog())}


def _bundle_checks(service, draft) -> tuple[tuple, dict]:
    """For a service draft of a bundle: the bundle's checks on the service's fields (e.g. a
    training not starting before the business) and the bundle's answers they read."""
    parent = _bundle_draft_of(draft)
    bundle = catalog.get_bundle(parent.service_key) if parent is not None and parent is not draft else None
    if bundle is None or not bundle.service_checks.get(service.key):
        return (), {}
    return bundle.service_checks[service.key], bundle.check_answers({}, bundles.bundle_answers(parent, bundle))


def _contradicts_bundle(draft, service, fields, form) -> bool:
    """For a service draft of a bundle: mark each field of the step whose answer contradicts the
    bundle's questionnaire (a shared answer or a fixed value) with an error naming the bundle; True
    when there is one."""
    parent = _bundle_draft_of(draft)
    bundle = catalog.get_bundle(parent.service_key) if parent is not None and parent is not draft else None
    if bundle is None:
        return False
    answers = {**draft.data, **answers_from_form(fields, form)}
    clash = bundles.contradictions(parent, bundle, service, answers, {fd.name for fd in fields})
    given = bundles.given_answers(parent, bundle, service.key)
    for name in clash:
        fd = service.field(name)
        value = given[name]
        if isinstance(value, list) and fd is not None:  # a group: the entry (or the count) that differs
            _group_contradiction(bundle, service.key, fd, form[name], value, answers.get(name) or [])
            continue
        shown = _as_read(fd, value) if fd else None
        target = form[name]
        if isinstance(value, dict):  # the error goes to the address part that differs
            mine = answers.get(name) or {}
            part = next((p for p, v in value.items() if (mine.get(p) or "") != (v or "")), next(iter(value)))
            target, shown = form[name][part], value[part]
        target.errors = [*(target.errors or []), _contradiction_text(bundle, shown if shown is not None else value)]
    return bool(clash)


def _as_read(fd, value) -> str:
    """A bundle's answer as the company reads it in a contradiction message: the ``answer`` filter
    the pages use (a choice's label, a country's name, a date in the page's language, Ja/Nein)."""
    return current_app.jinja_env.filters["answer"](value, fd, _locale())


def _contradiction_text(bundle, shown) -> str:
    return _("Das widerspricht Ihrem Vorhaben „%(bundle)s“: dort gilt „%(value)s“. Wenn das nicht stimmt, ändern "
             "Sie bitte die Angaben des Vorhabens.", bundle=bundle.title.get(_locale()), value=shown)


def _group_contradiction(bundle, service_key: str, fd, group, given: list, entries: list) -> None:
    """Mark where a group's entries differ from the bundle's: the first sub-field (or address part)
    of an entry that differs, or the group itself when it has another number of entries (the
    company's own entries, e.g. a Betriebsleitung the bundle does not ask for, are not compared)."""
    from_bundle = bundle.bundle_entries(service_key, fd.name, entries)
    positions = [i for i, e in enumerate(entries) if any(e is b for b in from_bundle)]
    mine = [entries[i] for i in positions]
    if len(given) != len(mine):
        group.errors = [*group.errors, ngettext(
            "Das widerspricht Ihrem Vorhaben „%(bundle)s“: dort ist %(num)s Eintrag angegeben. Wenn das nicht "
            "stimmt, ändern Sie bitte die Angaben des Vorhabens.",
            "Das widerspricht Ihrem Vorhaben „%(bundle)s“: dort sind %(num)s Einträge angegeben. Wenn das nicht "
            "stimmt, ändern Sie bitte die Angaben des Vorhabens.", len(given), bundle=bundle.title.get(_locale()))]
        return
    for index, (entry, answer) in enumerate(zip(given, mine, strict=True)):
        for sub_name, value in entry.items():
            if not differs(value, (answer or {}).get(sub_name)):
                continue
            sub = next(s for s in fd.fields if s.name == sub_name)
            target, shown = group.entries[positions[index]].form[sub_name], value
            if isinstance(value, dict):
                part = next(p for p, v in value.items() if differs(v, ((answer or {}).get(sub_name) or {}).get(p)))
                target, shown = target[part], value[part]
            else:
                shown = _as_read(sub, value)
            target.errors = [*(target.errors or []), _contradiction_text(bundle, shown)]
            group.errors = [*group.errors, group.entries[positions[index]].errors]
            return


def _alike(draft, fields, form) -> bool:
    """For a bundle's questions: mark the step's questions that repeat answers which must differ
    (``BundleDefinition.distinct``, e.g. the new address of a move equal to the current one)."""
    bundle = catalog.get_bundle(draft.service_key)
    if bundle is None:
        return False
    names = {fd.name for fd in fields}
    answers = {**draft.data, **answers_from_form(fields, form)}
    marked = False
    for rule in bundle.distinct:
        if set(rule.second) & names and rule.violated(answers):
            target = next(n for n in rule.second if n in names)
            form[target].errors = [*(form[target].errors or []), rule.message.get(_locale())]
            marked = True
    return marked


def _text_bytes(form: MultiDict, leave_out: Collection[str] = ()) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in form.items(multi=True)
               if key not in leave_out)


def _text_inputs(form) -> Iterator:
    """Every input of a step's form, through its address forms and repeating groups."""
    for field in form:
        if isinstance(field, FormField):
            yield from _text_inputs(field.form)
        elif isinstance(field, FieldList):
            for entry in field.entries:
                yield from _text_inputs(entry.form) if isinstance(entry, FormField) else [entry]
        else:
            yield field


def _over_long(form) -> dict[str, Any]:
    """The inputs (by name) whose posted text is longer than their field takes: such a text is
    shown again as sent with the error ``too_long_errors`` gives, and never stored."""
    found = {}
    for field in _text_inputs(form):
        limits = [v.max for v in field.validators if isinstance(v, Length) and v.max >= 0]
        if limits and any(isinstance(value, str) and len(value.strip()) > min(limits)
                          for value in field.raw_data or ()):
            found[field.name] = field
    return found


def _too_long_errors(too_long: dict[str, Any]) -> None:
    """An over-long text's one error: how long it is and how long it may be (its other checks,
    such as a format, would only distract)."""
    for field in too_long.values():
        limit = min(v.max for v in field.validators if isinstance(v, Length) and v.max >= 0)
        length = max(len(value.strip()) for value in field.raw_data if isinstance(value, str))
        field.errors = [_("Dieser Text ist zu lang: höchstens %(max)s Zeichen, eingegeben wurden %(length)s. "
                          "Bitte kürzen Sie ihn.", max=format_decimal(limit), length=format_decimal(length))]


def _typed(form: MultiDict) -> dict[str, list[str]]:
    """What was typed into a step's form: its inputs without the CSRF token, the pressed button and
    the marks of what the page showed."""
    return {key: values for key, values in form.to_dict(flat=False).items()
            if key not in ("csrf_token", "action", *SEEN_FIELDS)}


def _handle_uploads(draft, service, fields, seen) -> tuple[dict[str, str], bool]:
    """Store each file of the step; the refusals by field, and whether the file store was down."""
    errors: dict[str, str] = {}
    store_down = False
    for fd in fields:
        if fd.type != "file":
            continue
        upload = request.files.get(fd.name)
        if upload is None or not upload.filename:
            continue
        try:
            services.store_attachment(draft, current_user, service, fd, upload.filename, upload.stream, _storage(),
                                      seen)
        except services.UploadRefused as exc:
            errors[fd.name] = str(exc)
            store_down = store_down or isinstance(exc, services.FileStoreUnavailable)
    return errors, store_down


def _missing_files(draft, fields) -> dict[str, str]:
    required = [fd.name for fd in fields if fd.type == "file" and fd.required]
    if not required:  # the draft's files are read only for a step that asks for one
        return {}
    present = {a.field_name for a in draft.attachments}
    return {name: _("Bitte laden Sie die Datei hoch.") for name in required if name not in present}


def _change_group(draft, step_key, form, fields, action, seen, back_to=None):
    """Add or remove an entry of a repeating group; what was typed is kept as pending input."""
    verb, _, spec = action.partition(":")
    name, _, index = spec.partition(":")
    fd = next((f for f in fields if f.name == name and f.type == "group"), None)
    if fd is None:
        abort(400)
    raw = _typed(request.form)
    count = len(form[name].entries)
    if verb == "add" and count < fd.max_items:
        raw[f"{name}-{count}-__added"] = ["1"]
    elif verb == "remove" and index.isdigit():
        raw = _drop_group_entry(raw, name, int(index))
    services.save_pending_input(draft, current_user, step_key, raw, seen)
    return redirect(url_for("filings.step", draft_id=draft.id, step_key=step_key, next=back_to) + f"#{name}")


def _search_picker(draft, step_key, fields, name, seen, back_to=None):
    """The WZ 2008 picker's "Suchen" (the search without JavaScript, and the button with it): the
    step is shown again with the choices narrowed to the words searched for and every answer
    typed on the page still in place. What was typed is kept as the step's pending input, like
    an added group entry, neither checked nor saved as answers (the step is done only after
    "Weiter"); a page that still shows the saved answers stores nothing, so a done step stays
    done. The search words are in the address, so a reload shows the same list."""
    if not any(fd.name == name and fd.type == "wz2008" for fd in fields):
        abort(400)
    query = request.form.get(f"{name}-suche", "").strip()[:100]
    searches = {f"{fd.name}-suche" for fd in fields if fd.type == "wz2008"}
    raw = {key: values for key, values in _typed(request.form).items() if key not in searches}
    if step_key in draft.pending_input or not _as_saved(raw, fields, draft.data):
        services.save_pending_input(draft, current_user, step_key, raw, seen)
    # no fragment: a page opened at a fragment skips "autofocus", which takes the focus to the list
    return redirect(url_for("filings.step", draft_id=draft.id, step_key=step_key, next=back_to,
                            **{f"suche-{name}": query}))


def _as_saved(raw: dict[str, list[str]], fields, answers: dict) -> bool:
    """Whether the posted page ``raw`` shows exactly the saved ``answers`` of its fields (empty
    inputs are no answers)."""
    def given(data: dict[str, list[str]]) -> dict[str, list[str]]:
        return {key: sorted(values) for key, values in data.items() if any(v.strip() for v in values)}

    return given(raw) == given(formdata_from_answers(fields, answers).to_dict(flat=False))


def _drop_group_entry(raw: dict, name: str, index: int) -> dict:
    prefix = f"{name}-"
    kept: dict = {}
    for key, values in raw.items():
        if not key.startswith(prefix):
            kept[key] = values
            continue
        pos, _, rest = key[len(prefix):].partition("-")
        if not pos.isdigit() or int(pos) == index:
            continue
        new_pos = int(pos) - 1 if int(pos) > index else int(pos)
        kept[f"{prefix}{new_pos}-{rest}"] = values
    return kept


def _progress(service, draft, current: str) -> list[dict]:
    steps = []
    reachable = True
    for s in service.visible_steps(draft.data):
        done = s.key in draft.completed_steps
        steps.append({"key": s.key, "title": s.title, "done": done, "current": s.key == current,
                      "reachable": reachable})
        reachable = reachable and done
    return steps


def _prefilled_names(service, draft) -> dict[str, str | None]:
    """The fields (and a group's sub-fields, "<group>-<n>-<sub>") still holding the data the draft
    started with, each with its badge: None for the account's ("aus Ihrem Unternehmenskonto"), the
    filing's name for an answer from the company's latest filed Gewerbeanzeige."""
    # with the account data a bundle starts its service draft with (e.g. the Hauptniederlassung)
    extra = _bundle_prefill(draft, service)
    filing = earlier.latest_gewerbeanzeige(current_user.company_id) \
        if any(fd.from_filing for fd in service.fields) else None
    prefill = {**_prefill(service, filing), **(_prefill(extra) if extra else {})}
    filed = prefill_values(service, {"gewerbeanzeige": earlier.filing_values(filing)}) if filing else {}
    names: dict[str, str | None] = {}
    for name, value in prefill.items():
        badge = _filing_source(filing) if filing is not None and filed.get(name) == value else None
        if draft.data.get(name) == value:
            names[name] = badge
        entries = draft.data.get(name)
        if not (isinstance(value, list) and isinstance(entries, list)):
            continue
        # a group's entries: each sub-field still as the account (its first entry) or the filing gave it
        for i, (known, entry) in enumerate(zip(value, entries, strict=False)):
            if isinstance(known, dict) and isinstance(entry, dict):
                subs = {f"{name}-{i}-{sub}": badge for sub, v in known.items() if entry.get(sub) == v}
                names.update(subs)
                if subs:
                    names.setdefault(name, badge)
    return names


def _bundle_prefill(draft, service):
    """``service`` with the fields its bundle prefills (``bundles.bundle_prefill``); None outside a bundle."""
    parent = _bundle_draft_of(draft)
    bundle = catalog.get_bundle(parent.service_key) if parent is not None and parent is not draft else None
    return bundles.bundle_prefill(bundle, service) if bundle is not None else None


@bp.route("/antraege/entwurf/<draft_id>/pruefen", methods=["GET", "POST"])
@company_required
def review(draft_id: str):
    # The draft first, then (only if it is gone) the filing it became: a filing and the deletion of
    # its draft are one commit, so a press that finds no draft finds the filing.
    draft = services.company_draft(current_user.company_id, draft_id)
    if draft is None:
        try:
            previous = services.previous_submit(draft_id, current_user.company_id) \
                if request.method == "POST" else None
        except services.ForeignSubmitToken:
            abort(404)  # another company's draft id: as if it did not exist
        if previous is None:
            _to_what_it_became(draft_id)
        # the same draft was submitted already (double click, another tab): show that filing
        return redirect(url_for("filings.detail", reference=previous.filing.reference))
    service = _service_of(draft)
    parent = _bundle_draft_of(draft)
    target = services.first_open_step(service, draft)
    if parent is not None and (target is None or parent is draft):
        # a bundle is reviewed and submitted as a whole, from its own page
        return redirect(url_for("filings.bundle_overview", draft_id=parent.id))
    if target is not None:
        flash(_("Bitte vervollständigen Sie zuerst alle Schritte."), "info")
        return redirect(url_for("filings.step", draft_id=draft.id, step_key=target))
    if request.method == "GET":  # a submit checks again, under the company's lock
        refused = recheck.invalid_answer(service, draft, _locale())
        if refused is not None:
            return _answer_refused(refused)
    form = ReviewForm()
    if request.method == "POST" and not form.validate():  # CSRF was checked before the view
        return _render_review(service, draft, form), 422
    if request.method == "POST":
        try:
            outcome = services.submit_draft(draft, current_user, service, trust_level=trust.current_level(),
                                           locale=_locale(), reviewed=form.revision.data or "")
        except services.DraftChanged as exc:
            return _review_again(exc, url_for("filings.review", draft_id=draft_id))
        except services.DraftGone:
            flash(_("Dieser Entwurf wurde inzwischen gelöscht; es wurde nichts eingereicht."), "warning")
            return redirect(url_for("filings.index"))
        except recheck.AnswerRefused as exc:
            return _answer_refused(exc.failure)
        except NoCompetentBody as exc:
            log.info("no competent %s for postcode %s", exc.kind, exc.postcode)
            flash(_("Für die angegebene Postleitzahl ist im Portal noch keine zuständige Stelle angeschlossen. "
                    "Bitte prüfen Sie die Adresse."), "danger")
            return _render_review(service, draft, form), 422
        if outcome.created:
            session[JUST_SUBMITTED] = outcome.filing.reference  # the filing's page confirms it once
        return redirect(url_for("filings.detail", reference=outcome.filing.reference))
    return _render_review(service, draft, form)


def _too_many_drafts(exc: services.TooManyDrafts):
    """The company's drafts are at their limit: say so on the list of drafts, where some can be
    submitted or deleted."""
    flash(_("Ihr Unternehmen hat bereits %(n)s offene Entwürfe, mehr sind nicht möglich. Bitte reichen Sie "
            "Entwürfe ein oder löschen Sie nicht mehr benötigte Entwürfe; dann können Sie einen neuen "
            "beginnen.", n=exc.limit), "danger")
    return redirect(url_for("filings.index"))


#: session key: the reference of the filing just submitted, confirmed once on its page
JUST_SUBMITTED = "just_submitted"


def _render_review(service, draft, form):
    answers = services.final_answers(service, draft)
    form.revision.data = services.review_state([draft])  # the save of the draft the page shows
    try:
        receivers = services.destinations_of(service, answers, current_user)
    except (NoCompetentBody, services.NoDestination):
        receivers = None  # the submit says why; the page names the kind of body instead
    return render_template("filings/review.html", service=service, draft=draft, form=form,
                           answers=answers, receivers=receivers,
                           fee_region=receivers[0][0].region if receivers else None,  # the primary's
                           attachments={a.field_name: a for a in draft.attachments},
                           steps=_progress(service, draft, ""), locale=_locale())


@bp.post("/antraege/entwurf/<draft_id>/kopieren")
@company_required
def duplicate(draft_id: str):
    draft, service = _draft_or_404(draft_id)
    bundle = catalog.get_bundle(draft.service_key)
    had_files = bool(draft.attachments) or (bundle is not None
                                            and any(child.attachments for child in bundles.children(draft)))
    try:
        if bundle is not None:  # the answers, the services left out and each service's draft
            copy = bundles.duplicate_bundle_draft(draft, current_user, bundle, catalog.catalog())
        else:
            copy = services.duplicate_draft(draft, current_user)
    except services.TooManyDrafts as exc:
        return _too_many_drafts(exc)
    flash(_("Der Entwurf wurde kopiert."), "success")
    if had_files:  # files are not copied: the steps that held one are open again
        flash(_("Hochgeladene Dateien wurden nicht mitkopiert. Bitte laden Sie sie im kopierten Entwurf erneut "
                "hoch."), "info")
    if bundle is not None:
        return redirect(url_for("filings.review", draft_id=copy.id))
    return redirect(url_for("filings.step", draft_id=copy.id, step_key=service.steps[0].key))


@bp.post("/antraege/entwurf/<draft_id>/loeschen")
@company_required
def delete(draft_id: str):
    """Deletes a draft. A bundle's draft deletes every service draft with it: its first POST shows
    a confirmation page naming them; only that page's POST with ``confirm=yes`` deletes."""
    draft, _service = _draft_or_404(draft_id)
    bundle = catalog.get_bundle(draft.service_key)
    if bundle is not None and request.form.get("confirm") != "yes":
        services_of = catalog.catalog()
        titles = [services_of[d.service_key].title.get(_locale()) if d.service_key in services_of else d.service_key
                  for d in bundles.children(draft)]
        return render_template("filings/delete_confirm.html", draft=draft, bundle=bundle, titles=titles,
                               form=FlaskForm(), locale=_locale())
    if bundle is not None:
        bundles.delete_bundle_draft(draft, _storage())
    else:
        services.delete_draft(draft, _storage())
    flash(_("Der Entwurf wurde gelöscht."), "success")
    return redirect(url_for("filings.index"))


def _filing_or_404(reference: str, page: bool = False):
    filing = queries.company_filing(current_user.company_id, reference, page)
    if filing is None:
        abort(404)
    return filing


@bp.get("/antraege/<reference>")
@company_required
def detail(reference: str):
    return _render_detail(_filing_or_404(reference, page=True))


def _render_detail(filing, message_form: MessageForm | None = None, status: int = 200):
    service = catalog.get_service(filing.service_key)
    just_submitted = session.get(JUST_SUBMITTED) == filing.reference
    if just_submitted:
        session.pop(JUST_SUBMITTED)
    open_requests = [m for m in filing.messages if m.open_request]
    primary = queries.primary_chamber(filing)
    reply_to = open_requests[0].chamber if open_requests else primary
    file_limits = conversation.file_input_attrs()
    blank = message_form is None
    message_form = message_form or MessageForm(formdata=None)
    return render_template("filings/detail.html", filing=filing, service=service, locale=_locale(),
                           form=FlaskForm(), message_form=message_form,
                           message_fields=_message_fields(message_form, blank, file_limits),
                           open_requests=open_requests, primary=primary, reply_to=reply_to,
                           just_submitted=just_submitted, receivers=queries.filing_receivers(filing),
                           fee_region=primary.region if primary else None,
                           can_reply=reply_to is not None and lifecycle.takes_portal_replies(reply_to)), status


def _message_fields(form: MessageForm, blank: bool, file_limits: dict[str, str]) -> Markup:
    """The message form's fields (``filings/_message_fields.html``). A ``blank`` form (not the one
    posted: no input, no errors) is the same for everyone reading the page in one language (the
    attributes of the file input are that language's too), so it is rendered once per app and
    language and kept; a form posted and shown again is rendered anew."""
    macro = get_template_attribute("filings/_message_fields.html", "message_fields")
    kept: Rendered = current_app.extensions.setdefault(_MESSAGE_FIELDS, Rendered(16))
    return kept.form_fields(blank, (_locale(), *file_limits.items()), lambda: macro(form, file_limits))


#: ``app.extensions`` key of the blank message forms' fields kept (``_message_fields``)
_MESSAGE_FIELDS = "bizportal.filings.message_fields"


@bp.post("/antraege/<reference>/nachricht")
@takes_files
@company_required
def message(reference: str):
    """The company answers a request (or writes to the chamber) with text and documents."""
    filing = _filing_or_404(reference)
    form = MessageForm()
    if not form.validate():
        return _render_detail(filing, form, 422)
    raw_request_id = form.request_id.data or ""
    request_id = int(raw_request_id) if raw_request_id.isdigit() else None
    try:
        files = conversation.store_files(
            [(f.filename or "", f.stream) for f in request.files.getlist("files") if f and f.filename], _storage(),
            origin=services.UploadOrigin(current_user.get_id(), "files", company_id=filing.company_id,
                                         filing_id=filing.id))
    except services.UploadRefused as exc:
        form.files.errors = [str(exc)]
        return _render_detail(filing, form, exc.status)
    try:
        sent = lifecycle.company_message(filing, current_user, form.body.data or "", files,
                                         request_id=request_id, form_token=form.form_token.token)
    except lifecycle.AlreadySent:
        conversation.discard(files, _storage())
        flash(_("Diese Nachricht wurde bereits gesendet; das Formular kam ein zweites Mal an. Sie wurde nicht "
                "noch einmal gespeichert."), "info")
        return redirect(url_for("filings.detail", reference=reference) + "#gespraech")
    except lifecycle.ClosedFiling:
        conversation.discard(files, _storage())
        flash(_("Dieser Antrag ist abgeschlossen; Sie können keine Nachricht mehr senden."), "warning")
        return _render_detail(filing, status=409)
    except lifecycle.NoPortalReplies:
        conversation.discard(files, _storage())
        flash(_("Diese Stelle nimmt Antworten über das Portal noch nicht entgegen. Bitte antworten Sie auf dem "
                "Weg, den sie in ihrer Nachricht nennt."), "warning")
        return _render_detail(filing, status=409)
    except lifecycle.ForeignRequest:
        conversation.discard(files, _storage())
        flash(_("Die genannte Nachforderung gehört nicht zu diesem Antrag. Es wurde nichts gesendet; Ihr Text "
                "steht noch im Formular."), "warning")
        return _render_detail(filing, form, 422)
    except lifecycle.EventRefused:
        conversation.discard(files, _storage())
        flash(_("Diese Nachforderung ist bereits beantwortet. Bitte prüfen Sie die Nachrichten."), "warning")
        return _render_detail(filing, form, 409)
    if sent.reply_to_id:
        flash(_("Ihre Antwort wurde an %(chamber)s gesendet.", chamber=sent.chamber.name), "success")
    else:
        flash(_("Ihre Nachricht wurde an %(chamber)s gesendet.", chamber=sent.chamber.name), "success")
    return redirect(url_for("filings.detail", reference=reference) + "#gespraech")


@bp.post("/antraege/<reference>/zurueckziehen")
@company_required
def withdraw(reference: str):
    """First POST (from the filing's page): a confirmation page that says what withdrawing does;
    only its POST with ``confirm=yes`` withdraws. Works without JavaScript."""
    filing = _filing_or_404(reference)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    reason = (request.form.get("reason") or "").strip()[:1000]
    if request.form.get("confirm") != "yes":
        if filing.status in ("accepted", "rejected", "withdrawn"):
            flash(_("Dieser Antrag ist bereits entschieden oder zurückgezogen."), "warning")
            return redirect(url_for("filings.detail", reference=reference))
        return render_template("filings/withdraw_confirm.html", filing=filing, form=form, reason=reason,
                               service=catalog.get_service(filing.service_key), locale=_locale(),
                               receivers=queries.filing_receivers(filing))
    try:
        lifecycle.withdraw(filing, current_user, reason or None)
    except lifecycle.NotWithdrawable:
        flash(_("Dieser Antrag ist bereits entschieden oder zurückgezogen."), "warning")
    else:
        flash(_("Ihr Antrag wurde zurückgezogen."), "success")
    return redirect(url_for("filings.detail", reference=reference))


@bp.get("/antraege/<reference>/eingangsbestaetigung.pdf")
@company_required
def receipt(reference: str):
    """The receipt as stored at submit, byte for byte."""
    filing = _filing_or_404(reference)
    stored = services.receipt_of(filing, catalog.get_service(filing.service_key))
    name = receipts.receipt_filename(filing.reference, stored.locale)
    return Response(stored.content, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
    })


@bp.get("/antraege/anhang/<attachment_id>")
@company_required
def attachment(attachment_id: str):
    item = queries.company_attachment(current_user.company_id, attachment_id)
    if item is None:
        abort(404)
    return attachment_response(item, _storage())


def attachment_response(item, storage) -> Response:
    """Send a stored file safely: its checked type, as a download, never rendered inline."""
    from urllib.parse import quote

    chunks = storage.stream(item.storage_key)  # opened here: an unreachable store answers 503, not a cut response
    ascii_name = item.original_name.encode("ascii", "replace").decode().replace('"', "")
    return Response(chunks, mimetype=item.media_type, direct_passthrough=True, headers={
        "Content-Length": str(item.size),
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(item.original_name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })
