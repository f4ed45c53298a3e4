"""Test data through the real use cases or in bulk, and small waits and reads around it."""

from __future__ import annotations

import io
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from flask_babel import force_locale
from sqlalchemy import func, insert, select, update
from werkzeug.datastructures import MultiDict

from bizportal.auth.models import Company, Person
from bizportal.bodies.models import Chamber
from bizportal.common.time import utcnow
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.extensions import db
from bizportal.filings.forms import answers_from_form, build_step_form, visible_step_fields
from bizportal.filings.models import Filing, FilingEvent
from bizportal.filings.services import first_open_step, save_step, start_draft, store_attachment, submit_draft
from tests.support.filing import (
    MAX_STEPS,
    VERSICHERUNGSVERMITTLER_FILES,
    gewerbe_answers,
    versicherungsvermittler_answers,
)
from tests.support.permits import FILES as PERMIT_FILES
from tests.support.permits import PERMITS
from tests.support.permits import answers as permit_answers


def ensure_company(app) -> tuple[int, int]:
    with app.app_context():
        company = db.session.scalar(select(Company).where(Company.org_id == "org-test"))
        if company is None:
            company = Company(issuer="http://issuer", org_id="org-test", name="Test GmbH", postcode="28195")
            db.session.add(company)
            db.session.flush()
            db.session.add(Person(issuer="http://issuer", sub="p1", company_id=company.id, name="P",
                                  email="p1@test.example"))
            db.session.commit()
        person_id = db.session.scalar(select(Person.id).where(Person.sub == "p1"))
        return company.id, person_id


def make_filing(app, service_key="versicherungsvermittler-34d", postcode="28195", handwerk=True,
                files: Mapping[str, tuple[str, bytes]] | None = None) -> int:
    """A submitted filing by a test company, through the real draft, step and submit use cases: every
    step answered as its page would take it (``FILING_ANSWERS``: the business at ``postcode``; for
    the Gewerbeanmeldung a crafts business or not, ``handwerk``), with the uploads it requires.

    ``files``: file field name → (file name, content), uploaded through the real upload use case (also
    to a field the answers do not show: the file goes with the filing).
    """
    ensure_company(app)
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == "p1"))
        service = app.extensions["bizportal"].catalog[service_key]
        draft = start_draft(person, service, {})
        complete_draft(person, service, draft, postcode, handwerk, files)
        return submit_draft(draft, person, service).filing.id


def complete_draft(person, service, draft, postcode="28195", handwerk=True,
                   files: Mapping[str, tuple[str, bytes]] | None = None) -> None:
    """Upload what ``draft`` needs (and ``files``) and answer all its steps with ``FILING_ANSWERS``
    (in an app context)."""
    from flask import current_app

    answers, required_files = FILING_ANSWERS[service.key](postcode, handwerk)
    uploads = {**{k: v for k, v in required_files.items() if service.field(k) is not None}, **(files or {})}
    for field_name, (filename, content) in uploads.items():
        store_attachment(draft, person, service, service.field(field_name), filename, io.BytesIO(content),
                         current_app.extensions["bizportal"].storage)
    answer_steps(person, service, draft, answers)


def answer_steps(person, service, draft, answers: Mapping[str, Any], locale: str = "de") -> None:
    """Complete every step of ``draft`` that ``answers`` (form field names, as ``EveryStep``) show, as
    the step pages do: each step's form validated with its checks, then saved. Fails naming the
    step and its errors when a step refuses the answers or lacks a required upload."""
    formdata = MultiDict([(k, v) for k, values in answers.items()
                          for v in (values if isinstance(values, list) else [values])])
    with force_locale(locale):
        for _ in range(MAX_STEPS):
            step_key = first_open_step(service, draft)
            if step_key is None:
                return
            fields = visible_step_fields(service, step_key, draft.data)
            form = build_step_form(service, step_key, draft.data, locale)(
                formdata=formdata, earlier_answers=draft.data, meta={"csrf": False})
            assert form.validate(), (service.key, step_key, form.errors)
            stored = {a.field_name for a in draft.attachments}
            missing = [fd.name for fd in fields if fd.type == "file" and fd.required and fd.name not in stored]
            assert not missing, (service.key, step_key, f"no upload for {missing}")
            save_step(draft, person, service, step_key, answers_from_form(fields, form))
    raise AssertionError(f"{service.key}: more than {MAX_STEPS} steps")


def _pdfs(files: Mapping[str, tuple[bytes, str]]) -> dict[str, tuple[str, bytes]]:
    return {name: (filename, content) for name, (content, filename) in files.items()}


