"""The three adapters are found through the entry points and mark their secrets."""

from __future__ import annotations

from chambers.registry import AdapterRegistry


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
