"""Service definitions imported by an administrator (``flask catalog import``), kept in the
database so that every web node and worker serves the same catalog.

``CatalogVersion`` is one row whose number goes up with every import, in the same transaction;
each process compares it with the number it loaded (``catalog.refresh``) and reloads on a change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model


class ImportedDefinition(Model):
    """One imported definition file, as its TOML text (validated again whenever it is loaded)."""

    __tablename__ = "catalog_definition"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    #: the catalog version this definition was imported with
    version: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogVersion(Model):
    """The single row (``id`` 1) counting the imports; no row means nothing was imported yet."""

    __tablename__ = "catalog_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)
