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
