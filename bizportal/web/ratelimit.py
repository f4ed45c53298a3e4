"""Rate limits on the endpoints worth attacking (Flask-Limiter), one table for the whole portal.

Each group shares one budget across its endpoints (a login start and its callback count
together): per address for the anonymous ones, per signed-in person for the others. The counts
live in ``RATE_LIMIT_STORAGE_URI``: ``memory://`` in development (one process), Redis in
production (``redis://…``), so every web process and node counts against the same budget.

Beyond the limit a page answers 429 with ``Retry-After`` (``web.security``: the KERN error page,
or a problem document under ``/api/``). The chamber API keeps its own per-client window in the
database (``api.ratelimit``); the address limit here comes before it and also covers the token
endpoint, where no client is known yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user


def _person_or_address() -> str:
    if current_user and current_user.is_authenticated:
        return "user:" + current_user.get_id()
    return "addr:" + get_remote_address()


def _address() -> str:
    return "addr:" + get_remote_address()


def _chamber_and_address() -> str:
    return f"chamber:{(request.view_args or {}).get('slug', '')}:{get_remote_address()}"


#: group → (setting with the limit, key, methods limited, endpoints)
GROUPS: dict[str, tuple[str, Callable[[], str], list[str] | None, tuple[str, ...]]] = {
    "login": ("RATE_LIMIT_LOGIN", _address, None,
              ("auth.login", "auth.callback", "auth.staff_login", "auth.staff_callback")),
    "submit": ("RATE_LIMIT_SUBMIT", _person_or_address, ["POST"], ("filings.review",)),
    "upload": ("RATE_LIMIT_UPLOAD", _person_or_address, ["POST"], ("filings.step",)),
    "messages": ("RATE_LIMIT_MESSAGES", _person_or_address, ["POST"], ("filings.message", "inbox.message")),
    "status_callback": ("RATE_LIMIT_STATUS_CALLBACK", _chamber_and_address, None, ("api.chamber_status",)),
}
#: every endpoint under /api/v1 (the token endpoint included) shares this group
API_GROUP = ("api", "RATE_LIMIT_API")


def _limit_of(setting: str) -> Callable[[], str]:
    return lambda: current_app.config[setting]


def install(app: Flask) -> Limiter:
    """A limiter for ``app`` (its own storage) and the limits of ``GROUPS`` on the registered views."""
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATE_LIMIT_STORAGE_URI"]
    limiter = Limiter(_address, app=app, default_limits=[], key_prefix=app.config["RATE_LIMIT_KEY_PREFIX"])
    views: dict[str, Any] = app.view_functions
    for group, (setting, key, methods, endpoints) in GROUPS.items():
        shared = limiter.shared_limit(_limit_of(setting), scope=group, key_func=key, methods=methods)
        for endpoint in endpoints:
            views[endpoint] = shared(views[endpoint])
    name, setting = API_GROUP
    api = limiter.shared_limit(_limit_of(setting), scope=name, key_func=_address)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            views[rule.endpoint] = api(views[rule.endpoint])
    return limiter
