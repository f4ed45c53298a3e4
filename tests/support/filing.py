"""Driving the multi-step filing flow over HTTP, as a person with a browser would."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.support.http import csrf_token

REFERENCE_RE = re.compile(r"BP-\d{4}-[2-9A-Z]{6}")


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def start_draft(client, service_key: str) -> str:
    """Press "Antrag beginnen"; returns the path of the first step."""
    page = client.get(f"/leistungen/{service_key}/antrag")
    assert page.status_code == 200, page.status_code
    token = csrf_token(page.get_data(as_text=True))
    resp = client.post(f"/leistungen/{service_key}/antrag", data={"csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return path_of(resp.headers["Location"])


def post_step(client, step_path: str, answers: dict, files: dict | None = None, action: str = "next"):
    """Open a step and submit it with ``answers`` (form field names) and ``files`` (name → (bytes, filename))."""
    page = client.get(step_path)
    assert page.status_code == 200, (step_path, page.status_code)
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "action": action, **answers}
    for name, (content, filename) in (files or {}).items():
        import io

        data[name] = (io.BytesIO(content), filename)
    return client.post(step_path, data=data, content_type="multipart/form-data")


def file_service(client, service_key: str, steps: list[dict] | dict[str, dict], files: dict | None = None) -> str:
    """Fill every step in order and submit; returns the filing's reference.

    ``steps`` is a list of answers, one per step; or a dict step key → answers, which also checks
    that exactly these steps are shown, in this order (for conditional steps).
    """
    path = start_draft(client, service_key)
    keyed = list(steps.items()) if isinstance(steps, dict) else [(None, answers) for answers in steps]
    for step_key, answers in keyed:
        if step_key is not None:
            assert path.rsplit("/", 1)[-1] == step_key, f"expected step {step_key!r}, the portal shows {path}"
        resp = post_step(client, path, answers, files=files)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
        path = path_of(resp.headers["Location"])
    assert path.endswith("/pruefen"), path
    review = client.get(path)
    assert review.status_code == 200
    resp = client.post(path, data={"csrf_token": csrf_token(review.get_data(as_text=True))})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    match = REFERENCE_RE.search(resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match.group(0)


def gewerbe_answers(**changes) -> dict:
    """The answers of a Gewerbeanmeldung of a crafts business in Bremen (Gewerbeamt, copy to the HWK)."""
    answers = {
        "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH", "street": "Am Wall 120",
        "postcode": "28195", "city": "Bremen", "activity": "Elektroinstallation", "start_date": "2027-01-01",
        "handwerk": "yes",
    }
    answers.update(changes)
    return answers
