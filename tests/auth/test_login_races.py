"""Two first logins of one company or person at the same moment (found by bench/soak.py: the
second one's insert clashed with the first's and the person saw an error page)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from bizportal.auth import services
from bizportal.auth.models import Company, Person, StaffUser
from bizportal.extensions import db

ISSUER = "https://login.race.example"
CLAIMS = {"sub": "race-person", "org_id": "race-org", "org_name": "Wettlauf GmbH", "name": "Rita Rennt"}


@contextmanager
def another_login_commits_first(row: type, values: dict) -> Iterator[None]:
    """Just before this login's first flush, another process commits the same row."""
    pending = [values]

    def commit_competitor(_session, _context, _instances):
        if pending:
            with Session(db.engine) as other, other.begin():
                other.execute(insert(row).values(**pending.pop()))

    event.listen(db.session, "before_flush", commit_competitor)
    try:
        yield
    finally:
        event.remove(db.session, "before_flush", commit_competitor)
    assert not pending, "the competitor never ran"


def test_a_company_login_that_loses_the_race_to_create_the_company_still_logs_in(app):
    with app.app_context():
        with another_login_commits_first(Company, {"issuer": ISSUER, "org_id": "race-org", "name": "Wettlauf GmbH"}):
            person = services.company_login(ISSUER, CLAIMS, "org_id")
        assert person.name == "Rita Rennt" and person.company.name == "Wettlauf GmbH"
        assert db.session.scalar(select(func.count()).select_from(Company).where(Company.issuer == ISSUER)) == 1
        assert db.session.scalar(select(func.count()).select_from(Person).where(Person.issuer == ISSUER)) == 1


def test_a_staff_login_that_loses_the_race_to_create_the_account_still_logs_in(app):
    claims = {"sub": "race-steering", "roles": ["steering"], "name": "Stefan Steuer"}
    with app.app_context():
        with another_login_commits_first(StaffUser, {"issuer": ISSUER, "sub": "race-steering", "roles": []}):
            user = services.staff_login(ISSUER, claims, "roles", "chamber")
        assert user.roles == ["steering"] and user.name == "Stefan Steuer"
        assert db.session.scalar(select(func.count()).select_from(StaffUser).where(StaffUser.issuer == ISSUER)) == 1
