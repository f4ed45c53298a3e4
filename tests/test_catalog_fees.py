"""Fees and sources are data of each service definition: checked when the catalog loads, shown on the
service page and the review page in the page's language."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest
from flask_babel import force_locale

from bizportal.catalog import fees, loader
from bizportal.catalog.loader import DefinitionError, load_catalog
from bizportal.catalog.models import DESTINATION_KINDS, FEE_REGIONS, Fee, Text
from bizportal.demo import CHAMBERS
from tests.support.filing import fill_steps, gewerbe_answers, start_draft

NBSP = "\u00a0"
BASIS = Text(de="Gebührenordnung", en="Fee schedule")


def _catalog_with(tmp_path, key: str, old: str, new: str):
    directory = tmp_path / "services"
    shutil.copytree(loader.DEFINITIONS_DIR, directory)
    path = directory / f"{key}.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    return directory


@pytest.mark.parametrize("old, new, message", [
    ("fee.min = 5\nfee.max = 35", "fee.min = 35\nfee.max = 5",
     r"ursprungszeugnis.toml: field 'fee.max': must be more than min"),
    ("fee.min = 5\n", "fee.min = 5\nfee.amount = 20\n", r"ursprungszeugnis.toml: field 'fee': needs exactly one of"),
    ("fee.max = 35\n", "", r"ursprungszeugnis.toml: field 'fee.max': a range needs both"),
    ("fee.min = 5", 'fee.min = "fünf"', r"ursprungszeugnis.toml: field 'fee.min': 'fünf' is not an amount"),
    ("fee.min = 5", "fee.min = -5", r"ursprungszeugnis.toml: field 'fee.min': must be at least 0"),
    ("fee.min = 5", "fee.min = 5.123", r"field 'fee.min': .*in whole cents"),
    ("fee.by_body = true", 'fee.by_body = "ja"', r"field 'fee.by_body': must be true or false"),
    ("fee.basis = {", "fee.grundlage = {", r"ursprungszeugnis.toml: field 'fee.grundlage': unknown key"),
    ('source.legal_basis_url = "https://', 'source.legal_basis_url = "http://',
     r"ursprungszeugnis.toml: field 'source.legal_basis_url': .* is not an https:// address"),
])
def test_a_malformed_fee_or_source_names_file_and_field(tmp_path, old, new, message):
    directory = _catalog_with(tmp_path, "ursprungszeugnis", old, new)
    with pytest.raises(DefinitionError, match=message):
        load_catalog(directory)


def test_a_fee_without_its_legal_basis_is_refused(tmp_path):
    directory = _catalog_with(tmp_path, "handwerksrolle-eintragung", 'fee.basis = { de = "Gebührenordnung',
                              'fee.basis = { de = "", x = "Gebührenordnung')
    with pytest.raises(DefinitionError,
                       match=r"handwerksrolle-eintragung.toml: field 'fee.basis': needs non-empty texts"):
        load_catalog(directory)


def test_a_fee_that_is_neither_free_nor_an_amount_nor_set_by_the_body_is_refused(tmp_path):
    directory = _catalog_with(tmp_path, "handwerksrolle-eintragung", "fee.by_body = true\n", "")
    with pytest.raises(DefinitionError, match=r"handwerksrolle-eintragung.toml: field 'fee': needs exactly one of"):
        load_catalog(directory)


@pytest.mark.parametrize("fee, de, en", [
    (Fee(BASIS, "s", amount=Decimal("1234.50")), f"1.234,50{NBSP}€", "€1,234.50"),
    (Fee(BASIS, "s", free=True), "gebührenfrei", "free of charge"),
    (Fee(BASIS, "s", minimum=Decimal("15"), maximum=Decimal("45")), f"15,00{NBSP}€ bis 45,00{NBSP}€",
     "€15.00 to €45.00"),
    (Fee(BASIS, "s", minimum=Decimal("0"), maximum=Decimal("40"), by_body=True),
     f"hängt von der zuständigen Stelle ab; üblich sind gebührenfrei bis 40,00{NBSP}€",
     "depends on the competent body; customary: free of charge up to €40.00"),
    (Fee(BASIS, "s", by_body=True), "hängt von der zuständigen Stelle ab", "depends on the competent body"),
])
def test_fees_read_in_german_and_english(app, fee, de, en):
    with app.test_request_context():
        with force_locale("de"):
            assert fees.fee_text(fee) == de
        with force_locale("en"):
            assert fees.fee_text(fee) == en


def test_service_page_shows_fee_its_basis_and_the_sources_in_both_languages(client):
    html = client.get("/leistungen/ursprungszeugnis").get_data(as_text=True)
    assert f"hängt von der zuständigen Stelle ab; üblich sind 5,00{NBSP}€ bis 35,00{NBSP}€" in html
    assert "Gebührenordnung bzw. Gebührentarif der IHK (§ 3 IHKG)" in html
    assert 'href="https://www.gesetze-im-internet.de/ihkg/__1.html"' in html
    assert "Antrag auf Ausstellung eines Ursprungszeugnisses" in html
    assert 'href="https://www.ihk.de/hamburg/' in html
    client.get("/sprache/en")
    html = client.get("/leistungen/ursprungszeugnis").get_data(as_text=True)
    assert "depends on the competent body; customary: €5.00 to €35.00" in html
    assert "Fee schedule of the chamber of commerce (§ 3 IHKG)" in html


def test_review_page_shows_the_fee_before_the_binding_submit(client, login_as):
    login_as("anna.becker")
    path = fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers())
    html = client.get(path).get_data(as_text=True)
    costs = html.index('id="fee"')
    assert costs < html.rindex("Antrag verbindlich einreichen")  # the submit button
    assert f"üblich sind 15,00{NBSP}€ bis 45,00{NBSP}€" in html
    assert "Kostenverordnung der Wirtschaftsverwaltung vom 4. September 2002" in html  # the Bremen office's
    client.get("/sprache/en")
    html = client.get(path).get_data(as_text=True)
    assert "customary: €15.00 to €45.00" in html


def test_list_fields_must_name_fields_that_can_tell_filings_apart(tmp_path):
    directory = _catalog_with(tmp_path, "ursprungszeugnis", 'list_fields = ["empfaenger", "rechnungsnummer"]',
                              'list_fields = ["empfänger"]')
    with pytest.raises(DefinitionError, match=r"ursprungszeugnis.toml: field 'list_fields\[0\]': no field named"):
        load_catalog(directory)
    directory = _catalog_with(tmp_path / "2", "gewerbeanmeldung", 'list_fields = ["street", "city", "activity"]',
                              'list_fields = ["personen"]')
    with pytest.raises(DefinitionError, match=r"field 'list_fields\[0\]': a group field cannot tell filings apart"):
        load_catalog(directory)


def test_the_hamburg_amounts_are_shown_where_the_competent_body_publishes_them(client):
    """Amounts taken from the competent body's own page (hamburg.de) are shown as that Land's, never as
    what is 'customary' everywhere; a range from a 2004 estimate is no longer claimed."""
    html = client.get("/leistungen/gewerbeanmeldung").get_data(as_text=True)
    assert "In Hamburg kostet die Anmeldung einer Personengesellschaft 20,00 € je Gesellschafter" in html
    html = client.get("/leistungen/reisegewerbekarte").get_data(as_text=True)
    assert "In Hamburg kostet die Reisegewerbekarte 170 € bis 270 €" in html
    assert "400,00" not in html and "üblich sind" not in html
    html = client.get("/leistungen/bewachungserlaubnis-34a").get_data(as_text=True)
    assert "In Hamburg kostet die Erlaubnis 240 € bis 340 €" in html
    assert "Kostenverordnung der Wirtschaftsverwaltung vom 4. September 2002" in html
    client.get("/sprache/en")
    html = client.get("/leistungen/gaststaettenerlaubnis").get_data(as_text=True)
    assert "In Hamburg the licence costs €535 to €635, a provisional licence on a takeover €50." in html


SCHEDULES = ("Gebührenordnung", "Gebührentarif", "Kostenverordnung")


def test_a_fee_the_body_sets_without_a_published_amount_says_where_the_body_sets_it():
    """No number is made up: where no amount was found, the note of each region a filing can go to
    (the regions of the bodies of the kind that works it) names that body's schedule, so that the
    company knows where the amount comes from; where one region's amounts were found, every other
    region still has a note of its own."""
    regions_of = {kind: {c["region"] for c in CHAMBERS if c["kind"] == kind} for kind in DESTINATION_KINDS}
    for key, service in load_catalog().items():
        fee = service.fee
        assert fee is not None, key
        if not fee.by_body:
            continue
        regions = set().union(*(regions_of[r.kind] for r in service.routing if r.role == "primary"))
        for region in regions:
            own = fee.for_region(region)
            if fee.amount is None and fee.minimum is None or fee.regional:
                assert own is not None, f"{key}: no note for {region}"
            if own is not None and fee.amount is None and fee.minimum is None and "€" not in own.note.de:
                assert any(s in own.note.de for s in SCHEDULES), f"{key}: the {region} note names no schedule"


def test_every_region_of_a_body_has_its_fee_notes():
    """A body whose region the definitions do not know would get no regional note at all."""
    assert {c["region"] for c in CHAMBERS} == set(FEE_REGIONS)


@pytest.mark.parametrize("old, new, message", [
    ('region = "Bremen"', 'region = "Niedersachsen"',
     r"ursprungszeugnis.toml: field 'fee.regional\[1\].region': 'Niedersachsen' is not one of Hamburg, Bremen"),
    ('region = "Bremen"', 'region = "Hamburg"',
     r"ursprungszeugnis.toml: field 'fee.regional\[1\].region': 'Hamburg' has an entry already"),
    ('region = "Bremen"', 'region = "Bremen"\nbetrag = 7',
     r"ursprungszeugnis.toml: field 'fee.regional\[1\].betrag': unknown key"),
    ('region = "Bremen"\nnote = {', 'region = "Bremen"\nhinweis = {',
     r"ursprungszeugnis.toml: field 'fee.regional\[1\].hinweis': unknown key"),
    ('region = "Hamburg"\n', '',
     r"ursprungszeugnis.toml: field 'fee.regional\[0\].region': must be a non-empty string"),
    ('(Original und Durchschriften).", en', '(Original und Durchschriften). In Hamburg 7,00 €.", en',
     r"ursprungszeugnis.toml: field 'fee.note': names the region 'Hamburg'; .*\[\[fee.regional\]\]"),
    ('Fee schedule of the chamber of commerce (§ 3 IHKG)', 'Fee schedule of the Handelskammer Bremen',
     r"ursprungszeugnis.toml: field 'fee.basis': names the region 'Bremen'"),
    ("[[fee.regional]]", "[[fee.regional.bremen]]",
     r"ursprungszeugnis.toml: field 'fee.regional': must be a list of tables"),
])
def test_a_malformed_regional_fee_note_stops_the_start_naming_file_and_field(tmp_path, old, new, message):
    directory = _catalog_with(tmp_path, "ursprungszeugnis", old, new)
    with pytest.raises(DefinitionError, match=message):
        load_catalog(directory)


def test_the_portal_does_not_start_with_a_definition_naming_an_unknown_region(app_factory, tmp_path):
    """An administrator's imported definition is loaded at start like the shipped ones."""
    directory = _catalog_with(tmp_path, "gewerbeanmeldung", 'region = "Bremerhaven"', 'region = "Cuxhaven"')
    with pytest.raises(DefinitionError, match=r"gewerbeanmeldung.toml: field 'fee.regional\[2\].region': "
                                              r"'Cuxhaven' is not one of"):
        app_factory(CATALOG_DIR=str(directory))


