"""RP-initiated logout, back-channel logout and the audit of failed logins."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jws
from joserfc.jwk import RSAKey
from sqlalchemy import select

from bizportal.audit.models import AuditEvent
from bizportal.auth.backchannel import MAX_TOKEN_AGE
from bizportal.auth.models import LoginSession
from bizportal.extensions import db
from tests.support.fake_provider import CLIENT_ID, FakeProvider
from tests.support.http import csrf_token
from tests.support.oidc import company_login

EVENT = {"http://schemas.openid.net/event/backchannel-logout": {}}


def logout_token(fake, key=None, alg="RS256", **overrides) -> str:
    now = int(time.time())
    claims = {"iss": fake.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex,
              "events": EVENT, "sub": fake.subject}
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    key = key or fake.signing_key
    return jws.serialize_compact({"alg": alg, "kid": key.kid}, json.dumps(claims), key)


def signed_in(fake_app):
    resp, client = company_login(fake_app)
    assert resp.status_code == 302
    return client


def test_backchannel_logout_ends_the_matching_sessions(fake_app, fake):
    client = signed_in(fake_app)
    other = signed_in(fake_app)
    resp = fake_app.test_client().post("/backchannel-logout", data={"logout_token": logout_token(fake)})
    assert resp.status_code == 200 and resp.get_json() == {"ended": 2}
    assert resp.headers["Cache-Control"] == "no-store"
    for c in (client, other):
        assert c.get("/antraege").status_code == 302
    with fake_app.app_context():
        assert {r.end_reason for r in db.session.scalars(select(LoginSession))} == {"backchannel_logout"}


def test_backchannel_logout_by_sid(fake_app, fake):
    fake.claims = {"sid": "provider-session-1"}
    client = signed_in(fake_app)
    resp = fake_app.test_client().post("/backchannel-logout",
                                       data={"logout_token": logout_token(fake, sub=None, sid="provider-session-1")})
    assert resp.get_json() == {"ended": 1}
    assert client.get("/antraege").status_code == 302


def still_signed_in(client) -> bool:
    follow = client.get("/antraege")  # a first login is sent to review the company data first
    return follow.status_code == 200 or "/unternehmen/pruefen" in follow.headers.get("Location", "")


@pytest.mark.parametrize("configured", ["with", "without"])
@pytest.mark.parametrize("names", [{"sid": "provider-session-1", "sub": None}, {}], ids=["sid", "sub"])
def test_backchannel_logout_when_the_provider_spells_its_issuer_with_a_trailing_slash(
        app_factory, fake, configured, names):
    """Discovery accepts the issuer with or without a trailing ``/``; back-channel logout must match too."""
    fake.issuer = fake.base + "/"
    fake.claims = {"sid": "provider-session-1"}
    app = app_factory(COMPANY_OIDC_ISSUER=fake.issuer if configured == "with" else fake.base)
    client = signed_in(app)
    resp = app.test_client().post("/backchannel-logout", data={"logout_token": logout_token(fake, **names)})
    assert resp.get_json() == {"ended": 1}
    assert not still_signed_in(client)


def _refused(fake_app, token, caplog=None, reason: str | None = None) -> None:
    client = signed_in(fake_app)
    resp = fake_app.test_client().post("/backchannel-logout", data={"logout_token": token})
    assert resp.status_code == 400
    assert still_signed_in(client)
    if reason:
        assert f"back-channel logout refused (company): {reason}" in caplog.text


def test_logout_token_with_bad_signature_is_refused(fake_app, fake):
    stranger = RSAKey.generate_key(2048, parameters={"kid": fake.signing_key.kid})
    _refused(fake_app, logout_token(fake, key=stranger))


def test_logout_token_with_wrong_iss_or_aud_is_refused(fake_app, fake):
    _refused(fake_app, logout_token(fake, iss="https://evil.example"))
    _refused(fake_app, logout_token(fake, aud="another-client"))


def test_logout_token_without_events_or_with_nonce_is_refused(fake_app, fake):
    _refused(fake_app, logout_token(fake, events=None))
    _refused(fake_app, logout_token(fake, events={"http://schemas.openid.net/event/other": {}}))
    _refused(fake_app, logout_token(fake, nonce="n-1"))


def test_logout_token_without_sub_and_sid_or_jti_is_refused(fake_app, fake):
    _refused(fake_app, logout_token(fake, sub=None))
    _refused(fake_app, logout_token(fake, jti=None))


def test_logout_token_older_than_the_allowed_age_is_refused(fake_app, fake, caplog):
    now = int(time.time())
    old = logout_token(fake, iat=now - MAX_TOKEN_AGE - 60, exp=now + 120)  # not expired, just old
    _refused(fake_app, old, caplog, "logout token too old")
    with fake_app.app_context():
        assert db.session.scalar(select(LoginSession).where(LoginSession.ended_at.is_not(None))) is None
    # A token well within the allowed age still ends the session.
    client = signed_in(fake_app)
    recent = logout_token(fake, iat=now - MAX_TOKEN_AGE + 60)
    assert fake_app.test_client().post("/backchannel-logout", data={"logout_token": recent}).status_code == 200
    assert not still_signed_in(client)


@pytest.mark.parametrize("names", [{"sid": "provider-session-1", "sub": None}, {}], ids=["sid", "sub"])
def test_logout_token_of_another_issuer_leaves_sessions_of_this_issuer_alive(app_factory, fake, rsa_keys, names):
    """Issuer B (the staff provider here) names a sid or sub that belongs to a login at issuer A."""
    other = FakeProvider(rsa_keys[1]).start()
    try:
        app = app_factory(COMPANY_OIDC_ISSUER=fake.issuer, STAFF_OIDC_ISSUER=other.issuer)
        fake.claims = {"sid": "provider-session-1"}
        client = signed_in(app)
        other.subject = fake.subject
        foreign = logout_token(other, aud=app.config["STAFF_OIDC_CLIENT_ID"], **names)
        resp = app.test_client().post("/staff/backchannel-logout", data={"logout_token": foreign})
        assert resp.status_code == 200 and resp.get_json() == {"ended": 0}  # a valid token, for nobody here
        assert still_signed_in(client)
        # The same names from issuer A do end it.
        own = logout_token(fake, **names)
        assert app.test_client().post("/backchannel-logout", data={"logout_token": own}).get_json() == {"ended": 1}
        assert not still_signed_in(client)
    finally:
        other.stop()


def test_logout_token_from_the_future_or_unsigned_is_refused(fake_app, fake):
    _refused(fake_app, logout_token(fake, iat=int(time.time()) + 3600))
    header = {"alg": "none"}
    import base64

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": fake.issuer, "aud": CLIENT_ID, "iat": now, "jti": "x", "events": EVENT, "sub": fake.subject}
    _refused(fake_app, f"{b64(header)}.{b64(claims)}.")


def test_logout_redirects_to_the_providers_end_session_endpoint(fake_app, fake):
    fake.discovery = {"end_session_endpoint": fake.base + "/logout"}
    client = signed_in(fake_app)
    token = csrf_token(client.get("/").get_data(as_text=True))
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302
    target = urlsplit(resp.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == fake.base + "/logout"
    query = parse_qs(target.query)
    assert query["client_id"] == [CLIENT_ID] and query["post_logout_redirect_uri"] == ["http://localhost/"]
    assert client.get("/antraege").status_code == 302


def test_logout_without_end_session_endpoint_stays_in_the_portal(fake_app, fake):
    client = signed_in(fake_app)
    token = csrf_token(client.get("/").get_data(as_text=True))
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.headers["Location"] == "http://localhost/"


def test_failed_login_is_audited_without_secrets(fake_app, fake):
    fake.claims = {"aud": "someone-else"}
    resp, _client = company_login(fake_app)
    assert resp.status_code == 401
    with fake_app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login_failure"))
        assert event is not None and "aud" in event.detail
