"""Whole-number answers (staff counts, insured sums) as people type them: thousands grouped with the
page language's separator are taken ("12.500" in German, "12,500" in English); anything else gets
one clear message, not two at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bizportal.extensions import db
from bizportal.filings.models import Draft
from tests.support.filing import gewerbe_answers, post_step
from tests.support.permits import BEWACHUNG, answers, to_step

MESSAGE_DE = "Bitte geben Sie eine ganze Zahl an, z. B. 12500 oder 12.500."
MESSAGE_EN = "Please enter a whole number, for example 12500 or 12,500."


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _staff_step(company) -> str:
    return to_step(company, "gewerbeanmeldung", gewerbe_answers(), "beschaeftigte")


def _stored(app, name: str):
    with app.app_context():
        return db.session.scalar(select(Draft)).data[name]


def _messages_at_vollzeit(html: str) -> list[str]:
    """Every message the page shows for the field: at the field and in the error summary."""
    return re.findall(r'href="#vollzeit">([^<]*)</a>', html)


@pytest.mark.parametrize("typed, number", [("12.500", 12500), ("12500", 12500), ("1 250", 1250), ("0", 0)])
def test_german_thousands_are_taken(app, company, typed, number):
    resp = post_step(company, _staff_step(company), gewerbe_answers(vollzeit=typed))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert _stored(app, "vollzeit") == number


@pytest.mark.parametrize("typed", ["12,5", "12.5", "1.25.000", "zwölf", "12.500 Personen"])
def test_anything_else_gets_one_message(company, typed):
    resp = post_step(company, _staff_step(company), gewerbe_answers(vollzeit=typed))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    summary = _messages_at_vollzeit(html)
    assert len(summary) == 1 and MESSAGE_DE in summary[0], summary
    assert "Bitte geben Sie eine Zahl zwischen" not in html and "Not a valid integer" not in html
    assert f'value="{typed}"' in html  # what was typed stays, to be corrected


def test_a_number_out_of_range_still_gets_the_range_message_alone(company):
    resp = post_step(company, _staff_step(company), gewerbe_answers(vollzeit="100.001"))
    assert resp.status_code == 422
    summary = _messages_at_vollzeit(resp.get_data(as_text=True))
    assert len(summary) == 1 and "zwischen 0 und 100.000" in summary[0], summary


def test_english_pages_group_with_commas(app, company):
    company.get("/sprache/en")
    path = _staff_step(company)
    resp = post_step(company, path, gewerbe_answers(vollzeit="12.500"))
    assert resp.status_code == 422
    summary = _messages_at_vollzeit(resp.get_data(as_text=True))
    assert len(summary) == 1 and MESSAGE_EN in summary[0], summary
    assert post_step(company, path, gewerbe_answers(vollzeit="12,500")).status_code == 302
    assert _stored(app, "vollzeit") == 12500


def test_the_field_is_a_text_input_with_a_numeric_keyboard(company):
    html = company.get(_staff_step(company)).get_data(as_text=True)
    field = re.search(r'<input[^>]*id="vollzeit"[^>]*>', html).group(0)
    assert 'type="text"' in field and 'inputmode="numeric"' in field


def test_an_insured_sum_with_thousands_dots_is_taken(app, client, login_as):
    login_as("lea.hansen")
    path = to_step(client, BEWACHUNG, answers(), "versicherung")
    sums = {"summe_sachschaeden": "250.000", "summe_personenschaeden": "1.000.000"}
    resp = post_step(client, path, {**answers(), **sums})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert (_stored(app, "summe_sachschaeden"), _stored(app, "summe_personenschaeden")) == (250000, 1000000)
