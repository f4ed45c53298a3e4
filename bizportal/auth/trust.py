"""Trust levels (eIDAS low / substantial / high) read from the ``acr`` claim of a login."""

from __future__ import annotations

from flask import current_app, session

LEVELS = ("none", "low", "substantial", "high")
SESSION_KEY = "trust_level"

DEFAULT_ACR_MAPPING = {
    "http://eidas.europa.eu/LoA/low": "low",
    "http://eidas.europa.eu/LoA/substantial": "substantial",
    "http://eidas.europa.eu/LoA/high": "high",
    "low": "low",
    "substantial": "substantial",
    "substanziell": "substantial",
    "high": "high",
    "hoch": "high",
}


def parse_mapping(text: str | None) -> dict[str, str]:
    """``acr=level`` pairs separated by commas (from ``BIZPORTAL_OIDC_ACR_MAPPING``)."""
    if not text:
        return dict(DEFAULT_ACR_MAPPING)
    mapping = {}
    for pair in text.split(","):
        acr, _, level = pair.strip().rpartition("=")
        if acr and level in LEVELS:
            mapping[acr.strip()] = level
    return mapping


def level_from_acr(acr: object) -> str:
    mapping = current_app.config["OIDC_ACR_MAPPING"]
    return mapping.get(str(acr), "none") if acr else "none"


def meets(actual: str | None, required: str | None) -> bool:
    if not required:
        return True
    return LEVELS.index(actual if actual in LEVELS else "none") >= LEVELS.index(required)


def current_level() -> str:
    return session.get(SESSION_KEY, "none")
