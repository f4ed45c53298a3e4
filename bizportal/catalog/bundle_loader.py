"""Loads and validates life-event bundles ("Unternehmenslagen") from TOML data files in
``catalog/bundles/``, against the loaded services.

A bundle names the services it can file (each always or under a condition on the bundle's
questions), and its questions: fields like a service's (steps, prefill, conditions), some with
``maps = { <service key> = "<field>" }`` saying which service fields a shared answer fills
(``"<field>.<part>"`` fills one part of an address field). A repeating group question (the
persons behind the business) maps as a table: ``{ field = "<group field>", items = { <its
sub-field> = "<the question's sub-field>", ... } }`` fills every entry of a group field of the
service; ``{ field = "<field>", first = "<sub-field>" }`` or ``first = { <part> = "<sub-field>" }``
fills a field that asks for one person (a person or address field by parts, or an address field
from an address sub-field) from the first entry, with ``when`` only while a condition holds (the
founder as the Handwerksrolle's Betriebsleiterin, when she leads the business).
A group is given whole: every required sub-field of the service's group must be filled, under
the same condition, so its step needs nothing more. Number questions may add up into one number
field: ``{ field = "<number field>", sum = true }`` in each of their ``maps``. A service entry may
give fixed values (``presets``), also only while another of the bundle's services is filed with it
(``filed_with``), and waive uploads (``waives``). The ``when`` of a fixed value or a conditional
mapping, and of a service entry, may list several conditions, which must all hold; a service entry's
``same_body``/``other_body = { field, other }`` makes it apply only while the bodies (of its primary
receiver's kind) competent for two postcode questions are the same / differ. A broken bundle stops the start with a
``DefinitionError`` naming the file and the field, like a broken service definition.
"""

from __future__ import annotations

import dataclasses
import threading
import tomllib
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .loader import PREFILL_PATHS, DefinitionError, _checks, _condition, _Ctx, steps_and_fields
from .models import (
    ADDRESS_PARTS,
    BODY_RULES,
    BUNDLE_ANSWER,
    LIFE_EVENTS,
    PERSON_PARTS,
    AllOf,
    BodyCondition,
    BundleDefinition,
    BundleService,
    Check,
    Condition,
    Distinct,
    FieldDefinition,
    Preset,
    ServiceDefinition,
    SharedMapping,
    Waiver,
)

BUNDLES_DIR = Path(__file__).parent / "bundles"
BUNDLE_KEYS = {"key", "title", "summary", "life_events", "keywords", "steps", "fields", "services", "distinct",
               "checks"}
SERVICE_ENTRY_KEYS = {"service", "reason", "required_reason", "when", "presets", "waives", "prefill", "same_body",
                      "other_body"}
#: a service entry's ``same_body``/``other_body``: the postcode questions whose bodies it compares
BODY_CONDITION_KEYS = {"field", "other"}
WAIVER_KEYS = {"field", "filed_with", "note"}
PRESET_KEYS = {"field", "value", "when", "filed_with", "note"}
#: a shared answer of this question type may fill a field of these types
COMPATIBLE = {"text": ("text", "textarea"), "textarea": ("textarea",)}
#: the question type an address part takes
PART_TYPES = {"street": "text", "postcode": "postcode", "city": "text"}
#: the question type a person's part takes (``first`` of a group question)
PERSON_PART_TYPES = {"family_name": "text", "given_names": "text", "birth_date": "date", "birth_place": "text",
                     "nationality": "text"}
#: a person's parts that also take a country question: its code is given as the state's German name
COUNTRY_NAME_PARTS = ("nationality",)
#: the longest text the form of an address or person part takes
PART_LENGTHS = {"street": 150, "city": 100, "family_name": 100, "given_names": 100, "birth_place": 100,
                "nationality": 100}
#: the parts a required address or person field cannot do without
REQUIRED_PARTS = {"address": ADDRESS_PARTS, "person": ("family_name", "given_names", "birth_date")}
#: field types no answer is shared into (files stay with their service)
NOT_SHARED = ("file", "multichoice")
GROUP_MAP_KEYS = {"field", "items", "first", "count"}
SUM_MAP_KEYS = {"field", "sum"}
COUNT_KEYS = {"field", "when"}


def _services(ctx: _Ctx, raw: Any, catalog: dict[str, ServiceDefinition],
              questions: dict[str, FieldDefinition]) -> tuple[BundleService, ...]:
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("services", "a bundle needs at least one service")
    entries: list[BundleService] = []
    for i, entry in enumerate(raw):
        where = f"services[{i}]"
        if not isinstance(entry, dict) or not set(entry) <= SERVICE_ENTRY_KEYS:
            raise ctx.fail(where, "must be a table with service, reason and optional required_reason, when, "
                                  "presets and waives")
        key = ctx.string(entry, "service", f"{where}.service")
        if key not in catalog:
            raise ctx.fail(f"{where}.service", f"no service '{key}' in the catalog")
        if any(e.service == key for e in entries):
            raise ctx.fail(f"{where}.service", f"the services conflict: '{key}' is listed twice")
        when = _when(ctx, entry["when"], f"{where}.when", questions) if "when" in entry else None
        entries.append(BundleService(service=key, reason=ctx.text(entry, "reason", f"{where}.reason"), when=when,
                                     required_reason=ctx.text(entry, "required_reason", f"{where}.required_reason",
                                                              required=False),
                                     body=_body_condition(ctx, entry, catalog[key], questions, where)))
    listed = {e.service for e in entries}
    for i, entry in enumerate(raw):
        service = catalog[entries[i].service]
        presets = _presets(ctx, entry.get("presets", []), service, questions, listed, f"services[{i}].presets")
        waives = _waivers(ctx, entry["waives"], service, listed, f"services[{i}].waives") \
            if "waives" in entry else ()
        prefill = _prefill(ctx, entry["prefill"], service, f"services[{i}].prefill") if "prefill" in entry else ()
        entries[i] = dataclasses.replace(entries[i], presets=presets, waives=waives, prefill=prefill)
    return tuple(entries)


