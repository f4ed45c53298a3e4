"""Sessions are confirmed again at the login provider every few minutes (``auth.recheck``).

The real provider (oidc-provider-mock) changes a person's claims or revokes their tokens; the
fake provider plays one that is down.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from bizportal.auth import tokens
from bizportal.auth.models import LoginSession
from bizportal.common.time import utcnow
from bizportal.demo import DEMO_USERS
from bizportal.extensions import db
from tests.support.oidc import company_login


@pytest.fixture
def provider_user(issuer):
    """Change a demo user's claims at the real provider for one test; restored afterwards."""
    changed = []

    def change(sub: str, **claims):
        changed.append(sub)
        resp = requests.put(f"{issuer}/users/{sub}", json={**DEMO_USERS[sub], **claims}, timeout=5)
        assert resp.status_code in (200, 204)

    yield change
    for sub in changed:
        requests.put(f"{issuer}/users/{sub}", json=DEMO_USERS[sub], timeout=5)


def _row(app) -> LoginSession:
    with app.app_context():
        row = db.session.scalar(select(LoginSession).order_by(LoginSession.created_at.desc()))
        db.session.expunge(row)
        return row


def _interval_passed(app, minutes: float = 6) -> None:
    """As if the last check was ``minutes`` ago (the default interval is 5 minutes)."""
    with app.app_context():
        db.session.execute(update(LoginSession).values(checked_at=utcnow() - timedelta(minutes=minutes)))
        db.session.commit()


def _signed_out_to(resp, login_path: str) -> bool:
    return resp.status_code == 302 and login_path in resp.headers["Location"]


def test_a_role_revoked_at_the_provider_ends_the_session_at_the_next_check(app, client, login_as, provider_user):
    login_as("steering", staff=True)
    assert client.get("/staff/statistik").status_code == 200
    provider_user("steering", roles=[])
    assert client.get("/staff/statistik").status_code == 200  # within the interval: nobody asked yet
    _interval_passed(app)
    assert _signed_out_to(client.get("/staff/statistik"), "/staff/login")
    assert _signed_out_to(client.get("/staff/statistik"), "/staff/login")  # and it stays ended
    assert _row(app).end_reason == "role_withdrawn"


def test_a_changed_chamber_ends_the_session(app, client, login_as, provider_user):
    login_as("hwk.bremen", staff=True)
    provider_user("hwk.bremen", chamber="ihk-bremen")
    _interval_passed(app)
    assert _signed_out_to(client.get("/staff/posteingang"), "/staff/login")
    assert _row(app).end_reason == "chamber_changed"


def test_a_person_moved_to_another_company_is_signed_out(app, client, login_as, provider_user):
    login_as("anna.becker")
    assert client.get("/antraege").status_code == 200
    provider_user("anna.becker", org_id="demo-org-hansen")
    _interval_passed(app)
    assert _signed_out_to(client.get("/antraege"), "/login")
    assert _row(app).end_reason == "company_changed"


def test_unchanged_claims_keep_the_session_and_record_the_confirmation(app, client, login_as):
    login_as("steering", staff=True)
    before = _row(app).confirmed_at
    _interval_passed(app)
    assert client.get("/staff/statistik").status_code == 200
    row = _row(app)
    assert row.ended_at is None and row.confirmed_at > before
    assert utcnow() - row.checked_at < timedelta(seconds=30)


def test_tokens_revoked_at_the_provider_end_the_session(app, client, login_as, issuer):
    login_as("admin", staff=True)
    assert requests.post(f"{issuer}/users/admin/revoke-tokens", timeout=5).status_code in (200, 204)
    _interval_passed(app)
    assert _signed_out_to(client.get("/staff/admin/protokoll"), "/staff/login")
    assert _row(app).end_reason == "provider_refused"


