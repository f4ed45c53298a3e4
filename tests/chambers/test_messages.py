"""The adapters carry a company's answer about a filing (``Adapter.deliver_message``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from chambers.base import Adapter, DeliveryResult, PermanentFailure, Progress, TemporaryFailure
from chambers.fitconnect import FitConnectAdapter
from chambers.webhook import WebhookAdapter
from tests.support.adapters import SECRET, webhook_options
from tests.support.payloads import build_message_payload
from tests.support.receivers.fitconnect_receiver import fit_options, fitconnect_receiver
from tests.support.receivers.webhook_receiver import webhook_receiver


@pytest.fixture
def fit(keys):
    """A delivery service that, like the public Submission API, knows no idempotency key."""
    with fitconnect_receiver(keys) as (url, state):
        state.honour_idempotency_key = False
        yield url, state


def _filed_case(url, state, make_payload) -> str:
    return FitConnectAdapter().deliver(make_payload(), fit_options(url, state)).receiver_ref


def test_a_fitconnect_answer_whose_upload_failed_continues_its_submission(fit, make_payload):
    """A retry (or a worker taking over) continues the recorded follow-up submission: the service
    ignores Idempotency-Key, and still only one answer is created and submitted."""
    url, state = fit
    ref = _filed_case(url, state, make_payload)
    progress = Progress()
    message = build_message_payload(filing_receiver_ref=ref, progress=progress)
    state.faults["upload"] = 503
    with pytest.raises(TemporaryFailure):
        FitConnectAdapter().deliver_message(message, fit_options(url, state))
    assert progress.recorded["submission_id"]
    FitConnectAdapter().deliver_message(message, fit_options(url, state))
    answers = [s for s in state.submissions.values() if s.get("data", {}).get("type") == "message"]
    assert len(state.submissions) == 2 and len(answers) == 1 and state.submits == 2
    (filing,) = [s for s in state.submissions.values() if s is not answers[0]]
    assert answers[0]["caseId"] == filing["caseId"]
    assert answers[0]["data"]["in_reply_to"]["body"] == "Bitte Handwerkskarte nachreichen."


def test_a_fitconnect_answer_without_the_filings_case_is_refused_before_sending(fit):
    url, state = fit
    with pytest.raises(PermanentFailure, match="no FIT-Connect case"):
        FitConnectAdapter().deliver_message(build_message_payload(filing_receiver_ref=None), fit_options(url, state))
    assert state.creates == 0


def test_webhook_answers_go_to_messages_url_when_set(make_payload):
    with webhook_receiver(SECRET) as (url, state):
        opts = webhook_options(url, messages_url=url + "/answers")
        WebhookAdapter().deliver_message(build_message_payload(), opts)
        (record,) = state.stored.values()
    assert record["path"] == urlsplit(url).path + "/answers"
    assert record["headers"]["X-Bizportal-Event"] == "message"
    assert record["body"]["type"] == "message" and record["body"]["kind"] == "answer"


def test_an_adapter_that_does_not_forward_answers_says_so():
    class Plain(Adapter):
        key = "plain"
        label = "Plain"

        def deliver(self, payload, options):
            return DeliveryResult()

    assert Plain.forwards_messages is False
    with pytest.raises(PermanentFailure, match="does not forward"):
        Plain().deliver_message(build_message_payload(), {})
