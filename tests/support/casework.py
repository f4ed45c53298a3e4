"""Working a filing over HTTP: staff take steps and write; the company answers."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from tests.support.http import csrf_token, login
from tests.support.pdfs import minimal_pdf

PDF = minimal_pdf("decision document")
EXPECTED_RE = re.compile(r'name="expected_status"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="expected_status"')


def form_token(html: str, form_id: str) -> str:
    """The one-time token of the form ``form_id`` on a page."""
    form = re.search(r'<form[^>]*id="' + re.escape(form_id) + r'".*?</form>', html, re.S)
    assert form, f"no form {form_id}"
    match = re.search(r'name="form_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_token"', form.group(0))
    assert match, f"form {form_id} has no one-time token"
    return match.group(1) or match.group(2)


def staff_client(app, sub: str):
    c = app.test_client()
    login(c, sub, staff=True)
    return c


def item_path(staff, reference: str) -> str:
    """The inbox item page of a filing, found through the inbox list."""
    html = staff.get("/staff/posteingang").get_data(as_text=True)
    match = re.search(r'href="(/staff/posteingang/\d+)"[^>]*>\s*' + re.escape(reference), html)
    assert match, f"{reference} not in the inbox"
    return match.group(1)


def expected_status(html: str) -> str:
    match = EXPECTED_RE.search(html)
    assert match, "page has no step form"
    return match.group(1) or match.group(2) or ""


def take_step(staff, path: str, action: str, detail: str = "", due_on: date | None | str = None,
              documents: list[tuple[bytes, str]] = (), expected: str | None = None):
    """Post one step as the page offers it (its CSRF token and the status it shows)."""
    page = staff.get(path).get_data(as_text=True)
    if action == "information_requested" and due_on is None:
        due_on = date.today() + timedelta(days=14)
    data = {"csrf_token": csrf_token(page), "action": action, "detail": detail,
            "expected_status": expected if expected is not None else expected_status(page),
            "due_on": due_on.isoformat() if isinstance(due_on, date) else (due_on or ""),
            "form_token": form_token(page, "action-form") if 'id="action-form"' in page else "",
            "documents": [(io.BytesIO(content), name) for content, name in documents]}
    return staff.post(f"{path}/schritt", data=data, content_type="multipart/form-data")


def staff_message(staff, path: str, body: str, files: list[tuple[bytes, str]] = ()):
    page = staff.get(path).get_data(as_text=True)
    return staff.post(f"{path}/nachricht", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "body": body, "files": [(io.BytesIO(c), n) for c, n in files],
        "form_token": form_token(page, "message-form") if 'id="message-form"' in page else ""})


def answer(client, reference: str, body: str, files: list[tuple[bytes, str]] = ()):
    """The company answers on the filing's page (the open request, if there is one)."""
    page = client.get(f"/antraege/{reference}").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "body": body, "files": [(io.BytesIO(c), n) for c, n in files]}
    if 'id="message-form"' in page:
        data["form_token"] = form_token(page, "message-form")
    match = re.search(r'name="request_id" value="(\d+)"', page)
    if match:
        data["request_id"] = match.group(1)
    return client.post(f"/antraege/{reference}/nachricht", data=data, content_type="multipart/form-data")
