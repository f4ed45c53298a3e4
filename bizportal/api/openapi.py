"""The OpenAPI 3.1 document of ``/api/v1``, built from the declared operations
(``operations.OPERATIONS``) and their pydantic models: the schemas published are the ones the
endpoints validate with. Built once per process and cached (it depends on code only); the
server URL is left relative so the document fits every host the portal runs on.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, Literal

from markupsafe import Markup, escape
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import schemas
from .models import SCOPES
from .operations import OPERATIONS, V1, Operation

REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]
Refs = dict[Any, dict[str, Any]]
SCOPE_TEXT = {
    "filings:read": "Pull the feed, read filings, their files and the conversation.",
    "filings:write": "Confirm receipt and take steps of the status machine (decisions with documents).",
    "messages:write": "Write messages to the company (with documents).",
}
DESCRIPTION = """\
The chamber API lets a receiving body's own case-management system work the filings the portal
delivers to it, on the same status machine and conversation as the portal's staff pages.

**Access.** An administrator of the portal creates a client for your chamber and hands you its
`client_id` and `client_secret` (shown once). Exchange them for a bearer token at
`POST /api/v1/oauth/token` (OAuth 2.0 client credentials, HTTP Basic or form parameters); a token
is valid for `expires_in` seconds — ask for a new one when it runs out (401). A client sees only
its own chamber's filings: another chamber's filing answers 404.

**Working a filing.** Pull `GET /api/v1/filings?after=<cursor>` and keep the `next_cursor`;
read each filing, confirm receipt (`/acknowledge`), take steps (`/transitions`, with the status
you saw as `expected_status`), write to the company (`/messages`) and read its answers
(`GET …/messages`). The company sees every step on its status page as if staff had taken it.

