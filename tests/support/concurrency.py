"""Running one call in several threads released at the same moment (races on purpose)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def run_at_once(call: Callable[[], Any], n: int, timeout: float = 30.0) -> tuple[list[Any], list[BaseException]]:
    """Start ``call`` in ``n`` threads that wait at a barrier and go together; return
    (results, errors) once all have finished."""
    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(call())
        except Exception as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results, errors
