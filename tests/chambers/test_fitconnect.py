"""The FIT-Connect adapter against a reference delivery service on loopback HTTP."""

from __future__ import annotations

import logging
import re
import time

import pytest

from chambers.base import InvalidConfig, NoAnswer, PermanentFailure, TemporaryFailure
from chambers.fitconnect import FitConnectAdapter
from chambers.fitconnect.events import tags_digest
from tests.support.payloads import make_attachment
from tests.support.receivers.fitconnect_receiver import Keys, fit_options, fitconnect_receiver

REF_RE = re.compile(r"case:[0-9a-f-]{36}/submission:([0-9a-f-]{36})(?:/tags:[\w-]{43})?")


@pytest.fixture
def receiver(keys):
    with fitconnect_receiver(keys) as pair:
        yield pair


def opts(url: str, state, **extra):
    return fit_options(url, state, **extra)


def test_submission_lands_decrypted_and_complete(receiver, make_payload):
    url, state = receiver
    big = make_attachment(
        "Grundriss.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 800, "application/pdf"
    )
    payload = make_payload(attachments=(*make_payload().attachments, big))
    result = FitConnectAdapter().deliver(payload, opts(url, state))

    (sub,) = state.submitted()
    assert result.receiver_ref == (
        f"case:{sub['caseId']}/submission:{sub['submissionId']}"
        f"/tags:{tags_digest(sub['tags'])}"
    )
    data = sub["data"]
    assert data["delivery_id"] == str(payload.delivery_id)
    assert data["reference"] == "BP-2025-000123"
    assert data["company"]["name"] == "Bäckerei Müller & Söhne GmbH"
    assert data["data"]["inhaber"] == "Şahin Yılmaz"
    meta = sub["metadata"]
    assert meta["publicServiceType"]["identifier"] == "urn:de:fim:leika:leistung:99050012104000"
    assert sub["serviceType"]["identifier"] == "urn:de:fim:leika:leistung:99050012104000"
    assert meta["additionalReferenceInfo"]["senderReference"] == "BP-2025-000123"
    by_name = {
        a["filename"]: sub["attachments"][a["attachmentId"]]
        for a in meta["contentStructure"]["attachments"]
    }
    assert by_name == {a.filename: a.content for a in payload.attachments}
    described = {
        a["filename"]: a.get("description") for a in meta["contentStructure"]["attachments"]
    }
    assert described["Handwerkskarte.pdf"] == "Formularfeld: handwerkskarte"


def test_retry_after_lost_submit_answer_does_not_submit_twice(receiver, make_payload):
    url, state = receiver
    state.faults["submit"] = "drop-after-store"
    adapter = FitConnectAdapter()
    with pytest.raises(TemporaryFailure):
        adapter.deliver(make_payload(), opts(url, state))
    assert len(state.submitted()) == 1  # it did arrive
    result = adapter.deliver(make_payload(), opts(url, state))
    assert "already submitted" in result.detail
    assert len(state.submissions) == 1 and len(state.submitted()) == 1
    (sub,) = state.submitted()
    assert result.receiver_ref.endswith(sub["submissionId"])


def test_slow_submit_is_no_answer_and_a_longer_timeout_finishes_it_once(receiver, make_payload):
    url, state = receiver
    state.faults["submit"] = 1.5  # submits, then answers after 1.5 s
    adapter = FitConnectAdapter()
    with pytest.raises(NoAnswer, match="no answer within 1 s") as caught:
        adapter.deliver(make_payload(), opts(url, state, timeout_seconds=1))
    assert caught.value.timeout == 1
    assert len(state.submitted()) == 1  # it did arrive
    result = adapter.deliver(make_payload(), adapter.with_answer_timeout(opts(url, state, timeout_seconds=1), 2))
    assert "already submitted" in result.detail
    assert len(state.submissions) == 1 and len(state.submitted()) == 1


def test_retry_after_lost_create_answer_finishes_the_same_submission(receiver, make_payload):
    url, state = receiver
    state.faults["create"] = "drop-after-store"
    adapter = FitConnectAdapter()
    with pytest.raises(TemporaryFailure):
        adapter.deliver(make_payload(), opts(url, state))
    adapter.deliver(make_payload(), opts(url, state))
    assert state.creates == 2
    assert len(state.submissions) == 1 and len(state.submitted()) == 1


def test_server_error_is_temporary_and_retry_lands_once(receiver, make_payload):
    url, state = receiver
    state.faults["upload"] = 503
    adapter = FitConnectAdapter()
    with pytest.raises(TemporaryFailure, match="HTTP 503"):
        adapter.deliver(make_payload(), opts(url, state))
    adapter.deliver(make_payload(), opts(url, state))
    assert len(state.submissions) == 1 and len(state.submitted()) == 1


def test_client_error_is_permanent_with_the_problem_title(receiver, make_payload):
    url, state = receiver
    state.faults["create"] = 400
    with pytest.raises(PermanentFailure, match="injected fault on create"):
        FitConnectAdapter().deliver(make_payload(), opts(url, state))


