"""Files of the conversation between company and chamber: checked like filing attachments, stored
before the message is written, removed again if the message is refused.

The messages themselves, and every status change they cause, are written by ``filings.lifecycle``
(``company_message``, ``staff_event``, ``chamber_message``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import IO

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..common.uploads import TYPES
from .lifecycle import StoredFile
from .services import MalwareFound, UploadOrigin, UploadRefused, check_upload, save_checked
from .storage import AttachmentStorage

#: what a company may attach to an answer, and a chamber to a message
MESSAGE_TYPES = ("pdf", "png", "jpeg")
#: decision documents (Bescheid, Gewerbeschein, Eintragungsbestätigung) are PDFs
DECISION_TYPES = ("pdf",)
MAX_FILE_MB = 10.0
MAX_TOTAL_MB = 20.0
MAX_FILES = 5


def limits() -> dict[str, int]:
    """The limits of one message's files and of one request (for the forms, their script and the
    413 page)."""
    from flask import current_app

    return {"file_mb": int(MAX_FILE_MB), "files": MAX_FILES, "total_mb": int(MAX_TOTAL_MB),
            "request_mb": int(current_app.config["MAX_CONTENT_LENGTH"]) // (1024 * 1024)}


#: the file input's attributes by language, written once (they hold the fixed limits and their texts)
_INPUT_ATTRS: dict[str, dict[str, str]] = {}


def file_input_attrs(accept: tuple[str, ...] = MESSAGE_TYPES) -> dict[str, str]:
    """The attributes of a message's file input that ``static/js/file-limits.js`` reads: the
    limits in bytes and the translated messages, so over-limit files are refused at the field."""
    locale = str(get_locale())
    attrs = _INPUT_ATTRS.get(locale)
    if attrs is None:
        attrs = _INPUT_ATTRS[locale] = _file_input_attrs()
    return dict(attrs)


def _file_input_attrs() -> dict[str, str]:
    mb = 1024 * 1024
    return {
        "data-max-file-bytes": str(int(MAX_FILE_MB * mb)), "data-max-files": str(MAX_FILES),
        "data-max-total-bytes": str(int(MAX_TOTAL_MB * mb)),
        "data-msg-file": _("Die Datei „{name}“ ist größer als %(mb)s MB. Bitte wählen Sie eine kleinere Datei; Ihr "
                           "Text bleibt erhalten.", mb=int(MAX_FILE_MB)),
        "data-msg-count": _("Bitte wählen Sie höchstens %(n)s Dateien; Ihr Text bleibt erhalten.", n=MAX_FILES),
        "data-msg-total": _("Alle Dateien zusammen dürfen höchstens %(mb)s MB groß sein. Bitte wählen Sie weniger "
                            "oder kleinere Dateien; Ihr Text bleibt erhalten.", mb=int(MAX_TOTAL_MB)),
    }


def too_large_page(back: str | None) -> tuple[str, int]:
    """The 413 page of a message route: names the limits and links back to the form's page."""
    from flask import render_template

    return render_template("errors/too_large.html", back=back, limits=limits()), 413


def store_files(uploads: Iterable[tuple[str, IO[bytes]]], storage: AttachmentStorage,
                accept: tuple[str, ...] = MESSAGE_TYPES, *, origin: UploadOrigin) -> list[StoredFile]:
    """Check every upload (content type, extension, size, count, total) and store them all, or
    none: ``UploadRefused`` names the file and the reason. Empty file inputs are skipped.
    ``origin``: who sends the files with what (the audit entry of a file with malware)."""
    checked: list[tuple[str, str, bytes]] = []
    for filename, stream in uploads:
        if not filename:
            continue
        content = stream.read(int(MAX_FILE_MB * 1024 * 1024) + 1)
        try:
            name, type_key = check_upload(filename, content, accept, MAX_FILE_MB, origin=origin)
        except MalwareFound as exc:
            raise MalwareFound(f"{filename}: {exc}", exc.signature) from None
        except UploadRefused as exc:
            raise type(exc)(f"{filename}: {exc}") from None  # ScanUnavailable stays itself
        checked.append((name, type_key, content))
    if len(checked) > MAX_FILES:
        raise UploadRefused(_l("Bitte senden Sie höchstens %(n)s Dateien mit einer Nachricht.", n=MAX_FILES))
    if sum(len(c) for _, _, c in checked) > MAX_TOTAL_MB * 1024 * 1024:
        raise UploadRefused(_l("Alle Dateien zusammen dürfen höchstens %(mb)s MB groß sein.", mb=int(MAX_TOTAL_MB)))
    stored: list[StoredFile] = []
    try:
        for name, type_key, content in checked:
            key = save_checked(storage, content)
            stored.append(StoredFile(name=name, media_type=TYPES[type_key][0], size=len(content),
                                     sha256=hashlib.sha256(content).hexdigest(), storage_key=key))
    except Exception:
        discard(stored, storage)
        raise
    return stored


def discard(files: Sequence[StoredFile], storage: AttachmentStorage) -> None:
    """Remove stored files whose message was refused (nothing refers to them)."""
    for f in files:
        storage.delete(f.storage_key)
