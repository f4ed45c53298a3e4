"""Which chamber receives a filing: body kind from the definition, area from the municipality key
(AGS) when the answers carry one, else from the postcode. Read from the database on every call,
so an administrator's change routes the next filing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from .models import Chamber


class NoCompetentBody(Exception):
    """No enabled chamber of the needed kind covers the postcode."""

    def __init__(self, kind: str, postcode: str | None, municipality_key: str | None = None):
        where = f"postcode {postcode!r}" + (f" or municipality key {municipality_key!r}" if municipality_key else "")
        super().__init__(f"no enabled {kind} for {where}")
        self.kind = kind
        self.postcode = postcode
        self.municipality_key = municipality_key


def competent_chamber(session: Session | scoped_session[Any], kind: str, postcode: str | None,
                      municipality_key: str | None = None) -> Chamber:
    """The enabled chamber of ``kind`` that lists ``municipality_key``; else the one whose postcode
    prefix matches longest. Raises ``NoCompetentBody``."""
    best: tuple[int, Chamber] | None = None
    if postcode or municipality_key:
        for chamber in session.scalars(
            select(Chamber).where(Chamber.kind == kind, Chamber.enabled.is_(True)).order_by(Chamber.id)
        ):
            if municipality_key and municipality_key in (chamber.municipality_keys or []):
                return chamber
            for prefix in (chamber.postcode_prefixes or []) if postcode else []:
                if postcode and postcode.startswith(prefix) and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), chamber)
    if best is None:
        raise NoCompetentBody(kind, postcode, municipality_key)
    return best[1]


def competent_slug(session: Session | scoped_session[Any], kind: str, postcode: str) -> str | None:
    """The slug of the enabled chamber of ``kind`` competent for ``postcode`` (None: none is),
    e.g. to tell whether two addresses belong to the same Gewerbeamt."""
    try:
        return competent_chamber(session, kind, postcode).slug
    except NoCompetentBody:
        return None
