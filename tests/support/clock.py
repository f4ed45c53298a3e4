"""A process whose clock is off: in this process (``utcnow`` patched) or a real worker process (libfaketime).

The database's clock is the one every process agrees on (``bizportal.common.dbclock``); these
helpers let a test run a worker whose own clock is wrong against it.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bizportal.common import dbclock
from bizportal.common import time as bizportal_time
from bizportal.extensions import db

#: Debian's libfaketime (``apt-get install libfaketime``; ``.ci/run`` installs it). The MT build:
#: the worker is multi-threaded.
LIBFAKETIME = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))),
                   Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"))


def skew_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Make this process's ``utcnow`` run ``seconds`` ahead (negative: behind) for the rest of the test,
    in every bizportal module that took it (``from ..common.time import utcnow``)."""
    real = bizportal_time.utcnow

    def skewed() -> datetime:
        return real() + timedelta(seconds=seconds)

    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "bizportal" and getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", skewed)


def faketime_env(seconds: float) -> dict[str, str]:
    """The environment that starts a process with its wall clock ``seconds`` off (monotonic time
    untouched). Skips the test where libfaketime is not installed, fails in CI
    (``BIZPORTAL_REQUIRE_POSTGRES=1``: ``.ci/run`` installs it)."""
    if not LIBFAKETIME.exists():
        message = f"needs libfaketime ({LIBFAKETIME}; apt-get install libfaketime)"
        if os.environ.get("BIZPORTAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"{seconds:+.0f}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def database_now(app) -> datetime:
    """The database's current time."""
    with app.app_context():
        try:
            return dbclock.now()
        finally:
            db.session.rollback()
