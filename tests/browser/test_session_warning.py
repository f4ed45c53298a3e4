"""The warning before the idle timeout, and extending the session from it (WCAG 2.2.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bizportal.auth.models import LoginSession
from bizportal.common.time import utcnow
from bizportal.extensions import db
from tests.support.browser import assert_no_violations, share_login
from tests.support.http import http_login

pytestmark = pytest.mark.browser


def _age_session(app, minutes: float) -> None:
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=minutes)))
        db.session.commit()


def test_warning_appears_before_the_idle_limit_and_extending_keeps_the_session(app, live_server, page):
    client = http_login(live_server, "anna.becker")
    share_login(page, client)
    page.goto(live_server + "/antraege")
    warning = page.locator("#session-warning")
    assert warning.is_hidden()
    _age_session(app, 29)  # one minute left: the next look at the clock must warn
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # the tab comes back
    page.wait_for_selector("#session-warning:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "session-extend"
    assert_no_violations(page, "session warning")
    page.keyboard.press("Enter")
    page.wait_for_selector("#session-warning", state="hidden")
    assert client.get("/sitzung").status_code == 200
    left = page.evaluate("fetch('/sitzung').then(r => r.json()).then(d => d.seconds_left)")
    assert left > 29 * 60


def test_no_warning_script_for_anonymous_visitors(live_server, page):
    page.goto(live_server + "/")
    assert page.locator("#session-warning").count() == 0
