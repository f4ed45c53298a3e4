"""Loads and validates life-event bundles ("Unternehmenslagen") from TOML data files in
``catalog/bundles/``, against the loaded services.

A bundle names the services it can file (each always or under a condition on the bundle's
questions), and its questions: fields like a service's (steps, prefill, conditions), some with
``maps = { <service key> = "<field>" }`` saying which service fields a shared answer fills
(``"<field>.<part>"`` fills one part of an address field). A broken bundle stops the start with a
``DefinitionError`` naming the file and the field, like a broken service definition.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .loader import DefinitionError, _condition, _Ctx, steps_and_fields
from .models import (
    ADDRESS_PARTS,
    LIFE_EVENTS,
    BundleDefinition,
    BundleService,
    Condition,
    Distinct,
    FieldDefinition,
    Preset,
    ServiceDefinition,
    SharedMapping,
)

BUNDLES_DIR = Path(__file__).parent / "bundles"
BUNDLE_KEYS = {"key", "title", "summary", "life_events", "keywords", "steps", "fields", "services", "distinct"}
SERVICE_ENTRY_KEYS = {"service", "reason", "when", "presets"}
PRESET_KEYS = {"field", "value", "when"}
#: a shared answer of this question type may fill a field of these types
COMPATIBLE = {"text": ("text", "textarea"), "textarea": ("textarea",)}
#: the question type an address part takes
PART_TYPES = {"street": "text", "postcode": "postcode", "city": "text"}
#: field types no answer is shared into (files stay with their service; groups differ per form)
NOT_SHARED = ("file", "group")


def _services(ctx: _Ctx, raw: Any, catalog: dict[str, ServiceDefinition],
              questions: dict[str, FieldDefinition]) -> tuple[BundleService, ...]:
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("services", "a bundle needs at least one service")
    entries: list[BundleService] = []
    for i, entry in enumerate(raw):
        where = f"services[{i}]"
        if not isinstance(entry, dict) or not set(entry) <= SERVICE_ENTRY_KEYS:
            raise ctx.fail(where, "must be a table with service, reason and optional when and presets")
        key = ctx.string(entry, "service", f"{where}.service")
        if key not in catalog:
            raise ctx.fail(f"{where}.service", f"no service '{key}' in the catalog")
        if any(e.service == key for e in entries):
            raise ctx.fail(f"{where}.service", f"the services conflict: '{key}' is listed twice")
        when = _condition(ctx, entry["when"], f"{where}.when", questions) if "when" in entry else None
        presets = _presets(ctx, entry.get("presets", []), catalog[key], questions, f"{where}.presets")
        entries.append(BundleService(service=key, reason=ctx.text(entry, "reason", f"{where}.reason"), when=when,
                                     presets=presets))
    return tuple(entries)


def _preset_value(ctx: _Ctx, fd: FieldDefinition, value: Any, where: str, service: ServiceDefinition) -> Any:
    """``value`` if it is a valid answer of ``fd`` (a choice among its choices, true/false for a
    yes/no field, a text within its length); else ``DefinitionError``."""
    if fd.type == "choice":
        choices = [c.value for c in fd.choices]
        if value not in choices:
            raise ctx.fail(where, f"'{value}' is not a choice of '{fd.name}' in '{service.key}' "
                                  f"({service.source}); its choices are {', '.join(choices)}")
    elif fd.type == "yesno":
        if not isinstance(value, bool):
            raise ctx.fail(where, f"the yes/no field '{fd.name}' takes true or false")
    elif fd.type in ("text", "textarea"):
        if not isinstance(value, str) or not value.strip() or len(value) > fd.max_length or fd.format:
            raise ctx.fail(where, f"'{fd.name}' takes a text of at most {fd.max_length} characters"
                                  + (" (no fixed value for a formatted text)" if fd.format else ""))
    else:
        raise ctx.fail(where, f"a fixed value can only be given to a choice, yes/no or text field, "
                              f"'{fd.name}' is a {fd.type} field")
    return value


def _presets(ctx: _Ctx, raw: Any, service: ServiceDefinition, questions: dict[str, FieldDefinition],
             where: str) -> tuple[Preset, ...]:
    """The fixed values a bundle gives ``service``'s fields: ``[{ field, value, when? }]``. Two
    presets of one field must exclude each other (conditions on the same question with values
    that never hold together)."""
    if not isinstance(raw, list):
        raise ctx.fail(where, "must be a list of tables { field, value, when }")
    presets: list[Preset] = []
    for i, rp in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(rp, dict) or not {"field", "value"} <= set(rp) or not set(rp) <= PRESET_KEYS:
            raise ctx.fail(at, "must be a table with field, value and optional when")
        name = rp["field"]
        fd = service.field(name) if isinstance(name, str) else None
        if fd is None:
            raise ctx.fail(f"{at}.field", f"service '{service.key}' ({service.source}) has no field '{name}'")
        value = _preset_value(ctx, fd, rp["value"], f"{at}.value", service)
        when = _condition(ctx, rp["when"], f"{at}.when", questions) if "when" in rp else None
        for other in presets:
            if other.field == name and not _exclusive(other.when, when):
                raise ctx.fail(f"{at}.field", f"the presets conflict: '{name}' of '{service.key}' would get "
                                              f"both '{other.value}' and '{value}'")
        presets.append(Preset(field=name, value=value, when=when))
    return tuple(presets)


def _distinct(ctx: _Ctx, raw: Any, questions: dict[str, FieldDefinition]) -> tuple[Distinct, ...]:
    """``[{ first = [...], second = [...], message = { de, en } }]``: two equally long lists of
    the bundle's questions that must not all be answered alike."""
    if not isinstance(raw, list):
        raise ctx.fail("distinct", "must be a list of tables { first, second, message }")
    out = []
    for i, rd in enumerate(raw):
        where = f"distinct[{i}]"
        if not isinstance(rd, dict) or set(rd) != {"first", "second", "message"}:
            raise ctx.fail(where, "must be a table with first, second and message")
        groups = []
        for side in ("first", "second"):
            names = rd[side]
            if not isinstance(names, list) or not names:
                raise ctx.fail(f"{where}.{side}", "must list questions")
            unknown = [n for n in names if n not in questions]
            if unknown:
                raise ctx.fail(f"{where}.{side}", f"no question named {unknown[0]!r}")
            groups.append(tuple(names))
        if len(groups[0]) != len(groups[1]):
            raise ctx.fail(where, "first and second must list as many questions")
        out.append(Distinct(first=groups[0], second=groups[1], message=ctx.text(rd, "message", f"{where}.message")))
    return tuple(out)


