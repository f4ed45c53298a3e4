"""Filing a service, and the company's list of filings."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import company_required
from ..catalog import queries as catalog
from ..delivery.routing import NoCompetentBody
from . import queries, services
from .forms import answers_from_form, build_form_class, new_submit_token, prefill_values

bp = Blueprint("filings", __name__)
log = logging.getLogger(__name__)


@bp.get("/antraege")
@company_required
def index():
    filings = queries.company_filings(current_user.company_id)
    return render_template("filings/index.html", filings=filings, catalog=catalog.catalog(),
                           locale=str(get_locale()))


@bp.route("/leistungen/<key>/antrag", methods=["GET", "POST"])
@company_required
def new(key: str):
    service = catalog.get_service(key)
    if service is None:
        abort(404)
    locale = str(get_locale())
    form_cls = build_form_class(service, locale)
    prefilled = prefill_values(service, {
        "company": current_user.company.master_data(),
        "person": {"name": current_user.name, "email": current_user.email},
    })
    if request.method == "GET":
        form = form_cls(data={**prefilled, "submit_token": new_submit_token()})
    else:
        form = form_cls()
    if form.validate_on_submit():
        answers = answers_from_form(service, form)
        try:
            outcome = services.submit_filing(current_user, service, answers, form.submit_token.data)
        except services.ForeignSubmitToken:
            log.warning("foreign submit token used by person %s", current_user.id)
            abort(400)
        except NoCompetentBody as exc:
            log.info("no competent %s for postcode %s", exc.kind, exc.postcode)
            field = service.location_field
            message = _("Für diese Postleitzahl ist im Portal noch keine zuständige Stelle angeschlossen.")
            if field:
                form[field].errors = [*form[field].errors, message]
            else:
                flash(message, "danger")
            return render_template("filings/new.html", service=service, form=form,
                                   prefilled=prefilled, locale=locale), 422
        if outcome.created:
            flash(_("Ihr Antrag wurde eingereicht. Ihr Aktenzeichen: %(ref)s", ref=outcome.filing.reference),
                  "success")
        return redirect(url_for("filings.detail", reference=outcome.filing.reference))
    status = 422 if request.method == "POST" else 200
    return render_template("filings/new.html", service=service, form=form, prefilled=prefilled,
                           locale=locale), status


@bp.get("/antraege/<reference>")
@company_required
def detail(reference: str):
    filing = queries.company_filing(current_user.company_id, reference)
    if filing is None:
        abort(404)
    service = catalog.get_service(filing.service_key)
    return render_template("filings/detail.html", filing=filing, service=service, locale=str(get_locale()))