def _body_condition(ctx: _Ctx, entry: dict[str, Any], service: ServiceDefinition,
                    questions: dict[str, FieldDefinition], where: str) -> BodyCondition | None:
    """``same_body = { field, other }`` or ``other_body = { field, other }`` of a service entry: two
    postcode questions, compared by the body of the service's primary receiver (routed without a
    condition) competent for each."""
    rules = [rule for rule in ("same_body", "other_body") if rule in entry]
    if not rules:
        return None
    if len(rules) > 1:
        raise ctx.fail(where, "a service takes same_body or other_body, not both")
    rule = rules[0]
    at = f"{where}.{rule}"
    raw = entry[rule]
    if not isinstance(raw, dict) or set(raw) != BODY_CONDITION_KEYS:
        raise ctx.fail(at, "must be a table { field, other } naming two postcode questions")
    for name in (raw["field"], raw["other"]):
        fd = questions.get(name) if isinstance(name, str) else None
        if fd is None or fd.type != "postcode":
            raise ctx.fail(at, f"'{name}' is not a postcode question of the bundle")
    kind = next((r.kind for r in service.routing if r.role == "primary" and r.when is None), None)
    if kind is None:
        raise ctx.fail(at, f"'{service.key}' has no primary receiver routed without a condition")
    return BodyCondition(rule=rule, kind=kind, field=raw["field"], other=raw["other"])


def _prefill(ctx: _Ctx, raw: Any, service: ServiceDefinition, where: str) -> tuple[tuple[str, str], ...]:
    """``prefill = { <field> = "<account path>" }``: account data a new draft of ``service`` starts
    with in the bundle, named as a field's ``prefill`` (``company.address`` for an address field)."""
    if not isinstance(raw, dict) or not raw:
        raise ctx.fail(where, "must be a table of <field> = \"<account path>\"")
    out = []
    for name, path in raw.items():
        fd = service.field(name)
        if fd is None:
            raise ctx.fail(f"{where}.{name}", f"service '{service.key}' ({service.source}) has no field '{name}'")
        if path not in PREFILL_PATHS:
            raise ctx.fail(f"{where}.{name}", f"'{path}' is not one of {sorted(PREFILL_PATHS)}")
        if (path == "company.address") != (fd.type == "address"):
            raise ctx.fail(f"{where}.{name}", "an address field takes 'company.address', and only it")
        out.append((name, path))
    return tuple(out)


def _waivers(ctx: _Ctx, raw: Any, service: ServiceDefinition, listed: set[str], where: str) -> tuple[Waiver, ...]:
    """``waives = [{ field, filed_with, note }]``: required uploads of ``service`` the bundle needs
    not while ``filed_with``, another of its services, is filed with it. The field must be a
    required file field of the service."""
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(where, "must be a list of tables { field, filed_with, note }")
    waivers: list[Waiver] = []
    for i, rw in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(rw, dict) or set(rw) != WAIVER_KEYS:
            raise ctx.fail(at, "must be a table with field, filed_with and note")
        name = rw["field"]
        fd = service.field(name) if isinstance(name, str) else None
        if fd is None:
            raise ctx.fail(f"{at}.field", f"service '{service.key}' ({service.source}) has no field '{name}'")
        if fd.type != "file" or not fd.required:
            raise ctx.fail(f"{at}.field", f"only a required upload can be waived; '{name}' of '{service.key}' is "
                                          f"{'an optional' if fd.type == 'file' else 'a ' + fd.type} field")
        if any(w.field == name for w in waivers):
            raise ctx.fail(f"{at}.field", f"'{name}' is waived twice")
        other = rw["filed_with"]
        if not isinstance(other, str) or other == service.key or other not in listed:
            raise ctx.fail(f"{at}.filed_with", f"'{other}' is not another of the bundle's services")
        waivers.append(Waiver(field=name, filed_with=other, note=ctx.text(rw, "note", f"{at}.note")))
    return tuple(waivers)


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
             listed: set[str], where: str) -> tuple[Preset, ...]:
    """The fixed values a bundle gives ``service``'s fields: ``[{ field, value, when?, filed_with?,
    note? }]``; with ``filed_with`` (another of the bundle's services, among ``listed``) only while
    that service is filed with it, with ``note`` shown next to the value. Two presets of one field
    with different values must exclude each other (conditions on the same question with values
    that never hold together)."""
    if not isinstance(raw, list):
        raise ctx.fail(where, "must be a list of tables { field, value, when, filed_with, note }")
    presets: list[Preset] = []
    for i, rp in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(rp, dict) or not {"field", "value"} <= set(rp) or not set(rp) <= PRESET_KEYS:
            raise ctx.fail(at, "must be a table with field, value and optional when, filed_with and note")
        name = rp["field"]
        fd = service.field(name) if isinstance(name, str) else None
        if fd is None:
            raise ctx.fail(f"{at}.field", f"service '{service.key}' ({service.source}) has no field '{name}'")
        value = _preset_value(ctx, fd, rp["value"], f"{at}.value", service)
        when = _when(ctx, rp["when"], f"{at}.when", questions) if "when" in rp else None
        other_service = rp.get("filed_with")
        if "filed_with" in rp and (not isinstance(other_service, str) or other_service == service.key
                                   or other_service not in listed):
            raise ctx.fail(f"{at}.filed_with", f"'{other_service}' is not another of the bundle's services")
        note = ctx.text(rp, "note", f"{at}.note") if "note" in rp else None
        for other in presets:
            if other.field == name and other.value != value and not _exclusive(other.when, when):
                raise ctx.fail(f"{at}.field", f"the presets conflict: '{name}' of '{service.key}' would get "
                                              f"both '{other.value}' and '{value}'")
        presets.append(Preset(field=name, value=value, when=when, filed_with=other_service, note=note))
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


