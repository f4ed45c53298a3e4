"""Every kind of page the portal has, in Chromium: axe-core (WCAG 2.1 A/AA), reflow at 320 px,
and a clean browser console.

Each test is one scenario: it reaches a series of views as the person who would see them
(anonymous, company, chamber staff, steering group, admin). On every view it runs axe-core at
desktop width, narrows the window to 320 CSS px (WCAG 1.4.10) and checks that nothing scrolls
sideways, and collects what the portal's pages logged to the console (CSP refusals, missing
assets). Main pages are photographed at both widths into test-artifacts/screenshots/.

Logins for the scans go over plain HTTP and hand the session cookie to the browser (quicker);
the login pages themselves are crossed in the browser in test_keyboard.py and below.

KNOWN_ISSUES lists violations that are known and sit in templates owned elsewhere; a scenario
whose only findings are listed there is reported as xfail naming them. Anything not listed fails;
a listed issue that no longer occurs fails too (strict), so the list stays true.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterator

import pytest

from bizportal.catalog.loader import DEFINITIONS_DIR
from bizportal.delivery.worker import Worker
from tests.support.browser import (
    DESKTOP,
    NARROW,
    REF_RE,
    assert_no_violations,
    assert_reflows,
    axe_scan,
    file_over_http,
    format_violations,
    horizontal_overflow,
    screenshot,
    share_login,
)
from tests.support.filing import MAX_STEPS, gewerbe_answers
from tests.support.http import http_login


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

#: A service with every step kind the others lack on their first step (repeating group,
#: numbers, uploads); the company:steps scenario walks all its steps.
MULTI_STEP_CASE = "ausbildungsvertrag-handwerk-minderjaehrig-bremen"

#: Start pages ("Antrag beginnen") scanned: one template, only the service's texts differ.
START_PAGES_SCANNED = {"gewerbeanmeldung", "ausbildungsvertrag-eintragung"}

#: Views photographed at 1280 and 320 px (all views are scanned).
MAIN_VIEWS = {
    "anon-catalog", "anon-search", "anon-leistungen-gewerbeanmeldung", "anon-barrierefreiheit",
    "anon-404",
    "company-review", "company-filings", "company-workspace", "company-start-gewerbeanmeldung",
    "company-step-gewerbeanmeldung", "company-step-gewerbeanmeldung-error", "company-check",
    "company-filing", "company-steps-vertreter-error", "company-steps-unterlagen-error",
    "staff-inbox", "staff-inbox-filter-error", "staff-inbox-item", "steering-dashboard", "admin-deliveries",
    "admin-audit", "api-docs", "admin-api-clients",
}

#: (view, axe rule id, "reflow", "error-summary" or "console") -> where it is and who owns it.
#: Only for templates the owners of this suite may not change; fix the rest instead.
KNOWN_ISSUES: dict[tuple[str, str], str] = {}


# ---------- getting to the pages ---------------------------------------------------------------

def open_page(page, url: str, status: int = 200) -> None:
    resp = page.goto(url)
    assert resp.status == status, f"{url}: HTTP {resp.status}"


#: a step's visible "Weiter" (the form's first button, also "Weiter", is the hidden default for Enter)
WEITER = ".portal-actions button[value=next]"


def click_and_wait(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def submit_emptied(page, form: str, button: str = "button[type=submit]", expect_errors: bool = True) -> bool:
    """Empty every text field of ``form`` (a selector) and submit it with ``button``; whether the
    page then shows an error summary (``expect_errors``: it must)."""
    page.evaluate("""form => document.querySelectorAll(
        `${form} input.kern-form-input__input:not([type=file]), ${form} textarea`)
        .forEach(el => { el.value = ''; })""", form)
    click_and_wait(page, f"{form} {button}")
    shown = page.query_selector("#error-summary") is not None
    assert shown or not expect_errors, f"no error summary after submitting {page.url}"
    return shown


def as_company(page, base: str, sub: str = "anna.becker"):
    client = http_login(base, sub)
    share_login(page, client)
    return client


def anonymous_catalog(app, page, base) -> Iterator[str]:
    open_page(page, base + "/")
    yield "anon-catalog"
    open_page(page, base + "/?q=Gewerbe+anmelden&art=trade")
    assert page.query_selector("a[href='/leistungen/gewerbeanmeldung']")
    yield "anon-search"
    open_page(page, base + "/?q=Zzxyq")
    yield "anon-search-empty"
    open_page(page, base + "/?q=Gewerbeanmeldng")
    assert page.query_selector("#did-you-mean a")
    yield "anon-search-did-you-mean"
    for key in SERVICE_KEYS:
        open_page(page, f"{base}/leistungen/{key}")
        yield f"anon-leistungen-{key}"


def anonymous_legal(app, page, base) -> Iterator[str]:
    for path in ("/barrierefreiheit", "/leichte-sprache", "/impressum", "/datenschutz"):
        open_page(page, base + path)
        yield "anon-" + path.strip("/")


def anonymous_errors(app, page, base) -> Iterator[str]:
    open_page(page, base + "/gibt-es-nicht", 404)
    yield "anon-404"
    page.goto(base + "/login")
    with page.expect_navigation(url=lambda u: u.startswith(base)):
        page.click("button[value='deny']")  # the person declines on the provider's page
    assert page.inner_text("h1") == "Anmeldung nicht möglich"
    yield "anon-login-error"


def company_first_login(app, page, base) -> Iterator[str]:
    """In the browser: the first login of a person, the company data review, the workspace."""
    page.goto(base + "/login")
    with page.expect_navigation(url=lambda u: u.startswith(base)):
        page.click("button[value='lea.hansen']")
    assert page.url.startswith(base + "/unternehmen/pruefen"), page.url
    yield "company-review"
    page.fill("#notification_email", "keine-adresse")
    click_and_wait(page, "#contact-form button[type=submit]")
    assert page.query_selector("#error-summary"), "no error summary for a malformed address"
    yield "company-review-error"
    page.fill("#notification_email", "antraege@hansen-versicherungen.example")
    click_and_wait(page, "#contact-form button[type=submit]")
    assert page.url == base + "/antraege", page.url
    yield "company-filings-empty"
    open_page(page, base + "/unternehmen")
    yield "company-workspace"


def company_services(app, page, base) -> Iterator[str]:
    """Each service: its first step, and that step after an empty submit. The start pages (one
    template, the service's texts) are scanned for two services."""
    as_company(page, base)
    for key in SERVICE_KEYS:
        open_page(page, f"{base}/leistungen/{key}/antrag")
        if key in START_PAGES_SCANNED:
            yield f"company-start-{key}"
        click_and_wait(page, "main form button[type=submit]")  # "Antrag beginnen"
        assert "/antraege/entwurf/" in page.url, page.url
        yield f"company-step-{key}"
        submit_emptied(page, "#step-form", WEITER)
        yield f"company-step-{key}-error"


def company_steps(app, page, base, case_id: str = MULTI_STEP_CASE) -> Iterator[str]:
    """Every step of a long service, empty and after an empty submit, then the review page.

    The answers (and uploads) that move the draft on come from tests/test_services_e2e.py and
    are posted over HTTP with the same login.
    """
    from tests.support.filing import path_of, post_step, start_draft
    from tests.test_services_e2e import CASES

    case = next((c for c in CASES if c.id == case_id), None)
    assert case, f"case {case_id} is gone from tests/test_services_e2e.py: pick another"
    client = as_company(page, base, case.user)
    path = start_draft(client, case.service)
    for step_key, answers in case.steps.items():
        assert path.rsplit("/", 1)[-1] == step_key, path
        open_page(page, base + path)
        yield f"company-steps-{step_key}"
        # the other cases have steps whose questions may all stay empty (e.g. former residences)
        if submit_emptied(page, "#step-form", WEITER, expect_errors=case_id == MULTI_STEP_CASE):
            yield f"company-steps-{step_key}-error"
        files = {k: v for k, v in case.files.items()
                 if page.query_selector(f"input[type=file][name='{k}']")}
        resp = post_step(client, path, answers, files=files)
        assert resp.status_code == 302, resp.get_data()[:2000]
        path = path_of(resp.headers["Location"])
    assert path.endswith("/pruefen"), path
    open_page(page, base + path)
    yield "company-steps-check"


def company_filing(app, page, base) -> Iterator[str]:
    """In the browser: a Gewerbeanmeldung from start to filing, then the lists."""
    as_company(page, base)
    open_page(page, base + "/leistungen/gewerbeanmeldung/antrag")
    click_and_wait(page, "main form button[type=submit]")
    answers = gewerbe_answers(activity="Elektroinstallation in Gebäuden")
    for _ in range(MAX_STEPS):
        if page.url.endswith("/pruefen"):
            break
        for name, value in answers.items():
            element = page.query_selector(f"#step-form [name='{name}']")
            if element is None:
                continue
            kind = element.get_attribute("type")
            if kind == "radio":
                page.check(f"#step-form [name='{name}'][value='{value}']")
            elif element.evaluate("e => e.tagName") == "SELECT":
                page.select_option(f"#step-form [name='{name}']", value)
            else:
                page.fill(f"#step-form [name='{name}']", value)
        click_and_wait(page, f"#step-form {WEITER}")
    assert page.url.endswith("/pruefen"), page.url
    yield "company-check"
    click_and_wait(page, "#submit-form button[type=submit]")  # without the declaration: its error
    assert page.query_selector("#error-summary") and page.url.endswith("/pruefen"), page.url
    yield "company-check-error"
    page.check("#declaration")
    click_and_wait(page, "#submit-form button[type=submit]")  # "Antrag verbindlich einreichen"
    reference = REF_RE.search(page.inner_text("h1"))
    assert reference, page.inner_text("main")[:500]
    yield "company-filing"
    open_page(page, base + "/leistungen/handwerksrolle-eintragung/antrag")
    click_and_wait(page, "main form button[type=submit]")  # leaves a draft for the list
    open_page(page, base + "/antraege")
    assert reference.group(0) in page.inner_text("main")
    assert page.query_selector(".kern-progress progress")  # the draft's progress
    yield "company-filings"


def chamber_inbox(app, page, base) -> Iterator[str]:
    reference = file_over_http(http_login(base, "anna.becker"))
    assert Worker(app).run_once() == 2
    share_login(page, http_login(base, "gewerbeamt.bremen", staff=True))
    open_page(page, base + "/staff/posteingang")
    yield "staff-inbox"
    page.fill("#unternehmen", "becker")
    page.select_option("#stand", "forwarded")
    click_and_wait(page, "#inbox-filter button[type=submit]")
    assert reference in page.inner_text("main")
    yield "staff-inbox-filtered"
    page.fill("#von", "2026-12-05")
    page.fill("#bis", "2026-12-04")
    click_and_wait(page, "#inbox-filter button[type=submit]")
    assert page.query_selector("#error-summary"), "no error summary for a from-date after the to-date"
    yield "staff-inbox-filter-error"
    open_page(page, base + "/staff/posteingang")
    click_and_wait(page, f"a:text-is('{reference}')")
    assert reference in page.inner_text("h1")
    yield "staff-inbox-item"
    assert page.query_selector("#action-form"), "no step form on an open filing"
    click_and_wait(page, "#action-form button[type=submit]")  # no step chosen
    assert page.query_selector("#error-summary"), "no error summary without a step"
    yield "staff-inbox-item-error"
    open_page(page, base + "/staff/nachforderungen")
    yield "staff-open-requests"


def steering_dashboard(app, page, base) -> Iterator[str]:
    from bizportal.demo_history import generate
    from bizportal.extensions import db

    file_over_http(http_login(base, "anna.becker"))
    Worker(app).run_once()
    with app.app_context():  # enough history for every table, chart and hidden cell of the page
        generate(400, days=120)
        db.session.remove()
    share_login(page, http_login(base, "steering", staff=True))
    open_page(page, base + "/staff/statistik")
    yield "steering-dashboard"


def make_dead(app) -> None:
    from sqlalchemy import update

    from bizportal.delivery.models import Delivery, DeliveryState
    from bizportal.extensions import db

    with app.app_context():
        db.session.execute(update(Delivery).values(state=DeliveryState.DEAD, last_error="PermanentFailure: test"))
        db.session.commit()


def publish_slow_answers(app) -> None:
    """A worker's published answer times naming a chamber that timed out (the alert and the table)."""
    from sqlalchemy import select

    from bizportal.bodies.models import Chamber
    from bizportal.delivery.timing import ChamberTiming, publish
    from bizportal.extensions import db

    with app.app_context():
        hk = db.session.scalar(select(Chamber.id).where(Chamber.slug == "hk-bremen"))
        publish("browser-test-worker", [ChamberTiming(hk, 3, 2, [1500, 1600, 2100], 4.0)], 900)


def admin_pages(app, page, base) -> Iterator[str]:
    file_over_http(http_login(base, "anna.becker"))
    Worker(app).run_once()
    publish_slow_answers(app)
    share_login(page, http_login(base, "admin", staff=True))
    open_page(page, base + "/staff/admin/zustellungen")
    # the admin's page is in the main navigation, marked as the current page
    assert page.inner_text(".portal-nav a[aria-current=page]") == "Zustellungen"
    assert "2 Sendung(en) ohne Antwort" in page.inner_text("main")
    yield "admin-deliveries"
    open_page(page, base + "/staff/admin/protokoll")
    yield "admin-audit"
    open_page(page, base + "/staff/admin/protokoll?von=31.02.2026&person=anna", status=422)
    yield "admin-audit-error"
    make_dead(app)  # something to list and to re-send
    open_page(page, base + "/staff/admin/zustellungen/probleme")
    yield "admin-problems"
    click_and_wait(page, "#resend-all-link")
    assert "Zu diesem Filter passen jetzt 2 Zustellung(en)." in page.inner_text("#resend-all-count")
    yield "admin-resend-all"
    click_and_wait(page, "#resend-all-form button[type=submit]")
    assert "2 Zustellung(en) werden erneut gesendet." in page.inner_text("main")
    yield "admin-resend-all-done"
    open_page(page, base + "/staff/admin/kammern")
    yield "admin-chambers"
    open_page(page, base + "/staff/admin/kammern/hk-bremen")
    yield "admin-chamber"
    open_page(page, base + "/staff/admin/kammern/hk-bremen/bearbeiten")
    yield "admin-chamber-edit"
    page.fill("#options", "{kein json")
    with page.expect_navigation():
        page.click("#chamber-form button[type=submit]")
    assert "error-summary" in page.content()
    yield "admin-chamber-edit-error"


def api_pages(app, page, base) -> Iterator[str]:
    open_page(page, base + "/api/v1/docs")
    assert "POST /api/v1/filings/{reference}/transitions" in page.inner_text("main")
    yield "api-docs"
    share_login(page, http_login(base, "admin", staff=True))
    open_page(page, base + "/staff/admin/api-zugaenge")
    yield "admin-api-clients"
    page.fill("#name", "")
    with page.expect_navigation():
        page.click("#client-form button[type=submit]")
    assert "error-summary" in page.content()
    yield "admin-api-clients-error"
    page.select_option("#chamber", "hwk-bremen")
    page.fill("#name", "Handwerksrolle")
    with page.expect_navigation():
        page.click("#client-form button[type=submit]")
    assert page.inner_text("#client-secret")
    yield "admin-api-client-secret"
    open_page(page, base + "/staff/admin/api-zugaenge")
    yield "admin-api-clients-listed"


SCENARIOS = {
    "anon:catalog": anonymous_catalog,
    "anon:legal": anonymous_legal,
    "anon:errors": anonymous_errors,
    "company:first-login": company_first_login,
    "company:services": company_services,
    "company:steps": company_steps,
    # the multichoice checkboxes (§ 34c activities, the HWK form's training) and the HWK form's steps
    "company:steps-34c": functools.partial(company_steps, case_id="immobilienmakler-gmbh-verwalter-bremen"),
    "company:steps-handwerksrolle": functools.partial(company_steps, case_id="handwerksrolle-meister-bremen"),
    # the employed Betriebsleiter's step, the decision's step with the EU/EEA state (issue 13, fourth pass)
    "company:steps-handwerksrolle-eu": functools.partial(company_steps, case_id="handwerksrolle-eu-ewr-hamburg"),
    "company:steps-gaststaette": functools.partial(company_steps, case_id="gaststaette-einzelkauffrau-bar-hamburg"),
    "company:filing": company_filing,
    "staff:inbox": chamber_inbox,
    "steering:dashboard": steering_dashboard,
    "admin:pages": admin_pages,
    "api:pages": api_pages,
}


# ---------- the checks -------------------------------------------------------------------------

def check_view(page, view: str, screenshot_dir) -> dict[str, str]:
    """axe at desktop width, reflow at 320 px, the error summary's links, the browser console;
    returns {axe rule, "reflow", "error-summary" or "console": description}."""
    page.set_viewport_size(DESKTOP)
    found = {v.rule: str(v) for v in axe_scan(page)}
    if view in MAIN_VIEWS:
        screenshot(page, screenshot_dir, view)
    page.set_viewport_size(NARROW)
    over = horizontal_overflow(page)
    if over:
        found["reflow"] = (f"scrolls horizontally at 320 px (scrollWidth {over['scrollWidth']}); "
                           "past the right edge: " + ", ".join(over["culprits"]))
    if view in MAIN_VIEWS:
        screenshot(page, screenshot_dir, view + "-320")
    page.set_viewport_size(DESKTOP)
    broken = page.evaluate("""() => [...document.querySelectorAll('#error-summary a[href^="#"]')]
        .filter(a => !document.getElementById(a.getAttribute('href').slice(1))
                     || /[{}\\[\\]]/.test(a.textContent))
        .map(a => a.getAttribute('href') + ' '
                  + JSON.stringify(a.textContent.trim().slice(0, 80)))""")
    if broken:  # every entry of the error summary leads to its field and reads as a sentence
        found["error-summary"] = ("error summary links without a target or with raw data: "
                                  + ", ".join(broken))
    if page.portal_errors:  # CSP refusals, missing assets, script errors: logged by Chromium
        found["console"] = "errors in the browser console: " + " | ".join(page.portal_errors)
        page.portal_errors.clear()
    return found


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_pages_meet_wcag_21_aa_and_reflow(app, live_server, new_page, screenshot_dir, scenario):
    page = new_page()
    problems: list[str] = []
    expected: list[str] = []
    views = []
    for view in SCENARIOS[scenario](app, page, live_server):
        views.append(view)
        found = check_view(page, view, screenshot_dir)
        known = {rule: why for (v, rule), why in KNOWN_ISSUES.items() if v == view}
        unexpected = [text for rule, text in found.items() if rule not in known]
        if unexpected:
            problems.append(f"{view} ({page.url}):\n" + "\n".join(f"  - {t}" for t in unexpected))
        gone = sorted(set(known) - set(found))
        if gone:
            problems.append(f"{view}: listed in KNOWN_ISSUES but no longer found, remove: {gone}")
        expected += [f"{view}/{rule}: {why}" for rule, why in known.items() if rule in found]
    assert views, "the scenario reached no page"
    assert not problems, (f"{len(problems)} of {len(views)} views have problems:\n"
                          + "\n".join(problems))
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
    with pytest.raises(AssertionError) as failed:
        assert_no_violations(page)
    assert "[critical] label: Form elements must have labels" in str(failed.value)
    assert "targets: #unlabelled" in str(failed.value)


def test_console_errors_such_as_csp_refusals_are_collected(page, live_server):
    page.goto(live_server + "/impressum")
    assert page.portal_errors == []
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.inlineRan = true';
                             document.body.append(s); }""")
    page.wait_for_timeout(100)
    assert page.evaluate("() => window.inlineRan") is None  # the portal's CSP refused it
    assert any("Content Security Policy" in e for e in page.portal_errors), page.portal_errors
