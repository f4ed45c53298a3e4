"""Log lines: one JSON object per line (``BIZPORTAL_LOG_FORMAT=json``, the production default) or
text (development), each carrying the request id of the web request it belongs to.

The request id is taken from the incoming ``X-Request-ID`` header when it is well formed
(``REQUEST_ID``: 8–64 letters, digits, ``.``, ``_``, ``:`` or ``-``), else made here; the response
echoes it. A filing's delivery rows store it (``Delivery.request_id``), so the worker's lines about
sending that filing carry the same id (``context``).

A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id``,
``filing_id`` and ``delivery_id`` when known, and ``exception`` (the traceback) when there is one.
What goes into a message stays the caller's concern: no module logs tokens, codes or secrets.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
#: what an incoming request id may look like; anything else is replaced, not logged
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}\Z")
#: the fields a line carries when they are known (from ``context`` or a call's ``extra``)
CONTEXT_FIELDS = ("request_id", "filing_id", "delivery_id")
FORMATS = ("json", "text")

#: the fields of the running request or send (never mutated: each span sets a new dict)
_context: ContextVar[dict[str, Any]] = ContextVar("bizportal_log_context", default={})  # noqa: B039


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """The incoming id if it is well formed, else a new one (a hostile header never reaches a log)."""
    return value if value and REQUEST_ID.match(value) else new_request_id()


def current(name: str = "request_id") -> Any:
    """The ``context`` field ``name`` of the running request or send (``None`` outside one)."""
    return _context.get().get(name)


@contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Every line logged inside (in this thread or task) carries ``fields``; ``None`` values are left out."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> Any:
    """Like ``context`` for a span that has no ``with`` block (a web request): returns the token
    for ``unbind``."""
    return _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def unbind(token: Any) -> None:
    _context.reset(token)


def _with_context(factory: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.log_context = _context.get()
        return record

    make_record.carries_log_context = True  # type: ignore[attr-defined]
    return make_record


def carry_context() -> None:
    """Every record takes the ``context`` fields of the moment it is made (once per process):
    a handler that formats it later, in another thread (a test's capture), still sees them."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "carries_log_context", False):
        logging.setLogRecordFactory(_with_context(factory))


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    known = dict(getattr(record, "log_context", None) or _context.get())
    for name in CONTEXT_FIELDS:  # a call's ``extra`` wins
        value = getattr(record, name, None)
        if value is not None:
            known[name] = value
    if record.name == "gunicorn.access" and isinstance(record.args, dict):
        # gunicorn writes its access line after the app returned: the id is the echoed header
        echoed = record.args.get("{x-request-id}o")
        if echoed and echoed != "-":
            known["request_id"] = echoed
    return {k: str(known[k]) for k in CONTEXT_FIELDS if known.get(k) is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The development line: time, level, logger, the request id when there is one, the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(trace)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = _fields(record).get("request_id")
        record.trace = f" [{request_id}]" if request_id else ""
        return super().format(record)


def formatter(fmt: str) -> logging.Formatter:
    return JsonFormatter() if fmt == "json" else TextFormatter()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(fmt: str, level: int = logging.INFO) -> None:
    """Make the root logger write ``fmt`` lines to stderr at ``level``.

    Leaves a root logger alone that someone else configured (a test runner, an operator's logging
    config); sets the format again on the handler it installed itself (one per process).
    """
    carry_context()
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _StderrHandler)]
    if root.handlers and not ours:
        return
    handler = ours[0] if ours else _StderrHandler()
    handler.setFormatter(formatter(fmt))
    if not ours:
        root.addHandler(handler)
        root.setLevel(level)
        logging.captureWarnings(True)  # Python's warnings become lines of the same format, not stray text


def format_gunicorn(loggers: list[logging.Logger], fmt: str) -> None:
    """Give gunicorn's own loggers (``gunicorn.error``, ``gunicorn.access``) the portal's format."""
    for logger in loggers:
        for handler in logger.handlers:
            handler.setFormatter(formatter(fmt))



def install(app: Any) -> None:
    """Give every request of ``app`` its request id (before any other hook, so their lines carry
    it), echo it in the response's ``X-Request-ID`` and forget it when the request ends."""
    from flask import g, request

    def take_request_id() -> None:
        g.request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.log_context = bind(request_id=g.request_id)

    def echo_request_id(response: Any) -> Any:
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response

    def forget_request_id(_exc: BaseException | None) -> None:
        token = g.pop("log_context", None)
        if token is not None:
            # made in another context (a copied one): it ends with that context
            with suppress(ValueError):
                unbind(token)

    app.before_request_funcs.setdefault(None, []).insert(0, take_request_id)
    app.after_request(echo_request_id)
    app.teardown_request(forget_request_id)
