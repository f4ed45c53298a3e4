"""RP-initiated logout, back-channel logout and the audit of failed logins."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

from joserfc import jws
from joserfc.jwk import RSAKey
from sqlalchemy import select

from bizportal.audit.models import AuditEvent
from bizportal.auth.models import LoginSession
from bizportal.extensions import db
from tests.auth.conftest import company_login
from tests.auth.fake_provider import CLIENT_ID
from tests.conftest import csrf_token

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


def _refused(fake_app, token) -> None:
    client = signed_in(fake_app)
    resp = fake_app.test_client().post("/backchannel-logout", data={"logout_token": token})
    assert resp.status_code == 400
    follow = client.get("/antraege")
    assert follow.status_code == 200 or "/unternehmen/pruefen" in follow.headers["Location"]  # still signed in


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


def test_logout_token_from_the_future_or_unsigned_is_refused(fake_app, fake):
    _refused(fake_app, logout_token(fake, iat=int(time.time()) + 3600))
    header = {"alg": "none"}
    import base64

    def b64(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    now = int(time.time())
    _refused(fake_app, f"{b64(header)}.{b64({'iss': fake.issuer, 'aud': CLIENT_ID, 'iat': now, 'jti': 'x', 'events': EVENT, 'sub': fake.subject})}.")


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
