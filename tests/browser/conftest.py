"""Browser tests: the portal in a real Chromium, driven by Playwright.

One browser per test session (Debian's ``chromium``; Playwright's own browser downloads are not
used). Each test gets a fresh browser context (no cookies) on top of the ``app``/``live_server``
fixtures of ``tests/conftest.py``: the portal on a loopback port, the real OIDC provider mock.

- ``BIZPORTAL_CHROMIUM``: path of the Chromium binary (default ``/usr/bin/chromium``).
- ``BIZPORTAL_SKIP_BROWSER=1``: skip these tests. Without it, a missing browser is an error:
  CI installs ``chromium`` (see ``.ci/run``), so a missing browser must not pass silently.
- Screenshots of the main pages go to ``test-artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import DESKTOP, ROOT

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("BIZPORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Nothing but loopback resolves: the provider's page links a CSS file on a CDN, and no test
    # may reach out (nor wait for a network that is not there). Unlike page.route(), this keeps
    # the browser cache on.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]
TIMEOUT_MS = 10_000


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "browser: runs in a real Chromium via Playwright (BIZPORTAL_SKIP_BROWSER=1 skips)",
    )


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    skip = os.environ.get("BIZPORTAL_SKIP_BROWSER") == "1"
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if skip:
                item.add_marker(pytest.mark.skip(
                    reason="browser tests skipped: BIZPORTAL_SKIP_BROWSER=1"))


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if os.environ.get("BIZPORTAL_SKIP_BROWSER") == "1":
        pytest.skip("browser tests skipped: BIZPORTAL_SKIP_BROWSER=1")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        pytest.fail(
            f"browser tests need Chromium at {CHROMIUM} (not found"
            + (f"; there is one at {found}: set BIZPORTAL_CHROMIUM" if found else "")
            + "). Install it with `apt-get install chromium` (.ci/run does), "
            "or set BIZPORTAL_SKIP_BROWSER=1 to skip the browser tests.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        pytest.fail("browser tests need the Python package playwright: pip install -e '.[dev]'",
                    pytrace=False)
    with sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        except Exception as exc:
            pytest.fail(f"could not start Chromium at {CHROMIUM}: {exc}", pytrace=False)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """test-artifacts/screenshots/, emptied of the last run's pictures."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


@pytest.fixture
def new_page(browser, app, live_server):
    """Factory for pages in fresh browser contexts (separate cookies: one per person)."""
    # The browser may keep the static files (CSS, fonts, icons) for the test instead of asking
    # the development server again on every page: the same as a proxy's caching in production.
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    contexts = []

    def make(viewport: dict | None = None):
        ctx = browser.new_context(viewport=viewport or DESKTOP, locale="de-DE",
                                  timezone_id="Europe/Berlin", reduced_motion="reduce")
        ctx.set_default_timeout(TIMEOUT_MS)
        ctx.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        # Errors the portal's own pages log (CSP refusals, missing assets, script errors).
        page.portal_errors = []

        def on_console(msg):
            if msg.type != "error" or not page.url.startswith(live_server):
                return
            failed_load = msg.text.startswith("Failed to load resource")
            if failed_load and msg.location.get("url") == page.url:
                return  # the page itself, sent with its error status on purpose (404, 422 …)
            source = msg.location.get("url") or ""
            page.portal_errors.append(f"{page.url}: {msg.text}"
                                      + (f" ({source})" if source and source != page.url else ""))

        page.on("console", on_console)
        page.on("pageerror", lambda exc: page.portal_errors.append(f"{page.url}: {exc}"))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_page):
    return new_page()
