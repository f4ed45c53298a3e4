"""Catalog search that forgives umlauts, word forms and compounds, in German and English.

Every text of a service (titles, summaries, bodies, keywords, legal basis) is normalised
(ä → ae, ß → ss, lower case), cut into words and reduced to a crude stem. A query word matches a
service when its stem occurs inside one of the service's words, so "handwerk" finds
"Handwerksrolle" and "Gewerbe anmelden" finds "Gewerbeanmeldung".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .models import ServiceDefinition

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"[a-z0-9]+")
#: endings stripped from query words (longest first); German and English inflections
_SUFFIXES = ("ungen", "ung", "ern", "en", "er", "es", "em", "e", "n", "s")
_STOPWORDS = {"der", "die", "das", "und", "oder", "ein", "eine", "einen", "fuer", "mit", "von", "zu", "im",
              "in", "an", "am", "the", "a", "of", "for", "and", "to", "my", "mein", "meine", "ich", "i"}


def normalise(text: str) -> str:
    text = text.lower().translate(_UMLAUTS)
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> list[str]:
    words = [w for w in _WORD.findall(normalise(query)) if w not in _STOPWORDS]
    return [stem(w) for w in words if len(w) >= 2]


@dataclass(frozen=True)
class _Indexed:
    service: ServiceDefinition
    title_words: tuple[str, ...]
    words: tuple[str, ...]


class CatalogIndex:
    """An in-memory index of the catalog (a few dozen services; built once at start-up)."""

    def __init__(self, services: list[ServiceDefinition]):
        self._items = [self._index(s) for s in services]

    @staticmethod
    def _index(s: ServiceDefinition) -> _Indexed:
        title = " ".join([s.title.de, s.title.en, " ".join(s.keywords)])
        rest = " ".join([s.summary.de, s.summary.en, s.competent_body.de, s.competent_body.en, s.legal_basis,
                         " ".join(d.de + " " + d.en for d in s.documents)])
        return _Indexed(s, tuple(_WORD.findall(normalise(title))), tuple(_WORD.findall(normalise(rest))))

    def search(self, query: str) -> list[ServiceDefinition]:
        """Services matching every query word, best first (matches in title/keywords weigh most)."""
        terms = query_terms(query)
        if not terms:
            return [item.service for item in self._items]
        scored = []
        for item in self._items:
            score = 0
            for term in terms:
                in_title = sum(term in w for w in item.title_words)
                in_rest = sum(term in w for w in item.words)
                if not in_title and not in_rest:
                    break
                score += 5 * in_title + in_rest
            else:
                scored.append((-score, item.service.key, item.service))
        return [s for *_, s in sorted(scored)]