#: service key → (postcode, handwerk) → the answers of every step and the uploads they require
#: (field → (file name, content); those of fields the service lacks are left out): the § 34d
#: licence, the Gewerbeanmeldung, and the three permits of part 1 "Angaben zur Person" (a sole
#: trader); the business at ``postcode``
FILING_ANSWERS: dict[str, Callable[[str, bool], tuple[dict[str, Any], dict[str, tuple[str, bytes]]]]] = {
    "versicherungsvermittler-34d": lambda postcode, _handwerk: (
        versicherungsvermittler_answers(postcode=postcode), _pdfs(VERSICHERUNGSVERMITTLER_FILES)),
    "gewerbeanmeldung": lambda postcode, handwerk: (
        gewerbe_answers(postcode=postcode, handwerk="yes" if handwerk else "no"), {}),
    **{key: (lambda postcode, _handwerk: (permit_answers(**{"betriebsanschrift-postcode": postcode}),
                                          _pdfs(PERMIT_FILES)))
       for key in PERMITS},
}


def bulk_filings(app, n: int, chamber_slugs: list[str], service_key="versicherungsvermittler-34d",
                 spread: timedelta | None = None) -> list[int]:
    """``n`` filings inserted directly (no HTTP, no draft), each with one delivery, round-robin over chambers.

    With ``spread`` the filings were submitted one after the other over that time, up to now (the
    deliveries due in that order); else all at the same moment.
    """
    company_id, person_id = ensure_company(app)
    end = utcnow()
    step = (spread or timedelta(0)) / max(n, 1)
    with app.app_context():
        chamber_ids = [db.session.scalar(select(Chamber.id).where(Chamber.slug == s)) for s in chamber_slugs]
        tag = secrets.token_hex(3).upper()
        rows = [{"reference": f"BP-T{tag}-{i:06d}", "submit_token": f"bulk-{tag}-{i}", "company_id": company_id,
                 "person_id": person_id, "service_key": service_key, "data": {"postcode": "28195", "n": i},
                 "company_snapshot": {"name": "Test GmbH", "postcode": "28195"}, "status": "submitted",
                 "submitted_at": end - (n - i) * step} for i in range(n)]
        ids = list(db.session.scalars(insert(Filing).returning(Filing.id, sort_by_parameter_order=True), rows))
        db.session.execute(insert(Delivery), [
            {"filing_id": fid, "chamber_id": chamber_ids[i % len(chamber_ids)], "role": "primary",
             "state": DeliveryState.PENDING, "attempts": 0, "next_attempt_at": end - (n - i) * step,
             "created_at": end - (n - i) * step}
            for i, fid in enumerate(ids)
        ])
        db.session.commit()
        return ids


def set_adapter(app, slug, key, options, enabled=True):
    with app.app_context():
        db.session.execute(update(Chamber).where(Chamber.slug == slug)
                           .values(adapter_key=key, options=options, enabled=enabled))
        db.session.commit()


def delivery_of(app, filing_id) -> Delivery:
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.filing_id == filing_id, Delivery.message_id.is_(None)))
        db.session.expunge(d)
        return d


def deliveries(app, **where) -> list[Delivery]:
    with app.app_context():
        query = select(Delivery)
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        rows = list(db.session.scalars(query))
        for d in rows:
            db.session.expunge(d)
        return rows


def state_counts(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())


def make_due(app) -> None:
    """Skip the backoff: every pending delivery is due now."""
    with app.app_context():
        db.session.execute(update(Delivery).where(Delivery.state == DeliveryState.PENDING)
                           .values(next_attempt_at=utcnow()))
        db.session.commit()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


LISTED_SERVICES = ["gewerbeanmeldung", "gewerbeummeldung", "gewerbeabmeldung", "gaststaettenerlaubnis",
                   "reisegewerbekarte", "versicherungsvermittler-34d"]


def add_filings(app, company_id: int, person_id: int, n: int, tag: str) -> list[str]:
    """``n`` delivered filings of the company, each to another body, with a timeline; references."""
    now = utcnow()
    with app.app_context():
        chambers = list(db.session.scalars(select(Chamber.id).order_by(Chamber.id)))
        refs = [f"BP-Q{tag}-{i:04d}" for i in range(n)]
        ids = list(db.session.scalars(insert(Filing).returning(Filing.id, sort_by_parameter_order=True), [
            {"reference": ref, "submit_token": f"q-{tag}-{i}", "company_id": company_id, "person_id": person_id,
             "service_key": LISTED_SERVICES[i % len(LISTED_SERVICES)],
             "data": {"postcode": "28195", "street": f"Weg {i}"},
             "company_snapshot": {"name": "Becker"}, "status": "forwarded",
             "submitted_at": now - timedelta(minutes=i)} for i, ref in enumerate(refs)]))
        db.session.execute(insert(Delivery), [
            {"id": uuid.uuid4(), "filing_id": fid, "chamber_id": chambers[i % len(chambers)], "role": "primary",
             "state": "delivered", "attempts": 1, "next_attempt_at": now, "created_at": now, "delivered_at": now}
            for i, fid in enumerate(ids)])
        db.session.execute(insert(FilingEvent), [
            {"filing_id": fid, "kind": kind, "occurred_at": now, "chamber_id": chambers[i % len(chambers)]}
            for i, fid in enumerate(ids) for kind in ("submitted", "forwarded")])
        db.session.commit()
    return refs
