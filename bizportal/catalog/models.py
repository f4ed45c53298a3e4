"""Service definitions as loaded from the data files (plain, immutable objects; not ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERVICE_KINDS = ("trade", "permit", "registration")
FIELD_TYPES = ("text", "textarea", "email", "date", "number", "choice", "yesno", "postcode",
               "address", "person", "group", "file", "country", "wz2008")
#: field types whose answer a condition can test
CONDITION_TYPES = ("yesno", "choice", "country")
#: formats a text field can demand; validated in ``bizportal.common.validators``
TEXT_FORMATS = ("iban", "vat_de", "steuernummer", "handelsregisternummer", "wirtschafts_idnr", "wz2008",
                "phone")
DESTINATION_KINDS = ("HWK", "IHK", "GEWERBEAMT")
LIFE_EVENTS = ("gruendung", "aenderung", "aufgabe", "ausbildung", "aussenhandel", "erlaubnis")
FILE_TYPES = ("pdf", "png", "jpeg")
#: sub-fields of the compound types, in display order
ADDRESS_PARTS = ("street", "postcode", "city")
PERSON_PARTS = ("family_name", "given_names", "birth_date", "birth_place", "nationality")


#: the limits a service's ``[retention]`` periods must keep (``loader``)
RETENTION_LIMITS = {"draft_days": (1, 3650), "closed_years": (1, 30)}


@dataclass(frozen=True)
class Retention:
    """How long a service's data stay (``retention`` in the definition; ``retention.services``
    deletes them). None: the portal's default (``RETENTION_DRAFT_DAYS``, ``RETENTION_CLOSED_YEARS``)."""

    #: a draft untouched this many days is deleted (the company is reminded before)
    draft_days: int | None = None
    #: a filing decided or withdrawn this many years ago is deleted with everything on it
    closed_years: int | None = None


@dataclass(frozen=True)
class Text:
    """A text in German (the source language) and English."""

    de: str
    en: str

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.de


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text


@dataclass(frozen=True)
class Condition:
    """True when the answer to ``field`` equals ``equals``; or, with ``values``, when it is one of
    them (``negate``: when it is none of them; an unanswered field is none of them)."""

    field: str
    equals: Any = None
    values: tuple[Any, ...] = ()
    negate: bool = False

    def holds(self, answers: dict[str, Any]) -> bool:
        answer = answers.get(self.field)
        if self.values:
            return (answer in self.values) != self.negate
        return answer == self.equals


@dataclass(frozen=True)
class FieldDefinition:
    name: str
    type: str
    label: Text
    required: bool = True
    hint: Text | None = None
    #: dotted path into the company account, e.g. ``company.name``
    prefill: str | None = None
    choices: tuple[Choice, ...] = ()
    max_length: int = 200
    autocomplete: str | None = None
    step: str = "angaben"
    format: str | None = None
    show_if: Condition | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: file fields: allowed types and size limit
    accept: tuple[str, ...] = ()
    max_size_mb: float = 10.0
    #: group fields: the fields of one entry, and how many entries
    fields: tuple[FieldDefinition, ...] = ()
    min_items: int = 1
    max_items: int = 10
    item_label: Text | None = None

    def visible(self, answers: dict[str, Any]) -> bool:
        return self.show_if is None or self.show_if.holds(answers)


@dataclass(frozen=True)
class StepDefinition:
    key: str
    title: Text
    show_if: Condition | None = None

    def visible(self, answers: dict[str, Any]) -> bool:
        return self.show_if is None or self.show_if.holds(answers)


@dataclass(frozen=True)
class RoutingRule:
    """Send to a body of ``kind`` as ``role``; if ``when`` is set, only when it holds."""

    kind: str
    role: str = "primary"
    when: Condition | None = None

    def applies(self, answers: dict[str, Any]) -> bool:
        return self.when is None or self.when.holds(answers)


@dataclass(frozen=True)
class ServiceDefinition:
    key: str
    kind: str
    title: Text
    summary: Text
    competent_body: Text
    legal_basis: str
    leika: str | None
    fields: tuple[FieldDefinition, ...]
    routing: tuple[RoutingRule, ...]
    steps: tuple[StepDefinition, ...] = ()
    #: the answer that decides where the competent body is (a postcode or address field)
    location_field: str | None = None
    documents: tuple[Text, ...] = field(default_factory=tuple)
    fee: Text | None = None
    processing_time: Text | None = None
    life_events: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    max_total_attachments_mb: float = 20.0
    #: minimum eIDAS level of the login that may file this service (None: any login)
    trust_level: str | None = None
    #: the official form or published source the fields follow (e.g. "Anlage 1 GewAnzV (GewA 1)")
    form_source: str | None = None
    #: what happens after the filing is submitted (shown on the confirmation); None: a general text
    next_steps: Text | None = None
    retention: Retention = field(default_factory=Retention)
    source: str = ""

    def destinations(self, answers: dict[str, Any]) -> list[tuple[str, str]]:
        """(body kind, role) pairs that the answers route the filing to, in definition order."""
        seen: dict[str, str] = {}
        for rule in self.routing:
            if rule.applies(answers) and rule.kind not in seen:
                seen[rule.kind] = rule.role
        return list(seen.items())

    @property
    def body_kinds(self) -> tuple[str, ...]:
        """Every kind of body the service can reach (for the catalog filter)."""
        return tuple(dict.fromkeys(r.kind for r in self.routing))

    def field(self, name: str) -> FieldDefinition | None:
        for fd in self.fields:
            if fd.name == name:
                return fd
        return None

    def step_fields(self, step_key: str) -> list[FieldDefinition]:
        return [fd for fd in self.fields if fd.step == step_key]

    def visible_steps(self, answers: dict[str, Any]) -> list[StepDefinition]:
        return [s for s in self.steps if s.visible(answers)]

    def postcode_from(self, answers: dict[str, Any]) -> str | None:
        """The postcode that decides the competent body, from the location field's answer."""
        if not self.location_field:
            return None
        value = answers.get(self.location_field)
        if isinstance(value, dict):
            return value.get("postcode")
        return value
