"""Fixed log-scaled buckets for durations, so median and 90th percentile over any range come from
daily rollup rows with a bounded error.

Bucket 0 holds durations under one second; bucket ``i >= 1`` holds ``[2^((i-1)/8), 2^(i/8))``
seconds (eight buckets per doubling: one second to one year is about 200 buckets). A percentile is
the nearest-rank value (the ``ceil(q·n)``-th smallest duration); from the histogram it is the
geometric middle of the bucket holding that rank, ``2^((i-1/2)/8)``. The true value lies in the
same bucket, so the reported value is within ``RELATIVE_ERROR`` (2^(1/16) − 1 ≈ 4.43 %) of it, or
within half a second for durations under one second.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

#: buckets per doubling of the duration
PER_DOUBLING = 8
#: the largest relative error of a reported percentile (durations of one second and more)
RELATIVE_ERROR = 2 ** (1 / (2 * PER_DOUBLING)) - 1
#: the largest absolute error of a reported percentile under one second
ABSOLUTE_ERROR_UNDER_ONE_SECOND = 0.5


def bucket(seconds: float) -> int:
    """The bucket of a duration; negative durations (clocks of two machines) count as zero."""
    if seconds < 1:
        return 0
    return 1 + math.floor(math.log2(seconds) * PER_DOUBLING)


def representative(index: int) -> float:
    """The value reported for a percentile that falls into bucket ``index`` (seconds)."""
    if index <= 0:
        return 0.5
    return 2 ** ((index - 0.5) / PER_DOUBLING)


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank ``q``-quantile (0 < q <= 1) of the durations counted in ``histogram``
    (bucket → count), as the bucket's representative; ``None`` when nothing is counted."""
    total = sum(n for n in histogram.values() if n > 0)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(histogram):
        seen += max(histogram[index], 0)
        if seen >= rank:
            return representative(index)
    raise AssertionError("unreachable: the ranks add up to the total")


def exact_percentile(values: Iterable[float], q: float) -> float | None:
    """The nearest-rank ``q``-quantile of raw durations (for recounts against the raw rows)."""
    ordered = sorted(max(v, 0.0) for v in values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def within_error(reported: float, exact: float) -> bool:
    """Whether a reported percentile keeps the stated bound against the exact one."""
    if exact < 1:
        return abs(reported - exact) <= ABSOLUTE_ERROR_UNDER_ONE_SECOND
    return abs(reported - exact) <= RELATIVE_ERROR * exact * (1 + 1e-9)
