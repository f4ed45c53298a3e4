"""Life-event bundles on the filings blueprint: start, the overview of the services the answers
call for (leave one out, complete what each still needs), one review, one binding submit, the
combined status page and the bundle's receipt. The bundle's questions themselves are steps of an
ordinary draft (``views.step``)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from ..auth import trust
from ..auth.access import company_required, public
from ..catalog import queries as catalog
from . import bundles, queries, receipts, recheck, services
from .forms import ReviewForm, check_message
from .views import (
    _answer_refused,
    _locale,
    _prefill,
    _require_trust,
    _review_again,
    _storage,
    _to_refused_step,
    _to_what_it_became,
    _too_many_drafts,
    bp,
)

log = logging.getLogger(__name__)

#: the overview's query argument naming the required service whose leaving out is to be confirmed
CONFIRM_ARG = "weglassen"


def _bundle_or_404(key: str):
    bundle = catalog.get_bundle(key)
    if bundle is None:
        abort(404)
    return bundle


def _bundle_draft_or_404(draft_id: str):
    draft = services.company_draft(current_user.company_id, draft_id)
    if draft is None:
        _to_what_it_became(draft_id)
    return draft, _bundle_or_404(draft.service_key)


@bp.get("/vorhaben/<key>")
@public
def bundle_description(key: str):
    """What the bundle covers, which services and why, and its start button: public like a
    service's page (``catalog.detail``); only starting the draft needs a company login."""
    bundle = _bundle_or_404(key)
    return render_template("filings/bundle_start.html", bundle=bundle, catalog=catalog.catalog(), form=FlaskForm(),
                           locale=_locale())


@bp.post("/vorhaben/<key>")
@company_required
def bundle_start(key: str):
    """Creates the bundle's draft (CSRF-checked) and opens its first question."""
    bundle = _bundle_or_404(key)
    if not FlaskForm().validate():
        abort(400)
    try:
        draft = bundles.start_bundle_draft(current_user, bundle, _prefill(bundle.questionnaire))
    except services.TooManyDrafts as exc:
        return _too_many_drafts(exc)
    return redirect(url_for("filings.step", draft_id=draft.id, step_key=bundle.questionnaire.steps[0].key))


def _open_question(draft, bundle):
    step = services.first_open_step(bundle.questionnaire, draft)
    if step is None:
        return None
    flash(_("Bitte beantworten Sie zuerst alle Fragen."), "info")
    return redirect(url_for("filings.step", draft_id=draft.id, step_key=step))


@bp.get("/antraege/vorhaben/<draft_id>")
@company_required
def bundle_overview(draft_id: str):
    draft, bundle = _bundle_draft_or_404(draft_id)
    redirect_to = _open_question(draft, bundle)
    if redirect_to:
        return redirect_to
    parts = bundles.parts(draft, bundle, catalog.catalog())
    progress = {p.service.key: services.draft_progress(p.service, p.draft) for p in parts if p.draft}
    # the service whose "Weglassen" asks for a confirmation (a required one, not left out yet)
    confirm = next((p.service.key for p in parts if p.service.key == request.args.get(CONFIRM_ARG)
                    and p.entry.required_reason and not p.left_out), None)
    # "Angaben ergänzen" leads straight to the first open step: the review's hint ("Bitte
    # vervollständigen Sie zuerst alle Schritte") is for someone who tried to submit
    first_open = {p.service.key: services.first_open_step(p.service, p.draft) for p in parts if p.draft}
    # steps a change of the bundle's answers opened again, named until they are completed again
    reopened = {p.service.key: [_("„%(name)s“", name=s.title.get(_locale()))
                                for s in p.service.visible_steps(p.draft.data)
                                if s.key in (p.draft.reopened_steps or []) and s.key not in p.draft.completed_steps]
                for p in parts if p.draft}
    receivers = {p.service.key: _known_receivers(p.service, {**(p.draft.data if p.draft else {}),
                                                             **bundles.given_answers(draft, bundle, p.service.key)})
                 for p in parts if not p.left_out}
    return render_template("filings/bundle_overview.html", bundle=bundle, draft=draft, parts=parts,
                           progress=progress, first_open=first_open, reopened=reopened, form=FlaskForm(),
                           confirm=confirm, receivers=receivers,
                           locale=_locale(),
                           ready=any(not p.left_out for p in parts) and all(
                               p.left_out or (p.draft and progress[p.service.key].ready) for p in parts))