**Bundles.** A company can file several services together as one life-event bundle ("Betrieb
gründen": a trade notification, an entry in the crafts register, …), each filing going to its own
competent body. A filing of a bundle carries `bundle`: the bundle's reference, kind and title and
its other filings with their reference, service and kind of body — no more of them; you can read
one of those only if it was delivered to your chamber too. `bundle` is null for a filing submitted
on its own.

**Being told instead of polling (optional).** The portal's administrator can give your chamber a
`notify_url` and a shared `notify_secret`. The portal then POSTs a small JSON notification there
when a filing arrives (`X-Bizportal-Event: filing`, body `type`, `reference`, `service_key`,
`destination_role`, `submitted_at`) and when the company writes (`X-Bizportal-Event: message`,
body `type`, `kind`, `reference`, `message_id`, `sent_at`); pull the content through this API.
Each notification carries `Idempotency-Key` (the same on a repeat: keep one),
`X-Bizportal-Timestamp` and `X-Bizportal-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>" with the secret>`. Answer 2xx; anything else is retried later.

**Errors** are RFC 9457 problem documents (`application/problem+json`): `status`, `title`,
`detail`, and for invalid bodies `errors`. Unknown members of a body are refused (422).
Calls are limited per client (429 with `Retry-After`); every call is recorded in the portal's
audit log with your client.
"""


def _problem(description: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {
        "application/problem+json": {"schema": {"$ref": REF.format(model="ProblemDocument")}}}}
    if headers:
        out["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                          for name, text in headers.items()}
    return out


ERRORS: dict[int, Callable[[], dict[str, Any]]] = {
    400: lambda: _problem("Malformed JSON or query parameters."),
    401: lambda: _problem("No bearer token, or an unknown, expired or revoked one.",
                          {"WWW-Authenticate": "The bearer challenge (RFC 6750)."}),
    403: lambda: _problem("The token lacks the scope this operation needs.",
                          {"WWW-Authenticate": "The bearer challenge with `insufficient_scope`."}),
    404: lambda: _problem("No such filing or file for your chamber."),
    409: lambda: _problem("The step does not fit the filing's status now (`current_status`); nothing changed."),
    413: lambda: _problem("The body is larger than the API accepts."),
    415: lambda: _problem("The body is not `application/json`."),
    422: lambda: _problem("The body does not match the schema, or a file was refused (`errors`, `detail`)."),
    429: lambda: _problem("Too many calls of this client; wait `Retry-After` seconds.",
                          {"Retry-After": "Seconds until calls are accepted again."}),
}

#: what a downloaded file can be (types checked by content when the file was stored)
FILE_TYPES = ("application/pdf", "image/png", "image/jpeg")


def _models() -> list[tuple[type[BaseModel], Mode]]:
    found: list[tuple[type[BaseModel], Mode]] = []
    for op in OPERATIONS:
        if op.body is not None:
            found.append((op.body, "validation"))
        if op.response is not None:
            found.append((op.response, "serialization"))
    found += [(schemas.ProblemDocument, "serialization"), (schemas.TokenResponse, "serialization"),
              (schemas.TokenRequest, "validation")]
    return list(dict.fromkeys(found))


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "description": text, "schema": {"type": "string"}}
        for name, text in op.path_params.items()]
    if op.query is not None:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", ()))
        for name, prop in schema["properties"].items():
            prop = dict(prop)
            description = prop.pop("description", "")
            prop.pop("title", None)
            if "anyOf" in prop:  # optional parameter: the query string carries the value or nothing
                prop = next(p for p in prop["anyOf"] if p.get("type") != "null") | (
                    {"default": prop["default"]} if prop.get("default") is not None else {})
            params.append({"name": name, "in": "query", "required": name in required, "description": description,
                           "schema": prop})
    return params


def _operation(op: Operation, refs: Refs) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "description": op.description,
                           "tags": ["filings"]}
    params = _parameters(op)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required, "content": {
            "application/json": {"schema": refs[(op.body, "validation")]}}}
    if op.binary:
        success: dict[str, Any] = {"description": "The file.", "content": {
            t: {"schema": {"type": "string", "format": "binary"}} for t in op.media_types or FILE_TYPES}}
    else:
        assert op.response is not None
        success = {"description": "OK" if op.status == 200 else "Created", "content": {
            "application/json": {"schema": refs[(op.response, "serialization")]}}}
    codes = {401, 403, 429, *op.errors}
    if op.query is not None:
        codes.add(400)
    if op.body is not None:
        codes |= {400, 413, 415, 422}
    out["responses"] = {str(op.status): success, **{str(c): ERRORS[c]() for c in sorted(codes)}}
    if op.scope:
        out["security"] = [{"oauth2": [op.scope]}]
    return out


def _token_path(refs: Refs) -> dict[str, Any]:
    return {"post": {
        "operationId": "token", "tags": ["oauth"], "summary": "Get a bearer token",
        "description": ("OAuth 2.0 client credentials (RFC 6749 §4.4). Authenticate with HTTP Basic "
                        "(`client_id:client_secret`) or with both in the form. Errors carry RFC 6749's `error` "
                        "as well (`invalid_client`, `invalid_scope`, `unsupported_grant_type`, …)."),
        "security": [{"clientBasic": []}, {}],
        "requestBody": {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": refs[(schemas.TokenRequest, "validation")]}}},
        "responses": {
            "200": {"description": "A token.", "content": {
                "application/json": {"schema": refs[(schemas.TokenResponse, "serialization")]}}},
            "400": _problem("A malformed request, an unsupported grant type or a scope the client does not hold."),
            "401": _problem("Unknown or revoked client, or a wrong secret."),
        }}}


@functools.cache
def _build() -> str:
    refs, defs = models_json_schema(_models(), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {V1 + "/oauth/token": _token_path(refs)}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs)
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "bizportal chamber API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [{"name": "oauth", "description": "Tokens"},
                 {"name": "filings", "description": "Your chamber's filings"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "oauth2": {"type": "oauth2", "description": "Bearer tokens from the token endpoint.",
                           "flows": {"clientCredentials": {"tokenUrl": V1 + "/oauth/token",
                                                           "scopes": {s: SCOPE_TEXT[s] for s in SCOPES}}}},
                "clientBasic": {"type": "http", "scheme": "basic",
                                "description": "`client_id` and `client_secret` (token endpoint only)."},
            },
        },
    }
    return json.dumps(doc, ensure_ascii=False, indent=1)


def dumps() -> str:
    """The document as JSON text."""
    return _build()


def document() -> dict[str, Any]:
    return json.loads(_build())


def resolver(doc: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """For the reference page: a schema with its ``$ref`` resolved (one level)."""
    defs = doc["components"]["schemas"]

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref", "")
        return defs.get(ref.rsplit("/", 1)[-1], schema) if ref else schema

    return resolve


def text_html(text: str | None) -> Markup:
    """The document's descriptions on the reference page: paragraphs, `code` and **bold**, with
    everything else escaped."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        html = str(escape(" ".join(block.split())))
        html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
        html = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)
        paragraphs.append(f'<p class="kern-body">{html}</p>')
    return Markup("\n".join(paragraphs))


def type_text(schema: dict[str, Any]) -> str:
    """A schema's type in a few words: ``string (date)``, ``array of FileLink``, ``string | null``."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(type_text(s) for s in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    kind = schema.get("type", "any")
    if kind == "array":
        return "array of " + type_text(schema.get("items", {}))
    if kind == "null":
        return "null"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def constraints(schema: dict[str, Any]) -> str:
    """Limits of a value (length, range, pattern, default) as short text."""
    parts = []
    for key, label in (("minLength", "min. length"), ("maxLength", "max. length"), ("minimum", "min."),
                       ("maximum", "max."), ("maxItems", "max. items"), ("pattern", "pattern")):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    if schema.get("default") not in (None, [], {}):
        parts.append(f"default {json.dumps(schema['default'])}")
    return "; ".join(parts)
