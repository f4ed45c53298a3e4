"""Adapters are found through the entry points, only the enabled ones are loaded, secrets are marked."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import EntryPoint

import pytest

from chambers.registry import ENTRY_POINT_GROUP, AdapterRegistry


def test_admin_can_choose_the_new_adapters_and_secrets_are_marked():
    registry = AdapterRegistry()
    registry.discover()
    choices = dict(registry.choices())
    assert {"webhook", "fitconnect", "email"} <= set(choices)
    secrets = {
        key: {f.name for f in registry.get_class(key).options_schema if f.secret}
        for key in ("webhook", "fitconnect", "email")
    }
    assert secrets == {
        "webhook": {"secret"},
        "fitconnect": {"client_secret"},
        "email": {"password"},
    }


def _eps(*pairs: tuple[str, str]) -> list[EntryPoint]:
    return [EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP) for name, value in pairs]


def test_only_enabled_adapters_are_registered():
    registry = AdapterRegistry()
    registry.discover(allowed={"inbox", "webhook"})
    assert registry.keys() == ["inbox", "webhook"]


def test_adapter_not_enabled_is_never_imported(caplog):
    registry = AdapterRegistry()
    eps = _eps(
        ("inbox", "chambers.inbox:InboxAdapter"),
        ("stranger", "kammer_stranger_never_imported:Adapter"),
    )
    with caplog.at_level(logging.DEBUG, logger="chambers.registry"):
        registry.discover(eps, allowed=["inbox"])
    assert registry.keys() == ["inbox"]
    assert "kammer_stranger_never_imported" not in sys.modules
    # loading it would have failed and been logged as an error: it was not even tried
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_enabled_key_that_no_package_provides_is_a_warning(caplog):
    registry = AdapterRegistry()
    eps = _eps(("inbox", "chambers.inbox:InboxAdapter"))
    with caplog.at_level(logging.WARNING, logger="chambers.registry"):
        registry.discover(eps, allowed=("inbox", "kammer-xyz"))
    assert registry.keys() == ["inbox"]
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "'kammer-xyz'" in warning.getMessage() and "no installed package" in warning.getMessage()


def test_empty_allow_list_enables_nothing():
    registry = AdapterRegistry()
    registry.discover(allowed=())
    assert registry.keys() == []


def test_allow_list_given_as_one_string_is_refused():
    with pytest.raises(TypeError, match="not a string"):
        AdapterRegistry().discover(allowed="inbox")
