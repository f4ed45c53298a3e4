"""Company and staff login through the real provider, and the ways a login can fail."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from bizportal.auth.models import Company, LoginSession, Person, StaffUser
from bizportal.extensions import db
from tests.support.filing import start_draft
from tests.support.http import csrf_token, login, provider_login


def test_login_redirect_uses_pkce_s256_state_and_nonce(client):
    resp = client.get("/login")
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0] and query["state"][0] and query["nonce"][0]
    assert query["response_type"] == ["code"]


def test_company_login_creates_company_from_claims_and_colleague_joins_it(app, client):
    resp = login(client, "anna.becker")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/antraege")
    other = app.test_client()
    assert login(other, "jonas.weber").status_code == 302
    with app.app_context():
        company = db.session.scalar(select(Company))
        assert company.name == "Becker Elektrotechnik GmbH"
        assert company.postcode == "28195" and company.tax_number == "2475081508152"
        assert company.org_id == "demo-org-becker"
        persons = db.session.scalars(select(Person).order_by(Person.sub)).all()
        assert [p.sub for p in persons] == ["anna.becker", "jonas.weber"]
        assert {p.company_id for p in persons} == {company.id}
    page = client.get("/antraege").get_data(as_text=True)
    assert "Anna Becker" in page


def test_login_without_company_claim_is_refused_and_nothing_stored(app, client):
    resp = login(client, "someone-without-company@example.org")  # the provider knows no claims
    assert resp.status_code == 401
    assert "keinem Unternehmen zugeordnet" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 0
    assert client.get("/antraege").status_code == 302  # still not logged in


def test_denied_consent_ends_on_clear_page_without_session(client, caplog):
    start = client.get("/login")
    callback = provider_login(start.headers["Location"], "anna.becker", action="deny")
    parts = urlsplit(callback)
    with caplog.at_level(logging.WARNING):
        resp = client.get(f"{parts.path}?{parts.query}")
    assert resp.status_code == 401
    assert "abgebrochen oder abgelehnt" in resp.get_data(as_text=True)
    assert "access_denied" in caplog.text
    assert client.get("/antraege").status_code == 302


def test_callback_with_foreign_state_is_refused(client):
    start = client.get("/login")
    callback = provider_login(start.headers["Location"], "anna.becker")
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    resp = client.get(parts.path, query_string={"code": query["code"][0], "state": "forged-state"})
    assert resp.status_code == 401
    assert client.get("/antraege").status_code == 302


def test_replayed_callback_is_refused(client):
    start = client.get("/login")
    callback = provider_login(start.headers["Location"], "anna.becker")
    parts = urlsplit(callback)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    assert client.get(f"{parts.path}?{parts.query}").status_code == 401


def test_provider_down_gives_clear_page(app_factory):
    app = app_factory(COMPANY_OIDC_ISSUER="http://127.0.0.1:9", OIDC_TIMEOUT=2)
    resp = app.test_client().get("/login")
    assert resp.status_code == 503
    assert "nicht erreichbar" in resp.get_data(as_text=True)


def test_staff_login_takes_roles_and_chamber_from_claims(app, client):
    resp = login(client, "hwk.bremen", staff=True)
    assert resp.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(StaffUser))
        assert user.roles == ["chamber_staff"] and user.chamber.slug == "hwk-bremen"


def test_company_account_cannot_log_in_as_staff(app, client):
    resp = login(client, "anna.becker", staff=True)
    assert resp.status_code == 401
    assert "keine Berechtigung" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 0


def test_next_parameter_only_follows_local_paths(client):
    client.get("/login?next=https://evil.example/phish")
    start = client.get("/login?next=//evil.example/")
    callback = provider_login(start.headers["Location"], "anna.becker")
    parts = urlsplit(callback)
    resp = client.get(f"{parts.path}?{parts.query}")
    assert resp.headers["Location"].endswith("/antraege")


def test_login_then_back_to_requested_page(client):
    resp = client.get("/leistungen/gewerbeanmeldung/antrag")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    start = client.get(resp.headers["Location"])
    callback = provider_login(start.headers["Location"], "anna.becker")
    parts = urlsplit(callback)
    done = client.get(f"{parts.path}?{parts.query}")
    assert done.headers["Location"].endswith("/leistungen/gewerbeanmeldung/antrag")


def test_logout_needs_post_with_csrf_and_ends_session(client, login_as):
    login_as("anna.becker")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: refused
    assert client.get("/antraege").status_code == 200
    token = csrf_token(client.get("/antraege").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/antraege").status_code == 302


def test_behind_a_proxy_the_redirect_uri_is_the_public_https_one(app_factory):
    app = app_factory(PROXY_FIX_HOPS=1)
    resp = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https",
                                                     "X-Forwarded-Host": "portal.example"})
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    assert query["redirect_uri"] == ["https://portal.example/login/callback"]


def test_staff_roles_are_mapped_from_provider_values(app_factory, issuer):
    import requests

    claims = {"name": "Ole Map", "roles": ["lenkungskreis", "irgendwas"]}
    requests.put(f"{issuer}/users/ole.map", json=claims, timeout=5).raise_for_status()
    app = app_factory(STAFF_ROLE_MAPPING="lenkungskreis=steering, portal-admin=admin")
    client = app.test_client()
    assert login(client, "ole.map", staff=True).status_code == 302
    assert client.get("/staff/statistik").status_code == 200
    assert client.get("/staff/admin/protokoll").status_code == 403
    # Without a mapping for it, the provider's value gives no role at all.
    plain = app_factory()
    resp = login(plain.test_client(), "ole.map", staff=True)
    assert resp.status_code == 401


def provider_says(issuer: str, sub: str, claims: dict) -> None:
    """The real provider answers for ``sub`` with exactly these claims from now on."""
    requests.put(f"{issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()


def sent_to_login(resp, path: str = "/login") -> bool:
    return resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == path


def session_ends(app, user_key_prefix: str) -> set[str | None]:
    with app.app_context():
        return set(db.session.scalars(select(LoginSession.end_reason)
                                      .where(LoginSession.user_key.startswith(user_key_prefix))))


WANDA = {"name": "Wanda Wechsel", "org_id": "demo-org-alt", "org_name": "Alt Metallbau GmbH", "org_legal_form": "GmbH",
         "org_address": {"street_address": "Am Wall 1", "postal_code": "28195", "locality": "Bremen"},
         "acr": "http://eidas.europa.eu/LoA/substantial"}


def test_person_whose_provider_names_another_company_loses_the_old_companys_filings(app, issuer):
    """The account is not moved (support decides), and no open session keeps the old company's data."""
    provider_says(issuer, "wanda.wechsel", WANDA)
    desk = app.test_client()
    assert login(desk, "wanda.wechsel").status_code == 302
    draft = start_draft(desk, "gewerbeanmeldung")
    assert desk.get(draft).status_code == 200  # the old company's draft, open on the desk
    provider_says(issuer, "wanda.wechsel", {**WANDA, "org_id": "demo-org-neu-wechsel", "org_name": "Neu Bau AG"})

    laptop = app.test_client()
    resp = login(laptop, "wanda.wechsel")
    assert resp.status_code == 401
    assert "gehört laut Anmeldedienst zu einem anderen Unternehmen" in resp.get_data(as_text=True)
    for client in (laptop, desk):
        assert sent_to_login(client.get(draft))
        assert sent_to_login(client.get("/antraege"))
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == "wanda.wechsel"))
        assert person.company.org_id == "demo-org-alt"  # not moved
        assert db.session.scalar(select(Company).where(Company.org_id == "demo-org-neu-wechsel")) is None
    assert session_ends(app, "company:") == {"company_changed"}


