"""The webhook adapter against a reference receiver on loopback HTTP."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest

from chambers.base import InvalidConfig, NoAnswer, PermanentFailure, TemporaryFailure
from chambers.webhook import WebhookAdapter
from tests.support.receivers.loopback import QuietHandler, base_url, closed_port, serve, unanswered_port
from tests.support.receivers.webhook_receiver import webhook_receiver

SECRET = "s3cr3t-shared-with-the-chamber"


def opts(url: str, **extra):
    return {"url": url, "secret": SECRET, "allow_insecure_http": True, **extra}


@pytest.fixture
def receiver():
    with webhook_receiver(SECRET) as pair:
        yield pair


def test_receiver_gets_the_whole_filing_signed_and_keyed(receiver, make_payload):
    url, state = receiver
    payload = make_payload()
    result = WebhookAdapter().deliver(payload, opts(url))

    assert result.receiver_ref == "rcv-1"
    assert state.refused_signatures == 0
    (record,) = state.stored.values()
    assert record["headers"]["Idempotency-Key"] == str(payload.delivery_id)
    body = record["body"]
    assert body["delivery_id"] == str(payload.delivery_id)
    assert body["reference"] == "BP-2025-000123"
    assert body["service_key"] == "gewerbe_anmelden"
    assert body["service_title"] == "Gewerbe anmelden"
    assert body["leika"] == "99050012104000"
    assert body["company"]["name"] == "Bäckerei Müller & Söhne GmbH"
    assert body["submitted_at"] == "2025-11-28T11:30:00Z"
    assert body["data"]["inhaber"] == "Şahin Yılmaz"
    assert body["destination_role"] == "primary"
    sent = {a["filename"]: a for a in body["attachments"]}
    for att in payload.attachments:
        item = sent[att.filename]
        content = base64.b64decode(item["content_base64"])
        assert content == att.content
        assert item["sha256"] == hashlib.sha256(content).hexdigest()
        assert (item["media_type"], item["size"]) == (att.media_type, att.size)
    assert sent["Handwerkskarte.pdf"]["field"] == "handwerkskarte"  # which upload is which


def test_409_counts_as_delivered_and_receiver_keeps_one_copy(receiver, make_payload):
    url, state = receiver
    adapter = WebhookAdapter()
    first = adapter.deliver(make_payload(), opts(url))
    again = adapter.deliver(make_payload(), opts(url))
    assert again.receiver_ref == first.receiver_ref
    assert "409" in again.detail
    assert len(state.stored) == 1


@pytest.mark.parametrize("status", ["400", "422"])
def test_client_error_is_permanent_with_the_receivers_reason(receiver, make_payload, status):
    url, state = receiver
    state.fault = status
    with pytest.raises(PermanentFailure) as err:
        WebhookAdapter().deliver(make_payload(), opts(url))
    assert f"HTTP {status}" in str(err.value)
    assert "data.gewerbe" in str(err.value)


def test_server_error_is_temporary_and_the_retry_lands(receiver, make_payload):
    url, state = receiver
    state.fault = "500-once"
    adapter = WebhookAdapter()
    with pytest.raises(TemporaryFailure, match="HTTP 500"):
        adapter.deliver(make_payload(), opts(url))
    assert adapter.deliver(make_payload(), opts(url)).receiver_ref == "rcv-1"
    assert len(state.stored) == 1


def test_timeout_is_temporary(receiver, make_payload):
    url, state = receiver
    state.fault = "slow"
    with pytest.raises(TemporaryFailure, match="no answer within 1 s"):
        WebhookAdapter().deliver(make_payload(), opts(url, timeout_seconds=1))


def test_no_answer_after_sending_is_told_apart_with_the_timeout_used(receiver, make_payload):
    url, state = receiver
    state.fault, state.slow_seconds = "store-then-slow", 1.5
    with pytest.raises(NoAnswer, match="no answer within 1 s") as caught:
        WebhookAdapter().deliver(make_payload(), opts(url, timeout_seconds=1))
    assert caught.value.timeout == 1
    assert len(state.stored) == 1  # it went out and was stored: not a refusal
    # the longer timeout the portal passes for the next attempt gets the (409) answer
    longer = WebhookAdapter().with_answer_timeout(opts(url, timeout_seconds=1), 2)
    assert longer["timeout_seconds"] == 2
    assert WebhookAdapter().deliver(make_payload(), longer).receiver_ref == "rcv-1"
    assert len(state.stored) == 1


class _StallingBody(QuietHandler):
    """Answers 201 with its headers at once, then stalls in the middle of the body."""

    def do_POST(self) -> None:  # noqa: N802
        self.read_body()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "20")
        self.end_headers()
        self.wfile.write(b'{"id": ')
        self.wfile.flush()
        time.sleep(2)


def test_answer_that_stalls_in_its_body_is_no_answer(make_payload):
    with serve(_StallingBody) as server, pytest.raises(NoAnswer, match="no answer within 1 s"):
        WebhookAdapter().deliver(make_payload(), opts(base_url(server) + "/filings", timeout_seconds=1))


def test_connect_timeout_is_an_ordinary_temporary_failure(make_payload):
    with unanswered_port() as port, pytest.raises(TemporaryFailure, match="could not connect within 1 s") as caught:
        WebhookAdapter().deliver(make_payload(), opts(f"http://127.0.0.1:{port}/filings", timeout_seconds=1))
    assert not isinstance(caught.value, NoAnswer)  # nothing was sent


def test_answer_timeout_override_stays_within_the_declared_range():
    adapter = WebhookAdapter()
    base = opts("https://hk.example/hook", timeout_seconds=10)
    assert adapter.answer_timeout(base) == 10
    assert adapter.answer_timeout(opts("https://hk.example/hook")) == 10  # the default
    assert adapter.with_answer_timeout(base, 2.5)["timeout_seconds"] == 3  # an int option: rounded up
    assert adapter.with_answer_timeout(base, 500)["timeout_seconds"] == 120  # the option's max
    assert adapter.parse_options(adapter.with_answer_timeout(base, 500))["timeout_seconds"] == 120


def test_connection_refused_is_temporary(make_payload):
    url = f"http://127.0.0.1:{closed_port()}/filings"
    with pytest.raises(TemporaryFailure, match="connection failed"):
        WebhookAdapter().deliver(make_payload(), opts(url))


def test_lost_response_then_retry_leaves_one_copy(receiver, make_payload):
    url, state = receiver
    state.fault = "drop-after-store"
    adapter = WebhookAdapter()
    with pytest.raises(TemporaryFailure):
        adapter.deliver(make_payload(), opts(url))
    assert len(state.stored) == 1  # it did arrive
    result = adapter.deliver(make_payload(), opts(url))
    assert result.receiver_ref == "rcv-1"
    assert len(state.stored) == 1
    assert state.requests == 2


def test_wrong_secret_is_refused_by_the_receiver(receiver, make_payload):
    url, state = receiver
    with pytest.raises(PermanentFailure, match="HTTP 401"):
        WebhookAdapter().deliver(make_payload(), {**opts(url), "secret": "not-the-shared-secret"})
    assert state.refused_signatures == 1 and not state.stored


def test_attachment_that_does_not_match_its_checksum_is_not_sent(receiver, make_payload):
    url, state = receiver
    good = make_payload()
    bad_att = good.attachments[0].__class__(**{**good.attachments[0].__dict__, "content": b"other"})
    with pytest.raises(PermanentFailure, match="Handwerkskarte.pdf"):
        WebhookAdapter().deliver(make_payload(attachments=(bad_att,)), opts(url))
    assert state.requests == 0


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"url": "http://chamber.example/hook", "allow_insecure_http": False}, "https"),
        ({"url": "ftp://chamber.example/hook"}, "https"),
        ({"url": "https://user:pw@chamber.example/hook"}, "credentials"),
        ({"secret": "short"}, "at least 16"),
        ({"timeout_seconds": 0}, "between 1 and"),
        ({"colour": "blue"}, "unknown option"),
    ],
)
def test_unusable_options_are_named_to_the_admin(bad, message):
    options = {"url": "https://chamber.example/hook", "secret": SECRET, **bad}
    with pytest.raises(InvalidConfig, match=message):
        WebhookAdapter().check_config(options)


def test_https_url_with_defaults_is_accepted():
    WebhookAdapter().check_config({"url": "https://chamber.example/hook", "secret": SECRET})
