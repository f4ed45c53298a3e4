"""Every process serves the catalog the database says: the shipped definition files and bundles
plus the services and bundles imported with ``flask catalog import`` (``records.ImportedDefinition``).

A process looks at ``CatalogVersion`` at most every ``BIZPORTAL_CATALOG_REFRESH_SECONDS`` (web:
before a request; worker: before a claim round; at once after SIGHUP to the worker) and, when
the number moved, reloads the imported definitions, checks every bundle against the services of
that version, and then replaces services, bundles and search index together: they are one
immutable ``CatalogSnapshot``, swapped with one assignment, so a reader sees either the old or the
new version whole, never new services with old bundles.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .bundle_loader import bundle_sources, is_bundle_source, load_bundle_text
from .loader import DefinitionError, load_definition_text
from .models import BundleDefinition, ServiceDefinition
from .records import CatalogVersion, ImportedDefinition
from .search import CatalogIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogSnapshot:
    """One catalog version as a process serves it: services, bundles and the services' search
    index. Never changed after it is built (the mappings are read-only views of private copies);
    a new version is a new snapshot, put in place with one assignment (``Portal.snapshot``)."""

    services: Mapping[str, ServiceDefinition]
    bundles: Mapping[str, BundleDefinition]
    search_index: CatalogIndex

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", MappingProxyType(dict(self.services)))
        object.__setattr__(self, "bundles", MappingProxyType(dict(self.bundles)))


@dataclass
class Assembled:
    """The services and bundles of one catalog version, and the definitions refused on the way
    (key, ``"service"`` or ``"bundle"``, the error naming file and field)."""

    services: dict[str, ServiceDefinition]
    bundles: dict[str, BundleDefinition]
    errors: list[tuple[str, str, DefinitionError]] = field(default_factory=list)


def assemble(base: Mapping[str, ServiceDefinition], base_bundles: Sequence[tuple[str, str]],
             imported: Mapping[str, tuple[str, str]]) -> Assembled:
    """The catalog of the shipped services ``base`` and bundle files ``base_bundles`` (file name,
    text) with the ``imported`` definitions (key → (name for messages, TOML text)) over them: a
    file with a top-level ``services`` list is a bundle (``bundle_loader.is_bundle_source``), any
    other a service. Every bundle is checked against the services assembled here; a definition
    that does not load is left out and listed in ``errors``. Raises nothing."""
    services = dict(base)
    bundle_files = {name.removesuffix(".toml"): (name, text) for name, text in base_bundles}
    errors: list[tuple[str, str, DefinitionError]] = []
    for key, (name, text) in sorted(imported.items()):
        if is_bundle_source(text):
            bundle_files[key] = (name, text)
            continue
        try:
            definition = load_definition_text(text, name)
        except DefinitionError as exc:
            errors.append((key, "service", exc))
            continue
        services[definition.key] = definition
    bundles: dict[str, BundleDefinition] = {}
    for key, (name, text) in sorted(bundle_files.items()):
        try:
            bundle = load_bundle_text(text, name, services)
            if bundle.key != key:
                raise DefinitionError(f"{name}: field 'key': '{bundle.key}' must match the file name")
        except DefinitionError as exc:
            errors.append((key, "bundle", exc))
            continue
        bundles[key] = bundle
    return Assembled(services=services, bundles=bundles, errors=errors)


def imported_name(key: str) -> str:
    """How messages name a definition stored by an earlier import."""
    return f"imported definition '{key}'"


class CatalogRefresher:
    """Keeps ``portal.snapshot`` (``portal.catalog``, ``portal.bundles``, ``portal.search_index``)
    at the database's catalog version."""

    def __init__(self, portal: Any, base: dict[str, ServiceDefinition], interval: float,
                 base_bundles: Sequence[tuple[str, str]] | None = None):
        self.portal = portal
        self.base = dict(base)  #: the shipped files (and CATALOG_DIR), loaded at start
        #: the shipped bundle files (file name, text), checked again against every version's services
        self.base_bundles = list(base_bundles) if base_bundles is not None else bundle_sources()
        self.interval = interval
        #: the version loaded; 0 = no imports (what the files alone give)
        self.version = 0
        self._checked = -math.inf
        self._due_now = False
        self._lock = threading.Lock()

    def request_check(self, *_args: Any) -> None:
        """Look at the version on the next occasion, whatever the interval (a signal handler)."""
        self._due_now = True

    def maybe_refresh(self) -> bool:
        """Reload if the interval has passed and the version moved; returns whether it reloaded.
        Needs an app context. A database that cannot be read is logged and tried again later;
        the catalog in memory stays as it is."""
        now = time.monotonic()
        if not self._due_now and now - self._checked < self.interval:
            return False
        if not self._lock.acquire(blocking=False):  # another thread of this process is at it
            return False
        try:
            self._checked, self._due_now = now, False
            try:
                with db.engine.connect() as conn:
                    version = conn.scalar(select(CatalogVersion.version).where(CatalogVersion.id == 1)) or 0
                    if version == self.version:
                        return False
                    rows = conn.execute(select(ImportedDefinition.key, ImportedDefinition.source)
                                        .order_by(ImportedDefinition.key)).all()
            except SQLAlchemyError as exc:
                log.warning("catalog version not readable (schema not migrated yet?): %s", exc.__class__.__name__)
                return False
            self._install(version, rows)
            return True
        finally:
            self._lock.release()

    def _install(self, version: int, rows: Any) -> None:
        assembled = assemble(self.base, self.base_bundles, {key: (imported_name(key), source) for key, source in rows})
        for _key, kind, exc in assembled.errors:  # valid at import, refused by this code version
            log.error("%s skipped: %s", kind, exc)
        self.portal.snapshot = CatalogSnapshot(services=assembled.services, bundles=assembled.bundles,
                                               search_index=CatalogIndex(list(assembled.services.values()),
                                                                         list(assembled.bundles.values())))
        self.version = version
        log.info("catalog version %s: %d service(s), %d bundle(s), %d imported", version, len(assembled.services),
                 len(assembled.bundles), len(rows))
