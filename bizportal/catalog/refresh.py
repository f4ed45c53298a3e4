"""Every process serves the catalog the database says: the shipped definition files plus the
definitions imported with ``flask catalog import`` (``records.ImportedDefinition``).

A process looks at ``CatalogVersion`` at most every ``BIZPORTAL_CATALOG_REFRESH_SECONDS`` (web:
before a request; worker: before a claim round; at once after SIGHUP to the worker) and, when
the number moved, reloads the imported definitions and swaps catalog and search index in one
step. A request in flight keeps the catalog it started with.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .loader import DefinitionError, load_definition_text
from .models import ServiceDefinition
from .records import CatalogVersion, ImportedDefinition
from .search import CatalogIndex

log = logging.getLogger(__name__)


class CatalogRefresher:
    """Keeps ``portal.catalog`` and ``portal.search_index`` at the database's catalog version."""

    def __init__(self, portal: Any, base: dict[str, ServiceDefinition], interval: float):
        self.portal = portal
        self.base = dict(base)  #: the shipped files (and CATALOG_DIR), loaded at start
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
        catalog = dict(self.base)
        for key, source in rows:
            try:
                definition = load_definition_text(source, f"imported definition '{key}'")
            except DefinitionError as exc:  # valid at import, refused by this code version
                log.error("imported definition skipped: %s", exc)
                continue
            catalog[definition.key] = definition
        self.portal.catalog = catalog
        self.portal.search_index = CatalogIndex(list(catalog.values()))
        self.version = version
        log.info("catalog version %s: %d service(s), %d imported", version, len(catalog), len(rows))
