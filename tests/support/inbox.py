"""Chamber staff in the inbox over HTTP: a logged-in staff client, an item's page, setting a status."""

from __future__ import annotations

import re

from tests.support.http import csrf_token, login


def staff_client(app, sub: str):
    """A new test client logged in as the staff member ``sub``."""
    c = app.test_client()
    login(c, sub, staff=True)
    return c


def item_path(staff, reference: str) -> str:
    """The path of the filing ``reference`` as linked from the staff member's inbox."""
    html = staff.get("/staff/posteingang").get_data(as_text=True)
    match = re.search(r'href="(/staff/posteingang/\d+)">' + re.escape(reference), html)
    assert match, "filing not in inbox"
    return match.group(1)


def set_status(staff, path: str, kind: str, detail: str = ""):
    token = csrf_token(staff.get(path).get_data(as_text=True))
    return staff.post(path, data={"csrf_token": token, "kind": kind, "detail": detail})
