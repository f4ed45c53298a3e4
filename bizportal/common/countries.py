"""States for nationality and country fields: ISO 3166-1 codes (pycountry), names in the page's
language (Babel), and Kosovo, which ISO 3166-1 does not list (``EXTRA``)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pycountry
from babel import Locale

#: states ISO 3166-1 does not list, by the code the EU and CLDR (Babel's names) use for them. They
#: have no ISO numeric code (``numeric`` raises ``KeyError``).
EXTRA = {"XK": "Kosovo"}


@lru_cache(maxsize=1)
def codes() -> frozenset[str]:
    return frozenset({c.alpha_2 for c in pycountry.countries} | set(EXTRA))


def collation_key(text: str) -> tuple[str, str]:
    """A key that sorts names as a German (or English) dictionary does, whatever the process's
    locale: letters with diacritics as their base letter (Ä as A, Ö as O, Å as A, ç as c; DIN 5007
    variant 1), ß as ss, case ignored; equal keys in the order of the names themselves."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return base, text


@lru_cache(maxsize=4)
def choices(locale: str) -> tuple[tuple[str, str], ...]:
    """(code, name) of every state, Germany first, the others sorted by their name in ``locale``
    (``collation_key``)."""
    pairs = [(code, name(code, locale)) for code in codes()]
    pairs.sort(key=lambda p: (p[0] != "DE", collation_key(p[1])))
    return tuple(pairs)


def name(code: str, locale: str = "de") -> str:
    """The state's name in ``locale``; the code itself if it is not a state."""
    if code not in codes():
        return code
    country = pycountry.countries.get(alpha_2=code)
    fallback = country.name if country else EXTRA[code]
    return Locale.parse(locale).territories.get(code, fallback)


def numeric(code: str) -> str:
    """The ISO 3166-1 numeric code (``DE`` → ``276``); raises ``KeyError`` for an unknown code and
    for a state without one (``EXTRA``)."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise KeyError(code)
    return str(country.numeric)
