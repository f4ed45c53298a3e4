"""The journey by keyboard alone, in Chromium, at desktop width and at 320 px.

No mouse: the only page.goto is the start URL of each person; everything else is Tab, Enter,
Space and typing. On the portal's own pages every element that takes focus on the way must show
a focus indicator and be in view. The login provider's page is third-party: it is crossed by
keyboard too, without those checks.
"""

from __future__ import annotations

import pytest

from bizportal.delivery.worker import Worker
from tests.support.browser import (
    DESKTOP,
    NARROW,
    REF_RE,
    focused,
    keyboard_fill,
    press_and_wait,
    screenshot,
    tab_to,
    tab_to_id,
    tab_to_text,
    wait_for_focus,
)
from tests.support.filing import MAX_STEPS, gewerbe_answers

WIDTHS = pytest.mark.parametrize("viewport", [DESKTOP, NARROW], ids=["desktop", "320px"])


def keyboard_login(page, base: str, sub: str, staff: bool = False) -> None:
    """From a portal page: the header's login link, then the provider's button for ``sub``."""
    tab_to_text(page, "Anmeldung für Mitarbeitende" if staff else "Anmelden (Unternehmen)", tag="a")
    press_and_wait(page)
    assert not page.url.startswith(base), "expected the login provider's page"
    tab_to(page, lambda i: i["tag"] == "button" and i["value"] == sub, f"provider button {sub!r}",
           check_focus=False)
    press_and_wait(page)
    assert page.url.startswith(base), page.url
    assert "Sie sind angemeldet." in page.inner_text("main")


@WIDTHS
def test_skip_link_is_first_and_moves_focus_to_main(new_page, live_server, viewport):
    page = new_page(viewport)
    for path in ("/", "/leistungen/gewerbeanmeldung", "/barrierefreiheit"):
        page.goto(live_server + path)
        page.keyboard.press("Tab")
        first = focused(page)
        assert first["tag"] == "a" and first["text"] == "Zum Inhalt springen", (path, first)
        assert first["inView"] and first["indicator"], f"focused skip link not visible: {path}"
        page.keyboard.press("Enter")
        wait_for_focus(page, "main")
        # the next Tab continues inside main, past the header
        page.keyboard.press("Tab")
        after = focused(page)
        assert after["inMain"], f"Tab after the skip link left main on {path}: {after}"


