"""Admin pages for chambers and deliveries, and the Prometheus metrics endpoint."""

from __future__ import annotations

import hmac
import json
import uuid
from collections.abc import Mapping

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from chambers.base import InvalidConfig
from chambers.registry import UnknownAdapter

from ..audit import services as audit
from ..auth.access import public, roles_required
from ..bodies import problems as receiver_problems
from ..bodies import queries as bodies
from ..bodies import settings
from ..bodies.models import Chamber
from ..common.limits import MAX_DB_INT, int_arg
from . import jobs, queries, services
from . import resend as resending
from .forms import ActionForm, ChamberForm

bp = Blueprint("delivery", __name__)

PAGE_SIZE = 100


def _portal():
    return current_app.extensions["bizportal"]


def _back(default: str) -> str:
    """A redirect target from the form: only pages of this admin area, never another host."""
    target = request.form.get("next") or ""
    if target.startswith("/staff/admin/") and "//" not in target and "\\" not in target:
        return target
    return default


# --- overview and problem deliveries ------------------------------------------------------------

@bp.get("/staff/admin/zustellungen")
@roles_required("admin")
def admin_overview():
    metrics = queries.chamber_metrics()
    totals = {k: sum(getattr(m, k) for m in metrics) for k in ("due", "in_flight", "delivered", "failing", "dead")}
    return render_template("delivery/admin_overview.html", metrics=metrics, totals=totals,
                           **_answer_times())


def _answer_times(chamber_id: int | None = None) -> dict:
    """Template values of the answer-time table (``delivery/_answer_times.html``)."""
    window = current_app.config["SETTINGS"].delivery.timing_window
    return {"answer_times": queries.answer_times(_portal().registry, window, chamber_id),
            "timing_minutes": max(1, round(window / 60))}


