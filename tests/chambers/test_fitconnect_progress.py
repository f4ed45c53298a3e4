"""FIT-Connect at a delivery service that ignores Idempotency-Key: the recorded progress keeps one submission."""

from __future__ import annotations

import pytest

from chambers.base import Progress, Superseded, TemporaryFailure
from chambers.fitconnect import FitConnectAdapter
from tests.support.payloads import make_attachment
from tests.support.receivers.fitconnect_receiver import fit_options, fitconnect_receiver


@pytest.fixture
def receiver(keys):
    """A delivery service that, like the public Submission API, knows no idempotency key."""
    with fitconnect_receiver(keys) as (url, state):
        state.honour_idempotency_key = False
        yield url, state


def test_submission_id_is_recorded_right_after_creating_it(receiver, make_payload):
    url, state = receiver
    state.faults["upload"] = 503
    progress = Progress()
    with pytest.raises(TemporaryFailure):
        FitConnectAdapter().deliver(make_payload(progress=progress), fit_options(url, state))
    (sid,) = state.submissions
    assert progress.recorded == {
        "submission_id": sid,
        "case_id": state.submissions[sid]["caseId"],
        "uploaded": {},
    }


def test_retry_continues_the_recorded_submission(receiver, make_payload):
    url, state = receiver
    state.faults["upload"] = 503
    progress = Progress()
    adapter = FitConnectAdapter()
    with pytest.raises(TemporaryFailure):
        adapter.deliver(make_payload(progress=progress), fit_options(url, state))
    result = adapter.deliver(make_payload(progress=progress), fit_options(url, state))
    assert state.creates == 1
    assert len(state.submissions) == 1 and state.submits == 1
    (sub,) = state.submitted()
    assert sub["submissionId"] in result.receiver_ref


def test_without_progress_a_retry_creates_a_second_submission(receiver, make_payload):
    """What the recorded progress prevents (the service ignores Idempotency-Key)."""
    url, state = receiver
    state.faults["upload"] = 503
    adapter = FitConnectAdapter()
    with pytest.raises(TemporaryFailure):
        adapter.deliver(make_payload(), fit_options(url, state))
    adapter.deliver(make_payload(), fit_options(url, state))
    assert len(state.submissions) == 2


def test_uploaded_attachments_are_not_sent_again_and_the_tags_still_verify(receiver, make_payload):
    url, state = receiver
    big = make_attachment("Grundriss.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 400, "application/pdf")
    progress = Progress()
    payload = make_payload(attachments=(*make_payload().attachments, big), progress=progress)
    state.faults["submit"] = 503
    adapter = FitConnectAdapter()
    with pytest.raises(TemporaryFailure):
        adapter.deliver(payload, fit_options(url, state))
    assert state.uploads == 3 and len(progress.recorded["uploaded"]) == 3
    result = adapter.deliver(payload, fit_options(url, state))
    assert state.uploads == 3  # nothing uploaded twice
    (sub,) = state.submitted()
    assert {a.filename: a.content for a in payload.attachments} == {
        a["filename"]: sub["attachments"][a["attachmentId"]]
        for a in sub["metadata"]["contentStructure"]["attachments"]
    }
    # the receipt names the tags of uploads from both attempts: the submit event verifies
    assert [e.kind for e in adapter.poll(result.receiver_ref, fit_options(url, state))] == ["received"]


def test_recorded_submission_already_submitted_is_delivered_without_sending_again(receiver, make_payload):
    url, state = receiver
    state.faults["submit"] = "drop-after-store"
    progress = Progress()
    adapter = FitConnectAdapter()
    with pytest.raises(TemporaryFailure):
        adapter.deliver(make_payload(progress=progress), fit_options(url, state))
    result = adapter.deliver(make_payload(progress=progress), fit_options(url, state))
    assert result.detail == "already submitted (earlier attempt)"
    assert state.creates == 1 and state.uploads == 2 and state.submits == 1
    (sub,) = state.submitted()
    assert result.receiver_ref == f"case:{sub['caseId']}/submission:{sub['submissionId']}"


@pytest.mark.parametrize("log_event", [True, False], ids=["deleted-event", "case-404"])
def test_expired_recorded_submission_is_replaced_and_the_new_one_recorded(receiver, make_payload, log_event):
    url, state = receiver
    state.faults["submit"] = 503
    progress = Progress()
    adapter = FitConnectAdapter()
    with pytest.raises(TemporaryFailure):
        adapter.deliver(make_payload(progress=progress), fit_options(url, state))
    expired = progress.recorded["submission_id"]
    state.expire(expired, log_event=log_event)
    result = adapter.deliver(make_payload(progress=progress), fit_options(url, state))
    (sub,) = state.submitted()
    assert sub["submissionId"] != expired and sub["submissionId"] in result.receiver_ref
    assert progress.recorded["submission_id"] == sub["submissionId"]
    assert state.submits == 1


def test_attempt_whose_progress_is_refused_stops_before_uploading(receiver, make_payload):
    url, state = receiver
    refused = Progress(store=lambda values: False)  # another worker holds the delivery now
    with pytest.raises(Superseded):
        FitConnectAdapter().deliver(make_payload(progress=refused), fit_options(url, state))
    assert state.uploads == 0 and state.submits == 0
    assert refused.recorded == {}


def test_progress_that_cannot_be_stored_is_a_temporary_failure(receiver, make_payload):
    url, state = receiver

    def broken(values):
        raise OSError("database unavailable")

    with pytest.raises(TemporaryFailure, match="could not be recorded"):
        FitConnectAdapter().deliver(make_payload(progress=Progress(store=broken)), fit_options(url, state))
    assert state.uploads == 0 and state.submits == 0
