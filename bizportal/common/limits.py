"""How much one request may send. A route that takes files says so with ``takes_files`` and keeps
the upload limit (``MAX_CONTENT_LENGTH``); every other form post, and every URL-encoded post even
to an upload route, is held to ``FORM_MAX_BODY_BYTES``. Each text field is held to
``FORM_MAX_FIELD_BYTES`` and a form to ``FORM_MAX_PARTS`` fields. Werkzeug refuses a body over the
limit with 413 while it reads it, before a view (or the CSRF check) sees it.

A view marked ``judges_text_length`` (a filing step) answers a text field over its own maximum
with the field's error and keeps the step's other answers: there a URL-encoded body and each
multipart text field may reach ``STEP_MAX_TEXT_BYTES`` (the hard ceiling, 413 beyond) so that an
over-long answer reaches the view's check instead of the 413 page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Request, current_app
from flask_babel import gettext as _

#: the attribute ``takes_files`` sets on a view function
TAKES_FILES = "bizportal_takes_files"
#: the attribute ``judges_text_length`` sets on a view function
JUDGES_TEXT_LENGTH = "bizportal_judges_text_length"
#: bodies that carry files; anything else is a form or JSON of kilobytes
MULTIPART = "multipart/form-data"

V = TypeVar("V", bound=Callable[..., Any])


def takes_files(view: V) -> V:
    """Mark a view whose form uploads files: its multipart posts may be as large as the upload
    limit (the view still checks each file's own limits)."""
    setattr(view, TAKES_FILES, True)
    return view


def judges_text_length(view: V) -> V:
    """Mark a view that checks every text field against its own maximum length and answers an
    over-long one with the field's error (the other answers kept): its text fields may be as long
    as ``STEP_MAX_TEXT_BYTES`` before the request is refused as a whole."""
    setattr(view, JUDGES_TEXT_LENGTH, True)
    return view


class PortalRequest(Request):
    """Flask's request with the portal's per-route limits (a limit set on the request itself,
    as the chamber API does, still wins)."""

    def _upload_route(self) -> bool:
        view = current_app.view_functions.get(self.endpoint or "")
        return bool(getattr(view, TAKES_FILES, False)) and self.mimetype == MULTIPART

    def _judges_text_length(self) -> bool:
        view = current_app.view_functions.get(self.endpoint or "")
        return bool(getattr(view, JUDGES_TEXT_LENGTH, False))

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None or not current_app:
            return super().max_content_length
        web = current_app.config["SETTINGS"].web
        if self._upload_route():
            return web.upload_body_bytes
        return max(web.form_body_bytes, web.step_text_bytes) if self._judges_text_length() else web.form_body_bytes

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        if self._max_form_memory_size is not None or not current_app:
            return super().max_form_memory_size
        web = current_app.config["SETTINGS"].web
        return max(web.form_field_bytes, web.step_text_bytes) if self._judges_text_length() else web.form_field_bytes

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property  # type: ignore[override]  # Flask's own property answers int | None as well
    def max_form_parts(self) -> int | None:
        if self._max_form_parts is not None or not current_app:
            return super().max_form_parts
        return int(current_app.config["SETTINGS"].web.form_max_parts)

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value


def too_large_message() -> str:
    """What the 413 page of a form says: nothing was stored, and the limits."""
    web = current_app.config["SETTINGS"].web
    return _("Die gesendeten Daten sind zu groß; es wurde nichts gespeichert. Ein Formular nimmt höchstens "
             "%(form_kb)s KB Text an, ein einzelnes Feld höchstens %(field_kb)s KB; Dateien werden nur mit "
             "ihrem Formular angenommen, höchstens %(upload_mb)s MB je Sendung.",
             form_kb=web.form_body_bytes // 1024, field_kb=web.form_field_bytes // 1024,
             upload_mb=web.upload_body_bytes // (1024 * 1024))


#: the largest number a database column (64-bit) holds; ids, cursors and offsets beyond are no rows
MAX_DB_INT = 2**63 - 1


def int_arg(name: str, *, minimum: int = 0, maximum: int = MAX_DB_INT) -> int | None:
    """A whole number from the query string: None when absent or not a number (as before), 404
    when outside ``minimum``..``maximum`` (no such page or row), never an overflow in the database."""
    from flask import abort, request

    raw = request.args.get(name, "").strip()
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()):
        return None
    value = int(raw) if len(digits) <= 20 else None
    if value is None or not minimum <= value <= maximum:
        abort(404)
    return value
