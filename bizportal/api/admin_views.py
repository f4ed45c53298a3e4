"""Admin pages for the chamber API's clients: create, rotate the secret, revoke.

A new or rotated secret is shown once, on the page that answers the POST (never put into the
session or a redirect), and only its hash is stored.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import roles_required
from ..bodies import queries as bodies
from . import clients
from .forms import ActionForm, ApiClientForm

bp = Blueprint("api_admin", __name__)


def _form(form: ApiClientForm | None = None) -> ApiClientForm:
    form = form or ApiClientForm(formdata=None)
    form.chamber.choices = [("", _("Bitte wählen"))] + [(c.slug, c.name) for c in bodies.chambers()]
    return form


def _list(form: ApiClientForm, status: int = 200):
    return render_template("api/clients.html", clients=clients.all_clients(), form=form,
                           action_form=ActionForm()), status


@bp.get("/staff/admin/api-zugaenge")
@roles_required("admin")
def index():
    return _list(_form())


@bp.post("/staff/admin/api-zugaenge")
@roles_required("admin")
def create():
    form = _form(ApiClientForm())
    if not form.validate():
        return _list(form, 422)
    chamber = bodies.chamber_by_slug(form.chamber.data or "")
    if chamber is None:
        form.chamber.errors = [_("Bitte wählen Sie die Stelle, für die das System arbeitet.")]
        return _list(form, 422)
    issued = clients.create(chamber, form.name.data or "", form.scopes(), current_user.get_id())
    return render_template("api/secret.html", client=issued.client, secret=issued.secret, rotated=False), 201


def _client_or_404(client_pk: int):
    client = clients.get(client_pk)
    if client is None:
        abort(404)
    return client


@bp.post("/staff/admin/api-zugaenge/<int:client_pk>/erneuern")
@roles_required("admin")
def rotate(client_pk: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    client = _client_or_404(client_pk)
    try:
        issued = clients.rotate(client, current_user.get_id())
    except clients.ClientRefused:
        flash(_("Dieser Zugang ist gesperrt; sein Geheimnis kann nicht erneuert werden."), "warning")
        return redirect(url_for("api_admin.index"))
    return render_template("api/secret.html", client=issued.client, secret=issued.secret, rotated=True)


@bp.post("/staff/admin/api-zugaenge/<int:client_pk>/sperren")
@roles_required("admin")
def revoke(client_pk: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    client = _client_or_404(client_pk)
    if clients.revoke(client, current_user.get_id()):
        flash(_("Der Zugang „%(name)s“ ist gesperrt; seine Tokens gelten nicht mehr.", name=client.name), "success")
    else:
        flash(_("Der Zugang „%(name)s“ war bereits gesperrt.", name=client.name), "info")
    return redirect(url_for("api_admin.index"))
