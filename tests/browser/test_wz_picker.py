"""The WZ 2008 picker in Chromium, on the move's step "Tätigkeit und Beschäftigte": what was typed
on the step survives "Suchen", the narrowed list has the focus, and the page passes axe-core;
Enter in the search field searches, Enter in any other field goes on (also without JavaScript)."""

from __future__ import annotations

import re

from tests.support.browser import assert_no_violations, share_login
from tests.support.bundles import MOVE, form_values
from tests.support.filing import path_of
from tests.support.http import csrf_token, http_login


def test_search_keeps_the_typed_answers_and_focuses_the_results(live_server, new_page):
    client = http_login(live_server, "anna.becker")
    start = client.get("/vorhaben/betrieb-verlegen-aufgeben")
    resp = client.post("/vorhaben/betrieb-verlegen-aufgeben",
                       data={"csrf_token": csrf_token(start.get_data(as_text=True))})
    path = path_of(resp.headers["Location"])
    while not path.endswith("/taetigkeit"):  # the earlier questions, over HTTP
        html = client.get(path).get_data(as_text=True)
        resp = client.post(path, data={**form_values(html), **MOVE, "action": "next"})
        assert resp.status_code == 302
        path = path_of(resp.headers["Location"])
    page = new_page()
    share_login(page, client)
    page.goto(live_server + path)
    for name, value in (("nebenerwerb", "yes"), ("handwerk", "no"), ("industrie", "no"), ("handel", "yes"),
                        ("sonstiges", "no")):
        page.check(f"input[name={name}][value={value}]")
    page.fill("#taetigkeit", "Einzelhandel mit Fahrrädern")
    page.fill("#vollzeit", "4")
    page.fill("#teilzeit", "2")
    page.fill("#wz2008-suche", "fahrrad")
    page.get_by_role("button", name="Suchen").click()
    page.wait_for_url(re.compile(r"suche-wz2008=fahrrad"))
    assert page.locator("#vollzeit").input_value() == "4" and page.locator("#teilzeit").input_value() == "2"
    assert page.locator("input[name=nebenerwerb][value=yes]").is_checked()
    assert page.locator("input[name=handel][value=yes]").is_checked()
    assert page.evaluate("document.activeElement.id") == "wz2008"
    assert "passen zu „fahrrad“" in page.locator("#wz2008-treffer").inner_text()
    assert_no_violations(page, "step after a WZ search")
    page.select_option("#wz2008", "47.64.1")
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/neu$"))


def _activity_step(live_server):
    """A company's client and the path of the move's step "Tätigkeit und Beschäftigte" (the earlier
    questions answered over HTTP)."""
    client = http_login(live_server, "anna.becker")
    start = client.get("/vorhaben/betrieb-verlegen-aufgeben")
    resp = client.post("/vorhaben/betrieb-verlegen-aufgeben",
                       data={"csrf_token": csrf_token(start.get_data(as_text=True))})
    path = path_of(resp.headers["Location"])
    while not path.endswith("/taetigkeit"):
        html = client.get(path).get_data(as_text=True)
        resp = client.post(path, data={**form_values(html), **MOVE, "action": "next"})
        assert resp.status_code == 302
        path = path_of(resp.headers["Location"])
    return client, path


def _answer_all_but_the_activity(page) -> None:
    for name, value in (("nebenerwerb", "yes"), ("handwerk", "no"), ("industrie", "no"), ("handel", "yes"),
                        ("sonstiges", "no")):
        page.check(f"input[name={name}][value={value}]")
    page.fill("#taetigkeit", "Einzelhandel mit Fahrrädern")
    page.fill("#vollzeit", "4")
    page.fill("#teilzeit", "2")


def test_enter_searches_in_the_search_field_and_goes_on_in_any_other(live_server, new_page):
    client, path = _activity_step(live_server)
    page = new_page()
    share_login(page, client)
    page.goto(live_server + path)
    assert_no_violations(page, "step with the WZ picker")
    _answer_all_but_the_activity(page)
    page.fill("#wz2008-suche", "fahrrad")
    page.press("#wz2008-suche", "Enter")
    page.wait_for_url(re.compile(r"suche-wz2008=fahrrad"))
    assert "passen zu „fahrrad“" in page.locator("#wz2008-treffer").inner_text()
    assert page.locator("#vollzeit").input_value() == "4"
    page.select_option("#wz2008", "47.64.1")
    page.press("#teilzeit", "Enter")  # as "Weiter": the step is saved and the next one opens
    page.wait_for_url(re.compile(r"/neu$"))
    assert not page.portal_errors, page.portal_errors


def test_enter_in_a_field_goes_on_without_javascript(browser, live_server, app):
    client, path = _activity_step(live_server)
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        share_login(page, client)
        page.goto(live_server + path)
        _answer_all_but_the_activity(page)
        page.select_option("#wz2008", "43.21.0")
        page.press("#vollzeit", "Enter")
        page.wait_for_url(re.compile(r"/neu$"))
    finally:
        context.close()


def test_the_count_while_typing_says_one_entry_in_the_singular(live_server, new_page):
    """"1 passende Einträge" (new-user trial): the count the script writes as one types takes the
    page's singular for one match, the plural otherwise."""
    client, path = _activity_step(live_server)
    page = new_page()
    share_login(page, client)
    page.goto(live_server + path)
    page.fill("#wz2008-suche", "47641")  # one subclass: 47.64.1
    page.wait_for_function("() => document.getElementById('wz2008-treffer').textContent.trim() !== ''")
    assert page.inner_text("#wz2008-treffer").strip() == "1 passender Eintrag"
    page.fill("#wz2008-suche", "fahrrad")
    page.wait_for_function(
        "() => /passende Einträge$/.test(document.getElementById('wz2008-treffer').textContent.trim())")
    assert int(page.inner_text("#wz2008-treffer").split()[0]) > 1
