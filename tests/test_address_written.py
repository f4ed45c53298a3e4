"""An address answer is written as a letter is addressed, postcode and town together: "Am Wall 120,
28195 Bremen" — on the review, the status page, the receipt, the staff page, the staff PDF and the
text of the staff JSON export (clerk trial, issue 13: "Am Wall 120, 28195, Bremen")."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from bizportal.catalog.models import compound_values
from bizportal.delivery.worker import Worker
from tests.support.casework import item_path, staff_client
from tests.support.filing import fill_steps, gewerbeummeldung_answers, start_draft
from tests.support.http import submit_form

OLD = "Am Wall 120, 28195 Bremen"
NEW = "Hastedter Heerstraße 285, 28207 Bremen"


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" ,", ",")


def _pdf_text(content: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def test_the_premises_of_a_move_are_written_with_postcode_and_town_together_everywhere(app, company):
    review = fill_steps(company, start_draft(company, "gewerbeummeldung"), gewerbeummeldung_answers())
    page = company.get(review).get_data(as_text=True)
    assert OLD in _text(page) and NEW in _text(page)
    resp = company.post(review, data=submit_form(page))
    reference = re.search(r"BP-\d{4}-[2-9A-Z]{6}", resp.headers["Location"]).group(0)

    status = _text(company.get(f"/antraege/{reference}").get_data(as_text=True))
    receipt = _pdf_text(company.get(f"/antraege/{reference}/eingangsbestaetigung.pdf").data)
    assert Worker(app).run_once() == 2
    amt = staff_client(app, "gewerbeamt.bremen")
    item = item_path(amt, reference)
    staff_page = _text(amt.get(item).get_data(as_text=True))
    staff_pdf = _pdf_text(amt.get(f"{item}/export.pdf").data)
    texts = {a["field"]: a["text"] for a in amt.get(f"{item}/export.json").get_json()["answers"]}
    for where, text in {"status": status, "receipt": receipt, "staff page": staff_page, "staff PDF": staff_pdf,
                        "JSON": texts["betriebsanschrift"] + " | " + texts["neue_anschrift"]}.items():
        assert OLD in text and NEW in text, where
        assert "28195, Bremen" not in text and "28207, Bremen" not in text, where


def test_an_address_abroad_names_its_state_after_the_town_and_one_at_home_none():
    abroad = {"street": "Mariahilfer Straße 12", "postcode": "1060", "city": "Wien", "country": "AT"}
    assert ", ".join(compound_values(abroad, "de")) == "Mariahilfer Straße 12, 1060 Wien, Österreich"
    assert ", ".join(compound_values(abroad, "en")) == "Mariahilfer Straße 12, 1060 Wien, Austria"
    home = {"city": "Bremen", "country": "DE", "postcode": "28195", "street": "Am Wall 120"}  # as JSONB orders it
    assert ", ".join(compound_values(home, "de")) == OLD
