"""Shared fixtures for the adapter tests: a realistic filing payload (``tests.support.payloads``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chambers.base import FilingPayload
from tests.support.payloads import build_payload


@pytest.fixture
def make_payload() -> Callable[..., FilingPayload]:
    return build_payload
