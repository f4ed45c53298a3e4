"""Fixtures for the relying-party conformance tests: keys and the misbehaving provider
(``tests.support.fake_provider``); the login helpers are in ``tests.support.oidc``."""

from __future__ import annotations

import logging

import pytest
from joserfc.jwk import ECKey, RSAKey

from tests.support.fake_provider import FakeProvider


@pytest.fixture(scope="session")
def rsa_keys() -> list[RSAKey]:
    """Three RSA signing keys with kids rsa-0, rsa-1, rsa-2 (generated once: it takes a moment)."""
    return [RSAKey.generate_key(2048, {"kid": f"rsa-{i}", "use": "sig"}) for i in range(3)]


@pytest.fixture(scope="session")
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256", {"kid": "ec-0", "use": "sig"})


@pytest.fixture
def fake(rsa_keys):
    provider = FakeProvider(rsa_keys[0]).start()
    yield provider
    provider.stop()


@pytest.fixture
def make_app(app_factory, fake):
    """An app whose company login goes to the fake provider; ``make_app(OIDC_TIMEOUT=1, ...)``."""

    def make(**extra):
        return app_factory(COMPANY_OIDC_ISSUER=fake.issuer, **extra)

    return make


@pytest.fixture
def fake_app(make_app):
    return make_app()


@pytest.fixture(autouse=True)
def _log_level(caplog):
    caplog.set_level(logging.INFO)






