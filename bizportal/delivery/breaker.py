"""A per-chamber circuit breaker, kept in the memory of one worker process.

closed ──(``threshold`` temporary failures in a row)──▶ open ──(cooldown over)──▶ half-open
  ▲                                                       ▲                          │
  └──────────── the probe (one delivery) succeeds ────────┴──── the probe fails ─────┘

While a chamber's breaker is open the worker claims none of its deliveries: they stay due in the
database without spending attempts, and other workers' breakers decide for themselves. Each
failed probe doubles the cooldown, up to ``max_cooldown``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class _State:
    failures: int = 0
    open_until: float | None = None
    cooldown: float = 0.0
    probing: bool = False


class CircuitBreakers:
    """Breaker state for every chamber one worker talks to. Thread-safe."""

    def __init__(self, threshold: int = 5, cooldown: float = 30.0, max_cooldown: float = 600.0,
                 clock: Callable[[], float] = time.monotonic):
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max(max_cooldown, cooldown)
        self.clock = clock
        self._states: dict[int, _State] = {}
        self._lock = threading.Lock()

    def allowance(self, chamber_id: int, limit: int) -> int:
        """How many deliveries of the chamber may be in flight now: ``limit``, 1 (probe) or 0."""
        if self.threshold <= 0:
            return limit
        with self._lock:
            state = self._states.get(chamber_id)
            if state is None or state.open_until is None:
                return limit
            if self.clock() < state.open_until or state.probing:
                return 0
            return min(limit, 1)

    def started(self, chamber_id: int) -> None:
        """A delivery of the chamber was claimed; after the cooldown it is the one probe."""
        with self._lock:
            state = self._states.get(chamber_id)
            if state is not None and state.open_until is not None and self.clock() >= state.open_until:
                state.probing = True

    def record(self, chamber_id: int, temporary_failure: bool) -> None:
        """Feed the outcome of a send: a temporary failure, or anything else (receiver answered)."""
        if self.threshold <= 0:
            return
        with self._lock:
            state = self._states.setdefault(chamber_id, _State())
            if not temporary_failure:
                if state.open_until is not None:
                    log.info("circuit breaker for chamber %s closed again", chamber_id)
                self._states[chamber_id] = _State()
                return
            state.failures += 1
            if state.probing or (state.open_until is None and state.failures >= self.threshold):
                state.cooldown = (min(self.max_cooldown, state.cooldown * 2) if state.probing
                                  else self.base_cooldown)
                state.open_until = self.clock() + state.cooldown
                state.probing = False
                log.warning("circuit breaker for chamber %s open for %.0f s after %d temporary failure(s)",
                            chamber_id, state.cooldown, state.failures)

    def not_tried(self, chamber_id: int) -> None:
        """The claimed delivery never reached the receiver (the chamber needs configuration): a
        probe it was does not count, the next claim may probe again."""
        with self._lock:
            state = self._states.get(chamber_id)
            if state is not None:
                state.probing = False

    def tripped(self) -> set[int]:
        """Chambers whose breaker is open or half-open (their allowance may be below the limit)."""
        with self._lock:
            return {cid for cid, state in self._states.items() if state.open_until is not None}

    def is_open(self, chamber_id: int) -> bool:
        with self._lock:
            state = self._states.get(chamber_id)
            return bool(state and state.open_until is not None)