def _known_receivers(service, answers: dict[str, Any]) -> list[tuple[Any, str]] | None:
    """The bodies ``answers`` route ``service`` to, as the review names them ("Gewerbeamt Bremen
    (Stadtamt); Kopie an Handwerkskammer Bremen"), once the answers decide them: the location's
    postcode is given and every routing condition's field answered (new-user trial, issue 16: the
    overview named only the kinds of bodies though the postcode was known). None before, or when no
    body is connected for that place: the overview then names the kinds of bodies."""
    if not service.postcode_from(answers) and not service.municipality_key_from(answers):
        return None
    if any(answers.get(name) in (None, "") for rule in service.routing if rule.when is not None
           for name in rule.when.inputs):
        return None
    try:
        return services.destinations_of(service, answers, current_user)
    except (services.NoCompetentBody, services.NoDestination):
        return None


@bp.post("/antraege/vorhaben/<draft_id>/antraege")
@company_required
def bundle_prepare(draft_id: str):
    """Create (or bring up to date) the drafts of the chosen services and go on to the first one
    that needs answers; with ``service`` and ``leave_out`` first leave that service out (or take
    it back in)."""
    draft, bundle = _bundle_draft_or_404(draft_id)
    if not FlaskForm().validate():
        abort(400)
    redirect_to = _open_question(draft, bundle)
    if redirect_to:
        return redirect_to
    key = request.form.get("service", "")
    if key:
        part = next((p for p in bundles.parts(draft, bundle, catalog.catalog()) if p.service.key == key), None)
        if part is None:
            abort(400)
        leave_out = request.form.get("leave_out") == "yes"
        if leave_out and part.entry.required_reason and request.form.get("confirmed") != "yes":
            # a service the law requires: the first "Weglassen" asks again, with the reason, on the
            # overview (a form of its own: no script needed); only "Trotzdem weglassen" leaves it out
            args: dict[str, Any] = {"draft_id": draft.id, CONFIRM_ARG: key}
            return redirect(url_for("filings.bundle_overview", **args) + f"#bestaetigen-{key}")
        bundles.set_left_out(draft, current_user, bundle, key, leave_out)
        title = part.service.title.get(_locale())
        # a status message (role="status", announced by screen readers) says what changed
        flash(_("„%(service)s“ ist weggelassen und wird nicht eingereicht. Mit „Wieder aufnehmen“ nehmen Sie "
                "den Antrag wieder auf.", service=title) if leave_out else
              _("„%(service)s“ ist wieder aufgenommen und wird mit dem Vorhaben eingereicht.", service=title),
              "success")
    try:
        bundles.prepare_services(draft, current_user, bundle, catalog.catalog(), _prefill)
    except services.TooManyDrafts as exc:
        return _too_many_drafts(exc)
    if key:
        return redirect(url_for("filings.bundle_overview", draft_id=draft.id) + f"#teil-{key}")
    return redirect(url_for("filings.bundle_overview", draft_id=draft.id))


