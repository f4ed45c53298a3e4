"""The company workspace: provider data reviewed before use, contact details, shared by colleagues."""

from __future__ import annotations

import requests
from sqlalchemy import select

from bizportal.auth.models import Company
from bizportal.extensions import db
from tests.support.filing import gewerbe_answers, start_draft
from tests.support.http import csrf_token, login

NEW_COMPANY = {
    "name": "Mia Neu", "email": "mia@neu.example", "org_id": "demo-org-neu", "org_name": "Neu Bau GmbH",
    "org_legal_form": "GmbH",
    "org_address": {"street_address": "Faulenstraße 2", "postal_code": "28195", "locality": "Bremen"},
    "acr": "http://eidas.europa.eu/LoA/substantial",
}


def test_first_login_reviews_provider_data_before_use(app, client, issuer):
    requests.put(f"{issuer}/users/mia.neu", json=NEW_COMPANY, timeout=5).raise_for_status()
    login(client, "mia.neu", confirm=False)
    resp = client.get("/leistungen/gewerbeanmeldung/antrag")
    assert resp.status_code == 302 and "/unternehmen/pruefen" in resp.headers["Location"]
    review = client.get(resp.headers["Location"])
    html = review.get_data(as_text=True)
    assert "Neu Bau GmbH" in html and "Faulenstraße 2" in html and "vom Anmeldedienst" in html
    bad = client.post(resp.headers["Location"],
                      data={"csrf_token": csrf_token(html), "notification_email": "kein-mail"})
    assert bad.status_code == 422 and "gültige E-Mail-Adresse" in bad.get_data(as_text=True)
    ok = client.post(resp.headers["Location"], data={"csrf_token": csrf_token(html), "phone": "0421 1234567",
                                                     "notification_email": "post@neubau.example"})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/leistungen/gewerbeanmeldung/antrag")
    assert client.get("/leistungen/gewerbeanmeldung/antrag").status_code == 200
    with app.app_context():
        company = db.session.scalar(select(Company).where(Company.org_id == "demo-org-neu"))
        assert company.phone == "0421 1234567" and company.notification_email == "post@neubau.example"


def test_changed_provider_data_are_reviewed_again(app, client, issuer):
    requests.put(f"{issuer}/users/mia.neu", json=NEW_COMPANY, timeout=5).raise_for_status()
    login(client, "mia.neu")
    assert client.get("/antraege").status_code == 200
    moved = {**NEW_COMPANY, "org_address": {"street_address": "Schlachte 5", "postal_code": "28195",
                                            "locality": "Bremen"}}
    requests.put(f"{issuer}/users/mia.neu", json=moved, timeout=5).raise_for_status()
    login(client, "mia.neu", confirm=False)
    resp = client.get("/antraege")
    assert resp.status_code == 302 and "/unternehmen/pruefen" in resp.headers["Location"]
    html = client.get("/unternehmen/pruefen").get_data(as_text=True)
    assert "Schlachte 5" in html and "seit der letzten Prüfung geändert" in html


def test_contact_details_can_be_changed_and_notifications_use_them(app, client, login_as):
    login_as("anna.becker")
    page = client.get("/unternehmen").get_data(as_text=True)
    client.post("/unternehmen", data={"csrf_token": csrf_token(page), "notification_email": "antraege@becker.example"})
    from pathlib import Path

    from bizportal.delivery.worker import Worker
    from tests.support.filing import file_service

    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    Worker(app).run_once()  # sends the queued mails
    mails = [p.read_text(errors="replace") for p in Path(app.config["MAIL_FOLDER"]).glob("*.eml")]
    assert any(reference in m and "To: antraege@becker.example" in m for m in mails)


def test_review_is_shared_by_the_company(app, client, login_as):
    login_as("anna.becker")  # confirms for the company
    colleague = app.test_client()
    login(colleague, "jonas.weber", confirm=False)
    assert colleague.get("/antraege").status_code == 200
    assert start_draft(colleague, "gewerbeanmeldung")
