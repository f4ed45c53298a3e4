"""Service definitions as loaded from the data files (plain, immutable objects; not ORM rows)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..common import countries
from ..common.legal_forms import folded as folded_legal_form

SERVICE_KINDS = ("trade", "permit", "registration")
FIELD_TYPES = ("text", "textarea", "email", "date", "number", "choice", "multichoice", "yesno", "postcode",
               "address", "person", "group", "file", "country", "wz2008")
#: field types whose answer a condition can test (a multichoice only with ``contains``)
CONDITION_TYPES = ("yesno", "choice", "country", "multichoice")
#: field types that offer a list of ``choices``
CHOICE_TYPES = ("choice", "multichoice")
#: formats a text field can demand; validated in ``bizportal.common.validators``
TEXT_FORMATS = ("iban", "vat_de", "steuernummer", "handelsregisternummer", "wirtschafts_idnr", "wz2008",
                "phone", "betriebsnummer")
#: rules a ``[[checks]]`` entry can apply across answers (``Check``)
CHECK_RULES = ("after", "not_before", "statutory_minimum", "at_most", "at_least", "not_more_than", "required",
               "accepted", "differs", "one_of", "period_band", "shorter_than_period", "same_body", "other_body",
               "served", "not_before_age", "not_older_than")
#: the rules that look up the competent bodies of postcodes (a postcode field or an address's
#: postcode): compare two postcodes' bodies (a bundle's checks on its questions, or a service's own),
#: or (``served``, a bundle's) demand that one postcode has a body
BODY_RULES = ("same_body", "other_body", "served")
#: how a bundle's check on a field of one of its services names an answer to the bundle's own
#: questions (``BundleDefinition.service_checks``); no field name contains the colon
BUNDLE_ANSWER = "vorhaben:"
DESTINATION_KINDS = ("HWK", "IHK", "GEWERBEAMT")
#: the regions of the bodies the portal routes to (``Chamber.region``, see ``demo.CHAMBERS``): a fee
#: note that holds in one of them only is given per region (``Fee.regional``)
FEE_REGIONS = ("Hamburg", "Bremen", "Bremerhaven")
LIFE_EVENTS = ("gruendung", "aenderung", "aufgabe", "ausbildung", "aussenhandel", "erlaubnis")
FILE_TYPES = ("pdf", "png", "jpeg")
#: sub-fields of the compound types, in display order
ADDRESS_PARTS = ("street", "postcode", "city")
#: what a field may take from the company's latest filed Gewerbeanzeige (``from_filing``), by the
#: type of field it fills: the business as notified before (``filings.earlier`` reads them from a
#: Gewerbeanmeldung or -ummeldung); ``anschrift`` is the premises' address, ``street``,
#: ``postcode`` and ``city`` its parts
FILING_PARTS = {
    "inhaber_art": ("choice",), "registereintrag": ("yesno",), "handelsregisternummer": ("text",),
    "geschaeftsbezeichnung": ("text",), "oeffentliche_hand": ("choice",), "zahl_vertreter": ("number",),
    "personen": ("group",), "taetigkeit": ("textarea",), "nebenerwerb": ("yesno",), "wz2008": ("wz2008",),
    "handwerk": ("yesno",), "industrie": ("yesno",), "handel": ("yesno",), "sonstiges": ("yesno",),
    "vollzeit": ("number",), "teilzeit": ("number",), "niederlassung": ("choice",), "reisegewerbe": ("yesno",),
    "hauptniederlassung": ("address",), "anschrift": ("address",), "street": ("text",),
    "postcode": ("postcode",), "city": ("text",),
}
#: the part an address that may lie abroad (``abroad``) has besides: its state (ISO 3166-1 alpha-2)
COUNTRY_PART = "country"
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
    #: no longer offered (not on the current form), kept so that old filings show its label
    retired: bool = False


@dataclass(frozen=True)
class Condition:
    """True when the answer to ``field`` equals ``equals``; or, with ``values``, when it is one of
    them (``negate``: when it is none of them; an unanswered field is none of them); or, with
    ``contains`` (a multichoice field), when ``equals`` is among the values chosen.

    An age (``age_on``, ``age``): true when the person born on ``field`` (a date, or a person's
    birth date) is not yet ``age`` years old on the date answered to ``age_on`` (``negate``: is at
    least that old then). Neither holds while one of the two dates is not answered, so a step or
    field shown for either age is asked once both are known (e.g. the legal guardians of a trainee
    under 18 when the contract is signed, § 11 Abs. 2 BBiG; the medical certificate of one under 18
    at the start of the training, § 32 JArbSchG). With ``year_start`` the age
    is read on 1 January of the year of that date (the holidays of § 19 Abs. 2 JArbSchG go by the
    age "zu Beginn des Kalenderjahrs")."""

    field: str
    equals: Any = None
    values: tuple[Any, ...] = ()
    negate: bool = False
    contains: bool = False
    age_on: str | None = None
    age: int | None = None
    year_start: bool = False
    #: ``values`` are legal forms folded (``legal_forms.folded``); the answer is folded before it is compared
    legal_form: bool = False

    @property
    def inputs(self) -> set[str]:
        """The answers the condition reads."""
        return {self.field, *([self.age_on] if self.age_on else [])}

    def holds(self, answers: dict[str, Any]) -> bool:
        answer = answers.get(self.field)
        if self.age_on is not None:
            on = answers.get(self.age_on)
            if self.year_start and on not in (None, ""):
                on = f"{str(on)[:4]}-01-01"
            years = years_of_age(answer, on)
            return years is not None and self.age is not None and (years < self.age) != self.negate
        if self.contains:
            return isinstance(answer, list) and self.equals in answer
        if self.legal_form:
            return folded_legal_form(answer) in self.values
        if self.values:
            return (answer in self.values) != self.negate
        return answer == self.equals


def years_of_age(born: Any, on: Any) -> int | None:
    """Full years of life on the date ``on`` of someone born on ``born`` (an ISO date, or a person
    answer with its ``birth_date``); None while either is missing or no date."""
    if isinstance(born, dict):
        born = born.get("birth_date")
    try:
        birth, day = date.fromisoformat(str(born)), date.fromisoformat(str(on))
    except ValueError:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class AllOf:
    """Conditions that must all hold: a bundle's ``when = [{ ... }, { ... }]`` on a fixed value or
    a conditional mapping (e.g. the Handwerksrolle's "Stellung: Inhaberin" while the business is a
    sole trader's and its first person leads it)."""

    conditions: tuple[Condition, ...]

    def holds(self, answers: dict[str, Any]) -> bool:
        return all(c.holds(answers) for c in self.conditions)


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
    #: person fields: whether the person's nationality is a part (false where the form asks it
    #: as a coded ``country`` field of its own)
    ask_nationality: bool = True
    #: date fields: the date records something that has already happened (an examination, a
    #: decision, the issue of a permit), so it lies today or before
    past: bool = False
    #: person fields: the birth place is required (where the form asks it of every person, e.g. a
    #: permit's "Angaben zur Person"); otherwise it is optional
    birth_place_required: bool = False
    #: address fields: the address may lie in another state (a person's home): it has the part
    #: ``country`` (Germany when not given, as in answers stored before), and the postcode follows
    #: that state's format. An address that decides the competent body stays German.
    abroad: bool = False
    #: a yes/no inside a group: "Ja" gives the entry the street, postcode and city (and the state,
    #: where the group asks it) of the address field of this name, e.g. a minor's guardian who lives
    #: at the trainee's address (``ServiceDefinition.with_copies``)
    copies: str | None = None
    #: what of the company's latest filed Gewerbeanzeige a new draft starts with (one of
    #: ``FILING_PARTS``), before the account's ``prefill``: the business as notified before (its
    #: persons, activity, premises), where a move, a change or a closure describes it again
    from_filing: str | None = None

    def visible(self, answers: dict[str, Any]) -> bool:
        return self.show_if is None or self.show_if.holds(answers)

    @property
    def parts(self) -> tuple[str, ...]:
        """The sub-fields of an address or person field, in display order (else none)."""
        if self.type == "address":
            return (*ADDRESS_PARTS, COUNTRY_PART) if self.abroad else ADDRESS_PARTS
        if self.type == "person":
            return PERSON_PARTS if self.ask_nationality else tuple(p for p in PERSON_PARTS if p != "nationality")
        return ()


def choice_labels(fd: FieldDefinition, value: Any, locale: str) -> list[str]:
    """The labels of a multichoice answer (a list of values) in the definition's order; a value
    the definition does not know is shown as it is."""
    chosen = value if isinstance(value, list) else [value]
    labels = {c.value: c.label.get(locale) for c in fd.choices}
    known = [labels[c.value] for c in fd.choices if c.value in chosen]
    return known + [str(v) for v in chosen if v not in labels]


def shown_entry_fields(fields: Sequence[FieldDefinition], entry: Any) -> list[tuple[FieldDefinition, Any]]:
    """The fields of one entry of a repeated group that a page or an export shows, with their
    answers: answered, and asked — a field whose condition does not hold for this entry (in
    definition order, so a field depending on a hidden one is hidden too, as the form asked them:
    ``filings.forms.group_item``) is left out even if a value is stored."""
    if not isinstance(entry, dict):
        return []
    asked: dict[str, Any] = {}
    shown = []
    for sub in fields:
        value = entry.get(sub.name) if sub.visible(asked) else None
        asked[sub.name] = value
        if value not in (None, "", []):
            shown.append((sub, value))
    return shown


def compound_values(value: dict[str, Any], locale: str) -> list[str]:
    """The parts of an address or person answer as a person reads them, without the birth date
    (each caller writes it in its own way), for the caller to join with commas. An address (no
    part but ``ADDRESS_PARTS`` and ``COUNTRY_PART``) is written as a letter is addressed: street,
    then postcode and town as one part ("28195 Bremen"), then its state by its name in ``locale``,
    left out for Germany (a domestic address is written without it). A person's parts come in
    stored order."""
    if value and set(value) <= {*ADDRESS_PARTS, COUNTRY_PART}:
        town = " ".join(str(value[k]) for k in ("postcode", "city") if value.get(k))
        shown = [str(value["street"])] if value.get("street") else []
        shown += [town] if town else []
        country = value.get(COUNTRY_PART)
        if country and country != "DE":
            shown.append(countries.name(str(country), locale))
        return shown
    shown = []
    for key, part in value.items():
        if not part or key == "birth_date":
            continue
        if key == COUNTRY_PART:
            if part != "DE":
                shown.append(countries.name(str(part), locale))
            continue
        shown.append(str(part))
    return shown


@dataclass(frozen=True)
class MinimumTable:
    """Amounts the law sets by the calendar year something starts in (``catalog/data/<name>.toml``),
    e.g. the Mindestausbildungsvergütung of § 17 Abs. 2 BBiG: one row per year, one column per
    year of training. A year without a published row has no minimum here."""

    name: str
    title: str
    rows: dict[int, tuple[Decimal, ...]]
    #: where each year's row was published
    sources: dict[int, str]

    def applied_year(self, year: int) -> int | None:
        """The year whose row a start in ``year`` is checked against: its own; for a year without a
        published row (a later year whose notice is not out yet, or not in the sources; a gap) the
        newest published year before it; None before the first row. The minimum is raised every
        year (§ 17 Abs. 2 Satz 2 BBiG: by the average rise of the allowances), so the last known
        row is the lowest the later year's can be: the check refuses nothing the law allows, and
        the step says which year's minimum it applied (``forms.minimum_notes``) instead of
        pretending to know the later year's amount."""
        return max((y for y in self.rows if y <= year), default=None)

    def minimum(self, year: int, column: int) -> Decimal | None:
        """The amount of ``column`` (1-based) for ``year`` (from the row of ``applied_year``);
        None before the first published row."""
        applied = self.applied_year(year)
        row = self.rows.get(applied) if applied is not None else None
        return row[column - 1] if row and 0 < column <= len(row) else None


@dataclass(frozen=True)
class Check:
    """A rule across answers of one step (or an earlier one), shown at ``field`` when it fails.

    ``after``: the date ``field`` must be later than the date ``other``; ``not_before``: it must not
    be earlier (the same day is fine; the message may name the other date as ``{date}``).
    ``statutory_minimum``: the
    number ``field`` must reach ``table``'s amount in ``column`` for the year of the date ``other``.
    ``at_most``: the number ``field`` must not exceed ``limit`` (a legal cap that holds only under
    a condition, so ``unless`` says when it does not apply; a plain cap is the field's ``max``).
    ``at_least``: the number ``field`` must reach ``limit`` (a legal minimum that holds only under a
    condition, e.g. a minor's holidays by age, § 19 Abs. 2 JArbSchG; ``unless`` says when it does
    not apply).
    ``period_band``: the period from the date ``other`` to the date ``until`` (both days counted)
    must fit the band of months that the choice ``field`` declares (``bands``: choice → lowest and
    highest number of months), loosely: a period of whole months and some days fits when either
    whole number of months around it does (the message may name the period as ``{months}``).
    ``shorter_than_period``: the number of months ``field`` must be less than that period (a
    probation shorter than the contract).
    ``not_more_than``: the number ``field`` must not exceed the number ``other`` (a part not more
    than its whole, e.g. the turnover from the craft not more than the total turnover; the message
    may name the other answer as ``{limit}``).
    ``required``: ``field`` (an optional field) must be answered unless one of ``unless`` holds
    (e.g. GewA 1 field 23 may stay empty only for an itinerant trade alone, field 24).
    ``accepted``: the yes/no ``field`` must be answered "Ja" (a consent or declaration the
    competent body cannot do without).
    ``differs``: the answer ``field`` must not be the answer ``other`` (texts compared without case
    and surrounding or repeated spaces), e.g. the town a business moves to "in another
    municipality" and the town it leaves.
    ``one_of``: the answer ``field`` (a choice or country) must be one of ``values``, e.g. the state
    where a qualification was gained under the EU/EWR-HwV must be a state of the EU, the EEA or
    Switzerland. With ``item`` (``field`` a group): the answer ``item`` of each of
    the group's entries must be, e.g. a person's role "Inhaberin oder Inhaber" only for a sole trader;
    the problem names the first entry that is not (``{"entry": index}``).
    ``same_body``/``other_body``: the postcode ``field`` (a postcode field, or an address's postcode)
    must route to the same (another) body of ``body_kind`` as the postcode ``other`` — in a bundle's
    checks the kind of the named service's primary receiver, in a service's own checks the kind of
    its own, e.g. the Gewerbeamt of a move within the municipality (to another one). Where
    ``field`` is the place a filing goes to (``field_routed``: a bundle's new premises), an
    ``other_body`` postcode no body of that kind covers fails with ``{"unrouted": …}`` (the caller
    says so instead of the message); else such a postcode lies in no body's area of the portal, so
    in another one than ``other`` (for ``same_body`` the message applies). Applied only where the
    caller can look the bodies up (``body_of``), and not while ``other`` has no body (the submit
    says so).
    ``not_before_age``: the date ``field`` (an examination, the start of a business) must not lie
    before the day the person born on ``other`` turns ``limit`` years old — ``other`` a date (a
    birth date), a person (her birth date) or a group whose entries' date ``item`` is each one's
    birth date (``first``: only the first entry's, e.g. the first person who passed the
    Meisterprüfung); the message may name that birthday as ``{date}`` and the age as ``{limit}``.
    ``not_older_than``: the date ``field`` must not lie more than ``limit`` years before today (a
    late notice is possible, a start decades ago is a typo); the message may name the earliest day
    allowed as ``{date}`` and the years as ``{limit}``.
    ``served`` (a bundle's check on its questions): a body of ``body_kind`` (the named service's
    primary receiver) must cover the postcode ``field``, else ``{"unrouted": …}`` — as a single
    service's step refuses a postcode its filing cannot be routed from (no message of its own).
    Not applied while any of ``unless`` holds, or (``after``, ``not_before``, ``statutory_minimum``,
    ``at_most``, ``not_more_than``, ``differs``, ``one_of``, ``not_before_age``, ``not_older_than`` and
    the body rules) while an answer it compares is missing.
    """

    rule: str
    field: str
    other: str | None
    message: Text
    limit: Decimal | None = None
    table: MinimumTable | None = None
    column: int = 1
    unless: tuple[Condition, ...] = ()
    values: tuple[str, ...] = ()
    #: the body rules: the kind of body whose area decides (``DESTINATION_KINDS``)
    body_kind: str | None = None
    #: the body rules: ``field`` is where a filing will be routed, so it must have a body
    field_routed: bool = False
    #: the period rules: the date the period ends on (``other``: the date it starts on)
    until: str | None = None
    #: ``period_band``: each choice of ``field`` with the lowest and highest number of months
    bands: tuple[tuple[str, int, int], ...] = ()
    #: ``one_of`` on a group: the field of each entry that must be one of ``values``; ``not_before_age``
    #: with a group ``other``: the date field of each entry that is the birth date
    item: str | None = None
    #: ``not_before_age`` with a group ``other``: only its first entry's birth date counts
    first: bool = False

    @property
    def inputs(self) -> set[str]:
        """The answers the outcome depends on."""
        return {self.field, *([self.other] if self.other else []), *([self.until] if self.until else []),
                *(n for c in self.unless for n in c.inputs)}

    def problem(self, answers: dict[str, Any],
                body_of: Callable[[str, str], str | None] | None = None,
                today: date | None = None) -> dict[str, Any] | None:
        """None when the answers keep the rule; else the values its message names (``minimum``,
        ``year`` for a statutory minimum). ``body_of(kind, postcode)``: the competent body's key
        (None: no body covers it), for the body rules; without it they are not applied. ``today``:
        the day ``not_older_than`` counts back from (the server's date when not given)."""
        if any(c.holds(answers) for c in self.unless):
            return None
        if self.rule in BODY_RULES:
            return self._body_problem(answers, body_of)
        value = answers.get(self.field)
        if self.rule == "not_older_than":
            return self._age_of_date_problem(value, today or date.today())
        if self.rule == "not_before_age":
            return self._before_age_problem(value, answers.get(self.other) if self.other else None)
        if self.rule == "required":
            return {} if value in (None, "", []) else None
        if self.rule == "accepted":
            return None if value is True else {}
        if self.rule == "one_of" and self.item:
            entries = value if isinstance(value, list) else []
            return next(({"entry": i} for i, e in enumerate(entries) if isinstance(e, dict)
                         and e.get(self.item) not in (None, "") and e.get(self.item) not in self.values), None)
        if self.rule == "one_of":
            return None if value in (None, "") or value in self.values else {}
        if self.rule in ("at_most", "at_least"):
            assert self.limit is not None
            amount = _decimal(value)
            if amount is None or (amount <= self.limit if self.rule == "at_most" else amount >= self.limit):
                return None
            return {"limit": self.limit}
        other = answers.get(self.other) if self.other else None
        if value in (None, "") or other in (None, ""):
            return None
        if self.rule in ("period_band", "shorter_than_period"):
            return self._period_problem(value, other, answers.get(self.until) if self.until else None)
        if self.rule == "after":
            return None if str(value) > str(other) else {}  # ISO dates order as strings
        if self.rule == "not_before":
            return None if str(value) >= str(other) else {"date": str(other)}
        if self.rule == "differs":
            return None if _folded(value) != _folded(other) else {}
        if self.rule == "not_more_than":
            part, whole = _decimal(value), _decimal(other)
            return None if part is None or whole is None or part <= whole else {"limit": whole}
        assert self.table is not None
        year = int(str(other)[:4])
        minimum = self.table.minimum(year, self.column)
        amount = _decimal(value)
        if minimum is None or amount is None or amount >= minimum:
            return None
        applied = self.table.applied_year(year)
        return {"minimum": minimum, "year": year, **({"applied_year": applied} if applied != year else {})}

    def _age_of_date_problem(self, value: Any, today: date) -> dict[str, Any] | None:
        """``not_older_than``: the date ``value`` lies at most ``limit`` years before ``today``."""
        day = _date(value)
        if day is None or self.limit is None:
            return None
        earliest = years_later(today, -int(self.limit))
        return None if day >= earliest else {"date": earliest.isoformat(), "limit": self.limit}

    def _before_age_problem(self, value: Any, other: Any) -> dict[str, Any] | None:
        """``not_before_age``: the date ``value`` lies on or after the day each person of ``other``
        (a birth date, a person, a group's entries) turns ``limit``; the first she does not, named."""
        day = _date(value)
        if day is None or self.limit is None:
            return None
        if isinstance(other, list):
            entries = [e for e in other if isinstance(e, dict)][:1 if self.first else None]
            births = [e.get(self.item) for e in entries] if self.item else []
        else:
            births = [other.get("birth_date") if isinstance(other, dict) else other]
        for born in births:
            birth = _date(born)
            if birth is not None and day < (birthday := years_later(birth, int(self.limit))):
                return {"date": birthday.isoformat(), "limit": self.limit}
        return None

    def _period_problem(self, value: Any, start: Any, end: Any) -> dict[str, Any] | None:
        """The period rules: None while the period cannot be read (a date missing, or the end
        not after the start: the ``after`` check says so)."""
        months = months_between(start, end)
        if months is None:
            return None
        low, high = months
        if self.rule == "shorter_than_period":
            given = _decimal(value)
            return None if given is None or given < high else {"months": low}
        band = next(((least, most) for choice, least, most in self.bands if choice == value), None)
        if band is None or (band[0] <= high and low <= band[1]):
            return None
        return {"months": low if low > band[1] else high}


    def _body_problem(self, answers: dict[str, Any],
                      body_of: Callable[[str, str], str | None] | None) -> dict[str, Any] | None:
        value, other = _postcode(answers.get(self.field)), _postcode(answers.get(self.other) if self.other else None)
        if self.rule == "served":
            if body_of is None or self.body_kind is None or value in (None, ""):
                return None
            return {"unrouted": str(value)} if body_of(self.body_kind, str(value)) is None else None
        if body_of is None or self.body_kind is None or value in (None, "") or other in (None, ""):
            return None
        theirs = body_of(self.body_kind, str(other))
        if theirs is None:
            return None
        mine = body_of(self.body_kind, str(value))
        if mine is None and self.rule == "other_body" and self.field_routed:  # the new place's filing has no body
            return {"unrouted": str(value)}
        return None if (mine == theirs) == (self.rule == "same_body") else {}


def _date(answer: Any) -> date | None:
    """A date answer (ISO) as a date; None when there is none or it is no date."""
    try:
        return date.fromisoformat(str(answer)) if answer not in (None, "") else None
    except ValueError:
        return None


def years_later(day: date, years: int) -> date:
    """``day`` moved by whole ``years`` (back when negative); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _postcode(answer: Any) -> Any:
    """The postcode of a postcode answer, or of an address answer (its part ``postcode``)."""
    return answer.get("postcode") if isinstance(answer, dict) else answer


def _decimal(value: Any) -> Decimal | None:
    """A number answer as a decimal; None when there is none (an answer stored before the field
    asked a number, e.g. "8 Stunden", is refused by the field's own validation, not by a check)."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def months_between(start: Any, end: Any) -> tuple[int, int] | None:
    """The length of the period from the ISO date ``start`` to ``end``, both days counted, in
    whole months: (the whole months it has, that number plus one when days are left over). None
    while a date is missing or the end is not after the start. 1 Sep 2026 – 31 Aug 2029 is (36, 36)."""
    try:
        first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    except ValueError:
        return None
    if last <= first:
        return None
    after = last + timedelta(days=1)
    months = (after.year - first.year) * 12 + after.month - first.month
    if after.day < first.day:
        months -= 1
    leftover = after > _add_months(first, months)
    return months, months + (1 if leftover else 0)


def _add_months(day: date, months: int) -> date:
    """``day`` that many months later (the last day of a shorter month)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _folded(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


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
class RegionalFee:
    """What the fee is where the competent body is in ``region`` (one of ``FEE_REGIONS``): ``note``
    with that region's published amounts or the schedule that sets them, and ``basis``, that
    region's fee law (shown with the service's general basis)."""

    region: str
    note: Text
    basis: Text | None = None


@dataclass(frozen=True)
class Fee:
    """What filing the service costs, as published by the body that charges it.

    Exactly one of: ``free`` (gebührenfrei), ``amount`` (one fixed fee) or ``minimum``/``maximum``
    (a range). ``by_body``: the amount is set by each competent body's own schedule, so the range
    is what published schedules show, not a promise. ``basis`` names the fee's legal basis (the
    Land's or the chamber's Gebührenordnung); ``source`` where the amounts were taken from.
    ``note`` holds wherever the filing goes; what holds in one region only is in ``regional``.
    """

    basis: Text
    source: str
    free: bool = False
    amount: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    by_body: bool = False
    note: Text | None = None
    #: notes (and fee law) per region of the competent body, in the definition's order
    regional: tuple[RegionalFee, ...] = ()

    def for_region(self, region: str | None) -> RegionalFee | None:
        """The note of ``region`` (the competent body's), None when the definition has none for it."""
        return next((r for r in self.regional if r.region == region), None)


@dataclass(frozen=True)
class Sources:
    """Where a definition's fields come from: the law's published text and the form the competent
    body publishes (or the official form a regulation prescribes)."""

    legal_basis_url: str
    form: str
    form_url: str | None = None


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
    fee: Fee | None = None
    processing_time: Text | None = None
    life_events: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    max_total_attachments_mb: float = 20.0
    #: minimum eIDAS level of the login that may file this service (None: any login)
    trust_level: str | None = None
    #: the law's text and the published form the fields follow
    sources: Sources | None = None
    #: what happens after the filing is submitted (shown on the confirmation); None: a general text
    next_steps: Text | None = None
    #: the answers that tell two filings of this service apart in "Meine Anträge" (e.g. address, activity)
    list_fields: tuple[str, ...] = ()
    retention: Retention = field(default_factory=Retention)
    #: rules across answers (``[[checks]]``), checked on the step of their field
    checks: tuple[Check, ...] = ()
    #: the review lists the steps in the order of the fields (the official form's numbering),
    #: not in the order they are asked (``review_steps``)
    review_in_form_order: bool = False
    #: the definition's file name
    source: str = ""

    @property
    def form_source(self) -> str | None:
        """The official form or published form the fields follow (e.g. "Anlage 1 GewAnzV (GewA 1)")."""
        return self.sources.form if self.sources else None

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

    def listed_answers(self, answers: dict[str, Any]) -> list[tuple[FieldDefinition, Any]]:
        """The given answers of the ``list_fields``, with their fields (what tells filings apart);
        of an entry ``a|b`` the first answered (a move's new address before the address it leaves)."""
        listed = []
        for entry in self.list_fields:
            given = next(((fd, answers[fd.name]) for fd in (self.field(n) for n in entry.split("|"))
                          if fd is not None and answers.get(fd.name) not in (None, "", {}, [])), None)
            if given is not None:
                listed.append(given)
        return listed

    def step_checks(self, step_key: str) -> list[Check]:
        return [c for c in self.checks if (fd := self.field(c.field)) is not None and fd.step == step_key]

    def with_copies(self, answers: dict[str, Any]) -> dict[str, Any]:
        """``answers`` with the address each group entry copies (a yes/no ``copies`` answered "Ja")
        written into the entry, so that what is filed carries the whole address."""
        out = dict(answers)
        for fd in self.fields:
            copying = [sub for sub in fd.fields if sub.copies]
            if fd.type != "group" or not copying or not isinstance(answers.get(fd.name), list):
                continue
            entries = []
            for entry in answers[fd.name]:
                for sub in copying:
                    address = answers.get(sub.copies or "")
                    if isinstance(entry, dict) and entry.get(sub.name) is True and isinstance(address, dict):
                        names = {s.name for s in fd.fields}
                        entry = {**entry, **{part: address.get(part) for part in (*ADDRESS_PARTS, COUNTRY_PART)
                                             if part in names}}
                entries.append(entry)
            out[fd.name] = entries
        return out

    def step_fields(self, step_key: str) -> list[FieldDefinition]:
        return [fd for fd in self.fields if fd.step == step_key]

    def visible_steps(self, answers: dict[str, Any]) -> list[StepDefinition]:
        return [s for s in self.steps if s.visible(answers)]

    def review_steps(self, answers: dict[str, Any]) -> list[StepDefinition]:
        """The visible steps in the order the review shows them. The fields are listed in the
        order of the official form (receipt, staff page and exports show them so); the steps in
        the order they are asked, where a step asked only after a later field's answer comes
        after it (GewA 1: the main establishment, field 16, only for a branch, field 23). With
        ``review_in_form_order`` the review follows the form too: each step where its first
        field stands among the fields."""
        visible = self.visible_steps(answers)
        if not self.review_in_form_order:
            return visible
        first: dict[str, int] = {}
        for i, fd in enumerate(self.fields):
            first.setdefault(fd.step, i)
        return sorted(visible, key=lambda s: first.get(s.key, len(self.fields)))

    def postcode_from(self, answers: dict[str, Any]) -> str | None:
        """The postcode that decides the competent body, from the location field's answer."""
        if not self.location_field:
            return None
        value = answers.get(self.location_field)
        if isinstance(value, dict):
            return value.get("postcode")
        return value

    def municipality_key_from(self, answers: dict[str, Any]) -> str | None:
        """The official municipality key (AGS) of the location, when its answer carries one
        (``municipality_key``); it decides the competent body before the postcode does."""
        value = answers.get(self.location_field) if self.location_field else None
        key = value.get("municipality_key") if isinstance(value, dict) else None
        return str(key) if key else None


@dataclass(frozen=True)
class SharedMapping:
    """Where a bundle's shared answer goes in one service: ``field`` of service ``service`` (or, with
    ``part``, that part of an address field, e.g. ``betriebsanschrift.postcode``).

    A repeating group question (e.g. the persons behind the business) fills either a group field
    of the service, every entry, with ``items`` pairs (sub-field of the service's group, sub-field
    of the question's group); or, from its first entry only, a field where the service asks for
    one person: ``first`` pairs (part of the person or address field, sub-field of the question),
    or pairs with part None for a plain field (several: their answers joined with spaces, e.g. the
    § 34d applicant's name from given names and family name)."""

    service: str
    field: str
    part: str | None = None
    items: tuple[tuple[str, str], ...] = ()
    first: tuple[tuple[str | None, str], ...] = ()
    #: for a group: (sub-field of the service's group, the values the question offers there); an
    #: entry of the service draft with another value (e.g. a "Betriebsleitung" the bundle does not
    #: ask for) was added in the service and is the company's own: kept and not compared
    own_unless: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: parts of ``first`` filled from a country question: the code is given as the state's German
    #: name (a person's nationality is text in the service forms, e.g. "Italien" for ``IT``)
    country_names: tuple[str, ...] = ()
    #: a number field filled with how many entries the group question has (those for which
    #: ``count_when`` holds), e.g. GewA 1 field 12, the number of legal representatives
    counts: bool = False
    count_when: Condition | None = None
    #: a number field filled with the sum of the answers of every question mapped into it so
    #: (``{ field, sum = true }``), e.g. the Verzeichnis's number of employees from GewA 1's
    #: full-time and part-time staff; nothing while one of them is unanswered
    adds: bool = False
    #: given only while this holds for the bundle's answers; otherwise the service asks, or with
    #: ``else_empty`` the field is given empty (the Gewerbeanmeldung's registered name, field 1,
    #: without a register entry)
    when: Condition | AllOf | None = None
    else_empty: bool = False
    #: an optional question (or, with ``first``, an optional sub-field of the first entry) shown and
    #: left empty gives the field empty: it was answered once, the service does not ask it again
    #: (only for an optional field without account prefill; ``bundle_loader`` decides)
    left_empty: bool = False

    def is_own(self, entry: Any) -> bool:
        """Whether a service group ``entry`` is the company's own (see ``own_unless``)."""
        return isinstance(entry, dict) and any(entry.get(sub) not in (None, "", *values)
                                               for sub, values in self.own_unless)

    def value(self, answer: Any) -> Any:
        """What the answer to the question gives the service's field (None: nothing)."""
        if self.counts:  # no entry counted gives nothing: the service asks the number itself
            counted = [entry for entry in answer if isinstance(entry, dict)
                       and (self.count_when is None or self.count_when.holds(entry))
                       ] if isinstance(answer, list) else []
            return len(counted) or None
        if self.items:  # an empty group (an optional question left open) gives nothing
            entries = [{target: entry.get(sub) for target, sub in self.items}
                       for entry in answer if isinstance(entry, dict)] if isinstance(answer, list) else []
            return entries or None
        if self.first:
            entry = answer[0] if isinstance(answer, list) and answer and isinstance(answer[0], dict) else None
            if entry is None:
                return None
            if self.first[0][0] is None:
                if len(self.first) == 1:
                    value = entry.get(self.first[0][1])
                    return "" if self.left_empty and value in (None, "") else value
                joined = " ".join(str(entry.get(sub) or "").strip() for _part, sub in self.first).strip()
                return " ".join(joined.split()) or None
            parts = {part: countries.name(entry[sub]) if part in self.country_names and entry.get(sub)
                     else entry.get(sub) for part, sub in self.first}
            return parts if any(v not in (None, "") for v in parts.values()) else None
        if self.left_empty and answer in (None, ""):
            return ""
        return answer


def differs(given: Any, actual: Any) -> bool:
    """True when ``actual`` contradicts what a bundle gives (``given``): an empty given value
    binds nothing; an address or person binds each part given; a group binds its number of
    entries and, in each entry, what it gives."""
    if given in (None, ""):
        return False
    if isinstance(given, dict):
        actual = actual if isinstance(actual, dict) else {}
        return any(differs(value, actual.get(key)) for key, value in given.items())
    if isinstance(given, list):
        actual = actual if isinstance(actual, list) else []
        return len(given) != len(actual) or any(differs(g, a) for g, a in zip(given, actual, strict=True))
    return bool(actual != given)


@dataclass(frozen=True)
class Preset:
    """A fixed value a bundle gives a field of one of its services (e.g. "Betrieb gründen" gives
    the Gewerbeanmeldung's ``grund`` the value ``neugruendung``): always, or when ``when`` holds
    for the bundle's answers (a move to another municipality → ``grund = "wiedereroeffnung"``)."""

    field: str
    value: Any
    when: Condition | AllOf | None = None
    #: given only while this other service of the bundle is filed with it (chosen and not left
    #: out), e.g. the Gewerbeanmeldung's "Liegt eine Handwerkskarte vor?": "Nein" while the entry in
    #: the Handwerksrolle, after which the chamber issues the card, goes in the same submit
    filed_with: str | None = None
    #: shown with the value on the service's step: why the bundle gives it
    note: Text | None = None

    def applies(self, answers: dict[str, Any], filed: Collection[str]) -> bool:
        """Whether the value is given: ``when`` holds for the bundle's ``answers`` and the
        ``filed_with`` service is among those ``filed`` with the bundle."""
        return (self.when is None or self.when.holds(answers)) and (
            self.filed_with is None or self.filed_with in filed)


@dataclass(frozen=True)
class Waiver:
    """A required upload of a bundle's service that the bundle makes unnecessary while
    ``filed_with`` (another of its services) is filed with it: e.g. the Verzeichnis's copy of the
    Gewerbeanmeldung, which the founder cannot have when the Gewerbeanmeldung goes in the same
    submit. ``note`` says so on the service's step in place of the upload."""

    field: str
    filed_with: str
    note: Text


@dataclass(frozen=True)
class Distinct:
    """Two groups of a bundle's questions that must not be answered alike (e.g. the current and
    the new address of a move): ``message`` when every question of ``second`` has the answer of
    its counterpart in ``first`` (compared without case and surrounding spaces)."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    message: Text

    def violated(self, answers: dict[str, Any]) -> bool:
        def norm(value: Any) -> str:
            return " ".join(str(value or "").split()).casefold()

        return all(norm(answers.get(a)) == norm(answers.get(b)) and norm(answers.get(b))
                   for a, b in zip(self.first, self.second, strict=True))


@dataclass(frozen=True)
class BodyCondition:
    """A bundle service's ``same_body`` or ``other_body`` (``rule``): the service applies only while
    the body of ``kind`` (its primary receiver) competent for the postcode ``field`` is the same as
    (or another than) the one for the postcode ``other`` — e.g. the Handwerksrolle entry of a move
    into another Handwerkskammer's district (§ 6 HwO: the chamber of the new district keeps the
    business's entry). Holds only where the bodies can be looked up (``body_of``), both postcodes are
    answered and a body of the portal covers ``field`` (a postcode no body covers files nothing);
    for ``other_body`` a postcode ``other`` outside every body's area is another body's."""

    rule: str
    kind: str
    field: str
    other: str

    @property
    def inputs(self) -> set[str]:
        return {self.field, self.other}

    def holds(self, answers: dict[str, Any], body_of: Callable[[str, str], str | None] | None) -> bool:
        here, there = _postcode(answers.get(self.field)), _postcode(answers.get(self.other))
        if body_of is None or here in (None, "") or there in (None, ""):
            return False
        body = body_of(self.kind, str(here))
        if body is None:
            return False
        same = body == body_of(self.kind, str(there))
        return same if self.rule == "same_body" else not same


@dataclass(frozen=True)
class BundleService:
    """One service a bundle can file: always, or when ``when`` holds for the bundle's answers;
    ``reason`` tells the company why it is needed; ``required_reason``, for a service the law
    requires, says in one sentence why leaving it out is risky (the overview warns with it when
    the company leaves the service out, without forbidding it: it may be filed elsewhere);
    ``presets`` are the fixed values the bundle gives its fields; ``waives`` the required uploads
    it needs not while another service of the bundle is filed with it; ``prefill`` the account
    data its new draft starts with."""

    service: str
    reason: Text
    #: one condition, or several that must all hold (``when = [{ ... }, { ... }]``)
    when: Condition | AllOf | None = None
    presets: tuple[Preset, ...] = ()
    waives: tuple[Waiver, ...] = ()
    required_reason: Text | None = None
    #: (field, account path as a field's ``prefill``): account data a new draft of the service starts
    #: with in the bundle only (the Gewerbeanmeldung's Hauptniederlassung: the account's address, the
    #: registered seat), an answer the company may change; the service alone starts as it declares
    prefill: tuple[tuple[str, str], ...] = ()
    #: ``same_body``/``other_body``: applies only while the bodies of two postcodes compare so
    body: BodyCondition | None = None

    def applies(self, answers: dict[str, Any], body_of: Callable[[str, str], str | None] | None = None) -> bool:
        """Whether the answers call for the service (``body_of``: the competent body's key of a kind
        and postcode, for ``body``; without it a service with ``body`` does not apply)."""
        return (self.when is None or self.when.holds(answers)) and (self.body is None
                                                                    or self.body.holds(answers, body_of))


@dataclass(frozen=True)
class BundleDefinition:
    """A life-event bundle ("Unternehmenslage", e.g. "Betrieb gründen"): one questionnaire that
    decides which services are filed and answers once what they share.

    ``questionnaire`` holds the bundle's own questions as a service-like definition (steps, fields,
    prefill, conditions), so the draft steps of ``filings`` serve it unchanged; it has no routing,
    it is never filed itself. ``shared`` maps a question's name to the service fields it fills.
    """

    key: str
    title: Text
    summary: Text
    questionnaire: ServiceDefinition
    services: tuple[BundleService, ...]
    shared: dict[str, tuple[SharedMapping, ...]]
    life_events: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    source: str = ""
    #: groups of questions that must not be answered alike
    distinct: tuple[Distinct, ...] = ()
    #: the bundle's ``[[checks]]`` on fields of its services, per service, as that service's step
    #: applies them: its own fields by name, the bundle's questions as ``BUNDLE_ANSWER`` + name
    #: (``check_answers``); the checks on its own questions are the questionnaire's ``checks``
    service_checks: dict[str, tuple[Check, ...]] = field(default_factory=dict)

    @staticmethod
    def check_answers(service_answers: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
        """What a service's checks from the bundle (``service_checks``) read: the service draft's
        ``service_answers`` and the bundle's ``answers`` under ``BUNDLE_ANSWER``."""
        return {**service_answers, **{BUNDLE_ANSWER + name: value for name, value in answers.items()}}

    def chosen(self, answers: dict[str, Any],
               body_of: Callable[[str, str], str | None] | None = None) -> list[BundleService]:
        """The services the answers call for, in the bundle's order (``body_of`` as for
        ``BundleService.applies``)."""
        return [s for s in self.services if s.applies(answers, body_of)]

    def filed(self, answers: dict[str, Any], left_out: Collection[str] = (),
              body_of: Callable[[str, str], str | None] | None = None) -> set[str]:
        """The services filed with the bundle: those the answers call for, less those ``left_out``."""
        return {s.service for s in self.chosen(answers, body_of)} - set(left_out)

    def shared_answers(self, service_key: str, answers: dict[str, Any],
                       filed: Collection[str] | None = None) -> dict[str, Any]:
        """The answers of ``service_key``'s fields that the bundle's answers give (address parts
        gathered into one address answer; a field filled by a sum, the sum of its questions'
        answers once each is given), with the fixed values of its presets that apply; ``filed``:
        the services filed with it (default: every service the answers call for)."""
        out: dict[str, Any] = {}
        filed = self.filed(answers) if filed is None else filed
        entry = next((s for s in self.services if s.service == service_key), None)
        for preset in entry.presets if entry else ():
            if preset.applies(answers, filed):
                out[preset.field] = preset.value
        summands: dict[str, list[Any]] = {}
        for question, mappings in self.shared.items():
            answer = answers.get(question)
            for m in mappings:
                if m.service == service_key and m.adds:
                    summands.setdefault(m.field, []).append(answer)
            if question not in answers:  # not answered (or not shown): an optional one left empty is
                continue                 # answered (``SharedMapping.left_empty``)
            for m in mappings:
                if m.service != service_key or m.adds:
                    continue
                if m.when is not None and not m.when.holds(answers):
                    if m.else_empty:
                        out[m.field] = ""
                    continue
                value = m.value(answer)
                if value is None:
                    continue
                if m.part:
                    out[m.field] = {**(out.get(m.field) or {}), m.part: value}
                else:
                    out[m.field] = value
        for name, values in summands.items():  # one answer missing (hidden, open): the service asks
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                out[name] = sum(values)
        return out

    def contradictions(self, service_key: str, answers: dict[str, Any],
                       service_answers: dict[str, Any], fields: Any = None,
                       filed: Collection[str] | None = None) -> list[str]:
        """The fields of ``service_key`` (among ``fields``, all when None) whose answer in
        ``service_answers`` differs from what the bundle's ``answers`` give them (a shared answer
        or a preset; ``filed`` as for ``shared_answers``): the two would file contradicting
        statements."""
        return [name for name, given in self.shared_answers(service_key, answers, filed).items()
                if (fields is None or name in fields)
                and differs(given, self.bundle_entries(service_key, name, service_answers.get(name)))]

    def blanked(self, service_key: str, answers: dict[str, Any]) -> set[str]:
        """The fields of ``service_key`` the bundle gives empty now (a conditional mapping whose
        ``when`` does not hold, an optional question left empty): shown as given, not asked."""
        return {name for name, value in self.shared_answers(service_key, answers).items() if value == ""}

    def question_filling(self, service_key: str, field_name: str) -> FieldDefinition | None:
        """The question whose answer fills ``field_name`` of ``service_key`` (None for a fixed
        value or a field no question fills): where the company changes that answer."""
        name = next((question for question, mappings in self.shared.items()
                     if any(m.service == service_key and m.field == field_name for m in mappings)), None)
        return self.questionnaire.field(name) if name else None

    def group_mapping(self, service_key: str, field_name: str) -> SharedMapping | None:
        """The mapping that fills the group ``field_name`` of ``service_key``, if any."""
        return next((m for mappings in self.shared.values() for m in mappings
                     if m.service == service_key and m.field == field_name and m.items), None)

    def bundle_entries(self, service_key: str, field_name: str, value: Any) -> Any:
        """``value`` of a service's field without the group entries that are the company's own."""
        mapping = self.group_mapping(service_key, field_name) if isinstance(value, list) else None
        return [e for e in value if not mapping.is_own(e)] if mapping is not None else value
