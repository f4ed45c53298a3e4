"""Shared fixtures for the adapter tests: a realistic filing payload (``tests.support.payloads``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from joserfc.jwk import RSAKey

from chambers.base import FilingPayload
from tests.support.payloads import build_payload
from tests.support.receivers.fitconnect_receiver import Keys


@pytest.fixture
def make_payload() -> Callable[..., FilingPayload]:
    return build_payload


@pytest.fixture(scope="session")
def keys() -> Keys:
    """Generated once per session: 4096-bit keys are slow to make."""
    return Keys(
        encryption=RSAKey.generate_key(4096, parameters={"kid": "dest-enc-1"}),
        signing=RSAKey.generate_key(4096, parameters={"kid": "zustelldienst-sig-1"}),
        forger=RSAKey.generate_key(2048, parameters={"kid": "zustelldienst-sig-1"}),
        destination_signing=RSAKey.generate_key(4096, parameters={"kid": "dest-sig-1"}),
    )
