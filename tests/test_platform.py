"""Health endpoints, schema/migration agreement, security headers, language switch, statistics."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bizportal.extensions import db


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["database"] == "ok"


def test_readyz_reports_unreachable_database(app_factory):
    from bizportal import create_app

    broken = create_app({"TESTING": True,
                         "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"})
    resp = broken.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["database"] == "unreachable"


def test_readyz_reports_a_schema_behind_the_migrations(tmp_path):
    """A node whose database was not upgraded (the rolling upgrade's first step was skipped) is not ready."""
    from flask_migrate import downgrade, upgrade

    from bizportal import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "behind.sqlite")})
    with app.app_context():
        upgrade(revision="head")
        assert app.test_client().get("/readyz").status_code == 200
        downgrade(revision="-1")
    resp = app.test_client().get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["migrations"] == "behind"
    assert body["migration_heads"]["database"] != body["migration_heads"]["code"]


def test_readyz_reports_missing_templates(app_factory, tmp_path):
    """An install without its templates answers every page with an error: /readyz must say so."""
    (tmp_path / "templates").mkdir()
    app = app_factory()
    app.jinja_loader.searchpath = [str(tmp_path / "templates")]
    resp = app.test_client().get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["templates"] == "missing"
    assert "catalog/index.html" in body["missing_templates"] or len(body["missing_templates"]) == 20


def test_migrations_produce_exactly_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == []


