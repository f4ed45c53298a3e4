"""§ 34a and the Gaststättenerlaubnis re-read against the law and the Hamburg forms (12/2026;
docs/gewerbeanzeige.md, "Differences to the competent bodies' forms"): the § 34a form's birth
country, its wording of the uniform question and of the consent to the reliability check; the
documents it lists (the office obtains the register extracts itself, § 34a Abs. 1 Satz 5 GewO);
the GastG form's kinds of business, outdoor service, staff toilet, exemption requests and kind of
establishment, each definition naming what it was checked against."""

from __future__ import annotations

import pytest

from bizportal.catalog.loader import load_catalog
from tests.support.filing import file_service, post_step
from tests.support.permits import BEWACHUNG, FILES, GASTSTAETTE, answers, payload_of, to_step, visited


@pytest.fixture
def company_hansen(client, login_as):
    login_as("lea.hansen")
    return client


def _fields(key: str) -> dict:
    return {f.name: f for f in load_catalog()[key].fields}


def test_34a_asks_the_birth_country_and_words_uniform_and_consent_as_the_form():
    fields = _fields(BEWACHUNG)
    assert (fields["geburtsland"].type, fields["geburtsland"].step) == ("country", "person_angaben")
    assert "geburtsland" in {f.name for f in fields["weitere_vertreter"].fields}
    assert fields["dienstkleidung"].label.de == "Ist für Wachpersonen eine Dienstkleidung vorgesehen?"
    assert fields["einwilligung_bewacherregister"].label.de == "Ich stimme der Überprüfung meiner Zuverlässigkeit zu."
    assert "§ 34a Abs. 1 Satz 5 GewO" in fields["einwilligung_bewacherregister"].hint.de
    assert "§ 34a Abs. 1 Satz 3 Nr. 3 GewO" in fields["sachkunde"].hint.de


def test_34a_documents_are_the_forms_and_the_office_obtains_the_register_extracts():
    service = load_catalog()[BEWACHUNG]
    documents = " ".join(d.de for d in service.documents)
    assert "Führungszeugnis" not in documents and "Gewerbezentralregister" not in documents
    assert "Schuldnerverzeichnis" not in documents  # not on the form's list
    assert "Ausweisdokument" in documents and "Sachkundeprüfung" in documents
    assert "VS – 7108-9 - 01.2020" in service.form_source and "12/2026 erneut gelesen" in service.form_source


def test_gaststaette_asks_the_forms_questions_on_the_premises(company_hansen):
    fields = _fields(GASTSTAETTE)
    assert [c.label.de for c in fields["betriebsart_gastg"].choices] == [
        "Schank- und Speisewirtschaft ohne besondere Betriebseigentümlichkeit",
        "Schankwirtschaft ohne Abgabe von Speisen", "Andere Betriebsart"]
    assert fields["aussengastronomie"].label.de == "Ist Außenbewirtung (Sommer- oder Vorgartennutzung) beabsichtigt?"
    assert (fields["personaltoilette"].type, fields["personaltoilette"].required) == ("yesno", True)
    assert "50 m²" in fields["personaltoilette"].hint.de
    assert fields["befreiungsantraege"].required is False
    assert [c.value for c in fields["einrichtung_art"].choices] == ["neuerrichtung", "neueinrichtung"]
    assert (fields["einrichtung_art"].show_if.field, fields["einrichtung_art"].show_if.equals) == ("uebernahme", False)
    documents = " ".join(d.de for d in load_catalog()[GASTSTAETTE].documents)
    assert "Insolvenzgericht" not in documents and "Kaufvertrag" in documents and "Lageplan" in documents

    client = company_hansen
    path = to_step(client, GASTSTAETTE, answers(), "raeume")
    resp = post_step(client, path, {"flaeche_gastraum": "40", "sitzplaetze": "20", "aussengastronomie": "no",
                                    "musik_veranstaltungen": "no", "eroeffnung": "2027-05-01"})
    assert resp.status_code == 422  # the kind of establishment and the staff toilet need an answer
    html = resp.get_data(as_text=True)
    assert 'name="einrichtung_art"' in html and 'name="personaltoilette"' in html
    assert html.count('aria-invalid="true"') >= 2


def test_gaststaette_takeover_is_not_asked_the_kind_of_establishment_and_the_office_gets_the_answers(
        app, company_hansen):
    client = company_hansen
    every = answers(uebernahme="yes", vorgaenger="Elbblick Inh. Jens Paulsen", personaltoilette="yes",
                    befreiungsantraege="Keine getrennten Toiletten: 30 m² Schankraum")
    assert "raeume" in visited(client, GASTSTAETTE, every)
    reference = file_service(client, GASTSTAETTE, every, files=FILES)
    data = payload_of(app, reference).data
    assert data["personaltoilette"] is True
    assert data["befreiungsantraege"] == "Keine getrennten Toiletten: 30 m² Schankraum"
    assert data.get("einrichtung_art") is None  # a takeover is no new establishment
    reference = file_service(client, GASTSTAETTE, answers(einrichtung_art="neuerrichtung"), files=FILES)
    assert payload_of(app, reference).data["einrichtung_art"] == "neuerrichtung"


def test_each_checked_definition_names_what_it_was_checked_against():
    catalog = load_catalog()
    assert "WI / Z – VS 50 – 09.11" in catalog[GASTSTAETTE].form_source
    assert "12/2026 erneut gelesen" in catalog[GASTSTAETTE].form_source
    assert "§ 34c Abs. 1 Satz 1 GewO" in catalog["immobilienmakler-34c"].form_source
    assert "Anlage D Abschnitt I Nr. 1" in catalog["handwerksrolle-eintragung"].form_source
