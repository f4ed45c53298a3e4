"""Use cases that change the catalog: importing definitions into the database."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from pathlib import PurePath

from sqlalchemy import select

from ..common.time import utcnow
from ..extensions import db
from .loader import DefinitionError, load_definition_text
from .models import ServiceDefinition
from .records import CatalogVersion, ImportedDefinition


class ImportRefused(ValueError):
    """The import would replace a definition without ``replace``; nothing was imported."""


def import_definitions(sources: Sequence[tuple[str, str]], shipped: Collection[str], replace: bool = False,
                       ) -> tuple[int, list[ServiceDefinition]]:
    """Import definition files given as (file name, TOML text) into the database, all or none.

    Every file is validated first (``DefinitionError`` names the file and field; the file name
    must be ``<key>.toml``); a key in ``shipped`` (the definition files), already imported, or
    twice in the batch is refused with ``ImportRefused`` unless ``replace``. Then the definitions
    are stored and the catalog version goes up by one, in one commit, so every node picks up the
    whole import or none of it.
    Returns the new version and the imported definitions.
    """
    checked: list[tuple[ServiceDefinition, str]] = []
    seen: set[str] = set()
    known = set(shipped) | set(db.session.scalars(select(ImportedDefinition.key)))
    for name, text in sources:
        definition = load_definition_text(text, name)
        if definition.key != PurePath(name).stem:
            raise DefinitionError(f"{name}: field 'key': '{definition.key}' must match the file name")
        if definition.key in seen:
            raise ImportRefused(f"{name}: the service '{definition.key}' is twice in this import")
        if definition.key in known and not replace:
            raise ImportRefused(f"{name}: a service '{definition.key}' exists; use --replace")
        seen.add(definition.key)
        checked.append((definition, text))
    version = _next_version()
    now = utcnow()
    for definition, text in checked:
        db.session.merge(ImportedDefinition(key=definition.key, source=text, version=version, imported_at=now,
                                            sha256=hashlib.sha256(text.encode()).hexdigest()))
    db.session.commit()
    return version, [d for d, _ in checked]


def _next_version() -> int:
    """Raise the version in this transaction (the row lock orders concurrent imports)."""
    row = db.session.get(CatalogVersion, 1, with_for_update=True)
    if row is None:
        row = CatalogVersion(id=1, version=0)
        db.session.add(row)
    row.version += 1
    db.session.flush()
    return row.version
