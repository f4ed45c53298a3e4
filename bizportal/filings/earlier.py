"""The company's latest filed Gewerbeanzeige as a source of prefill: a move, a change or a closure
describes the business as the company notified it before (its persons, activity, premises), so
a new draft starts with those answers (``FieldDefinition.from_filing``) instead of asking them
again (new-user trial, issue 16: "Betrieb verlegen oder aufgeben" asked everything anew).

Only the company's own filings are read, only a Gewerbeanmeldung or Gewerbeummeldung filed
through the portal, and not one the company withdrew."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..catalog.models import ADDRESS_PARTS, FILING_PARTS
from ..extensions import db
from .models import Filing
from .states import FilingStatus

#: the notifications that describe the whole business as it is run from then on
SOURCE_SERVICES = ("gewerbeanmeldung", "gewerbeummeldung")
#: the field of each source service holding a part of ``FILING_PARTS`` when it is named otherwise
#: (the premises' address is read apart: ``_premises``)
#: (a Gewerbeummeldung's ``taetigkeit`` is the whole activity after the change)
RENAMED = {"gewerbeanmeldung": {"taetigkeit": "activity"}, "gewerbeummeldung": {}}


def latest_gewerbeanzeige(company_id: int) -> Filing | None:
    """The newest Gewerbeanmeldung or -ummeldung the company filed through the portal, whatever
    became of it, unless withdrawn; None when there is none."""
    return db.session.scalar(
        select(Filing).where(Filing.company_id == company_id, Filing.service_key.in_(SOURCE_SERVICES),
                             Filing.status != FilingStatus.WITHDRAWN)
        .order_by(Filing.submitted_at.desc(), Filing.id.desc()).limit(1))


def _premises(filing: Filing) -> dict[str, Any] | None:
    """The premises' address the filing leaves the business at: a Gewerbeanmeldung's premises, a
    Gewerbeummeldung's new address after a move, else its premises."""
    data = filing.data or {}
    address: Any
    if filing.service_key == "gewerbeanmeldung":
        address = {part: data.get(part) for part in ADDRESS_PARTS}
    else:
        moved = data.get("neue_anschrift") if data.get("grund") == "verlegung" else None
        address = moved if isinstance(moved, dict) and any(moved.values()) else data.get("betriebsanschrift")
    if not isinstance(address, dict) or not any(address.get(p) for p in ADDRESS_PARTS):
        return None
    return {part: address.get(part) for part in ADDRESS_PARTS}


def filing_values(filing: Filing | None) -> dict[str, Any]:
    """The parts of ``FILING_PARTS`` the filing answers (by part name); empty without a filing."""
    if filing is None or filing.service_key not in SOURCE_SERVICES:
        return {}
    data = filing.data or {}
    renamed = RENAMED[filing.service_key]
    values: dict[str, Any] = {}
    for part in FILING_PARTS:
        value = data.get(renamed.get(part, part))
        if value not in (None, "", [], {}):
            values[part] = value
    premises = _premises(filing)
    for part in (*ADDRESS_PARTS, "anschrift"):
        values.pop(part, None)
    if premises:
        values["anschrift"] = premises
        values.update({part: premises[part] for part in ADDRESS_PARTS if premises.get(part)})
    return values
