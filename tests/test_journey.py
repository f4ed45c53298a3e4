"""The whole way of one filing, over real HTTP against the real login provider."""

from __future__ import annotations

import json
import re

import pytest
import requests

from bizportal.common.logs import JsonFormatter
from bizportal.delivery.worker import Worker
from tests.support.filing import file_service, gewerbe_answers, start_draft
from tests.support.http import csrf_token, provider_login


def browser_login(base: str, path: str, sub: str) -> requests.Session:
    """A fresh browser session that logs in through the provider, as a person would."""
    s = requests.Session()
    start = s.get(base + path, allow_redirects=False, timeout=10)
    assert start.status_code == 302
    callback = provider_login(start.headers["Location"], sub)
    done = s.get(callback, timeout=10)
    assert done.status_code == 200, done.text[:500]
    return s


class _Response:
    """The bits of a Flask test response that the filing helpers use, for a requests response."""

    def __init__(self, resp):
        self.status_code = resp.status_code
        self.headers = resp.headers
        self._text = resp.text

    def get_data(self, as_text=False):
        return self._text


class _Adapter:
    """Lets the filing helpers (written for the Flask test client) drive a real HTTP session."""

    def __init__(self, session: requests.Session, base: str):
        self.session, self.base = session, base

    def get(self, path):
        return _Response(self.session.get(self.base + path, allow_redirects=False, timeout=10))

    def post(self, path, data=None, content_type=None):
        files = {k: v for k, v in (data or {}).items() if isinstance(v, tuple)}
        fields = {k: v for k, v in (data or {}).items() if not isinstance(v, tuple)}
        files = {k: (name, stream) for k, (stream, name) in files.items()} or None
        return _Response(self.session.post(self.base + path, data=fields, files=files, allow_redirects=False,
                                           timeout=10))


def test_company_files_gewerbeanmeldung_and_each_body_sees_only_its_own(app, live_server):
    base = live_server

    # A company person logs in and opens the service from the catalog.
    company = browser_login(base, "/login", "anna.becker")
    # First login: the person reviews the company data taken from the provider and adds an address.
    review = company.get(base + "/antraege", timeout=10)
    assert review.url.startswith(base + "/unternehmen/pruefen")
    assert "Becker Elektrotechnik GmbH" in review.text and "vom Anmeldedienst" in review.text
    confirmed = company.post(review.url, data={"csrf_token": csrf_token(review.text),
                                               "notification_email": "antraege@becker-elektro.example"}, timeout=10)
    assert confirmed.url == base + "/antraege"
    catalog = company.get(base + "/", timeout=10).text
    assert "Gewerbeanmeldung" in catalog and "Handwerksrolle" in catalog
    path = start_draft(company_client := _Adapter(company, base), "gewerbeanmeldung")
    html = company.get(base + path, timeout=10).text
    assert 'value="Becker Elektrotechnik GmbH"' in html  # prefilled from the company account
    assert 'value="GmbH"' in html

    # Submit a crafts business: Gewerbeamt Bremen gets it, the HWK Bremen a copy.
    reference = file_service(company_client, "gewerbeanmeldung",
                             gewerbe_answers(activity="Elektroinstallation in Gebäuden"))
    resp = company.get(base + f"/antraege/{reference}", timeout=10)
    assert resp.status_code == 200
    assert "Gewerbeamt Bremen" in resp.text and "Handwerkskammer Bremen" in resp.text

    # Before the worker runs, no inbox has it.
    hwk = browser_login(base, "/staff/login", "hwk.bremen")
    inbox = hwk.get(base + "/staff/posteingang", allow_redirects=False, timeout=10)
    assert inbox.status_code == 200
    assert reference not in inbox.text

    assert Worker(app).run_once() == 2

    # The Gewerbeamt and the HWK see it; the Handelskammer does not, not even by id.
    gewerbeamt = browser_login(base, "/staff/login", "gewerbeamt.bremen")
    assert reference in gewerbeamt.get(base + "/staff/posteingang", timeout=10).text
    hwk_inbox = hwk.get(base + "/staff/posteingang", timeout=10).text
    assert reference in hwk_inbox
    item_path = re.search(r'href="(/staff/posteingang/\d+)"', hwk_inbox).group(1)
    item = hwk.get(base + item_path, timeout=10)
    assert item.status_code == 200 and "Elektroinstallation in Gebäuden" in item.text

    hk = browser_login(base, "/staff/login", "hk.bremen")
    inbox = hk.get(base + "/staff/posteingang", allow_redirects=False, timeout=10)
    assert inbox.status_code == 200
    assert reference not in inbox.text
    assert hk.get(base + item_path, timeout=10).status_code == 404

    # The company sees the filing as forwarded.
    status = company.get(base + "/antraege", timeout=10).text
    assert reference in status and "Weitergeleitet" in status

    # The steering group sees the count, and no company or person.
    steering = browser_login(base, "/staff/login", "steering")
    resp = steering.get(base + "/staff/statistik", allow_redirects=False, timeout=10)
    assert resp.status_code == 200
    dashboard = resp.text
    assert re.search(r'Eingereichte Anträge</th>\s*<td[^>]*>&lt; 5<', dashboard)  # a small count: hidden
    assert "Gewerbeanmeldung" in dashboard and "Handwerkskammer Bremen" in dashboard
    assert "Becker" not in dashboard and reference not in dashboard


