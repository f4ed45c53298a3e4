"""The kinds of audit events: their labels on the admin page and how they end by default."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


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
}

OUTCOME_LABELS: dict[str, LazyString] = {
    "success": _l("erfolgreich"),
    "refused": _l("abgewiesen"),
    "failed": _l("gescheitert"),
}


def default_outcome(action: str) -> str:
    kind = KINDS.get(action)
    return kind.outcome if kind else "success"
