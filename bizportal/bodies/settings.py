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
from .problems import CONFIGURATION, HOST_NOT_ALLOWED, OTHER, classify, scrub

log = logging.getLogger(__name__)

#: shown instead of a secret option's value; saving it back keeps the stored secret
MASK = "********"


@dataclass(frozen=True)
class CheckResult:
    slug: str
    name: str
    ok: bool
    #: empty when ok; for a configuration error the adapter's own (scrubbed) text; for network,
    #: TLS and HTTP problems empty: the receiver's words are never shown (they are in the log)
    message: str
    problem: str = ""  #: the class (``bodies.problems``) when not ok
    status: int | None = None  #: the HTTP status or SMTP code, when there was one


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
             options: Mapping[str, Any], slug: str, allowed_hosts: tuple[str, ...] | None = None) -> None:
    """Check options for the chamber ``slug`` without contacting the receiver.

    The adapter's ``parse_options`` checks its declared schema (types, URL, secret length,
    ranges …), ``check_destination`` that the options can serve this chamber, and every host
    they name must be in ``allowed_hosts`` (``None``: any). Raises
    ``InvalidConfig`` or ``UnknownAdapter``.
    """
    adapter = registry.create(adapter_key, services=services)
    adapter.check_destination(adapter.parse_options(options), slug)
    refuse_unlisted_hosts(options, allowed_hosts)


def receiver_hosts(options: Mapping[str, Any]) -> set[str]:
    """The hosts a chamber's options make the portal contact: the host of every http(s) URL
    option and an option named ``host`` (e-mail)."""
    from urllib.parse import urlsplit

    hosts = set()
    for key, value in options.items():
        if not isinstance(value, str):
            continue
        if value.lower().startswith(("https://", "http://")):
            try:
                host = urlsplit(value).hostname
            except ValueError:
                host = None
            if host:
                hosts.add(host.lower())
        elif key == "host" and value.strip():
            hosts.add(value.strip().lower().rstrip("."))
    return hosts


def host_allowed(host: str, allowed: tuple[str, ...] | None) -> bool:
    """Whether ``host`` matches the allow-list (``None``: every host); an entry ``*.example.de``
    matches its subdomains, any other entry the host itself."""
    if allowed is None:
        return True
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if entry.startswith("*.") and host.endswith(entry[1:]) and host != entry[2:]:
            return True
        if host == entry:
            return True
    return False


def refuse_unlisted_hosts(options: Mapping[str, Any], allowed: tuple[str, ...] | None) -> None:
    """``InvalidConfig`` naming the hosts of ``options`` that the allow-list does not contain."""
    outside = sorted(h for h in receiver_hosts(options) if not host_allowed(h, allowed))
    if outside:
        raise HostNotAllowed(f"host not allowed by BIZPORTAL_RECEIVER_HOSTS: {', '.join(outside)}")


class HostNotAllowed(InvalidConfig):
    """The options name a host outside the configured allow-list."""


def check(registry: AdapterRegistry, services: Mapping[str, Any], chamber: Chamber,
          allowed_hosts: tuple[str, ...] | None = None) -> CheckResult:
    """Run the adapter's ``check_config`` for the chamber (it may contact the receiver), only when
    every host its options name is allowed (``allowed_hosts``, ``None``: any).

    A failure is classified (``bodies.problems``); the result never carries the receiver's text,
    which is logged with the traceback."""
    options = dict(chamber.options or {})
    try:
        refuse_unlisted_hosts(options, allowed_hosts)
        adapter = registry.create(chamber.adapter_key, services=services)
        adapter.check_config(options)
        adapter.check_destination(options, chamber.slug)
    except UnknownAdapter:
        return CheckResult(chamber.slug, chamber.name, False,
                           f"no adapter is installed under the key '{chamber.adapter_key}'", CONFIGURATION)
    except HostNotAllowed as exc:
        return CheckResult(chamber.slug, chamber.name, False, str(exc), HOST_NOT_ALLOWED)
    except InvalidConfig as exc:
        problem = classify(exc)
        log.warning("check_config of %s failed (%s)", chamber.slug, problem.kind, exc_info=exc)
        message = scrub(str(exc)) if problem.kind == CONFIGURATION else ""
        return CheckResult(chamber.slug, chamber.name, False, message, problem.kind, problem.status)
    except Exception as exc:  # an adapter bug must not break the admin page
        log.exception("check_config of %s raised unexpectedly", chamber.slug)
        return CheckResult(chamber.slug, chamber.name, False, type(exc).__name__, OTHER)
    return CheckResult(chamber.slug, chamber.name, True, "")


def check_chambers(registry: AdapterRegistry, services: Mapping[str, Any],
                   slug: str | None = None, allowed_hosts: tuple[str, ...] | None = None) -> list[CheckResult]:
    """Check one chamber (``slug``) or all; raises ``LookupError`` for an unknown slug."""
    query = select(Chamber).order_by(Chamber.slug)
    if slug:
        query = query.where(Chamber.slug == slug)
    chambers = list(db.session.scalars(query))
    if slug and not chambers:
        raise LookupError(slug)
    results = [check(registry, services, c, allowed_hosts) for c in chambers]
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
                   options: dict[str, Any], enabled: bool, allowed_hosts: tuple[str, ...] | None = None) -> None:
    """Validate and set a chamber's adapter, options and enabled flag in the caller's transaction.

    Raises ``InvalidConfig``/``UnknownAdapter`` (nothing changed) when the options do not fit.
    """
    options = merge_secrets(registry, chamber, adapter_key, options)
    validate(registry, services, adapter_key, options, chamber.slug, allowed_hosts)
    chamber.adapter_key = adapter_key
    chamber.options = options
    chamber.enabled = enabled