@bp.get("/staff/admin/zustellungen/probleme")
@roles_required("admin")
def problems():
    kind, chamber = _problem_filter_from(request.args)
    page = int_arg("seite", minimum=-MAX_DB_INT, maximum=MAX_DB_INT // PAGE_SIZE) or 1
    page = max(1, page)
    rows, total = queries.problem_deliveries(kind, chamber.id if chamber else None, PAGE_SIZE,
                                             (page - 1) * PAGE_SIZE)
    metrics = queries.chamber_metrics(chamber.id if chamber else None)
    return render_template("delivery/problems.html", rows=rows, total=total, kind=kind, chamber=chamber,
                           metrics=metrics,
                           page=page, pages=max(1, -(-total // PAGE_SIZE)), form=ActionForm(),
                           chambers=bodies.chambers())


def _problem_filter_from(values: Mapping[str, str]) -> tuple[str, Chamber | None]:
    """The problem filter (``zustand``, ``kammer``) of a request; 404 for an unknown chamber."""
    kind = values.get("zustand", "all")
    if kind not in queries.PROBLEM_KINDS:
        kind = "all"
    chamber = None
    if values.get("kammer"):
        chamber = bodies.chamber_by_slug(values["kammer"])
        if chamber is None:
            abort(404)
    return kind, chamber


@bp.route("/staff/admin/zustellungen/probleme/alle-erneut-senden", methods=["GET", "POST"])
@roles_required("admin")
def resend_all():
    """GET: how many deliveries match the filter now, and a button to re-send them all. POST
    (CSRF-checked): re-send every delivery that matches the filter when the form arrives."""
    if request.method == "GET":
        kind, chamber = _problem_filter_from(request.args)
        n = queries.count_problem_deliveries(kind, chamber.id if chamber else None)
        return render_template("delivery/resend_all.html", kind=kind, chamber=chamber, n=n, form=ActionForm())
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("zustand") not in queries.PROBLEM_KINDS or "kammer" not in request.form:
        abort(400)  # never widen a bulk action to all states or chambers because a field went missing
    kind, chamber = _problem_filter_from(request.form)
    n = resending.resend_matching(kind, chamber.id if chamber else None)
    shown = request.form.get("angezeigt", type=int)
    audit.record("delivery_resend_all", current_user.get_id(),
                 target=f"zustand={kind} kammer={chamber.slug if chamber else '*'}",
                 detail=f"requeued={n} confirmed={shown}")
    if n:
        flash(_("%(n)d Zustellung(en) werden erneut gesendet.", n=n), "success")
    else:
        flash(_("Keine Zustellung passte zum Filter; nichts wurde verändert."), "info")
    if shown is not None and shown != n:
        flash(_("Bei der Bestätigung passten %(shown)d Zustellung(en); erneut gesendet wurden die %(n)d, "
                "die beim Absenden passten.", shown=shown, n=n), "info")
    return redirect(url_for("delivery.problems", zustand=kind, kammer=chamber.slug if chamber else None))


@bp.post("/staff/admin/zustellungen/erneut-senden")
@roles_required("admin")
def resend():
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    raw = [request.form["one"]] if request.form.get("one") else request.form.getlist("ids")
    ids = []
    for value in raw:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    if not ids:
        flash(_("Bitte wählen Sie mindestens eine Zustellung aus."), "warning")
        return redirect(_back(url_for("delivery.problems")))
    n = resending.resend_many(ids)
    audit.record("delivery_resend", current_user.get_id(), target=",".join(str(i) for i in ids)[:300],
                 detail=f"requeued={n} of {len(ids)}")
    if n:
        flash(_("%(n)d Zustellung(en) werden erneut gesendet.", n=n), "success")
    if n < len(ids):
        flash(_("%(n)d Zustellung(en) wurden nicht verändert, weil sie bereits zugestellt sind oder gerade "
                "gesendet werden.", n=len(ids) - n), "info")
    return redirect(_back(url_for("delivery.problems")))


# --- chambers -----------------------------------------------------------------------------------

@bp.get("/staff/admin/kammern")
@roles_required("admin")
def chamber_list():
    return render_template("delivery/chambers.html", chambers=bodies.chambers(), form=ActionForm(),
                           labels=dict(_portal().registry.choices()))


@bp.get("/staff/admin/kammern/<slug>")
@roles_required("admin")
def chamber_detail(slug: str):
    chamber = bodies.chamber_by_slug(slug)
    if chamber is None:
        abort(404)
    (metrics,) = queries.chamber_metrics(chamber.id)
    rows, total = queries.problem_deliveries("all", chamber.id, PAGE_SIZE)
    options = settings.masked_options(_portal().registry, chamber)
    return render_template("delivery/chamber.html", chamber=chamber, metrics=metrics, rows=rows, total=total,
                           options=json.dumps(options, indent=2, ensure_ascii=False, sort_keys=True),
                           form=ActionForm(), labels=dict(_portal().registry.choices()),
                           authority_prefix=jobs.AUTHORITY_PREFIX, **_answer_times(chamber.id))


@bp.post("/staff/admin/kammern/<slug>/pruefen")
@roles_required("admin")
def chamber_check(slug: str):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    chamber = bodies.chamber_by_slug(slug)
    if chamber is None:
        abort(404)
    portal = _portal()
    result = settings.check(portal.registry, portal.adapter_services, chamber, portal.settings.web.receiver_hosts)
    if result.ok:
        flash(_("Die Konfiguration von %(name)s ist in Ordnung.", name=result.name), "success")
    else:
        flash(_("Die Konfiguration von %(name)s ist fehlerhaft: %(message)s", name=result.name,
                message=_problem_text(result)), "danger")
    return redirect(_back(url_for("delivery.chamber_detail", slug=slug)))


def _problem_text(result: settings.CheckResult) -> str:
    """The class of a failed check in words, its status, and the portal's own message (never the
    receiver's text: ``bodies.problems``)."""
    labels = {
        receiver_problems.UNREACHABLE: _("Empfänger nicht erreichbar (keine Verbindung)"),
        receiver_problems.TLS: _("TLS-Fehler (Zertifikat oder verschlüsselte Verbindung)"),
        receiver_problems.UNAUTHORIZED: _("Zugang abgelehnt (Zugangsdaten prüfen)"),
        receiver_problems.SERVER_ERROR: _("Fehler beim Empfänger"),
        receiver_problems.NO_ANSWER: _("keine Antwort innerhalb der Wartezeit"),
        receiver_problems.REFUSED: _("Anfrage vom Empfänger abgelehnt"),
        receiver_problems.HOST_NOT_ALLOWED: _("Host ist nicht freigegeben (BIZPORTAL_RECEIVER_HOSTS)"),
        receiver_problems.CONFIGURATION: _("Einstellungen passen nicht zum Adapter"),
        receiver_problems.OTHER: _("unerwarteter Fehler (Einzelheiten im Server-Protokoll)"),
    }
    text = str(labels.get(result.problem, labels[receiver_problems.OTHER]))
    if result.status:
        text += f" ({result.status})"
    return f"{text}: {result.message}" if result.message else text


@bp.route("/staff/admin/kammern/<slug>/bearbeiten", methods=["GET", "POST"])
@roles_required("admin")
def chamber_edit(slug: str):
    chamber = bodies.chamber_by_slug(slug)
    if chamber is None:
        abort(404)
    portal = _portal()
    form = ChamberForm(obj=None if request.method == "POST" else chamber)
    form.adapter_key.choices = portal.registry.choices()
    if request.method == "GET":
        form.options.data = json.dumps(settings.masked_options(portal.registry, chamber), indent=2,
                                       ensure_ascii=False, sort_keys=True)
    status = 200
    if form.validate_on_submit():
        try:
            waiting = services.reconfigure_chamber(portal.registry, portal.adapter_services, chamber,
                                                   form.adapter_key.data, form.parsed_options(), form.enabled.data,
                                                   portal.settings.web.receiver_hosts)
        except (InvalidConfig, UnknownAdapter) as exc:
            form.options.errors = [*form.options.errors, _("Die Optionen passen nicht zum Adapter: %(message)s",
                                                            message=str(exc).strip("'\""))]
            status = 422
        else:
            audit.record("chamber_settings_changed", current_user.get_id(), target=f"chamber:{slug}",
                         detail=f"adapter={form.adapter_key.data} enabled={form.enabled.data}")
            flash(_("Die Einstellungen von %(name)s wurden gespeichert.", name=chamber.name), "success")
            if waiting:
                flash(_("%(n)d wartende Zustellung(en) werden jetzt mit den neuen Einstellungen gesendet.",
                        n=waiting), "info")
            return redirect(url_for("delivery.chamber_detail", slug=slug))
    elif form.is_submitted():
        status = 422
    return render_template("delivery/chamber_edit.html", chamber=chamber, form=form), status


# --- Prometheus ---------------------------------------------------------------------------------

@bp.get("/metrics")
@public  # Prometheus has no session: the bearer token below is the access check
def metrics():
    token = current_app.config["SETTINGS"].web.metrics_token
    if not token:
        abort(404)
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not hmac.compare_digest(given.encode(), str(token).encode()):
        return Response("unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    body = queries.prometheus_text(queries.chamber_metrics())
    return Response(body, content_type="text/plain; version=0.0.4; charset=utf-8")
