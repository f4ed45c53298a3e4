"""Which chamber receives a filing: body kind from the definition, area from the postcode."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from .models import Chamber


class NoCompetentBody(Exception):
    """No enabled chamber of the needed kind covers the postcode."""

    def __init__(self, kind: str, postcode: str | None):
        super().__init__(f"no enabled {kind} for postcode {postcode!r}")
        self.kind = kind
        self.postcode = postcode


def competent_chamber(session: Session | scoped_session[Any], kind: str, postcode: str | None) -> Chamber:
    """The enabled chamber of ``kind`` whose postcode prefix matches longest."""
    best: tuple[int, Chamber] | None = None
    if postcode:
        for chamber in session.scalars(
            select(Chamber).where(Chamber.kind == kind, Chamber.enabled.is_(True)).order_by(Chamber.id)
        ):
            for prefix in chamber.postcode_prefixes or []:
                if postcode.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), chamber)
    if best is None:
        raise NoCompetentBody(kind, postcode)
    return best[1]
