"""Loads and validates service definitions from TOML data files.

A broken definition stops the application at start-up with a message naming the file and field.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, overload

from ..common import countries, legal_forms
from ..common.legal_forms import OWNER_FUNCTIONS, OWNER_KINDS
from .minimums import TableError, load_table
from .models import (
    ADDRESS_PARTS,
    BODY_RULES,
    CHECK_RULES,
    CHOICE_TYPES,
    CONDITION_TYPES,
    DESTINATION_KINDS,
    FEE_REGIONS,
    FIELD_TYPES,
    FILE_TYPES,
    FILING_PARTS,
    LIFE_EVENTS,
    RETENTION_LIMITS,
    SERVICE_KINDS,
    TEXT_FORMATS,
    Check,
    Choice,
    Condition,
    Fee,
    FieldDefinition,
    RegionalFee,
    Retention,
    RoutingRule,
    ServiceDefinition,
    Sources,
    StepDefinition,
    Text,
)

DEFINITIONS_DIR = Path(__file__).parent / "services"
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,80}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
PREFILL_PATHS = {
    "company.name", "company.legal_form", "company.street", "company.postcode", "company.city",
    "company.tax_number", "company.address", "company.phone", "company.email", "company.contact_email",
    "person.name", "person.email", "person.given_names", "person.family_name", "company.owner_kind",
    "company.in_register", "company.owner_function",
}
#: the choices a field prefilled with ``company.owner_kind`` (who runs the business, as the account's
#: legal form tells: ``common.legal_forms``) must offer
OWNER_KIND_CHOICES = frozenset(OWNER_KINDS.values())
#: the choices a field prefilled with ``company.owner_function`` (a first person's role) must offer
OWNER_FUNCTION_CHOICES = frozenset(OWNER_FUNCTIONS.values())
DEFAULT_STEP = "angaben"
FIELD_KEYS = {"name", "type", "label", "required", "hint", "prefill", "choices", "max_length",
              "autocomplete", "step", "format", "show_if", "min", "max", "accept", "max_size_mb",
              "fields", "min_items", "max_items", "item_label", "ask_nationality", "past",
              "birth_place_required", "abroad", "copies", "from_filing"}


class DefinitionError(ValueError):
    """A service definition file is invalid; the message names file and field."""


class _Ctx:
    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str) -> DefinitionError:
        return DefinitionError(f"{self.source}: field '{where}': {problem}")

    def known_keys(self, raw: dict, allowed: Iterable[str], prefix: str = "", hint: str = "") -> None:
        """Refuse the first key of ``raw`` outside ``allowed`` (``prefix``: the table it is in)."""
        unknown = set(raw) - set(allowed)
        if unknown:
            raise self.fail(f"{prefix}{sorted(unknown)[0]}", "unknown key" + hint)

    def key(self, raw: dict) -> str:
        """The definition's ``key``: lower-case letters, digits and hyphens."""
        key = self.string(raw, "key")
        if not KEY_RE.match(key):
            raise self.fail("key", f"'{key}' must be lower-case letters, digits and hyphens")
        return key

    @overload
    def text(self, raw: dict, key: str, where: str | None = None, required: Literal[True] = True) -> Text: ...

    @overload
    def text(self, raw: dict, key: str, where: str | None = None, *, required: bool) -> Text | None: ...

    def text(self, raw: dict, key: str, where: str | None = None, required: bool = True) -> Text | None:
        where = where or key
        value = raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, dict) or not all(
            isinstance(value.get(lang), str) and value[lang].strip() for lang in ("de", "en")
        ):
            raise self.fail(where, "needs non-empty texts 'de' and 'en'")
        extra = set(value) - {"de", "en"}
        if extra:
            raise self.fail(where, f"unknown language(s) {sorted(extra)}")
        return Text(de=value["de"].strip(), en=value["en"].strip())

    @overload
    def string(self, raw: dict, key: str, where: str | None = None, required: Literal[True] = True) -> str: ...

    @overload
    def string(self, raw: dict, key: str, where: str | None = None, *, required: bool) -> str | None: ...

    def string(self, raw: dict, key: str, where: str | None = None, required: bool = True) -> str | None:
        value = raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where or key, "must be a non-empty string")
        return value.strip()

    def number(self, raw: dict, key: str, where: str, default: float | None, low: float, high: float):
        value = raw.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self.fail(where, f"must be a number between {low} and {high}")
        return value


CONDITION_OPS = ("equals", "in", "not_in", "contains", "legal_form_in")
#: conditions on a person's age: ``{ field, age_under = 18, on }`` (not yet 18 on the date answered to
#: ``on``) and ``{ field, age_at_least = 18, on }``; ``field`` is a date or a person (its birth date);
#: with ``year_start = true`` the age on 1 January of the year of ``on``
AGE_OPS = ("age_under", "age_at_least")