def test_security_headers_on_pages(client):
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_are_not_cached(client, login_as):
    login_as("anna.becker")
    assert client.get("/antraege").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_lax(client, login_as):
    resp = login_as("anna.becker")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_are_german_by_default_and_english_on_request(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="de"' in page and "Leistungen für Unternehmen" in page
    client.get("/sprache/en")
    resp = client.get("/")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Leistungen für Unternehmen" not in page
    assert "Business registration (Gewerbeanmeldung)" in page


def test_language_switch_does_not_redirect_off_site(client):
    resp = client.get("/sprache/en", headers={"Referer": "https://evil.example/"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/")
    assert "evil" not in resp.headers["Location"]


def test_every_page_has_a_unique_title(client):
    titles = set()
    for url in ["/", "/leistungen/gewerbeanmeldung", "/barrierefreiheit", "/leichte-sprache", "/impressum",
                "/datenschutz"]:
        html = client.get(url).get_data(as_text=True)
        titles.add(re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip())
    assert len(titles) == 6


def test_unknown_page_is_a_friendly_404(client):
    resp = client.get("/nicht-da")
    assert resp.status_code == 404 and "Diese Seite gibt es nicht" in resp.get_data(as_text=True)


def test_steering_dashboard_counts_without_personal_data(app, client, login_as):
    company = app.test_client()
    from tests.support.filing import VERSICHERUNGSVERMITTLER_FILES, file_service, versicherungsvermittler_answers
    from tests.support.http import login

    login(company, "lea.hansen")
    for _ in range(2):
        file_service(company, "versicherungsvermittler-34d", versicherungsvermittler_answers(),
                     files=VERSICHERUNGSVERMITTLER_FILES)
    login_as("steering", staff=True)
    resp = client.get("/staff/statistik")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert re.search(r'Eingereichte Anträge</th>\s*<td[^>]*>&lt; 5<', page)  # a small count: hidden
    assert "Handelskammer Hamburg" in page
    assert "Hansen" not in page and "Lea" not in page


def test_production_refuses_to_start_on_development_defaults(monkeypatch, tmp_path):
    import pytest as _pytest

    from bizportal.config import load_config

    monkeypatch.setenv("BIZPORTAL_ENV", "production")
    monkeypatch.setenv("BIZPORTAL_SECRET_KEY", "x" * 40)
    with _pytest.raises(RuntimeError, match="BIZPORTAL_DATABASE_URL"):
        load_config(str(tmp_path))
    for name, value in [("DATABASE_URL", "postgresql+psycopg://db/bizportal"),
                        ("COMPANY_OIDC_ISSUER", "https://login.example"), ("COMPANY_OIDC_CLIENT_SECRET", "s1"),
                        ("STAFF_OIDC_ISSUER", "https://staff.example"), ("STAFF_OIDC_CLIENT_SECRET", "s2"),
                        ("TRUSTED_HOSTS", "unternehmen.bremen.example.org"), ("RATE_LIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")]:
        monkeypatch.setenv("BIZPORTAL_" + name, value)
    with _pytest.raises(RuntimeError, match="BIZPORTAL_PORTAL_NAME"):  # the operator's identity (test_operator)
        load_config(str(tmp_path))
    from tests.support.identity import IDENTITY

    for name, value in IDENTITY.items():
        monkeypatch.setenv("BIZPORTAL_" + name, value)
    cfg = load_config(str(tmp_path))
    assert cfg["SESSION_COOKIE_SECURE"] is True and cfg["MAIL_BACKEND"] == "smtp"
    monkeypatch.setenv("BIZPORTAL_SECRET_KEY", "short")
    with _pytest.raises(RuntimeError, match="32 characters"):
        load_config(str(tmp_path))


def test_development_issuers_follow_the_development_provider_port(monkeypatch, tmp_path):
    from bizportal.config import load_config

    monkeypatch.setenv("BIZPORTAL_DEV_OIDC_PORT", "9401")
    cfg = load_config(str(tmp_path))
    assert cfg["COMPANY_OIDC_ISSUER"] == cfg["STAFF_OIDC_ISSUER"] == "http://127.0.0.1:9401"
    monkeypatch.setenv("BIZPORTAL_COMPANY_OIDC_ISSUER", "https://login.example")
    assert load_config(str(tmp_path))["COMPANY_OIDC_ISSUER"] == "https://login.example"


def test_the_development_server_on_an_unmigrated_database_says_what_to_run(tmp_path, monkeypatch):
    """`flask dev` on an empty database used to start and answer every login with a 500 ("no such
    table"); it now refuses at once and names the commands (found by a new-user trial)."""
    from bizportal import create_app

    monkeypatch.setenv("BIZPORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("BIZPORTAL_INSTANCE_PATH", str(tmp_path))
    app = create_app()
    result = app.test_cli_runner().invoke(args=["dev", "--port", "5999"])
    assert result.exit_code != 0
    assert "not at the current schema (it is empty)" in result.output
    assert "flask --app wsgi db upgrade head" in result.output and "bin/run" in result.output


def test_readiness_reads_the_migrations_heads_as_alembic_does(tmp_path):
    """``/readyz`` reads the heads from the migration files itself (no Alembic in a web worker):
    the same as Alembic's for the portal's migrations, and for a branched and merged history."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bizportal import resource_dir
    from bizportal.web import readiness

    def alembic_heads(directory: str) -> frozenset[str]:
        config = Config()
        config.set_main_option("script_location", directory)
        return frozenset(ScriptDirectory.from_config(config).get_heads())

    portal = str(resource_dir("migrations"))
    assert readiness.code_heads(portal) == alembic_heads(portal) and len(readiness.code_heads(portal)) == 1
    versions = tmp_path / "versions"
    versions.mkdir()
    (tmp_path / "script.py.mako").write_text("")
    history = {"a": "None", "b": "'a'", "c": "'a'", "d": "('b', 'c')", "e": "'d'", "f": "'d'"}
    for revision, down in history.items():
        (versions / f"{revision}_step.py").write_text(
            f"revision = '{revision}'\ndown_revision: str | None = {down}\n"
            "branch_labels = None\ndepends_on = None\n\ndef upgrade():\n    pass\n")
    readiness.code_heads.cache_clear()
    assert readiness.code_heads(str(tmp_path)) == alembic_heads(str(tmp_path)) == {"e", "f"}


def test_a_web_process_does_not_load_flask_migrate_until_the_db_commands_need_it(tmp_path):
    """Flask-Migrate brings Alembic and Mako (11 MB a worker): the portal's web app loads neither, and
    its ``/readyz`` answers from the files; the migrations then run through the same app."""
    import subprocess
    import sys

    probe = f"""
import sys
from bizportal import create_app
app = create_app({{"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / 'lazy.sqlite'}"}})
print("behind", app.test_client().get("/readyz").get_json()["migrations"])
print("loaded", sorted(m for m in ("flask_migrate", "alembic", "mako") if m in sys.modules))
from flask_migrate import upgrade
with app.app_context():
    upgrade(revision="head")
print("ready", app.test_client().get("/readyz").status_code)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert "behind behind" in out and "loaded []" in out and "ready 200" in out, out