def _bundle_checks(ctx: _Ctx, raw: Any, questions: dict[str, FieldDefinition], steps: Any,
                   services: dict[str, ServiceDefinition], given: set[tuple[str, str]],
                   ) -> tuple[tuple[Check, ...], dict[str, tuple[Check, ...]]]:
    """``[[checks]]`` across the bundle's answers, written like a service's (``loader._checks``,
    the same rules and keys); a name is one of the bundle's questions or ``<service>.<field>``,
    a field of one of its services. A check on a question reads questions only (its step comes
    before any service draft); a check on a service's field reads that service's fields of its
    step or earlier and any question, and is shown on the service draft's step. A field the bundle
    gives (a question fills it, or a fixed value) is no input of the service: its check belongs on
    the question. Returns the checks on questions and, per service, the checks on its fields as
    its steps apply them (``BundleDefinition.service_checks``)."""
    if raw is None:
        return (), {}
    if not isinstance(raw, list):
        raise ctx.fail("checks", "must be a list of tables")
    named: dict[str, FieldDefinition] = dict(questions)
    order = {step.key: i for i, step in enumerate(steps)}
    place: dict[str, tuple[int, int]] = {name: (0, order[fd.step]) for name, fd in questions.items()}
    for key, service in services.items():
        service_order = {step.key: i for i, step in enumerate(service.steps)}
        for fd in service.fields:
            named[f"{key}.{fd.name}"] = dataclasses.replace(fd, name=f"{key}.{fd.name}")
            place[f"{key}.{fd.name}"] = (1, service_order[fd.step])
    for i, rc in enumerate(raw):
        if not isinstance(rc, dict):
            continue  # refused by _checks
        raw_unless = rc.get("unless")
        unless = raw_unless if isinstance(raw_unless, list) else []
        read = [rc.get("field"), rc.get("other"), *(u.get("field") for u in unless if isinstance(u, dict))]
        owners = sorted({n.split(".", 1)[0] for n in read if isinstance(n, str) and n in named and n not in questions})
        if len(owners) > 1:
            raise ctx.fail(f"checks[{i}]", f"reads fields of several services ({', '.join(owners)}); a check on a "
                                           f"service's field reads that service's fields and the bundle's questions")
        if rc.get("field") in questions and owners:
            raise ctx.fail(f"checks[{i}]", f"a check on the question '{rc['field']}' reads only the bundle's "
                                           f"questions (the services' answers come after them)")
        target = rc.get("field")
        if isinstance(target, str) and target in named and target not in questions \
                and tuple(target.split(".", 1)) in given:
            raise ctx.fail(f"checks[{i}].field", f"'{target}' is given by the bundle (a question or a fixed value), "
                                                 f"not asked in the service: check the question instead")
    checks = _checks(ctx, raw, named, place.__getitem__,
                     " (a question of the bundle, or <service>.<field> of one of its services)", services)
    per_service: dict[str, list[Check]] = {}
    for i, check in enumerate(checks):
        if check.field in questions:
            continue
        if check.rule in BODY_RULES:
            raise ctx.fail(f"checks[{i}].field", f"a {check.rule} check compares two postcodes among the bundle's "
                                                 f"questions")
        key = check.field.split(".", 1)[0]

        def local(name: str, key: str = key) -> str:
            return name.removeprefix(f"{key}.") if name.startswith(f"{key}.") else BUNDLE_ANSWER + name

        per_service.setdefault(key, []).append(dataclasses.replace(
            check, field=local(check.field), other=local(check.other) if check.other else None,
            unless=tuple(dataclasses.replace(c, field=local(c.field)) for c in check.unless)))
    return (tuple(c for c in checks if c.field in questions),
            {key: tuple(found) for key, found in per_service.items()})