def _condition(ctx: _Ctx, raw: Any, where: str, known: dict[str, FieldDefinition]) -> Condition:
    """A ``{ field, equals }``, ``{ field, in = [...] }`` or ``{ field, not_in = [...] }`` table
    testing the answer to a field defined earlier (a yes/no, choice or country field), or a
    ``{ field, contains }`` table testing whether a multichoice answer includes a value, or an age
    (``AGE_OPS``): whether someone born on a date answered earlier is under (at least) an age on
    another date answered earlier (``Condition.age_on``)."""
    if isinstance(raw, dict) and set(raw) & set(AGE_OPS):
        return _age_condition(ctx, raw, where, known)
    if not isinstance(raw, dict) or "field" not in raw or len(set(raw) & set(CONDITION_OPS)) != 1 \
            or len(raw) != 2:
        raise ctx.fail(where, "must be a table with 'field' and one of 'equals', 'in', 'not_in', 'contains', "
                              "'legal_form_in'")
    target = known.get(raw["field"])
    if target is None:
        raise ctx.fail(f"{where}.field", f"no earlier field named '{raw['field']}'")
    if "legal_form_in" in raw:
        return _legal_form_condition(ctx, raw["legal_form_in"], f"{where}.legal_form_in", target)
    if target.type not in CONDITION_TYPES:
        raise ctx.fail(f"{where}.field", f"conditions can only test {', '.join(CONDITION_TYPES)} fields")
    op = next(k for k in CONDITION_OPS if k in raw)
    if (op == "contains") != (target.type == "multichoice"):
        raise ctx.fail(f"{where}.{op}", "a multichoice field is tested with 'contains', and only it"
                       if target.type == "multichoice" else "only a multichoice field is tested with 'contains'")
    if op == "contains":
        if raw["contains"] not in {c.value for c in target.choices}:
            raise ctx.fail(f"{where}.contains", f"'{raw['contains']}' is not a choice of '{target.name}'")
        return Condition(field=target.name, equals=raw["contains"], contains=True)
    compared = [raw[op]] if op == "equals" else raw[op]
    if op != "equals" and (not isinstance(compared, list) or not compared):
        raise ctx.fail(f"{where}.{op}", "must be a non-empty list")
    for value in compared:
        if target.type == "yesno" and not isinstance(value, bool):
            raise ctx.fail(f"{where}.{op}", "a yes/no field compares with true or false")
        if target.type == "choice" and value not in {c.value for c in target.choices}:
            raise ctx.fail(f"{where}.{op}", f"'{value}' is not a choice of '{target.name}'")
        if target.type == "country" and value not in countries.codes():
            raise ctx.fail(f"{where}.{op}", f"'{value}' is not an ISO 3166-1 alpha-2 code")
    if op == "equals":
        return Condition(field=target.name, equals=raw["equals"])
    return Condition(field=target.name, values=tuple(compared), negate=op == "not_in")


def _legal_form_condition(ctx: _Ctx, forms: Any, where: str, target: FieldDefinition) -> Condition:
    """``{ field, legal_form_in = ["GmbH", "UG (haftungsbeschränkt)"] }``: the legal form answered as
    text (``field``) is one of these, spelled in any of the usual ways (``legal_forms.folded``: "GmbH",
    "G.m.b.H." and "gmbh" alike). Each must be a legal form ``legal_forms`` knows, so a typo in the
    definition cannot make a condition that never holds."""
    if target.type != "text":
        raise ctx.fail(where, "only a text field (a legal form) is tested with 'legal_form_in'")
    if not isinstance(forms, list) or not forms or not all(isinstance(f, str) for f in forms):
        raise ctx.fail(where, "must be a non-empty list of legal forms")
    unknown = [f for f in forms if legal_forms.owner_kind(f) is None]
    if unknown:
        raise ctx.fail(where, f"unknown legal form(s) {unknown}")
    return Condition(field=target.name, values=tuple(legal_forms.folded(f) for f in forms), legal_form=True)


def _age_condition(ctx: _Ctx, raw: dict, where: str, known: dict[str, FieldDefinition]) -> Condition:
    ops = set(raw) & set(AGE_OPS)
    if len(ops) != 1 or not {"field", "on", *ops} <= set(raw) <= {"field", "on", "year_start", *ops}:
        raise ctx.fail(where, "an age condition is a table with 'field', 'on' and one of 'age_under', 'age_at_least'"
                              " (and optionally 'year_start')")
    year_start = raw.get("year_start", False)
    if not isinstance(year_start, bool):
        raise ctx.fail(f"{where}.year_start", "must be true or false")
    op = ops.pop()
    born, on = known.get(raw["field"]), known.get(raw["on"])
    if born is None or born.type not in ("date", "person"):
        raise ctx.fail(f"{where}.field", f"no earlier date or person field named '{raw['field']}'")
    if on is None or on.type != "date":
        raise ctx.fail(f"{where}.on", f"no earlier date field named '{raw['on']}'")
    years = ctx.number(raw, op, f"{where}.{op}", None, 1, 150)
    if not isinstance(years, int):
        raise ctx.fail(f"{where}.{op}", "must be a whole number of years")
    return Condition(field=born.name, age_on=on.name, age=years, negate=op == "age_at_least", year_start=year_start)


