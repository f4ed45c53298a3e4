"""Machine API for chamber systems (status callbacks; the filings API follows)."""

from flask import Blueprint, jsonify, request

from ..auth.access import public
from ..delivery import events
from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.post("/chambers/<slug>/status")
@csrf.exempt  # a machine endpoint: the HMAC signature over the body is the check
@public  # the chamber authenticates itself by signature (see chambers.webhook.signing)
def chamber_status(slug: str):
    """A chamber reports a status event of a filing it received through the webhook adapter.

    Body and headers as in ``chambers.webhook.callbacks``. Answers 200 ``{"result": "applied" |
    "duplicate", ...}``, or a JSON ``{"error": ...}`` with 400 (malformed), 401 (signature
    missing, forged or stale), 404 (unknown chamber or delivery) or 409 (event does not fit the
    filing, e.g. it is closed). A refused callback changes nothing.
    """
    body = request.get_data(cache=False)
    try:
        result = events.receive_status_callback(slug, request.headers, body)
    except events.CallbackRefused as exc:
        return jsonify(error=exc.message), exc.status
    return jsonify(result=result.result, delivery_id=str(result.delivery_id), event=result.kind,
                   filing_status=result.filing_status), 200
