"""Audit entries for the audit page's tests: written as the portal writes them, or in bulk at chosen times."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import insert, select

from bizportal.audit.models import AuditEvent
from bizportal.auth.models import StaffUser
from bizportal.bodies.models import Chamber
from bizportal.extensions import db

DETAIL_CELL = re.compile(r'<td class="kern-table__cell">(n\d+)</td>')
OLDER_LINK = re.compile(r'<a class="kern-link" href="([^"]+)" rel="next">')
NEWER_LINK = re.compile(r'<a class="kern-link" href="([^"]+)" rel="prev">')


def add_entries(app, rows: list[dict]) -> None:
    """Insert audit events; each row names at least ``action``, ``actor`` and ``occurred_at``."""
    with app.app_context():
        db.session.execute(insert(AuditEvent), [{"outcome": "success", **row} for row in rows])
        db.session.commit()


def at(text: str) -> datetime:
    """An aware datetime from ISO text with offset, e.g. '2026-03-01T10:00:00+00:00'."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def chamber_id(app, slug: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Chamber.id).where(Chamber.slug == slug))


def staff_key(app, sub: str) -> str:
    """The audit actor key of a staff member who has logged in."""
    with app.app_context():
        return f"staff:{db.session.scalar(select(StaffUser.id).where(StaffUser.sub == sub))}"


def add_staff(app, n: int, chamber_slug: str) -> list[str]:
    """``n`` staff members of a chamber (as their first login would create them); their actor keys."""
    cid = chamber_id(app, chamber_slug)
    with app.app_context():
        users = [StaffUser(issuer="http://staff.example", sub=f"bulk-{chamber_slug}-{i}", name=f"Mitarbeiterin {i}",
                           email=f"m{i}@{chamber_slug}.example", roles=["chamber_staff"], chamber_id=cid)
                 for i in range(n)]
        db.session.add_all(users)
        db.session.commit()
        return [u.get_id() for u in users]


def shown_details(html: str) -> list[str]:
    """The detail texts (n0, n1, …) of the entries on an audit page, top to bottom."""
    return DETAIL_CELL.findall(html)


def link(pattern: re.Pattern[str], html: str) -> str | None:
    match = pattern.search(html)
    return match.group(1).replace("&amp;", "&") if match else None