def _when(ctx: _Ctx, raw: Any, where: str, questions: dict[str, FieldDefinition]) -> Condition | AllOf:
    """A condition on the bundle's questions (``loader._condition``), or a list of them that must
    all hold (``AllOf``)."""
    if not isinstance(raw, list):
        return _condition(ctx, raw, where, questions)
    if not raw:
        raise ctx.fail(where, "must be a condition or a non-empty list of conditions")
    conditions = tuple(_condition(ctx, c, f"{where}[{i}]", questions) for i, c in enumerate(raw))
    return conditions[0] if len(conditions) == 1 else AllOf(conditions)


def _exclusive(a: Condition | AllOf | None, b: Condition | AllOf | None) -> bool:
    """True when conditions ``a`` and ``b`` can never hold together (one of each tests the same
    question for disjoint values); a missing condition always holds."""
    def single(c: Condition | AllOf | None) -> tuple[Condition, ...]:
        return () if c is None else c.conditions if isinstance(c, AllOf) else (c,)

    return any(_disjoint(x, y) for x in single(a) for y in single(b))


def _disjoint(a: Condition, b: Condition) -> bool:
    if a.field != b.field or a.negate or b.negate:
        return False
    values_a = set(a.values) if a.values else {a.equals}
    values_b = set(b.values) if b.values else {b.equals}
    return not values_a & values_b


def _fits(ctx: _Ctx, question: FieldDefinition, fd: FieldDefinition, service: ServiceDefinition, where: str,
          name: str) -> None:
    """Refuse, at ``where``, a question whose answers ``fd`` (named ``name`` in ``service``)
    cannot take: another type, a choice it lacks, a longer text, another format, an address abroad."""
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
    if question.abroad and not fd.abroad:
        raise ctx.fail(where, f"the question's address may lie abroad, '{name}' in '{service.key}' is German only")


def _mappings(ctx: _Ctx, question: FieldDefinition, service: ServiceDefinition, target: Any,
              where: str) -> tuple[SharedMapping, ...]:
    """What one ``maps`` entry of a question fills in ``service``: a field (or an address part),
    a group question's target, and its ``count`` if it has one."""
    if question.type == "group" and isinstance(target, dict) and "count" in target:
        rest = {k: v for k, v in target.items() if k != "count"}
        return (_mapping(ctx, question, service, rest, where),
                _count(ctx, question, service, target["count"], f"{where}.count"))
    return (_mapping(ctx, question, service, target, where),)


def _targets(ctx: _Ctx, question: FieldDefinition, service: ServiceDefinition, target: Any, where: str,
             questions: dict[str, FieldDefinition]) -> tuple[SharedMapping, ...]:
    """``_mappings``, and a plain question's ``{ field, when, else_empty? }``: the field gets the
    answer while ``when`` holds for the bundle's answers; otherwise the service asks it, or, with
    ``else_empty = true``, it is given empty (GewA 1 field 1, the registered name, stays empty for
    a business not entered in a register; the field must then be an optional text field). A group
    question's ``{ field, first, when }`` fills the field from the first entry while ``when``
    holds (the founder as the Handwerksrolle's Betriebsleiterin, when she leads the business)."""
    if not isinstance(target, dict) or "when" not in target:
        return _mappings(ctx, question, service, target, where)
    if question.type == "group":
        if "first" not in target:
            raise ctx.fail(where, "a group question maps with 'when' only as { field, first, when }")
        (mapping,) = _mappings(ctx, question, service, {k: v for k, v in target.items() if k != "when"}, where)
        return (dataclasses.replace(mapping, when=_when(ctx, target["when"], f"{where}.when", questions)),)
    if not {"field", "when"} <= set(target) <= {"field", "when", "else_empty"} \
            or not isinstance(target["field"], str) or "." in target["field"] \
            or not isinstance(target.get("else_empty", False), bool):
        raise ctx.fail(where, "a conditional mapping is { field = \"<field>\", when = { ... }, "
                              "else_empty = true|false }")
    (mapping,) = _mappings(ctx, question, service, target["field"], where)
    fd = service.field(mapping.field)
    empty = target.get("else_empty", False)
    if empty and (fd is None or fd.required or fd.type not in ("text", "textarea")):
        raise ctx.fail(f"{where}.field", f"a field given empty must be an optional text field; '{target['field']}' "
                                         f"of '{service.key}' is not")
    when = _when(ctx, target["when"], f"{where}.when", questions)
    return (dataclasses.replace(mapping, when=when, else_empty=empty),)


