"""Template filters shared by every page."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import DateTimeFormat, DateTimePattern, get_date_format, get_datetime_format, get_time_format
from flask import Flask, g, url_for
from flask_babel import format_date, format_decimal, get_locale, get_timezone, get_translations, gettext
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from ..catalog import fees, wz2008
from ..catalog.models import Fee, FieldDefinition, choice_labels, compound_values, shown_entry_fields
from ..common import countries
from ..common.formats import filesize as _filesize
from ..common.formats import number as _number
from ..common.uploads import TYPES
from ..config import IdentitySettings


@dataclass(frozen=True)
class Identity:
    """The operator as pages show it (``identity`` in every template)."""

    settings: IdentitySettings
    logo_url: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.settings, name)


def identity_of(app: Flask) -> Identity:
    """The operator's identity with the logo's address (its own route when it is a file)."""
    settings: IdentitySettings = app.config["SETTINGS"].identity
    logo = settings.logo_path
    if settings.logo_file:
        logo = url_for("web.logo")
    return Identity(settings, logo)


def translations() -> Any:
    """The translations of the request's locale, found once per request and locale.

    Flask-Babel finds them anew for every ``_()`` of a template (context, domain, locale, its
    cache key), a large share of a page's rendering time. ``force_locale`` and ``refresh`` put
    another locale object in place, so a cached catalog never serves another language.
    """
    state = g.get("_flask_babel") if g else None
    locale = getattr(state, "babel_locale", None)
    if state is None or locale is None:  # not chosen yet (the first call chooses it) or outside a request
        return get_translations()
    cached = getattr(state, "portal_translations", None)
    if cached is not None and cached[0] is locale:
        return cached[1]
    found = get_translations()
    state.portal_translations = (locale, found)
    return found


@lru_cache(maxsize=16)
def _medium_patterns(locale: Locale) -> tuple[str, DateTimePattern, DateTimePattern]:
    """The locale's medium date-and-time pattern: how date and time are joined, and each part."""
    joined = str(get_datetime_format("medium", locale=locale)).replace("'", "")
    return joined, get_date_format("medium", locale=locale), get_time_format("medium", locale=locale)


#: the clock fields of a time pattern and their value (Babel's meaning of each letter)
_CLOCK: dict[str, Callable[[datetime], int]] = {
    "H": lambda t: t.hour, "h": lambda t: t.hour % 12 or 12, "K": lambda t: t.hour % 12,
    "k": lambda t: t.hour or 24, "m": lambda t: t.minute, "s": lambda t: t.second,
}


def _clock(pattern: DateTimePattern, locale: Locale) -> Callable[[datetime], str]:
    """``pattern.apply(value, locale)`` for a time of day ("21:00:00", "9:00:00\u202fPM"), without
    Babel's formatter object per value: the pattern's fields are hours, minutes, seconds (padded
    to the field's width) and the AM/PM mark (Babel's text for each half of the day, looked up
    once). A pattern with any other field is left to Babel."""
    text = str(pattern.format)  # "%(HH)s:%(mm)s:%(ss)s"
    keys = re.findall(r"%\((\w+)\)s", text)
    if not keys or any(k[0] not in _CLOCK and k[0] != "a" for k in keys):
        return lambda value: pattern.apply(value, locale)
    halves = {k: (DateTimeFormat(time(0), locale)[k], DateTimeFormat(time(12), locale)[k]) for k in keys
              if k[0] == "a"}
    fields = [(k, halves.get(k), _CLOCK.get(k[0]), len(k)) for k in keys]

    def clock(value: datetime) -> str:
        return text % {k: half[value.hour >= 12] if half else f"{part(value):0{width}d}"  # type: ignore[misc]
                       for k, half, part, width in fields}

    return clock


#: the most calendar days whose text a formatter keeps (a year and a half)
_DAYS_KEPT = 550


@lru_cache(maxsize=16)
def _medium(locale_id: str, zone_name: str) -> Callable[[datetime], str]:
    """Flask-Babel's ``format_datetime(value, "medium")`` for one language and time zone: the
    patterns looked up once, the zone converted with ``zoneinfo``, each calendar day's text kept,
    the time of day written by ``_clock``."""
    locale = Locale.parse(locale_id)
    joined, date_pattern, time_pattern = _medium_patterns(locale)
    clock, zone = _clock(time_pattern, locale), ZoneInfo(zone_name)
    days: dict[date, str] = {}

    def medium(value: datetime) -> str:
        local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(zone)
        day = local.date()
        text = days.get(day)
        if text is None:
            if len(days) >= _DAYS_KEPT:
                days.clear()
            text = days[day] = date_pattern.apply(day, locale)
        return joined.replace("{0}", clock(local)).replace("{1}", text)

    return medium


