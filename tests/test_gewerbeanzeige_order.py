"""GewA 1, 2 and 3 show their answers in the order of the official form's numbering: the review, the
receipt, the staff filing page and the staff exports (the labels carry the printed field numbers,
docs/gewerbeanzeige.md)."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from bizportal.delivery.worker import Worker
from tests.support.casework import item_path, staff_client
from tests.support.filing import fill_steps, start_draft
from tests.support.gewerbeanzeige import CASES
from tests.support.http import submit_form

NUMBER = re.compile(r"\((?:Feld|Felder) (\d+)(?: und \d+)?\)")



def numbers(text: str) -> list[int]:
    return [int(n) for n in NUMBER.findall(text)]


def first_seen(found: list[int]) -> list[int]:
    """The numbers in the order each first appears (a field asked in two parts, like field 2's
    register entry on a step of its own after the question whether there is one, appears again)."""
    return list(dict.fromkeys(found))


def main_content(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _review(company, service: str) -> str:
    return fill_steps(company, start_draft(company, service), CASES[service])


@pytest.mark.parametrize("service", CASES)
def test_the_review_shows_the_fields_in_the_order_of_the_form(company, service):
    html = main_content(company.get(_review(company, service)).get_data(as_text=True))
    found = numbers(html)
    assert {16, 18, 20, 21, 22, 23, 24} <= set(found), found
    assert first_seen(found) == sorted(first_seen(found)), found


@pytest.mark.parametrize("service", CASES)
def test_receipt_staff_page_and_exports_show_the_fields_in_the_order_of_the_form(app, company, service):
    path = _review(company, service)
    review = company.get(path)
    resp = company.post(path, data=submit_form(review.get_data(as_text=True)))
    reference = re.search(r"BP-\d{4}-[2-9A-Z]{6}", resp.headers["Location"]).group(0)

    receipt = company.get(f"/antraege/{reference}/eingangsbestaetigung.pdf").data
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt)).pages)
    found = numbers(" ".join(text.split()))
    assert {16, 20, 22, 23} <= set(found) and found == sorted(found), found

    assert Worker(app).run_once() == 2
    amt = staff_client(app, "gewerbeamt.bremen")
    item = item_path(amt, reference)
    found = numbers(main_content(amt.get(item).get_data(as_text=True)))
    assert {16, 20, 22, 23} <= set(found) and found == sorted(found), found
    labels = [a["label"]["de"] for a in amt.get(f"{item}/export.json").get_json()["answers"]]
    found = numbers(" ".join(labels))
    assert {16, 20, 22, 23} <= set(found) and found == sorted(found), found