def _count(ctx: _Ctx, question: FieldDefinition, service: ServiceDefinition, raw: Any,
           where: str) -> SharedMapping:
    """``count``: a number field of the service given the number of the group question's entries
    (``{ field, when? }``, ``when`` testing a sub-field of each entry), so the company does not
    count again what it listed (GewA 1 field 12)."""
    raw = {"field": raw} if isinstance(raw, str) else raw
    if not isinstance(raw, dict) or "field" not in raw or not set(raw) <= COUNT_KEYS:
        raise ctx.fail(where, "must name a number field, or be { field = \"<number field>\", when = { ... } }")
    fd = service.field(raw["field"]) if isinstance(raw["field"], str) else None
    if fd is None:
        raise ctx.fail(f"{where}.field", f"service '{service.key}' ({service.source}) has no field '{raw['field']}'")
    if fd.type != "number":
        raise ctx.fail(f"{where}.field", f"a count fills a number field; '{fd.name}' is a {fd.type} field")
    if (fd.minimum is not None and fd.minimum > 1) or (fd.maximum is not None and fd.maximum < question.max_items):
        raise ctx.fail(f"{where}.field", f"'{fd.name}' of '{service.key}' does not take every number from 1 to "
                                         f"{question.max_items} (the question's entries)")
    when = _condition(ctx, raw["when"], f"{where}.when", {sub.name: sub for sub in question.fields}) \
        if "when" in raw else None
    return SharedMapping(service=service.key, field=fd.name, counts=True, count_when=when)


def _mapping(ctx: _Ctx, question: FieldDefinition, service: ServiceDefinition, target: Any,
             where: str) -> SharedMapping:
    if question.type != "group" and isinstance(target, dict) and "sum" in target:
        return _sum_mapping(ctx, question, service, target, where)
    if question.type == "group" or isinstance(target, dict):
        return _group_mapping(ctx, question, service, target, where)
    if not isinstance(target, str) or not target.strip():
        raise ctx.fail(where, "must name a field of the service")
    name, _, part = target.strip().partition(".")
    fd = service.field(name)
    if fd is None:
        raise ctx.fail(where, f"service '{service.key}' ({service.source}) has no field '{name}'")
    if fd.type in NOT_SHARED or question.type in NOT_SHARED or fd.type == "group":
        shown = question.type if question.type in NOT_SHARED else fd.type
        raise ctx.fail(where, f"a {shown} field cannot be shared" + (
            " (a group is filled by a group question)" if shown == "group" else ""))
    if part:
        if fd.type != "address" or part not in ADDRESS_PARTS:
            raise ctx.fail(where, f"'{target}': only an address field has parts ({', '.join(ADDRESS_PARTS)})")
        if question.type != PART_TYPES[part]:
            raise ctx.fail(where, f"the {part} of an address takes a {PART_TYPES[part]} question, "
                                  f"not a {question.type} question")
        return SharedMapping(service=service.key, field=name, part=part)
    _fits(ctx, question, fd, service, where, name)
    return SharedMapping(service=service.key, field=name)


def _sum_mapping(ctx: _Ctx, question: FieldDefinition, service: ServiceDefinition, target: Any,
                 where: str) -> SharedMapping:
    """``{ field = "<number field>", sum = true }``: the number question's answer is added to the
    answers of the other questions mapped into that field so (``parse_bundle`` checks that there
    are at least two and that the field takes every sum)."""
    if set(target) != SUM_MAP_KEYS or target["sum"] is not True:
        raise ctx.fail(where, "a sum maps as { field = \"<number field>\", sum = true }")
    if question.type != "number":
        raise ctx.fail(where, f"only number questions add up; '{question.name}' is a {question.type} question")
    name = target["field"]
    fd = service.field(name) if isinstance(name, str) else None
    if fd is None:
        raise ctx.fail(f"{where}.field", f"service '{service.key}' ({service.source}) has no field '{name}'")
    if fd.type != "number":
        raise ctx.fail(f"{where}.field", f"a sum fills a number field; '{name}' is a {fd.type} field")
    return SharedMapping(service=service.key, field=name, adds=True)


def _check_sums(ctx: _Ctx, questions: dict[str, FieldDefinition], catalog: dict[str, ServiceDefinition],
                shared: dict[str, tuple[SharedMapping, ...]]) -> None:
    """Every field filled by a sum has at least two questions adding up into it, and takes every
    sum their answers can make (its minimum and maximum)."""
    sums: dict[tuple[str, str], list[FieldDefinition]] = {}
    for question, mappings in shared.items():
        for m in mappings:
            if m.adds:
                sums.setdefault((m.service, m.field), []).append(questions[question])
    for (service_key, name), summands in sums.items():
        where = f"fields.{summands[0].name}.maps.{service_key}"
        fd = catalog[service_key].field(name)
        assert fd is not None  # _sum_mapping checked it
        if len(summands) < 2:
            raise ctx.fail(where, f"a sum needs at least two questions; only '{summands[0].name}' adds up into "
                                  f"'{name}' of '{service_key}'")
        low = [q.minimum for q in summands]
        high = [q.maximum for q in summands]
        if fd.minimum is not None and (None in low or sum(v for v in low if v is not None) < fd.minimum):
            raise ctx.fail(where, f"'{name}' of '{service_key}' takes nothing under {fd.minimum}; the questions "
                                  f"{', '.join(q.name for q in summands)} can add up to less")
        if fd.maximum is not None and (None in high or sum(v for v in high if v is not None) > fd.maximum):
            raise ctx.fail(where, f"'{name}' of '{service_key}' takes at most {fd.maximum}; the questions "
                                  f"{', '.join(q.name for q in summands)} can add up to more")


