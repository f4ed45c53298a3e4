"""The people of the soak test (``bench/soak.py``) as locust users; run by locust, not by hand.

* ``Company``: signs in at the login provider, files the services of its person from
  ``SOAK_CASES`` one after the other (draft, every step, PDF uploads, submit), reads the status page.
  Every request of one filing carries one ``X-Request-ID`` (the worker's lines about its
  deliveries carry it too).
* ``Staff``: a chamber's staff member lists the inbox, opens a filing and takes its next step
  (received → in progress → accepted).
* ``Steering``: reads the statistics dashboard.

Requests are grouped by kind (ids and references in the path replaced), so the report shows
req/s and percentiles per kind; a flow that does not reach its end is one failure of
``flow: …`` with the reason.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import random
import re
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.casework import expected_status, take_step  # noqa: E402
from tests.support.filing import EveryStep, file_service  # noqa: E402
from tests.support.http import csrf_token  # noqa: E402

_ID = re.compile(r"/(BP-\d{4}-[2-9A-Z]{6}|[^/]*\d[^/]*|[A-Za-z0-9_-]{20,})(?=/|$)")
_ITEM = re.compile(r'href="(/staff/posteingang/\d+)"')
_CHOICE = re.compile(r'name="action"[^>]*value="([a-z_]+)"|<option[^>]*value="([a-z_]+)"')
#: the staff's next step for the status a filing shows
NEXT_STEP = {"submitted": "received", "forwarded": "received", "received": "in_progress",
             "in_progress": "accepted", "answered": "accepted"}


def kind(method: str, url: str) -> str:
    """``GET /antraege/<id>``: the request's kind, for grouping in the report."""
    parts = urlsplit(url)
    host = "" if parts.netloc in ("", urlsplit(os.environ.get("SOAK_HOST", "")).netloc) else "provider "
    return f"{method} {host}{_ID.sub('/<id>', parts.path) or '/'}"


def _cases() -> dict[str, list[dict]]:
    cases = json.loads(Path(os.environ["SOAK_CASES"]).read_text())
    for case_list in cases.values():
        for case in case_list:
            case["files"] = {k: (base64.b64decode(v[0]), v[1]) for k, v in case["files"].items()}
            case["steps"] = EveryStep(case["steps"]) if case["every"] else case["steps"]
    return cases


CASES = _cases()


class _Response:
    def __init__(self, resp):
        self.status_code, self.headers, self.text, self.url = resp.status_code, resp.headers, resp.text, resp.url

    def get_data(self, as_text=False):
        return self.text


class Browser:
    """locust's session, shaped like the Flask test client the tests' helpers drive."""

    def __init__(self, client):
        self.client = client

    def get(self, path: str, follow: bool = False) -> _Response:
        return _Response(self.client.get(path, allow_redirects=follow, name=kind("GET", path)))

    def post(self, path: str, data=None, content_type=None) -> _Response:
        data = data or {}
        files = []
        for key, value in data.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, tuple):
                    files.append((key, (item[1], item[0])))
        fields = {k: v for k, v in data.items()
                  if not isinstance(v, tuple) and not (isinstance(v, list) and v and isinstance(v[0], tuple))}
        with self.client.post(path, data=fields, files=files or None, allow_redirects=False, name=kind("POST", path),
                              catch_response=True) as resp:
            if resp.status_code < 400 or (resp.status_code == 409 and path.endswith("/schritt")):
                # 409 on a staff step: two staff members work one inbox and the other moved the filing
                # first (the page's expected status no longer holds) — the portal's answer, not an error
                resp.success()
            else:
                resp.failure(f"{resp.status_code}")
        return _Response(resp)

    def login(self, sub: str, staff: bool) -> None:
        """Sign in through the login provider as a person with a browser would."""
        start = self.get("/staff/login" if staff else "/login")
        assert start.status_code == 302, f"login start answered {start.status_code}"
        provider = self.client.post(start.headers["Location"], data={"sub": sub}, allow_redirects=False,
                                    name="POST provider /oidc/authorize")
        assert provider.status_code in (302, 303), f"provider answered {provider.status_code}"
        done = self.client.get(provider.headers["Location"], name="GET /login/callback")
        assert done.status_code == 200, f"callback ended in {done.status_code}"
        if "/unternehmen/pruefen" in done.url:
            confirmed = self.post("/unternehmen/pruefen", data={"csrf_token": csrf_token(done.text)})
            assert confirmed.status_code == 302, f"company review answered {confirmed.status_code}"


