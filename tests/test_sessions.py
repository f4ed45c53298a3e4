"""Server-side sessions, timeouts and the audit log."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import select, update

from bizportal.audit.models import AuditEvent
from bizportal.auth.models import LoginSession
from bizportal.common.time import utcnow
from bizportal.extensions import db
from tests.support.http import csrf_token, login


def audit_actions(app) -> list[str]:
    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def cookie_of(client) -> str:
    return client.get_cookie("bizportal_session").value


def test_a_copied_cookie_stops_working_after_logout(app, client, login_as):
    login_as("anna.becker")
    stolen = cookie_of(client)
    token = csrf_token(client.get("/antraege").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    thief = app.test_client()
    thief.set_cookie("bizportal_session", stolen)
    resp = thief.get("/antraege")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_each_login_gets_a_new_server_session(app, client, login_as):
    login_as("anna.becker")
    first = cookie_of(client)
    login_as("anna.becker")
    assert cookie_of(client) != first
    with app.app_context():
        assert len(db.session.scalars(select(LoginSession)).all()) == 2


def test_idle_timeout_ends_the_session(app, client, login_as):
    login_as("anna.becker")
    assert client.get("/antraege").status_code == 200
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
        db.session.commit()
    resp = client.get("/antraege")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/antraege").status_code == 302  # and it stays ended
    with app.app_context():
        assert db.session.scalar(select(LoginSession.end_reason)) == "idle_timeout"


def test_activity_within_the_idle_limit_keeps_the_session(app, client, login_as):
    login_as("anna.becker")
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=29)))
        db.session.commit()
    assert client.get("/antraege").status_code == 200


def test_absolute_timeout_ends_an_active_session(app, client, login_as):
    login_as("hwk.bremen", staff=True)
    with app.app_context():
        db.session.execute(update(LoginSession).values(created_at=utcnow() - timedelta(hours=8, minutes=1)))
        db.session.commit()
    resp = client.get("/staff/posteingang")
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


def test_timeouts_are_configurable(app_factory):
    app = app_factory(SESSION_IDLE_MINUTES=5)
    client = app.test_client()
    login(client, "anna.becker")
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=6)))
        db.session.commit()
    assert client.get("/antraege").status_code == 302


def test_audit_records_login_logout_and_refusals(app, client, login_as):
    login_as("anna.becker")
    client.get("/staff/statistik")  # refused: 403
    token = csrf_token(client.get("/antraege").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    actions = audit_actions(app)
    assert actions[0] == "login_success" and "access_refused" in actions and actions[-1] == "logout"
    with app.app_context():
        refused = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "access_refused"))
        assert refused.target == "GET /staff/statistik" and refused.actor.startswith("company:")
        assert refused.remote_addr == "127.0.0.1"


def test_role_change_is_audited(app, client, login_as, issuer):
    login_as("steering", staff=True)
    # The staff provider now gives this person the admin role as well.
    claims = {"name": "Dr. Karin Vogt (Lenkungskreis)", "email": "k.vogt@lenkung.example",
              "roles": ["steering", "admin"]}
    assert requests.put(f"{issuer}/users/steering", json=claims, timeout=5).status_code in (200, 204)
    try:
        login_as("steering", staff=True)
        with app.app_context():
            change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "role_change"))
            assert change is not None and "admin" in change.detail
        assert client.get("/staff/admin/protokoll").status_code == 200
    finally:
        requests.put(f"{issuer}/users/steering", json={**claims, "roles": ["steering"]}, timeout=5)


def test_audit_log_is_for_admins_only(client, login_as):
    login_as("steering", staff=True)
    assert client.get("/staff/admin/protokoll").status_code == 403


def test_audit_never_stores_credentials(app):
    from bizportal.audit.services import record

    with app.test_request_context():
        record("login_failure", "anonymous", detail="token exchange failed: access_token=abc123")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent))
        assert "abc123" not in (event.detail or "")


def test_session_can_be_extended_before_the_idle_limit(app, client, login_as):
    login_as("anna.becker")
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=28)))
        db.session.commit()
    status = client.get("/sitzung")
    assert status.status_code == 200 and 0 < status.get_json()["seconds_left"] <= 120
    token = csrf_token(client.get("/unternehmen").get_data(as_text=True))
    assert client.post("/sitzung/verlaengern").status_code == 400  # CSRF needed
    extended = client.post("/sitzung/verlaengern", headers={"X-CSRFToken": token})
    assert extended.status_code == 200 and extended.get_json()["seconds_left"] > 29 * 60


def test_session_status_without_login(client):
    assert client.get("/sitzung").status_code == 401


def test_audit_blanks_jwts_and_assigned_secrets_but_keeps_the_reason(app):
    from bizportal.audit.services import _clean

    assert _clean("client_secret=s3cr3t token refused") == "client_secret=[withheld] token refused"
    assert "eyJhbGciOi" not in _clean("got eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl back")
    assert _clean("ID token rejected: aud wrong") == "ID token rejected: aud wrong"


def test_a_session_ended_elsewhere_is_refused_on_the_next_page(app, client, login_as):
    """Ended by another process (back-channel logout, an administrator) between two pages: the next
    page read of the login session sees it, however the request reads (no stale copy)."""
    login_as("anna.becker")
    assert client.get("/antraege").status_code == 200
    with app.app_context():
        db.session.execute(update(LoginSession).values(ended_at=utcnow(), end_reason="backchannel_logout"))
        db.session.commit()
    resp = client.get("/antraege")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/").status_code == 200 and client.get("/antraege").status_code == 302


def test_pages_that_change_nothing_keep_the_login_cookie_as_it_was(app, client, login_as):
    """The cookie is signed when the session changes, not for every page: the first page after the
    login adds the form token, the pages after it keep that cookie, a language switch writes a new one."""
    login_as("anna.becker")
    assert "bizportal_session=" in client.get("/antraege").headers.get("Set-Cookie", "")
    with_token = cookie_of(client)
    for path in ("/antraege", "/", "/antraege"):
        resp = client.get(path)
        assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    assert cookie_of(client) == with_token
    switched = client.get("/sprache/en", headers={"Referer": "/antraege"})
    assert "bizportal_session=" in switched.headers.get("Set-Cookie", "")
    assert client.get("/antraege").status_code == 200
