"""An administrator creates, changes and imports receiving bodies.

Every write checks the body's data field by field and the whole set of bodies together (two
enabled bodies of the same kind may not share a postcode prefix or a municipality key, else the
routing would pick one by chance), then commits in one transaction: nothing is stored half.
Routing (``routing.competent_chamber``) reads the rows on every filing, so a committed change
routes the next filing. The adapter of a body is changed on its settings page (``settings``);
a new body starts on the portal's own inbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from ..extensions import db
from .models import CHAMBER_KINDS, Chamber

#: URL words under /staff/admin/kammern/ that cannot be a body's slug
RESERVED_SLUGS = frozenset({"neu", "import"})
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
POSTCODE_PREFIX = re.compile(r"^\d{1,5}$")
MUNICIPALITY_KEY = re.compile(r"^\d{8}$")
#: a Behördenkennung as the DVDV / federal directory gives it: prefix ("MELDID", "azr") and id
#: ("12052000", "000100"); letters and digits only, case kept
AUTHORITY_PREFIX = re.compile(r"^[A-Za-z0-9]{2,10}$")
AUTHORITY_ID = re.compile(r"^[A-Za-z0-9]{1,20}$")
#: the fields of a body in forms and import files, in this order
FIELDS = ("slug", "name", "kind", "region", "postcode_prefixes", "municipality_keys", "enabled",
          "authority_prefix", "authority_id")
#: fields an import row may leave out: the stored value stays
KEPT_WHEN_MISSING = ("authority_prefix", "authority_id")
TRUE = {"1", "true", "ja", "yes", "wahr", "x"}
FALSE = {"0", "false", "nein", "no", "falsch", ""}


@dataclass(frozen=True)
class BodyData:
    """A body's master data as an administrator gives it (checked, normalised)."""

    slug: str
    name: str
    kind: str
    region: str
    postcode_prefixes: tuple[str, ...] = ()
    municipality_keys: tuple[str, ...] = ()
    enabled: bool = True
    #: the Behördenkennung (DVDV): both empty, or both set
    authority_prefix: str = ""
    authority_id: str = ""

    @classmethod
    def of(cls, chamber: Chamber) -> BodyData:
        return cls(chamber.slug, chamber.name, chamber.kind, chamber.region, tuple(chamber.postcode_prefixes or ()),
                   tuple(chamber.municipality_keys or ()), bool(chamber.enabled), chamber.authority_prefix or "",
                   chamber.authority_id or "")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    #: where the value came from in an import file ("Zeile 4"), else None
    where: str | None = None

    def __str__(self) -> str:
        text = gettext("Feld „%(field)s“: %(message)s", field=self.field, message=self.message)
        return f"{self.where}, {text}" if self.where else text


