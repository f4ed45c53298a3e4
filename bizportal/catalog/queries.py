"""Read access to the loaded catalog (kept on the app by ``create_app``)."""

from __future__ import annotations

from flask import current_app

from .models import ServiceDefinition


def catalog() -> dict[str, ServiceDefinition]:
    return current_app.extensions["bizportal"].catalog


def get_service(key: str) -> ServiceDefinition | None:
    return catalog().get(key)


def list_services(locale: str) -> list[ServiceDefinition]:
    return sorted(catalog().values(), key=lambda s: s.title.get(locale).lower())