def test_metadata_that_breaks_the_schema_is_never_sent(receiver, make_payload):
    url, state = receiver
    with pytest.raises(
        PermanentFailure, match="metadata violates schema 1.0.0 at publicServiceType"
    ):
        FitConnectAdapter().deliver(make_payload(leika="9905001210400X"), opts(url, state))
    with pytest.raises(PermanentFailure, match="no LeiKa key"):
        FitConnectAdapter().deliver(make_payload(leika=None), opts(url, state))
    assert state.creates == 0 and not state.tokens


def test_refused_client_credentials_are_a_config_error(receiver, make_payload):
    url, state = receiver
    with pytest.raises(InvalidConfig, match="refused the client credentials"):
        FitConnectAdapter().deliver(make_payload(), opts(url, state, client_secret="wrong"))


def test_poll_reports_verified_accept_and_ignores_a_forged_one(receiver, make_payload, caplog):
    url, state = receiver
    adapter = FitConnectAdapter()
    ref = adapter.deliver(make_payload(), opts(url, state)).receiver_ref
    sid = REF_RE.fullmatch(ref).group(1)
    state.issue(sid, "accept-submission", key=state.keys.forger)  # same kid, wrong key
    with caplog.at_level(logging.WARNING, logger="chambers.fitconnect.events"):
        assert [e.kind for e in adapter.poll(ref, opts(url, state))] == ["received"]
    assert "ignoring event" in caplog.text
    state.issue(sid, "forward-submission")
    state.issue(sid, "accept-submission")
    assert [e.kind for e in adapter.poll(ref, opts(url, state))] == [
        "received",
        "forwarded",
        "accepted",
    ]


def test_poll_reports_rejection_with_the_problems(receiver, make_payload):
    url, state = receiver
    adapter = FitConnectAdapter()
    ref = adapter.deliver(make_payload(), opts(url, state)).receiver_ref
    sid = REF_RE.fullmatch(ref).group(1)
    problem = {
        "type": "https://schema.fitko.de/fit-connect/events/problems/missing-attachment",
        "title": "Anlage fehlt",
        "detail": "Der Meisterbrief wurde nicht übermittelt.",
        "instance": "submission",
    }
    state.issue(sid, "reject-submission", {"problems": [problem]})
    events = adapter.poll(ref, opts(url, state))
    assert events[-1].kind == "rejected"
    assert events[-1].detail == "Anlage fehlt: Der Meisterbrief wurde nicht übermittelt."


def _delivered(receiver, make_payload):
    url, state = receiver
    adapter = FitConnectAdapter()
    ref = adapter.deliver(make_payload(), opts(url, state)).receiver_ref
    return adapter, ref, REF_RE.fullmatch(ref).group(1)


def _kinds(adapter, ref, url, state):
    return [e.kind for e in adapter.poll(ref, opts(url, state))]


def test_accept_signed_by_the_delivery_service_is_refused(receiver, make_payload, caplog):
    url, state = receiver
    adapter, ref, sid = _delivered(receiver, make_payload)
    # the delivery service's genuine key, but acceptance is the destination's word
    state.issue(sid, "accept-submission", key=state.keys.signing)
    state.issue(sid, "accept-submission", key=state.keys.signing, iss=state.issuer)
    state.issue(sid, "reject-submission", {"problems": []}, key=state.keys.signing)
    with caplog.at_level(logging.WARNING, logger="chambers.fitconnect.events"):
        assert _kinds(adapter, ref, url, state) == ["received"]
    assert "accept-submission is not signed by a key of the destination" in caplog.text
    assert "is not the delivery service" in caplog.text  # the reject names the destination


def test_submit_signed_by_the_destination_is_refused(receiver, make_payload, caplog):
    url, state = receiver
    adapter, ref, sid = _delivered(receiver, make_payload)
    tags = {"authenticationTags": state.authentication_tags(sid)}
    state.issue(sid, "notify-submission", key=state.keys.destination_signing)
    state.issue(sid, "submit-submission", tags, key=state.keys.destination_signing)
    with caplog.at_level(logging.WARNING, logger="chambers.fitconnect.events"):
        assert _kinds(adapter, ref, url, state) == ["received"]  # the genuine one only
    assert "not signed by a key of the delivery service" in caplog.text


def test_wrong_iss_is_refused(receiver, make_payload, caplog):
    url, state = receiver
    adapter, ref, sid = _delivered(receiver, make_payload)
    state.issue(sid, "accept-submission", iss="00000000-0000-4000-8000-000000000000")
    state.issue(sid, "forward-submission", iss="https://zustelldienst.example")
    with caplog.at_level(logging.WARNING, logger="chambers.fitconnect.events"):
        assert _kinds(adapter, ref, url, state) == ["received"]
    assert "is not the destination" in caplog.text
    assert "is not the delivery service" in caplog.text


