"""Catalog search that forgives umlauts, word forms and compounds, in German and English.

Every text of a service (titles, summaries, bodies, keywords, legal basis) is normalised
(ä, ae → a; ö, oe → o; ü, ue → u; ß → ss; lower case), cut into words and reduced to a crude
stem. A query word matches a service when its stem occurs inside one of the service's words, so
"handwerk" finds "Handwerksrolle" and "Gewerbe anmelden" finds "Gewerbeanmeldung".

A query word that occurs nowhere is taken for a typo: the closest word of the titles and keywords
(Levenshtein distance, at most about one edit in five letters) stands in for it, so "Gewerbeanmeldng"
finds the Gewerbeanmeldung and the page can ask "Meinten Sie: Gewerbeanmeldung?". The life-event
bundles' titles and keywords belong to that vocabulary too ("Selbststandigkeit" → "Selbstständigkeit",
which finds "Betrieb gründen"), and a word of a bundle's texts is no typo. The candidates
come from a trigram index of that vocabulary, built once with the catalog index; a query compares
itself only with the words that share trigrams with it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from .models import BundleDefinition, ServiceDefinition

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD = re.compile(r"[a-z0-9]+")
#: endings stripped from query words (longest first); German and English inflections
_SUFFIXES = ("ungen", "ung", "ern", "en", "er", "es", "em", "e", "n", "s")


#: an umlaut written as its base vowel or with an e ("grunden", "gruenden", "gründen") reads the same
_FOLDED = re.compile(r"(?<=[aou])e")


def normalise(text: str) -> str:
    """Lower case without accents, ä/ö/ü folded to a/o/u and ß to ss, also where written ae/oe/ue:
    "Gründen", "gruenden" and "grunden" are one word. Query and catalog texts go through the same
    folding, so a word that merely holds "ue" (Steuer) still finds itself."""
    text = text.lower().translate(_UMLAUTS)
    text = unicodedata.normalize("NFKD", text)
    return _FOLDED.sub("", "".join(ch for ch in text if not unicodedata.combining(ch)))


@lru_cache(maxsize=512)
def normalise_cached(text: str) -> str:
    """``normalise`` of a catalog text, kept (the bundles' texts are folded once per process, not
    for each search; a few dozen texts, bounded as a reloaded catalog brings new ones)."""
    return normalise(text)


#: words of a sentence that say nothing about the service ("Ich möchte einen Betrieb gründen", "I want
#: to open a shop"): articles, pronouns, prepositions and the verbs of wanting and needing
_STOPWORDS = {normalise(w) for w in (
    "der", "die", "das", "den", "dem", "des", "und", "oder", "ein", "eine", "einen", "einem", "einer", "eines",
    "für", "mit", "von", "vom", "zu", "zum", "zur", "im", "in", "an", "am", "auf", "bei", "als", "nach",
    "mein", "meine", "meinen", "meinem", "meiner", "meines", "unser", "unsere", "unseren", "ich", "wir", "mich",
    "mir", "uns", "sich", "will", "wollen", "möchte", "möchten", "muss", "müssen", "brauche", "brauchen", "kann",
    "können", "wie", "was", "wo", "bitte", "neu", "neue", "neuen", "neues",
    "the", "a", "an", "of", "for", "and", "to", "my", "our", "i", "we", "me", "want", "would", "like", "need",
    "how", "do", "can", "please")}


def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def query_terms(query: str) -> list[str]:
    words = [w for w in _WORD.findall(normalise(query)) if w not in _STOPWORDS]
    return [stem(w) for w in words if len(w) >= 2]


def trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``; any value above ``limit`` is returned as ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return min(previous[-1], limit + 1)


def allowed_edits(word: str) -> int:
    """How many edits a word may be away from a catalog word and still count as a typo of it."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2 if len(word) < 13 else 3


class Vocabulary:
    """The words of the catalog's titles and keywords, as people spell them, with a trigram index
    for finding the closest word to a misspelt one."""

    #: a candidate must share at least this share of its trigrams with the query word (Dice coefficient)
    MIN_SIMILARITY = 0.4

    def __init__(self, texts: list[str]):
        spelled: dict[str, str] = {}
        for text in texts:
            for word in re.findall(r"[^\W\d_][\w-]*", text):
                for part in word.split("-"):
                    key = normalise(part)
                    if len(key) >= 4 and _WORD.fullmatch(key) and key not in _STOPWORDS:
                        spelled.setdefault(key, part)  # the first spelling wins: titles come first
        self.spelled = spelled
        self._grams: dict[str, list[str]] = {}
        for key in spelled:
            for gram in trigrams(key):
                self._grams.setdefault(gram, []).append(key)

    def closest(self, word: str) -> str | None:
        """The vocabulary word (normalised) nearest to ``word`` within ``allowed_edits``, or None."""
        limit = allowed_edits(word)
        if not limit:
            return None
        grams = trigrams(word)
        shared = Counter(key for gram in grams for key in self._grams.get(gram, ()))
        best: tuple[int, float, str] | None = None
        for key, count in shared.items():
            dice = 2 * count / (len(grams) + len(trigrams(key)))
            if dice < self.MIN_SIMILARITY:
                continue
            distance = edit_distance(word, key, limit)
            if distance <= limit and (best is None or (distance, -dice, key) < best):
                best = (distance, -dice, key)
        return best[2] if best else None


