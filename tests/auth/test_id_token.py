"""Every ID token check of an OpenID-certified relying party (code flow), through a whole login.

Each refusal test asserts the logged reason of its own check, so it fails when that check is
removed even if a later check would still refuse the token.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from bizportal.auth.models import Person
from bizportal.extensions import db
from tests.support.fake_provider import CLIENT_ID, DROP, at_hash
from tests.support.oidc import assert_logged_in, assert_refused, company_login


def test_valid_rs256_token_logs_in_with_pkce(fake, fake_app):
    resp, client = company_login(fake_app)
    assert_logged_in(resp, client)
    assert fake.redeemed[0]["code_challenge_method"] == "S256"  # the fake checked the verifier
    with fake_app.app_context():
        person = db.session.scalar(select(Person))
        assert (person.issuer, person.sub, person.email) == (fake.issuer, "fiona.fake", "fiona@fake.example")


def test_valid_es256_token_logs_in(fake, fake_app, ec_key):
    fake.signing_key, fake.alg, fake.jwks_keys = ec_key, "ES256", [ec_key]
    assert_logged_in(*company_login(fake_app))


@pytest.mark.parametrize("iss", ["http://evil.example", DROP])
def test_wrong_or_missing_iss_is_refused(fake, fake_app, caplog, iss):
    fake.claims["iss"] = iss
    assert_refused(*company_login(fake_app), caplog, fake, "is not the issuer")


def test_wrong_aud_is_refused(fake, fake_app, caplog):
    fake.claims["aud"] = "some-other-client"
    assert_refused(*company_login(fake_app), caplog, fake, "does not contain our client_id")


@pytest.mark.parametrize("aud", [DROP, [], None])
def test_missing_aud_is_refused(fake, fake_app, caplog, aud):
    fake.claims["aud"] = aud
    assert_refused(*company_login(fake_app), caplog, fake, "aud missing")


def test_several_audiences_without_azp_are_refused(fake, fake_app, caplog):
    fake.claims["aud"] = [CLIENT_ID, "another-client"]
    assert_refused(*company_login(fake_app), caplog, fake, "but no azp")


def test_several_audiences_with_foreign_azp_are_refused(fake, fake_app, caplog):
    fake.claims.update(aud=[CLIENT_ID, "another-client"], azp="another-client")
    assert_refused(*company_login(fake_app), caplog, fake, "azp 'another-client' is not our client_id")


def test_several_audiences_with_our_azp_are_accepted(fake, fake_app):
    fake.claims.update(aud=[CLIENT_ID, "another-client"], azp=CLIENT_ID)
    assert_logged_in(*company_login(fake_app))


@pytest.mark.parametrize("sub", [DROP, "", 42])
def test_missing_sub_is_refused(fake, fake_app, caplog, sub):
    fake.claims["sub"] = sub
    assert_refused(*company_login(fake_app), caplog, fake, "sub missing")


def test_missing_iat_is_refused(fake, fake_app, caplog):
    fake.claims["iat"] = DROP
    assert_refused(*company_login(fake_app), caplog, fake, "iat missing")


def test_non_numeric_iat_is_refused(fake, fake_app, caplog):
    fake.claims["iat"] = "yesterday"
    assert_refused(*company_login(fake_app), caplog, fake, "iat is not a number")


def test_expired_token_is_refused(fake, fake_app, caplog):
    fake.claims["exp"] = int(time.time()) - 3600
    assert_refused(*company_login(fake_app), caplog, fake, "expired")


def test_missing_exp_is_refused(fake, fake_app, caplog):
    fake.claims["exp"] = DROP
    assert_refused(*company_login(fake_app), caplog, fake, "exp missing")


def test_iat_far_in_the_future_is_refused(fake, fake_app, caplog):
    fake.claims["iat"] = int(time.time()) + 600
    assert_refused(*company_login(fake_app), caplog, fake, "in the future (leeway 60s)")


def test_iat_slightly_in_the_future_is_within_the_default_leeway(fake, fake_app):
    fake.claims["iat"] = int(time.time()) + 20
    assert_logged_in(*company_login(fake_app))


def test_leeway_is_configurable(fake, make_app, caplog):
    fake.claims["iat"] = int(time.time()) + 20
    app = make_app(OIDC_CLOCK_SKEW=0)
    assert_refused(*company_login(app), caplog, fake, "in the future (leeway 0s)")


def test_wrong_nonce_is_refused(fake, fake_app, caplog):
    fake.claims["nonce"] = "a-nonce-from-another-login"
    assert_refused(*company_login(fake_app), caplog, fake, "nonce does not match this login")


def test_missing_nonce_is_refused(fake, fake_app, caplog):
    fake.claims["nonce"] = DROP
    assert_refused(*company_login(fake_app), caplog, fake, "nonce missing")


def test_signature_by_another_key_under_the_published_kid_is_refused(fake, fake_app, caplog, rsa_keys):
    fake.signing_key = rsa_keys[1]
    fake.header["kid"] = rsa_keys[0].kid  # published key's kid, but signed with an unpublished key
    assert_refused(*company_login(fake_app), caplog, fake, "signature invalid")


def test_tampered_payload_is_refused(fake, fake_app, caplog):
    fake.forge = "tamper"
    assert_refused(*company_login(fake_app), caplog, fake, "signature invalid")


@pytest.mark.parametrize("kid", ["rsa-0", DROP])
def test_unsigned_alg_none_token_is_refused(fake, fake_app, caplog, kid):
    fake.forge, fake.header["kid"] = "none", kid
    assert_refused(*company_login(fake_app), caplog, fake, "unsigned ID token (alg 'none') refused")


@pytest.mark.parametrize("secret", ["pem", "jwk"])
def test_hs256_signed_with_the_public_key_is_refused(fake, fake_app, caplog, rsa_keys, secret):
    """The algorithm-confusion attack: an HMAC whose secret is the provider's public key."""
    public = rsa_keys[0]
    fake.forge = "hmac"
    fake.hmac_secret = (public.as_bytes(private=False) if secret == "pem"
                        else json.dumps(public.as_dict(private=False)).encode())
    assert_refused(*company_login(fake_app), caplog, fake, "signing alg 'HS256' not allowed")


