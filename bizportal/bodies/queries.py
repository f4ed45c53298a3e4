"""Reads of the receiving bodies."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import Chamber


def chamber_by_slug(slug: str) -> Chamber | None:
    return db.session.scalar(select(Chamber).where(Chamber.slug == slug))


def chambers() -> list[Chamber]:
    return list(db.session.scalars(select(Chamber).order_by(Chamber.name)))


def names_by_slug() -> dict[str, str]:
    """Display names of the chambers by slug."""
    return {slug: name for slug, name in db.session.execute(select(Chamber.slug, Chamber.name))}
