"""Loads and validates service definitions from TOML data files.

A broken definition stops the application at start-up with a message naming the file and field.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .models import (
    DESTINATION_KINDS,
    FIELD_TYPES,
    SERVICE_KINDS,
    Choice,
    FieldDefinition,
    RoutingRule,
    ServiceDefinition,
    Text,
)

DEFINITIONS_DIR = Path(__file__).parent / "services"
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,80}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
PREFILL_PATHS = {
    "company.name", "company.legal_form", "company.street", "company.postcode",
    "company.city", "company.tax_number", "person.name", "person.email",
}


class DefinitionError(ValueError):
    """A service definition file is invalid; the message names file and field."""


class _Ctx:
    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str) -> DefinitionError:
        return DefinitionError(f"{self.source}: field '{where}': {problem}")

    def text(self, raw: dict, key: str, where: str | None = None, required: bool = True) -> Text | None:
        where = where or key
        value = raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(value.get(lang), str) and value.get(lang).strip() for lang in ("de", "en")
        ):
            raise self.fail(where, "needs non-empty texts 'de' and 'en'")
        extra = set(value) - {"de", "en"}
        if extra:
            raise self.fail(where, f"unknown language(s) {sorted(extra)}")
        return Text(de=value["de"].strip(), en=value["en"].strip())

    def string(self, raw: dict, key: str, where: str | None = None, required: bool = True) -> str | None:
        value = raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where or key, "must be a non-empty string")
        return value.strip()


def _field(ctx: _Ctx, raw: Any, index: int) -> FieldDefinition:
    where = f"fields[{index}]"
    if not isinstance(raw, dict):
        raise ctx.fail(where, "must be a table")
    allowed = {"name", "type", "label", "required", "hint", "prefill", "choices", "max_length",
               "autocomplete"}
    unknown = set(raw) - allowed
    if unknown:
        raise ctx.fail(where, f"unknown key(s) {sorted(unknown)}")
    name = ctx.string(raw, "name", f"{where}.name")
    if not NAME_RE.match(name):
        raise ctx.fail(f"{where}.name", f"'{name}' must be lower_snake_case")
    where = f"fields.{name}"
    ftype = ctx.string(raw, "type", f"{where}.type")
    if ftype not in FIELD_TYPES:
        raise ctx.fail(f"{where}.type", f"'{ftype}' is not one of {', '.join(FIELD_TYPES)}")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise ctx.fail(f"{where}.required", "must be true or false")
    prefill = ctx.string(raw, "prefill", f"{where}.prefill", required=False)
    if prefill is not None and prefill not in PREFILL_PATHS:
        raise ctx.fail(f"{where}.prefill", f"'{prefill}' is not one of {sorted(PREFILL_PATHS)}")
    choices: list[Choice] = []
    if ftype == "choice":
        raw_choices = raw.get("choices")
        if not isinstance(raw_choices, list) or len(raw_choices) < 2:
            raise ctx.fail(f"{where}.choices", "a choice field needs at least two choices")
        for i, c in enumerate(raw_choices):
            if not isinstance(c, dict):
                raise ctx.fail(f"{where}.choices[{i}]", "must be a table")
            value = ctx.string(c, "value", f"{where}.choices[{i}].value")
            choices.append(Choice(value=value, label=ctx.text(c, "label", f"{where}.choices[{i}].label")))
        if len({c.value for c in choices}) != len(choices):
            raise ctx.fail(f"{where}.choices", "choice values must be unique")
    elif "choices" in raw:
        raise ctx.fail(f"{where}.choices", "only a choice field has choices")
    max_length = raw.get("max_length", 2000 if ftype == "textarea" else 200)
    if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 10000:
        raise ctx.fail(f"{where}.max_length", "must be an integer between 1 and 10000")
    return FieldDefinition(
        name=name,
        type=ftype,
        label=ctx.text(raw, "label", f"{where}.label"),
        required=required,
        hint=ctx.text(raw, "hint", f"{where}.hint", required=False),
        prefill=prefill,
        choices=tuple(choices),
        max_length=max_length,
        autocomplete=ctx.string(raw, "autocomplete", f"{where}.autocomplete", required=False),
    )


def _routing(ctx: _Ctx, raw: Any, index: int, fields: dict[str, FieldDefinition]) -> RoutingRule:
    where = f"routing[{index}]"
    if not isinstance(raw, dict):
        raise ctx.fail(where, "must be a table")
    unknown = set(raw) - {"kind", "role", "when"}
    if unknown:
        raise ctx.fail(where, f"unknown key(s) {sorted(unknown)}")
    kind = ctx.string(raw, "kind", f"{where}.kind")
    if kind not in DESTINATION_KINDS:
        raise ctx.fail(f"{where}.kind", f"'{kind}' is not one of {', '.join(DESTINATION_KINDS)}")
    role = raw.get("role", "primary")
    if role not in ("primary", "copy"):
        raise ctx.fail(f"{where}.role", "must be 'primary' or 'copy'")
    when = raw.get("when")
    when_field = when_equals = None
    if when is not None:
        if not isinstance(when, dict) or set(when) != {"field", "equals"}:
            raise ctx.fail(f"{where}.when", "must be a table with 'field' and 'equals'")
        when_field, when_equals = when["field"], when["equals"]
        target = fields.get(when_field)
        if target is None:
            raise ctx.fail(f"{where}.when.field", f"no field named '{when_field}'")
        if target.type == "yesno" and not isinstance(when_equals, bool):
            raise ctx.fail(f"{where}.when.equals", "a yes/no field compares with true or false")
        if target.type == "choice" and when_equals not in {c.value for c in target.choices}:
            raise ctx.fail(f"{where}.when.equals", f"'{when_equals}' is not a choice of '{when_field}'")
    return RoutingRule(kind=kind, role=role, when_field=when_field, when_equals=when_equals)


def parse_definition(raw: dict[str, Any], source: str) -> ServiceDefinition:
    """Validate one parsed TOML document and build its ``ServiceDefinition``."""
    ctx = _Ctx(source)
    allowed = {"key", "kind", "title", "summary", "competent_body", "legal_basis", "leika",
               "fields", "routing", "location_field", "documents"}
    unknown = set(raw) - allowed
    if unknown:
        raise ctx.fail(sorted(unknown)[0], "unknown key")
    key = ctx.string(raw, "key")
    if not KEY_RE.match(key):
        raise ctx.fail("key", f"'{key}' must be lower-case letters, digits and hyphens")
    kind = ctx.string(raw, "kind")
    if kind not in SERVICE_KINDS:
        raise ctx.fail("kind", f"'{kind}' is not one of {', '.join(SERVICE_KINDS)}")
    leika = raw.get("leika") or None
    if leika is not None and not (isinstance(leika, str) and re.fullmatch(r"\d{14}", leika)):
        raise ctx.fail("leika", "must be empty or a 14-digit LeiKa key")
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise ctx.fail("fields", "at least one field is needed")
    fields: dict[str, FieldDefinition] = {}
    for i, rf in enumerate(raw_fields):
        fd = _field(ctx, rf, i)
        if fd.name in fields:
            raise ctx.fail(f"fields.{fd.name}", "duplicate field name")
        fields[fd.name] = fd
    raw_routing = raw.get("routing")
    if not isinstance(raw_routing, list) or not raw_routing:
        raise ctx.fail("routing", "at least one routing rule is needed")
    routing = tuple(_routing(ctx, r, i, fields) for i, r in enumerate(raw_routing))
    if not any(r.when_field is None and r.role == "primary" for r in routing):
        raise ctx.fail("routing", "needs one unconditional primary destination")
    location_field = raw.get("location_field")
    if location_field is not None:
        if location_field not in fields or fields[location_field].type != "postcode":
            raise ctx.fail("location_field", "must name a field of type 'postcode'")
    documents = raw.get("documents", [])
    if not isinstance(documents, list):
        raise ctx.fail("documents", "must be a list")
    return ServiceDefinition(
        key=key,
        kind=kind,
        title=ctx.text(raw, "title"),
        summary=ctx.text(raw, "summary"),
        competent_body=ctx.text(raw, "competent_body"),
        legal_basis=ctx.string(raw, "legal_basis"),
        leika=leika,
        fields=tuple(fields.values()),
        routing=routing,
        location_field=location_field,
        documents=tuple(ctx.text({"d": d}, "d", f"documents[{i}]") for i, d in enumerate(documents)),
        source=source,
    )


def load_definition_file(path: Path) -> ServiceDefinition:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{path.name}: not valid TOML: {exc}") from exc
    definition = parse_definition(raw, path.name)
    if definition.key != path.stem:
        raise DefinitionError(f"{path.name}: field 'key': '{definition.key}' must match the file name")
    return definition


def load_catalog(directory: Path = DEFINITIONS_DIR) -> dict[str, ServiceDefinition]:
    """Load every ``*.toml`` in ``directory``; raise ``DefinitionError`` on the first broken one."""
    catalog: dict[str, ServiceDefinition] = {}
    for path in sorted(directory.glob("*.toml")):
        definition = load_definition_file(path)
        catalog[definition.key] = definition
    if not catalog:
        raise DefinitionError(f"{directory}: no service definitions found")
    return catalog
