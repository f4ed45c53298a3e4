"""Read access to the loaded catalog (kept on the app by ``create_app``)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import current_app

from .models import BundleDefinition, ServiceDefinition
from .search import CatalogIndex


def catalog() -> Mapping[str, ServiceDefinition]:
    return current_app.extensions["bizportal"].catalog


def get_service(key: str) -> ServiceDefinition | None:
    return catalog().get(key)


def bundles() -> Mapping[str, BundleDefinition]:
    """The life-event bundles ("Betrieb gründen", …), loaded by ``create_app``."""
    return current_app.extensions["bizportal"].bundles


def get_bundle(key: str) -> BundleDefinition | None:
    return bundles().get(key)


def find_bundles(locale: str, query: str = "", event: str = "", body: str = "") -> list[BundleDefinition]:
    """The bundles whose title, summary or keywords contain every word of ``query`` (as the
    catalog search forgives umlauts and word forms) or of its correction (the term the page's
    "Meinten Sie" names and the services were found for), filtered by life event and by kind of
    receiving body (a bundle is kept when any of its services goes to that kind of body); all
    without a query."""
    from .search import normalise_cached, query_terms

    found = []
    terms = query_terms(query) if query.strip() else []
    fixed = _index().correction(query) if terms else None
    readings = [terms, fixed.terms] if fixed else [terms]
    services = catalog()
    for bundle in sorted(bundles().values(), key=lambda b: b.title.get(locale).lower()):
        if event and event not in bundle.life_events:
            continue
        if body and not any(body in services[entry.service].body_kinds
                            for entry in bundle.services if entry.service in services):
            continue
        if not terms:  # no query: every bundle of the filters (the catalog's and start page's case)
            found.append(bundle)
            continue
        text = normalise_cached(" ".join([bundle.title.de, bundle.title.en, bundle.summary.de, bundle.summary.en,
                                          *bundle.keywords]))
        if any(all(term in text for term in reading) for reading in readings):
            found.append(bundle)
    return found


def list_services(locale: str) -> list[ServiceDefinition]:
    return sorted(catalog().values(), key=lambda s: s.title.get(locale).lower())


def _index() -> CatalogIndex:
    """The search index of the app's catalog, built once by ``create_app`` (not on every search)."""
    return current_app.extensions["bizportal"].search_index


def find_services(locale: str, query: str = "", kind: str = "", body: str = "",
                  event: str = "") -> list[ServiceDefinition]:
    """Search and filter the catalog; without a query the list is alphabetical."""
    services = _index().search(query) if query.strip() else list_services(locale)
    if kind:
        services = [s for s in services if s.kind == kind]
    if body:
        services = [s for s in services if body in s.body_kinds]
    if event:
        services = [s for s in services if event in s.life_events]
    return services


def did_you_mean(query: str) -> str | None:
    """The query with its misspelt words corrected (what the results were found for), or None."""
    fixed = _index().correction(query) if query.strip() else None
    return fixed.text if fixed else None
