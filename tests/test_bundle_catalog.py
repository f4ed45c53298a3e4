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
    html = client.get("/?q=existenzgrundung").get_data(as_text=True)
    assert "Meinten Sie" in html
    assert "/vorhaben/betrieb-gruenden" in html
