"""Downloads of one inbox item for the chamber's records office: PDF and JSON (``exports``), and
for a trade notification its XGewerbeanzeige message (XML).

Routes on the ``inbox`` blueprint; this module is imported by ``create_app`` before the blueprint
is registered.
"""

from __future__ import annotations

import json

from flask import Response, abort
from flask_login import current_user

from ..audit import services as audit
from ..auth.access import roles_required
from ..catalog import queries as catalog
from . import exports, queries
from .views import bp


def _export(item_id: int, fmt: str) -> exports.Export:
    """The export of the item if it is this staff member's chamber's (else 404), audited."""
    item = queries.chamber_item(current_user.chamber_id, item_id)
    if item is None:
        abort(404)
    export = exports.build(item, catalog.get_service(item.service_key))
    audit.record("filing.export", current_user.get_id(), target=f"inbox:{item.id}", detail=fmt,
                 filing_id=export.filing_id, chamber_id=item.chamber_id)
    return export


def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/staff/posteingang/<int:item_id>/export.pdf")
@roles_required("chamber_staff")
def export_pdf(item_id: int):
    export = _export(item_id, "pdf")
    return _download(exports.render_pdf(export), "application/pdf", f"{export.basename}.pdf")


@bp.get("/staff/posteingang/<int:item_id>/export.json")
@roles_required("chamber_staff")
def export_json(item_id: int):
    export = _export(item_id, "json")
    body = json.dumps(export.document, ensure_ascii=False, indent=2)
    return _download(body, "application/json", f"{export.basename}.json")


@bp.get("/staff/posteingang/<int:item_id>/xgewerbeanzeige.xml")
@roles_required("chamber_staff")
def export_xgewerbeanzeige(item_id: int):
    """The XGewerbeanzeige message of a trade notification; 404 for another service."""
    item = queries.chamber_item(current_user.chamber_id, item_id)
    if item is None or not exports.has_xgewerbeanzeige(item):
        abort(404)
    content = exports.xgewerbeanzeige_message(item)
    assert content is not None
    filing = queries.filing_of(item)
    audit.record("filing.export", current_user.get_id(), target=f"inbox:{item.id}", detail="xgewerbeanzeige",
                 filing_id=filing.id if filing is not None else None, chamber_id=item.chamber_id)
    return _download(content, "application/xml", exports.xgewerbeanzeige_filename(item))