@dataclass(frozen=True)
class Correction:
    """A query with its misspelt words replaced: ``text`` to show and link, ``terms`` to search with."""

    text: str
    terms: list[str]


@dataclass(frozen=True)
class _Indexed:
    service: ServiceDefinition
    title_words: tuple[str, ...]
    words: tuple[str, ...]


class CatalogIndex:
    """An in-memory index of the catalog (a few dozen services and bundles; built once at start-up).
    Only services are searched here; the bundles' words count for the spell correction, since
    the catalog page lists the bundles its query or correction finds (``queries.find_bundles``)."""

    def __init__(self, services: list[ServiceDefinition], bundles: list[BundleDefinition] | None = None):
        bundles = bundles or []
        self._items = [self._index(s) for s in services]
        self.vocabulary = Vocabulary([s.title.de for s in services] + [s.title.en for s in services]
                                     + [k for s in services for k in s.keywords]
                                     + [b.title.de for b in bundles] + [b.title.en for b in bundles]
                                     + [k for b in bundles for k in b.keywords])
        self._bundle_words = tuple({w for b in bundles for w in _WORD.findall(normalise(" ".join(
            [b.title.de, b.title.en, b.summary.de, b.summary.en, *b.keywords])))})

    @staticmethod
    def _index(s: ServiceDefinition) -> _Indexed:
        title = " ".join([s.title.de, s.title.en, " ".join(s.keywords)])
        rest = " ".join([s.summary.de, s.summary.en, s.competent_body.de, s.competent_body.en, s.legal_basis,
                         " ".join(d.de + " " + d.en for d in s.documents)])
        return _Indexed(s, tuple(_WORD.findall(normalise(title))), tuple(_WORD.findall(normalise(rest))))

    def _known(self, term: str) -> bool:
        return any(term in w for item in self._items for w in item.title_words + item.words) or any(
            term in w for w in self._bundle_words)

    def correction(self, query: str) -> Correction | None:
        """The query with each word that occurs nowhere in the catalog replaced by the closest word
        of the titles and keywords; None when every word occurs or no word has a close one."""
        words = [w for w in re.findall(r"[\w-]+", query) if normalise(w) not in _STOPWORDS]
        shown, terms, changed = [], [], False
        for word in words:
            for part in filter(None, re.split(r"[-_]", word)):
                for key in _WORD.findall(normalise(part)):
                    if len(key) < 2:
                        continue
                    term = stem(key)
                    fixed = None if self._known(term) else self.vocabulary.closest(key)
                    if fixed is None:
                        shown.append(part)
                        terms.append(term)
                    else:
                        shown.append(self.vocabulary.spelled[fixed])
                        terms.append(stem(fixed))
                        changed = True
        return Correction(" ".join(shown), terms) if changed else None

    def search(self, query: str) -> list[ServiceDefinition]:
        """Services matching every query word, best first (matches in title/keywords weigh most); a
        word found nowhere is read as its ``correction``."""
        terms = query_terms(query)
        if not terms:
            return [item.service for item in self._items]
        if not all(self._known(t) for t in terms):
            fixed = self.correction(query)
            if fixed is not None:
                terms = fixed.terms
        return self._ranked(terms)

    def _ranked(self, terms: list[str]) -> list[ServiceDefinition]:
        """Services matching every term, best first. For a query of several words, when some
        services have every word in their titles or keywords (they are about it), only those: the
        others merely hold the words somewhere in their long texts, apart and often as parts of
        other words ("Ich gründe einen Betrieb": "Grundriss" and "Betriebsräume" of the
        Gaststättenerlaubnis; new-user trial, issue 16)."""
        scored = []
        for item in self._items:
            score = titled = 0
            for term in terms:
                in_title = sum(term in w for w in item.title_words)
                in_rest = sum(term in w for w in item.words)
                if not in_title and not in_rest:
                    break
                score += 5 * in_title + in_rest
                titled += bool(in_title)
            else:
                scored.append((titled == len(terms), -score, item.service.key, item.service))
        if len(terms) > 1 and any(about for about, *_ in scored):
            scored = [entry for entry in scored if entry[0]]
        return [s for *_, s in sorted(scored, key=lambda e: e[1:3])]