def _group_mapping(ctx: _Ctx, question: FieldDefinition, service: ServiceDefinition, target: Any,
                   where: str) -> SharedMapping:
    """A group question's mapping: ``{ field, items }`` into a group field (every entry) or
    ``{ field, first }`` into a field asking for one person (the first entry)."""
    if question.type != "group":
        raise ctx.fail(where, "only a group question maps as a table; name the field as a string")
    if not isinstance(target, dict) or "field" not in target or not set(target) <= GROUP_MAP_KEYS \
            or len(set(target) & {"items", "first"}) != 1:
        raise ctx.fail(where, "a group question maps as { field = \"<group field>\", items = { ... } } or "
                              "{ field = \"<field>\", first = ... }")
    name = target["field"]
    fd = service.field(name) if isinstance(name, str) else None
    if fd is None:
        raise ctx.fail(f"{where}.field", f"service '{service.key}' ({service.source}) has no field '{name}'")
    if fd.type in NOT_SHARED:
        raise ctx.fail(f"{where}.field", f"a {fd.type} field cannot be shared")
    subs = {sub.name: sub for sub in question.fields}
    if "first" in target:
        first = _first(ctx, question, subs, service, fd, target["first"], f"{where}.first")
        return SharedMapping(service=service.key, field=name, first=first,
                             country_names=tuple(part for part, sub in first
                                                 if part in COUNTRY_NAME_PARTS and subs[sub].type == "country"))
    if fd.type != "group":
        raise ctx.fail(f"{where}.items", f"'items' fills a group field; '{name}' is a {fd.type} field "
                                         f"(use 'first')")
    raw = target["items"]
    if not isinstance(raw, dict) or not raw:
        raise ctx.fail(f"{where}.items", f"must be a table of <sub-field of '{name}'> = <sub-field of the question>")
    targets = {sub.name: sub for sub in fd.fields}
    mapped: dict[str, str] = {}
    for target_sub, question_sub in raw.items():
        at = f"{where}.items.{target_sub}"
        if target_sub not in targets:
            raise ctx.fail(at, f"'{name}' of '{service.key}' ({service.source}) has no sub-field '{target_sub}'")
        if not isinstance(question_sub, str) or question_sub not in subs:
            raise ctx.fail(at, f"the question '{question.name}' has no sub-field '{question_sub}'")
        _fits(ctx, subs[question_sub], targets[target_sub], service, at, f"{name}.{target_sub}")
        mapped[target_sub] = question_sub
    for target_sub, tsub in targets.items():
        question_sub = mapped.get(target_sub)
        if question_sub is None:
            if tsub.required:
                raise ctx.fail(f"{where}.items", f"the required sub-field '{target_sub}' of '{name}' in "
                                                 f"'{service.key}' is not filled (a group is given whole)")
            continue
        at = f"{where}.items.{target_sub}"
        qsub = subs[question_sub]
        if tsub.required and not qsub.required:
            raise ctx.fail(at, f"'{target_sub}' of '{name}' is required, the question's '{question_sub}' is not")
        expected = None
        if tsub.show_if is not None:
            source = mapped.get(tsub.show_if.field)
            if source is None:
                raise ctx.fail(at, f"'{target_sub}' of '{name}' depends on '{tsub.show_if.field}', which is not "
                                   f"filled")
            expected = dataclasses.replace(tsub.show_if, field=source)
        if qsub.show_if != expected:
            raise ctx.fail(at, f"the question's '{question_sub}' must be shown under the same condition as "
                               f"'{target_sub}' of '{name}'")
    if question.min_items < fd.min_items:
        raise ctx.fail(where, f"the question allows {question.min_items} entries, '{name}' of '{service.key}' "
                              f"needs at least {fd.min_items}")
    if question.max_items > fd.max_items:
        raise ctx.fail(where, f"the question allows {question.max_items} entries, '{name}' of '{service.key}' "
                              f"holds at most {fd.max_items}")
    # a choice the service's sub-field offers and the question's does not (e.g. "Betriebsleitung"):
    # an entry with it was added in the service draft and is the company's own
    own = tuple((target_sub, tuple(c.value for c in subs[question_sub].choices))
                for target_sub, question_sub in mapped.items()
                if targets[target_sub].type == "choice"
                and {c.value for c in targets[target_sub].choices} - {c.value for c in subs[question_sub].choices})
    return SharedMapping(service=service.key, field=name, items=tuple(mapped.items()), own_unless=own)


def _left_empty(question: FieldDefinition, mapping: SharedMapping, service: ServiceDefinition,
                entries: tuple[BundleService, ...]) -> SharedMapping:
    """``mapping`` marked ``left_empty`` when an empty answer counts as given: an optional plain
    question (or, with ``first``, an optional sub-field of the first entry shown unconditionally)
    fills an optional field of the service that the account does not prefill. Left empty in the
    questionnaire, the service's field is given empty and not asked again (e.g. the Geburtsname or
    telephone of the Handwerksrolle's Betriebsleitung); a field the account prefills (the training
    contract's telephone, from the company's) keeps its prefill."""
    if mapping.part or mapping.items or mapping.counts or mapping.adds or mapping.else_empty:
        return mapping
    if mapping.first:
        if len(mapping.first) != 1 or mapping.first[0][0] is not None:
            return mapping
        source = next((sub for sub in question.fields if sub.name == mapping.first[0][1]), None)
    else:
        source = question
    fd = service.field(mapping.field)
    entry = next((e for e in entries if e.service == service.key), None)
    if source is None or source.required or (mapping.first and source.show_if is not None):
        return mapping
    if fd is None or fd.required or fd.type in ("address", "person", "group") or fd.prefill \
            or any(name == fd.name for name, _path in (entry.prefill if entry else ())):
        return mapping
    return dataclasses.replace(mapping, left_empty=True)


