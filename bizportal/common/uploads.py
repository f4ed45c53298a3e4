"""Upload checks: the type is decided by the file's content, and the name's extension must agree."""

from __future__ import annotations

import unicodedata

#: type key → (media type, accepted extensions)
TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", (".pdf",)),
    "png": ("image/png", (".png",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg")),
}


def sniff(head: bytes) -> str | None:
    """The type key for the first bytes of a file, or None if it is none of the allowed types."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def extension_matches(filename: str, type_key: str) -> bool:
    return filename.lower().endswith(TYPES[type_key][1])


def safe_display_name(filename: str, limit: int = 200) -> str:
    """The original name as shown and sent in headers: no paths, no control characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".") or "datei"
    return name[-limit:]


# --- active content and polyglots -----------------------------------------------------------------
# Refused, never flattened: a file that carries script, embedded files or a second format is
# returned to the person with the reason, and nothing is stored (docs/architecture.md, "Uploads").

#: why a file of an allowed type is refused anyway (``active_content``)
JAVASCRIPT = "javascript"  #: a PDF with JavaScript, a Launch action or other active content
EMBEDDED_FILES = "embedded_files"  #: a PDF that carries files inside it
POLYGLOT = "polyglot"  #: the file is also another format (a ZIP archive, a web page, data after the end)
UNREADABLE = "unreadable"  #: a PDF that cannot be opened (damaged, or encrypted with a password)

#: PDF names (keys or values) of active content: scripts, and actions that start programs or media
_PDF_ACTIVE = frozenset({"/JS", "/JavaScript", "/Launch", "/RichMedia"})
#: PDF names of embedded files: the name tree, embedded-file streams, file specs' /EF, attachment annotations
_PDF_EMBEDDED = frozenset({"/EmbeddedFiles", "/EmbeddedFile", "/EF", "/FileAttachment"})
#: markers that make a browser (or a tool that ignores the media type) read the file as a web page
_HTML_MARKERS = (b"<html", b"<script", b"<body", b"<iframe", b"<!doctype html", b"<svg", b"<head")
#: bytes after a PDF's last ``%%EOF`` beyond which the file carries something else
_PDF_TRAILING_LIMIT = 1024


def active_content(content: bytes, type_key: str) -> str | None:
    """Why the file must be refused although its type is allowed, or ``None``.

    Every type: a ZIP archive inside (central directory found: a PDF or image that is also an
    archive) or markup a browser would run as a web page is ``POLYGLOT``. PDFs are opened with
    pypdf and every object in the cross-reference table and in object streams is read (names with
    ``#xx`` escapes decoded): JavaScript, Launch and RichMedia actions are ``JAVASCRIPT``, embedded
    files and file attachment annotations ``EMBEDDED_FILES``, more than 1 KB after the last
    ``%%EOF`` ``POLYGLOT``, and a PDF that cannot be read ``UNREADABLE``.
    """
    if _is_zip(content) or _looks_like_html(content):
        return POLYGLOT
    if type_key == "pdf":
        return _pdf_problem(content)
    return None


def _is_zip(content: bytes) -> bool:
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return bool(archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def _looks_like_html(content: bytes) -> bool:
    head = content[:1024].lower()
    if any(marker in head for marker in _HTML_MARKERS):
        return True
    lowered = content.lower()
    return b"<script" in lowered or b"<html" in lowered


def _pdf_problem(content: bytes) -> str | None:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    end = content.rfind(b"%%EOF")
    if end < 0 or len(content[end + 5:].strip(b"\r\n\t \0")) > _PDF_TRAILING_LIMIT:
        return POLYGLOT if end >= 0 else UNREADABLE
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is refused, not logged at length
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return UNREADABLE
        found: set[str] = set()
        _names(reader.trailer, found, 0)
        for generation, objects in reader.xref.items():
            for number in objects:
                _names(_load(reader, number, generation), found, 0)
        for number in reader.xref_objStm:
            _names(_load(reader, number, 0), found, 0)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError):
        return UNREADABLE
    if found & _PDF_ACTIVE:
        return JAVASCRIPT
    if found & _PDF_EMBEDDED:
        return EMBEDDED_FILES
    return None


def _load(reader, number: int, generation: int):
    from pypdf.generic import IndirectObject

    return IndirectObject(number, generation, reader).get_object()


def _names(obj, found: set[str], depth: int) -> None:
    """Collect the names used as keys and values in ``obj``, without following references
    (every indirect object is read on its own)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    if depth > 64 or obj is None or isinstance(obj, IndirectObject):
        return
    if isinstance(obj, NameObject):
        found.add(str(obj))
    elif isinstance(obj, DictionaryObject):
        for key, value in obj.items():
            found.add(str(key))
            _names(value, found, depth + 1)
    elif isinstance(obj, ArrayObject):
        for item in obj:
            _names(item, found, depth + 1)