@dataclass
class BodiesInvalid(Exception):
    """The data do not fit; nothing was stored. ``errors`` names each field (and line)."""

    errors: list[FieldError] = field(default_factory=list)

    def by_field(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.errors:
            out.setdefault(e.field, []).append(e.message)
        return out


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    #: slug → the changes ("name: alt → neu")
    changed: dict[str, list[str]]
    unchanged: list[str]
    #: slug → what a created body holds (``summary``)
    summaries: dict[str, str] = field(default_factory=dict)


def split_list(value: Any) -> list[str]:
    """A list of area values from a list, or from text separated by commas, semicolons or spaces."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else re.split(r"[\s,;]+", str(value))
    seen: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def parse_enabled(value: Any) -> bool | None:
    """``enabled`` from a form or file: a boolean, or yes/no words; ``None`` when it is neither."""
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    return None


def check_fields(raw: Mapping[str, Any], where: str | None = None) -> tuple[BodyData, list[FieldError]]:
    """Normalise and check one body's values (``FIELDS``; ``enabled`` defaults to true)."""
    errors: list[FieldError] = []

    def text(name: str, limit: int) -> str:
        value = raw.get(name)
        value = "" if value is None else str(value).strip()
        if not value:
            errors.append(FieldError(name, gettext("Bitte geben Sie einen Wert an."), where))
        elif len(value) > limit:
            errors.append(FieldError(name, gettext("Höchstens %(n)d Zeichen.", n=limit), where))
        return value

    slug = text("slug", 64).lower()
    if slug and (not SLUG.match(slug) or slug in RESERVED_SLUGS):
        errors.append(FieldError("slug", gettext(
            "„%(value)s“ ist keine gültige Kennung: 2 bis 64 Kleinbuchstaben, Ziffern und Bindestriche, am Anfang "
            "ein Buchstabe oder eine Ziffer (nicht „neu“ oder „import“).", value=slug), where))
    name = text("name", 255)
    kind = text("kind", 16).upper()
    if kind and kind not in CHAMBER_KINDS:
        errors.append(FieldError("kind", gettext("„%(value)s“ ist keine Art einer Stelle; erlaubt: %(kinds)s.",
                                                 value=kind, kinds=", ".join(CHAMBER_KINDS)), where))
    region = text("region", 100)
    postcodes = split_list(raw.get("postcode_prefixes"))
    for p in postcodes:
        if not POSTCODE_PREFIX.match(p):
            errors.append(FieldError("postcode_prefixes", gettext(
                "„%(value)s“ ist kein Anfang einer Postleitzahl (1 bis 5 Ziffern).", value=p), where))
    keys = split_list(raw.get("municipality_keys"))
    for k in keys:
        if not MUNICIPALITY_KEY.match(k):
            errors.append(FieldError("municipality_keys", gettext(
                "„%(value)s“ ist kein amtlicher Gemeindeschlüssel (8 Ziffern).", value=k), where))
    if not postcodes and not keys:
        errors.append(FieldError("postcode_prefixes", gettext(
            "Bitte geben Sie mindestens einen Anfang einer Postleitzahl oder einen Gemeindeschlüssel an."), where))
    enabled = parse_enabled(raw.get("enabled", True))
    if enabled is None:
        errors.append(FieldError("enabled", gettext("„%(value)s“: bitte „ja“ oder „nein“ angeben.",
                                                    value=str(raw.get("enabled"))), where))
    prefix, authority_id = (str(raw.get(n) or "").strip() for n in ("authority_prefix", "authority_id"))
    if prefix and not AUTHORITY_PREFIX.match(prefix):
        errors.append(FieldError("authority_prefix", gettext(
            "„%(value)s“ ist kein Präfix einer Behördenkennung: 2 bis 10 Buchstaben oder Ziffern.",
            value=prefix), where))
    if authority_id and not AUTHORITY_ID.match(authority_id):
        errors.append(FieldError("authority_id", gettext(
            "„%(value)s“ ist keine Kennung einer Behörde: 1 bis 20 Buchstaben oder Ziffern.",
            value=authority_id), where))
    if bool(prefix) != bool(authority_id):
        missing = "authority_id" if prefix else "authority_prefix"
        errors.append(FieldError(missing, gettext(
            "Bitte geben Sie Präfix und Kennung der Behördenkennung an, oder keines von beiden."), where))
    data = BodyData(slug, name, kind, region, tuple(postcodes), tuple(keys), bool(enabled), prefix, authority_id)
    return data, errors


def overlaps(bodies: Iterable[BodyData], where: Mapping[str, str | None] | None = None) -> list[FieldError]:
    """Errors for each area value two enabled bodies of the same kind share (``where``: slug → line)."""
    owners: dict[tuple[str, str, str], str] = {}
    errors: list[FieldError] = []
    for body in bodies:
        if not body.enabled:
            continue
        for name, values in (("postcode_prefixes", body.postcode_prefixes),
                             ("municipality_keys", body.municipality_keys)):
            for value in values:
                other = owners.setdefault((body.kind, name, value), body.slug)
                if other != body.slug:
                    errors.append(FieldError(name, gettext(
                        "%(value)s gehört schon zum Gebiet von „%(other)s“ (%(kind)s); zwei aktive Stellen derselben "
                        "Art dürfen sich kein Gebiet teilen.", value=value, other=other, kind=body.kind),
                        (where or {}).get(body.slug)))
    return errors


def _all_with(changed: Sequence[BodyData]) -> list[BodyData]:
    """Every body as it would be after the change: stored ones, replaced or added by ``changed``."""
    new = {b.slug: b for b in changed}
    stored = [BodyData.of(c) for c in db.session.scalars(select(Chamber).order_by(Chamber.id))]
    return [new.pop(b.slug, b) for b in stored] + list(new.values())


def describe_changes(before: BodyData, after: BodyData) -> list[str]:
    """The changed fields as short text for the audit log ("name: A → B")."""
    out = []
    for name in FIELDS[1:]:
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            show = (lambda v: " ".join(v) or "-") if isinstance(old, tuple) else str
            out.append(f"{name}: {show(old) or '-'} → {show(new) or '-'}")
    return out


def summary(data: BodyData) -> str:
    """A body's master data as short text for the audit log."""
    return (f"name: {data.name}; kind: {data.kind}; region: {data.region}; "
            f"postcode_prefixes: {' '.join(data.postcode_prefixes) or '-'}; "
            f"municipality_keys: {' '.join(data.municipality_keys) or '-'}; enabled: {data.enabled}; "
            f"authority: {authority_text(data) or '-'}")


def authority_text(data: BodyData) -> str:
    """The Behördenkennung as "prefix:id", or "" when none is set."""
    return f"{data.authority_prefix}:{data.authority_id}" if data.authority_id else ""


def _write(chamber: Chamber, data: BodyData) -> None:
    chamber.name, chamber.kind, chamber.region = data.name, data.kind, data.region
    chamber.postcode_prefixes = list(data.postcode_prefixes)
    chamber.municipality_keys = list(data.municipality_keys)
    chamber.enabled = data.enabled
    chamber.authority_prefix = data.authority_prefix or None
    chamber.authority_id = data.authority_id or None


def _new(data: BodyData) -> Chamber:
    chamber = Chamber(slug=data.slug, adapter_key="inbox", options={"chamber_slug": data.slug})
    _write(chamber, data)
    db.session.add(chamber)
    return chamber


def create_body(raw: Mapping[str, Any]) -> Chamber:
    """Create a body (on the portal's inbox adapter) from form values; commits. Raises ``BodiesInvalid``."""
    data, errors = check_fields(raw)
    if not errors and db.session.scalar(select(Chamber.id).where(Chamber.slug == data.slug)) is not None:
        errors.append(FieldError("slug", gettext("Eine Stelle mit der Kennung „%(slug)s“ gibt es schon.",
                                                 slug=data.slug)))
    if not errors:
        errors = overlaps(_all_with([data]))
    if errors:
        db.session.rollback()
        raise BodiesInvalid(errors)
    chamber = _new(data)
    db.session.commit()
    return chamber


def update_body(chamber: Chamber, raw: Mapping[str, Any]) -> list[str]:
    """Change a body's name, kind, region, area and whether it receives filings (the slug stays);
    commits. Returns the changes as text. Raises ``BodiesInvalid`` (nothing stored)."""
    data, errors = check_fields({**raw, "slug": chamber.slug})
    if not errors:
        errors = overlaps(_all_with([data]))
    if errors:
        db.session.rollback()
        raise BodiesInvalid(errors)
    changes = describe_changes(BodyData.of(chamber), data)
    _write(chamber, data)
    db.session.commit()
    return changes


def import_bodies(rows: Sequence[tuple[str, Mapping[str, Any]]]) -> ImportResult:
    """Create or update every body of an import (``(where, values)`` per body, e.g. ("Zeile 2", {…})),
    matched by slug; bodies not in the file stay as they are. Checks every row and the whole set
    first and stores all in one commit, or raises ``BodiesInvalid`` with every error and stores
    nothing."""
    errors: list[FieldError] = []
    parsed: list[BodyData] = []
    lines: dict[str, str | None] = {}
    stored = {c.slug: c for c in db.session.scalars(select(Chamber))}
    for where, raw in rows:
        known = stored.get(str(raw.get("slug") or "").strip().lower())
        if known is not None and not any(name in raw for name in KEPT_WHEN_MISSING):
            raw = {**raw, "authority_prefix": known.authority_prefix, "authority_id": known.authority_id}
        data, row_errors = check_fields(raw, where)
        errors += row_errors
        if data.slug in lines:
            errors.append(FieldError("slug", gettext("Die Kennung „%(slug)s“ steht schon in %(where)s.",
                                                     slug=data.slug, where=lines[data.slug]), where))
        elif data.slug:
            lines[data.slug] = where
            parsed.append(data)
    if not rows:
        errors.append(FieldError("slug", gettext("Die Datei enthält keine Stelle.")))
    if not errors:
        errors = overlaps(_all_with(parsed), lines)
    if errors:
        db.session.rollback()
        raise BodiesInvalid(errors)
    result = ImportResult([], {}, [])
    for data in parsed:
        chamber = stored.get(data.slug)
        if chamber is None:
            _new(data)
            result.created.append(data.slug)
            result.summaries[data.slug] = summary(data)
            continue
        changes = describe_changes(BodyData.of(chamber), data)
        if changes:
            _write(chamber, data)
            result.changed[data.slug] = changes
        else:
            result.unchanged.append(data.slug)
    db.session.commit()
    return result
