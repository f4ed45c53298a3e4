"""Service definitions: loading, validation with useful messages, catalog pages."""

from __future__ import annotations

import re
import shutil

import pytest

from bizportal import create_app
from bizportal.catalog import loader
from bizportal.catalog.loader import DefinitionError, load_catalog


def test_shipped_definitions_load_with_real_competent_bodies():
    catalog = load_catalog()
    assert {"gewerbeanmeldung", "handwerksrolle-eintragung", "versicherungsvermittler-34d"} <= set(catalog)
    assert catalog["gewerbeanmeldung"].leika == "99050012104000"
    assert catalog["handwerksrolle-eintragung"].leika is None  # not confirmed: left empty
    assert catalog["handwerksrolle-eintragung"].destinations({}) == [("HWK", "primary")]
    assert catalog["versicherungsvermittler-34d"].destinations({}) == [("IHK", "primary")]


@pytest.mark.parametrize("answers, expected", [
    ({"handwerk": True}, [("GEWERBEAMT", "primary"), ("HWK", "copy")]),
    ({"handwerk": False}, [("GEWERBEAMT", "primary"), ("IHK", "copy")]),
])
def test_gewerbeanmeldung_routes_copy_by_crafts_answer(answers, expected):
    assert load_catalog()["gewerbeanmeldung"].destinations(answers) == expected


def _copy_catalog(tmp_path):
    target = tmp_path / "services"
    shutil.copytree(loader.DEFINITIONS_DIR, target)
    return target


def test_broken_field_type_names_file_and_field(tmp_path):
    directory = _copy_catalog(tmp_path)
    path = directory / "gewerbeanmeldung.toml"
    start = 'name = "start_date"\ntype = '
    path.write_text(path.read_text().replace(start + '"date"', start + '"datum"'))
    with pytest.raises(DefinitionError) as exc:
        load_catalog(directory)
    assert "gewerbeanmeldung.toml" in str(exc.value) and "fields.start_date.type" in str(exc.value)


def test_missing_english_title_names_the_field(tmp_path):
    directory = _copy_catalog(tmp_path)
    path = directory / "handwerksrolle-eintragung.toml"
    path.write_text(path.read_text().replace(
        'en = "Registration in the crafts register (Handwerksrolle)"', 'fr = "x"'))
    with pytest.raises(DefinitionError, match=r"handwerksrolle-eintragung.toml: field 'title'"):
        load_catalog(directory)


def test_routing_on_unknown_field_is_refused(tmp_path):
    directory = _copy_catalog(tmp_path)
    path = directory / "gewerbeanmeldung.toml"
    path.write_text(path.read_text().replace('when = { field = "handwerk", equals = true }',
                                             'when = { field = "crafts", equals = true }'))
    with pytest.raises(DefinitionError, match=r"routing\[1\].when.field"):
        load_catalog(directory)


def test_invalid_toml_is_reported_with_file_name(tmp_path):
    directory = _copy_catalog(tmp_path)
    (directory / "kaputt.toml").write_text("key = \n")
    with pytest.raises(DefinitionError, match="kaputt.toml: not valid TOML"):
        load_catalog(directory)


