"""Discovery, userinfo, state and a provider that is down or slow."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from bizportal.auth.models import Company, Person
from bizportal.extensions import db
from tests.support.fake_provider import DROP, FakeProvider
from tests.support.http import csrf_token
from tests.support.oidc import assert_logged_in, assert_refused, company_login

#: Seconds a slow provider takes to answer, against the portal's OIDC_TIMEOUT of 0.5 s. Far apart, so a
#: busy machine (a login took 3.7 s on CI) does not blur "gave up" and "waited for the answer".
SLOW_PROVIDER = 30


def test_discovery_issuer_mismatch_refuses_to_start_login(fake, fake_app, caplog):
    fake.discovery["issuer"] = "http://127.0.0.1:1"
    resp = fake_app.test_client().get("/login")
    assert resp.status_code == 503 and "Location" not in resp.headers
    assert "nicht erreichbar" in resp.get_data(as_text=True)
    assert "discovery issuer 'http://127.0.0.1:1' differs from configured" in caplog.text
    assert fake.hits["authorize"] == 0


def test_every_endpoint_and_the_key_set_come_from_discovery(fake, fake_app):
    fake.paths.update(authorize="/a/auth", token="/t/token", userinfo="/u/me", jwks="/k/keys.json")
    resp, client = company_login(fake_app)
    assert_logged_in(resp, client)
    assert fake.hits["unknown"] == 0
    assert all(fake.hits[e] == 1 for e in ("discovery", "authorize", "token", "userinfo", "jwks"))


def test_discovery_without_jwks_uri_refuses_to_start_login(fake, fake_app, caplog):
    fake.discovery["jwks_uri"] = DROP
    assert fake_app.test_client().get("/login").status_code == 503
    assert "discovery lacks a usable jwks_uri" in caplog.text


def test_no_cached_discovery_or_keys_leak_between_apps(app_factory, fake, rsa_keys):
    other = FakeProvider(rsa_keys[1]).start()
    try:
        first = app_factory(COMPANY_OIDC_ISSUER=fake.issuer)
        second = app_factory(COMPANY_OIDC_ISSUER=other.issuer)
        assert_logged_in(*company_login(first))
        assert_logged_in(*company_login(second))
        assert_logged_in(*company_login(first))
        assert (fake.hits["token"], other.hits["token"]) == (2, 1)
    finally:
        other.stop()


def test_userinfo_sub_differing_from_the_id_token_is_refused(fake, fake_app, caplog):
    fake.userinfo_sub = "mallory"
    assert_refused(*company_login(fake_app), caplog, fake, "userinfo sub 'mallory' != ID token sub 'fiona.fake'")


def test_userinfo_without_sub_is_refused(fake, fake_app, caplog):
    fake.userinfo_sub = DROP
    assert_refused(*company_login(fake_app), caplog, fake, "userinfo sub None != ID token sub")


def _nothing_stored(app) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 0
        assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def test_token_response_without_id_token_ends_on_clear_page(fake, fake_app, caplog):
    fake.token_response["id_token"] = DROP  # an OAuth answer: an access token only
    assert_refused(*company_login(fake_app), caplog, fake, "company token response without id_token")
    assert fake.hits["userinfo"] == 0  # the access token alone identifies nobody
    _nothing_stored(fake_app)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_userinfo_server_error_ends_on_the_unavailable_page(fake, fake_app, caplog, status):
    fake.userinfo_answer = (status, "text/html", "<h1>Internal Server Error</h1>")
    resp, client = company_login(fake_app)
    assert_refused(resp, client, caplog, fake, f"userinfo request answered HTTP {status}", status=503)
    assert "nicht erreichbar" in resp.get_data(as_text=True)
    _nothing_stored(fake_app)


@pytest.mark.parametrize("content_type,reason", [
    ("text/html; charset=utf-8", "answered 'text/html; charset=utf-8', only plain JSON is supported"),
    ("application/json", "answered something other than a JSON object"),  # HTML labelled as JSON
])
def test_userinfo_answering_html_is_refused(fake, fake_app, caplog, content_type, reason):
    fake.userinfo_answer = (200, content_type, "<!doctype html><title>Anmelden</title><form></form>")
    assert_refused(*company_login(fake_app), caplog, fake, f"company userinfo request {reason}")
    _nothing_stored(fake_app)


def test_callback_without_state_is_refused(fake, fake_app, caplog):
    client = fake_app.test_client()
    client.get("/login")
    assert_refused(client.get("/login/callback?code=abc"), client, caplog, fake, "callback without state")


def test_callback_with_state_of_the_staff_login_is_refused(fake, fake_app, caplog):
    client = fake_app.test_client()
    staff_start = client.get("/staff/login")  # the real provider: only its state is used here
    state = parse_qs(urlsplit(staff_start.headers["Location"]).query)["state"][0]
    resp = client.get("/login/callback", query_string={"code": "abc", "state": state})
    assert_refused(resp, client, caplog, fake, "carries a state issued for the staff login")


def _provider_round_trip(client) -> str:
    """Start a login and let the fake provider answer; return the callback path and query."""
    start = client.get("/login")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    parts = urlsplit(back.headers["Location"])
    return f"{parts.path}?{parts.query}"


def test_replayed_callback_after_a_login_is_refused_and_leaves_the_session_alone(fake, fake_app, caplog):
    client = fake_app.test_client()
    callback = _provider_round_trip(client)
    assert_logged_in(client.get(callback), client)
    review = client.get("/unternehmen/pruefen")  # a first login reviews the company data first
    if review.status_code == 200:
        client.post("/unternehmen/pruefen", data={"csrf_token": csrf_token(review.get_data(as_text=True))})
    resp = client.get(callback)
    assert resp.status_code == 401 and "Anmeldung nicht möglich" in resp.get_data(as_text=True)
    assert "callback state unknown to this session" in caplog.text
    assert fake.hits["token"] == 1  # refused before the code went to the provider again
    # A replayed (or forged) callback is not a login this browser started: it signs nobody out.
    assert client.get("/antraege").status_code == 200


def test_replayed_callback_after_a_failed_login_is_refused(fake, fake_app, caplog):
    client = fake_app.test_client()
    callback = _provider_round_trip(client)
    fake.userinfo_sub = "mallory"
    assert client.get(callback).status_code == 401
    fake.userinfo_sub = None
    assert_refused(client.get(callback), client, caplog, fake, "callback state unknown to this session")
    assert fake.hits["token"] == 1


def test_login_started_too_long_ago_is_refused(fake, fake_app, caplog):
    client = fake_app.test_client()
    start = client.get("/login")
    with client.session_transaction() as session:
        pending = session["oidc_pending"]
        for entry in pending.values():
            entry["at"] -= 601
        session["oidc_pending"] = pending
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    parts = urlsplit(back.headers["Location"])
    resp = client.get(f"{parts.path}?{parts.query}")
    assert_refused(resp, client, caplog, fake, "longer than OIDC_LOGIN_MAX_AGE allows")
    assert fake.hits["token"] == 0


def test_code_refused_by_the_token_endpoint_ends_on_clear_page(fake, fake_app, caplog):
    client = fake_app.test_client()
    start = client.get("/login")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    resp = client.get("/login/callback", query_string={"code": "not-issued", "state": state})
    assert_refused(resp, client, caplog, fake, "token endpoint refused the code: 'invalid_grant'")


def test_provider_gone_between_start_and_callback_ends_on_clear_page(fake, fake_app, caplog):
    client = fake_app.test_client()
    start = client.get("/login")
    back = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    fake.stop()
    parts = urlsplit(back.headers["Location"])
    resp = client.get(f"{parts.path}?{parts.query}")
    assert_refused(resp, client, caplog, fake, "token request failed: ConnectionError", status=503)
    assert "nicht erreichbar" in resp.get_data(as_text=True)


def test_slow_discovery_times_out_and_refuses_to_start_login(fake, make_app, caplog):
    fake.delays["discovery"] = SLOW_PROVIDER
    app = make_app(OIDC_TIMEOUT=0.5)
    began = time.monotonic()
    resp = app.test_client().get("/login")
    assert time.monotonic() - began < SLOW_PROVIDER / 2  # gave up long before the provider answered
    assert resp.status_code == 503 and "nicht erreichbar" in resp.get_data(as_text=True)
    assert "discovery request timed out after 0.5s" in caplog.text


@pytest.mark.parametrize("endpoint,reason", [
    ("token", "token request timed out after 0.5s"),
    ("jwks", "key set request timed out after 0.5s"),
    ("userinfo", "userinfo request timed out after 0.5s"),
])
def test_slow_provider_times_out_during_callback(fake, make_app, caplog, endpoint, reason):
    app = make_app(OIDC_TIMEOUT=0.5)
    fake.delays[endpoint] = SLOW_PROVIDER
    began = time.monotonic()
    resp, client = company_login(app)
    assert time.monotonic() - began < SLOW_PROVIDER / 2  # gave up long before the provider answered
    assert_refused(resp, client, caplog, fake, reason, status=503)
    assert "nicht erreichbar" in resp.get_data(as_text=True)


@pytest.mark.parametrize("query", [
    {"code": "abc"},  # no state
    {"code": "abc", "state": "forged-by-another-site"},
    {"error": "access_denied"},  # a provider "error" without this browser's state
    {"error": "access_denied", "state": "forged-by-another-site"},
], ids=["no-state", "forged-state", "error-no-state", "error-forged-state"])
def test_callback_without_valid_state_leaves_a_signed_in_browser_signed_in(fake, fake_app, caplog, query):
    """Another site links the signed-in browser to the callback: refused, and nobody is signed out."""
    client = _signed_in_and_reviewed(fake_app)
    refused = client.get("/login/callback", query_string=query)
    assert refused.status_code == 401 and "Anmeldung nicht möglich" in refused.get_data(as_text=True)
    assert "callback" in caplog.text
    assert client.get("/antraege").status_code == 200  # still signed in
    assert client.get("/sitzung").status_code == 200


def _signed_in_and_reviewed(fake_app):
    resp, client = company_login(fake_app)
    assert_logged_in(resp, client)
    review = client.get("/unternehmen/pruefen")  # a first login reviews the company data first
    if review.status_code == 200:
        client.post("/unternehmen/pruefen", data={"csrf_token": csrf_token(review.get_data(as_text=True))})
    assert client.get("/antraege").status_code == 200
    return client