@pytest.mark.parametrize("chamber", ["hwk-atlantis", None], ids=["unknown-slug", "no-chamber-claim"])
def test_chamber_staff_with_an_unknown_chamber_is_refused(app, client, issuer, chamber):
    provider_says(issuer, "kim.kammerlos", {"name": "Kim Kammerlos", "roles": ["chamber_staff"],
                                             **({"chamber": chamber} if chamber else {})})
    resp = login(client, "kim.kammerlos", staff=True)
    assert resp.status_code == 401
    assert "keiner bekannten Kammer oder Behörde zugeordnet" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StaffUser)) == 0
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert sent_to_login(client.get("/staff/posteingang"), "/staff/login")


@pytest.mark.parametrize("now,end_reason", [
    ({"roles": ["chamber_staff"], "chamber": "hwk-atlantis"}, "chamber_unknown"),
    ({"roles": []}, "role_withdrawn"),
], ids=["chamber-unknown-now", "no-role-now"])
def test_staff_whose_provider_withdraws_the_chamber_loses_the_open_inbox(app, issuer, now, end_reason):
    provider_says(issuer, "kim.kammer", {"name": "Kim Kammer", "roles": ["chamber_staff"], "chamber": "hwk-bremen"})
    desk = app.test_client()
    assert login(desk, "kim.kammer", staff=True).status_code == 302
    assert desk.get("/staff/posteingang").status_code == 200
    provider_says(issuer, "kim.kammer", {"name": "Kim Kammer", **now})

    laptop = app.test_client()
    assert login(laptop, "kim.kammer", staff=True).status_code == 401
    for client in (laptop, desk):
        assert sent_to_login(client.get("/staff/posteingang"), "/staff/login")
    assert session_ends(app, "staff:") == {end_reason}
