"""Which steps staff may take on a filing now, and what they are called for the kind of service.

Each step is one edge of ``filings.states.MACHINE`` from the filing's current status: only those
are offered, in working order. A copy recipient only notes the filing, once; a copy is never
decided. A trade notification is acknowledged, a permit granted, a registration entered.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from ..filings.states import CLOSED, MACHINE, FilingStatus

_ORDER = (FilingStatus.RECEIVED, FilingStatus.IN_PROGRESS, FilingStatus.INFORMATION_REQUESTED,
          FilingStatus.ACCEPTED, FilingStatus.REJECTED)

_COMMON = {
    FilingStatus.RECEIVED: _l("Eingang bestätigen"),
    FilingStatus.IN_PROGRESS: _l("In Bearbeitung nehmen"),
    FilingStatus.INFORMATION_REQUESTED: _l("Angaben oder Unterlagen nachfordern"),
}
#: the decision, by the service's kind (catalog ``kind``)
_DECISION = {
    "trade": {FilingStatus.ACCEPTED: _l("Anzeige bestätigen"), FilingStatus.REJECTED: _l("Anzeige zurückweisen")},
    "permit": {FilingStatus.ACCEPTED: _l("Erlaubnis erteilen"), FilingStatus.REJECTED: _l("Antrag ablehnen")},
    "registration": {FilingStatus.ACCEPTED: _l("Eintragen"), FilingStatus.REJECTED: _l("Eintragung ablehnen")},
}
_NOTED = _l("Eingang bestätigt / zur Kenntnis genommen")


def label(kind: str, service_kind: str | None, role: str) -> Any:
    """The label of a step for this service kind and destination role (a lazy string)."""
    if role != "primary" and kind == FilingStatus.RECEIVED:
        return _NOTED
    decision = _DECISION.get(service_kind or "", _DECISION["permit"])
    return _COMMON.get(FilingStatus(kind)) or decision[FilingStatus(kind)]


def allowed(status: str, service_kind: str | None, role: str, noted: bool) -> list[tuple[str, Any]]:
    """(value, label) of the steps allowed now. ``noted``: this (copy) recipient confirmed already."""
    if status in CLOSED and (role == "primary" or status == FilingStatus.WITHDRAWN):
        return []
    if role != "primary":  # a copy is noted also after the competent body decided
        return [] if noted else [(FilingStatus.RECEIVED.value, _NOTED)]
    return [(k.value, label(k, service_kind, role)) for k in _ORDER if MACHINE.allowed(status, k)]
