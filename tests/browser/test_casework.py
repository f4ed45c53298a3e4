"""The case-work loop in Chromium by keyboard alone, with the axe scan on every page of it:
staff request a document, the company answers with a PDF, staff decide with a decision PDF,
the company downloads it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bizportal.delivery.worker import Worker
from tests.support.browser import (
    DESKTOP,
    assert_no_violations,
    file_over_http,
    press_and_wait,
    share_login,
    tab_to,
    tab_to_id,
    tab_to_text,
)
from tests.support.http import http_login
from tests.support.pdfs import minimal_pdf

DECISION = minimal_pdf("Gewerbeschein Becker")
ANSWER = minimal_pdf("Handwerkskarte Becker")


def choose_file(page, input_id: str, path: Path) -> None:
    """Focus the file input by Tab and open its chooser with Space, as a keyboard user does.

    Once in a CI run at load 15 on two cores the chooser did not open within 10 s of the key
    press; a second press on the still focused input is what a person would do then."""
    tab_to_id(page, input_id)
    try:
        with page.expect_file_chooser() as chooser:
            page.keyboard.press("Space")
    except PlaywrightTimeout:
        assert page.evaluate("document.activeElement.id") == input_id
        with page.expect_file_chooser(timeout=30_000) as chooser:
            page.keyboard.press("Space")
    chooser.value.set_files(str(path))


def choose_radio(page, group: str, label: str) -> None:
    """Tab into a radio group and move with the arrow keys to the option labelled ``label``."""
    tab_to_id(page, f"{group}-0")
    for _ in range(10):
        checked_label = page.evaluate(
            "() => document.querySelector(`label[for='${document.activeElement.id}']`).innerText")
        if checked_label.strip() == label:
            page.keyboard.press("Space")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no option {label!r} in {group}")


def test_request_answer_decision_by_keyboard(app, live_server, new_page, tmp_path):
    base = live_server
    reference = file_over_http(http_login(base, "anna.becker"))
    assert Worker(app).run_once() == 2
    (tmp_path / "Handwerkskarte.pdf").write_bytes(ANSWER)
    (tmp_path / "Gewerbeschein.pdf").write_bytes(DECISION)

    staff = new_page(DESKTOP)
    share_login(staff, http_login(base, "gewerbeamt.bremen", staff=True))
    staff.goto(base + "/staff/posteingang")
    tab_to_text(staff, reference, tag="a")
    press_and_wait(staff)
    assert_no_violations(staff, "staff item")

    # --- staff request a document with a due date
    choose_radio(staff, "action", "Angaben oder Unterlagen nachfordern")
    tab_to_id(staff, "detail")
    staff.keyboard.type("Bitte reichen Sie die Handwerkskarte nach.")
    # day and month equal: the same keys in either field order of the browser's date input
    due = date(date.today().year + 1, 1, 1)
    tab_to_id(staff, "due_on")
    staff.keyboard.type(due.strftime("%d%m%Y"))
    assert staff.input_value("#due_on") == due.isoformat()
    tab_to_text(staff, "Schritt speichern", tag="button")
    press_and_wait(staff)
    assert "Gespeichert: Angaben oder Unterlagen nachfordern" in staff.inner_text("main")
    assert_no_violations(staff, "staff item after request")

    # --- the company answers on its filing's page, with a PDF
    company = new_page(DESKTOP)
    share_login(company, http_login(base, "anna.becker"))
    company.goto(base + "/antraege")
    tab_to_text(company, reference, tag="a")
    press_and_wait(company)
    main = company.inner_text("main")
    assert "Bitte reichen Sie die Handwerkskarte nach." in main
    assert "Nachforderung von Gewerbeamt Bremen (Stadtamt) beantworten" in main
    assert_no_violations(company, "company filing with request")
    tab_to_id(company, "body")
    company.keyboard.type("Anbei die Handwerkskarte.")
    choose_file(company, "files", tmp_path / "Handwerkskarte.pdf")
    tab_to_text(company, "Antwort senden", tag="button")
    press_and_wait(company)
    assert "Ihre Antwort wurde an Gewerbeamt Bremen (Stadtamt) gesendet." in company.inner_text("main")
    assert "Antwort eingegangen" in company.inner_text("main")
    assert_no_violations(company, "company filing after answer")

    # --- staff see the answer and decide, attaching the decision
    staff.reload()
    main = staff.inner_text("main")
    assert "Anbei die Handwerkskarte." in main and "Handwerkskarte.pdf" in main
    choose_radio(staff, "action", "Anzeige bestätigen")
    tab_to_id(staff, "detail")
    staff.keyboard.type("Die Gewerbeanmeldung ist eingetragen.")
    choose_file(staff, "documents", tmp_path / "Gewerbeschein.pdf")
    tab_to_text(staff, "Schritt speichern", tag="button")
    press_and_wait(staff)
    assert "Dieser Antrag ist abgeschlossen." in staff.inner_text("main")
    assert_no_violations(staff, "staff item decided")

    # --- the company downloads the decision
    company.reload()
    assert "Bestätigt" in company.inner_text("main")
    tab_to(company, lambda i: i["tag"] == "a" and i["text"] == "Gewerbeschein.pdf", "decision link")
    with company.expect_download() as download:
        company.keyboard.press("Enter")
    assert Path(download.value.path()).read_bytes() == DECISION
    assert_no_violations(company, "company filing decided")

    errors = company.portal_errors + staff.portal_errors
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)
