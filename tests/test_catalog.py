"""Service definitions: loading, validation with useful messages, catalog pages."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from sqlalchemy import select

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


RETENTION = "retention = { draft_days = 180, closed_years = 3 }"


@pytest.mark.parametrize("written,message", [
    ("retention = { draft_days = 0 }", "field 'retention.draft_days': must be a whole number from 1 to 3650, not 0"),
    ("retention = { closed_years = 2.5 }",
     "field 'retention.closed_years': must be a whole number from 1 to 30, not 2.5"),
    ("retention = { draft_days = true }",
     "field 'retention.draft_days': must be a whole number from 1 to 3650, not True"),
    ("retention = { drafts = 30 }", "field 'retention.drafts': unknown key; known are draft_days, closed_years"),
    ("retention = 30", "field 'retention': must be a table such as { draft_days = 180, closed_years = 3 }"),
])
def test_broken_retention_periods_are_named(tmp_path, written, message):
    directory = _copy_catalog(tmp_path)
    path = directory / "ursprungszeugnis.toml"
    assert RETENTION in path.read_text()
    path.write_text(path.read_text().replace(RETENTION, written))
    with pytest.raises(DefinitionError) as exc:
        load_catalog(directory)
    assert str(exc.value) == f"ursprungszeugnis.toml: {message}"


def test_every_shipped_service_names_its_retention_periods():
    for key, service in load_catalog().items():
        assert service.retention.draft_days and service.retention.closed_years, key


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


def _definition(tmp_path, key: str):
    source = tmp_path / f"{key}.toml"
    text = (loader.DEFINITIONS_DIR / "versicherungsvermittler-34d.toml").read_text()
    source.write_text(text.replace('key = "versicherungsvermittler-34d"', f'key = "{key}"')
                      .replace("Versicherungsvermittler", f"Versicherungsvermittler {key}"))
    return source


def imported_keys(app) -> list[str]:
    from bizportal.catalog.records import ImportedDefinition
    from bizportal.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(ImportedDefinition.key).order_by(ImportedDefinition.key)))


def test_import_through_one_node_is_served_by_another_within_the_interval(app_factory, tmp_path):
    """Two web nodes on one database: an import made on node A (its command line) reaches node B
    without a restart, once B's refresh interval has passed; nothing is written to a node's disk."""
    node_a = app_factory(CATALOG_DIR=str(tmp_path / "a"), CATALOG_REFRESH_SECONDS=0.5)
    node_b = app_factory(CATALOG_DIR=str(tmp_path / "b"), CATALOG_REFRESH_SECONDS=0.5)
    client_b = node_b.test_client()
    assert client_b.get("/leistungen/meine-leistung").status_code == 404  # B has looked at the version

    result = node_a.test_cli_runner().invoke(args=["catalog", "import", str(_definition(tmp_path, "meine-leistung"))])
    assert result.exit_code == 0, result.output
    assert "imported meine-leistung" in result.output
    assert node_a.test_client().get("/leistungen/meine-leistung").status_code == 200  # at once on A

    deadline = time.monotonic() + 5
    while client_b.get("/leistungen/meine-leistung").status_code != 200:
        assert time.monotonic() < deadline, "node B never served the imported service"
        time.sleep(0.1)
    found = client_b.get("/", query_string={"q": "Versicherungsvermittler meine-leistung"}).get_data(as_text=True)
    assert "/leistungen/meine-leistung" in found  # the search index moved with it
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_node_checks_the_version_no_more_often_than_its_interval(app_factory, tmp_path):
    node_a = app_factory()
    node_b = app_factory(CATALOG_REFRESH_SECONDS=3600)
    client_b = node_b.test_client()
    assert client_b.get("/").status_code == 200  # B's first look (imports: none)
    node_a.test_cli_runner().invoke(args=["catalog", "import", str(_definition(tmp_path, "spaeter"))])
    assert client_b.get("/leistungen/spaeter").status_code == 404  # B looks again only after an hour
    node_b.extensions["bizportal"].catalog_refresh.request_check()  # what SIGHUP to a worker does
    assert client_b.get("/leistungen/spaeter").status_code == 200


def test_a_restarted_node_serves_imported_definitions(app_factory, tmp_path):
    app = app_factory()
    app.test_cli_runner().invoke(args=["catalog", "import", str(_definition(tmp_path, "meine-leistung"))])
    restarted = app_factory(CATALOG_REFRESH_SECONDS=3600)
    assert restarted.test_client().get("/leistungen/meine-leistung").status_code == 200
    assert "meine-leistung" in restarted.extensions["bizportal"].catalog


def test_the_worker_picks_up_an_imported_definition(app_factory, tmp_path):
    from bizportal.delivery.worker import Worker

    web = app_factory()
    worker_app = app_factory(CATALOG_REFRESH_SECONDS=0)
    web.test_cli_runner().invoke(args=["catalog", "import", str(_definition(tmp_path, "neu-im-worker"))])
    Worker(worker_app).run_once()
    assert "neu-im-worker" in worker_app.extensions["bizportal"].catalog


def test_admin_command_refuses_a_broken_definition_and_imports_nothing(app_factory, tmp_path):
    app = app_factory()
    good = _definition(tmp_path, "gut")
    bad = tmp_path / "kaputt.toml"
    bad.write_text('key = "kaputt"\nkind = "trade"\n')
    result = app.test_cli_runner().invoke(args=["catalog", "import", str(good), str(bad)])
    assert result.exit_code != 0 and "kaputt.toml" in result.output
    assert imported_keys(app) == []
    assert app.test_client().get("/leistungen/gut").status_code == 404


def test_admin_command_refuses_to_overwrite_without_replace(app_factory, tmp_path):
    app = app_factory()
    source = tmp_path / "gewerbeanmeldung.toml"
    source.write_text((loader.DEFINITIONS_DIR / "gewerbeanmeldung.toml").read_text())
    result = app.test_cli_runner().invoke(args=["catalog", "import", str(source)])
    assert result.exit_code != 0 and "--replace" in result.output
    assert imported_keys(app) == []
    first = app.test_cli_runner().invoke(args=["catalog", "import", str(_definition(tmp_path, "einmal"))])
    assert first.exit_code == 0
    again = app.test_cli_runner().invoke(args=["catalog", "import", str(_definition(tmp_path, "einmal"))])
    assert again.exit_code != 0 and "--replace" in again.output  # an imported one counts as existing


def test_replace_changes_the_served_definition_everywhere(app_factory, tmp_path):
    app = app_factory()
    other = app_factory(CATALOG_REFRESH_SECONDS=0)
    source = tmp_path / "gewerbeanmeldung.toml"
    text = (loader.DEFINITIONS_DIR / "gewerbeanmeldung.toml").read_text()
    source.write_text(text.replace('de = "Gewerbeanmeldung"', 'de = "Gewerbeanmeldung (neu gefasst)"', 1))
    result = app.test_cli_runner().invoke(args=["catalog", "import", "--replace", str(source)])
    assert result.exit_code == 0, result.output
    assert "Gewerbeanmeldung (neu gefasst)" in other.test_client().get("/leistungen/gewerbeanmeldung").get_data(
        as_text=True)


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


@pytest.mark.parametrize(("field", "written", "message"), [
    ("business_name", "ask_nationality = false", "fields.business_name.ask_nationality': only a person field has"),
    ("antragsteller", 'ask_nationality = "nein"', "fields.antragsteller.ask_nationality': must be true or false"),
])
def test_leaving_out_the_nationality_is_refused_outside_a_person_field(tmp_path, field, written, message):
    directory = _copy_catalog(tmp_path)
    path = directory / "immobilienmakler-34c.toml"
    text = path.read_text().replace("ask_nationality = false\n", "")
    path.write_text(text.replace(f'name = "{field}"\n', f'name = "{field}"\n{written}\n', 1))
    with pytest.raises(DefinitionError) as exc:
        load_catalog(directory)
    assert "immobilienmakler-34c.toml: field '" in str(exc.value) and message in str(exc.value)
