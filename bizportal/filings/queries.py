"""Read-only queries for a company's filings. Every query is scoped to the company."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from .models import Filing


def company_filings(company_id: int) -> list[Filing]:
    return list(
        db.session.scalars(
            select(Filing)
            .where(Filing.company_id == company_id)
            .options(selectinload(Filing.deliveries))
            .order_by(Filing.submitted_at.desc())
        )
    )


def company_filing(company_id: int, reference: str) -> Filing | None:
    """The filing if it belongs to the company, else None (a foreign filing looks like a missing one)."""
    return db.session.scalar(
        select(Filing).where(Filing.reference == reference, Filing.company_id == company_id)
    )
