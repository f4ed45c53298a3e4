"""Use cases for filings. Each function owns its transaction."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..auth.models import Person
from ..catalog.models import ServiceDefinition
from ..common.time import utcnow
from ..delivery.models import Delivery
from ..delivery.routing import competent_chamber
from ..extensions import db
from ..stats import services as stats
from .models import Filing

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


class ForeignSubmitToken(Exception):
    """The form's one-time token belongs to another company's filing (a tampered form)."""


@dataclass(frozen=True)
class SubmitOutcome:
    filing: Filing
    created: bool  #: False when the same form was submitted before (double click, retried POST)


def new_reference(year: int) -> str:
    """A human reference like ``BP-2026-7KQ3MZ``; random so references reveal no volumes."""
    return f"BP-{year}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def _existing(token: str, person: Person) -> SubmitOutcome | None:
    filing = db.session.scalar(select(Filing).where(Filing.submit_token == token))
    if filing is None:
        return None
    if filing.company_id != person.company_id:
        raise ForeignSubmitToken(token)
    return SubmitOutcome(filing, created=False)


def submit_filing(
    person: Person, service: ServiceDefinition, answers: dict[str, Any], submit_token: str
) -> SubmitOutcome:
    """Store the filing and one Delivery row per destination in one commit (transactional outbox).

    Idempotent per ``submit_token``: a repeated submit returns the first filing. Raises
    ``NoCompetentBody`` (nothing stored) when a destination has no enabled chamber for the
    location, and ``ForeignSubmitToken`` when the token belongs to another company.
    """
    existing = _existing(submit_token, person)
    if existing:
        return existing

    company = person.company
    postcode = answers.get(service.location_field) if service.location_field else None
    postcode = postcode or company.postcode
    targets = [
        (competent_chamber(db.session, kind, postcode), role)
        for kind, role in service.destinations(answers)
    ]

    now = utcnow()
    filing = Filing(
        reference=new_reference(now.year),
        submit_token=submit_token,
        company_id=company.id,
        person_id=person.id,
        service_key=service.key,
        data=answers,
        company_snapshot=company.master_data(),
        submitted_at=now,
    )
    db.session.add(filing)
    for chamber, role in targets:
        db.session.add(Delivery(filing=filing, chamber_id=chamber.id, role=role, next_attempt_at=now))
        stats.count_event(db.session, stats.FILINGS_PER_CHAMBER, chamber.slug, now.date())
    stats.count_event(db.session, stats.FILINGS_PER_SERVICE, service.key, now.date())
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent submit of the same form won the race (or, very rarely, a reference clashed).
        db.session.rollback()
        existing = _existing(submit_token, person)
        if existing:
            return existing
        return submit_filing(person, service, answers, submit_token)
    return SubmitOutcome(filing, created=True)