def _fee_cell(html: str) -> str:
    start = html.index('id="fee"')
    return html[start:html.index("</dd>", start)]


def test_the_service_page_says_which_schedule_sets_the_fee_of_a_chamber_or_a_bremen_office(client):
    cell = _fee_cell(client.get("/leistungen/handwerksrolle-eintragung").get_data(as_text=True))
    assert "hängt von der zuständigen Stelle ab" in cell
    assert "Gebührenordnung der Handwerkskammer Hamburg vom 11. Dezember 2012" in cell
    assert "Gebührenordnung der Handwerkskammer Bremen" in cell
    cell = _fee_cell(client.get("/leistungen/bewachungserlaubnis-34a").get_data(as_text=True))
    assert "In Hamburg kostet die Erlaubnis 240 € bis 340 €" in cell
    assert "In Bremen setzt die Behörde die Gebühr nach der Kostenverordnung der Wirtschaftsverwaltung (WKostV)" in cell
    assert "kostet bei der Handelskammer Bremen 150 €" in cell
    cell = _fee_cell(client.get("/leistungen/versicherungsvermittler-34d").get_data(as_text=True))
    assert "Gebührentarif der IHK (Handelskammer Bremen" in cell
    client.get("/sprache/en")
    cell = _fee_cell(client.get("/leistungen/handwerk-verzeichnis-eintragung").get_data(as_text=True))
    assert "depends on the competent body" in cell
    assert "The costs follow the chamber of crafts" in cell and "Handwerkskammer Bremen" in cell