@WIDTHS
def test_journey_by_keyboard_alone(app, live_server, new_page, screenshot_dir, viewport):
    base = live_server
    suffix = "" if viewport is DESKTOP else "-320"

    # --- a company person logs in; on the first login the company data are confirmed
    company = new_page(viewport)
    company.goto(base + "/")
    keyboard_login(company, base, "anna.becker")
    assert company.url.startswith(base + "/unternehmen/pruefen"), company.url
    tab_to_text(company, "Daten sind richtig – bestätigen", tag="button")
    press_and_wait(company)
    assert company.url == base + "/antraege", company.url

    # --- searches the catalog and opens the Gewerbeanmeldung
    tab_to_text(company, "Leistungen", tag="a")
    press_and_wait(company)
    assert company.url == base + "/"
    tab_to_id(company, "q")
    company.keyboard.type("Gewerbe anmelden")
    press_and_wait(company)  # Enter in the search field submits the search
    assert "q=Gewerbe+anmelden" in company.url, company.url
    tab_to_text(company, "Gewerbeanmeldung", tag="a")
    press_and_wait(company)
    assert company.url == base + "/leistungen/gewerbeanmeldung"
    tab_to_text(company, "Antrag online stellen", tag="a")
    press_and_wait(company)
    assert company.url == base + "/leistungen/gewerbeanmeldung/antrag"
    tab_to_text(company, "Antrag beginnen", tag="button")
    press_and_wait(company)
    assert "/antraege/entwurf/" in company.url, company.url
    assert company.input_value("#business_name") == "Becker Elektrotechnik GmbH"  # prefilled

    # --- "Weiter" with the form incomplete: the error summary has focus (the account answers the
    # step's questions, so the name is cleared first, by keyboard too)
    assert company.input_value("#inhaber_art") == "juristische_person"  # as the legal form tells
    tab_to_id(company, "business_name")
    company.keyboard.press("Control+A")
    company.keyboard.press("Delete")
    assert company.input_value("#business_name") == ""
    tab_to_text(company, "Weiter", tag="button")
    press_and_wait(company)
    wait_for_focus(company, "error-summary")
    assert company.title().startswith("Fehler:")
    summary = company.inner_text("#error-summary")
    assert "eingetragener Name mit Rechtsform (Feld 1)" in summary, summary
    screenshot(company, screenshot_dir, "keyboard-error-summary" + suffix)

    # --- the summary's first link leads to the first field with an error
    link = company.get_attribute("#error-summary a", "href")
    tab_to(company, lambda i: i["tag"] == "a" and i["href"] == link, f"link to {link}")
    company.keyboard.press("Enter")
    wait_for_focus(company, link[1:])
    company.keyboard.press("Shift+Tab")  # the fill below tabs forward onto it again

    # --- every step of the Gewerbeanmeldung (GewA 1), by keyboard
    answers = gewerbe_answers(activity="Elektroinstallation in Gebäuden")
    for _ in range(MAX_STEPS):
        if company.url.endswith("/pruefen"):
            break
        keyboard_fill(company, answers)
        tab_to_text(company, "Weiter", tag="button")
        press_and_wait(company)
        errors = company.query_selector("#error-summary")
        assert errors is None, f"{company.url}: {errors.inner_text()}"

    # --- the review page, then the binding submit
    assert company.url.endswith("/pruefen"), company.url
    assert "Elektroinstallation in Gebäuden" in company.inner_text("main")
    tab_to_id(company, "declaration")
    company.keyboard.press("Space")
    assert company.is_checked("#declaration")
    tab_to_text(company, "Antrag verbindlich einreichen", tag="button")
    press_and_wait(company)
    heading = company.inner_text("h1")
    match = REF_RE.search(heading)
    assert match, f"no reference in {heading!r}; main: {company.inner_text('main')[:400]}"
    reference = match.group(0)
    assert company.url == f"{base}/antraege/{reference}", company.url
    body = company.inner_text("main")
    assert "Ihr Antrag wurde eingereicht" in body and f"Ihr Aktenzeichen: {reference}" in body
    assert "Wie es weitergeht" in body
    assert "Gewerbeamt Bremen" in body and "Handwerkskammer Bremen" in body
    screenshot(company, screenshot_dir, "keyboard-filing" + suffix)

    assert Worker(app).run_once() == 2

    # --- the Gewerbeamt opens its inbox and the filing
    staff = new_page(viewport)
    staff.goto(base + "/")
    keyboard_login(staff, base, "gewerbeamt.bremen", staff=True)
    assert staff.url == base + "/staff/posteingang"
    tab_to_text(staff, reference, tag="a")
    press_and_wait(staff)
    assert reference in staff.inner_text("h1")
    assert "Elektroinstallation in Gebäuden" in staff.inner_text("main")
    screenshot(staff, screenshot_dir, "keyboard-inbox-item" + suffix)

    # --- ... and works it to a decision: the arrow keys choose in the radio group
    tab_to_id(staff, "action-0")
    for _ in range(3):
        staff.keyboard.press("ArrowDown")
    assert staff.evaluate("document.activeElement.id") == "action-3"
    assert staff.is_checked("#action-3")  # Anzeige bestätigen
    tab_to_id(staff, "detail")
    staff.keyboard.type("Die Gewerbeanmeldung ist eingetragen.")
    tab_to_text(staff, "Schritt speichern", tag="button")
    press_and_wait(staff)
    assert "Gespeichert: Anzeige bestätigen" in staff.inner_text("main")
    assert "Dieser Antrag ist abgeschlossen." in staff.inner_text("main")

    company.reload()
    decided = company.inner_text("main")
    assert "Bestätigt" in decided and "Die Gewerbeanmeldung ist eingetragen." in decided

    # --- the steering group opens the dashboard
    steering = new_page(viewport)
    steering.goto(base + "/")
    keyboard_login(steering, base, "steering", staff=True)
    assert steering.url == base + "/staff/statistik"
    # one filing: a small count, shown as such
    assert steering.inner_text("#table-kennzahlen tbody tr:first-child td") == "< 5"
    assert reference not in steering.inner_text("main")

    errors = company.portal_errors + staff.portal_errors + steering.portal_errors
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)


def test_zurueck_by_keyboard_keeps_what_was_typed_and_enter_still_goes_on(live_server, new_page):
    """On a step after the first, "Zurück" is reached by Tab after "Weiter" and leads to the
    previous step with what was typed kept (said in a status message); Enter in a field is still
    "Weiter" (the hidden default button comes first)."""
    from tests.support.browser import share_login
    from tests.support.filing import path_of, post_step, start_draft
    from tests.support.http import http_login

    client = http_login(live_server, "anna.becker")
    first = start_draft(client, "gewerbeanmeldung")
    resp = post_step(client, first, gewerbe_answers())
    second = path_of(resp.headers["Location"])
    page = new_page(DESKTOP)
    share_login(page, client)
    page.goto(live_server + second)
    field = page.evaluate("() => [...document.querySelectorAll('#step-form input[type=text], #step-form textarea')]"
                          ".find(e => e.offsetParent !== null).id")
    tab_to_id(page, field)
    page.keyboard.press("Control+A")
    page.keyboard.type("Eingabe vor dem Zurück")
    info = tab_to(page, lambda i: i["tag"] == "button" and i["text"].startswith("Zurück"), "Zurück")
    assert "Zurück zu „Betriebsinhaber“" in info["text"]
    press_and_wait(page)
    assert page.url == live_server + first, page.url
    assert "sind gespeichert" in page.inner_text("main")
    page.goto(live_server + second)
    assert page.input_value(f"#{field}") == "Eingabe vor dem Zurück"
    assert page.query_selector("#error-summary") is None  # not judged before "Weiter"
    page.focus(f"#{field}")
    press_and_wait(page)  # Enter in a field: "Weiter", which judges the page (never "Zurück")
    assert page.url.startswith(live_server + second), page.url
    assert page.query_selector("#error-summary") is not None