class _Person(HttpUser):
    abstract = True
    wait_time = between(1, 3)

    def flow(self, name: str, fn) -> None:
        """Run one flow; its time and its failure (with the reason) are reported as ``flow: name``."""
        started = time.perf_counter()
        exception = None
        try:
            fn()
        except Exception as exc:  # the reason goes to the report; the user carries on
            exception = exc
        self.environment.events.request.fire(
            request_type="FLOW", name=f"flow: {name}", response_time=(time.perf_counter() - started) * 1000,
            response_length=0, exception=exception, context={})


class Company(_Person):
    fixed_count = int(os.environ.get("SOAK_COMPANIES", "4"))
    _next = itertools.count()

    def on_start(self) -> None:
        subs = sorted(CASES)
        self.sub = subs[next(self._next) % len(subs)]
        self.cases = itertools.cycle(random.sample(CASES[self.sub], len(CASES[self.sub])))
        self.browser = Browser(self.client)
        self.flow("company signs in", lambda: self.browser.login(self.sub, staff=False))

    @task
    def file_a_service(self) -> None:
        case = next(self.cases)

        def file() -> None:
            self.client.headers["X-Request-ID"] = f"soak-{uuid.uuid4().hex}"
            try:
                reference = file_service(self.browser, case["service"], case["steps"], files=case["files"] or None)
            finally:
                del self.client.headers["X-Request-ID"]
            status = self.browser.get(f"/antraege/{reference}")
            assert status.status_code == 200 and reference in status.text, "the status page misses the filing"

        self.flow("company files a service", file)


class Staff(_Person):
    fixed_count = int(os.environ.get("SOAK_STAFF", "2"))
    _next = itertools.count()
    SUBS = ("gewerbeamt.bremen", "hwk.bremen")

    def on_start(self) -> None:
        self.sub = self.SUBS[next(self._next) % len(self.SUBS)]
        self.browser = Browser(self.client)
        self.flow("staff signs in", lambda: self.browser.login(self.sub, staff=True))

    @task
    def work_the_inbox(self) -> None:
        def work() -> None:
            inbox = self.browser.get("/staff/posteingang")
            assert inbox.status_code == 200, f"inbox answered {inbox.status_code}"
            items = _ITEM.findall(inbox.text)
            if not items:
                return
            path = random.choice(items[:25])
            page = self.browser.get(path)
            assert page.status_code == 200, f"item answered {page.status_code}"
            if 'id="action-form"' not in page.text:
                return
            form = re.search(r'<form[^>]*id="action-form".*?</form>', page.text, re.S)
            offered = {a or b for a, b in _CHOICE.findall(form.group(0))} if form else set()
            # a copy recipient may only confirm receipt: the step is one the page offers
            step = NEXT_STEP.get(expected_status(page.text))
            if step not in offered:
                step = next((s for s in ("received", "in_progress") if s in offered), None)
            if step is None:
                return
            done = take_step(self.browser, path, step, detail="Soak-Test")
            # 409: another staff member moved it first (the page's expected status no longer holds)
            assert done.status_code in (302, 409), f"step {step} answered {done.status_code}"

        self.flow("staff works a filing", work)


class Steering(_Person):
    fixed_count = int(os.environ.get("SOAK_STEERING", "1"))

    def on_start(self) -> None:
        self.browser = Browser(self.client)
        self.flow("steering signs in", lambda: self.browser.login("steering", staff=True))

    @task
    def read_the_dashboard(self) -> None:
        def read() -> None:
            page = self.browser.get("/staff/statistik")
            assert page.status_code == 200, f"dashboard answered {page.status_code}"

        self.flow("steering reads the dashboard", read)
