"""How an endpoint of ``/api/v1`` is declared: one decorator names its method, path, scope and
schemas; it registers the route, checks the bearer token and the rate limit, validates the
query and body with the pydantic models, and records the operation for the OpenAPI document
(``openapi.build``), so the published schemas are the ones the endpoints validate with.

Every call under ``/api/v1`` is audited (``api.call``, with the client, the filing and the
answer's status), whatever its outcome.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, json, request
from pydantic import BaseModel, ValidationError

from ..audit import services as audit
from ..auth.access import ACCESS_ATTR
from . import problems, ratelimit
from .oauth import authenticate

V1 = "/api/v1"


@dataclass(frozen=True)
class Operation:
    """One endpoint as the OpenAPI document describes it."""

    method: str
    path: str  # OpenAPI form: /api/v1/filings/{reference}
    operation_id: str
    summary: str
    description: str
    scope: str | None
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    body_required: bool
    response: type[BaseModel] | None
    status: int
    #: the response is not JSON but a file download …
    binary: bool = False
    #: … of one of these media types (None: the types a stored file can have, ``openapi.FILE_TYPES``)
    media_types: tuple[str, ...] | None = None
    #: {name: description} of the path's parameters
    path_params: dict[str, str] = field(default_factory=dict)
    #: the error statuses this endpoint can answer, besides the ones every endpoint can
    errors: tuple[int, ...] = ()


OPERATIONS: list[Operation] = []


@dataclass(frozen=True)
class Call:
    """What a view receives: the client (None on public endpoints) and the validated input."""

    client: Any
    query: Any
    body: Any


def _openapi_path(rule: str) -> str:
    return V1 + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def operation(bp: Blueprint, method: str, rule: str, *, summary: str, scope: str | None,
              query: type[BaseModel] | None = None, body: type[BaseModel] | None = None, body_required: bool = True,
              response: type[BaseModel] | None = None, status: int = 200, binary: bool = False,
              media_types: tuple[str, ...] | None = None, path_params: dict[str, str] | None = None,
              errors: tuple[int, ...] = ()) -> Callable:
    """Declare a ``/api/v1`` endpoint (``rule`` below ``/v1``). The view is called as
    ``view(call, **path_args)`` and returns a pydantic model (sent as JSON with ``status``) or a
    ``Response``. Raise ``problems.Problem`` to refuse."""

    def decorator(view: Callable) -> Callable:
        OPERATIONS.append(Operation(
            method=method.lower(), path=_openapi_path(rule), operation_id=view.__name__, summary=summary,
            description=(view.__doc__ or "").strip(), scope=scope, query=query, body=body,
            body_required=body_required, response=response, status=status, binary=binary,
            media_types=media_types, path_params=path_params or {}, errors=errors))

        @wraps(view)
        def wrapped(**kwargs: Any) -> Response:
            client = authenticate(scope) if scope else None
            if client is not None:
                ratelimit.check(client)
            call = Call(client, _query(query) if query else None, _body(body, body_required) if body else None)
            result = view(call, **kwargs)
            if isinstance(result, Response):
                return result
            return Response(json.dumps(result.model_dump(mode="json")), status=status, mimetype="application/json")

        setattr(wrapped, ACCESS_ATTR, f"api:{scope}" if scope else "public")
        bp.add_url_rule("/v1" + rule, endpoint=view.__name__, view_func=wrapped, methods=[method.upper()])
        return wrapped

    return decorator


def _issues(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(p) if not isinstance(p, int) else p for p in e["loc"]], "msg": e["msg"]}
            for e in exc.errors(include_url=False)]


def _query(model: type[BaseModel]) -> Any:
    """The query, checked: unknown or repeated parameters are refused like unknown body members (a
    mistyped ``afetr=`` must not silently restart the feed)."""
    repeated = sorted(k for k, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise problems.Problem(400, "The query parameters are not valid.",
                               errors=[{"loc": ["query", k], "msg": "given more than once"} for k in repeated])
    try:
        return model.model_validate(dict(request.args.items()))
    except ValidationError as exc:
        raise problems.Problem(400, "The query parameters are not valid.", errors=_issues(exc)) from None


def _body(model: type[BaseModel], required: bool) -> Any:
    raw = request.get_data(cache=True)  # 413 past the API's body limit (see ``install``)
    if not raw.strip() and not required:
        return model()
    if request.mimetype != "application/json":
        raise problems.Problem(415, "Send the body as application/json.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise problems.Problem(400, "The body is not valid JSON.") from None
        raise problems.Problem(422, "The body does not match the schema.", errors=_issues(exc)) from None


def install(app: Flask) -> None:
    """The API's body limit (before a view reads the body) and the audit of every call."""

    @app.before_request
    def api_body_limit() -> None:
        if problems.is_api_request():
            request.max_content_length = current_app.config["SETTINGS"].api.max_body_bytes

    @app.after_request
    def api_audit(response: Response) -> Response:
        if not problems.is_api_request():
            return response
        response.headers["Cache-Control"] = "no-store"
        if request.path.startswith(V1 + "/docs") or request.path == V1 + "/openapi.json":
            return response
        client = g.get("api_client")
        status = response.status_code
        outcome = "success" if status < 400 else ("failed" if status >= 500 else "refused")
        action = "api.token" if request.path == V1 + "/oauth/token" else "api.call"
        audit.record(action, client.audit_id if client is not None else "anonymous",
                     target=f"{request.method} {request.path}", detail=str(status), outcome=outcome,
                     filing_id=g.get("api_filing_id"), chamber_id=client.chamber_id if client is not None else None)
        return response
