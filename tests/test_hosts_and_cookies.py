"""Only configured host names are answered; the production session cookie is a ``__Host-`` cookie."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from bizportal.config import load_config
from tests.support.http import provider_login


def test_a_wrong_host_header_gets_400_and_no_login_redirect(app_factory):
    app = app_factory(TRUSTED_HOSTS=["portal.example"])
    client = app.test_client()
    resp = client.get("/login", headers={"Host": "evil.example"})
    assert resp.status_code == 400 and "Location" not in resp.headers
    assert "nicht bedient" in resp.get_data(as_text=True)
    api = client.get("/api/v1/filings", headers={"Host": "evil.example"})
    assert api.status_code == 400 and api.mimetype == "application/problem+json"
    # a forwarded host is a host too (behind a proxy whose X-Forwarded-Host is trusted)
    proxied = app_factory(TRUSTED_HOSTS=["portal.example"], PROXY_FIX_HOPS=1).test_client()
    assert proxied.get("/", base_url="http://portal.example",
                       headers={"X-Forwarded-Host": "evil.example"}).status_code == 400


def test_a_configured_host_is_answered_and_names_the_redirect_uri(app_factory):
    app = app_factory(TRUSTED_HOSTS=["portal.example", "www.portal.example"])
    client = app.test_client()
    assert client.get("/", base_url="http://www.portal.example").status_code == 200
    start = client.get("/login", base_url="http://portal.example")
    assert start.status_code == 302
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["redirect_uri"] == ["http://portal.example/login/callback"]


def test_any_host_is_answered_when_none_is_configured(app):
    assert app.config["TRUSTED_HOSTS"] is None
    assert app.test_client().get("/", base_url="http://127.0.0.1:5000").status_code == 200


def test_production_refuses_to_start_without_trusted_hosts(monkeypatch, tmp_path):
    monkeypatch.setenv("BIZPORTAL_ENV", "production")
    from tests.support.identity import IDENTITY, PRODUCTION_BASE

    for name, value in [*PRODUCTION_BASE.items(), *IDENTITY.items()]:
        if name != "TRUSTED_HOSTS":
            monkeypatch.setenv("BIZPORTAL_" + name, value)
    with pytest.raises(RuntimeError, match="BIZPORTAL_TRUSTED_HOSTS"):
        load_config(str(tmp_path))
    # the public base URL's host must be trusted: the worker writes the links in mails for it
    monkeypatch.setenv("BIZPORTAL_TRUSTED_HOSTS", "portal.example")
    with pytest.raises(RuntimeError, match="must contain the host of BIZPORTAL_PUBLIC_BASE_URL "
                                           r"\(unternehmen.bremen.example.org\)"):
        load_config(str(tmp_path))
    monkeypatch.setenv("BIZPORTAL_TRUSTED_HOSTS", "portal.example, unternehmen.bremen.example.org")
    cfg = load_config(str(tmp_path))
    assert cfg["TRUSTED_HOSTS"] == ["portal.example", "unternehmen.bremen.example.org"]
    assert cfg["SESSION_COOKIE_NAME"] == "__Host-bizportal_session" and cfg["SESSION_COOKIE_SECURE"] is True


def _session_cookie_header(resp, name: str) -> str:
    headers = [h for h in resp.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert len(headers) == 1, resp.headers.getlist("Set-Cookie")
    return headers[0]


def test_secure_session_cookie_is_a_host_cookie_and_a_login_over_https_works(app_factory):
    app = app_factory(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    https = "https://localhost"
    start = client.get("/login", base_url=https)
    assert start.status_code == 302
    attributes = [a.strip().lower() for a in _session_cookie_header(start, "__Host-bizportal_session").split(";")]
    assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes
    assert "samesite=lax" in attributes and not any(a.startswith("domain=") for a in attributes)
    parts = urlsplit(provider_login(start.headers["Location"], "hwk.bremen"))
    assert parts.scheme == "https"  # the redirect URI follows the request's scheme
    # the whole login over HTTPS: the browser sends the __Host- cookie back
    client = app.test_client()
    start = client.get("/staff/login", base_url=https)
    parts = urlsplit(provider_login(start.headers["Location"], "hwk.bremen"))
    done = client.get(f"{parts.path}?{parts.query}", base_url=https)
    assert done.status_code == 302 and done.headers["Location"].endswith("/staff")
    assert client.get("/staff/posteingang", base_url=https).status_code == 200
    assert client.get_cookie("__Host-bizportal_session", domain="localhost") is not None


def test_development_over_plain_http_keeps_a_cookie_browsers_accept_there(app, client):
    resp = client.get("/login")
    header = _session_cookie_header(resp, "bizportal_session").lower()
    assert "secure" not in header and "path=/" in header
