"""Moving about a filing's steps (issue 16, new-user trial): "Zurück" to the previous step keeps what
was typed on the page, every step of a bundle leads back to its overview, each "ändern" of a review
opens the step it names and comes back to that review, and the return address is a page of the
portal's drafts, never another site."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from tests.support.bundles import (
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_services,
    fill,
    form_values,
    service_drafts,
)
from tests.support.filing import gewerbe_answers, path_of, post_step, start_draft
from tests.support.http import csrf_token

FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a"}


def _start_bundle(client, key: str = "betrieb-gruenden") -> str:
    page = client.get(f"/vorhaben/{key}")
    resp = client.post(f"/vorhaben/{key}", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert resp.status_code == 302
    return path_of(resp.headers["Location"])


def _press(client, path: str, action: str, answers: dict | None = None):
    """Press a button of the step page at ``path`` with what the page shows plus ``answers``."""
    html = client.get(path).get_data(as_text=True)
    return client.post(path, data={**form_values(html), **(answers or {}), "action": action},
                       content_type="multipart/form-data")


def _links(html: str, text: str) -> list[str]:
    links = re.findall(r'<a class="kern-link" href="([^"]+)">(.*?)</a>', html)
    return [html_lib.unescape(href) for href, label in links if text in label]


def test_zurueck_keeps_the_unfinished_input_of_the_page_and_asks_nothing_until_weiter(client, login_as):
    login_as("anna.becker")
    first = _start_bundle(client)
    draft = first.rsplit("/", 2)[-2]
    fill(client, first, FOUNDING, stop_at="taetigkeit")
    activity = f"/antraege/entwurf/{draft}/taetigkeit"
    page = client.get(activity).get_data(as_text=True)
    assert re.search(r'value="back"[^>]*><span class="kern-label">Zurück<span class="kern-sr-only"> zu „Personen“',
                     page)
    assert "„Zurück“ behält, was Sie auf dieser Seite eingegeben haben" in page
    assert 'value="back"' not in client.get(first).get_data(as_text=True)  # the first question has none

    resp = _press(client, activity, "back", {"taetigkeit": "Friseursalon", "vollzeit": "zwei"})
    assert resp.status_code == 302
    assert path_of(resp.headers["Location"]) == f"/antraege/entwurf/{draft}/personen"
    shown = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert "Ihre Eingaben auf der Seite „Tätigkeit und Beschäftigte“ sind gespeichert" in shown

    again = client.get(activity).get_data(as_text=True)
    assert "Friseursalon" in again and 'value="zwei"' in again  # nothing typed was lost
    assert "Bitte korrigieren Sie folgende Angaben" not in again  # nor judged before "Weiter"
    judged = _press(client, activity, "next")
    assert judged.status_code == 422
    assert "Bitte korrigieren Sie folgende Angaben" in judged.get_data(as_text=True)


def test_zurueck_with_valid_answers_saves_the_step_as_weiter_would(client, login_as):
    login_as("anna.becker")
    first = _start_bundle(client)
    draft = first.rsplit("/", 2)[-2]
    fill(client, first, FOUNDING, stop_at="taetigkeit")
    activity = f"/antraege/entwurf/{draft}/taetigkeit"
    resp = _press(client, activity, "back", {k: PLANS[k] for k in ("taetigkeit", "vollzeit", "teilzeit")})
    assert path_of(resp.headers["Location"]) == f"/antraege/entwurf/{draft}/personen"
    assert "sind gespeichert, aber" not in client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    resp = _press(client, f"/antraege/entwurf/{draft}/personen", "next")
    assert path_of(resp.headers["Location"]) == f"/antraege/entwurf/{draft}/vorhaben"  # the activity is done


def test_a_single_service_step_has_zurueck_too(client, login_as):
    login_as("anna.becker")
    first = start_draft(client, "gewerbeanmeldung")
    assert 'value="back"' not in client.get(first).get_data(as_text=True)
    resp = post_step(client, first, gewerbe_answers())
    second = path_of(resp.headers["Location"])
    html = client.get(second).get_data(as_text=True)
    assert "Zurück<span class=\"kern-sr-only\"> zu „Betriebsinhaber“" in html
    assert 'value="overview"' not in html  # no bundle, no overview
    resp = _press(client, second, "back")
    assert path_of(resp.headers["Location"]) == first


def test_every_step_of_a_bundle_leads_back_to_its_overview_once_the_questions_are_answered(client, login_as):
    login_as("anna.becker")
    first = _start_bundle(client)
    assert "Zur Übersicht des Vorhabens" not in client.get(first).get_data(as_text=True)  # no overview yet
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    bundle_draft = overview.rsplit("/", 1)[-1]
    question = client.get(f"/antraege/entwurf/{bundle_draft}/vorhaben").get_data(as_text=True)
    assert 'value="overview"' in question
    resp = _press(client, f"/antraege/entwurf/{bundle_draft}/vorhaben", "overview")
    assert path_of(resp.headers["Location"]) == overview

    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    first_open = path_of(client.get(f"/antraege/entwurf/{gewerbe}/pruefen").headers["Location"])
    page = client.get(first_open).get_data(as_text=True)
    assert re.search(r'value="overview"[^>]*><span class="kern-label">Zur Übersicht des Vorhabens', page)
    resp = _press(client, first_open, "overview")
    assert path_of(resp.headers["Location"]) == overview
    assert client.get(overview).status_code == 200


def test_each_aendern_on_the_bundle_review_opens_its_step_and_returns_to_the_review(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**FOUNDING, "ausbilden": "no"})
    complete_services(client, overview)
    review = client.get(f"{overview}/pruefen")
    assert review.status_code == 200
    html = review.get_data(as_text=True)
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    link = next(href for href in _links(html, "„Beschäftigte“ ändern") if gewerbe in href)
    assert link.startswith(f"/antraege/entwurf/{gewerbe}/beschaeftigte?next=")
    step = client.get(link)
    assert step.status_code == 200
    assert "<h1 class=\"kern-heading-large\">Beschäftigte</h1>" in step.get_data(as_text=True)
    resp = _press(client, link, "next")
    assert resp.status_code == 302
    assert path_of(resp.headers["Location"]) == f"{overview}/pruefen"


def test_aendern_on_a_single_services_review_returns_to_the_review(client, login_as):
    from tests.support.filing import fill_steps

    login_as("anna.becker")
    review = fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers())
    html = client.get(review).get_data(as_text=True)
    link = _links(html, "„Tätigkeit“ ändern")[0]
    assert link.endswith(f"/taetigkeit?next={review}")
    resp = _press(client, link, "next")
    assert path_of(resp.headers["Location"]) == review


def test_im_vorhaben_aendern_returns_to_the_service_step_that_named_the_answer(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**FOUNDING, "ausbilden": "no"})
    complete_services(client, overview)
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    step = f"/antraege/entwurf/{gewerbe}/betriebsstaette"
    html = client.get(step).get_data(as_text=True)
    link = next(href for href in _links(html, "im Vorhaben ändern"))
    assert "next=" in link
    question = client.get(link)
    assert question.status_code == 200
    resp = _press(client, link, "next")
    assert path_of(resp.headers["Location"]) == step


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/antraege/", "/\\evil.example",
                                    "/logout", "javascript:alert(1)"])
def test_a_return_address_outside_the_portals_drafts_is_refused(client, login_as, target):
    from tests.support.filing import fill_steps

    login_as("anna.becker")
    review = fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers())
    draft = review.split("/")[3]
    step = f"/antraege/entwurf/{draft}/taetigkeit"
    page = client.get(step, query_string={"next": target})
    assert page.status_code == 200
    assert "evil.example" not in page.get_data(as_text=True)  # the form does not carry it on
    html = page.get_data(as_text=True)
    resp = client.post(step, query_string={"next": target},
                       data={**form_values(html), "action": "next"}, content_type="multipart/form-data")
    assert resp.status_code == 302
    assert path_of(resp.headers["Location"]) == review
