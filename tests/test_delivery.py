"""The adapter registry and the inbox adapter's options (the worker's tests are in tests/delivery/)."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

import pytest

from chambers.base import InvalidConfig
from chambers.inbox import InboxAdapter
from chambers.registry import AdapterRegistry, DuplicateAdapter, UnknownAdapter

# --- the registry -------------------------------------------------------------------------------

def test_registry_discovers_inbox_through_entry_points():
    reg = AdapterRegistry()
    reg.discover()
    assert "inbox" in set(reg.keys())
    assert reg.get_class("inbox") is InboxAdapter


def test_enabled_adapters_setting_loads_only_the_named_adapters(app_factory):
    app = app_factory(ENABLED_ADAPTERS="inbox, webhook")
    assert app.extensions["bizportal"].registry.keys() == ["inbox", "webhook"]
    assert {"email", "fitconnect", "inbox", "webhook"} <= set(app_factory().extensions["bizportal"].registry.keys())


def test_registry_refuses_duplicate_keys():
    reg = AdapterRegistry()
    reg.register(InboxAdapter)

    class Impostor(InboxAdapter):
        key = "inbox"

    with pytest.raises(DuplicateAdapter):
        reg.register(Impostor)


def test_registry_logs_and_skips_adapter_that_fails_to_load(caplog):
    reg = AdapterRegistry()
    eps = [
        EntryPoint(name="broken", value="no_such_module_xyz:Adapter", group="bizportal.chambers"),
        EntryPoint(name="inbox", value="chambers.inbox:InboxAdapter", group="bizportal.chambers"),
    ]
    with caplog.at_level(logging.ERROR):
        reg.discover(eps)
    assert reg.keys() == ["inbox"]
    assert "skipping chamber adapter 'broken'" in caplog.text


def test_unknown_adapter_lookup_raises():
    with pytest.raises(UnknownAdapter):
        AdapterRegistry().create("nope")


def test_inbox_options_are_validated():
    adapter = InboxAdapter(services={"inbox_store": object()})
    with pytest.raises(InvalidConfig, match="chamber_slug"):
        adapter.check_config({})
    with pytest.raises(InvalidConfig, match="unknown option"):
        adapter.check_config({"chamber_slug": "x", "url": "http://"})
    adapter.check_config({"chamber_slug": "hk-bremen"})


def test_third_party_adapter_installed_as_a_distribution_is_discovered(tmp_path, monkeypatch):
    """An adapter shipped in its own package (a tiny distribution with an entry point) appears
    in the registry without any change to the portal."""
    import importlib
    import sys

    (tmp_path / "kammer_xyz_adapter.py").write_text(
        "from chambers.base import Adapter, DeliveryResult, OptionField\n"
        "class XyzAdapter(Adapter):\n"
        "    key = 'xyz'\n"
        "    label = 'Kammer XYZ (third party)'\n"
        "    options_schema = (OptionField('endpoint', str),)\n"
        "    def deliver(self, payload, options):\n"
        "        return DeliveryResult(receiver_ref='xyz-' + payload.reference)\n"
    )
    dist = tmp_path / "kammer_xyz_adapter-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kammer-xyz-adapter\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[bizportal.chambers]\nxyz = kammer_xyz_adapter:XyzAdapter\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    registry = AdapterRegistry()
    registry.discover()
    assert {"xyz", "inbox"} <= set(registry.keys())
    adapter = registry.create("xyz")
    assert adapter.parse_options({"endpoint": "https://xyz.example"}) == {"endpoint": "https://xyz.example"}
    assert ("xyz", "Kammer XYZ (third party)") in registry.choices()
    sys.modules.pop("kammer_xyz_adapter", None)