@bp.route("/antraege/vorhaben/<draft_id>/pruefen", methods=["GET", "POST"])
@company_required
def bundle_review(draft_id: str):
    draft = services.company_draft(current_user.company_id, draft_id)
    if draft is None:  # a second press of the submit, the back button, a colleague's link
        _to_what_it_became(draft_id)
    bundle = _bundle_or_404(draft.service_key)
    redirect_to = _open_question(draft, bundle)
    if redirect_to:
        return redirect_to
    failure = bundles.failed_check(draft, bundle, catalog.catalog())
    if failure is not None:  # the answers themselves first: a change may have made the services disagree
        return _check_failed(failure)
    every = bundles.parts(draft, bundle, catalog.catalog())
    parts = [p for p in every if not p.left_out]
    for part in parts:
        _require_trust(part.service)
        if part.draft is None or services.first_open_step(part.service, part.draft):
            flash(_("Bitte vervollständigen Sie zuerst alle Anträge."), "info")
            return redirect(url_for("filings.bundle_overview", draft_id=draft.id))
    for part in parts:
        assert part.draft is not None
        clash = bundles.contradictions(draft, bundle, part.service, part.draft.data)
        if clash:
            return _contradiction(draft, bundle, part.service.key, clash[0])
    if request.method == "GET":  # a submit checks again, under the company's lock
        refused = bundles.invalid_answer(draft, bundle, catalog.catalog(), _locale())
        if refused is not None:
            return _answer_refused(refused)
    form = ReviewForm()
    status = 200
    if request.method == "POST" and form.validate():
        try:
            outcome = bundles.submit_bundle(draft, current_user, bundle, catalog.catalog(), _storage(),
                                            trust_level=trust.current_level(), locale=_locale(),
                                            reviewed=form.revision.data or "")
        except services.DraftChanged as exc:
            return _review_again(exc, url_for("filings.bundle_review", draft_id=draft_id))
        except services.DraftGone:
            flash(_("Dieser Entwurf wurde inzwischen gelöscht; es wurde nichts eingereicht."), "warning")
            return redirect(url_for("filings.index"))
        except bundles.ServiceIncomplete:
            flash(_("Bitte vervollständigen Sie zuerst alle Anträge."), "info")
            return redirect(url_for("filings.bundle_overview", draft_id=draft_id))
        except bundles.ServiceContradicts as exc:
            return _contradiction(draft, bundle, exc.service_key, exc.field)
        except bundles.CheckFails as exc:
            return _check_failed(exc.failure)
        except recheck.AnswerRefused as exc:
            return _answer_refused(exc.failure)
        except bundles.NothingChosen:
            flash(_("Sie haben alle Anträge weggelassen; es gibt nichts einzureichen."), "warning")
            return redirect(url_for("filings.bundle_overview", draft_id=draft_id))
        except bundles.ServiceNotRoutable as exc:
            log.info("bundle %s: no competent body for %s: %s", bundle.key, exc.service_key, exc.cause)
            service = catalog.get_service(exc.service_key)
            flash(_("Für „%(service)s“ ist im Portal für die angegebene Adresse noch keine zuständige Stelle "
                    "angeschlossen. Es wurde kein Antrag eingereicht. Bitte prüfen Sie die Adresse oder lassen "
                    "Sie diesen Antrag weg.", service=service.title.get(_locale()) if service else exc.service_key),
                  "danger")
            status = 422
        else:
            return redirect(url_for("filings.bundle_detail", reference=outcome.bundle.reference))
    elif request.method == "POST":
        status = 422
    reviewed = []
    for part in parts:
        assert part.draft is not None
        answers = services.final_answers(part.service, part.draft)
        try:
            receivers = services.destinations_of(part.service, answers, current_user)
        except (services.NoCompetentBody, services.NoDestination):
            receivers = None
        reviewed.append((part, answers, receivers, {a.field_name: a for a in part.draft.attachments}))
    form.revision.data = services.review_state(bundles.drafts_of(draft))  # the saves of the drafts shown
    account = current_user.company.master_data()
    return render_template("filings/bundle_review.html", bundle=bundle, draft=draft, reviewed=reviewed,
                           left_out=[p for p in every if p.left_out], form=form, locale=_locale(), account=account,
                           other_business=bundles.other_business(draft, bundle, account)), status


def _contradiction(draft, bundle, service_key: str, field_name: str):
    """A service's answer contradicts the bundle's: say which service and field, back to the
    overview (nothing is filed)."""
    service = catalog.get_service(service_key)
    fd = service.field(field_name) if service else None
    flash(_("„%(service)s“, Angabe „%(field)s“: Ihre Antwort widerspricht Ihrem Vorhaben „%(bundle)s“. Bitte "
            "passen Sie den Antrag oder die Angaben des Vorhabens an; es wurde nichts eingereicht.",
            service=service.title.get(_locale()) if service else service_key,
            field=fd.label.get(_locale()) if fd else field_name, bundle=bundle.title.get(_locale())), "danger")
    return redirect(url_for("filings.bundle_overview", draft_id=draft.id))


def _check_failed(failure: bundles.CheckFailure):
    """An answer one of the bundle's checks refuses: say where and why, and open that step with
    the error at the field (nothing is filed)."""
    return _to_refused_step(failure.draft.id, failure.definition, failure.step, failure.field,
                           check_message(failure.message, failure.values, _locale()))


def _bundle_record_or_404(reference: str):
    record = queries.company_bundle(current_user.company_id, reference)
    if record is None:
        abort(404)
    return record


@bp.get("/antraege/vorhaben/eingereicht/<reference>")
@company_required
def bundle_detail(reference: str):
    """The combined status page: every filing of the bundle with its receivers and state."""
    record = _bundle_record_or_404(reference)
    return render_template("filings/bundle_detail.html", record=record, bundle=catalog.get_bundle(record.bundle_key),
                           catalog=catalog.catalog(), locale=_locale())


@bp.get("/antraege/vorhaben/eingereicht/<reference>/eingangsbestaetigung.pdf")
@company_required
def bundle_receipt(reference: str):
    """The bundle's receipt as stored at submit, byte for byte."""
    record = _bundle_record_or_404(reference)
    name = receipts.receipt_filename(record.reference, record.locale)
    return Response(record.receipt, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff",
    })
