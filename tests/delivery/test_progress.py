"""An adapter's recorded progress survives a takeover: one FIT-Connect submission, submitted once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from bizportal.common.time import utcnow
from bizportal.config import DeliverySettings
from bizportal.delivery import claims, recording, sending
from bizportal.delivery.models import Delivery, DeliveryState
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from chambers.base import Progress, Superseded
from tests.support.factories import delivery_of, make_filing, set_adapter, wait_for
from tests.support.fitconnect import PDF, PNG, fit_delivery, fit_filing, forwarded_entries
from tests.support.receivers.fitconnect_receiver import fitconnect_receiver


def expire_leases(app) -> None:
    """The stalled worker's lease runs out (its process stopped renewing it)."""
    with app.app_context():
        db.session.execute(update(Delivery).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def test_takeover_of_a_fitconnect_delivery_continues_the_same_submission(app, fit_keys):
    settings = DeliverySettings(lease_seconds=60)
    ext = app.extensions["bizportal"]
    with fitconnect_receiver(fit_keys) as (url, state):
        state.honour_idempotency_key = False  # as the public Submission API: every POST is a new submission
        filing_id = fit_filing(app, url, state)
        state.faults["upload"] = "hang"  # the first worker stalls in its first upload
        with app.app_context():
            (claim,) = claims.claim("stalled-worker", 10, settings)
        stalled: list[sending.SendResult] = []

        def first_worker() -> None:
            with app.app_context():
                stalled.append(sending.send(claim.job, ext.registry, ext.adapter_services, ext.catalog, settings))

        thread = threading.Thread(target=first_worker)
        thread.start()
        try:
            wait_for(lambda: fit_delivery(app, filing_id).progress is not None or stalled,
                     what="the submission id recorded")
            assert not stalled, stalled
            expire_leases(app)
            assert Worker(app, worker_id="second-worker").run_once() == 1
        finally:
            state.release.set()
            thread.join(30)
        with app.app_context():  # the stalled worker finds the submission submitted; its outcome is dropped
            assert recording.record("stalled-worker", stalled, settings) == []

    assert state.creates == 1 and len(state.submissions) == 1
    assert state.submits == 1
    (sub,) = state.submitted()
    assert sorted(sub["attachments"].values()) == sorted([PDF, PNG])
    d = fit_delivery(app, filing_id)
    assert d.state == DeliveryState.DELIVERED and d.attempts == 2
    assert f"submission:{sub['submissionId']}" in d.receiver_ref
    assert d.progress["submission_id"] == sub["submissionId"]
    assert forwarded_entries(app, filing_id) == 1


def test_worker_that_lost_its_lease_cannot_overwrite_progress(app):
    set_adapter(app, "hk-bremen", "flaky", {"mode": "ok"})
    filing_id = make_filing(app)
    settings = DeliverySettings(lease_seconds=60)
    with app.app_context():
        (first,) = claims.claim("stalled-worker", 10, settings)
        assert claims.save_progress(first.id, "stalled-worker", {"submission_id": "first"})
    expire_leases(app)
    with app.app_context():
        (second,) = claims.claim("second-worker", 10, settings)
    assert second.job.progress == {"submission_id": "first"}  # the takeover gets what was recorded
    with app.app_context():
        assert claims.save_progress(second.id, "second-worker", {"submission_id": "second"})
        assert not claims.save_progress(first.id, "stalled-worker", {"submission_id": "stale"})
    assert delivery_of(app, filing_id).progress == {"submission_id": "second"}

    # through the adapter contract: the stale attempt's record raises Superseded and writes nothing
    progress = Progress(first.job.progress, store=lambda values: claims.save_progress(
        first.id, "stalled-worker", values))
    with app.app_context(), pytest.raises(Superseded):
        progress.record({"submission_id": "stale"})
    assert delivery_of(app, filing_id).progress == {"submission_id": "second"}


def test_progress_is_kept_for_the_retry_after_a_failed_attempt(app, fit_keys):
    with fitconnect_receiver(fit_keys) as (url, state):
        state.honour_idempotency_key = False
        filing_id = fit_filing(app, url, state)
        state.faults["submit"] = 503
        Worker(app).run_once()
        d = fit_delivery(app, filing_id)
        assert d.state == DeliveryState.PENDING and set(d.progress["uploaded"]) and d.progress["submission_id"]
        with app.app_context():
            db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))
            db.session.commit()
        Worker(app).run_once()
    assert fit_delivery(app, filing_id).state == DeliveryState.DELIVERED
    assert state.creates == 1 and state.uploads == 2 and state.submits == 1
