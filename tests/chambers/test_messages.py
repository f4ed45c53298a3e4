"""The adapters carry a company's answer about a filing (``Adapter.deliver_message``)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from chambers.base import Adapter, DeliveryResult, InvalidConfig, PermanentFailure, Progress, TemporaryFailure
from chambers.fitconnect import FitConnectAdapter
from chambers.inbox import InboxAdapter
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


class _Store:
    """An inbox store as the portal's: one item per delivery id."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def put(self, chamber_slug, payload):
        return self.items.setdefault(str(payload.delivery_id), f"item-{len(self.items) + 1}")


def _inbox(url: str) -> dict:
    return {"chamber_slug": "hk-bremen", "notify_url": url, "notify_secret": SECRET, "allow_insecure_http": True}


def test_the_inbox_tells_the_chambers_system_of_a_filing_once_and_never_sends_its_content(make_payload):
    store = _Store()
    adapter = InboxAdapter(services={"inbox_store": store})
    with webhook_receiver(SECRET) as (url, state):
        state.fault = "drop-after-store"  # the first notification's answer is lost: the retry is a repeat
        payload = make_payload(destination="hk-bremen")
        with pytest.raises(TemporaryFailure):
            adapter.deliver(payload, _inbox(url))
        result = adapter.deliver(payload, _inbox(url))
        (record,) = state.stored.values()
    assert result.receiver_ref == "item-1" and list(store.items) == [str(payload.delivery_id)]
    assert state.seen[str(payload.delivery_id)] == 2  # the same key both times: the receiver kept one
    assert record["headers"]["X-Bizportal-Event"] == "filing"
    assert record["body"] == {"type": "filing", "reference": payload.reference, "service_key": payload.service_key,
                              "destination_role": "primary", "submitted_at": "2025-11-28T11:30:00Z"}


def test_the_inbox_announces_a_company_message_only_with_a_push_configured():
    adapter = InboxAdapter(services={"inbox_store": _Store()})
    assert not adapter.sends_messages({"chamber_slug": "hk-bremen"})
    with webhook_receiver(SECRET) as (url, state):
        assert adapter.sends_messages(_inbox(url))
        adapter.deliver_message(build_message_payload(), _inbox(url))
        (record,) = state.stored.values()
    assert record["headers"]["X-Bizportal-Event"] == "message"
    assert record["body"]["reference"] == "BP-2025-000123" and "body" not in record["body"]


def test_a_push_needs_url_and_secret_together():
    adapter = InboxAdapter(services={"inbox_store": _Store()})
    with pytest.raises(InvalidConfig, match="go together"):
        adapter.check_config({"chamber_slug": "hk-bremen", "notify_url": "https://hk.example/push"})
    with pytest.raises(InvalidConfig, match="https"):
        adapter.check_config({"chamber_slug": "hk-bremen", "notify_url": "http://hk.example/push",
                              "notify_secret": SECRET})
