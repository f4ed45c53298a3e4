"""Admin pages for the receiving bodies' master data: create, change (rename, disable, kind,
region, area) and import from a file. Every change is audited. The routes join the delivery
blueprint, beside the bodies' adapter settings (``views``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..audit import services as audit
from ..auth.access import roles_required
from ..bodies import queries as bodies
from ..bodies import services
from ..bodies.importing import ImportFileError, read_bodies_file
from .forms import BodyForm, BodyImportForm
from .views import bp

#: how many import errors the page lists (the rest are counted)
SHOWN_ERRORS = 100


@bp.route("/staff/admin/kammern/neu", methods=["GET", "POST"])
@roles_required("admin")
def body_create():
    form = BodyForm()
    if request.method == "GET":
        form.enabled.data = True
    status = 200
    if form.validate_on_submit():
        try:
            chamber = services.create_body(form.values())
        except services.BodiesInvalid as exc:
            form.show_errors(exc.by_field())
            status = 422
        else:
            audit.record("chamber.created", current_user.get_id(), target=f"chamber:{chamber.slug}",
                         chamber_id=chamber.id, detail=services.summary(services.BodyData.of(chamber)))
            flash(_("Die Stelle %(name)s wurde angelegt. Sie empfängt Anträge über den Posteingang des Portals; "
                    "den Adapter ändern Sie unter „Einstellungen bearbeiten“.", name=chamber.name), "success")
            return redirect(url_for("delivery.chamber_detail", slug=chamber.slug))
    elif form.is_submitted():
        status = 422
    return render_template("delivery/body_form.html", form=form, chamber=None), status


@bp.route("/staff/admin/kammern/<slug>/stammdaten", methods=["GET", "POST"])
@roles_required("admin")
def body_edit(slug: str):
    chamber = bodies.chamber_by_slug(slug)
    if chamber is None:
        abort(404)
    form = BodyForm(data=form_values(chamber)) if request.method == "GET" else BodyForm()
    form.slug.data = chamber.slug  # never changed: staff logins and adapters name the body by it
    status = 200
    if form.validate_on_submit():
        try:
            changes = services.update_body(chamber, form.values())
        except services.BodiesInvalid as exc:
            form.show_errors(exc.by_field())
            status = 422
        else:
            if changes:
                audit.record("chamber.changed", current_user.get_id(), target=f"chamber:{slug}",
                             chamber_id=chamber.id, detail="; ".join(changes))
                flash(_("Die Angaben zu %(name)s wurden gespeichert.", name=chamber.name), "success")
            else:
                flash(_("Es wurde nichts geändert."), "info")
            return redirect(url_for("delivery.chamber_detail", slug=slug))
    elif form.is_submitted():
        status = 422
    return render_template("delivery/body_form.html", form=form, chamber=chamber), status


@bp.route("/staff/admin/kammern/import", methods=["GET", "POST"])
@roles_required("admin")
def body_import():
    form = BodyImportForm()
    errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or ""
        try:
            result = services.import_bodies(read_bodies_file(filename, upload.read()))
        except ImportFileError as exc:
            errors = [str(exc)]
        except services.BodiesInvalid as exc:
            errors = [str(e) for e in exc.errors]
        else:
            _audit_import(filename, result)
            flash(_("Import aus %(file)s: %(created)d Stelle(n) angelegt, %(changed)d geändert, %(same)d unverändert.",
                    file=filename, created=len(result.created), changed=len(result.changed),
                    same=len(result.unchanged)), "success")
            return redirect(url_for("delivery.chamber_list"))
        status = 422
        audit.record("chamber.import", current_user.get_id(), target=filename[:100] or None, outcome="refused",
                     detail=f"{len(errors)} error(s): {errors[0]}")
    elif form.is_submitted():
        status = 422
    return render_template("delivery/body_import.html", form=form, errors=errors[:SHOWN_ERRORS],
                           more=max(0, len(errors) - SHOWN_ERRORS)), status


def form_values(chamber) -> dict:
    data = services.BodyData.of(chamber)
    return {"slug": data.slug, "name": data.name, "kind": data.kind, "region": data.region,
            "postcode_prefixes": " ".join(data.postcode_prefixes),
            "municipality_keys": " ".join(data.municipality_keys), "enabled": data.enabled,
            "authority_prefix": data.authority_prefix, "authority_id": data.authority_id}


def _audit_import(filename: str, result: services.ImportResult) -> None:
    """One entry per created or changed body, and one for the import as a whole."""
    actor = current_user.get_id()
    ids = {c.slug: c.id for c in bodies.chambers()}
    for slug in result.created:
        audit.record("chamber.created", actor, target=f"chamber:{slug}", chamber_id=ids.get(slug),
                     detail=f"import {filename}: {result.summaries[slug]}")
    for slug, changes in result.changed.items():
        audit.record("chamber.changed", actor, target=f"chamber:{slug}", chamber_id=ids.get(slug),
                     detail=f"import {filename}: " + "; ".join(changes))
    audit.record("chamber.import", actor, target=filename[:100] or None,
                 detail=f"created={len(result.created)} changed={len(result.changed)} "
                        f"unchanged={len(result.unchanged)}")
