"""The options schema: each declared constraint refuses a bad value by name and accepts a good one."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from chambers.base import Adapter, DeliveryResult, InvalidConfig, OptionField
from chambers.email import EmailAdapter
from chambers.fitconnect import FitConnectAdapter
from chambers.webhook import WebhookAdapter

SECRET = "s3cr3t-shared-with-the-chamber"
JWKS = json.dumps(
    {"keys": [RSAKey.generate_key(2048, parameters={"kid": "sig-1"}).as_dict(private=False)]}
)
FIT_OPTIONS = {
    "submission_api_url": "https://fit.example/v1",
    "token_url": "https://auth.example/token",
    "client_id": "c",
    "client_secret": "s",
    "destination_id": "7d6f8c1a-5b2e-4f3d-9a8b-1c2d3e4f5a6b",
    "delivery_service_jwks": JWKS,
    "destination_signing_jwks": JWKS,
}


def _must_be_even(value: int) -> None:
    if value % 2:
        raise ValueError("must be an even number")


class KammerAdapter(Adapter):
    """A made-up adapter whose schema declares one field per constraint kind."""

    key = "kammer"
    label = "Kammer (tests)"
    options_schema = (
        OptionField("endpoint", str, format="https_url", http_allowed_by="allow_http"),
        OptionField("allow_http", bool, required=False, default=False),
        OptionField("token", str, required=False, secret=True, min_length=12),
        OptionField("retries", int, required=False, default=3, min=0, max=10),
        OptionField("ratio", float, required=False, default=0.5, min=0, max=1),
        OptionField("priority", int, required=False, min=1),
        OptionField("mode", str, required=False, default="batch", choices=("batch", "single")),
        OptionField("tenant", str, required=False, format="uuid"),
        OptionField("reply_to", str, required=False, format="email_address"),
        OptionField("shards", int, required=False, default=2, check=_must_be_even),
    )

    def deliver(self, payload: Any, options: Any) -> DeliveryResult:
        return DeliveryResult()


def parse(**options: Any) -> dict[str, Any]:
    return KammerAdapter().parse_options({"endpoint": "https://kammer.example/in", **options})


def test_defaults_are_applied_and_good_values_pass():
    assert parse() == {
        "endpoint": "https://kammer.example/in",
        "allow_http": False,
        "token": None,
        "retries": 3,
        "ratio": 0.5,
        "priority": None,
        "mode": "batch",
        "tenant": None,
        "reply_to": None,
        "shards": 2,
    }


@pytest.mark.parametrize(
    "options, message",
    [
        ({"endpoint": "http://k.example"}, r"option 'endpoint' must be an https URL \(plain http needs allow_http\)"),
        ({"endpoint": "ftp://kammer.example/in"}, "option 'endpoint' must be an https URL"),
        ({"endpoint": "kammer.example/in"}, "option 'endpoint' must be an https URL"),
        ({"endpoint": "https:///in"}, "option 'endpoint' has no host name"),
        ({"endpoint": "https://user:pw@kammer.example/in"}, "option 'endpoint' must not contain credentials"),
        ({"endpoint": "https://[::1/in"}, "option 'endpoint' is not a URL"),
        ({"endpoint": "ftp://kammer.example/in", "allow_http": True}, "option 'endpoint' must be an https URL$"),
        ({"token": "too-short"}, "option 'token' must have at least 12 characters"),
        ({"retries": -1}, "option 'retries' must be between 0 and 10"),
        ({"retries": 11}, "option 'retries' must be between 0 and 10"),
        ({"ratio": 1.5}, "option 'ratio' must be between 0 and 1"),
        ({"priority": 0}, "option 'priority' must be at least 1"),
        ({"mode": "bulk"}, "option 'mode' must be one of 'batch', 'single'"),
        ({"tenant": "Handwerkskammer Bremen"}, "option 'tenant' must be a UUID"),
        ({"reply_to": "Handwerkskammer"}, "option 'reply_to' is not an e-mail address"),
        ({"reply_to": "a@kammer.example\r\nBcc: x@evil.example"}, "option 'reply_to' is not an e-mail address"),
        ({"reply_to": "a@b@kammer.example"}, "option 'reply_to' is not an e-mail address"),
        ({"shards": 3}, "option 'shards' must be an even number"),
        ({"retries": "3"}, "option 'retries' must be of type int"),
        ({"retries": True}, "option 'retries' must be of type int"),
        ({"allow_http": "yes"}, "option 'allow_http' must be of type bool"),
        ({"endpoint": ""}, "option 'endpoint' is required"),
        ({"colour": "blue"}, "unknown option\\(s\\): colour"),
    ],
)
def test_a_bad_value_is_refused_naming_adapter_and_option(options, message):
    with pytest.raises(InvalidConfig, match="^kammer: " + message):
        parse(**options)


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"endpoint": "http://127.0.0.1:8080/in", "allow_http": True}, {"endpoint": "http://127.0.0.1:8080/in"}),
        ({"endpoint": "https://kammer.example:8443/in?x=1"}, {"endpoint": "https://kammer.example:8443/in?x=1"}),
        ({"token": "twelve-chars"}, {"token": "twelve-chars"}),
        ({"retries": 0}, {"retries": 0}),
        ({"retries": 10}, {"retries": 10}),
        ({"ratio": 1}, {"ratio": 1}),  # an int is a fine float
        ({"priority": 1000}, {"priority": 1000}),
        ({"mode": "single"}, {"mode": "single"}),
        ({"tenant": "7D6F8C1A5B2E4F3D9A8B1C2D3E4F5A6B"}, {"tenant": "7d6f8c1a-5b2e-4f3d-9a8b-1c2d3e4f5a6b"}),
        ({"reply_to": "Kammer <post@kammer.example>"}, {"reply_to": "Kammer <post@kammer.example>"}),
        ({"shards": 4}, {"shards": 4}),
    ],
)
def test_a_good_value_is_accepted_and_normalised(options, expected):
    parsed = parse(**options)
    assert {k: parsed[k] for k in expected} == expected


def test_options_that_are_not_an_object_are_refused():
    with pytest.raises(InvalidConfig, match="kammer: options must be a JSON object"):
        KammerAdapter().parse_options(["endpoint"])  # type: ignore[arg-type]


def test_http_is_not_special_on_loopback_without_the_flag():
    with pytest.raises(InvalidConfig, match="plain http needs allow_http"):
        parse(endpoint="http://127.0.0.1:8080/in")


@pytest.mark.parametrize(
    "adapter, options, message",
    [
        (WebhookAdapter, {"secret": "x" * 15}, "webhook: option 'secret' must have at least 16"),
        (WebhookAdapter, {"timeout_seconds": 121}, "webhook: option 'timeout_seconds' must be between 1 and 120"),
        (EmailAdapter, {"port": 0}, "email: option 'port' must be between 1 and 65535"),
        (EmailAdapter, {"from_address": "portal"}, "email: option 'from_address' is not an e-mail address"),
        (FitConnectAdapter, {"token_url": "http://auth.example/t"}, "fitconnect: option 'token_url' must be an https"),
        (FitConnectAdapter, {"timeout_seconds": 0}, "fitconnect: option 'timeout_seconds' must be between 1 and 120"),
        (FitConnectAdapter, {"destination_signing_jwks": '{"keys": []}'},
         "fitconnect: option 'destination_signing_jwks' holds no"),
    ],
)
def test_the_adapters_schemas_carry_their_constraints(adapter, options, message):
    good = {
        WebhookAdapter: {"url": "https://kammer.example/hook", "secret": SECRET},
        EmailAdapter: {"host": "smtp.example", "from_address": "a@p.example", "to_address": "b@k.example"},
        FitConnectAdapter: FIT_OPTIONS,
    }[adapter]
    adapter().parse_options(good)
    with pytest.raises(InvalidConfig, match=message):
        adapter().parse_options({**good, **options})


def test_fitconnect_destination_id_is_stored_in_canonical_form():
    opts = FitConnectAdapter().parse_options(
        {**FIT_OPTIONS, "destination_id": "{7D6F8C1A-5B2E-4F3D-9A8B-1C2D3E4F5A6B}"}
    )
    assert opts["destination_id"] == "7d6f8c1a-5b2e-4f3d-9a8b-1c2d3e4f5a6b"


def test_cross_field_rule_stays_in_the_adapter_after_the_schema():
    options = {"host": "smtp.example", "from_address": "a@p.example", "to_address": "b@k.example"}
    with pytest.raises(InvalidConfig, match="email: a login needs 'starttls'"):
        EmailAdapter().parse_options({**options, "starttls": False, "username": "u", "password": "p"})
    with pytest.raises(InvalidConfig, match="email: option 'port'"):  # the schema runs first
        EmailAdapter().parse_options({**options, "port": 0, "username": "u"})


@pytest.mark.parametrize(
    "field_args, message",
    [
        (("n", str), {"min": 1}),
        (("n", int), {"min_length": 1}),
        (("n", int), {"format": "uuid"}),
        (("n", str), {"format": "ftp_url"}),
        (("n", str), {"http_allowed_by": "flag"}),
        (("n", str), {"choices": ["a", "b"]}),
    ],
)
def test_a_constraint_that_does_not_fit_the_field_fails_when_defined(field_args, message):
    with pytest.raises(TypeError, match="option 'n'"):
        OptionField(*field_args, **message)


def test_schema_naming_a_missing_http_flag_fails_when_the_adapter_is_defined():
    with pytest.raises(TypeError, match="http_allowed_by must name a bool option"):

        class Broken(KammerAdapter):
            options_schema = (OptionField("url", str, format="https_url", http_allowed_by="nope"),)


def test_adapter_of_the_first_contract_that_overrides_validate_options_still_works():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        class OldStyle(KammerAdapter):
            def validate_options(self, options):
                opts = super().validate_options(options)
                if opts["retries"] > 5:
                    raise InvalidConfig("kammer: option 'retries' above 5 is too many")
                return opts

    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    adapter = OldStyle()
    with pytest.raises(InvalidConfig, match="above 5"):  # callers use parse_options: the override runs
        adapter.parse_options({"endpoint": "https://kammer.example/in", "retries": 6})
    with pytest.raises(InvalidConfig, match="must be between 0 and 10"):  # and the schema still runs
        adapter.check_config({"endpoint": "https://kammer.example/in", "retries": 11})
    assert adapter.parse_options({"endpoint": "https://kammer.example/in"})["retries"] == 3


def test_validate_options_is_an_alias_of_parse_options():
    options = {"host": "smtp.example", "from_address": "a@p.example", "to_address": "b@k.example"}
    with pytest.raises(InvalidConfig, match="go together"):
        EmailAdapter().validate_options({**options, "username": "u"})