def test_iat_in_the_future_beyond_clock_skew_is_refused(receiver, make_payload, caplog):
    url, state = receiver
    adapter, ref, sid = _delivered(receiver, make_payload)
    state.issue(sid, "accept-submission", iat=int(time.time()) + 3600)
    with caplog.at_level(logging.WARNING, logger="chambers.fitconnect.events"):
        assert _kinds(adapter, ref, url, state) == ["received"]
    assert "in the future" in caplog.text
    state.issue(sid, "forward-submission", iat=int(time.time()) + 60)  # within the skew
    assert _kinds(adapter, ref, url, state) == ["received", "forwarded"]


def test_submit_event_with_other_authentication_tags_is_refused(receiver, make_payload, caplog):
    url, state = receiver
    adapter, ref, sid = _delivered(receiver, make_payload)
    genuine = state.events[state.submissions[sid]["caseId"]]
    genuine[:] = [  # drop the real submit event: the delivery service lies about what it holds
        t for t in genuine if not any("submit-" in uri for uri in json_claims(t)["events"])
    ]
    other = state.authentication_tags(sid)
    other["data"] = "AAAAAAAAAAAAAAAAAAAAAA"
    state.issue(sid, "submit-submission", {"authenticationTags": other})
    state.issue(sid, "submit-submission")  # no tags at all
    with caplog.at_level(logging.WARNING, logger="chambers.fitconnect.events"):
        assert _kinds(adapter, ref, url, state) == []
    assert "authenticationTags do not match what was sent" in caplog.text
    assert "carries no authenticationTags" in caplog.text
    state.issue(sid, "accept-submission", {"authenticationTags": other})
    assert _kinds(adapter, ref, url, state) == []  # an accept of other content counts neither
    state.issue(sid, "submit-submission", {"authenticationTags": state.authentication_tags(sid)})
    state.issue(sid, "accept-submission", {"authenticationTags": state.authentication_tags(sid)})
    assert _kinds(adapter, ref, url, state) == ["received", "accepted"]


def test_repeated_jti_is_returned_once(receiver, make_payload, caplog):
    url, state = receiver
    adapter, ref, sid = _delivered(receiver, make_payload)
    token = state.issue(sid, "notify-submission")
    state.append(sid, token)  # the very same SET again
    jti = json_claims(token)["jti"]
    state.issue(sid, "accept-submission", jti=jti)  # another token reusing the jti
    with caplog.at_level(logging.WARNING, logger="chambers.fitconnect.events"):
        found = adapter.poll(ref, opts(url, state))
    assert [e.kind for e in found] == ["received", "notified"]
    assert len({e.event_id for e in found}) == 2 and found[1].event_id == jti
    assert caplog.text.count("repeated") == 2


def json_claims(token: str) -> dict:
    import base64
    import json

    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_former_single_jwks_option_is_refused_with_its_replacements(receiver):
    url, state = receiver
    options = opts(url, state)
    options["event_signing_jwks"] = options.pop("delivery_service_jwks")
    with pytest.raises(InvalidConfig, match="put the delivery service's keys into"):
        FitConnectAdapter().parse_options(options)


def test_check_config_pings_and_accepts_a_working_setup(receiver):
    url, state = receiver
    FitConnectAdapter().check_config(opts(url, state))
    assert state.tokens  # it really authenticated


def test_check_config_names_unknown_destination_and_weak_key(receiver, keys):
    url, state = receiver
    with pytest.raises(InvalidConfig, match="destination: HTTP 404"):
        FitConnectAdapter().check_config(
            opts(url, state, destination_id="00000000-0000-4000-8000-000000000000")
        )
    state.keys = Keys(  # a 2048-bit encryption key
        encryption=keys.forger,
        signing=keys.signing,
        forger=keys.forger,
        destination_signing=keys.destination_signing,
    )
    with pytest.raises(InvalidConfig, match="needs 4096"):
        FitConnectAdapter().check_config(opts(url, state))


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"submission_api_url": "http://fit.example/v1", "allow_insecure_http": False}, "https"),
        ({"destination_id": "Handwerkskammer Bremen"}, "UUID"),
        ({"delivery_service_jwks": "{}"}, "option 'delivery_service_jwks' is not a JWKS"),
        ({"delivery_service_jwks": '{"keys": []}'}, "'delivery_service_jwks' holds no keys"),
    ],
)
def test_unusable_options_are_named_before_any_request(bad, message):
    options = {
        "submission_api_url": "https://fit.example/v1",
        "token_url": "https://auth.example/token",
        "client_id": "c",
        "client_secret": "s",
        "destination_id": "7d6f8c1a-5b2e-4f3d-9a8b-1c2d3e4f5a6b",
        "delivery_service_jwks": '{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]}',
        "destination_signing_jwks": "{}",
        **bad,
    }
    with pytest.raises(InvalidConfig, match=message):
        FitConnectAdapter().parse_options(options)
