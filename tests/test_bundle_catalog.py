"""A bundle as a catalog entry (issue 16): its page is public like a service's, and the founders'
own words (and their typos) find it."""

from __future__ import annotations

import pytest

from tests.support.http import csrf_token


def test_a_visitor_reads_a_bundles_page_without_logging_in_and_logs_in_to_start(client):
    page = client.get("/vorhaben/betrieb-gruenden")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Gewerbeanmeldung" in html
    assert "Anlage A HwO" in html  # why the Handwerksrolle may be needed
    assert "Vorhaben beginnen" in html
    assert "mit Ihrem Unternehmenskonto an" in html
    resp = client.post("/vorhaben/betrieb-gruenden", data={"csrf_token": csrf_token(html)})
    assert resp.status_code == 302
    assert "/login?next=/vorhaben/betrieb-gruenden" in resp.headers["Location"]  # then back to this page


@pytest.mark.parametrize(("query", "bundle"), [
    ("selbständig machen", "betrieb-gruenden"),
    ("Selbstständigkeit", "betrieb-gruenden"),
    ("GmbH gründen", "betrieb-gruenden"),
    ("Handwerksbetrieb eröffnen", "betrieb-gruenden"),
    ("Firma übernehmen", "betrieb-uebernehmen"),
    ("Geschäft schließen", "betrieb-verlegen-aufgeben"),
    ("Laden schließen", "betrieb-verlegen-aufgeben"),
    ("Firma aufgeben", "betrieb-verlegen-aufgeben"),
])
def test_founders_wordings_find_the_bundle(client, query, bundle):
    assert f"/vorhaben/{bundle}" in client.get("/", query_string={"q": query}).get_data(as_text=True)


def test_a_corrected_search_lists_the_bundles_the_correction_finds(client):
    # a typo (s for z; "u" for "ü" is no typo: umlauts are folded)
    html = client.get("/?q=existensgrundung").get_data(as_text=True)
    assert "Meinten Sie" in html
    assert "/vorhaben/betrieb-gruenden" in html


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("query", ["Betrieb grunden", "Betrieb gruenden", "Friseursalon eröffnen",
                                   "Friseursalon eroeffnen", "open a shop"])
def test_a_founders_words_without_umlauts_or_in_english_find_the_founding_bundle(client, query, language):
    """The new-user trial (issue 16): umlauts typed as u/ue, a trade's own words and English words
    found no bundle; in either language of the page."""
    client.get(f"/sprache/{language}")
    html = client.get("/", query_string={"q": query}).get_data(as_text=True)
    assert 'href="/vorhaben/betrieb-gruenden"' in html
    title = "Betrieb gründen" if language == "de" else "Found a business"
    assert f">{title}</a>" in html


@pytest.mark.parametrize(("query", "bundle"), [("Betrieb ubernehmen", "betrieb-uebernehmen"),
                                               ("Geschaft schliessen", "betrieb-verlegen-aufgeben"),
                                               ("close a shop", "betrieb-verlegen-aufgeben"),
                                               ("take over a shop", "betrieb-uebernehmen")])
def test_the_other_bundles_fold_umlauts_and_know_english_words_too(client, query, bundle):
    client.get("/sprache/en")
    assert f'href="/vorhaben/{bundle}"' in client.get("/", query_string={"q": query}).get_data(as_text=True)


def test_a_service_typed_without_umlauts_is_found_as_it_is_not_as_a_typo(client):
    """The services fold umlauts the same way: "Gaststattenerlaubnis" is the Gaststättenerlaubnis,
    no "Meinten Sie" guess."""
    html = client.get("/", query_string={"q": "Gaststattenerlaubnis"}).get_data(as_text=True)
    assert "/leistungen/gaststaettenerlaubnis" in html
    assert "Meinten Sie" not in html
