"""A chamber's adapter settings: check them with the adapter, change them, show them masked."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from chambers.base import Adapter, InvalidConfig
from chambers.registry import AdapterRegistry, UnknownAdapter

from ..extensions import db
from .models import Chamber

log = logging.getLogger(__name__)

#: shown instead of a secret option's value; saving it back keeps the stored secret
MASK = "********"


@dataclass(frozen=True)
class CheckResult:
    slug: str
    name: str
    ok: bool
    message: str  #: empty when ok; the ``InvalidConfig`` text otherwise


def _secret_names(adapter_class: type[Adapter]) -> set[str]:
    return {f.name for f in adapter_class.options_schema if f.secret}


def masked_options(registry: AdapterRegistry, chamber: Chamber) -> dict[str, Any]:
    """The chamber's options with secret values replaced by ``MASK`` (for display and editing)."""
    options = dict(chamber.options or {})
    try:
        secrets = _secret_names(registry.get_class(chamber.adapter_key))
    except UnknownAdapter:
        secrets = set()
    return {k: (MASK if k in secrets and v not in (None, "") else v) for k, v in options.items()}


def validate(registry: AdapterRegistry, services: Mapping[str, Any], adapter_key: str,
             options: Mapping[str, Any], slug: str) -> None:
    """Check options for the chamber ``slug`` without contacting the receiver.

    The adapter's ``parse_options`` checks its declared schema (types, URL, secret length,
    ranges …), ``check_destination`` that the options can serve this chamber. Raises
    ``InvalidConfig`` or ``UnknownAdapter``.
    """
    adapter = registry.create(adapter_key, services=services)
    adapter.check_destination(adapter.parse_options(options), slug)


def check(registry: AdapterRegistry, services: Mapping[str, Any], chamber: Chamber) -> CheckResult:
    """Run the adapter's ``check_config`` for the chamber (it may contact the receiver)."""
    try:
        adapter = registry.create(chamber.adapter_key, services=services)
        adapter.check_config(dict(chamber.options or {}))
        adapter.check_destination(dict(chamber.options or {}), chamber.slug)
    except UnknownAdapter:
        return CheckResult(chamber.slug, chamber.name, False,
                           f"no adapter is installed under the key '{chamber.adapter_key}'")
    except InvalidConfig as exc:
        return CheckResult(chamber.slug, chamber.name, False, str(exc) or type(exc).__name__)
    except Exception as exc:  # an adapter bug must not break the admin page
        log.exception("check_config of %s raised unexpectedly", chamber.slug)
        return CheckResult(chamber.slug, chamber.name, False, f"{type(exc).__name__}: {exc}")
    return CheckResult(chamber.slug, chamber.name, True, "")


def check_chambers(registry: AdapterRegistry, services: Mapping[str, Any],
                   slug: str | None = None) -> list[CheckResult]:
    """Check one chamber (``slug``) or all; raises ``LookupError`` for an unknown slug."""
    query = select(Chamber).order_by(Chamber.slug)
    if slug:
        query = query.where(Chamber.slug == slug)
    chambers = list(db.session.scalars(query))
    if slug and not chambers:
        raise LookupError(slug)
    results = [check(registry, services, c) for c in chambers]
    db.session.rollback()
    return results


def merge_secrets(registry: AdapterRegistry, chamber: Chamber, adapter_key: str,
                  options: dict[str, Any]) -> dict[str, Any]:
    """Put the stored value back for every secret option the form left at ``MASK``.

    With a new adapter there is nothing to keep: a secret left at ``MASK`` is dropped, so the
    adapter's validation asks for the real value instead of storing the mask.
    """
    if adapter_key != chamber.adapter_key:
        return {k: v for k, v in options.items() if v != MASK}
    try:
        secrets = _secret_names(registry.get_class(adapter_key))
    except UnknownAdapter:
        return options
    stored = chamber.options or {}
    return {k: (stored.get(k) if k in secrets and v == MASK else v) for k, v in options.items()}


def apply_settings(registry: AdapterRegistry, services: Mapping[str, Any], chamber: Chamber, adapter_key: str,
                   options: dict[str, Any], enabled: bool) -> None:
    """Validate and set a chamber's adapter, options and enabled flag in the caller's transaction.

    Raises ``InvalidConfig``/``UnknownAdapter`` (nothing changed) when the options do not fit.
    """
    options = merge_secrets(registry, chamber, adapter_key, options)
    validate(registry, services, adapter_key, options, chamber.slug)
    chamber.adapter_key = adapter_key
    chamber.options = options
    chamber.enabled = enabled
