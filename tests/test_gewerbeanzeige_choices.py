"""The choices of GewA 1 and GewA 3 as the official forms print them: the reasons in the form's
order (docs/gewerbeanzeige.md quotes field 25 of GewA 1 and fields 25/26 of GewA 3), and a choice's
answer without the field number its question already carries (clerk trial, issue 13)."""

from __future__ import annotations

import re

import pytest

from bizportal.catalog.loader import load_catalog
from tests.support.filing import fill_steps, gewerbe_answers, start_draft
from tests.support.gewerbeanzeige import ABMELDUNG
from tests.support.permits import to_step

NUMBER = re.compile(r"\(Feld (\d+)\)")


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def offered(html: str, name: str) -> list[str]:
    """The choices of ``name`` (radio buttons, or a list box for many), in the order the page shows them."""
    select = re.search(rf'<select[^>]*\bname="{name}"[^>]*>(.*?)</select>', html, re.S)
    if select:
        labels = re.findall(r'<option value="[^"]+"[^>]*>(.*?)</option>', select.group(1), re.S)
    else:
        labels = re.findall(rf'<label[^>]*\bfor="{name}-\d+"[^>]*>(.*?)</label>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", label).split()) for label in labels]


def test_the_reasons_of_a_gewerbeanmeldung_stand_in_the_order_of_field_25(company):
    page = company.get(to_step(company, "gewerbeanmeldung", gewerbe_answers(), "grund")).get_data(as_text=True)
    assert offered(page, "grund") == [
        "Neuerrichtung/Neugründung",
        "Wiedereröffnung nach Verlegung aus einem anderen Meldebezirk",
        "Wechsel der Rechtsform",
        "Übergang nach dem Umwandlungsgesetz (z. B. Verschmelzung, Spaltung)",
        "Übernahme durch Erbfolge", "Übernahme durch Kauf", "Übernahme durch Pacht",
        "Gesellschaftereintritt",
    ]


def test_the_reasons_of_a_gewerbeabmeldung_stand_in_the_order_of_fields_25_and_26(company):
    page = company.get(to_step(company, "gewerbeabmeldung", ABMELDUNG, "abmeldung")).get_data(as_text=True)
    assert offered(page, "grund") == [
        "Vollständige Aufgabe", "Verlegung in einen anderen Meldebezirk",
        "Wechsel der Rechtsform", "Übergang nach dem Umwandlungsgesetz (z. B. Verschmelzung, Spaltung)",
        "Übergabe durch Erbfolge, Verkauf oder Verpachtung", "Gesellschafteraustritt",
    ]


def test_the_review_names_field_23_once_with_its_question_not_again_with_the_answer(company):
    review = fill_steps(company, start_draft(company, "gewerbeanmeldung"), gewerbe_answers())
    page = " ".join(re.sub(r"<[^>]+>", " ", company.get(review).get_data(as_text=True)).split())
    assert "Die Anmeldung wird erstattet für (Feld 23) eine Hauptniederlassung " in page
    assert page.count("(Feld 23)") == 1


@pytest.mark.parametrize("service", ["gewerbeanmeldung", "gewerbeummeldung", "gewerbeabmeldung"])
def test_no_choice_repeats_the_field_number_of_its_question(service):
    def fields(defs):
        for fd in defs:
            yield fd
            yield from fields(fd.fields)

    for fd in fields(load_catalog()[service].fields):
        asked = set(NUMBER.findall(fd.label.de))
        for choice in fd.choices:
            assert not asked & set(NUMBER.findall(choice.label.de)), (fd.name, choice.value)
