"""The whole adapter contract: payload, result, errors and the ``Adapter`` base class."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID


class AdapterError(Exception):
    """Base class of every error an adapter raises on purpose."""


class TemporaryFailure(AdapterError):
    """The receiver could not take the filing now; the portal retries later with the same id."""


class PermanentFailure(AdapterError):
    """The receiver refused the filing for good; retrying cannot help."""


class InvalidConfig(AdapterError):
    """The chamber's options do not fit the adapter (wrong or missing setting, receiver unreachable)."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a filing: its checked type, size, SHA-256 and content."""

    filename: str
    media_type: str
    size: int
    sha256: str
    content: bytes = b""
    ref: str = ""  #: the portal's id of the attachment (stable across attempts)
    field: str = ""  #: the form field the file was uploaded for


@dataclass(frozen=True)
class FilingPayload:
    """Plain data describing one delivery of one filing to one destination (no ORM objects)."""

    delivery_id: UUID  #: idempotency key, the same on every attempt
    reference: str  #: human reference shown to company and chamber
    service_key: str  #: catalog key
    service_title: str
    leika: str | None
    company: Mapping[str, Any]
    submitted_at: datetime
    data: Mapping[str, Any]
    destination_role: str = "primary"  #: "primary" or "copy"
    destination: str = ""  #: slug of the receiving chamber, as the portal knows it
    attachments: Sequence[Attachment] = field(default_factory=tuple)


@dataclass(frozen=True)
class DeliveryResult:
    """What a successful ``deliver`` returns; ``receiver_ref`` is the receiver's own id if it has one."""

    receiver_ref: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class ChamberEvent:
    """A status change reported by a receiver through ``poll`` (received, accepted, rejected...)."""

    kind: str
    occurred_at: datetime
    detail: str = ""


@dataclass(frozen=True)
class OptionField:
    """One entry of an adapter's options schema."""

    name: str
    type: type
    required: bool = True
    default: Any = None
    secret: bool = False
    help: str = ""


class Adapter(ABC):
    """Sends filings to one kind of receiver.

    Subclasses set ``key`` (stored on the Chamber row, never renamed), ``label`` and
    ``options_schema``, and implement ``deliver``. ``services`` carries collaborators the host
    application provides (for example the ``inbox`` adapter's store); adapters never reach for
    globals, the database or the web request themselves.
    """

    key: ClassVar[str]  #: stable identifier stored on chamber rows
    label: ClassVar[str]  #: human-readable name for admin screens
    options_schema: ClassVar[Sequence[OptionField]] = ()  #: validates the chamber's options JSON

    def __init__(self, services: Mapping[str, Any] | None = None) -> None:
        self.services: Mapping[str, Any] = services or {}

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return options with defaults applied; raise ``InvalidConfig`` naming the bad option."""
        options = dict(options or {})
        known = {f.name for f in self.options_schema}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidConfig(f"{self.key}: unknown option(s): {', '.join(unknown)}")
        result: dict[str, Any] = {}
        for f in self.options_schema:
            if f.name not in options or options[f.name] in (None, ""):
                if f.required:
                    raise InvalidConfig(f"{self.key}: option '{f.name}' is required")
                result[f.name] = f.default
                continue
            value = options[f.name]
            if f.type is int and isinstance(value, bool) or not isinstance(value, f.type):
                raise InvalidConfig(
                    f"{self.key}: option '{f.name}' must be of type {f.type.__name__}"
                )
            result[f.name] = value
        return result

    def check_config(self, options: Mapping[str, Any] | None) -> None:
        """Raise ``InvalidConfig`` if the options are unusable. Subclasses may also ping the receiver."""
        self.validate_options(options)

    @abstractmethod
    def deliver(self, payload: FilingPayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Send the filing once.

        Guarantees: the same ``payload.delivery_id`` on a repeated call never creates a second copy
        at a receiver that deduplicates. Raises ``TemporaryFailure`` (retry later) or
        ``PermanentFailure`` (never retry).
        """

    def poll(self, receiver_ref: str, options: Mapping[str, Any]) -> list[ChamberEvent]:
        """Return status events for a delivered filing; adapters without a back channel return []."""
        return []
