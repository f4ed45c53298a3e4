"""Every page reachable today, in Chromium: axe-core (WCAG 2.1 A/AA) and reflow at 320 px.

Each test is one scenario: it reaches one or more views as the person who would see them
(anonymous, company, chamber staff, steering group, admin). On every view it runs axe-core at
desktop width, then narrows the window to 320 CSS px (WCAG 1.4.10) and checks that nothing
scrolls sideways. Screenshots of both widths go to test-artifacts/screenshots/<view>.png and
<view>-320.png.

KNOWN_ISSUES lists violations that are known and sit in templates owned elsewhere; a scenario
with such a finding (and nothing else) is reported as xfail naming them. Anything not listed
fails; a listed issue that no longer occurs fails too (strict), so the list stays true.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator

import pytest

from bizportal.catalog.loader import DEFINITIONS_DIR
from bizportal.delivery.worker import Worker

from .helpers import (
    DESKTOP,
    NARROW,
    REF_RE,
    assert_reflows,
    axe_scan,
    file_over_http,
    format_violations,
    horizontal_overflow,
    screenshot,
)


def _service_keys() -> list[str]:
    """Keys of the service definition files (read plainly: a broken file fails the app's own
    start in the tests, not the collection of this module)."""
    keys = []
    for path in sorted(DEFINITIONS_DIR.glob("*.toml")):
        try:
            keys.append(tomllib.loads(path.read_text(encoding="utf-8"))["key"])
        except (tomllib.TOMLDecodeError, KeyError):
            keys.append(path.stem)
    return keys


SERVICE_KEYS = _service_keys()

#: (view, axe rule id, "reflow" or "console") -> where it is and who owns it. Only for templates this
#: test suite's owners may not change; fix the rest instead of listing it.
KNOWN_ISSUES: dict[tuple[str, str], str] = {
    ("steering-dashboard", "reflow"): (
        "templates/stats/dashboard.html: the table 'Anträge je Kammer und Behörde' (3 columns) is "
        "wider than 320 px and not wrapped in <div class=\"kern-table-responsive\" tabindex=\"0\" "
        "role=\"region\" aria-labelledby=…> like the other tables, so the whole page scrolls "
        "sideways (WCAG 1.4.10)"),
}


# ---------- getting to the pages ---------------------------------------------------------------

def login(page, base: str, sub: str, staff: bool = False) -> None:
    """Log in through the provider's page (its button per predefined user)."""
    page.goto(base + ("/staff/login" if staff else "/login"))
    with page.expect_navigation(url=lambda u: u.startswith(base)):
        page.click(f"button[value='{sub}']")
    assert page.url.startswith(base), page.url


def submit(page) -> None:
    with page.expect_navigation():
        page.click("#filing-form button[type=submit]")


def open_page(page, url: str, status: int = 200) -> None:
    resp = page.goto(url)
    assert resp.status == status, f"{url}: HTTP {resp.status}"


def delivered_filing(app, base: str) -> str:
    """A company files a Gewerbeanmeldung (crafts business) and the worker delivers it."""
    reference = file_over_http(base)
    assert Worker(app).run_once() == 2
    return reference


def anonymous(*paths: str):
    def views(app, page, base) -> Iterator[str]:
        for path in paths:
            open_page(page, base + path)
            yield "anon-" + (path.strip("/").replace("/", "-") or "catalog")
    return views


def error_pages(app, page, base) -> Iterator[str]:
    open_page(page, base + "/gibt-es-nicht", 404)
    yield "anon-404"
    page.goto(base + "/login")
    with page.expect_navigation(url=lambda u: u.startswith(base)):
        page.click("button[value='deny']")  # the person declines on the provider's page
    assert page.inner_text("h1") == "Anmeldung nicht möglich"
    yield "anon-login-error"


def service_form(key: str):
    def views(app, page, base) -> Iterator[str]:
        login(page, base, "anna.becker")
        open_page(page, f"{base}/leistungen/{key}/antrag")
        yield f"company-form-{key}"
        # the error state: every text field emptied, the postcode malformed
        text_fields = "#filing-form input.kern-form-input__input, #filing-form textarea"
        for el in page.query_selector_all(text_fields):
            el.fill("")
        if page.query_selector("#postcode"):
            page.fill("#postcode", "2819")
        submit(page)
        assert page.query_selector("#error-summary"), f"no error summary after submitting {key}"
        yield f"company-form-{key}-error"
    return views


def company_filing(app, page, base) -> Iterator[str]:
    login(page, base, "anna.becker")
    open_page(page, base + "/leistungen/gewerbeanmeldung/antrag")
    page.fill("#activity", "Elektroinstallation in Gebäuden")
    page.fill("#start_date", "2027-01-01")
    page.check("#handwerk-0")
    submit(page)
    reference = REF_RE.search(page.inner_text("h1"))
    assert reference, page.inner_text("main")[:500]
    yield "company-filing"
    open_page(page, base + "/antraege")
    assert reference.group(0) in page.inner_text("main")
    yield "company-filings"