def _exclusive(a: Condition | None, b: Condition | None) -> bool:
    """True when conditions ``a`` and ``b`` can never hold together (same question, disjoint
    values); a missing condition always holds."""
    if a is None or b is None or a.field != b.field or a.negate or b.negate:
        return False
    values_a = set(a.values) if a.values else {a.equals}
    values_b = set(b.values) if b.values else {b.equals}
    return not values_a & values_b


def _mapping(ctx: _Ctx, question: FieldDefinition, service: ServiceDefinition, target: Any,
             where: str) -> SharedMapping:
    if not isinstance(target, str) or not target.strip():
        raise ctx.fail(where, "must name a field of the service")
    name, _, part = target.strip().partition(".")
    fd = service.field(name)
    if fd is None:
        raise ctx.fail(where, f"service '{service.key}' ({service.source}) has no field '{name}'")
    if fd.type in NOT_SHARED or question.type in NOT_SHARED:
        raise ctx.fail(where, f"a {fd.type if fd.type in NOT_SHARED else question.type} field cannot be shared")
    if part:
        if fd.type != "address" or part not in ADDRESS_PARTS:
            raise ctx.fail(where, f"'{target}': only an address field has parts ({', '.join(ADDRESS_PARTS)})")
        if question.type != PART_TYPES[part]:
            raise ctx.fail(where, f"the {part} of an address takes a {PART_TYPES[part]} question, "
                                  f"not a {question.type} question")
        return SharedMapping(service=service.key, field=name, part=part)
    if fd.type not in COMPATIBLE.get(question.type, (question.type,)):
        raise ctx.fail(where, f"a {question.type} question cannot fill the {fd.type} field '{name}'")
    if question.type == "choice":
        missing = sorted({c.value for c in question.choices} - {c.value for c in fd.choices})
        if missing:
            raise ctx.fail(where, f"choice(s) {missing} are not choices of '{name}' in '{service.key}'")
    if question.type in ("text", "textarea", "email") and question.max_length > fd.max_length:
        raise ctx.fail(where, f"the question allows {question.max_length} characters, '{name}' only "
                              f"{fd.max_length}")
    if question.format != fd.format:
        raise ctx.fail(where, f"the question's format {question.format!r} differs from {fd.format!r} of '{name}'")
    return SharedMapping(service=service.key, field=name)


