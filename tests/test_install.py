"""The wheel is the portal: built from this checkout, installed into a fresh environment outside
it, it upgrades its database and serves the catalog and a signed-in page with gunicorn."""

from __future__ import annotations

import os
import site
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from tests.support.http import http_login

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # As an operator would after bin/setup: the source distribution, and the wheel built from it.
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, cwd=out, timeout=300, capture_output=True)
    (built,) = out.glob("bizportal-*.whl")
    return built


def test_the_wheel_carries_every_file_the_portal_needs_at_run_time(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for tracked in ["templates/base.html", "templates/catalog/index.html", "migrations/alembic.ini",
                    "migrations/env.py", "migrations/script.py.mako"]:
        assert f"bizportal/{tracked}" in names, tracked
    for version in (ROOT / "migrations" / "versions").glob("*.py"):
        assert f"bizportal/migrations/versions/{version.name}" in names, version.name
    tracked = subprocess.run(["git", "ls-files", "bizportal"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert tracked, "git ls-files lists the package"
    missing = [path for path in tracked if path not in names]  # service and bundle definitions, data, assets
    assert missing == [], missing
    assert "bizportal/translations/en/LC_MESSAGES/messages.mo" in names
    assert any(n.startswith("bizportal/static/vendor/kern/") and n.endswith(".css") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_the_source_distribution_carries_the_deployment_files(wheel):
    import tarfile

    (sdist,) = wheel.parent.glob("bizportal-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for path in ["gunicorn.conf.py", "deploy/Containerfile", "deploy/nginx.conf", "deploy/compose.yaml",
                 "deploy/systemd/bizportal-web@.service", "deploy/systemd/bizportal-worker@.service",
                 "deploy/systemd/bizportal-migrate.service", "bizportal/catalog/bundles/betrieb-gruenden.toml"]:
        assert path in names, path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh virtualenv with the wheel installed. Its dependencies come from this checkout's
    environment (a path entry, so no network is needed), but not the portal itself."""
    home = tmp_path_factory.mktemp("install")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    target = next(venv.glob("lib/python*/site-packages"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, timeout=300)
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (target / "zz_dependencies.pth").write_text("\n".join(deps) + "\n")
    return venv


def _env(home: Path, issuer: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIZPORTAL_", "COV", "PYTHON"))}
    env.update({
        "BIZPORTAL_DATABASE_URL": "sqlite:///" + str(home / "portal.sqlite"),
        "BIZPORTAL_INSTANCE_PATH": str(home / "instance"),
        "BIZPORTAL_COMPANY_OIDC_ISSUER": issuer, "BIZPORTAL_STAFF_OIDC_ISSUER": issuer,
        "AUTHLIB_INSECURE_TRANSPORT": "1",
    })
    return env


def test_the_installed_wheel_upgrades_its_database_and_serves_pages(installed, issuer, tmp_path):
    python = str(installed / "bin" / "python")
    env = _env(tmp_path, issuer)
    where = subprocess.run([python, "-c", "import bizportal; print(bizportal.__file__)"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(installed)), f"imported {where}, not the installed wheel"

    upgrade = subprocess.run([python, "-m", "flask", "--app", "bizportal:create_app()", "db", "upgrade"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([python, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                               "bizportal:create_app()"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline:
            try:
                ready = requests.get(base + "/readyz", timeout=10)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, ready.text if ready is not None else "no answer"
        assert ready.json()["migrations"] == "current" and ready.json()["templates"] == "ok"

        catalog = requests.get(base + "/", timeout=10)
        assert catalog.status_code == 200 and "Gewerbeanmeldung" in catalog.text
        assert "Betrieb gründen" in catalog.text  # the life-event bundles, read from the installed package
        stylesheet = next(line.split('href="')[1].split('"')[0] for line in catalog.text.splitlines()
                          if 'rel="stylesheet"' in line and "/static/" in line)
        assert requests.get(base + stylesheet, timeout=10).status_code == 200

        english = requests.Session()
        english.get(base + "/sprache/en", timeout=10)
        assert '<html lang="en"' in english.get(base + "/", timeout=10).text  # the compiled translations

        company = http_login(base, "anna.becker")
        mine = company.get("/antraege")
        assert mine.status_code == 200 and "Meine Anträge" in mine.get_data()
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "TemplateNotFound" not in errors and "Traceback" not in errors, errors[-3000:]
