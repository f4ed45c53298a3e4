"""Submitting under races: a double submit of one draft, and a reference that is already taken."""

from __future__ import annotations

import random
import time
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from bizportal.auth.models import Person
from bizportal.delivery.models import Delivery
from bizportal.extensions import db
from bizportal.filings import services
from bizportal.filings.models import Attachment, Draft, Filing, FilingEvent
from tests.support.concurrency import run_at_once
from tests.support.filing import (
    VERSICHERUNGSVERMITTLER_FILES,
    fill_steps,
    start_draft,
    versicherungsvermittler_answers,
)
from tests.support.http import http_login, login, submit_form


def _person_and_draft(app, sub: str = "lea.hansen"):
    """A company person and a complete draft of the § 34d filing (one delivery, to the IHK Hamburg),
    every step answered over HTTP (the submit checks the answers again, not only the steps' marks)."""
    client = app.test_client()
    login(client, sub)
    review = fill_steps(client, start_draft(client, "versicherungsvermittler-34d"), versicherungsvermittler_answers(),
                        VERSICHERUNGSVERMITTLER_FILES)
    with app.app_context():
        return db.session.scalar(select(Person.id).where(Person.sub == sub)), uuid.UUID(review.split("/")[3])


def _take_reference(app, person_id, reference) -> int:
    """Another filing of the person's company holds ``reference``; returns the company id."""
    with app.app_context():
        company_id = db.session.get(Person, person_id).company_id
        db.session.add(Filing(reference=reference, submit_token="other", company_id=company_id,
                              person_id=person_id, service_key="x", data={}, company_snapshot={}))
        db.session.commit()
        return company_id


def _submit(app, person_id, draft_id):
    with app.app_context():
        person = db.session.get(Person, person_id)
        draft = services.company_draft(person.company_id, str(draft_id))
        if draft is None:  # consumed by the other submit already
            return services.previous_submit(str(draft_id), person.company_id).filing.reference
        service = app.extensions["bizportal"].catalog[draft.service_key]
        return services.submit_draft(draft, person, service).filing.reference


def test_a_taken_reference_is_drawn_again_and_the_filing_is_stored_once(app, monkeypatch):
    person_id, draft_id = _person_and_draft(app)
    _take_reference(app, person_id, "BP-2026-TAKEN1")
    drawn = iter(["BP-2026-TAKEN1", "BP-2026-FRESH2"])
    monkeypatch.setattr(services, "new_reference", lambda year: next(drawn))
    assert _submit(app, person_id, draft_id) == "BP-2026-FRESH2"
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == "BP-2026-FRESH2"))
        assert filing.submit_token == str(draft_id)
        assert db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.filing_id == filing.id)) == 1
        assert [e.kind for e in db.session.scalars(select(FilingEvent).where(FilingEvent.filing_id == filing.id))] \
            == ["submitted"]


def test_references_that_keep_clashing_end_in_an_error_and_store_nothing(app, monkeypatch):
    person_id, draft_id = _person_and_draft(app)
    company_id = _take_reference(app, person_id, "BP-2026-TAKEN1")
    monkeypatch.setattr(services, "new_reference", lambda year: "BP-2026-TAKEN1")
    with pytest.raises(RuntimeError):
        _submit(app, person_id, draft_id)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 1
        assert services.company_draft(company_id, str(draft_id)) is not None  # the draft is kept


def test_two_submits_of_one_draft_at_once_file_it_once(app):
    person_id, draft_id = _person_and_draft(app)
    results, errors = run_at_once(lambda: _submit(app, person_id, draft_id), 2)
    assert errors == [] and len(results) == 2 and results[0] == results[1]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 1
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1


@contextmanager
def slow_database(engine, most: float = 0.03):
    """Every statement answers up to ``most`` seconds later (a database under load): the requests
    interleave at many more points than on an idle machine."""
    def lag(*_args):
        time.sleep(random.uniform(0, most))

    event.listen(engine, "after_cursor_execute", lag)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", lag)


def test_parallel_submits_over_http_all_land_on_the_one_filing(app, live_server):
    """Sixteen presses of "Einreichen" at once (a browser retrying, several tabs): every one is sent to
    the filing's page, none gets an error page, and the filing exists once."""
    client = http_login(live_server, "lea.hansen")
    _person_id, draft_id = _person_and_draft(app)
    review = f"/antraege/entwurf/{draft_id}/pruefen"
    page = client.get(review)
    assert page.status_code == 200
    form = submit_form(page.get_data())

    def press():
        time.sleep(random.uniform(0, 2.0))  # the presses arrive spread over the time one submit takes
        resp = client.session.post(live_server + review, data=form,
                                   allow_redirects=False, timeout=30)
        return resp.status_code, resp.headers.get("Location", "")

    with app.app_context(), slow_database(db.engine):
        answers, errors = run_at_once(press, 16)
    assert errors == [] and len(answers) == 16
    assert {status for status, _ in answers} == {302}, answers
    with app.app_context():
        filing = db.session.scalar(select(Filing))
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 1
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 1
    assert {location.rsplit("/", 1)[-1] for _, location in answers} == {filing.reference}


def test_a_draft_deleted_in_another_tab_is_not_filed(app):
    person_id, draft_id = _person_and_draft(app)
    with app.app_context():
        person = db.session.get(Person, person_id)
        draft = services.company_draft(person.company_id, str(draft_id))
        service = app.extensions["bizportal"].catalog[draft.service_key]
        with db.engine.begin() as other_tab:  # the draft is deleted with its files
            other_tab.execute(Attachment.__table__.delete().where(Attachment.draft_id == draft_id))
            other_tab.execute(Draft.__table__.delete().where(Draft.id == draft_id))
        with pytest.raises(services.DraftGone):
            services.submit_draft(draft, person, service)
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 0
