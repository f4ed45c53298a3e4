"""A receiving body and the adapter that reaches it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model

CHAMBER_KINDS = ("HWK", "IHK", "GEWERBEAMT")


class Chamber(Model):
    """A receiving body: Handwerkskammer, Handelskammer/IHK or Gewerbeamt, with its adapter."""

    __tablename__ = "chamber"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(100))
    #: postcode prefixes of the area the body is competent for; the longest match wins
    postcode_prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: official municipality keys (AGS, 8 digits) the body is competent for; an exact match
    #: wins over any postcode prefix
    municipality_keys: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    adapter_key: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    #: the body's Behördenkennung from the DVDV / federal authorities' directory, as the
    #: administrator entered it: prefix (e.g. "MELDID", "azr") and id (e.g. "12052000"); both or
    #: neither. Without it an XGewerbeanzeige message names the body by its slug (``delivery.jobs``).
    authority_prefix: Mapped[str | None] = mapped_column(String(10))
    authority_id: Mapped[str | None] = mapped_column(String(20))