def test_an_expired_access_token_is_renewed_with_the_refresh_token(app, client, login_as):
    login_as("steering", staff=True)
    secret = app.config["SECRET_KEY"]
    held = tokens.unseal(_row(app).tokens, secret)
    assert held and held["access_token"] and held["refresh_token"]
    # the provider no longer knows the access token (as when it has expired)
    stale = tokens.seal({**held, "access_token": "expired-access-token"}, secret)
    with app.app_context():
        db.session.execute(update(LoginSession).values(tokens=stale))
        db.session.commit()
    _interval_passed(app)
    assert client.get("/staff/statistik").status_code == 200
    renewed = tokens.unseal(_row(app).tokens, secret)
    assert renewed["access_token"] not in ("expired-access-token", held["access_token"])


def test_tokens_are_not_stored_in_the_clear(app, client, login_as):
    login_as("steering", staff=True)
    row = _row(app)
    held = tokens.unseal(row.tokens, app.config["SECRET_KEY"])
    assert held["access_token"] not in row.tokens and held["refresh_token"] not in row.tokens
    assert tokens.unseal(row.tokens, "another-secret-key") is None


def test_the_interval_is_configurable_and_zero_turns_the_check_off(app_factory, provider_user):
    from tests.support.http import login

    app = app_factory(SESSION_RECHECK_MINUTES=0)
    client = app.test_client()
    login(client, "steering", staff=True)
    provider_user("steering", roles=[])
    _interval_passed(app, minutes=600)
    assert client.get("/staff/statistik").status_code == 200


# --- a provider that cannot be asked ---------------------------------------------------------


@pytest.fixture
def fake(rsa_keys):
    from tests.support.fake_provider import FakeProvider

    provider = FakeProvider(rsa_keys[0]).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def rsa_keys():
    from joserfc.jwk import RSAKey

    return [RSAKey.generate_key(2048, {"kid": "rsa-0", "use": "sig"})]


def _reviewed_login(app):
    from tests.support.http import csrf_token

    resp, client = company_login(app)
    assert resp.status_code == 302
    review = client.get("/unternehmen/pruefen")
    client.post("/unternehmen/pruefen", data={"csrf_token": csrf_token(review.get_data(as_text=True))})
    assert client.get("/antraege").status_code == 200
    return client


def test_a_provider_that_is_down_neither_ends_sessions_at_once_nor_keeps_them_for_ever(app_factory, fake):
    app = app_factory(COMPANY_OIDC_ISSUER=fake.issuer)
    fake.userinfo_claims = {"org_id": "fake-org-1"}  # the company claim is released at userinfo too
    client = _reviewed_login(app)
    asked = fake.hits["userinfo"]
    fake.userinfo_answer = (503, "text/plain", "maintenance")
    _interval_passed(app)
    assert client.get("/antraege").status_code == 200  # the outage does not sign anybody out
    assert fake.hits["userinfo"] == asked + 1
    assert client.get("/antraege").status_code == 200
    assert fake.hits["userinfo"] == asked + 1  # not asked on every request: once per interval
    # back within the grace period: confirmed again
    fake.userinfo_answer = None
    _interval_passed(app)
    assert client.get("/antraege").status_code == 200
    assert _row(app).ended_at is None
    # down for longer than interval + grace (5 + 30 minutes) since the last confirmation: ended
    fake.userinfo_answer = (503, "text/plain", "maintenance")
    with app.app_context():
        db.session.execute(update(LoginSession).values(confirmed_at=utcnow() - timedelta(minutes=36),
                                                       checked_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert _signed_out_to(client.get("/antraege"), "/login")
    assert _row(app).end_reason == "provider_unconfirmed"


def test_an_unreachable_provider_is_treated_like_one_that_is_down(app_factory, fake):
    app = app_factory(COMPANY_OIDC_ISSUER=fake.issuer, OIDC_TIMEOUT=0.5)
    client = _reviewed_login(app)
    confirmed = _row(app).confirmed_at
    fake.delays["userinfo"] = 2  # answers too late
    _interval_passed(app)
    assert client.get("/antraege").status_code == 200
    row = _row(app)
    assert row.ended_at is None and row.confirmed_at == confirmed  # asked, not confirmed, still signed in
    assert utcnow() - row.checked_at < timedelta(seconds=30)