def parse_bundle(raw: dict[str, Any], source: str, catalog: dict[str, ServiceDefinition]) -> BundleDefinition:
    """Validate one parsed bundle file against the ``catalog`` of services and build its
    ``BundleDefinition``. Raises ``DefinitionError`` naming ``source`` and the field."""
    ctx = _Ctx(source)
    ctx.known_keys(raw, BUNDLE_KEYS)
    key = ctx.key(raw)
    if key in catalog:
        raise ctx.fail("key", f"'{key}' is already the key of a service")
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise ctx.fail("fields", "at least one question is needed")
    maps: dict[int, Any] = {}
    plain_fields = []
    for i, rf in enumerate(raw_fields):
        if isinstance(rf, dict) and "maps" in rf:
            rf = dict(rf)
            maps[i] = rf.pop("maps")
        plain_fields.append(rf)
    steps, questions = steps_and_fields(ctx, {"steps": raw.get("steps"), "fields": plain_fields})
    services = _services(ctx, raw.get("services"), catalog, questions)
    listed = {s.service for s in services}

    names = list(questions)
    shared: dict[str, tuple[SharedMapping, ...]] = {}
    filled: dict[tuple[str, str, str | None], str] = {}
    for i, raw_map in maps.items():
        question = questions[names[i]]
        where = f"fields.{question.name}.maps"
        if not isinstance(raw_map, dict) or not raw_map:
            raise ctx.fail(where, "must be a table of service key = field name")
        mappings = []
        for service_key, target in raw_map.items():
            if service_key not in listed:
                raise ctx.fail(f"{where}.{service_key}", f"'{service_key}' is not one of the bundle's services")
            mapping = _mapping(ctx, question, catalog[service_key], target, f"{where}.{service_key}")
            slot = (mapping.service, mapping.field, mapping.part)
            clash = next((q for (svc, name, part), q in filled.items()
                          if (svc, name) == (mapping.service, mapping.field)
                          and (part is None or mapping.part is None or part == mapping.part)), None)
            if clash:
                raise ctx.fail(f"{where}.{service_key}", f"the answers conflict: '{clash}' fills "
                                                         f"'{target}' of '{service_key}' too")
            filled[slot] = question.name
            mappings.append(mapping)
        shared[question.name] = tuple(mappings)
    for i, entry in enumerate(services):
        for j, preset in enumerate(entry.presets):
            filler = next((q for (svc, name, _part), q in filled.items()
                           if (svc, name) == (entry.service, preset.field)), None)
            if filler:
                raise ctx.fail(f"services[{i}].presets[{j}].field",
                               f"the answers conflict: '{filler}' fills '{preset.field}' of "
                               f"'{entry.service}', which has a fixed value too")

    distinct = _distinct(ctx, raw.get("distinct", []), questions)
    life_events = raw.get("life_events", [])
    if not isinstance(life_events, list) or any(e not in LIFE_EVENTS for e in life_events):
        raise ctx.fail("life_events", f"must list values among {', '.join(LIFE_EVENTS)}")
    keywords = raw.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
        raise ctx.fail("keywords", "must be a list of words")
    title = ctx.text(raw, "title")
    summary = ctx.text(raw, "summary")
    questionnaire = ServiceDefinition(
        key=key, kind="registration", title=title, summary=summary, competent_body=title, legal_basis="",
        leika=None, fields=tuple(questions.values()), routing=(), steps=steps, source=source)
    return BundleDefinition(key=key, title=title, summary=summary, questionnaire=questionnaire,
                            services=services, shared=shared, life_events=tuple(life_events),
                            keywords=tuple(k.strip() for k in keywords), source=source, distinct=distinct)


def load_bundle_text(text: str, source: str, catalog: dict[str, ServiceDefinition]) -> BundleDefinition:
    """A bundle from its TOML text; ``source`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{source}: not valid TOML: {exc}") from exc
    return parse_bundle(raw, source, catalog)


def is_bundle_source(text: str) -> bool:
    """Whether a definition file is a bundle: its top level has ``services`` (the services it
    files), a key no service definition has. Text that is not TOML counts as a service
    definition, whose loader then names the error."""
    try:
        return "services" in tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False


def bundle_sources(directory: Path | None = None) -> list[tuple[str, str]]:
    """(file name, text) of every ``*.toml`` of ``directory`` (the shipped bundles)."""
    sources = []
    for path in sorted((directory or BUNDLES_DIR).glob("*.toml")):
        try:
            sources.append((path.name, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError as exc:
            raise DefinitionError(f"{path.name}: not UTF-8 text: {exc}") from exc
    return sources


def load_bundle_source(name: str, text: str, catalog: dict[str, ServiceDefinition]) -> BundleDefinition:
    """The bundle of the file ``name`` (``<key>.toml``), checked against ``catalog``."""
    bundle = load_bundle_text(text, name, catalog)
    if bundle.key != Path(name).stem:
        raise DefinitionError(f"{name}: field 'key': '{bundle.key}' must match the file name")
    return bundle


def load_bundles(catalog: dict[str, ServiceDefinition], directory: Path | None = None,
                 ) -> dict[str, BundleDefinition]:
    """Every ``*.toml`` of ``directory`` (the shipped bundles), checked against ``catalog``.
    Raises ``DefinitionError`` on the first broken file."""
    bundles: dict[str, BundleDefinition] = {}
    for name, text in bundle_sources(directory):
        bundle = load_bundle_source(name, text, catalog)
        bundles[bundle.key] = bundle
    return bundles
