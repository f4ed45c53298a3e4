"""Machine API for chamber systems: the signed status callback (``/api/chambers/<slug>/status``)
and the chamber API ``/api/v1`` (OAuth 2.0 client credentials, OpenAPI 3.1 at
``/api/v1/openapi.json``, reference page ``/api/v1/docs``).

The views are thin: ``operations.operation`` authenticates, rate-limits and validates;
``queries`` reads, ``services`` writes through ``filings.lifecycle``.
"""

from flask import Blueprint, current_app, g, jsonify, render_template, request

from ..audit import services as audit
from ..auth.access import public
from ..delivery import events
from ..extensions import csrf
from ..filings.views import attachment_response
from ..inbox import exports
from . import oauth, openapi, problems, queries, schemas, services
from .operations import Call, operation

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # machine endpoints: bearer tokens, client secrets or HMAC signatures are the checks

REFERENCE = {"reference": "The filing's reference, e.g. `BP-2026-7KQ3MZ`."}


@bp.post("/chambers/<slug>/status")
@public  # the chamber authenticates itself by signature (see chambers.webhook.signing)
def chamber_status(slug: str):
    """A chamber reports a status event of a filing it received through the webhook adapter.

    Body and headers as in ``chambers.webhook.callbacks``. Answers 200 ``{"result": "applied" |
    "duplicate", ...}``, or a JSON ``{"error": ...}`` with 400 (malformed, or a time before the
    submission or in the future), 401 (signature missing, forged or stale), 404 (unknown chamber,
    chamber without webhooks, or unknown delivery), 409 (event does not fit the filing, e.g. it is
    closed or older than its status), 411 (no Content-Length) or 413 (body over
    ``CALLBACK_MAX_BODY``, refused unread). A refused callback changes nothing.
    """
    # refused before a byte is read: the body is not signed until it has been read in full
    if request.content_length is None:
        return _callback_refused(slug, 411, "Content-Length required")
    if request.content_length > events.CALLBACK_MAX_BODY:
        return _callback_refused(slug, 413, f"body larger than {events.CALLBACK_MAX_BODY} bytes")
    body = request.get_data(cache=False)
    try:
        result = events.receive_status_callback(slug, request.headers, body)
    except events.CallbackRefused as exc:
        return _callback_refused(slug, exc.status, exc.message)
    audit.record("delivery.status_callback", f"webhook:{slug}", target=f"delivery:{result.delivery_id}",
                 detail=f"{result.kind} ({result.result})", filing_id=result.filing_id, chamber_id=result.chamber_id)
    return jsonify(result=result.result, delivery_id=str(result.delivery_id), event=result.kind,
                   filing_status=result.filing_status), 200


def _callback_refused(slug: str, status: int, message: str):
    """A refused status callback: counted in the audit log like other anonymous noise (per
    source and minute), since the caller proved no identity."""
    audit.record("delivery.status_callback", "anonymous", target=f"POST /api/chambers/{slug}/status",
                 detail=f"{status}: {message}", outcome="refused")
    return jsonify(error=message), status


# --- /api/v1 ------------------------------------------------------------------------------------

@bp.post("/v1/oauth/token")
@public  # the client authenticates with its id and secret (authlib checks them)
def token():
    """Issue a bearer token (OAuth 2.0 client credentials)."""
    return oauth.token_response()


@bp.get("/v1/openapi.json")
@public
def openapi_document():
    return current_app.response_class(openapi.dumps(), mimetype="application/json")


@bp.get("/v1/docs")
@public
def docs():
    doc = openapi.document()
    return render_template("api/docs.html", doc=doc, resolve=openapi.resolver(doc), text_html=openapi.text_html,
                           type_text=openapi.type_text, constraints=openapi.constraints)


def _item(call: Call, reference: str):
    item = queries.item_by_reference(call.client.chamber_id, reference)
    if item is None:
        raise problems.Problem(404, f"Your chamber has no filing {reference}.")
    record = queries.filing_of(item)
    g.api_filing_id = record.id if record is not None else None
    return item


@operation(bp, "get", "/filings", summary="Pull new filings", scope="filings:read", query=schemas.FeedQuery,
           response=schemas.FeedPage)
def filings(call: Call):
    """The filings delivered to your chamber, oldest first, behind the position `after`. Keep the
    `next_cursor` of each answer and pass it as `after` next time: you get every filing exactly once,
    in the order they reached your chamber, also when many arrive at the same moment. Call again at
    once while `has_more` is true."""
    after = int(call.query.after) if call.query.after is not None else None
    return queries.feed(call.client.chamber_id, after, call.query.limit)


