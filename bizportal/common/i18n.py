"""The portal's languages."""

from __future__ import annotations

#: the languages a person can choose; the first is the default (and the source language of the texts)
LOCALES = ("de", "en")


def supported_locale(value: str | None) -> str:
    """``value`` if the portal offers that language, else the default."""
    return value if value in LOCALES else LOCALES[0]