def test_alg_advertised_by_the_provider_but_not_pinned_is_refused(fake, fake_app, caplog):
    fake.alg = "RS384"  # a valid signature with the published key; the provider advertises RS384
    assert_refused(*company_login(fake_app), caplog, fake, "signing alg 'RS384' not allowed (allowed: RS256, ES256)")


def test_pinned_algs_come_from_config(fake, make_app):
    fake.alg = "RS384"
    assert_logged_in(*company_login(make_app(OIDC_ALLOWED_ALGS=["RS384"])))


def test_symmetric_and_none_algs_in_the_config_are_ignored(fake, make_app, caplog, rsa_keys):
    app = make_app(OIDC_ALLOWED_ALGS=["RS256", "HS256", "none"])
    assert "'HS256' is not an asymmetric JWS algorithm; ignored" in caplog.text
    fake.forge, fake.hmac_secret = "hmac", rsa_keys[0].as_bytes(private=False)
    assert_refused(*company_login(app), caplog, fake, "signing alg 'HS256' not allowed (allowed: RS256)")


def test_iss_is_checked_when_custom_claims_options_are_used(fake, make_app, caplog):
    app = make_app(COMPANY_OIDC_CLAIMS_OPTIONS={"iss": {"essential": False},
                                                "acr": {"essential": True, "values": ["substantial"]}})
    fake.claims.update(iss="http://evil.example", acr="substantial")
    assert_refused(*company_login(app), caplog, fake, "iss 'http://evil.example' is not the issuer")
    assert "claims option for 'iss' ignored" in caplog.text


def test_custom_claims_options_are_enforced(fake, make_app, caplog):
    app = make_app(COMPANY_OIDC_CLAIMS_OPTIONS={"acr": {"essential": True, "values": ["substantial"]}})
    fake.claims["acr"] = "low"
    assert_refused(*company_login(app), caplog, fake, "claim 'acr' is 'low'")
    fake.claims["acr"] = "substantial"
    assert_logged_in(*company_login(app))


@pytest.mark.parametrize("value", [at_hash("some other access token"), "nicht-ascii-ä", 12])
def test_wrong_at_hash_is_refused(fake, fake_app, caplog, value):
    fake.claims["at_hash"] = value
    assert_refused(*company_login(fake_app), caplog, fake, "at_hash does not match the access token")


def test_right_at_hash_is_accepted(fake, fake_app, monkeypatch):
    original = fake.id_token
    monkeypatch.setattr(fake, "id_token", lambda nonce, access_token: (
        fake.claims.__setitem__("at_hash", at_hash(access_token)), original(nonce, access_token))[1])
    assert_logged_in(*company_login(fake_app))
