"""State machines declared as data: an enum of states and one table of allowed transitions.

Each stateful record has one owner module that declares its machine here-style and is the only
code that changes the state (delivery states in ``delivery/``, filing status in ``filings/``).
Bulk SQL derives its "from" filters from the same table (``sources``), so a statement can never
move a row along an edge the table does not declare.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class Refused(Exception):
    """A domain rule refuses the action; the web answers with a clear message, the API with 409."""


class TransitionRefused(Refused):
    """The record cannot move from its current state to the requested one."""

    def __init__(self, machine: str, current: str, target: str, subject: str = "", message: str = ""):
        what = f"{machine} {subject}".strip()
        super().__init__(message or f"{what}: {current} → {target} is not allowed")
        self.machine = machine
        self.current = current
        self.target = target


class StateMachine(Generic[S]):
    """The allowed transitions of one enum; ``check`` refuses every edge not in the table."""

    def __init__(self, name: str, states: type[S], table: Mapping[S, Iterable[S]]):
        self.name = name
        self.states = states
        self.table: dict[S, frozenset[S]] = {s: frozenset(table.get(s, ())) for s in states}
        unknown = {t for targets in self.table.values() for t in targets} - set(states)
        if unknown:  # pragma: no cover - a typo in a table is a programming error
            raise ValueError(f"{name}: unknown target states {unknown}")

    def allowed(self, current: str, target: str) -> bool:
        try:
            return self.states(target) in self.table[self.states(current)]
        except (ValueError, KeyError):
            return False

    def check(self, current: str, target: str, subject: str = "") -> S:
        """Return ``target`` as the enum member; raise ``TransitionRefused`` if the edge is not declared."""
        if not self.allowed(current, target):
            raise TransitionRefused(self.name, str(current), str(target), subject)
        return self.states(target)

    def sources(self, target: S) -> tuple[S, ...]:
        """The states from which ``target`` may be reached (for the WHERE of a bulk update)."""
        return tuple(s for s in self.states if target in self.table[s])

    def edges(self, sources: Iterable[S], target: S) -> tuple[S, ...]:
        """``sources`` after checking that each may move to ``target``: the "from" filter of a bulk
        statement, declared against the table when the module is imported."""
        sources = tuple(sources)
        for s in sources:
            if target not in self.table[s]:
                raise TransitionRefused(self.name, str(s), str(target))
        return sources

    def terminal(self) -> tuple[S, ...]:
        return tuple(s for s in self.states if not self.table[s])
