"""Rate limits: logins, submits, uploads, messages, the status callback and the API answer 429
beyond their budget, as a KERN page (German or English) or a problem document, with Retry-After."""

from __future__ import annotations

import uuid

import pytest

from tests.support.http import csrf_token, login


def _retry_after(resp) -> int:
    value = int(resp.headers["Retry-After"])
    assert 0 < value <= 60
    return value


def test_login_start_and_callback_share_a_budget_per_address(app_factory):
    app = app_factory(RATE_LIMIT_LOGIN="3 per minute")
    client = app.test_client()
    for _ in range(2):
        assert client.get("/login").status_code == 302
    assert client.get("/staff/login").status_code == 302
    refused = client.get("/login/callback?code=x&state=y")
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Zu viele Anfragen" in page and 'class="kern-alert' in page and _retry_after(refused)
    assert app.test_client().get("/login").status_code == 429  # the same address, another browser
    other = app.test_client().get("/login", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 302  # another address has its own budget
    assert client.get("/").status_code == 200  # pages without a limit are not affected


def test_the_429_page_speaks_english_after_the_switch(app_factory):
    app = app_factory(RATE_LIMIT_LOGIN="1 per minute")
    client = app.test_client()
    client.get("/sprache/en")
    client.get("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "Too many requests" in page and "Zu viele Anfragen" not in page


@pytest.mark.parametrize("setting,path", [
    ("RATE_LIMIT_UPLOAD", "/antraege/entwurf/{draft}/betrieb"),
    ("RATE_LIMIT_SUBMIT", "/antraege/entwurf/{draft}/pruefen"),
    ("RATE_LIMIT_MESSAGES", "/antraege/BP-2026-XXXXXX/nachricht"),
])
def test_posts_of_a_person_are_limited_per_person(app_factory, setting, path):
    app = app_factory(**{setting: "2 per minute"})
    anna, lea = app.test_client(), app.test_client()
    login(anna, "anna.becker")
    login(lea, "lea.hansen")
    target = path.format(draft=uuid.uuid4())
    token = csrf_token(anna.get("/unternehmen").get_data(as_text=True))
    for _ in range(2):
        assert anna.post(target, data={"csrf_token": token}).status_code != 429
    refused = anna.post(target, data={"csrf_token": token})
    assert refused.status_code == 429 and _retry_after(refused)
    assert anna.get("/antraege").status_code == 200  # reading is not limited
    lea_token = csrf_token(lea.get("/unternehmen").get_data(as_text=True))
    assert lea.post(target, data={"csrf_token": lea_token}).status_code != 429  # another person


def test_status_callback_is_limited_per_chamber_and_answers_a_problem_document(app_factory):
    app = app_factory(RATE_LIMIT_STATUS_CALLBACK="2 per minute")
    client = app.test_client()
    for _ in range(2):
        assert client.post("/api/chambers/hwk-bremen/status", data=b"{}").status_code != 429
    refused = client.post("/api/chambers/hwk-bremen/status", data=b"{}")
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["status"] == 429 and _retry_after(refused)
    assert client.post("/api/chambers/ihk-bremen/status", data=b"{}").status_code != 429


def test_api_and_its_token_endpoint_share_an_address_budget(app_factory):
    app = app_factory(RATE_LIMIT_API="3 per minute")
    client = app.test_client()
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"}).status_code == 401
    assert client.get("/api/v1/filings").status_code == 401
    refused = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"})
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["title"] == "Too Many Requests" and "Retry-After" in body["detail"] and _retry_after(refused)


def _redis_or_skip(url: str):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    return client


def test_with_redis_every_web_process_counts_against_the_same_budget(app_factory):
    url = "redis://127.0.0.1:6379/0"
    redis = _redis_or_skip(url)
    prefix = f"bizportal-test-{uuid.uuid4().hex}"
    settings = {"RATE_LIMIT_STORAGE_URI": url, "RATE_LIMIT_KEY_PREFIX": prefix, "RATE_LIMIT_LOGIN": "3 per minute"}
    try:
        first, second = app_factory(**settings), app_factory(**settings)  # two web processes
        assert first.test_client().get("/login").status_code == 302
        assert second.test_client().get("/login").status_code == 302
        assert first.test_client().get("/login").status_code == 302
        assert redis.keys(f"*{prefix}*")  # the counts live in Redis
        refused = second.test_client().get("/login")
        assert refused.status_code == 429 and _retry_after(refused)
    finally:
        for key in redis.scan_iter(f"*{prefix}*"):
            redis.delete(key)
