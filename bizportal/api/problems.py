"""RFC 9457 problem documents: every error under ``/api/v1`` is answered with one.

``{"type": "about:blank" | "<portal>/api/v1/docs#problem-<slug>", "title": …, "status": …,
"detail": …}`` with ``Content-Type: application/problem+json``; validation errors add
``errors`` (``[{"loc": [...], "msg": …}]``), OAuth errors of the token endpoint add RFC 6749's
``error`` and ``error_description`` so OAuth client libraries understand them too.
"""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"
PREFIX = "/api/v1"

TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 409: "Conflict", 413: "Content Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Content", 429: "Too Many Requests", 500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):
    """Raised by API code to answer with a problem document."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def response(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail, **extra}
    resp = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    resp.headers["Cache-Control"] = "no-store"
    return resp


def from_problem(exc: Problem) -> Response:
    return response(exc.status, exc.detail, exc.headers, **exc.extra)


DETAILS = {
    400: "The request could not be read (malformed JSON or parameters).",
    404: "There is no such resource, or it is not your chamber's.",
    405: "This method is not allowed on this resource.",
    413: "The request body is larger than the API accepts.",
    429: "Too many requests from this address; try again after the time in Retry-After.",
}


def from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {}
    if status == 405 and isinstance(getattr(exc, "valid_methods", None), list | tuple):
        headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response(status, DETAILS.get(status) or exc.description or TITLES.get(status, "Error"), headers)