@operation(bp, "get", "/filings/<reference>", summary="Read a filing", scope="filings:read",
           response=schemas.Filing, path_params=REFERENCE, errors=(404,))
def filing(call: Call, reference: str):
    """The filing with the form's answers, links to its attachments, its timeline, the conversation
    with the company, and the transitions your chamber may send now."""
    return queries.filing(_item(call, reference))


@operation(bp, "get", "/filings/<reference>/attachments/<attachment_id>", summary="Download a file",
           scope="filings:read", binary=True, errors=(404,),
           path_params={**REFERENCE, "attachment_id": "The file's `id` from the filing or a message."})
def attachment(call: Call, reference: str, attachment_id: str):
    """A file of the filing (an attachment of the form) or of the conversation (a company's answer,
    your decision documents), as stored, with its media type."""
    item = _item(call, reference)
    stored = queries.attachment(item, attachment_id)
    if stored is None:
        raise problems.Problem(404, f"The filing {reference} has no file {attachment_id} for your chamber.")
    return attachment_response(stored, current_app.extensions["bizportal"].storage)


@operation(bp, "get", "/filings/<reference>/xgewerbeanzeige", summary="Download the XGewerbeanzeige message",
           scope="filings:read", binary=True, media_types=("application/xml",), path_params=REFERENCE, errors=(404,))
def xgewerbeanzeige(call: Call, reference: str):
    """The XGewerbeanzeige 2.2 message of a trade notification (Gewerbeanmeldung, -ummeldung,
    -abmeldung) as your chamber's copy (namespace `http://www.xgewerbeanzeige.de/spezifikation/2.2`):
    the same message a webhook, e-mail or FIT-Connect delivery to your chamber carries. 404 for a
    filing of another service."""
    item = _item(call, reference)
    content = exports.xgewerbeanzeige_message(item)
    if content is None:
        raise problems.Problem(404, f"The filing {reference} is not a trade notification: it has no "
                                    "XGewerbeanzeige message.")
    return current_app.response_class(content, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{exports.xgewerbeanzeige_filename(item)}"'})


@operation(bp, "post", "/filings/<reference>/acknowledge", summary="Confirm receipt", scope="filings:write",
           body=schemas.AcknowledgeRequest, body_required=False, response=schemas.TransitionResult,
           path_params=REFERENCE, errors=(404, 409))
def acknowledge(call: Call, reference: str):
    """Confirm that your system received the filing (the status `received`; for a copy: noted).
    Safe to repeat: a second call changes nothing and answers `recorded: false`."""
    return services.acknowledge(call.client, _item(call, reference))


@operation(bp, "post", "/filings/<reference>/transitions", summary="Take a step", scope="filings:write",
           body=schemas.TransitionRequest, response=schemas.TransitionResult, path_params=REFERENCE,
           errors=(404, 409))
def transition(call: Call, reference: str):
    """Move the filing one step, as staff do in the portal: the company sees the new status, gets
    the same mail, and downloads decision documents from its status page. 409 when the filing is
    no longer in `expected_status` or the step is not allowed from it (nothing is changed)."""
    return services.transition(call.client, _item(call, reference), call.body)


@operation(bp, "post", "/filings/<reference>/messages", summary="Write to the company", scope="messages:write",
           body=schemas.MessageRequest, response=schemas.Message, status=201, path_params=REFERENCE,
           errors=(404, 409))
def post_message(call: Call, reference: str):
    """A message to the company without a change of status, optionally with documents. 409 when
    the filing is decided or withdrawn. Send an `Idempotency-Key` header (any string up to 200
    characters, new for each message) to make a retry safe: a repeated request with the same key
    stores nothing and answers the message stored first."""
    return services.message(call.client, _item(call, reference), call.body,
                            request.headers.get("Idempotency-Key"))


@operation(bp, "get", "/filings/<reference>/messages", summary="Read the conversation", scope="filings:read",
           response=schemas.MessageList, path_params=REFERENCE, errors=(404,))
def messages(call: Call, reference: str):
    """The conversation between the company and your chamber, oldest first: your requests,
    messages and decisions, and the company's answers (`sender: company`) with their files."""
    item = _item(call, reference)
    record = queries.filing_of(item)
    return schemas.MessageList(messages=queries.messages(item, record) if record else [])
