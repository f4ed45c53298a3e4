"""API clients: created, rotated and revoked by admins; tokens from the client-credentials grant."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from bizportal.api.models import ApiClient, ApiToken
from bizportal.audit.models import AuditEvent
from bizportal.extensions import db
from tests.support.api import bearer, make_client, token
from tests.support.http import csrf_token


def _create_on_page(client, **fields):
    page = client.get("/staff/admin/api-zugaenge").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "chamber": "hwk-bremen", "name": "Handwerksrolle", "scope_read": "y",
            **fields}
    return client.post("/staff/admin/api-zugaenge", data=data)


def test_admin_creates_a_client_and_sees_the_secret_once(app, client, login_as):
    login_as("admin", staff=True)
    resp = _create_on_page(client, scope_write="y")
    assert resp.status_code == 201
    html = resp.get_data(as_text=True)
    client_id = re.search(r'id="client-id">([^<]+)<', html).group(1)
    secret = re.search(r'id="client-secret">([^<]+)<', html).group(1)
    listing = client.get("/staff/admin/api-zugaenge").get_data(as_text=True)
    assert client_id in listing and secret not in listing
    with app.app_context():
        stored = db.session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
        assert stored.chamber.slug == "hwk-bremen" and stored.scopes == ["filings:read", "filings:write"]
        assert secret not in stored.secret_hash and stored.secret_hash.startswith("scrypt:")
        assert db.session.scalar(select(AuditEvent.actor).where(AuditEvent.action == "api_client.created")) \
            .startswith("staff:")
    resp = app.test_client().post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                                  auth=(client_id, secret))
    assert resp.status_code == 200 and resp.get_json()["scope"] == "filings:read filings:write"


def test_a_client_needs_a_name_and_a_scope(client, login_as):
    login_as("admin", staff=True)
    resp = _create_on_page(client, name="", scope_read="")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Bitte geben Sie eine Bezeichnung ein." in html and "mindestens eine Berechtigung" in html


def test_chamber_staff_cannot_open_the_client_pages(client, login_as):
    login_as("hwk.bremen", staff=True)
    assert client.get("/staff/admin/api-zugaenge").status_code == 403


def test_token_is_stored_only_as_a_hash_and_expires(app, client):
    creds = make_client(app, "hwk-bremen")
    access = token(client, creds)
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert access not in (row.token_sha256, row.scope) and len(row.token_sha256) == 64
        assert (row.expires_at - row.issued_at) == timedelta(seconds=600)
    assert client.get("/api/v1/filings", headers=bearer(access)).status_code == 200
    with app.app_context():
        db.session.execute(update(ApiToken).values(expires_at=ApiToken.issued_at))
        db.session.commit()
    resp = client.get("/api/v1/filings", headers=bearer(access))
    assert resp.status_code == 401 and resp.content_type == "application/problem+json"
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_wrong_secret_unknown_client_and_foreign_scope_are_refused(app, client):
    creds = make_client(app, "hwk-bremen", scopes=("filings:read",))
    wrong = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                        auth=(creds.client_id, "not-the-secret"))
    assert wrong.status_code == 401 and wrong.content_type == "application/problem+json"
    assert wrong.get_json()["error"] == "invalid_client"
    unknown = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=("nobody", "x"))
    assert unknown.status_code == 401
    scope = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials", "scope": "filings:write"},
                        auth=(creds.client_id, creds.secret))
    assert scope.status_code == 400 and scope.get_json()["error"] == "invalid_scope"
    grant = client.post("/api/v1/oauth/token", data={"grant_type": "password"}, auth=(creds.client_id, creds.secret))
    assert grant.status_code == 400 and grant.get_json()["error"] == "unsupported_grant_type"


def test_rotation_replaces_the_secret_and_ends_old_tokens(app, client, login_as):
    creds = make_client(app, "hwk-bremen")
    old_token = token(client, creds)
    login_as("admin", staff=True)
    page = client.get("/staff/admin/api-zugaenge").get_data(as_text=True)
    resp = client.post(f"/staff/admin/api-zugaenge/{creds.pk}/erneuern", data={"csrf_token": csrf_token(page)})
    assert resp.status_code == 200
    new_secret = re.search(r'id="client-secret">([^<]+)<', resp.get_data(as_text=True)).group(1)
    machine = app.test_client()
    assert machine.get("/api/v1/filings", headers=bearer(old_token)).status_code == 401
    token(machine, creds, expect=401)  # the old secret
    new_token = token(machine, type(creds)(creds.client_id, new_secret, creds.pk))
    assert machine.get("/api/v1/filings", headers=bearer(new_token)).status_code == 200


def test_revoked_client_gets_no_token_and_its_tokens_stop(app, client, login_as):
    creds = make_client(app, "hwk-bremen")
    access = token(client, creds)
    login_as("admin", staff=True)
    page = client.get("/staff/admin/api-zugaenge").get_data(as_text=True)
    resp = client.post(f"/staff/admin/api-zugaenge/{creds.pk}/sperren", data={"csrf_token": csrf_token(page)},
                       follow_redirects=True)
    assert "ist gesperrt" in resp.get_data(as_text=True)
    machine = app.test_client()
    assert machine.get("/api/v1/filings", headers=bearer(access)).status_code == 401
    token(machine, creds, expect=401)
    with app.app_context():
        kinds = set(db.session.scalars(select(AuditEvent.action)))
    assert "api_client.revoked" in kinds


def test_client_pages_refuse_a_post_without_csrf_token(app, client, login_as):
    creds = make_client(app, "hwk-bremen")
    login_as("admin", staff=True)
    assert client.post(f"/staff/admin/api-zugaenge/{creds.pk}/sperren").status_code == 400
    with app.app_context():
        assert db.session.get(ApiClient, creds.pk).revoked_at is None


def test_a_client_for_a_chamber_that_gets_filings_another_way_is_told_its_feed_stays_empty(app, client, login_as):
    from tests.support.factories import set_adapter

    login_as("admin", staff=True)
    assert 'id="feed-hint"' not in _create_on_page(client).get_data(as_text=True)  # hwk-bremen: the inbox
    set_adapter(app, "hwk-bremen", "webhook", {"url": "https://hwk.example/in", "secret": "s" * 20})
    html = _create_on_page(client, name="Zweites System").get_data(as_text=True)
    assert 'id="feed-hint"' in html and "webhook" in html


def test_a_new_secret_never_starts_with_a_dash(monkeypatch):
    # a secret "-abc…" reads as an option on a command line (the example client's argparse refused one in CI)
    from bizportal.api import clients

    drawn = iter(["-starts-with-a-dash", "fine-secret"])
    monkeypatch.setattr(clients.secrets, "token_urlsafe", lambda n: next(drawn))
    assert clients._new_secret() == "fine-secret"
