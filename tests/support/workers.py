"""The environment of real ``flask --app wsgi worker`` processes started by tests."""

from __future__ import annotations

import os


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
