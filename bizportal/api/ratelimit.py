"""The rate limit per API client: a fixed window counted in the database.

One row per client holds the start of its current window and the calls in it; an upsert counts
each call and starts a new window when the old one has passed, in one short transaction of its
own. The count is shared by every web process and node (it lives in the database). A fixed
window lets a client make up to twice the limit across a window boundary; that is accepted.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from . import problems
from .models import ApiClient, ApiRateWindow


def check(client: ApiClient) -> None:
    """Count a call of ``client``; raise ``problems.Problem`` 429 with ``Retry-After`` past the limit."""
    settings = current_app.config["SETTINGS"].api
    now = int(time.time())
    start = now - now % settings.rate_window_seconds
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[db.session.get_bind().dialect.name]
    stmt = (insert(ApiRateWindow).values(client_pk=client.id, window_start=start, count=1)
            .on_conflict_do_update(index_elements=["client_pk"], set_={
                "count": case((ApiRateWindow.window_start == start, ApiRateWindow.count + 1), else_=1),
                "window_start": start})
            .returning(ApiRateWindow.count))
    count = int(db.session.execute(stmt).scalar_one())
    db.session.commit()
    if count > settings.rate_limit:
        retry = max(1, start + settings.rate_window_seconds - now)
        raise problems.Problem(429, f"More than {settings.rate_limit} calls in {settings.rate_window_seconds} s; "
                               f"try again in {retry} s.", {"Retry-After": str(retry)})
