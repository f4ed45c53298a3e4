"""The operator's identity comes from configuration: header (with the official-website notice),
legal pages, receipts; production refuses to start without it; development says it is a demo."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bizportal.config import load_config
from bizportal.extensions import db
from bizportal.filings.models import FilingReceipt
from tests.support.filing import file_service, gewerbe_answers
from tests.support.http import login
from tests.support.identity import DEMO_WORDS, IDENTITY, PRODUCTION_BASE

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


@pytest.fixture
def logo(tmp_path):
    path = tmp_path / "wappen.svg"
    path.write_bytes(SVG)
    return path


@pytest.fixture
def operated(app_factory, logo):
    """The portal as a Land runs it: every identity setting given, production's header."""
    values = {k: v for k, v in IDENTITY.items() if k not in ("PUBLIC_BASE_URL", "LOGO")}
    return app_factory(**values, LOGO=str(logo), IMPRINT_REPRESENTATIVE="Staatsrat Dr. Beispiel",
                       IMPRINT_PHONE="0421 361-0", ENV_NAME="production")


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_header_and_legal_pages_show_the_configured_operator_and_no_demo_text(operated):
    client = operated.test_client()
    pages = {path: client.get(path) for path in ("/", "/impressum", "/datenschutz", "/barrierefreiheit")}
    for path, resp in pages.items():
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, path
        assert "Offizielle Website – Freie Hansestadt Bremen" in html, path
        assert 'class="kern-kopfzeile' in html
        assert "<title>" in html and "– Unternehmensportal Bremen</title>" in html
        assert '<img class="portal-brand__logo" src="/betreiber/logo" alt="">' in html
        for word in DEMO_WORDS:
            assert word not in html, (path, word)
    imprint = _visible(pages["/impressum"].get_data(as_text=True))
    assert IDENTITY["OPERATOR"] in imprint and "Staatsrat Dr. Beispiel" in imprint and "0421 361-0" in imprint
    assert IDENTITY["IMPRINT_EMAIL"] in imprint
    privacy = pages["/datenschutz"].get_data(as_text=True)
    assert IDENTITY["PRIVACY_CONTACT"] in privacy and f'href="mailto:{IDENTITY["PRIVACY_EMAIL"]}"' in privacy
    statement = pages["/barrierefreiheit"].get_data(as_text=True)
    assert f'href="mailto:{IDENTITY["ACCESSIBILITY_EMAIL"]}"' in statement
    assert "Die Senatorin für Wirtschaft" in statement


def test_the_logo_file_is_served_and_cannot_run_scripts(operated):
    resp = operated.test_client().get("/betreiber/logo")
    assert resp.status_code == 200 and resp.data == SVG
    assert resp.mimetype == "image/svg+xml"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_without_a_logo_file_the_logo_address_is_not_found(app):
    assert app.test_client().get("/betreiber/logo").status_code == 404


def test_development_says_clearly_that_it_is_a_demo(app):
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Demo-Installation – keine offizielle Website" in html
    assert "Offizielle Website" not in html
    assert "Unternehmensportal (Demo)" in html
    imprint = app.test_client().get("/impressum").get_data(as_text=True)
    assert "Demo-Betreiber" in imprint and "(Entwicklungsinstallation)" in imprint


def test_receipt_names_the_configured_portal_and_operator(operated):
    client = operated.test_client()
    assert login(client, "anna.becker").status_code == 302
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    with operated.app_context():
        stored = db.session.scalar(select(FilingReceipt))
        content = stored.content
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    text = " ".join(text.split())
    assert reference in text
    assert "Unternehmensportal Bremen – Freie Hansestadt Bremen" in text
    assert "Betreiber des Portals: Die Senatorin für Wirtschaft, Zweite Schlachtpforte 3, 28195 Bremen" in text
    assert "im Portal „Unternehmensportal Bremen“" in text
    assert IDENTITY["IMPRINT_EMAIL"] in text
    for word in DEMO_WORDS:
        assert word not in text


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("BIZPORTAL_ENV", "production")
    for name, value in [*PRODUCTION_BASE.items(), *IDENTITY.items()]:
        monkeypatch.setenv("BIZPORTAL_" + name, value)
    return monkeypatch


@pytest.mark.parametrize("missing", sorted(IDENTITY))
def test_production_refuses_to_start_without_each_identity_setting(production_env, tmp_path, missing):
    load_config(str(tmp_path))  # complete: starts
    production_env.delenv("BIZPORTAL_" + missing)
    with pytest.raises(RuntimeError, match="BIZPORTAL_" + missing):
        load_config(str(tmp_path))


def test_production_identity_has_no_demo_value(production_env, tmp_path):
    identity = load_config(str(tmp_path))["SETTINGS"].identity
    assert identity.demo is False and identity.logo_path == "/static/css/portal.css"
    for value in (identity.portal_name, identity.land, identity.operator, identity.privacy_contact):
        assert not any(word in value for word in DEMO_WORDS)


@pytest.mark.parametrize("logo,accepted", [
    ("https://unternehmen.bremen.example.org/static/css/portal.css", "/static/css/portal.css"),
    ("https://unternehmen.bremen.example.org/bilder/wappen.svg", "/bilder/wappen.svg"),  # served by the proxy
    ("/static/css/portal.css", "/static/css/portal.css"),
    ("/static/wappen.svg", None),  # the portal would answer 404: a broken logo on every page
    ("/static/../config.py", None),
    ("https://cdn.example.net/wappen.svg", None),
    ("//cdn.example.net/wappen.svg", None),
    ("wappen.svg", None),
])
def test_the_logo_must_be_a_file_or_on_the_portals_origin(production_env, tmp_path, logo, accepted):
    production_env.setenv("BIZPORTAL_LOGO", logo)
    if accepted is None:
        with pytest.raises(RuntimeError, match="BIZPORTAL_LOGO"):
            load_config(str(tmp_path))
    else:
        assert load_config(str(tmp_path))["SETTINGS"].identity.logo_path == accepted


def test_a_logo_file_of_another_type_is_refused(production_env, tmp_path):
    (tmp_path / "logo.exe").write_bytes(b"MZ")
    production_env.setenv("BIZPORTAL_LOGO", str(tmp_path / "logo.exe"))
    with pytest.raises(RuntimeError, match="BIZPORTAL_LOGO must be one of"):
        load_config(str(tmp_path))


@pytest.mark.parametrize("name,value", [("IMPRINT_EMAIL", "impressum at bremen"),
                                        ("MAIL_REPLY_TO", "Servicestelle <service>")])
def test_an_address_that_is_no_address_is_refused_at_start(production_env, tmp_path, name, value):
    production_env.setenv("BIZPORTAL_" + name, value)
    with pytest.raises(RuntimeError, match=f"BIZPORTAL_{name} is not an e-mail address"):
        load_config(str(tmp_path))