def _first(ctx: _Ctx, question: FieldDefinition, subs: dict[str, FieldDefinition], service: ServiceDefinition,
           fd: FieldDefinition, raw: Any, where: str) -> tuple[tuple[str | None, str], ...]:
    """``first``: the sub-field that fills a plain field, or a table of parts of a person or
    address field (a required one needs its required parts). A country sub-field may fill a
    person's nationality (``COUNTRY_NAME_PARTS``; ``SharedMapping.country_names``)."""
    if fd.type == "group":
        raise ctx.fail(where, f"'{fd.name}' is a group field: fill it with 'items'")
    if isinstance(raw, str):
        if fd.type == "address" and raw in subs and subs[raw].type == "address":
            return ((None, raw),)  # an address sub-field fills an address field whole
        if fd.type in ("address", "person"):
            raise ctx.fail(where, f"the {fd.type} field '{fd.name}' takes a table of its parts or, an address, "
                                  f"an address sub-field")
        if raw not in subs:
            raise ctx.fail(where, f"the question '{question.name}' has no sub-field '{raw}'")
        _fits(ctx, subs[raw], fd, service, where, fd.name)
        return ((None, raw),)
    if isinstance(raw, list):  # text sub-fields joined with spaces, e.g. given names and family name
        if fd.type != "text" or fd.format or len(raw) < 2:
            raise ctx.fail(where, f"a list of sub-fields fills a plain text field with at least two of them; "
                                  f"'{fd.name}' is a {fd.type} field")
        for sub in raw:
            if not isinstance(sub, str) or sub not in subs:
                raise ctx.fail(where, f"the question '{question.name}' has no sub-field '{sub}'")
            if subs[sub].type != "text" or subs[sub].format or (fd.required and not subs[sub].required):
                raise ctx.fail(where, f"'{sub}' must be a {'required ' if fd.required else ''}plain text sub-field")
        if sum(subs[sub].max_length for sub in raw) + len(raw) - 1 > fd.max_length:
            raise ctx.fail(where, f"the sub-fields allow more than the {fd.max_length} characters of '{fd.name}'")
        return tuple((None, sub) for sub in raw)
    if not isinstance(raw, dict) or not raw or fd.type not in ("address", "person"):
        raise ctx.fail(where, "must name a sub-field, or give a table of parts for an address or person field")
    part_types = PART_TYPES if fd.type == "address" else PERSON_PART_TYPES
    for part, sub in raw.items():
        if part not in part_types:
            parts = ADDRESS_PARTS if fd.type == "address" else PERSON_PARTS
            raise ctx.fail(f"{where}.{part}", f"a {fd.type} has the parts {', '.join(parts)}")
        if part not in fd.parts:
            raise ctx.fail(f"{where}.{part}", f"the person field '{fd.name}' of '{service.key}' does not ask "
                                              f"the {part} (ask_nationality = false)")
        if not isinstance(sub, str) or sub not in subs:
            raise ctx.fail(f"{where}.{part}", f"the question '{question.name}' has no sub-field '{sub}'")
        as_country_name = fd.type == "person" and part in COUNTRY_NAME_PARTS and subs[sub].type == "country"
        if not as_country_name and (subs[sub].type != part_types[part] or subs[sub].format):
            raise ctx.fail(f"{where}.{part}", f"the {part} of a {fd.type} takes a {part_types[part]} sub-field, "
                                              f"'{sub}' is a {subs[sub].type} field")
        if not as_country_name and part in PART_LENGTHS and subs[sub].max_length > PART_LENGTHS[part]:
            raise ctx.fail(f"{where}.{part}", f"'{sub}' allows {subs[sub].max_length} characters, the {part} "
                                              f"only {PART_LENGTHS[part]}")
    missing = [p for p in REQUIRED_PARTS[fd.type] if p not in raw] if fd.required else []
    if missing:
        raise ctx.fail(where, f"the required {fd.type} field '{fd.name}' of '{service.key}' needs its part "
                              f"'{missing[0]}'")
    return tuple(raw.items())


