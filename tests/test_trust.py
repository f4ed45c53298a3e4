"""Trust levels: a login below a service's level can browse it but not file it, and is told why."""

from __future__ import annotations

import requests
from sqlalchemy import select

from bizportal.auth.models import LoginSession
from bizportal.extensions import db
from tests.support.http import csrf_token

LOW_USER = {
    "name": "Tim Low", "email": "tim@low.example", "org_id": "demo-org-low", "org_name": "Low GmbH",
    "org_address": {"street_address": "Obernstraße 1", "postal_code": "28195", "locality": "Bremen"},
    "acr": "http://eidas.europa.eu/LoA/low",
}


def test_substantial_login_may_file(app, client, login_as):
    login_as("anna.becker")
    with app.app_context():
        assert db.session.scalar(select(LoginSession.trust_level)) == "substantial"
    assert client.get("/leistungen/gewerbeanmeldung/antrag").status_code == 200


def test_low_login_can_browse_but_not_file_and_is_told_why(app, client, login_as, issuer):
    requests.put(f"{issuer}/users/tim.low", json=LOW_USER, timeout=5).raise_for_status()
    login_as("tim.low")
    detail = client.get("/leistungen/gewerbeanmeldung")
    assert detail.status_code == 200 and "substanziell" in detail.get_data(as_text=True)
    resp = client.get("/leistungen/gewerbeanmeldung/antrag")
    assert resp.status_code == 403
    text = resp.get_data(as_text=True)
    assert "Vertrauensniveau „substanziell“" in text and "„niedrig“" in text
    token = csrf_token(client.get("/antraege").get_data(as_text=True))
    assert client.post("/leistungen/gewerbeanmeldung/antrag", data={"csrf_token": token}).status_code == 403
    # A service without a required level stays open to this login.
    assert client.get("/leistungen/handwerksrolle-eintragung/antrag").status_code == 200


def test_unknown_acr_counts_as_no_level(app):
    from bizportal.auth.trust import level_from_acr, meets

    with app.app_context():
        assert level_from_acr("urn:something:else") == "none"
        assert level_from_acr(None) == "none"
        assert level_from_acr("http://eidas.europa.eu/LoA/high") == "high"
    assert meets("high", "substantial") and not meets("low", "substantial") and meets("none", None)


def test_acr_mapping_is_configurable():
    from bizportal.auth.trust import parse_mapping

    assert parse_mapping("urn:x:stufe2=substantial, urn:x:stufe3=high") == {
        "urn:x:stufe2": "substantial", "urn:x:stufe3": "high"}