def chamber_inbox(app, page, base) -> Iterator[str]:
    reference = delivered_filing(app, base)
    login(page, base, "gewerbeamt.bremen", staff=True)
    open_page(page, base + "/staff/posteingang")
    yield "staff-inbox"
    with page.expect_navigation():
        page.click(f"a:text-is('{reference}')")
    assert reference in page.inner_text("h1")
    yield "staff-inbox-item"


def steering_dashboard(app, page, base) -> Iterator[str]:
    delivered_filing(app, base)
    login(page, base, "steering", staff=True)
    open_page(page, base + "/staff/statistik")
    yield "steering-dashboard"


def admin_deliveries(app, page, base) -> Iterator[str]:
    delivered_filing(app, base)
    login(page, base, "admin", staff=True)
    open_page(page, base + "/staff/admin/zustellungen")
    # the admin's page is in the main navigation, marked as the current page
    assert page.inner_text(".portal-nav a[aria-current=page]") == "Zustellungen"
    yield "admin-deliveries"


SCENARIOS = {
    "anon:catalog": anonymous("/", *(f"/leistungen/{k}" for k in SERVICE_KEYS)),
    "anon:legal": anonymous("/barrierefreiheit", "/leichte-sprache", "/impressum", "/datenschutz"),
    "anon:errors": error_pages,
    **{f"company:form/{k}": service_form(k) for k in SERVICE_KEYS},
    "company:filing": company_filing,
    "staff:inbox": chamber_inbox,
    "steering:dashboard": steering_dashboard,
    "admin:deliveries": admin_deliveries,
}


# ---------- the checks -------------------------------------------------------------------------

def check_view(page, view: str, screenshot_dir) -> dict[str, str]:
    """axe at desktop width, reflow at 320 px, the browser console; returns
    {axe rule, "reflow" or "console": description}."""
    page.set_viewport_size(DESKTOP)
    found = {v.rule: str(v) for v in axe_scan(page)}
    screenshot(page, screenshot_dir, view)
    page.set_viewport_size(NARROW)
    over = horizontal_overflow(page)
    if over:
        found["reflow"] = (f"scrolls horizontally at 320 px (scrollWidth {over['scrollWidth']}); "
                           "past the right edge: " + ", ".join(over["culprits"]))
    screenshot(page, screenshot_dir, view + "-320")
    if page.portal_errors:  # CSP refusals, missing assets, script errors: logged by Chromium
        found["console"] = "errors in the browser console: " + " | ".join(page.portal_errors)
        page.portal_errors.clear()
    return found


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_pages_meet_wcag_21_aa_and_reflow(app, live_server, new_page, screenshot_dir, scenario):
    page = new_page()
    problems: list[str] = []
    expected: list[str] = []
    for view in SCENARIOS[scenario](app, page, live_server):
        found = check_view(page, view, screenshot_dir)
        known = {rule: why for (v, rule), why in KNOWN_ISSUES.items() if v == view}
        unexpected = [text for rule, text in found.items() if rule not in known]
        if unexpected:
            problems.append(f"{view} ({page.url}):\n" + "\n".join(f"  - {t}" for t in unexpected))
        gone = sorted(set(known) - set(found))
        if gone:
            problems.append(f"{view}: listed in KNOWN_ISSUES but no longer found, remove: {gone}")
        expected += [f"{view}/{rule}: {why}" for rule, why in known.items() if rule in found]
    assert not problems, "\n".join(problems)
    if expected:
        pytest.xfail("known, in templates owned elsewhere: " + " | ".join(expected))


# ---------- the checks check themselves --------------------------------------------------------

def test_reflow_check_catches_overflow(page, live_server):
    page.set_viewport_size(NARROW)
    page.goto(live_server + "/impressum")
    assert_reflows(page)
    page.evaluate("() => { document.querySelector('main').style.minWidth = '600px'; }")
    with pytest.raises(AssertionError, match="scrolls horizontally"):
        assert_reflows(page)


def test_axe_scan_runs_under_the_csp_and_reports_rule_impact_targets(page, live_server):
    page.goto(live_server + "/impressum")
    assert axe_scan(page) == []
    page.evaluate("""() => { const i = document.createElement('input');
                             i.id = 'unlabelled'; document.querySelector('main').append(i); }""")
    found = axe_scan(page)
    assert [v.rule for v in found] == ["label"], format_violations(found)
    assert found[0].targets == ("#unlabelled",) and found[0].impact == "critical"


def test_console_errors_such_as_csp_refusals_are_collected(page, live_server):
    page.goto(live_server + "/impressum")
    assert page.portal_errors == []
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.inlineRan = true'; document.body.append(s); }""")
    page.wait_for_timeout(100)
    assert page.evaluate("() => window.inlineRan") is None  # the portal's CSP refused it
    assert any("Content Security Policy" in e for e in page.portal_errors), page.portal_errors
