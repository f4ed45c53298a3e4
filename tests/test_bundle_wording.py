"""What the bundle pages say (issue 16, third new-user trial): the overview when every service is
left out, a status message after leaving a service out or taking it back, progress that does not
count filings as steps, one English name for "Meine Anträge", and the search's spell correction
knowing the bundles' words."""

from __future__ import annotations

import re

import pytest

from tests.support.bundles import (
    CHILD_ANSWERS,
    FILES,
    MOVE,
    MOVE_ANSWERS,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    press,
    service_drafts,
    submit,
)
from tests.support.filing import path_of

FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a", "ausbilden": "no"}


def _status_messages(html: str) -> list[str]:
    """The texts of the flashed messages a screen reader announces politely (role="status")."""
    return [re.sub(r"<[^>]+>", "", m).strip() for m in re.findall(
        r'role="status">\s*<div class="kern-alert__header">.*?<p class="kern-title">(.*?)</p>', html, re.S)]


def test_the_overview_says_nothing_will_be_filed_when_every_service_is_left_out(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    press(client, overview, service="gewerbeanmeldung", leave_out="yes")
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    assert re.search(r"<h1[^>]*>Es wird nichts eingereicht</h1>", html)
    assert "Diese Anträge werden eingereicht" not in html
    assert "Mit „Wieder aufnehmen“ nehmen Sie einen Antrag wieder auf." in html
    html = press(client, overview, service="gewerbeanmeldung", leave_out="no")
    assert re.search(r"<h1[^>]*>Diese Anträge werden eingereicht</h1>", html)


def test_leaving_a_service_out_and_taking_it_back_is_announced(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    assert _status_messages(html) == ["Erfolg: „Eintragung in die Handwerksrolle“ ist weggelassen und wird nicht "
                                      "eingereicht. Mit „Wieder aufnehmen“ nehmen Sie den Antrag wieder auf."]
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="no")
    assert _status_messages(html) == ["Erfolg: „Eintragung in die Handwerksrolle“ ist wieder aufgenommen und wird "
                                      "mit dem Vorhaben eingereicht."]
    assert _status_messages(client.get(overview).get_data(as_text=True)) == []  # said once


def test_the_list_counts_the_questions_steps_and_the_filings_apart(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    html = client.get("/antraege").get_data(as_text=True)
    assert "Alle Fragen beantwortet; 0 von 2 Anträgen vollständig" in html
    assert not re.search(r"Schritt \d+ von 7", html)  # five steps of questions and two filings are no 7 steps
    press(client, overview)
    drafts = service_drafts(client, overview)
    complete_draft(client, drafts["gewerbeanmeldung"], CHILD_ANSWERS, FILES)
    complete_draft(client, drafts["handwerksrolle-eintragung"], CHILD_ANSWERS, FILES)
    html = client.get("/antraege").get_data(as_text=True)
    assert "Alle Fragen beantwortet und alle 2 Anträge vollständig – bereit zum Prüfen und Absenden" in html
    assert "Alle 7 Schritte" not in html


def test_english_pages_call_the_list_of_filings_my_applications(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", MOVE)
    for draft_id in service_drafts(client, overview).values():
        complete_draft(client, draft_id, MOVE_ANSWERS)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    client.get("/sprache/en")
    pages = [client.get(path).get_data(as_text=True) for path in (path_of(resp.headers["Location"]), "/antraege")]
    assert "To “My applications”" in pages[0]  # the bundle's status page links back to the list
    assert all("My applications" in page for page in pages)
    assert not any("My filings" in page for page in pages)


@pytest.mark.parametrize(("typo", "offered", "bundle"), [
    ("Selbststandigkiet", "selbstständigkeit", "betrieb-gruenden"),  # "a" for "ä" is no typo, "ie" is
    ("Unternehmensnachfolgr", "unternehmensnachfolge", "betrieb-uebernehmen"),
    ("Unternehmenslahe", "unternehmenslage", "betrieb-verlegen-aufgeben"),
])
def test_a_typo_of_a_bundle_keyword_is_corrected_to_it(client, typo, offered, bundle):
    html = client.get("/", query_string={"q": typo}).get_data(as_text=True)
    assert re.search(rf'Meinten Sie:\s*<a class="kern-link" href="[^"]+">{offered}</a>\?', html)
    assert f"/vorhaben/{bundle}" in html


@pytest.mark.parametrize(("query", "bundle"), [("Unternehmensnachfolge", "betrieb-uebernehmen"),
                                               ("Selbststandigkeit", "betrieb-gruenden")])
def test_a_bundle_keyword_spelt_right_is_not_corrected(client, query, bundle):
    html = client.get("/", query_string={"q": query}).get_data(as_text=True)
    assert "Meinten Sie" not in html
    assert f"/vorhaben/{bundle}" in html
