"""The whole adapter contract: payload, result, errors, the options schema and the ``Adapter`` base class."""

from __future__ import annotations

import json
import math
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit
from uuid import UUID


class AdapterError(Exception):
    """Base class of every error an adapter raises on purpose."""


class TemporaryFailure(AdapterError):
    """The receiver could not take the filing now; the portal retries later with the same id."""


class NoAnswer(TemporaryFailure):
    """The request went out but the receiver did not answer within ``timeout`` seconds.

    Unlike a refusal this says nothing against the filing: a slow receiver may have stored it and
    only answer later. The portal retries with the same id and a longer answer timeout (see
    ``Adapter.answer_timeout_option``). A timeout while connecting is an ordinary
    ``TemporaryFailure``: nothing was sent.
    """

    def __init__(self, message: str, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout  #: the seconds the adapter waited for the answer


class PermanentFailure(AdapterError):
    """The receiver refused the filing for good; retrying cannot help."""


class InvalidConfig(AdapterError):
    """The chamber's options do not fit the adapter (wrong or missing setting, receiver unreachable)."""


class Superseded(AdapterError):
    """This attempt no longer holds its delivery (its lease ran out and another attempt took it
    over): ``Progress.record`` raises it, and the adapter stops without sending anything more."""


#: Writes an adapter's progress for the delivery being sent; returns ``False`` when this attempt
#: no longer holds the delivery. Provided by the host application (see ``Progress``).
ProgressStore = Callable[[Mapping[str, Any]], bool]


class Progress:
    """What an adapter has done for one delivery so far, kept by the portal across attempts.

    Optional for adapters: one that records nothing behaves as before. An adapter whose receiver
    does not deduplicate on the delivery id records what it needs to continue instead of starting
    over (FIT-Connect: the submission id right after creating it) with ``record``; the next
    attempt of the same delivery (a retry, or another worker taking over after a lease ran out)
    finds it in ``recorded``.

    The portal writes each ``record`` in its own short transaction before ``record`` returns, and
    only while this attempt still holds the delivery: an attempt that lost its lease can never
    overwrite the progress of the attempt that took over. A ``Progress()`` made without a store
    (tests, tools) keeps the values in memory only.
    """

    def __init__(
        self, recorded: Mapping[str, Any] | None = None, store: ProgressStore | None = None
    ) -> None:
        self._recorded: dict[str, Any] = dict(recorded or {})
        self._store = store

    @property
    def recorded(self) -> Mapping[str, Any]:
        """The progress recorded last, by this attempt or an earlier one; empty if none."""
        return dict(self._recorded)

    def record(self, values: Mapping[str, Any]) -> None:
        """Replace the delivery's progress by ``values`` (a JSON object) and keep it durably.

        Returns once it is stored. Raises ``Superseded`` if this attempt no longer holds the
        delivery (stop: another attempt owns it now), ``TemporaryFailure`` if it could not be
        stored (retry later; the next attempt sees the progress recorded before), ``TypeError``
        or ``ValueError`` for values JSON cannot carry (a bug in the adapter).
        """
        doc = json.loads(json.dumps(dict(values), allow_nan=False))
        if self._store is not None:
            try:
                held = self._store(doc)
            except AdapterError:
                raise
            except Exception as exc:  # the portal's database: worth a retry
                raise TemporaryFailure(
                    f"progress of the delivery could not be recorded: {type(exc).__name__}: {exc}"
                ) from exc
            if not held:
                raise Superseded("another attempt has taken over this delivery")
        self._recorded = doc


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


#: ``FilingPayload.documents`` key of the XGewerbeanzeige 2.2 message of a trade notification
#: (Gewerbeanmeldung, -ummeldung, -abmeldung)
XGEWERBEANZEIGE = "xgewerbeanzeige"


@dataclass(frozen=True)
class Document:
    """The filing in a standard exchange format, built by the portal (not uploaded by the company).

    ``content`` is the complete document (e.g. an XGewerbeanzeige 2.2 message as UTF-8 XML),
    ``media_type`` its type (``application/xml``), ``schema_uri`` the schema or namespace it
    follows (what a FIT-Connect submission names as its data schema), ``filename`` the name an
    adapter gives it when it sends it as a file. The same on every attempt of a delivery.
    """

    media_type: str
    content: bytes
    schema_uri: str = ""
    filename: str = ""


@dataclass(frozen=True)
class ActingPerson:
    """The person who filed, as the portal recorded them at submit (not as the account reads now).

    ``subject`` is the ``sub`` claim of their login at ``issuer`` (the company-login provider):
    stable for the person, unlike name and e-mail.
    """

    name: str | None
    email: str | None
    subject: str
    issuer: str = ""


@dataclass(frozen=True)
class Receiver:
    """One receiving body of a filing: ``role`` ``"primary"`` (the competent body) or ``"copy"``;
    ``slug`` the portal's key of the body, ``name`` its name."""

    role: str
    slug: str
    name: str


@dataclass(frozen=True)
class FilingPayload:
    """Plain data describing one delivery of one filing to one destination (no ORM objects).

    ``documents`` holds the filing in standard formats beside the portal's JSON (``data``), by
    key: ``XGEWERBEANZEIGE`` for the three trade notifications, nothing for other services (and
    nothing if the portal could not build it). Optional for adapters: one that ignores it sends
    the JSON as before. The webhook, e-mail and FIT-Connect adapters send it as their ``format``
    option says (``"json"``, ``"xml"`` or ``"both"``; see ``chambers.wire.format_option``).

    ``acting_person``, ``trust_level`` and ``receivers`` tell the receiver who filed, how securely
    they logged in and who else received the filing; ``bundle`` which other filings were submitted
    with it. They are optional with empty defaults, so
    adapters and tools that build payloads without them keep working; the portal fills them from
    what it recorded at submit (``None`` / empty for filings made before it recorded them).
    """

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
    #: what earlier attempts of this delivery recorded, and where this one records its own (see
    #: ``Progress``); not part of the filing, never sent
    progress: Progress = field(default_factory=Progress, compare=False, repr=False)
    #: the filing in standard formats, by key (``XGEWERBEANZEIGE``); empty if there is none
    documents: Mapping[str, Document] = field(default_factory=dict, repr=False)
    #: the person who filed, as at submit; ``None`` if not recorded
    acting_person: ActingPerson | None = None
    #: the eIDAS level of that person's login at submit: "none", "low", "substantial" or "high";
    #: ``None`` if not recorded
    trust_level: str | None = None
    #: every receiving body of the filing, the primary first, then the copies (this destination
    #: among them); empty if not recorded
    receivers: Sequence[Receiver] = field(default_factory=tuple)
    #: the life-event bundle ("Betrieb gründen", …) the filing was submitted with, as plain data:
    #: ``reference`` and ``kind`` of the bundle, its ``title``, and ``filings``, the bundle's other
    #: filings (``service_key``, ``service_title``, ``reference``, ``body_kind`` of the receiving
    #: body); ``None`` for a filing submitted on its own
    bundle: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class MessagePayload:
    """Plain data describing one delivery of a company's message (an answer to the body's request
    for information, or a message of its own) about a filing the body already received.

    The body knows the filing by ``filing_delivery_id`` (the idempotency key it was delivered
    with) and by ``filing_receiver_ref`` (its own id of the filing, if it gave one).
    """

    delivery_id: UUID  #: idempotency key of this message's delivery, the same on every attempt
    message_id: str  #: the portal's id of the message
    kind: str  #: "answer" (to ``in_reply_to``) or "message" (the company writes on its own)
    reference: str  #: the filing's reference
    filing_delivery_id: UUID  #: the delivery the body received the filing with
    filing_receiver_ref: str | None
    service_key: str
    service_title: str
    leika: str | None
    company: Mapping[str, Any]  #: the company's master data as filed
    author: Mapping[str, Any]  #: the person who wrote it: name, email, phone (as far as known)
    sent_at: datetime
    body: str
    #: the request answered: id, body, sent_at, due_on (``None`` for a message of its own)
    in_reply_to: Mapping[str, Any] | None = None
    destination_role: str = "primary"
    destination: str = ""
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    progress: Progress = field(default_factory=Progress, compare=False, repr=False)


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
    #: the receiver's own id of the event (FIT-Connect: the SET's ``jti``), "" if it has none;
    #: the portal applies events with the same id once
    event_id: str = ""


#: Value formats an ``OptionField`` of type ``str`` can declare (see ``OptionField.format``).
OptionFormat = Literal["https_url", "uuid", "email_address"]


@dataclass(frozen=True)
class OptionField:
    """One entry of an adapter's options schema: name, type, default and declared constraints.

    ``Adapter.parse_options`` enforces every constraint and names the option in its
    ``InvalidConfig``; a default is taken as given, unchecked. Constraints that do not fit the type
    (``min`` on a ``str``, ``format`` on an ``int`` …) raise ``TypeError`` when the field is defined,
    so a mistyped schema fails on import rather than on the first chamber saved with it.
    """

    name: str
    type: type  #: ``str``, ``int``, ``float`` or ``bool`` (``bool`` is never taken as a number)
    required: bool = True  #: a missing, ``None`` or empty value is refused (else ``default`` is used)
    default: Any = None
    secret: bool = False  #: masked on admin screens
    help: str = ""
    #: ``"https_url"``: absolute https URL with a host and without credentials;
    #: ``"uuid"``: a UUID, returned in canonical lower-case form; ``"email_address"``: one address,
    #: optionally with a display name, without line breaks
    format: OptionFormat | None = None
    min: float | None = None  #: smallest accepted number (inclusive)
    max: float | None = None  #: largest accepted number (inclusive)
    min_length: int | None = None  #: fewest characters a ``str`` must have
    choices: tuple[Any, ...] = ()  #: the accepted values; empty: any value of the type
    #: with ``format="https_url"``: name of a ``bool`` option that, when true, also allows plain
    #: http (for tests and local networks; no host, loopback included, gets http without it)
    http_allowed_by: str | None = None
    #: a last check of the value for what cannot be declared (e.g. "parses as a JWKS"); raises
    #: ``InvalidConfig`` or ``ValueError`` (whose text follows "option '<name>' ")
    check: Callable[[Any], object] | None = None

    def __post_init__(self) -> None:
        numeric = self.type in (int, float)
        if (self.min is not None or self.max is not None) and not numeric:
            raise TypeError(f"option '{self.name}': min/max need type int or float")
        if (self.min_length is not None or self.format is not None) and self.type is not str:
            raise TypeError(f"option '{self.name}': min_length/format need type str")
        if self.format not in (None, "https_url", "uuid", "email_address"):
            raise TypeError(f"option '{self.name}': unknown format {self.format!r}")
        if self.http_allowed_by is not None and self.format != "https_url":
            raise TypeError(f"option '{self.name}': http_allowed_by needs format 'https_url'")
        if not isinstance(self.choices, tuple):
            raise TypeError(f"option '{self.name}': choices must be a tuple")


def _fail(adapter_key: str, name: str, text: str) -> InvalidConfig:
    return InvalidConfig(f"{adapter_key}: option '{name}' {text}")


def _https_url_problem(value: str, http_allowed: bool, flag: str | None) -> str | None:
    """Why ``value`` is not an acceptable receiver URL, or ``None`` if it is."""
    try:
        parts = urlsplit(value)
        has_credentials = bool(parts.username or parts.password)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "is not a URL"
    if parts.scheme not in (("https", "http") if http_allowed else ("https",)):
        hint = f" (plain http needs {flag})" if flag and not http_allowed else ""
        return f"must be an https URL{hint}"
    if not hostname:
        return "has no host name"
    if has_credentials:  # they would end up in logs and error messages
        return "must not contain credentials"
    return None


def _is_email_address(value: str) -> bool:
    _, addr = parseaddr(value)
    # a line break would let the value add headers (e.g. Bcc) to every message
    return (
        "\r" not in value
        and "\n" not in value
        and addr.count("@") == 1
        and not addr.startswith("@")
        and not addr.endswith("@")
    )


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"must be between {low} and {high}"
    return f"must be at least {low}" if low is not None else f"must be at most {high}"


def _constrained(adapter_key: str, f: OptionField, value: Any, parsed: Mapping[str, Any]) -> Any:
    """``value`` (already of the field's type) after the field's constraints; may normalise it."""
    if f.choices and value not in f.choices:
        raise _fail(adapter_key, f.name, "must be one of " + ", ".join(repr(c) for c in f.choices))
    if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
        raise _fail(adapter_key, f.name, _range_text(f.min, f.max))
    if f.min_length is not None and len(value) < f.min_length:
        raise _fail(adapter_key, f.name, f"must have at least {f.min_length} characters")
    if f.format == "https_url":
        http_allowed = bool(f.http_allowed_by and parsed.get(f.http_allowed_by))
        problem = _https_url_problem(value, http_allowed, f.http_allowed_by)
        if problem:
            raise _fail(adapter_key, f.name, problem)
    elif f.format == "uuid":
        try:
            value = str(uuid.UUID(value))
        except ValueError:
            raise _fail(adapter_key, f.name, "must be a UUID") from None
    elif f.format == "email_address" and not _is_email_address(value):
        raise _fail(adapter_key, f.name, "is not an e-mail address")
    if f.check is not None:
        try:
            f.check(value)
        except ValueError as exc:
            raise _fail(adapter_key, f.name, str(exc)) from None
    return value


def _of_type(value: Any, wanted: type) -> bool:
    if isinstance(value, bool):  # bool is an int subclass; True is no port number
        return wanted is bool
    if wanted is float:
        return isinstance(value, (int, float))
    return isinstance(value, wanted)


def _apply_schema(
    adapter_key: str, schema: Sequence[OptionField], options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The schema part of ``Adapter.parse_options`` (see there)."""
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise InvalidConfig(f"{adapter_key}: options must be a JSON object")
    known = {f.name for f in schema}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidConfig(f"{adapter_key}: unknown option(s): {', '.join(unknown)}")
    parsed: dict[str, Any] = {}
    given: list[OptionField] = []
    for f in schema:
        value = options.get(f.name)
        if value is None or value == "":
            if f.required:
                raise _fail(adapter_key, f.name, "is required")
            parsed[f.name] = f.default
            continue
        if not _of_type(value, f.type):
            raise _fail(adapter_key, f.name, f"must be of type {f.type.__name__}")
        parsed[f.name] = value
        given.append(f)
    # second pass: a constraint may read another option (http_allowed_by) with its default applied
    for f in given:
        parsed[f.name] = _constrained(adapter_key, f, parsed[f.name], parsed)
    return parsed


class Adapter(ABC):
    """Sends filings to one kind of receiver.

    Subclasses set ``key`` (stored on the Chamber row, never renamed), ``label`` and
    ``options_schema``, and implement ``deliver``. ``services`` carries collaborators the host
    application provides (for example the ``inbox`` adapter's store); adapters never reach for
    globals, the database or the web request themselves.

    Options are checked in one place, ``parse_options``: the schema declares types, defaults and
    constraints; a subclass overrides ``parse_options`` (calling ``super()``) only for rules that
    span several options. Defining the class raises ``TypeError`` if two fields share a name or
    ``http_allowed_by`` does not name a ``bool`` option of the schema.
    """

    key: ClassVar[str]  #: stable identifier stored on chamber rows
    label: ClassVar[str]  #: human-readable name for admin screens
    options_schema: ClassVar[Sequence[OptionField]] = ()  #: validates the chamber's options JSON
    #: name of the numeric option holding the seconds ``deliver`` waits for the receiver's answer
    #: (``None``: the adapter has none). The portal overrides it per attempt through
    #: ``with_answer_timeout``: after ``NoAnswer`` it retries with a longer one, up to its cap.
    answer_timeout_option: ClassVar[str | None] = None
    #: whether ``deliver_message`` forwards the company's answers and messages to the receiver
    forwards_messages: ClassVar[bool] = False
    #: set for subclasses written against the first contract (they override ``validate_options``)
    _legacy_validate_options: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = {f.name: f for f in cls.options_schema}
        if len(fields) != len(cls.options_schema):
            raise TypeError(f"{cls.__qualname__}: two options share a name")
        timeout_field = fields.get(cls.answer_timeout_option or "")
        if cls.answer_timeout_option is not None and (
            timeout_field is None or timeout_field.type not in (int, float)
        ):
            raise TypeError(f"{cls.__qualname__}: answer_timeout_option must name a numeric option")
        for f in cls.options_schema:
            flag = fields.get(f.http_allowed_by or "")
            if f.http_allowed_by is not None and (flag is None or flag.type is not bool):
                raise TypeError(
                    f"{cls.__qualname__}: option '{f.name}': http_allowed_by must name a bool option"
                )
        cls._legacy_validate_options = (
            cls.validate_options is not Adapter.validate_options
            and cls.parse_options is Adapter.parse_options
        )
        if cls._legacy_validate_options and "validate_options" in cls.__dict__:
            warnings.warn(
                f"{cls.__qualname__} overrides validate_options; override parse_options instead",
                DeprecationWarning,
                stacklevel=3,  # the class statement (via ABCMeta.__new__)
            )

    def __init__(self, services: Mapping[str, Any] | None = None) -> None:
        self.services: Mapping[str, Any] = services or {}

    def parse_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The chamber's options, checked, with defaults applied: the one validation entry point.

        Refuses unknown options, a missing required one, a value of the wrong type, and a value
        that breaks its field's declared constraints (``choices``, ``min``/``max``,
        ``min_length``, ``format``, ``check``). Raises ``InvalidConfig`` whose message starts with
        the adapter key and names the option. Never contacts the receiver (``check_config`` may).
        """
        if self._legacy_validate_options:
            return self.validate_options(options)
        return _apply_schema(self.key, self.options_schema, options)

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Deprecated alias of ``parse_options``, kept for callers and adapters of the first contract.

        An adapter that still overrides this method (and not ``parse_options``) keeps working:
        ``parse_options`` calls its override, and its ``super().validate_options`` applies the schema.
        """
        if self._legacy_validate_options:
            return _apply_schema(self.key, self.options_schema, options)
        return self.parse_options(options)

    def answer_timeout(self, options: Mapping[str, Any] | None) -> float | None:
        """The seconds ``deliver`` waits for the answer with ``options`` (``None`` if the adapter
        has no answer timeout). Cheap: reads the one option (its default if unset) without checking
        the others; a value that is not a number raises ``InvalidConfig``, as ``parse_options``
        would."""
        name = self.answer_timeout_option
        if name is None:
            return None
        (f,) = (f for f in self.options_schema if f.name == name)
        value = (options or {}).get(name)
        if value is None or value == "":
            value = f.default
        if not _of_type(value, float):
            raise _fail(self.key, name, f"must be of type {f.type.__name__}")
        return float(value)

    def with_answer_timeout(self, options: Mapping[str, Any], seconds: float) -> dict[str, Any]:
        """``options`` with the answer timeout set to ``seconds``, brought into the option's declared
        range (an ``int`` option is rounded up), so that ``parse_options`` accepts the result.
        An adapter without an answer timeout gets its options unchanged (as a copy)."""
        name = self.answer_timeout_option
        if name is None:
            return dict(options)
        (f,) = (f for f in self.options_schema if f.name == name)
        value = seconds if f.max is None else min(seconds, f.max)
        value = value if f.min is None else max(value, f.min)
        return {**options, name: math.ceil(value) if f.type is int else float(value)}

    def check_config(self, options: Mapping[str, Any] | None) -> None:
        """Raise ``InvalidConfig`` if the options are unusable. Subclasses may also ping the receiver."""
        self.parse_options(options)

    def check_destination(self, options: Mapping[str, Any], destination: str) -> None:
        """Raise ``InvalidConfig`` if options that parse cannot serve the body ``destination`` (the
        portal's slug of the receiving body). Most receivers serve whoever configures them: the
        default accepts any; an adapter that names the body in its options compares the two."""
        return None

    @abstractmethod
    def deliver(self, payload: FilingPayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Send the filing once.

        Guarantees: the same ``payload.delivery_id`` on a repeated call never creates a second copy
        at a receiver that deduplicates. The portal sends at least once: a call is repeated when
        its outcome was not recorded (a lost answer, a worker that died or stalled past its
        lease), so an adapter whose receiver does not deduplicate records what it needs to
        continue in ``payload.progress`` (optional; see ``Progress``). Raises ``TemporaryFailure``
        (retry later), its subclass ``NoAnswer`` (the request went out, the answer did not come
        within the answer timeout: retry later with a longer one), ``PermanentFailure`` (never
        retry) or ``Superseded`` (from ``Progress.record``: another attempt took over).
        """

    def deliver_message(self, payload: MessagePayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Send a company's message about a filing the body received through this adapter, once.

        Same guarantees and errors as ``deliver``: ``payload.delivery_id`` is the message's own
        idempotency key, ``payload.progress`` works the same way. Adapters that can forward
        messages set ``forwards_messages`` and override this; the portal never calls it otherwise
        (the company is told its answers cannot reach that body through the portal).
        """
        raise PermanentFailure(f"{self.key}: this adapter does not forward messages")

    def sends_messages(self, options: Mapping[str, Any]) -> bool:
        """Whether, with ``options``, the portal should hand this adapter the company's messages
        (``deliver_message``). Default: ``forwards_messages``. An adapter whose receiver reads
        messages elsewhere but wants to hear of them (the portal inbox with a push notification)
        decides by its options."""
        return self.forwards_messages

    def poll(self, receiver_ref: str, options: Mapping[str, Any]) -> list[ChamberEvent]:
        """Return status events for a delivered filing; adapters without a back channel return []."""
        return []
