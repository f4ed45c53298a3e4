"""The audit log for administrators: filtered, paginated, with names instead of ids."""

from flask import Blueprint, current_app, render_template, request

from ..auth.access import roles_required
from ..common.limits import int_arg
from . import queries
from .chain import MANY_SOURCES
from .forms import AuditFilterForm
from .kinds import KINDS, OUTCOME_LABELS, detail_text

bp = Blueprint("audit", __name__)
PAGE = 50
FILTER_ARGS = ("aktion", "person", "vorgang", "von", "bis", "ergebnis")


@bp.get("/staff/admin/protokoll")
@roles_required("admin")
def index():
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("audit/index.html", form=form, page=None, filter_args={}), 422
    since, until = queries.day_bounds(form.von.day, form.bis.day, current_app.config["SETTINGS"].web.timezone)
    flt = queries.AuditFilter(action=form.aktion.data or "", outcome=form.ergebnis.data or "",
                              person=form.person.data or "", filing=form.vorgang.data or "",
                              since=since, until=until)
    page = queries.page(flt, PAGE, before=int_arg("vor"), after=int_arg("nach"))
    filter_args = {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}
    return render_template("audit/index.html", form=form, page=page, filter_args=filter_args, kinds=KINDS,
                           outcomes=OUTCOME_LABELS, detail_text=detail_text,
                           many_sources=MANY_SOURCES)
