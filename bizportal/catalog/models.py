"""Service definitions as loaded from the data files (plain, immutable objects; not ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERVICE_KINDS = ("trade", "permit", "registration")
FIELD_TYPES = ("text", "textarea", "email", "date", "choice", "yesno", "postcode")
DESTINATION_KINDS = ("HWK", "IHK", "GEWERBEAMT")


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


@dataclass(frozen=True)
class RoutingRule:
    """Send to a body of ``kind`` as ``role``; if ``when_field`` is set, only when it equals ``when_equals``."""

    kind: str
    role: str = "primary"
    when_field: str | None = None
    when_equals: Any = None

    def applies(self, answers: dict[str, Any]) -> bool:
        if self.when_field is None:
            return True
        return answers.get(self.when_field) == self.when_equals


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
    #: the answer that decides where the competent body is (postcode field), else the company's
    location_field: str | None = None
    documents: tuple[Text, ...] = field(default_factory=tuple)
    source: str = ""

    def destinations(self, answers: dict[str, Any]) -> list[tuple[str, str]]:
        """(body kind, role) pairs that the answers route the filing to, in definition order."""
        seen: dict[str, str] = {}
        for rule in self.routing:
            if rule.applies(answers) and rule.kind not in seen:
                seen[rule.kind] = rule.role
        return list(seen.items())