def _field(ctx: _Ctx, raw: Any, where: str, known: dict[str, FieldDefinition], steps: dict[str, int],
           nested: bool = False) -> FieldDefinition:
    if not isinstance(raw, dict):
        raise ctx.fail(where, "must be a table")
    unknown = set(raw) - FIELD_KEYS
    if unknown:
        raise ctx.fail(where, f"unknown key(s) {sorted(unknown)}")
    name = ctx.string(raw, "name", f"{where}.name")
    if not NAME_RE.match(name):
        raise ctx.fail(f"{where}.name", f"'{name}' must be lower_snake_case")
    where = f"{where.rsplit('[', 1)[0]}.{name}" if "[" in where else f"{where}.{name}"
    ftype = ctx.string(raw, "type", f"{where}.type")
    if ftype not in FIELD_TYPES:
        raise ctx.fail(f"{where}.type", f"'{ftype}' is not one of {', '.join(FIELD_TYPES)}")
    if nested and ftype in ("group", "file", "multichoice"):
        raise ctx.fail(f"{where}.type", "groups cannot contain groups, files or multichoice fields")
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise ctx.fail(f"{where}.required", "must be true or false")

    step = raw.get("step", DEFAULT_STEP if not nested else "")
    if not nested and step not in steps:
        raise ctx.fail(f"{where}.step", f"'{step}' is not one of the steps {sorted(steps)}")

    prefill = ctx.string(raw, "prefill", f"{where}.prefill", required=False)
    if prefill is not None:
        if prefill not in PREFILL_PATHS:
            raise ctx.fail(f"{where}.prefill", f"'{prefill}' is not one of {sorted(PREFILL_PATHS)}")
        if (prefill == "company.address") != (ftype == "address"):
            raise ctx.fail(f"{where}.prefill", "only an address field takes 'company.address'")
        offered = {c.get("value") for c in raw.get("choices") or () if isinstance(c, dict)}
        if prefill == "company.owner_kind" and (ftype != "choice" or not offered >= OWNER_KIND_CHOICES):
            raise ctx.fail(f"{where}.prefill", "'company.owner_kind' prefills a choice field with the choices "
                           + ", ".join(sorted(OWNER_KIND_CHOICES)))
        if prefill == "company.owner_function" and (ftype != "choice" or not offered >= OWNER_FUNCTION_CHOICES):
            raise ctx.fail(f"{where}.prefill", "'company.owner_function' prefills a choice field with the choices "
                           + ", ".join(sorted(OWNER_FUNCTION_CHOICES)))
        if prefill == "company.in_register" and ftype != "yesno":
            raise ctx.fail(f"{where}.prefill", "'company.in_register' prefills a yes/no field")

    choices: list[Choice] = []
    if ftype in CHOICE_TYPES:
        raw_choices = raw.get("choices")
        if not isinstance(raw_choices, list) or len(raw_choices) < 2:
            raise ctx.fail(f"{where}.choices", f"a {ftype} field needs at least two choices")
        for i, c in enumerate(raw_choices):
            if not isinstance(c, dict):
                raise ctx.fail(f"{where}.choices[{i}]", "must be a table")
            if not set(c) <= {"value", "label", "retired"}:
                raise ctx.fail(f"{where}.choices[{i}]", "a choice has value, label and optional retired")
            value = ctx.string(c, "value", f"{where}.choices[{i}].value")
            retired = c.get("retired", False)
            if not isinstance(retired, bool):
                raise ctx.fail(f"{where}.choices[{i}].retired", "must be true or false")
            choices.append(Choice(value=value, label=ctx.text(c, "label", f"{where}.choices[{i}].label"),
                                  retired=retired))
        if sum(not c.retired for c in choices) < 2:
            raise ctx.fail(f"{where}.choices", "a choice field needs at least two choices that are not retired")
        if len({c.value for c in choices}) != len(choices):
            raise ctx.fail(f"{where}.choices", "choice values must be unique")
    elif "choices" in raw:
        raise ctx.fail(f"{where}.choices", "only a choice or multichoice field has choices")

    ask_nationality = raw.get("ask_nationality", True)
    if "ask_nationality" in raw and ftype != "person":
        raise ctx.fail(f"{where}.ask_nationality", "only a person field has ask_nationality")
    if not isinstance(ask_nationality, bool):
        raise ctx.fail(f"{where}.ask_nationality", "must be true or false")

    birth_place_required = raw.get("birth_place_required", False)
    if "birth_place_required" in raw and ftype != "person":
        raise ctx.fail(f"{where}.birth_place_required", "only a person field has birth_place_required")
    if not isinstance(birth_place_required, bool):
        raise ctx.fail(f"{where}.birth_place_required", "must be true or false")

    abroad = raw.get("abroad", False)
    if "abroad" in raw and ftype != "address":
        raise ctx.fail(f"{where}.abroad", "only an address field has abroad")
    if not isinstance(abroad, bool):
        raise ctx.fail(f"{where}.abroad", "must be true or false")
    if abroad and prefill is not None:
        raise ctx.fail(f"{where}.abroad", "the company's address (prefill) is a German one")

    past = raw.get("past", False)
    if "past" in raw and ftype != "date":
        raise ctx.fail(f"{where}.past", "only a date field has past")
    if not isinstance(past, bool):
        raise ctx.fail(f"{where}.past", "must be true or false")

    fmt = raw.get("format")
    if fmt is not None and (ftype != "text" or fmt not in TEXT_FORMATS):
        raise ctx.fail(f"{where}.format", f"only a text field has a format, one of {', '.join(TEXT_FORMATS)}")

    show_if = None
    if "show_if" in raw:
        # Inside a group a field may depend on an earlier field of the same entry (same page: it is
        # validated and kept only when the condition holds); elsewhere on a field of an earlier step.
        show_if = _condition(ctx, raw["show_if"], f"{where}.show_if", known)
        if nested and ftype in ("address", "person"):
            raise ctx.fail(f"{where}.show_if", "compound fields inside a group cannot be conditional")
        if nested and show_if.age_on is not None:
            raise ctx.fail(f"{where}.show_if", "a field inside a group cannot depend on an age")
        if not nested and max(steps[known[n].step] for n in show_if.inputs) >= steps[step]:
            raise ctx.fail(f"{where}.show_if", "can only depend on a field of an earlier step")

    accept: tuple[str, ...] = ()
    if ftype == "file":
        accept = tuple(raw.get("accept", ["pdf"]))
        if not accept or any(a not in FILE_TYPES for a in accept):
            raise ctx.fail(f"{where}.accept", f"must list types among {', '.join(FILE_TYPES)}")
    elif "accept" in raw or "max_size_mb" in raw:
        raise ctx.fail(f"{where}.accept", "only a file field accepts files")

    sub_fields: tuple[FieldDefinition, ...] = ()
    if ftype == "group":
        raw_sub = raw.get("fields")
        if not isinstance(raw_sub, list) or not raw_sub:
            raise ctx.fail(f"{where}.fields", "a group needs at least one field")
        subs: dict[str, FieldDefinition] = {}
        for i, rs in enumerate(raw_sub):
            sub = _field(ctx, rs, f"{where}.fields[{i}]", subs, steps, nested=True)
            if sub.name in subs:
                raise ctx.fail(f"{where}.fields.{sub.name}", "duplicate field name")
            subs[sub.name] = sub
        sub_fields = tuple(subs.values())
        for sub in sub_fields:
            if sub.copies is None:
                continue
            target = known.get(sub.copies)
            if target is None or target.type != "address" or steps[target.step] > steps[step]:
                raise ctx.fail(f"{where}.fields.{sub.name}.copies",
                               f"no address field named '{sub.copies}' on this step or an earlier one")
            if not set(ADDRESS_PARTS) <= set(subs):
                raise ctx.fail(f"{where}.fields.{sub.name}.copies",
                               f"the group needs the fields {', '.join(ADDRESS_PARTS)} to copy an address into")
    elif "fields" in raw:
        raise ctx.fail(f"{where}.fields", "only a group has fields")

    min_items = int(ctx.number(raw, "min_items", f"{where}.min_items", 1, 0, 50))
    max_items = int(ctx.number(raw, "max_items", f"{where}.max_items", 10, 1, 50))
    if min_items > max_items:
        raise ctx.fail(f"{where}.min_items", "must not exceed max_items")

    from_filing = ctx.string(raw, "from_filing", f"{where}.from_filing", required=False)
    if from_filing is not None:
        if nested or from_filing not in FILING_PARTS:
            raise ctx.fail(f"{where}.from_filing", f"'{from_filing}' is not one of {sorted(FILING_PARTS)}"
                           + (" (a group's sub-field takes no prefill of its own)" if nested else ""))
        if ftype not in FILING_PARTS[from_filing]:
            raise ctx.fail(f"{where}.from_filing", f"'{from_filing}' fills a {' or '.join(FILING_PARTS[from_filing])} "
                                                   f"field, '{name}' is a {ftype} field")
    copies = raw.get("copies")
    if copies is not None and (not nested or ftype != "yesno" or not isinstance(copies, str)):
        raise ctx.fail(f"{where}.copies", "only a yes/no field inside a group copies an address (its name)")

    max_length = ctx.number(raw, "max_length", f"{where}.max_length", 2000 if ftype == "textarea" else 200, 1, 10000)
    return FieldDefinition(
        name=name,
        type=ftype,
        label=ctx.text(raw, "label", f"{where}.label"),
        required=required,
        hint=ctx.text(raw, "hint", f"{where}.hint", required=False),
        prefill=prefill,
        choices=tuple(choices),
        max_length=int(max_length),
        autocomplete=ctx.string(raw, "autocomplete", f"{where}.autocomplete", required=False),
        step=step,
        format=fmt,
        show_if=show_if,
        minimum=ctx.number(raw, "min", f"{where}.min", None, -1e12, 1e12),
        maximum=ctx.number(raw, "max", f"{where}.max", None, -1e12, 1e12),
        accept=accept,
        max_size_mb=float(ctx.number(raw, "max_size_mb", f"{where}.max_size_mb", 10, 0.01, 25)),
        fields=sub_fields,
        min_items=min_items,
        max_items=max_items,
        item_label=ctx.text(raw, "item_label", f"{where}.item_label", required=False),
        ask_nationality=ask_nationality,
        past=past,
        birth_place_required=birth_place_required,
        abroad=abroad,
        copies=copies,
        from_filing=from_filing,
    )


