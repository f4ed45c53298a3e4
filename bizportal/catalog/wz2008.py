"""The WZ 2008 classification of economic activities (Destatis): the 839 subclasses that code a
trade's activities, their divisions, and a search over both for the activity picker.

The data are ``data/wz2008.tsv`` (its header says where they come from); they are read once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from .search import Vocabulary, normalise

DATA_FILE = Path(__file__).parent / "data" / "wz2008.tsv"
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@dataclass(frozen=True)
class Subclass:
    code: str  #: five digits as written by Destatis, e.g. ``43.21.0``
    title: str
    division: str  #: the two leading digits

    @property
    def key(self) -> str:
        """The code without dots (``43210``), as XGewerbeanzeige carries it."""
        return self.code.replace(".", "")


@dataclass(frozen=True)
class Classification:
    divisions: dict[str, str]
    subclasses: dict[str, Subclass]

    def search(self, query: str, limit: int = 50) -> list[Subclass]:
        """Subclasses whose code or title contains every word of ``query`` (case, umlauts and
        dots ignored: "fliesen" finds "Fliesen-, Platten- und Mosaiklegerei", "4321" finds 43.21.0),
        or whose division's title does; at most ``limit``, in code order."""
        words = [w for w in fold(query).split() if w]
        if not words:
            return []
        hits = []
        for sub in self.subclasses.values():
            text = f"{sub.code} {sub.key} {fold(sub.title)} {fold(self.divisions.get(sub.division, ''))}"
            if all(w in text for w in words):
                hits.append(sub)
                if len(hits) >= limit:
                    break
        return hits

    def correction(self, query: str) -> str | None:
        """``query`` with each word that occurs in no code or title replaced by the closest word of
        the titles (the catalog search's spelling correction, ``search.Vocabulary``:
        "Elektroinstalation" → "Elektroinstallation"); None when every word occurs or a word that
        does not has no close one."""
        shown, changed = [], False
        for word in query.split():
            if fold(word) in self._texts:
                shown.append(word)
                continue
            key = self._vocabulary.closest(normalise(word))
            if key is None:
                return None
            shown.append(self._vocabulary.spelled[key])
            changed = True
        return " ".join(shown) if changed else None

    @cached_property
    def _texts(self) -> str:
        return "\n".join(f"{s.code} {s.key} {fold(s.title)}" for s in self.subclasses.values()) + "\n" + "\n".join(
            fold(t) for t in self.divisions.values())

    @cached_property
    def _vocabulary(self) -> Vocabulary:
        return Vocabulary([*self.divisions.values(), *(s.title for s in self.subclasses.values())])


def fold(text: str) -> str:
    """Lower case with umlauts spelt out and other accents dropped, for matching typed words."""
    text = text.casefold().translate(_FOLD)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def classification() -> Classification:
    divisions: dict[str, str] = {}
    subclasses: dict[str, Subclass] = {}
    for line in DATA_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, title = line.split("\t", 1)
        if len(code) == 2:
            divisions[code] = title
        else:
            subclasses[code] = Subclass(code=code, title=title, division=code[:2])
    return Classification(divisions=divisions, subclasses=subclasses)


def label(code: str) -> str:
    """"43.21.0 Elektroinstallation" for a known code, the code itself otherwise."""
    sub = classification().subclasses.get(code)
    return f"{code} {sub.title}" if sub else code
