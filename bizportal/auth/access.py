"""Access rules. Every view declares one; a test walks the URL map and checks that each does."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

ACCESS_ATTR = "_bizportal_access"


def public(view: Callable) -> Callable:
    """Anyone may use this view."""
    setattr(view, ACCESS_ATTR, "public")
    return view


def _login_redirect(endpoint: str):
    return redirect(url_for(endpoint, next=request.full_path if request.query_string else request.path))


def company_required(view: Callable) -> Callable:
    """Only a person logged in for a company; others are sent to the company login or refused."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return _login_redirect("auth.login")
        if getattr(current_user, "kind", None) != "company":
            abort(403)
        return view(*args, **kwargs)

    setattr(wrapped, ACCESS_ATTR, "company")
    return wrapped


def roles_required(*roles: str) -> Callable[[Callable], Callable]:
    """Only staff holding at least one of ``roles``."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return _login_redirect("auth.staff_login")
            if getattr(current_user, "kind", None) != "staff" or not any(
                current_user.has_role(r) for r in roles
            ):
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapped, ACCESS_ATTR, "roles:" + ",".join(roles))
        return wrapped

    return decorator


def safe_next(target: str | None) -> str | None:
    """A same-site path to go on to after login or review; anything else (other hosts,
    scheme-relative ``//`` or ``/\\`` tricks, control characters) gives None."""
    from urllib.parse import urlsplit

    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(ch) < 32 for ch in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def access_rule(view: Callable) -> str | None:
    return getattr(view, ACCESS_ATTR, None)