def test_app_does_not_start_with_a_broken_definition(tmp_path, monkeypatch):
    directory = _copy_catalog(tmp_path)
    (directory / "gewerbeanmeldung.toml").write_text('key = "gewerbeanmeldung"\nkind = "nonsense"\n')
    monkeypatch.setattr(loader, "DEFINITIONS_DIR", directory)
    with pytest.raises(DefinitionError, match="gewerbeanmeldung.toml: field 'kind'"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_catalog_page_lists_services_with_competent_bodies(client):
    page = client.get("/").get_data(as_text=True)
    assert "Gewerbeanmeldung" in page
    assert "Eintragung in die Handwerksrolle" in page
    assert "§ 34d GewO" in page
    assert "Handwerkskammer, in deren Bezirk der Betrieb liegt" in page


def test_service_page_has_stable_url_and_documents(client):
    page = client.get("/leistungen/versicherungsvermittler-34d")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Berufshaftpflichtversicherung" in text and "§ 34d Gewerbeordnung (GewO)" in text


def test_unknown_service_is_404(client):
    assert client.get("/leistungen/gibt-es-nicht").status_code == 404


@pytest.mark.parametrize("query, expected", [
    ("Gewerbe anmelden", "gewerbeanmeldung"),
    ("gewerbeanmeldung", "gewerbeanmeldung"),
    ("handwerk", "handwerksrolle-eintragung"),
    ("Handwerksrolle", "handwerksrolle-eintragung"),
    ("versicherung", "versicherungsvermittler-34d"),
    ("Versicherungsmakler", "versicherungsvermittler-34d"),
    ("insurance", "versicherungsvermittler-34d"),
    ("register a business", "gewerbeanmeldung"),
    ("GEWERBEANMELDUNG", "gewerbeanmeldung"),
])
def test_search_forgives_word_forms_case_and_language(client, query, expected):
    from tests.support.http import catalog_links

    links = catalog_links(client.get("/", query_string={"q": query}).get_data(as_text=True))
    assert expected in links[:3], links


def test_search_handles_umlauts_written_out():
    from bizportal.catalog.search import CatalogIndex, query_terms

    catalog = load_catalog()
    assert query_terms("Gaststätte") == query_terms("Gaststaette")
    results = CatalogIndex(list(catalog.values())).search("Handwerkskammer Bremen")
    assert results  # "Handwerkskammer" occurs in bodies and summaries


def test_search_without_match_says_so(client):
    page = client.get("/", query_string={"q": "Raumfahrtgenehmigung"}).get_data(as_text=True)
    assert "Keine Leistung passt" in page


def test_filters_by_kind_and_body(client):
    from tests.support.http import catalog_links

    resp = client.get("/", query_string={"art": "permit"})
    assert resp.status_code == 200
    permits = catalog_links(resp.get_data(as_text=True))
    assert "versicherungsvermittler-34d" in permits and "gewerbeanmeldung" not in permits
    resp = client.get("/", query_string={"stelle": "HWK"})
    assert resp.status_code == 200
    hwk = catalog_links(resp.get_data(as_text=True))
    assert "handwerksrolle-eintragung" in hwk and "versicherungsvermittler-34d" not in hwk
    assert "gewerbeanmeldung" in hwk  # its copy goes to the HWK for crafts businesses
    bogus = catalog_links(client.get("/", query_string={"art": "<script>"}).get_data(as_text=True))
    assert len(bogus) == len(load_catalog())  # an unknown filter value is ignored


def test_admin_command_imports_a_valid_definition(app_factory, tmp_path):
    target = tmp_path / "imported"
    app = app_factory(CATALOG_DIR=str(target))
    source = tmp_path / "meine-leistung.toml"
    text = (loader.DEFINITIONS_DIR / "versicherungsvermittler-34d.toml").read_text()
    source.write_text(text.replace('key = "versicherungsvermittler-34d"', 'key = "meine-leistung"'))
    result = app.test_cli_runner().invoke(args=["catalog", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert (target / "meine-leistung.toml").exists()
    restarted = app_factory(CATALOG_DIR=str(target))
    assert "meine-leistung" in restarted.extensions["bizportal"].catalog
    assert restarted.test_client().get("/leistungen/meine-leistung").status_code == 200


def test_admin_command_refuses_a_broken_definition_and_imports_nothing(app_factory, tmp_path):
    target = tmp_path / "imported"
    app = app_factory(CATALOG_DIR=str(target))
    good = tmp_path / "gut.toml"
    good.write_text((loader.DEFINITIONS_DIR / "versicherungsvermittler-34d.toml").read_text()
                    .replace('key = "versicherungsvermittler-34d"', 'key = "gut"'))
    bad = tmp_path / "kaputt.toml"
    bad.write_text('key = "kaputt"\nkind = "trade"\n')
    result = app.test_cli_runner().invoke(args=["catalog", "import", str(good), str(bad)])
    assert result.exit_code != 0 and "kaputt.toml" in result.output
    assert not target.exists() or not list(target.iterdir())


def test_admin_command_refuses_to_overwrite_without_replace(app_factory, tmp_path):
    app = app_factory(CATALOG_DIR=str(tmp_path / "imported"))
    source = tmp_path / "gewerbeanmeldung.toml"
    source.write_text((loader.DEFINITIONS_DIR / "gewerbeanmeldung.toml").read_text())
    result = app.test_cli_runner().invoke(args=["catalog", "import", str(source)])
    assert result.exit_code != 0 and "--replace" in result.output


def test_catalog_check_command_reports_errors(app, tmp_path):
    bad = tmp_path / "kaputt.toml"
    bad.write_text('key = "kaputt"\nkind = "nonsense"\n')
    result = app.test_cli_runner().invoke(args=["catalog", "check", str(bad)])
    assert result.exit_code == 1 and "field 'kind'" in result.output


@pytest.mark.parametrize("query, expected, suggestion", [
    ("Gewerbeanmeldng", "gewerbeanmeldung", "Gewerbeanmeldung"),
    ("Gewerbe abmeldnug", "gewerbeabmeldung", "Gewerbe abmeldung"),
    ("Versicherungsvermitler", "versicherungsvermittler-34d", "Versicherungsvermittler"),
    ("Gaststätenerlaubnis", "gaststaettenerlaubnis", "Gaststättenerlaubnis"),
    ("insurence", "versicherungsvermittler-34d", "insurance"),
])
def test_search_finds_services_despite_a_typo_and_offers_the_spelling(client, query, expected, suggestion):
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    from tests.support.http import catalog_links

    html = client.get("/", query_string={"q": query}).get_data(as_text=True)
    assert expected in catalog_links(html)[:3]
    offer = re.search(r'<p class="kern-body" id="did-you-mean">\s*Meinten Sie:\s*<a class="kern-link" '
                      r'href="([^"]+)">([^<]+)</a>\?', html)
    assert offer, html[html.find('id="results"'):][:800]
    assert offer.group(2) == suggestion
    link = unescape(offer.group(1))
    assert parse_qs(urlsplit(link).query)["q"] == [suggestion]
    followed = client.get(link).get_data(as_text=True)
    assert expected in catalog_links(followed)[:3] and 'id="did-you-mean"' not in followed


def test_a_correctly_spelt_or_hopeless_query_offers_no_spelling(client):
    assert 'id="did-you-mean"' not in client.get("/", query_string={"q": "Gewerbeanmeldung"}).get_data(as_text=True)
    html = client.get("/", query_string={"q": "Raumfahrtgenehmigung"}).get_data(as_text=True)
    assert 'id="did-you-mean"' not in html and "Keine Leistung passt" in html


def test_the_spelling_offer_keeps_the_filters(client):
    html = client.get("/", query_string={"q": "Gewerbeanmeldng", "art": "trade"}).get_data(as_text=True)
    assert "art=trade" in re.search(r'id="did-you-mean">.*?href="([^"]+)"', html, re.S).group(1)


def test_the_typo_index_is_built_once_with_the_catalog(app):
    index = app.extensions["bizportal"].search_index
    assert "gewerbeanmeldung" in index.vocabulary.spelled
    assert index.vocabulary.closest("gewerbeanmeldng") == "gewerbeanmeldung"
    assert index.vocabulary.closest("xyzq") is None
