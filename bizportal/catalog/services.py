"""Use cases that change the catalog: importing service and bundle definitions into the database."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import PurePath

from sqlalchemy import select

from ..common.time import utcnow
from ..extensions import db
from .bundle_loader import bundle_sources, is_bundle_source
from .loader import DefinitionError, load_definition_text
from .models import BundleDefinition, ServiceDefinition
from .records import CatalogVersion, ImportedDefinition
from .refresh import assemble, imported_name


class ImportRefused(ValueError):
    """The import would replace a definition without ``replace``, or break a bundle it does not
    replace; nothing was imported."""


def import_definitions(sources: Sequence[tuple[str, str]], shipped: Mapping[str, ServiceDefinition],
                       replace: bool = False, shipped_bundles: Sequence[tuple[str, str]] | None = None,
                       ) -> tuple[int, list[ServiceDefinition | BundleDefinition]]:
    """Import service and bundle files given as (file name, TOML text) into the database, all or none.

    A file with a top-level ``services`` list is a bundle, any other a service definition; the file
    name must be ``<key>.toml``. Every file is validated (``DefinitionError`` names the file and
    field); a key in ``shipped`` (the service files) or ``shipped_bundles`` (the bundle files, by
    default ``catalog/bundles/``), already imported, or twice in the batch is refused with
    ``ImportRefused`` unless ``replace``; so is a service key that is a bundle's. Then every
    bundle, the shipped, the imported and the new ones, is checked against the services as they
    will be after the import: a new bundle that does not fit raises its ``DefinitionError``, an
    existing one ``ImportRefused`` naming the bundle, its file and field. Only then are the files
    stored and the catalog version raised by one, in one commit, so every node switches services
    and bundles together or not at all.
    Returns the new version and the imported definitions.
    """
    bundle_files = list(shipped_bundles) if shipped_bundles is not None else bundle_sources()
    version = _next_version()  # the row lock first: the stored definitions read below stay as they are
    try:
        stored = {key: source for key, source in db.session.execute(
            select(ImportedDefinition.key, ImportedDefinition.source))}
        stored_bundles = {key for key, source in stored.items() if is_bundle_source(source)}
        bundle_keys = {PurePath(name).stem for name, _ in bundle_files} | stored_bundles
        service_keys = set(shipped) | (set(stored) - stored_bundles)
        new: dict[str, tuple[str, str]] = {}
        for name, text in sources:
            if is_bundle_source(text):
                # the key is checked against the file name when the bundle is loaded below
                kind, key, known = "bundle", PurePath(name).stem, bundle_keys
            else:
                definition = load_definition_text(text, name)
                if definition.key != PurePath(name).stem:
                    raise DefinitionError(f"{name}: field 'key': '{definition.key}' must match the file name")
                kind, key, known = "service", definition.key, service_keys
                if key in bundle_keys:
                    raise ImportRefused(f"{name}: '{key}' is the key of a bundle")
            if key in new:
                raise ImportRefused(f"{name}: the {kind} '{key}' is twice in this import")
            if key in known and not replace:
                raise ImportRefused(f"{name}: a {kind} '{key}' exists; use --replace")
            new[key] = (name, text)

        before = {key: (imported_name(key), source) for key, source in stored.items()}
        after = assemble(shipped, bundle_files, {**before, **new})
        for key, kind, exc in after.errors:
            if key in new:
                raise exc
            if kind == "bundle":
                raise ImportRefused(f"the import would break the bundle '{key}', which it does not replace: {exc}")
        imported: list[ServiceDefinition | BundleDefinition] = [
            after.bundles[key] if is_bundle_source(text) else after.services[key]
            for key, (_name, text) in new.items()]
        now = utcnow()
        for key, (_name, text) in new.items():
            db.session.merge(ImportedDefinition(key=key, source=text, version=version, imported_at=now,
                                                sha256=hashlib.sha256(text.encode()).hexdigest()))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return version, imported


def _next_version() -> int:
    """Raise the version in this transaction (the row lock orders concurrent imports)."""
    row = db.session.get(CatalogVersion, 1, with_for_update=True)
    if row is None:
        row = CatalogVersion(id=1, version=0)
        db.session.add(row)
    row.version += 1
    db.session.flush()
    return row.version
