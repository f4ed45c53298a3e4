"""The audit log for administrators."""

from flask import Blueprint, render_template, request
from sqlalchemy import select

from ..auth.access import roles_required
from ..extensions import db
from .models import AuditEvent

bp = Blueprint("audit", __name__)
PAGE = 100


@bp.get("/staff/admin/protokoll")
@roles_required("admin")
def index():
    action = request.args.get("aktion", "")
    stmt = select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(PAGE)
    if action:
        stmt = stmt.where(AuditEvent.action == action[:40])
    return render_template("audit/index.html", events=list(db.session.scalars(stmt)), action=action)
