"""Human-readable renderings of a filing: German labels, local time, flattened form data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ..base import FilingPayload

__all__ = ["COMPANY_LABELS", "local_time", "flatten", "company_rows", "human_size", "role_note"]

COMPANY_LABELS = {
    "name": "Name",
    "legal_form": "Rechtsform",
    "street": "Straße",
    "postcode": "PLZ",
    "city": "Ort",
    "tax_number": "Steuernummer",
    "register_number": "Registernummer",
    "vat_id": "USt-IdNr.",
}


def local_time(value: datetime) -> str:
    """'28.11.2025, 12:30 Uhr' in German time (UTC with a note if the zone database is missing)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        from zoneinfo import ZoneInfo

        return value.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d.%m.%Y, %H:%M Uhr")
    except Exception:  # no tz database on this machine
        return value.astimezone(UTC).strftime("%d.%m.%Y, %H:%M Uhr (UTC)")


def _label(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, datetime):
        return local_time(value)
    return str(value)


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(label, text) rows of nested form data; lists of scalars are joined with commas."""
    for key, value in data.items():
        label = f"{prefix}{_label(key)}"
        if isinstance(value, Mapping):
            yield from flatten(value, prefix=f"{label} › ")
        elif isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value, start=1):
                if isinstance(item, Mapping):
                    yield from flatten(item, prefix=f"{label} {i} › ")
                else:
                    yield f"{label} {i}", _scalar(item)
        elif isinstance(value, (list, tuple, set, frozenset)):
            yield label, ", ".join(_scalar(v) for v in value) or "—"
        else:
            yield label, _scalar(value)


def company_rows(company: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Company master data with German labels, known fields first."""
    rows = [(COMPANY_LABELS[k], _scalar(company[k])) for k in COMPANY_LABELS if k in company]
    rows += [(_label(k), _scalar(v)) for k, v in company.items() if k not in COMPANY_LABELS]
    return rows


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} Bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB".replace(".", ",")
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def role_note(payload: FilingPayload) -> str:
    """A line for copies ('zur Kenntnis'); empty for the primary destination."""
    if payload.destination_role == "copy":
        return "Kopie zur Kenntnis – zuständig ist eine andere Stelle."
    return ""
