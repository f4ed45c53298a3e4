"""The company workspace: reviewing the data taken from the login provider, and contact details."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import Email, Length, Optional

from ..common.validators import Format
from . import services
from .access import company_required, safe_next

bp = Blueprint("workspace", __name__)

#: endpoints a company person may use before the company data are reviewed
OPEN_ENDPOINTS = {"workspace.review", "auth.logout", "catalog.index", "catalog.detail", "sessions.status",
                  "sessions.extend", "web.set_language", "static", "web.accessibility",
                  "web.easy_language", "web.imprint", "web.privacy", "web.healthz", "web.readyz"}


class ContactForm(FlaskForm):
    phone = StringField(_l("Telefon"), validators=[Optional(), Length(max=40), Format("phone")])
    notification_email = EmailField(_l("E-Mail-Adresse für Benachrichtigungen"), validators=[
        Optional(), Length(max=255), Email(message=_l("Bitte geben Sie eine gültige E-Mail-Adresse an."))],
        description=_l("An diese Adresse schicken wir Eingangsbestätigungen und Nachrichten zu Ihren Anträgen. "
                       "Ohne Angabe nutzen wir die Adresse der Person, die den Antrag stellt."))


def require_review():
    """Before each request of a company person: unreviewed provider data are reviewed first."""
    if (current_user.is_authenticated and getattr(current_user, "kind", None) == "company"
            and request.endpoint not in OPEN_ENDPOINTS and current_user.company.needs_review):
        return redirect(url_for("workspace.review", next=request.path if request.method == "GET" else None))
    return None


def _contact_page(template: str, done_message: str, target):
    """Show the provider's company data with the contact form; on a valid POST confirm both."""
    company = current_user.company
    form = ContactForm(obj=company)
    if form.validate_on_submit():
        services.confirm_company_data(company, current_user, form.phone.data, form.notification_email.data)
        flash(done_message, "success")
        return redirect(target())
    return render_template(template, company=company, form=form), 422 if form.errors else 200


def _next_or_filings() -> str:
    return safe_next(request.args.get("next")) or url_for("filings.index")


@bp.route("/unternehmen/pruefen", methods=["GET", "POST"])
@company_required
def review():
    return _contact_page("auth/review.html", _("Danke. Die Unternehmensdaten sind bestätigt."), _next_or_filings)


@bp.route("/unternehmen", methods=["GET", "POST"])
@company_required
def company():
    return _contact_page("auth/company.html", _("Die Kontaktdaten wurden gespeichert."),
                         lambda: url_for("workspace.company"))
