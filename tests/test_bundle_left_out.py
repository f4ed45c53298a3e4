"""Leaving a service the law requires out of a bundle (issue 16, new-user trial): "Weglassen" is
allowed (the company may file it elsewhere), but the overview and the review say in one sentence
why the service is required."""

from __future__ import annotations

import re

from tests.support.bundles import CHILD_ANSWERS, PLANS, SHARED, answer_questionnaire, completion_links, fill, press
from tests.support.filing import path_of
from tests.support.http import csrf_token

FOUNDING = {**SHARED, **PLANS, "ausbilden": "no", "handwerk_anlage": "a"}


def _card(html: str, key: str) -> str:
    return re.search(rf'<li class="kern-card" id="teil-{key}">(.*?)</li>', html, re.S).group(1)


def test_leaving_out_the_gewerbeanmeldung_of_a_founding_warns_why_it_is_required(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    before = press(client, overview)
    assert "gesetzlich vorgeschrieben" not in before  # nothing left out, no warning

    html = press(client, overview, service="gewerbeanmeldung", leave_out="yes")
    card = _card(html, "gewerbeanmeldung")
    assert "– weggelassen" in card  # left out all the same: the company may file it elsewhere
    assert 'id="pflicht-gewerbeanmeldung"' in card
    assert "Dieser Antrag ist gesetzlich vorgeschrieben" in card
    assert "Wer ein Gewerbe beginnt, muss es gleichzeitig beim Gewerbeamt anzeigen" in card
    assert "§ 14 GewO" in card
    assert "Lassen Sie ihn nur weg, wenn Sie ihn auf anderem Weg stellen" in card
    assert "gesetzlich vorgeschrieben" not in _card(html, "handwerksrolle-eintragung")  # still filed

    client.get("/sprache/en")
    card = _card(client.get(overview).get_data(as_text=True), "gewerbeanmeldung")
    assert "This filing is required by law" in card
    assert "whoever starts a trade must notify the trade office at the same time" in card

    client.get("/sprache/de")
    html = press(client, overview, service="gewerbeanmeldung", leave_out="no")
    assert 'id="pflicht-gewerbeanmeldung"' not in html  # taken back in: no warning


def test_leaving_out_the_handwerksrolle_of_an_anlage_a_craft_warns_on_overview_and_review(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    card = _card(html, "handwerksrolle-eintragung")
    assert "zulassungspflichtiges Handwerk (Anlage A HwO) darf nur selbstständig betreiben, wer in der " \
           "Handwerksrolle eingetragen ist" in card
    for link in completion_links(html):
        fill(client, link, CHILD_ANSWERS)
    review = client.get(f"{overview}/pruefen")
    assert review.status_code == 200
    section = re.search(r'<section aria-labelledby="antrag-handwerksrolle-eintragung">(.*?)</section>',
                        review.get_data(as_text=True), re.S).group(1)
    assert "Nicht beantragt (weggelassen)." in section
    assert "Dieser Antrag ist gesetzlich vorgeschrieben" in section and "§ 1 und § 16 Abs. 3 HwO" in section


def test_the_first_weglassen_of_a_required_service_asks_again_and_abbrechen_keeps_it(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    page = client.get(overview).get_data(as_text=True)
    resp = client.post(f"{overview}/antraege", data={"csrf_token": csrf_token(page), "service": "gewerbeanmeldung",
                                                     "leave_out": "yes"})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("#bestaetigen-gewerbeanmeldung")
    html = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    card = _card(html, "gewerbeanmeldung")
    assert "– weggelassen" not in card  # not left out by the first press
    confirm = re.search(r'<div class="kern-alert kern-alert--warning" id="bestaetigen-gewerbeanmeldung"(.*?)</a>',
                        card, re.S).group(1)
    assert "„Gewerbeanmeldung“ wirklich weglassen?" in confirm
    assert "Wer ein Gewerbe beginnt, muss es gleichzeitig beim Gewerbeamt anzeigen" in confirm
    assert 'name="csrf_token"' in confirm and 'name="confirmed" value="yes"' in confirm
    assert re.search(r'<button type="submit"[^>]*><span class="kern-label">Trotzdem weglassen', confirm)
    assert re.search(rf'<a class="kern-btn kern-btn--secondary" href="{overview}#teil-gewerbeanmeldung">'
                     r'<span class="kern-label">Abbrechen', confirm + "</a>")
    assert ">Weglassen<" not in card  # the card offers the two choices only
    assert "– weggelassen" not in _card(client.get(overview).get_data(as_text=True), "gewerbeanmeldung")  # Abbrechen

    resp = client.post(f"{overview}/antraege", data={"csrf_token": csrf_token(html), "service": "gewerbeanmeldung",
                                                     "leave_out": "yes", "confirmed": "yes"})
    assert resp.status_code == 302
    assert "– weggelassen" in _card(client.get(overview).get_data(as_text=True), "gewerbeanmeldung")

