"""Adapter lookup by key; discovery through the entry-point group ``bizportal.chambers``."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .base import Adapter

ENTRY_POINT_GROUP = "bizportal.chambers"
log = logging.getLogger(__name__)


class DuplicateAdapter(Exception):
    """Two adapters claim the same key."""


class UnknownAdapter(KeyError):
    """No adapter is registered under the key."""


class AdapterRegistry:
    """Maps adapter keys to adapter classes. Create a fresh one in tests."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Adapter]] = {}

    def register(self, cls: type[Adapter]) -> type[Adapter]:
        """Register an adapter class; refuses a second class under the same key."""
        key = getattr(cls, "key", None)
        if not isinstance(key, str) or not key:
            raise TypeError(f"{cls!r} has no adapter key")
        existing = self._classes.get(key)
        if existing is not None and existing is not cls:
            raise DuplicateAdapter(
                f"adapter key '{key}' is claimed by {existing.__module__}.{existing.__qualname__} "
                f"and {cls.__module__}.{cls.__qualname__}"
            )
        self._classes[key] = cls
        return cls

    def discover(
        self, eps: Iterable[EntryPoint] | None = None, allowed: Collection[str] | None = None
    ) -> None:
        """Register the adapters of the entry-point group ``bizportal.chambers`` (or of ``eps``).

        With ``allowed``, only entry points whose name is one of those keys are loaded at all: the
        code of any other installed adapter never runs. A key in ``allowed`` that no entry point
        provides is logged as a warning. An entry point that fails to load, loads something other
        than an ``Adapter`` subclass, loads an adapter whose ``key`` differs from its name, or
        claims a key already registered, is logged as an error and skipped. Raises ``TypeError``
        if ``allowed`` is a single string (it would match its own letters).
        """
        if isinstance(allowed, str):
            raise TypeError("allowed must be a collection of adapter keys, not a string")
        if eps is None:
            eps = entry_points(group=ENTRY_POINT_GROUP)
        offered: set[str] = set()
        for ep in eps:
            offered.add(ep.name)
            if allowed is not None and ep.name not in allowed:
                log.debug("not loading chamber adapter %r (%s): not enabled", ep.name, ep.value)
                continue
            try:
                cls = ep.load()
                if not (isinstance(cls, type) and issubclass(cls, Adapter)):
                    raise TypeError(f"{ep.value} is not an Adapter subclass")
                if cls.key != ep.name:
                    raise TypeError(f"entry point '{ep.name}' loads adapter with key '{cls.key}'")
            except Exception:
                log.exception("skipping chamber adapter %r (%s): failed to load", ep.name, ep.value)
                continue
            try:
                self.register(cls)
            except DuplicateAdapter:
                log.error("skipping chamber adapter %r (%s): duplicate key", ep.name, ep.value)
        for key in sorted(set(allowed or ()) - offered):
            log.warning("chamber adapter %r is enabled, but no installed package provides it", key)

    def keys(self) -> list[str]:
        return sorted(self._classes)

    def choices(self) -> list[tuple[str, str]]:
        """(key, label) pairs for a select field."""
        return [(k, self._classes[k].label) for k in self.keys()]

    def get_class(self, key: str) -> type[Adapter]:
        try:
            return self._classes[key]
        except KeyError:
            raise UnknownAdapter(key) from None

    def create(self, key: str, services: Mapping[str, Any] | None = None) -> Adapter:
        """Instantiate the adapter registered under ``key``."""
        return self.get_class(key)(services=services)
