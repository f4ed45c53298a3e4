"""States for nationality and country fields: ISO 3166-1 codes (pycountry), names in the page's
language (Babel)."""

from __future__ import annotations

from functools import lru_cache

import pycountry
from babel import Locale


@lru_cache(maxsize=1)
def codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@lru_cache(maxsize=4)
def choices(locale: str) -> tuple[tuple[str, str], ...]:
    """(alpha-2 code, name) of every state, sorted by name in ``locale`` (German first for ``de``)."""
    names = Locale.parse(locale).territories
    pairs = [(c.alpha_2, names.get(c.alpha_2, c.name)) for c in pycountry.countries]
    pairs.sort(key=lambda p: (p[0] != "DE", p[1].casefold()))
    return tuple(pairs)


def name(code: str, locale: str = "de") -> str:
    """The state's name in ``locale``; the code itself if it is not a state."""
    if code not in codes():
        return code
    country = pycountry.countries.get(alpha_2=code)
    return Locale.parse(locale).territories.get(code, country.name if country else code)


def numeric(code: str) -> str:
    """The ISO 3166-1 numeric code (``DE`` → ``276``); raises ``KeyError`` for an unknown code."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise KeyError(code)
    return str(country.numeric)
