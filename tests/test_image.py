"""The container image is the portal: run with podman, it upgrades its database, serves pages as a
non-root user and runs a delivery worker.

Opt-in: building the image takes minutes and needs podman, so the suite runs this only when
``BIZPORTAL_TEST_IMAGE`` names an image built from this checkout (docs/deployment.md, "Container
image"), with PostgreSQL from ``BIZPORTAL_TEST_DATABASE_URL``. ``BIZPORTAL_PODMAN`` is the podman
command line (default ``podman``; a host without cgroup v2, like the project's CI machine, needs
``podman --runtime runc --cgroup-manager cgroupfs``). The containers share the host's network, so the
test's login provider and database on loopback are theirs too.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
import uuid

import pytest
import requests

from tests.support.http import http_login

IMAGE = os.environ.get("BIZPORTAL_TEST_IMAGE", "")
PODMAN = shlex.split(os.environ.get("BIZPORTAL_PODMAN", "podman"))

pytestmark = [
    pytest.mark.skipif(not IMAGE, reason="BIZPORTAL_TEST_IMAGE names no image (opt-in, see the module)"),
    pytest.mark.postgres_only,
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _production(database_url: str, issuer: str, base: str) -> dict[str, str]:
    return {
        "BIZPORTAL_DATABASE_URL": database_url,
        "BIZPORTAL_SECRET_KEY": uuid.uuid4().hex * 2,
        "BIZPORTAL_COMPANY_OIDC_ISSUER": issuer, "BIZPORTAL_COMPANY_OIDC_CLIENT_SECRET": "s1",
        "BIZPORTAL_STAFF_OIDC_ISSUER": issuer, "BIZPORTAL_STAFF_OIDC_CLIENT_SECRET": "s2",
        "BIZPORTAL_TRUSTED_HOSTS": "127.0.0.1", "BIZPORTAL_PUBLIC_BASE_URL": base,
        "BIZPORTAL_RATE_LIMIT_STORAGE_URI": "memory://",
        "BIZPORTAL_PORTAL_NAME": "Unternehmensportal Bremen", "BIZPORTAL_LAND": "Freie Hansestadt Bremen",
        "BIZPORTAL_LOGO": "/static/css/portal.css", "BIZPORTAL_OPERATOR": "Die Senatorin für Wirtschaft, Bremen",
        "BIZPORTAL_IMPRINT_EMAIL": "impressum@example.org", "BIZPORTAL_PRIVACY_CONTACT": "Datenschutz, Bremen",
        "BIZPORTAL_PRIVACY_EMAIL": "datenschutz@example.org",
        "BIZPORTAL_ACCESSIBILITY_EMAIL": "barrierefrei@example.org",
        "BIZPORTAL_MAIL_FROM": "portal@example.org", "BIZPORTAL_MAIL_REPLY_TO": "service@example.org",
        "BIZPORTAL_SMTP_HOST": "127.0.0.1", "AUTHLIB_INSECURE_TRANSPORT": "1",
    }


def _run(env: dict[str, str], *command: str, detach: bool = False, name: str = "") -> subprocess.CompletedProcess:
    args = [*PODMAN, "run", "--network=host"]
    args += ["-d", "--name", name] if detach else ["--rm"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    return subprocess.run([*args, IMAGE, *command], capture_output=True, text=True, timeout=300)


def _wait_ready(base: str) -> requests.Response:
    deadline = time.monotonic() + 90
    while True:
        try:
            return requests.get(base + "/readyz", headers={"Host": "127.0.0.1"}, timeout=10)
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def containers():
    names: list[str] = []
    yield names
    for name in names:
        subprocess.run([*PODMAN, "rm", "-f", name], capture_output=True, timeout=120)


def test_the_image_upgrades_serves_as_non_root_and_delivers(database_url, issuer, containers):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _production(database_url.replace("postgresql://", "postgresql+psycopg://"), issuer, base)

    upgrade = _run(env, "flask", "--app", "bizportal:create_app()", "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]

    suffix = uuid.uuid4().hex[:8]
    web, worker = f"bizportal-web-{suffix}", f"bizportal-worker-{suffix}"
    containers += [web, worker]
    started = _run({**env, "GUNICORN_CMD_ARGS": f"--bind=127.0.0.1:{port}"}, detach=True, name=web)
    assert started.returncode == 0, started.stderr
    started = _run(env, "flask", "--app", "bizportal:create_app()", "worker", detach=True, name=worker)
    assert started.returncode == 0, started.stderr

    ready = _wait_ready(base)
    assert ready.status_code == 200, ready.text
    assert ready.json()["migrations"] == "current" and ready.json()["templates"] == "ok"
    catalog = requests.get(base + "/", headers={"Host": "127.0.0.1"}, timeout=10)
    assert catalog.status_code == 200 and "Gewerbeanmeldung" in catalog.text
    assert "Unternehmensportal Bremen" in catalog.text  # the operator's identity, not the demo's
    assert requests.get(base + "/static/vendor/kern/kern.min.css", timeout=10).status_code == 200
    assert requests.get(base + "/", headers={"Host": "evil.example"}, timeout=10).status_code == 400

    whoami = subprocess.run([*PODMAN, "exec", web, "id", "-u"], capture_output=True, text=True, timeout=60)
    assert whoami.stdout.strip() not in ("", "0"), whoami.stdout + whoami.stderr
    time.sleep(3)
    state = subprocess.run([*PODMAN, "inspect", "-f", "{{.State.Running}}", worker], capture_output=True,
                           text=True, timeout=60)
    logs = subprocess.run([*PODMAN, "logs", worker], capture_output=True, text=True, timeout=60)
    assert state.stdout.strip() == "true", logs.stdout + logs.stderr
    assert "delivery worker" in logs.stdout + logs.stderr


def test_the_image_serves_a_signed_in_page(database_url, issuer, containers):
    """Production's session cookie is ``__Host-`` and Secure, which a client sends only over HTTPS;
    this test has no TLS in front, so it signs in against the image in development mode."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"BIZPORTAL_ENV": "development",
           "BIZPORTAL_DATABASE_URL": database_url.replace("postgresql://", "postgresql+psycopg://"),
           "BIZPORTAL_COMPANY_OIDC_ISSUER": issuer, "BIZPORTAL_STAFF_OIDC_ISSUER": issuer,
           "BIZPORTAL_PUBLIC_BASE_URL": base, "AUTHLIB_INSECURE_TRANSPORT": "1"}
    upgrade = _run(env, "flask", "--app", "bizportal:create_app()", "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    web = f"bizportal-web-{uuid.uuid4().hex[:8]}"
    containers.append(web)
    started = _run({**env, "GUNICORN_CMD_ARGS": f"--bind=127.0.0.1:{port}"}, detach=True, name=web)
    assert started.returncode == 0, started.stderr
    assert _wait_ready(base).status_code == 200

    company = http_login(base, "anna.becker")
    mine = company.get("/antraege")
    assert mine.status_code == 200 and "Meine Anträge" in mine.get_data()
