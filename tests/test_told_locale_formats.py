"""Dates, times, numbers, file sizes and amounts follow the page's language (Babel): on pages, in
mails and on the receipt PDF, in German and in English."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import render_template_string
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select

from bizportal.catalog.models import FieldDefinition, Text
from bizportal.common.formats import money, number
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.notify.services import render_mail
from tests.support.filing import file_service, gewerbe_answers, path_of, post_step, start_draft

NBSP = "\u00a0"
COUNT = FieldDefinition(name="anzahl", type="number", label=Text("Anzahl", "Count"))
DAY = FieldDefinition(name="tag", type="date", label=Text("Tag", "Day"))


def _both(app, template: str, **values) -> tuple[str, str]:
    with app.test_request_context():
        with force_locale("de"):
            de = render_template_string(template, **values)
        with force_locale("en"):
            en = render_template_string(template, **values)
    return de, en


def test_numbers_and_money_in_german_and_english(app):
    with app.test_request_context():
        with force_locale("de"):
            assert number(1234567) == "1.234.567" and number(2.5) == "2,5"
            assert money(Decimal("1234.5")) == f"1.234,50{NBSP}€"
        with force_locale("en"):
            assert number(1234567) == "1,234,567" and number(2.5) == "2.5"
            assert money(Decimal("1234.5")) == "€1,234.50"


def test_page_filters_render_each_kind_in_both_languages(app):
    at = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
    template = ("{{ at|datetimeformat }}|{{ day|dateformat }}|{{ 1536|filesize }}|{{ 2.5|decimal }}"
                "|{{ 1234|answer(count, locale) }}|{{ '2026-05-17'|answer(dayfield, locale) }}")
    de, en = _both(app, template, at=at, day=date(2026, 5, 17), count=COUNT, dayfield=DAY, locale="de")
    assert de.split("|") == ["04.12.2026, 16:30:00", "17.05.2026", f"1,5{NBSP}KB", "2,5", "1.234", "17.05.2026"]
    assert en.split("|") == ["Dec 4, 2026, 4:30:00\u202fPM", "May 17, 2026", f"1.5{NBSP}KB", "2.5", "1,234",
                             "May 17, 2026"]


def _refused_step(client, answers) -> str:
    """Fill the steps in order until one refuses the answers; that page."""
    path = start_draft(client, "gewerbeanmeldung")
    for _ in range(40):
        resp = post_step(client, path, answers)
        if resp.status_code != 302:
            return resp.get_data(as_text=True)
        path = path_of(resp.headers["Location"])
    raise AssertionError("no step refused the answers")


def test_a_number_out_of_range_is_explained_with_local_numbers(client, login_as):
    login_as("anna.becker")
    html = _refused_step(client, gewerbe_answers(vollzeit="200000"))
    assert "Bitte geben Sie eine Zahl zwischen 0 und 100.000 an." in html
    client.get("/sprache/en")
    html = _refused_step(client, gewerbe_answers(vollzeit="200000"))
    assert "between 0 and 100,000" in html


def test_reminder_mail_dates_follow_the_mail_language(app):
    values = {"chamber": "Handwerkskammer Bremen", "reference": "BP-2026-ABCDEF", "due_on": "2026-12-24",
              "detail": "", "link": "https://portal.example/antraege/BP-2026-ABCDEF", "title": "Gewerbeanmeldung"}
    with app.test_request_context():
        with force_locale("de"):
            _, de = render_mail("request_reminder", values)
        with force_locale("en"):
            _, en = render_mail("request_reminder", values)
    assert "bis zum 24.12.2026" in de
    assert "Dec 24, 2026" in en


def _receipt_text(app, reference: str) -> str:
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        content = filing.receipt.content
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(content)).pages)


def test_receipt_numbers_and_dates_follow_the_persons_language(app, client, login_as):
    login_as("anna.becker")
    answers = gewerbe_answers(vollzeit="1250", start_date="2027-01-01")
    german = _receipt_text(app, file_service(client, "gewerbeanmeldung", answers))
    assert "1.250" in german and "01.01.2027" in german
    client.get("/sprache/en")
    english = _receipt_text(app, file_service(client, "gewerbeanmeldung", answers))
    assert "1,250" in english and "Jan 1, 2027" in english
