"""How fast each chamber answers: collected in a worker's memory, published off the hot path.

A send adds to the worker's ``AnswerTimes`` (a lock and a few list operations, no database work);
every ``DELIVERY_TIMING_PUBLISH_SECONDS`` the worker replaces its own ``DeliveryTiming`` rows with
what it saw in the last ``DELIVERY_TIMING_WINDOW_SECONDS`` (``publish``: one short transaction,
no row shared with another worker). The admin pages merge the rows of all workers
(``queries.answer_times``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete

from ..common import dbclock
from ..extensions import db
from .models import DeliveryTiming

#: answer times kept per chamber and worker (the latest ones): enough for a median and a 90th percentile
SAMPLE_SIZE = 200
#: answered and unanswered sends are counted in buckets of this many seconds
_BUCKET_SECONDS = 10.0


@dataclass(frozen=True)
class ChamberTiming:
    """What one worker saw of one chamber within the window."""

    chamber_id: int
    answered: int  #: delivered sends
    timeouts: int  #: sends that got no answer within their timeout
    answer_ms: list[int]  #: answer times of the latest delivered sends, oldest first
    longest_timeout: float | None  #: the longest answer timeout used


@dataclass
class _Seen:
    #: [start, answered, timeouts, longest timeout] per bucket, oldest first
    buckets: deque[list[float]] = field(default_factory=deque)
    sample: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=SAMPLE_SIZE))


class AnswerTimes:
    """Answer times and timeouts per chamber over a sliding window, in one worker's memory. Thread-safe."""

    def __init__(self, window: float, clock: Callable[[], float] = time.monotonic):
        self.window = window
        self.clock = clock
        self._seen: dict[int, _Seen] = {}
        self._lock = threading.Lock()

    def record(self, chamber_id: int, answer_seconds: float | None, timeout: float | None) -> None:
        """A send to the chamber ended: delivered after ``answer_seconds``, or (``None``) without an
        answer within ``timeout``. Other outcomes are not answer times and are not recorded."""
        now = self.clock()
        start = now - now % _BUCKET_SECONDS
        with self._lock:
            seen = self._seen.setdefault(chamber_id, _Seen())
            if not seen.buckets or seen.buckets[-1][0] != start:
                seen.buckets.append([start, 0, 0, 0.0])
            bucket = seen.buckets[-1]
            if answer_seconds is None:
                bucket[2] += 1
            else:
                bucket[1] += 1
                seen.sample.append((now, round(answer_seconds * 1000)))
            bucket[3] = max(bucket[3], timeout or 0.0)

    def snapshot(self) -> list[ChamberTiming]:
        """What was seen within the window, per chamber; forgets what is older."""
        since = self.clock() - self.window
        found: list[ChamberTiming] = []
        with self._lock:
            for chamber_id, seen in list(self._seen.items()):
                while seen.buckets and seen.buckets[0][0] + _BUCKET_SECONDS <= since:
                    seen.buckets.popleft()
                while seen.sample and seen.sample[0][0] < since:
                    seen.sample.popleft()
                if not seen.buckets:
                    del self._seen[chamber_id]
                    continue
                longest = max(b[3] for b in seen.buckets)
                found.append(ChamberTiming(
                    chamber_id, int(sum(b[1] for b in seen.buckets)), int(sum(b[2] for b in seen.buckets)),
                    [ms for _, ms in seen.sample], longest or None))
        return found


def publish(worker_id: str, timings: list[ChamberTiming], window: float) -> None:
    """Replace this worker's published rows with ``timings`` and drop anybody's rows older than the
    window (workers that stopped); one transaction, commits."""
    now = dbclock.now()
    db.session.execute(delete(DeliveryTiming).where(
        (DeliveryTiming.worker_id == worker_id) | (DeliveryTiming.updated_at < now - timedelta(seconds=window))))
    db.session.add_all(DeliveryTiming(worker_id=worker_id, chamber_id=t.chamber_id, updated_at=now,
                                      answered=t.answered, timeouts=t.timeouts, answer_ms=t.answer_ms,
                                      longest_timeout=t.longest_timeout) for t in timings)
    db.session.commit()