@pytest.fixture
def dev_live_server(app):
    """The portal served by the development server of ``flask dev`` (its request handler)."""
    import threading

    from bizportal.web.devserver import dev_server

    server = dev_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def _login_capturing(base: str, path: str, sub: str, seen: list[str]) -> requests.Session:
    s = requests.Session()
    start = s.get(base + path, allow_redirects=False, timeout=10)
    seen.append(start.headers["Location"])
    callback = provider_login(start.headers["Location"], sub)
    seen.append(callback)
    assert s.get(callback, timeout=10).status_code == 200
    return s


def test_no_log_line_of_a_whole_journey_carries_a_code_token_or_secret(app, dev_live_server, caplog):
    from urllib.parse import parse_qsl, urlsplit

    from tests.support.casework import answer, item_path, take_step

    base, urls = dev_live_server, []
    with caplog.at_level("INFO"):  # the level create_app configures
        company = _login_capturing(base, "/login", "anna.becker", urls)
        review = company.get(base + "/antraege", timeout=10)
        company.post(review.url, data={"csrf_token": csrf_token(review.text),
                                       "notification_email": "antraege@becker-elektro.example"}, timeout=10)
        client = _Adapter(company, base)
        reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
        assert Worker(app).run_once() == 2
        staff = _Adapter(_login_capturing(base, "/staff/login", "gewerbeamt.bremen", urls), base)
        path = item_path(staff, reference)
        assert take_step(staff, path, "received").status_code == 302
        assert take_step(staff, path, "information_requested", detail="Bitte Handwerkskarte").status_code == 302
        assert answer(client, reference, "Anbei.").status_code == 302
    lines = [r.getMessage() for r in caplog.records]
    assert any("/login/callback" in line for line in lines)  # the access log was captured
    secrets = {v for url in urls for k, v in parse_qsl(urlsplit(url).query)
               if k in ("code", "state", "nonce", "code_challenge") and len(v) >= 8}
    assert len(secrets) >= 4  # two logins: their codes and states at least
    secrets |= {app.config["COMPANY_OIDC_CLIENT_SECRET"], app.config["STAFF_OIDC_CLIENT_SECRET"],
                app.config["SECRET_KEY"]}
    secrets |= {c.value for c in company.cookies} | {c.value for c in staff.session.cookies}
    # the lines as production writes them: one JSON object each, fields included
    json_lines = [JsonFormatter().format(r) for r in caplog.records]
    assert any(json.loads(line).get("request_id") for line in json_lines)
    for line in lines + json_lines:
        assert not any(s in line for s in secrets if s), line
        assert not re.search(r"[?&](code|state|nonce|access_token|id_token)=", line), line
        assert "Bearer " not in line and "client_secret" not in line, line
