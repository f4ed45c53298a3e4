"""A per-chamber circuit breaker, kept in the memory of one worker process.

closed ──(``threshold`` counted failures in a row)──▶ open ──(cooldown over)──▶ half-open
  ▲                                                     ▲                          │
  └──────────── the probe (one delivery) succeeds ──────┴──── the probe fails ─────┘

While a chamber's breaker is open the worker claims none of its deliveries: they stay due in the
database without spending attempts, and other workers' breakers decide for themselves. Each
failed probe doubles the cooldown, up to ``max_cooldown``.

What counts. A temporary failure is evidence that the receiver is down only for a delivery that
has been tried at least as often as the receiver has been seen to need: some receivers fail
every filing's first attempt(s) and take it on a later one (500 twice, then 200; a proxy whose
timeout is shorter than the receiver's work answers 504 after the filing was stored, and the
retry gets 409). The breaker remembers ``depth``, the fewest attempts a delivery of the chamber
has needed since the breaker last closed; a failure of a send with fewer attempts than that is
not counted. Until the receiver has taken anything (and again after each trip), every failure
counts: a receiver that refuses connections or answers 500 forever trips after ``threshold``
sends, as before, and one that goes down after having needed ``depth`` attempts trips once
``threshold`` sends at that depth failed in a row.

Timeouts. A send that went out and got no answer within a timeout shorter than the longest
(``DELIVERY_TIMEOUT_CAP_SECONDS``) is no evidence either way: a slow receiver that stores every
filing after 30 s would otherwise trip the breaker against a 10 s timeout, and its deliveries
would wait out cooldowns instead of being retried with a longer timeout. Such sends are
``inconclusive``: they count nothing, and a probe that ends so lets the next claim probe again
(the same most-tried row, now with the doubled timeout). No answer within the longest timeout
counts as a failure (a hanging receiver trips the breaker).

Probes. The probe of a half-open breaker is the chamber's most-tried due delivery (the claim
orders that chamber's rows by attempts, most first), not its oldest: a backlog of never-tried
rows sorts first by due time, and probing with them would fail every probe at such a receiver.
Each failed probe pushes the same row one attempt further (its backoff and the cooldown both
double), so the probes find out how many attempts the receiver needs.
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
    #: the fewest attempts a delivery has needed since the breaker closed (None: nothing taken yet)
    depth: int | None = None


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

    def record(self, chamber_id: int, temporary_failure: bool, attempts: int = 1) -> None:
        """Feed the outcome of a send: a temporary failure, or anything else (receiver answered).

        ``attempts`` is the send's attempt number (1 for a delivery's first send).
        """
        if self.threshold <= 0:
            return
        with self._lock:
            state = self._states.setdefault(chamber_id, _State())
            if not temporary_failure:
                if state.open_until is not None:
                    log.info("circuit breaker for chamber %s closed again (attempt %d went through)",
                             chamber_id, attempts)
                    state = self._states[chamber_id] = _State()
                state.failures = 0
                state.depth = attempts if state.depth is None else min(state.depth, attempts)
                return
            if not state.probing and state.depth is not None and attempts < state.depth:
                return  # this receiver takes filings only after more attempts: no evidence it is down
            state.failures += 1
            if state.probing or (state.open_until is None and state.failures >= self.threshold):
                state.cooldown = (min(self.max_cooldown, state.cooldown * 2) if state.probing
                                  else self.base_cooldown)
                state.open_until = self.clock() + state.cooldown
                state.probing = False
                state.depth = None
                log.warning("circuit breaker for chamber %s open for %.0f s after %d temporary failure(s)",
                            chamber_id, state.cooldown, state.failures)

    def not_tried(self, chamber_id: int) -> None:
        """The claimed delivery never reached the receiver (the chamber needs configuration): a
        probe it was does not count, the next claim may probe again."""
        self.inconclusive(chamber_id)

    def inconclusive(self, chamber_id: int) -> None:
        """The send proved neither that the receiver works nor that it is down (no answer within
        a timeout below the longest): nothing counts; a probe it was does not decide, the next
        claim may probe again."""
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