URL_RE = re.compile(r"^https://[^\s/$.?#][^\s]*$")
#: field types whose answer cannot name a filing in a list (several entries, files, a yes or no)
LIST_FIELD_EXCLUDED = ("group", "file", "yesno")
FEE_KEYS = {"free", "amount", "min", "max", "by_body", "basis", "note", "source", "regional"}
REGIONAL_FEE_KEYS = {"region", "note", "basis"}
#: a region's name in a fee text shown wherever the filing goes (the service's general note or basis):
#: what holds in one region only belongs in that region's ``[[fee.regional]]`` entry
REGION_NAME = re.compile(r"\b(" + "|".join(FEE_REGIONS) + r")\b")
SOURCE_KEYS = {"legal_basis_url", "form", "form_url"}
#: the highest fee a definition may name (a typo guard: no service here costs more)
MAX_FEE = Decimal("100000")


def _url(ctx: _Ctx, raw: dict, key: str, where: str, required: bool = True) -> str | None:
    value = ctx.string(raw, key, where, required=required)
    if value is not None and not URL_RE.match(value):
        raise ctx.fail(where, f"'{value}' is not an https:// address")
    return value


def _amount(ctx: _Ctx, raw: dict, key: str, where: str, zero: bool = False) -> Decimal | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ctx.fail(where, "must be an amount in euros, e.g. 26 or 26.50")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ctx.fail(where, f"'{value}' is not an amount in euros") from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not zero) or amount > MAX_FEE \
            or amount != amount.quantize(Decimal("0.01")):
        lowest = "at least 0" if zero else "more than 0"
        raise ctx.fail(where, f"must be {lowest} and at most {MAX_FEE} euros, in whole cents")
    return amount


def _shown_everywhere(ctx: _Ctx, text: Text | None, where: str) -> Text | None:
    """``text``, which is shown wherever the filing goes; refused if it names one of the regions."""
    for found in (REGION_NAME.search(text.de), REGION_NAME.search(text.en)) if text else ():
        if found:
            raise ctx.fail(where, f"names the region '{found.group(1)}'; a text that holds in one region only "
                           "goes into that region's [[fee.regional]] entry")
    return text