def datetime_medium(value: datetime) -> str:
    """``value`` in the reader's language and time zone, as Flask-Babel's
    ``format_datetime(value, "medium")`` writes it ("04.12.2026, 21:00:00"), a naive value read as
    UTC. Several times as fast (a list of 25 filings formats 26 dates, the inbox 51): the
    formatter of the request's language and zone (``_medium``) is found once per request, as the
    translations are, and found again when ``force_locale`` or ``refresh`` changes the language."""
    state = g.get("_flask_babel") if g else None
    cached = getattr(state, "portal_medium", None)
    if (cached is not None and cached[0] is getattr(state, "babel_locale", None)
            and cached[1] is getattr(state, "babel_tzinfo", None)):  # the request's, as get_locale() keeps them
        return cached[2](value)
    locale, zone = get_locale(), get_timezone()  # chosen now if not yet
    state = g.get("_flask_babel") if g else None  # get_locale made it within a request
    found = _medium(str(locale), str(zone))
    if state is not None:
        state.portal_medium = (locale, zone, found)
    return found(value)


@pass_eval_context
def _template_gettext(eval_ctx: EvalContext, text: str, **variables: Any) -> str:
    """A template's ``_()``: as ``jinja2.ext``'s new-style gettext, always formatted (``%%`` is a
    percent sign) and, where the template escapes, markup whose variables are escaped."""
    found = translations().ugettext(text)
    if eval_ctx.autoescape:
        found = Markup(found)
    return found % variables


def install(app: Flask) -> None:
    # jinja2.ext.i18n (added by Flask-Babel) gives the environment this method
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    # a template's _() in one call: the extension's alias resolves "gettext" and calls it through
    # the context twice per text (a page has some 25 to 50 of them); the same text comes out
    app.jinja_env.globals["_"] = _template_gettext

    @app.context_processor
    def operator_identity() -> dict[str, Any]:
        return {"identity": identity_of(app)}

    #: what a page shows of one entry of a repeated group (the exports and the receipt use it too)
    app.jinja_env.globals["shown_entry_fields"] = shown_entry_fields

    @app.template_filter("datetimeformat")
    def datetimeformat(value: datetime | None) -> str:
        return datetime_medium(value) if value else "–"

    @app.template_filter("dateformat")
    def dateformat(value: date | str | None) -> str:
        """A calendar date in the reader's language ("4. Dez. 2026"); ISO strings too."""
        if not value:
            return "–"
        return format_date(value, "medium") if isinstance(value, date) else _date(value)

    @app.template_filter("answer")
    def answer(value: Any, fd: FieldDefinition, locale: str) -> str:
        """An answer as a person reads it: Ja/Nein, the choice's label, a local date; "–" for none
        (an empty repeated group too, which read "[]")."""
        if value is None or value == "" or value == []:
            return "–"
        if fd.type == "yesno":
            return gettext("Ja") if value else gettext("Nein")
        if fd.type == "choice":
            for c in fd.choices:
                if c.value == value:
                    return c.label.get(locale)
        if fd.type == "multichoice":
            return ", ".join(choice_labels(fd, value, locale)) or "–"
        if fd.type == "date":
            return _date(value)
        if fd.type == "number":
            return _number(value)
        if fd.type == "country":
            return countries.name(value, locale)
        if fd.type == "wz2008":
            return wz2008.label(value)
        if fd.type in ("address", "person") and isinstance(value, dict):
            parts = compound_values(value, locale)
            if value.get("birth_date"):
                parts.append(gettext("geboren am %(date)s", date=_date(value["birth_date"])))
            return ", ".join(parts) or "–"
        return str(value)

    @app.template_filter("decimal")
    def decimal(value: float | int | None) -> str:
        """A number in the page's language ("2,5" / "2.5"); "–" for none."""
        return "–" if value is None else _number(value)

    @app.template_filter("seconds")
    def seconds(value: float | None) -> str:
        """A duration in seconds in the page's language ("1,5 s"); "–" for none."""
        if value is None:
            return "–"
        return gettext("%(value)s s", value=format_decimal(value, "#,##0.##"))

    @app.template_filter("filesize")
    def filesize(value: int | None) -> str:
        """A file size in the page's language ("1,5 MB" / "1.5 MB"); replaces Jinja's filesizeformat."""
        return _filesize(value)

    @app.template_filter("fee")
    def fee(value: Fee) -> str:
        """A service's fee in the page's language ("26,00 €", "gebührenfrei", a range)."""
        return fees.fee_text(value)

    app.add_template_global(fees.regional_notes, "fee_regional_notes")
    app.add_template_global(fees.basis_text, "fee_basis")

    @app.template_filter("extension_of")
    def extension_of(type_key: str) -> str:
        """The file name extensions of an upload type, for the ``accept`` attribute."""
        return ",".join(TYPES[type_key][1])


def _date(value: Any) -> str:
    try:
        return format_date(date.fromisoformat(value), "medium")
    except (TypeError, ValueError):
        return str(value)
