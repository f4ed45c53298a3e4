"""``flask dev`` (what ``bin/run`` starts) on ports other than the defaults: the issuers, the public
base URL and the session cookie follow the ports, the banner says what is used, and a person
logs in through its own provider."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.support.http import provider_login
from tests.support.receivers.loopback import closed_port

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIZPORTAL_")}
    env.update(BIZPORTAL_INSTANCE_PATH=str(tmp_path), PYTHONUNBUFFERED="1", **extra)
    return env


def _flask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)


def _banner(proc: subprocess.Popen, until: str, timeout: float = 60) -> str:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if until in line:
            return "".join(lines)
    raise AssertionError("no banner: " + "".join(lines))


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} does not answer")


def test_a_second_instance_on_other_ports_logs_in_through_its_own_provider(tmp_path):
    web, oidc = closed_port(), closed_port()
    env = _env(tmp_path, BIZPORTAL_DEV_OIDC_PORT=str(oidc))
    _flask("db", "upgrade", "head", env=env)
    _flask("demo-data", env=env)
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "dev", "--port", str(web)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = _banner(proc, "demo staff logins")
        base, provider = f"http://127.0.0.1:{web}", f"http://127.0.0.1:{oidc}"
        assert f"bizportal:              {base}/ (listening on 127.0.0.1:{web})" in banner
        assert f"development login:      {provider}" in banner
        assert f"company issuer:         {provider}\n" in banner and f"staff issuer:           {provider}\n" in banner
        assert f"session cookie:         bizportal_session_{web}" in banner
        assert "9400" not in banner and ":5000" not in banner
        _wait(base + "/healthz")

        browser = requests.Session()
        start = browser.get(base + "/staff/login", allow_redirects=False, timeout=10)
        assert start.status_code == 302 and start.headers["Location"].startswith(provider + "/")
        callback = provider_login(start.headers["Location"], "admin")
        assert callback.startswith(base + "/")
        done = browser.get(callback, allow_redirects=False, timeout=10)
        assert done.status_code == 302, done.text[:500]
        assert f"bizportal_session_{web}" in browser.cookies.get_dict()
        page = browser.get(base + "/staff/admin/kammern", timeout=10)
        assert page.status_code == 200 and "Handelskammer Bremen" in page.text
        assert "Demo-Installation – keine offizielle Website" in page.text
    finally:
        proc.terminate()
        proc.wait(10)


def test_explicit_settings_win_over_the_derived_ones(tmp_path):
    env = _env(tmp_path, BIZPORTAL_DEV_OIDC_PORT=str(closed_port()), BIZPORTAL_PUBLIC_BASE_URL="https://dev.example.org",
               BIZPORTAL_STAFF_OIDC_ISSUER="https://login.example.org")
    _flask("db", "upgrade", "head", env=env)
    web = closed_port()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "dev", "--port", str(web)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = _banner(proc, "demo staff logins")
        assert f"bizportal:              https://dev.example.org/ (listening on 127.0.0.1:{web})" in banner
        assert "staff issuer:           https://login.example.org (set explicitly; not the development provider)" \
            in banner
        assert urlsplit(banner.split("company issuer:", 1)[1].split()[0]).hostname == "127.0.0.1"
    finally:
        proc.terminate()
        proc.wait(10)
