"""The kinds of audit events: their labels on the admin page and how they end by default."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from ..filings.states import STATUS_LABELS, FilingStatus


@dataclass(frozen=True)
class Kind:
    label: LazyString
    #: the outcome stored when the caller names none
    outcome: str = "success"


KINDS: dict[str, Kind] = {
    "login_success": Kind(_l("Anmeldung")),
    "login_failure": Kind(_l("Anmeldung gescheitert"), "failed"),
    "logout": Kind(_l("Abmeldung")),
    "session_ended": Kind(_l("Sitzung beendet")),
    "backchannel_logout": Kind(_l("Abmeldung durch den Anmeldedienst")),
    "role_change": Kind(_l("Rollenänderung")),
    "access_refused": Kind(_l("Zugriff abgewiesen"), "refused"),
    "company_data_confirmed": Kind(_l("Unternehmensdaten bestätigt")),
    "delivery_resend": Kind(_l("Zustellung erneut gesendet")),
    "delivery_resend_all": Kind(_l("Zustellungen gesammelt erneut gesendet")),
    "chamber_settings_changed": Kind(_l("Einstellungen einer Stelle geändert")),
    "chamber.created": Kind(_l("Stelle angelegt")),
    "chamber.changed": Kind(_l("Angaben einer Stelle geändert")),
    "chamber.import": Kind(_l("Stellen importiert")),
    "filing.transition": Kind(_l("Stand eines Antrags gesetzt")),
    "filing.export": Kind(_l("Antrag exportiert")),
    "filing.message": Kind(_l("Nachricht zu einem Antrag")),
    "filing.note": Kind(_l("Interne Notiz zu einem Antrag")),
    "filing.assigned": Kind(_l("Antrag zugewiesen")),
    "api_client.created": Kind(_l("API-Zugang angelegt")),
    "api_client.rotated": Kind(_l("Geheimnis eines API-Zugangs erneuert")),
    "api_client.revoked": Kind(_l("API-Zugang gesperrt")),
    "api.token": Kind(_l("API-Token angefordert")),
    "api.call": Kind(_l("Aufruf der Schnittstelle")),
    "retention.run": Kind(_l("Löschfristen angewendet")),
    "delivery.status_callback": Kind(_l("Statusmeldung einer Stelle")),
    "upload.malware": Kind(_l("Hochgeladene Datei mit Schadsoftware abgewiesen"), "refused"),
}

OUTCOME_LABELS: dict[str, LazyString] = {
    "success": _l("erfolgreich"),
    "refused": _l("abgewiesen"),
    "failed": _l("gescheitert"),
}


def default_outcome(action: str) -> str:
    kind = KINDS.get(action)
    return kind.outcome if kind else "success"


#: fixed detail texts written by the case work (``filings.lifecycle``, ``inbox.views``)
DETAIL_LABELS: dict[str, LazyString] = {
    "message to the company": _l("Nachricht an das Unternehmen"),
    "answer to a request": _l("Antwort auf eine Nachforderung"),
    "message": _l("Nachricht an die Stelle"),
    "internal note": _l("Interne Notiz"),
}
_STATUS_KEY = re.compile(r"\b(" + "|".join(sorted((s.value for s in FilingStatus), key=len, reverse=True)) + r")\b")


def detail_text(action: str, detail: str | None) -> str | None:
    """An entry's detail as people read it: a transition's status keys ("answered → rejected") by
    their labels ("Antwort eingegangen → Abgelehnt"), the case work's fixed texts translated. The
    stored detail keeps the keys (stable for filters and exports)."""
    if not detail:
        return detail
    if action.startswith("filing.") and detail in DETAIL_LABELS:
        return str(DETAIL_LABELS[detail])
    if action == "filing.transition":
        return _STATUS_KEY.sub(lambda m: str(STATUS_LABELS[FilingStatus(m.group(1))]), detail)
    return detail


def describe(action: str, detail: str | None) -> str:
    """The kind's label and the readable detail, e.g. "Stand eines Antrags gesetzt: Eingegangen →
    In Bearbeitung" (for lists that have no separate column for the kind)."""
    label = str(KINDS[action].label) if action in KINDS else action
    text = detail_text(action, detail)
    if action == "filing.transition" and text and text.startswith("→"):
        text = text.split(":", 1)[0]  # a refused step: the step only; the technical reason is on the audit page
    return f"{label}: {text}" if text else label
