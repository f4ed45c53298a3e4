"""Choosing the verification key: absent kid, unknown kid (one refetch), key rotation."""

from __future__ import annotations

from tests.support.fake_provider import DROP
from tests.support.oidc import assert_logged_in, assert_refused, company_login


def test_token_without_kid_is_accepted_when_the_key_set_has_one_key(fake, fake_app):
    fake.header["kid"] = DROP
    assert_logged_in(*company_login(fake_app))


def test_token_without_kid_ignores_encryption_keys(fake, fake_app, rsa_keys):
    fake.header["kid"] = DROP
    fake.jwks_keys = [rsa_keys[0], {**rsa_keys[1].as_dict(private=False), "use": "enc"}]
    assert_logged_in(*company_login(fake_app))


def test_token_without_kid_is_refused_when_several_keys_could_have_signed_it(fake, fake_app, caplog, rsa_keys):
    fake.header["kid"] = DROP
    fake.jwks_keys = [rsa_keys[0], rsa_keys[1]]
    assert_refused(*company_login(fake_app), caplog, fake, "names no kid and the key set has 2 candidate keys")


def test_unknown_kid_refetches_the_key_set_once_then_refuses(fake, fake_app, caplog):
    fake.header["kid"] = "ghost"
    assert_refused(*company_login(fake_app), caplog, fake, "no key in the provider's key set for kid 'ghost'")
    assert fake.hits["jwks"] == 2  # the first fetch and exactly one refetch


def test_key_embedded_in_the_token_header_is_not_trusted(fake, fake_app, caplog, rsa_keys):
    attacker = rsa_keys[2]
    fake.signing_key = attacker
    fake.header["jwk"] = attacker.as_dict(private=False)
    assert_refused(*company_login(fake_app), caplog, fake, "for kid 'rsa-2'")


def test_rotated_signing_key_is_picked_up_on_the_next_login(fake, fake_app, rsa_keys):
    assert_logged_in(*company_login(fake_app))
    assert_logged_in(*company_login(fake_app))
    assert fake.hits["jwks"] == 1  # cached between logins

    fake.signing_key, fake.jwks_keys = rsa_keys[1], [rsa_keys[1]]  # the provider rotates
    assert_logged_in(*company_login(fake_app))
    assert fake.hits["jwks"] == 2


def test_rotated_single_key_without_kid_is_picked_up_on_the_next_login(fake, fake_app, rsa_keys):
    fake.header["kid"] = DROP
    assert_logged_in(*company_login(fake_app))
    fake.signing_key, fake.jwks_keys = rsa_keys[1], [rsa_keys[1]]
    assert_logged_in(*company_login(fake_app))
    assert fake.hits["jwks"] == 2


def test_key_set_and_discovery_are_refetched_after_their_max_age(fake, make_app):
    app = make_app(OIDC_METADATA_MAX_AGE=0)
    assert_logged_in(*company_login(app))
    assert_logged_in(*company_login(app))
    assert fake.hits["discovery"] >= 2 and fake.hits["jwks"] == 2


def _forged_logout_token(fake, key) -> str:
    """A logout token signed with a key the provider never published (its kid is unknown)."""
    import json
    import time
    import uuid

    from joserfc import jws

    now = int(time.time())
    claims = {"iss": fake.issuer, "aud": "bizportal-company", "iat": now, "exp": now + 120,
              "jti": uuid.uuid4().hex, "sub": fake.subject,
              "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
    return jws.serialize_compact({"alg": "RS256", "kid": key.kid}, json.dumps(claims), key)


def test_a_flood_of_forged_tokens_fetches_the_key_set_at_most_once_per_interval(fake, fake_app, rsa_keys):
    client = fake_app.test_client()
    for _ in range(20):
        resp = client.post("/backchannel-logout", data={"logout_token": _forged_logout_token(fake, rsa_keys[2])})
        assert resp.status_code == 400
    assert fake.hits["jwks"] == 2  # the first fetch and one refetch for the unknown kid, not 21
    fake.header["kid"] = "ghost"  # forged ID tokens at the login count against the same interval
    for _ in range(3):
        assert company_login(fake_app)[0].status_code == 401
    assert fake.hits["jwks"] == 2


def test_a_rotation_after_forged_tokens_is_picked_up_once_the_interval_has_passed(fake, make_app, rsa_keys):
    import time

    app = make_app(OIDC_JWKS_REFETCH_SECONDS=3)  # the five forged posts take well under 3 s, also on a busy machine
    assert_logged_in(*company_login(app))
    client = app.test_client()
    for _ in range(5):
        client.post("/backchannel-logout", data={"logout_token": _forged_logout_token(fake, rsa_keys[2])})
    assert fake.hits["jwks"] == 2
    fake.signing_key, fake.jwks_keys = rsa_keys[1], [rsa_keys[1]]  # the provider rotates
    time.sleep(3.1)
    assert_logged_in(*company_login(app))
    assert fake.hits["jwks"] == 3
