"""The environment of real ``flask --app wsgi worker`` processes started by tests."""

from __future__ import annotations

import os

#: how many sends one worker started with ``worker_env`` holds open to one chamber at a time: its 16
#: sender threads (``WORKER_THREADS``) capped by ``DELIVERY_CHAMBER_CONCURRENCY``, both left at their
#: defaults. A test that holds the sends at a closed receiver waits for this many, not for a pause in
#: the arrivals (on a loaded machine the fourth arrived more than half a second after the first).
CHAMBER_SLOTS = 4


def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIZPORTAL_")}
    env.update({
        "BIZPORTAL_DATABASE_URL": database_url,
        "BIZPORTAL_SECRET_KEY": "test-secret",
        "BIZPORTAL_WORKER_POLL_SECONDS": "0.2",
        "BIZPORTAL_DELIVERY_BACKOFF_BASE_SECONDS": "0.5",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k if k.startswith("BIZPORTAL_") else "BIZPORTAL_" + k: str(v) for k, v in extra.items()})
    return env