def _regional_fees(ctx: _Ctx, raw: Any) -> tuple[RegionalFee, ...]:
    """The ``[[fee.regional]]`` entries: ``region`` (one of ``FEE_REGIONS``, each at most once),
    ``note`` (de/en) and optional ``basis`` (that region's fee law, de/en)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise ctx.fail("fee.regional", "must be a list of tables ([[fee.regional]]) with region and note")
    regional: list[RegionalFee] = []
    for i, entry in enumerate(raw):
        where = f"fee.regional[{i}]"
        ctx.known_keys(entry, REGIONAL_FEE_KEYS, f"{where}.")
        region = ctx.string(entry, "region", f"{where}.region")
        if region not in FEE_REGIONS:
            raise ctx.fail(f"{where}.region", f"'{region}' is not one of {', '.join(FEE_REGIONS)}")
        if any(r.region == region for r in regional):
            raise ctx.fail(f"{where}.region", f"'{region}' has an entry already")
        regional.append(RegionalFee(region=region, note=ctx.text(entry, "note", f"{where}.note"),
                                    basis=ctx.text(entry, "basis", f"{where}.basis", required=False)))
    return tuple(regional)


def _fee(ctx: _Ctx, raw: Any) -> Fee | None:
    """The ``[fee]`` table: ``free = true``, or ``amount``, or ``min`` and ``max`` (euros), with
    ``basis`` (the fee's legal basis, de/en), ``source`` (where the amounts come from), an optional
    ``note`` and ``[[fee.regional]]`` notes; ``basis`` and ``note`` name no region."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ctx.fail("fee", "must be a table with basis, source and one of free, amount, min/max")
    ctx.known_keys(raw, FEE_KEYS, "fee.")
    free = raw.get("free", False)
    by_body = raw.get("by_body", False)
    for key, value in (("free", free), ("by_body", by_body)):
        if not isinstance(value, bool):
            raise ctx.fail(f"fee.{key}", "must be true or false")
    amount = _amount(ctx, raw, "amount", "fee.amount")
    low = _amount(ctx, raw, "min", "fee.min", zero=True)  # "free of charge up to …"
    high = _amount(ctx, raw, "max", "fee.max")
    kinds = [k for k, v in (("free", free), ("amount", amount is not None),
                                   ("min/max", low is not None or high is not None)) if v]
    if len(kinds) > 1 or (not kinds and not by_body):
        raise ctx.fail("fee", "needs exactly one of 'free = true', 'amount' or 'min' and 'max' "
                       "(or 'by_body = true' alone when no published amount was found)"
                       + (f"; found {', '.join(kinds)}" if kinds else ""))
    if (low is None) != (high is None):
        raise ctx.fail("fee.min" if low is None else "fee.max", "a range needs both 'min' and 'max'")
    if low is not None and high is not None and low >= high:
        raise ctx.fail("fee.max", f"must be more than min ({low})")
    if free and by_body:
        raise ctx.fail("fee.by_body", "a fee-free service has no amount for the body to set")
    basis = ctx.text(raw, "basis", "fee.basis")
    _shown_everywhere(ctx, basis, "fee.basis")
    return Fee(basis=basis, source=ctx.string(raw, "source", "fee.source"),
               free=free, amount=amount, minimum=low, maximum=high, by_body=by_body,
               note=_shown_everywhere(ctx, ctx.text(raw, "note", "fee.note", required=False), "fee.note"),
               regional=_regional_fees(ctx, raw.get("regional")))


def _sources(ctx: _Ctx, raw: Any) -> Sources | None:
    """The ``[source]`` table: the law's published text and the form the fields follow."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ctx.fail("source", "must be a table with legal_basis_url, form and optional form_url")
    ctx.known_keys(raw, SOURCE_KEYS, "source.")
    return Sources(legal_basis_url=_url(ctx, raw, "legal_basis_url", "source.legal_basis_url") or "",
                   form=ctx.string(raw, "form", "source.form"),
                   form_url=_url(ctx, raw, "form_url", "source.form_url", required=False))


def _retention(ctx: _Ctx, raw: Any) -> Retention:
    """``retention = { draft_days = 180, closed_years = 3 }``: whole numbers within
    ``RETENTION_LIMITS``; a period left out takes the portal's default."""
    if raw is None:
        return Retention()
    if not isinstance(raw, dict):
        raise ctx.fail("retention", "must be a table such as { draft_days = 180, closed_years = 3 }")
    ctx.known_keys(raw, RETENTION_LIMITS, "retention.", f"; known are {', '.join(RETENTION_LIMITS)}")
    periods: dict[str, int] = {}
    for key, (low, high) in RETENTION_LIMITS.items():
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ctx.fail(f"retention.{key}", f"must be a whole number from {low} to {high}, not {value!r}")
        periods[key] = value
    return Retention(**periods)


def _steps(ctx: _Ctx, raw: Any) -> list[dict]:
    if raw is None:
        return [{"key": DEFAULT_STEP, "title": {"de": "Angaben", "en": "Details"}}]
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("steps", "must be a non-empty list of tables")
    return raw


CHECK_KEYS = {"rule", "field", "other", "message", "table", "column", "unless", "limit", "values", "service",
              "until", "bands", "item", "first"}
#: the answer type each rule compares: (type of ``field``, type of ``other``; None: no other answer)
CHECK_TYPES: dict[str, tuple[str, str | None]] = {
    "after": ("date", "date"), "not_before": ("date", "date"), "statutory_minimum": ("number", "date"),
    "at_most": ("number", None), "at_least": ("number", None), "not_more_than": ("number", "number"),
    "required": ("*", None), "period_band": ("choice", "date"), "shorter_than_period": ("number", "date"),
    "accepted": ("yesno", None), "differs": ("*", "*"),
    "one_of": ("*", None), "same_body": ("postcode", "postcode"), "other_body": ("postcode", "postcode"),
    "served": ("postcode", None), "not_before_age": ("date", "*"), "not_older_than": ("date", None)}
#: the rules whose ``limit`` is a whole number of years (an age, a span back from today)
YEARS_RULES = ("not_before_age", "not_older_than")
#: what a ``not_before_age`` check reads a birth date from: a date, a person (its birth date), or a
#: group (its date ``item``)
BIRTH_TYPES = ("date", "person", "group")
#: the answers a ``differs`` check can compare (two of the same type)
DIFFERS_TYPES = ("text", "textarea", "email", "postcode", "choice", "country", "date", "number", "wz2008")
#: the values a check's message may name
CHECK_PLACEHOLDERS = {"minimum": 1, "year": 2000, "limit": 1, "date": "01.01.2027", "months": 36}
#: the rules that read a period from ``other`` to ``until`` (two dates)
PERIOD_RULES = ("period_band", "shorter_than_period")


def _checks(ctx: _Ctx, raw: Any, fields: dict[str, FieldDefinition], position: Callable[[str], Any],
            unknown: str = "", services: Mapping[str, ServiceDefinition] | None = None,
            routing: Sequence[RoutingRule] = ()) -> tuple[Check, ...]:
    """The ``[[checks]]`` list: rules across answers. Every answer a check reads must come from its
    field's step or an earlier one (``position`` of a field name: where its step comes), so the
    step can show the failure next to the field. ``unknown`` is added to the refusal of a name
    that is not among ``fields`` (how a bundle names its services' fields). ``services``: a
    bundle's services, whose primary receiver a body rule (``same_body``/``other_body``) names
    with ``service``; without them (a service's own checks) a body rule compares the bodies of
    the service's own primary receiver (of its ``routing``) and names no service. A body rule
    compares postcodes: of postcode fields, or of addresses that lie in Germany."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ctx.fail("checks", "must be a list of tables")
    checks = []
    for i, rc in enumerate(raw):
        where = f"checks[{i}]"
        if not isinstance(rc, dict) or set(rc) - CHECK_KEYS:
            raise ctx.fail(where, f"must be a table with keys among {sorted(CHECK_KEYS)}")
        rule = ctx.string(rc, "rule", f"{where}.rule")
        if rule not in CHECK_RULES:
            raise ctx.fail(f"{where}.rule", f"'{rule}' is not one of {', '.join(CHECK_RULES)}")
        types = dict(zip(("field", "other"), CHECK_TYPES[rule], strict=True))
        if types["other"] is None and "other" in rc:
            raise ctx.fail(f"{where}.other", f"an {rule} check compares with no other answer")
        names = {key: ctx.string(rc, key, f"{where}.{key}") for key, wanted in types.items() if wanted}
        if rule in PERIOD_RULES:
            names["until"] = ctx.string(rc, "until", f"{where}.until")
            types["until"] = "date"
        elif "until" in rc or "bands" in rc:
            raise ctx.fail(f"{where}.until", f"only a {' or '.join(PERIOD_RULES)} check has 'until'"
                                             " (and a period_band check 'bands')")
        for key, name in names.items():
            fd = fields.get(name)
            if fd is None:
                raise ctx.fail(f"{where}.{key}", f"no field named '{name}'{unknown}")
            if rule in BODY_RULES and fd.type == "address" and not fd.abroad:
                pass  # its postcode is compared
            elif types[key] not in ("*", fd.type):
                raise ctx.fail(f"{where}.{key}", f"must name a {types[key]} field"
                               + (" or an address in Germany" if rule in BODY_RULES else ""))
            if rule == "required" and fd.required:
                raise ctx.fail(f"{where}.{key}", "a required check is for a field with required = false")
        if rule == "differs":
            kinds = {fields[name].type for name in names.values()}
            if len(kinds) != 1 or not kinds <= set(DIFFERS_TYPES):
                raise ctx.fail(f"{where}.other", "a differs check compares two answers of the same type among "
                                                 + ", ".join(DIFFERS_TYPES))
        body_kind = _body_kind(ctx, rc, rule, services, routing, where)
        step = position(names["field"])
        raw_unless = rc.get("unless", [])
        if not isinstance(raw_unless, list):
            raise ctx.fail(f"{where}.unless", "must be a list of conditions")
        unless = tuple(_condition(ctx, u, f"{where}.unless[{j}]", fields) for j, u in enumerate(raw_unless))
        if any(position(n) > step for n in [*names.values(), *(n for c in unless for n in c.inputs)]):
            raise ctx.fail(where, "can only read answers of its field's step or an earlier one")
        table, column = None, 1
        if rule == "statutory_minimum":
            try:
                table = load_table(ctx.string(rc, "table", f"{where}.table"))
            except TableError as exc:
                raise ctx.fail(f"{where}.table", str(exc)) from None
            width = len(next(iter(table.rows.values())))
            column = int(ctx.number(rc, "column", f"{where}.column", 1, 1, width))
        elif "table" in rc or "column" in rc:
            raise ctx.fail(f"{where}.table", "only a statutory_minimum check has a table")
        limit = None
        if rule in ("at_most", "at_least"):
            value = ctx.number(rc, "limit", f"{where}.limit", None, -1e12, 1e12)
            if value is None:
                raise ctx.fail(f"{where}.limit", f"an {rule} check needs a limit")
            limit = Decimal(str(value))
        elif rule in YEARS_RULES:
            value = ctx.number(rc, "limit", f"{where}.limit", None, 1, 150)
            if not isinstance(value, int):
                raise ctx.fail(f"{where}.limit", f"a {rule} check needs a limit: a whole number of years from 1 to 150")
            limit = Decimal(value)
        elif "limit" in rc:
            raise ctx.fail(f"{where}.limit",
                           f"only an at_most, at_least or {' or '.join(YEARS_RULES)} check has a limit")
        bands = _bands(ctx, rc, f"{where}.bands", fields[names["field"]]) if rule == "period_band" else ()
        if rule == "shorter_than_period" and "bands" in rc:
            raise ctx.fail(f"{where}.bands", "only a period_band check has bands")
        values: tuple[str, ...] = ()
        item = None
        if rule == "one_of" and fields[names["field"]].type == "group":
            item = ctx.string(rc, "item", f"{where}.item")
            sub = next((f for f in fields[names["field"]].fields if f.name == item), None)
            if sub is None:
                raise ctx.fail(f"{where}.item", f"no field named '{item}' in the group '{names['field']}'")
            values = _one_of_values(ctx, rc.get("values"), f"{where}.values", sub)
        elif rule == "not_before_age":
            item = _birth_item(ctx, rc, where, fields[names["other"]])
        elif "item" in rc:
            raise ctx.fail(f"{where}.item", "only a one_of check on a group, or a not_before_age check reading a"
                                            " group, names an item field")
        elif rule == "one_of":
            values = _one_of_values(ctx, rc.get("values"), f"{where}.values", fields[names["field"]])
        if "values" in rc and rule != "one_of":
            raise ctx.fail(f"{where}.values", "only a one_of check has values")
        if "first" in rc and rule != "not_before_age":
            raise ctx.fail(f"{where}.first", "only a not_before_age check reading a group has 'first'")
        # a served check's failure is always the unrouted postcode's message (``check_message``)
        message = Text(de="", en="") if rule == "served" and "message" not in rc else \
            ctx.text(rc, "message", f"{where}.message")
        for text in (message.de, message.en):
            try:
                text.format(**CHECK_PLACEHOLDERS)
            except (KeyError, IndexError, ValueError):
                raise ctx.fail(f"{where}.message", "may only use the placeholders "
                               + ", ".join(f"{{{k}}}" for k in CHECK_PLACEHOLDERS)) from None
        checks.append(Check(rule=rule, field=names["field"], other=names.get("other"), message=message,
                            limit=limit, table=table, column=column, unless=unless, values=values,
                            body_kind=body_kind, field_routed=body_kind is not None and services is not None,
                            until=names.get("until"), bands=bands, item=item, first=rc.get("first", False)))
    return tuple(checks)


def _birth_item(ctx: _Ctx, rc: dict[str, Any], where: str, other: FieldDefinition) -> str | None:
    """A ``not_before_age`` check's ``other``: a date, a person, or a group with ``item`` (its
    entries' birth date, a date field) and optional ``first = true`` (only the first entry's).
    The ``item`` of a group (else None); refused, naming the key, when it does not fit."""
    if other.type not in BIRTH_TYPES:
        raise ctx.fail(f"{where}.other", "a not_before_age check reads the birth date of a date, person or group field")
    first = rc.get("first", False)
    if other.type != "group":
        for key in ("item", "first"):
            if key in rc:
                raise ctx.fail(f"{where}.{key}", f"only a not_before_age check reading a group has '{key}'")
        return None
    if not isinstance(first, bool):
        raise ctx.fail(f"{where}.first", "must be true or false")
    item = ctx.string(rc, "item", f"{where}.item")
    sub = next((f for f in other.fields if f.name == item), None)
    if sub is None or sub.type != "date":
        raise ctx.fail(f"{where}.item", f"no date field named '{item}' in the group '{other.name}'")
    return item


def _bands(ctx: _Ctx, rc: dict[str, Any], where: str, fd: FieldDefinition) -> tuple[tuple[str, int, int], ...]:
    """The ``bands`` of a ``period_band`` check: every choice of its field with ``[lowest, highest]``
    whole months (e.g. ``bis_36 = [25, 36]``)."""
    raw = rc.get("bands")
    choices = {c.value for c in fd.choices}
    if not isinstance(raw, dict) or set(raw) != choices:
        raise ctx.fail(where, f"must give every choice of '{fd.name}' its months: {', '.join(sorted(choices))}")
    bands = []
    for value, band in raw.items():
        if not (isinstance(band, list) and len(band) == 2 and all(isinstance(m, int) and not isinstance(m, bool)
                                                                  and 0 <= m <= 1200 for m in band)
                and band[0] <= band[1]):
            raise ctx.fail(f"{where}.{value}", "must be [lowest, highest] whole months")
        bands.append((value, band[0], band[1]))
    return tuple(bands)


def _one_of_values(ctx: _Ctx, raw: Any, where: str, fd: FieldDefinition) -> tuple[str, ...]:
    """The ``values`` of a ``one_of`` check: a non-empty list of the choices of its choice field
    or of ISO 3166-1 alpha-2 codes for its country field."""
    if fd.type not in ("choice", "country"):
        raise ctx.fail(where.rsplit(".", 1)[0] + ".field", "a one_of check is for a choice or country field")
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        raise ctx.fail(where, "must be a non-empty list of values")
    known = {c.value for c in fd.choices} if fd.type == "choice" else countries.codes()
    for value in raw:
        if value not in known:
            raise ctx.fail(where, f"'{value}' is not a choice of '{fd.name}'" if fd.type == "choice"
                           else f"'{value}' is not an ISO 3166-1 alpha-2 code")
    if len(set(raw)) != len(raw):
        raise ctx.fail(where, "values must be unique")
    return tuple(raw)


def _body_kind(ctx: _Ctx, rc: dict[str, Any], rule: str, services: Mapping[str, ServiceDefinition] | None,
               routing: Sequence[RoutingRule], where: str) -> str | None:
    """The kind of body a body rule compares: the primary receiver (routed without a condition)
    of the bundle's service it names, or of the service whose check it is (``routing``); None for
    the other rules, which name no service."""
    if rule not in BODY_RULES:
        if "service" in rc:
            raise ctx.fail(f"{where}.service", f"only a {' or '.join(BODY_RULES)} check names a service")
        return None
    if services is None:
        if "service" in rc:
            raise ctx.fail(f"{where}.service", "a service's own check compares the bodies of its own receiver")
    else:
        key = ctx.string(rc, "service", f"{where}.service")
        service = services.get(key)
        if service is None:
            raise ctx.fail(f"{where}.service", f"'{key}' is not one of the bundle's services")
        routing = service.routing
    kind = next((r.kind for r in routing if r.role == "primary" and r.when is None), None)
    if kind is None:
        raise ctx.fail(f"{where}.service" if services is not None else f"{where}.rule",
                       "the service has no primary receiver routed without a condition")
    return kind


def steps_and_fields(ctx: _Ctx, raw: dict[str, Any],
                     ) -> tuple[tuple[StepDefinition, ...], dict[str, FieldDefinition]]:
    """The ``steps`` and ``fields`` of a definition (a service's, or a bundle's questionnaire),
    validated: every field on a known step, every step with a field, conditions on earlier steps."""
    raw_steps = _steps(ctx, raw.get("steps"))
    step_order: dict[str, int] = {}
    for i, rs in enumerate(raw_steps):
        if not isinstance(rs, dict) or not set(rs) <= {"key", "title", "show_if"}:
            raise ctx.fail(f"steps[{i}]", "must be a table with key, title and optional show_if")
        skey = ctx.string(rs, "key", f"steps[{i}].key")
        if not NAME_RE.match(skey) or skey in step_order:
            raise ctx.fail(f"steps[{i}].key", f"'{skey}' must be unique lower_snake_case")
        step_order[skey] = i

    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise ctx.fail("fields", "at least one field is needed")
    fields: dict[str, FieldDefinition] = {}
    for i, rf in enumerate(raw_fields):
        fd = _field(ctx, rf, f"fields[{i}]", fields, step_order)
        if fd.name in fields:
            raise ctx.fail(f"fields.{fd.name}", "duplicate field name")
        fields[fd.name] = fd

    steps: list[StepDefinition] = []
    for i, rs in enumerate(raw_steps):
        show_if = None
        if "show_if" in rs:
            show_if = _condition(ctx, rs["show_if"], f"steps[{i}].show_if", fields)
            if max(step_order[fields[n].step] for n in show_if.inputs) >= i:
                raise ctx.fail(f"steps[{i}].show_if", "can only depend on a field of an earlier step")
        steps.append(StepDefinition(key=rs["key"], title=ctx.text(rs, "title", f"steps[{i}].title"),
                                    show_if=show_if))
        if not any(fd.step == rs["key"] for fd in fields.values()):
            raise ctx.fail(f"steps[{i}]", f"step '{rs['key']}' has no fields")

    return tuple(steps), fields


def parse_definition(raw: dict[str, Any], source: str) -> ServiceDefinition:
    """Validate one parsed TOML document and build its ``ServiceDefinition``."""
    ctx = _Ctx(source)
    allowed = {"key", "kind", "title", "summary", "competent_body", "legal_basis", "leika", "fields",
               "routing", "location_field", "documents", "steps", "fee", "processing_time", "life_events",
               "keywords", "max_total_attachments_mb", "trust_level", "source",
               "next_steps", "list_fields", "retention", "checks", "review_in_form_order"}
    ctx.known_keys(raw, allowed)
    key = ctx.key(raw)
    kind = ctx.string(raw, "kind")
    if kind not in SERVICE_KINDS:
        raise ctx.fail("kind", f"'{kind}' is not one of {', '.join(SERVICE_KINDS)}")
    leika = raw.get("leika") or None
    if leika is not None and not (isinstance(leika, str) and re.fullmatch(r"\d{14}", leika)):
        raise ctx.fail("leika", "must be empty or a 14-digit LeiKa key")

    steps, fields = steps_and_fields(ctx, raw)

    raw_routing = raw.get("routing")
    if not isinstance(raw_routing, list) or not raw_routing:
        raise ctx.fail("routing", "at least one routing rule is needed")
    routing = []
    for i, r in enumerate(raw_routing):
        where = f"routing[{i}]"
        if not isinstance(r, dict) or not set(r) <= {"kind", "role", "when"}:
            raise ctx.fail(where, "must be a table with kind, role and optional when")
        rkind = ctx.string(r, "kind", f"{where}.kind")
        if rkind not in DESTINATION_KINDS:
            raise ctx.fail(f"{where}.kind", f"'{rkind}' is not one of {', '.join(DESTINATION_KINDS)}")
        role = r.get("role", "primary")
        if role not in ("primary", "copy"):
            raise ctx.fail(f"{where}.role", "must be 'primary' or 'copy'")
        when = _condition(ctx, r["when"], f"{where}.when", fields) if "when" in r else None
        routing.append(RoutingRule(kind=rkind, role=role, when=when))
    primaries = [r for r in routing if r.role == "primary"]
    if not primaries:
        raise ctx.fail("routing", "needs at least one primary destination")

    location_field = raw.get("location_field")
    if location_field is not None and (
        location_field not in fields or fields[location_field].type not in ("postcode", "address")
    ):
        raise ctx.fail("location_field", "must name a field of type 'postcode' or 'address'")
    if location_field is not None and fields[location_field].abroad:
        raise ctx.fail("location_field", "the address that decides the competent body cannot lie abroad "
                                         "(no 'abroad = true')")
    life_events = raw.get("life_events", [])
    if not isinstance(life_events, list) or any(e not in LIFE_EVENTS for e in life_events):
        raise ctx.fail("life_events", f"must list values among {', '.join(LIFE_EVENTS)}")
    keywords = raw.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
        raise ctx.fail("keywords", "must be a list of words")
    documents = raw.get("documents", [])
    if not isinstance(documents, list):
        raise ctx.fail("documents", "must be a list")
    list_fields = raw.get("list_fields", [])
    if not isinstance(list_fields, list) or len(list_fields) > 3:
        raise ctx.fail("list_fields", "must be a list of at most three field names")
    for i, entry in enumerate(list_fields):
        # "a|b": the first of them answered (e.g. the new address of a move, else the address)
        for name in str(entry).split("|"):
            if name not in fields:
                raise ctx.fail(f"list_fields[{i}]", f"no field named '{name}'")
            if fields[name].type in LIST_FIELD_EXCLUDED:
                raise ctx.fail(f"list_fields[{i}]", f"a {fields[name].type} field cannot tell filings apart")
    trust_level = raw.get("trust_level")
    if trust_level is not None and trust_level not in ("low", "substantial", "high"):
        raise ctx.fail("trust_level", "must be 'low', 'substantial' or 'high'")
    review_in_form_order = raw.get("review_in_form_order", False)
    if not isinstance(review_in_form_order, bool):
        raise ctx.fail("review_in_form_order", "must be true or false")
    order = {step.key: i for i, step in enumerate(steps)}
    return ServiceDefinition(
        key=key,
        kind=kind,
        title=ctx.text(raw, "title"),
        summary=ctx.text(raw, "summary"),
        competent_body=ctx.text(raw, "competent_body"),
        legal_basis=ctx.string(raw, "legal_basis"),
        leika=leika,
        fields=tuple(fields.values()),
        routing=tuple(routing),
        steps=steps,
        location_field=location_field,
        documents=tuple(ctx.text({"d": d}, "d", f"documents[{i}]") for i, d in enumerate(documents)),
        fee=_fee(ctx, raw.get("fee")),
        processing_time=ctx.text(raw, "processing_time", required=False),
        life_events=tuple(life_events),
        keywords=tuple(k.strip() for k in keywords),
        max_total_attachments_mb=float(ctx.number(raw, "max_total_attachments_mb", "max_total_attachments_mb",
                                                  20, 0.1, 25)),
        trust_level=trust_level,
        sources=_sources(ctx, raw.get("source")),
        next_steps=ctx.text(raw, "next_steps", required=False),
        list_fields=tuple(list_fields),
        retention=_retention(ctx, raw.get("retention")),
        checks=_checks(ctx, raw.get("checks"), fields, lambda name: order[fields[name].step], routing=routing),
        review_in_form_order=review_in_form_order,
        source=source,
    )


def load_definition_text(text: str, source: str) -> ServiceDefinition:
    """A definition from its TOML text; ``source`` names it in error messages.

    The same text under the same name gives the same (immutable) definition: parsed definitions
    are kept in a bounded cache, so every app a process builds (tests build hundreds, the web and
    the worker one each) reads a shipped file's TOML once. A broken text is not kept: it raises
    each time."""
    return _parsed_definition(text, source)


@functools.lru_cache(maxsize=512)
def _parsed_definition(text: str, source: str) -> ServiceDefinition:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{source}: not valid TOML: {exc}") from exc
    return parse_definition(raw, source)


def load_definition_file(path: Path) -> ServiceDefinition:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"{path.name}: not UTF-8 text: {exc}") from exc
    definition = load_definition_text(text, path.name)
    if definition.key != path.stem:
        raise DefinitionError(f"{path.name}: field 'key': '{definition.key}' must match the file name")
    return definition


def load_catalog(directory: Path | None = None, extra: Path | None = None) -> dict[str, ServiceDefinition]:
    """Load every ``*.toml`` of the shipped ``directory`` and then of ``extra`` (imported by an
    admin; a definition there replaces a shipped one with the same key). Raises
    ``DefinitionError`` on the first broken file."""
    directory = directory or DEFINITIONS_DIR
    catalog: dict[str, ServiceDefinition] = {}
    for folder in (directory, extra):
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            definition = load_definition_file(path)
            catalog[definition.key] = definition
    if not catalog:
        raise DefinitionError(f"{directory}: no service definitions found")
    return catalog
