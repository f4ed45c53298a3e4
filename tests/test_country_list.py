"""The list of states of a country field (nationality, country of birth, the state of a home address):
Germany first, then the others in dictionary order of their names in the page's language (Ä as A,
Ö as O, whatever the server's locale), with Kosovo among them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bizportal.common import countries
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.filings.xgewerbeanzeige import Authority, build_message, read_message
from tests.support.filing import file_service, gewerbe_answers
from tests.support.permits import to_step

OPTION_RE = re.compile(r'<option(?: selected)? value="([A-Z]{2})"(?: selected)?>([^<]+)</option>')


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _nationality_options(company, language: str) -> list[tuple[str, str]]:
    company.get(f"/sprache/{language}")
    path = to_step(company, "gewerbeanmeldung", gewerbe_answers(), "personen")
    html = company.get(path).get_data(as_text=True)
    select = html.split('name="personen-0-staatsangehoerigkeit"', 1)[1].split("</select>", 1)[0]
    return OPTION_RE.findall(select)


def _before(names: list[str], first: str, second: str) -> bool:
    return names.index(first) < names.index(second)


def test_german_list_sorts_umlauts_as_their_base_letter_and_offers_kosovo(company):
    options = _nationality_options(company, "de")
    names = [name for _code, name in options]
    assert names[0] == "Deutschland"
    assert _before(names, "Afghanistan", "Ägypten") and _before(names, "Ägypten", "Albanien")
    assert _before(names, "Oman", "Österreich") and _before(names, "Österreich", "Pakistan")
    assert _before(names, "Ålandinseln", "Albanien")
    assert names[1:] == sorted(names[1:], key=countries.collation_key)
    assert ("XK", "Kosovo") in options
    assert _before(names, "Kongo-Kinshasa", "Kosovo") and _before(names, "Kosovo", "Kroatien")


def test_english_list_is_sorted_by_the_english_names(company):
    options = _nationality_options(company, "en")
    names = [name for _code, name in options]
    assert names[0] == "Germany"
    assert "Austria" in names and "Österreich" not in names
    assert _before(names, "Afghanistan", "Åland Islands") and _before(names, "Åland Islands", "Albania")
    assert _before(names, "Côte d’Ivoire", "Croatia")
    assert names[1:] == sorted(names[1:], key=countries.collation_key)
    assert ("XK", "Kosovo") in options


def test_a_kosovar_nationality_is_filed_and_shown_but_gets_no_invented_code(app, company):
    reference = file_service(company, "gewerbeanmeldung", gewerbe_answers(**{
        "personen-0-staatsangehoerigkeit": "XK", "personen-0-geburtsland": "XK",
        "personen-0-aufenthaltstitel": "yes", "personen-0-aufenthaltstitel_behoerde": "Migrationsamt Bremen",
        "personen-0-aufenthaltstitel_datum": "2025-04-01", "personen-0-aufenthaltstitel_auflage": "no"}))
    html = company.get(f"/antraege/{reference}").get_data(as_text=True)
    assert "Kosovo" in html
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        assert filing.data["personen"][0]["staatsangehoerigkeit"] == "XK"
        author = Authority("MELDID", "04011000", "Gewerbeamt Bremen")
        content = build_message("gewerbeanmeldung", filing.data, filing.submitted_at, author, author)
    person = read_message(content)["personen"][0]
    assert person["staatsangehoerigkeiten"] == []  # no ISO 3166-1 numeric code exists for Kosovo
    assert b"<xga:geburtsland>Kosovo</xga:geburtsland>" in content