def _with_choices_from(ctx: _Ctx, rf: dict[str, Any], where: str,
                       catalog: dict[str, ServiceDefinition]) -> dict[str, Any]:
    """A question with ``choices_from = "service.field"``: the choices of that service's choice
    field (e.g. the 53 crafts of Anlage A from the Handwerksrolle), so the bundle asks with the same
    values the service files, and a list kept in one place. Retired choices stay retired."""
    ref = rf.pop("choices_from")
    if "choices" in rf:
        raise ctx.fail(where, "a question has either choices or choices_from")
    service_key, _, field_name = ref.partition(".") if isinstance(ref, str) else ("", "", "")
    service = catalog.get(service_key)
    if service is None or not field_name:
        raise ctx.fail(where, f"'{ref}' must name a service of the catalog and its field: 'service.field'")
    source = next((fd for fd in service.fields if fd.name == field_name), None)
    if source is None or not source.choices:
        raise ctx.fail(where, f"'{service_key}' has no field '{field_name}' with choices")
    rf["choices"] = [{"value": c.value, "label": {"de": c.label.de, "en": c.label.en},
                      **({"retired": True} if c.retired else {})} for c in source.choices]
    return rf


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
        if isinstance(rf, dict) and "choices_from" in rf:
            rf = _with_choices_from(ctx, dict(rf), f"fields[{i}].choices_from", catalog)
        plain_fields.append(rf)
    steps, questions = steps_and_fields(ctx, {"steps": raw.get("steps"), "fields": plain_fields})
    services = _services(ctx, raw.get("services"), catalog, questions)
    listed = {s.service for s in services}

    names = list(questions)
    shared: dict[str, tuple[SharedMapping, ...]] = {}
    filled: dict[tuple[str, str, str | None], str] = {}
    sum_slots: set[tuple[str, str]] = set()  # fields filled by sums only (several questions add up)
    for i, raw_map in maps.items():
        question = questions[names[i]]
        where = f"fields.{question.name}.maps"
        if not isinstance(raw_map, dict) or not raw_map:
            raise ctx.fail(where, "must be a table of service key = field name (or mapping table)")
        mappings = []
        for service_key, target in raw_map.items():
            if service_key not in listed:
                raise ctx.fail(f"{where}.{service_key}", f"'{service_key}' is not one of the bundle's services")
            # a question may fill several fields of one service: a list of its targets
            targets = list(enumerate(target)) if isinstance(target, list) else [(None, target)]
            found = [m for j, t in targets for m in _targets(
                ctx, question, catalog[service_key], t, f"{where}.{service_key}" + (f"[{j}]" if j is not None else ""),
                questions)]
            for mapping in found:
                slot = (mapping.service, mapping.field, mapping.part)
                clash = next((q for (svc, name, part), q in filled.items()
                              if (svc, name) == (mapping.service, mapping.field)
                              and (part is None or mapping.part is None or part == mapping.part)
                              and not (mapping.adds and (svc, name) in sum_slots)), None)
                if clash:
                    named = target if isinstance(target, str) else mapping.field
                    raise ctx.fail(f"{where}.{service_key}", f"the answers conflict: '{clash}' fills "
                                                             f"'{named}' of '{service_key}' too")
                if mapping.adds and slot not in filled:
                    sum_slots.add((mapping.service, mapping.field))
                filled.setdefault(slot, question.name)
                mappings.append(_left_empty(question, mapping, catalog[service_key], services))
        shared[question.name] = tuple(mappings)
    _check_sums(ctx, questions, catalog, shared)
    for i, entry in enumerate(services):
        for j, preset in enumerate(entry.presets):
            filler = next((q for (svc, name, _part), q in filled.items()
                           if (svc, name) == (entry.service, preset.field)), None)
            if filler:
                raise ctx.fail(f"services[{i}].presets[{j}].field",
                               f"the answers conflict: '{filler}' fills '{preset.field}' of "
                               f"'{entry.service}', which has a fixed value too")

    distinct = _distinct(ctx, raw.get("distinct", []), questions)
    given = {(svc, name) for (svc, name, _part) in filled} | {(e.service, p.field) for e in services for p in e.presets}
    on_questions, service_checks = _bundle_checks(ctx, raw.get("checks"), questions, steps,
                                                  {e.service: catalog[e.service] for e in services}, given)
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
        leika=None, fields=tuple(questions.values()), routing=(), steps=steps, source=source, checks=on_questions)
    return BundleDefinition(key=key, title=title, summary=summary, questionnaire=questionnaire,
                            services=services, shared=shared, life_events=tuple(life_events),
                            keywords=tuple(k.strip() for k in keywords), source=source, distinct=distinct,
                            service_checks=service_checks)


_CACHE_SIZE = 64
_parsed: OrderedDict[tuple[str, str, tuple[tuple[str, int], ...]],
                     tuple[tuple[ServiceDefinition, ...], BundleDefinition]] = OrderedDict()
_parsed_lock = threading.Lock()


def load_bundle_text(text: str, source: str, catalog: dict[str, ServiceDefinition]) -> BundleDefinition:
    """A bundle from its TOML text; ``source`` names it in error messages.

    The same text checked against the very same service definitions (by identity: they are
    immutable, and ``loader.load_definition_text`` hands out one object per text) gives the same
    bundle from a bounded cache. The cached entry holds those definitions, so no other object can
    take one of their ids while it is kept. A broken text is not kept: it raises each time."""
    key = (text, source, tuple((name, id(definition)) for name, definition in catalog.items()))
    with _parsed_lock:
        hit = _parsed.get(key)
        if hit is not None:
            _parsed.move_to_end(key)
            return hit[1]
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{source}: not valid TOML: {exc}") from exc
    bundle = parse_bundle(raw, source, catalog)
    with _parsed_lock:
        _parsed[key] = (tuple(catalog.values()), bundle)
        while len(_parsed) > _CACHE_SIZE:
            _parsed.popitem(last=False)
    return bundle


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
