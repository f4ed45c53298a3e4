"""Error pages never fail: when the page itself cannot be made (template, translations, session or
database broken), a plain fallback page answers, with the security headers."""

from __future__ import annotations

import pytest
from jinja2 import ChoiceLoader, DictLoader

from bizportal.auth.access import public

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


@pytest.fixture
def app(app_factory):
    app = app_factory()

    @public
    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/test-boom", "test_boom", boom)
    return app


def break_template(app, name: str) -> None:
    """The error page's template fails to render (as a broken deploy or a failing filter would)."""
    app.jinja_env.loader = ChoiceLoader([DictLoader({name: "{% extends 'missing/base.html' %}"}),
                                         app.jinja_env.loader])


def assert_fallback(resp, code: int) -> None:
    assert resp.status_code == code
    html = resp.get_data(as_text=True)
    assert f"Fehler {code}" in html and "Bitte versuchen Sie es später erneut" in html
    assert "Traceback" not in html and "Werkzeug" not in html
    for header in SECURITY_HEADERS:
        assert resp.headers.get(header), header
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"


def test_a_bug_shows_the_portal_error_page(client):
    resp = client.get("/test-boom")
    assert resp.status_code == 500 and "Interner Fehler" in resp.get_data(as_text=True)
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_when_the_500_page_fails_the_fallback_answers_with_security_headers(app, client):
    break_template(app, "errors/error.html")
    assert_fallback(client.get("/test-boom"), 500)


def test_when_the_404_page_fails_the_fallback_answers_with_security_headers(app, client):
    break_template(app, "errors/error.html")
    assert_fallback(client.get("/gibt-es-nicht"), 404)


def test_when_the_413_page_of_a_message_fails_the_fallback_answers(app, client, login_as, filed):
    break_template(app, "errors/too_large.html")
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    resp = client.post(f"/antraege/{filed}/nachricht", data=big, content_type="multipart/form-data; boundary=x")
    assert_fallback(resp, 413)
