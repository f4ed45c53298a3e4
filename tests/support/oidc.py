"""A whole company login against the fake provider, and what a refused or accepted login looks like."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

PORTAL_SECRETS = ("dev-company-secret", "dev-staff-secret", "test-secret")


def company_login(app, client=None):
    """Run a whole company login against the fake provider; return (final response, client)."""
    client = client or app.test_client()
    start = client.get("/login")
    if start.status_code != 302:
        return start, client
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text[:300]
    parts = urlsplit(back.headers["Location"])
    return client.get(f"{parts.path}?{parts.query}"), client


def assert_logged_in(resp, client):
    assert resp.status_code == 302, resp.get_data(as_text=True)[:800]
    assert resp.headers["Location"].endswith("/antraege")
    with client.session_transaction() as session:
        assert session.get("_user_id")
    page = client.get("/antraege")  # a first login is sent to review the company data first
    assert page.status_code == 200 or "/unternehmen/pruefen" in page.headers.get("Location", "")


def assert_refused(resp, client, caplog, fake, reason: str, status: int = 401):
    """A clear error page, the reason in the log, no token or secret in it, and no session."""
    page = resp.get_data(as_text=True)
    assert resp.status_code == status, page[:800]
    assert "Anmeldung nicht möglich" in page
    assert reason in caplog.text, caplog.text[-2000:]
    for secret in (*fake.issued, *PORTAL_SECRETS):
        assert secret not in caplog.text
    with client.session_transaction() as session:
        assert not {"_user_id", "login_session", "oidc_pending"} & set(session)
    assert "/login" in client.get("/antraege").headers.get("Location", "")  # not logged in
