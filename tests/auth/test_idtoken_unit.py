"""``idtoken`` on its own: algorithm pinning and the claim checks without a provider."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jws
from joserfc.jwk import OctKey

from bizportal.auth import idtoken

NOW = 1_800_000_000


def test_pinned_algorithms_drop_none_hmac_and_unknown(caplog):
    assert idtoken.pinned_algorithms(["RS256", "none", "HS256", "XY999", "ES256", "RS256"]) == ["RS256", "ES256"]
    assert idtoken.pinned_algorithms("RS256, PS256") == ["RS256", "PS256"]
    assert "'HS256' is not an asymmetric JWS algorithm" in caplog.text


@pytest.mark.parametrize("alg", ["HS256", "none", "RS384", "PS256"])
def test_verification_registry_knows_only_the_pinned_algs(alg):
    from joserfc.errors import UnsupportedAlgorithmError

    registry = idtoken.pinned_registry(["RS256", "ES256"])
    assert registry.get_alg("RS256").name == "RS256"
    with pytest.raises(UnsupportedAlgorithmError):
        registry.get_alg(alg)


def test_verification_registry_refuses_an_empty_list():
    """joserfc would fall back to its "recommended" algorithms (HS256 among them)."""
    with pytest.raises(idtoken.InvalidIdToken, match="no signing algorithm is allowed"):
        idtoken.pinned_registry([])


def test_symmetric_alg_is_refused_even_if_a_caller_allows_it():
    """Defence in depth: ``validate_id_token`` never trusts an HMAC, whatever it is given."""
    key = OctKey.generate_key(256, {"kid": "oct"})
    token = jws.serialize_compact({"alg": "HS256", "kid": "oct"}, json.dumps({"sub": "x"}), key,
                                  algorithms=["HS256"])
    with pytest.raises(idtoken.InvalidIdToken, match="not an asymmetric JWS algorithm"):
        idtoken.validate_id_token(token, load_keys=lambda refresh: {"keys": [key.as_dict(private=True)]},
                                  allowed_algs=["HS256"], issuer="https://idp", client_id="c", nonce="n")


def _claims(**overrides):
    claims = {"iss": "https://idp", "aud": "c", "sub": "s", "iat": NOW, "exp": NOW + 300, "nonce": "n"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _check(claims, now=NOW):
    idtoken.check_claims(claims, issuer="https://idp", client_id="c", nonce="n", leeway=60, now=now)


def test_valid_claims_pass():
    _check(_claims())
    _check(_claims(exp=NOW - 30))  # expired within the leeway


@pytest.mark.parametrize("overrides,reason", [
    ({"iss": "https://idp/"}, "is not the issuer"),  # exact match: no trailing-slash tolerance
    ({"nbf": NOW + 120}, "nbf in the future"),
    ({"exp": NOW - 61}, "expired"),
    ({"iat": NOW + 61}, "in the future"),
    ({"aud": ["c", 7]}, "aud missing or malformed"),
    ({"exp": float("nan")}, "exp is not a number"),
])
def test_claim_checks(overrides, reason):
    with pytest.raises(idtoken.InvalidIdToken, match=reason):
        _check(_claims(**overrides))


def test_malformed_tokens_are_refused():
    for token in ("", "a.b", "a.b.c.d.e", "!!!.e30.x"):
        with pytest.raises(idtoken.InvalidIdToken):
            idtoken.validate_id_token(token, load_keys=lambda refresh: {"keys": []}, allowed_algs=["RS256"],
                                      issuer="https://idp", client_id="c", nonce="n", now=time.time())
