"""Driving the portal over HTTP: the CSRF token of a page, the provider's login page, a whole login
with the Flask test client, and a requests-based client for a live server."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


TOKEN_RE = re.compile(r'name="submit_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


#: the hidden fields of a draft's step page (``draft_revision``, ``step_answers``) and review page
#: (``revision``) that say which save of the draft the page shows
MARKS_RE = re.compile(r'name="(revision|draft_revision|step_answers)"[^>]*value="([^"]*)"')


def page_marks(html: str) -> dict[str, str]:
    """What a draft's step or review page carries back of the save it shows, as a browser sends it."""
    return dict(MARKS_RE.findall(html))


def submit_form(html: str) -> dict[str, str]:
    """The review page's submit as a browser sends it: its form token and marks, the declaration ticked."""
    return {"csrf_token": csrf_token(html), **page_marks(html), "declaration": "y"}


def field_error(html: str, field: str) -> str:
    """The error a refused step shows at the input ``field`` (marked invalid, linked from the error
    summary), as text with its spaces tidied."""
    control = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', html)
    assert control and 'aria-invalid="true"' in control.group(0), field
    error = re.search(rf'<p class="kern-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert error, f"no error at {field}"
    assert f'href="#{field}"' in html  # the error summary links to it
    return " ".join(re.sub(r"<[^>]+>", "", error.group(1)).split())


def provider_login(authorize_url: str, sub: str, action: str | None = None) -> str:
    """Act as the person on the provider's page: pick ``sub`` (or deny); return the callback URL."""
    data = {"sub": sub}
    if action:
        data["action"] = action
    resp = requests.post(authorize_url, data=data, allow_redirects=False, timeout=10)
    assert resp.status_code in (302, 303), resp.text[:500]
    return resp.headers["Location"]


def login(client, sub: str, staff: bool = False, confirm: bool = True):
    """Log in through the real provider with the Flask test client; returns the callback's response.

    A company person also confirms the company data on the review page (as on a first login),
    unless ``confirm`` is False.
    """
    start = client.get("/staff/login" if staff else "/login")
    assert start.status_code == 302, start.get_data(as_text=True)[:500]
    callback = provider_login(start.headers["Location"], sub)
    parts = urlsplit(callback)
    resp = client.get(f"{parts.path}?{parts.query}")
    if confirm and not staff and resp.status_code == 302:
        review = client.get("/unternehmen/pruefen")
        if review.status_code == 200 and "Unternehmensdaten prüfen" in review.get_data(as_text=True):
            token = csrf_token(review.get_data(as_text=True))
            confirmed = client.post("/unternehmen/pruefen", data={"csrf_token": token})
            assert confirmed.status_code == 302
    return resp


def catalog_links(html: str) -> list[str]:
    """Service keys linked from a catalog page, in page order."""
    return re.findall(r'href="/leistungen/([a-z0-9-]+)"', html)


class HttpClient:
    """A requests session against a live server that looks like the Flask test client to
    ``tests.support.filing``."""

    class _Response:
        def __init__(self, resp):
            self.status_code, self.headers, self._text = resp.status_code, resp.headers, resp.text

        def get_data(self, as_text=False):
            return self._text

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def get(self, path: str):
        return self._Response(self.session.get(self.base + path, allow_redirects=False, timeout=10))

    def post(self, path: str, data=None, content_type=None):
        data = data or {}
        files = {k: (v[1], v[0]) for k, v in data.items() if isinstance(v, tuple)} or None
        fields = {k: v for k, v in data.items() if not isinstance(v, tuple)}
        return self._Response(self.session.post(self.base + path, data=fields, files=files,
                                                allow_redirects=False, timeout=10))


def http_login(base: str, sub: str, staff: bool = False) -> HttpClient:
    """Log ``sub`` in over HTTP through the real provider; a company person also confirms the
    company data (the review every first login asks for)."""
    client = HttpClient(base)
    start = client.get("/staff/login" if staff else "/login")
    assert start.status_code == 302, start.get_data()[:300]
    done = client.session.get(provider_login(start.headers["Location"], sub), timeout=10)
    assert done.status_code == 200, done.text[:300]
    if done.url.startswith(base + "/unternehmen/pruefen"):
        confirmed = client.post("/unternehmen/pruefen", data={"csrf_token": csrf_token(done.text)})
        assert confirmed.status_code == 302, confirmed.get_data()[:500]
    return client
