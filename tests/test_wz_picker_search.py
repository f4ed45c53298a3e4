"""The WZ 2008 picker's "Suchen" (issue 16, new-user trial): the search sends the step's form, and
the step comes back with the list narrowed and every answer typed on it still in place, in a
single service's draft and on a bundle's step that asks more than the activity."""

from __future__ import annotations

import re
import uuid

import pytest

from bizportal.extensions import db
from bizportal.filings.models import Draft
from tests.support.bundles import MOVE, answer_questionnaire, form_values
from tests.support.filing import gewerbe_answers, path_of, post_step, start_draft
from tests.support.http import csrf_token

#: the rest of the bundle step "Tätigkeit und Beschäftigte", typed before the activity is looked up
TYPED = {"nebenerwerb": "yes", "handwerk": "no", "industrie": "no", "handel": "yes", "sonstiges": "no",
         "vollzeit": "4", "teilzeit": "2", "taetigkeit": "Einzelhandel mit Fahrrädern"}
BICYCLES = "47.64.1 Einzelhandel mit Fahrrädern, Fahrradteilen und -zubehör"


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _search(client, path: str, typed: dict, words: str):
    """Press "Suchen" on the step at ``path`` with ``typed`` in its inputs; the step page it leads to."""
    html = client.get(path).get_data(as_text=True)
    resp = client.post(path, data={**form_values(html), **typed, "wz2008-suche": words, "action": "search:wz2008"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = client.get(path_of(resp.headers["Location"]))
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _draft(app, path: str) -> Draft:
    draft_id = re.search(r"/entwurf/([0-9a-f-]+)/", path).group(1)
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(draft_id))
        db.session.expunge(draft)
        return draft


def _move_to_activity_step(client) -> str:
    page = client.get("/vorhaben/betrieb-verlegen-aufgeben")
    resp = client.post("/vorhaben/betrieb-verlegen-aufgeben",
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    path = path_of(resp.headers["Location"])
    while not path.endswith("/taetigkeit"):
        html = client.get(path).get_data(as_text=True)
        resp = client.post(path, data={**form_values(html), **MOVE, "action": "next"})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
        path = path_of(resp.headers["Location"])
    return path


def test_a_search_on_a_bundle_step_keeps_what_was_typed_there(app, company):
    path = _move_to_activity_step(company)
    page = _search(company, path, TYPED, "fahrrad")
    assert BICYCLES in page and "43.21.0 Elektroinstallation" not in page
    shown = form_values(page)
    assert {k: shown.get(k) for k in TYPED} == TYPED
    assert shown["wz2008-suche"] == "fahrrad"
    # a search is no attempt to go on: nothing is refused yet (the activity is still open)
    assert "Bitte korrigieren Sie folgende Angaben" not in page
    # the draft holds the typed answers: the step opened again later still shows them
    again = form_values(company.get(path).get_data(as_text=True))
    assert {k: again.get(k) for k in TYPED} == TYPED
    draft = _draft(app, path)
    assert draft.pending_input["taetigkeit"]["vollzeit"] == ["4"] and "taetigkeit" not in draft.completed_steps
    # choosing from the narrowed list and going on stores everything typed before the search
    resp = company.post(path, data={**shown, "wz2008": "47.64.1", "action": "next"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/neu")
    draft = _draft(app, path)
    assert draft.data["vollzeit"] == 4 and draft.data["nebenerwerb"] is True and draft.data["handel"] is True
    assert draft.data["wz2008"] == "47.64.1" and "taetigkeit" in draft.completed_steps


def test_the_narrowed_list_gets_the_focus_and_names_its_matches(company):
    path = _move_to_activity_step(company)
    page = _search(company, path, TYPED, "fahrrad")
    select = re.search(r"<select[^>]*>", page[page.index('id="wz2008-picker"'):]).group(0)
    assert 'id="wz2008"' in select and "autofocus" in select and "wz2008-treffer" in select
    count = re.search(r'<p[^>]*id="wz2008-treffer"[^>]*>([^<]*)</p>', page)
    assert count and 'role="status"' in count.group(0) and "passen zu „fahrrad“" in count.group(1)
    assert '<label class="kern-label" for="wz2008">' in page  # the list keeps its label
    # no match: the focus stays in the search field, which the message describes
    page = _search(company, path, TYPED, "raumfahrtbahnhof")
    search = re.search(r'<input[^>]*id="wz2008-suche"[^>]*>', page).group(0)
    assert "autofocus" in search and "wz2008-treffer" in search
    assert "Kein Eintrag passt zu „raumfahrtbahnhof“" in page
    assert form_values(page)["vollzeit"] == "4"


def test_a_search_that_changes_nothing_keeps_a_done_step_done(app, company):
    overview = answer_questionnaire(company, "betrieb-verlegen-aufgeben", MOVE)
    draft_id = overview.rstrip("/").rsplit("/", 1)[-1]
    path = f"/antraege/entwurf/{draft_id}/taetigkeit"
    page = _search(company, path, {}, "elektro")
    assert form_values(page)["wz2008"] == "43.21.0"  # the saved answer, kept in the narrowed list
    assert company.get(overview).status_code == 200  # the questions are still answered
    assert "taetigkeit" in _draft(app, path).completed_steps
    # a search after a change keeps the change, and the step is open until it is saved
    page = _search(company, path, {"vollzeit": "7"}, "elektro")
    assert form_values(page)["vollzeit"] == "7"
    assert "taetigkeit" not in _draft(app, path).completed_steps


def test_a_search_keeps_the_activity_chosen_in_a_gewerbeanmeldung(app, company):
    path = start_draft(company, "gewerbeanmeldung")
    answers = gewerbe_answers()
    del answers["wz2008"]
    while not path.endswith("/wz"):
        path = path_of(post_step(company, path, answers).headers["Location"])
    page = _search(company, path, {"wz2008": "43.21.0"}, "fliesen")
    assert "43.33.0 Fußboden-, Fliesen- und Plattenlegerei, Tapeziererei" in page
    assert form_values(page).get("wz2008") == "43.21.0"  # chosen before the search: still chosen
    assert form_values(company.get(path).get_data(as_text=True)).get("wz2008") == "43.21.0"
    assert _draft(app, path).pending_input["wz"]["wz2008"] == ["43.21.0"]


# --- Enter in a field: the form's default button is "Weiter" --------------------------------------

def _submit_buttons(html: str) -> list[dict[str, str]]:
    """The submit buttons of the step form in tree order (the first is the one a browser presses
    for Enter in a field), each as its attributes and its text ``label``."""
    start = html.index('id="step-form"')
    form = html[start:html.index("</form>", start)]
    buttons = []
    for attrs, label in re.findall(r"<button\b([^>]*)>(.*?)</button>", form, re.S):
        found = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        if found.get("type", "submit") == "submit":
            buttons.append({**found, "label": re.sub(r"<[^>]+>", "", label).strip()})
    return buttons


def test_enter_in_a_field_of_a_step_with_the_picker_goes_on_and_does_not_search(company):
    path = _move_to_activity_step(company)
    buttons = _submit_buttons(company.get(path).get_data(as_text=True))
    first = buttons[0]
    assert (first["name"], first["value"]) == ("action", "next")
    # out of sight, of the tab order and of what a screen reader reads: the visible "Weiter" is there
    assert first["tabindex"] == "-1" and first["aria-hidden"] == "true" and "kern-sr-only" in first["class"]
    labels = [(b["label"], b["value"]) for b in buttons[1:]]
    assert labels.index(("Suchen", "search:wz2008")) < labels.index(("Weiter", "next"))


def test_enter_in_a_field_of_a_step_with_a_group_does_not_add_an_entry(company):
    path = start_draft(company, "gewerbeanmeldung")
    answers = gewerbe_answers()
    while not path.endswith("/personen"):
        path = path_of(post_step(company, path, answers).headers["Location"])
    buttons = _submit_buttons(company.get(path).get_data(as_text=True))
    assert (buttons[0]["name"], buttons[0]["value"]) == ("action", "next")
    assert ("Weiteren Eintrag hinzufügen", "add:personen") in [(b["label"], b["value"]) for b in buttons]


def test_a_misspelt_search_asks_did_you_mean_and_lists_what_the_corrected_words_find(app, company):
    """Clerk trial, issue 13: "Elektroinstalation" found nothing and offered nothing; the catalog
    search's spelling correction now stands in for the word, as on the catalog page."""
    path = start_draft(company, "gewerbeanmeldung")
    answers = gewerbe_answers()
    del answers["wz2008"]
    while not path.endswith("/wz"):
        path = path_of(post_step(company, path, answers).headers["Location"])
    page = _search(company, path, {}, "Elektroinstalation")
    count = " ".join(re.search(r'<p[^>]*id="wz2008-treffer"[^>]*>([^<]*)</p>', page).group(1).split())
    assert count == ("Kein Eintrag passt zu „Elektroinstalation“. Meinten Sie: Elektroinstallation? "
                     "1 Eintrag passt zu „Elektroinstallation“.")
    select = page[page.index('id="wz2008"'):].split("</select>", 1)[0]
    assert '<option value="43.21.0">43.21.0 Elektroinstallation</option>' in select
    assert form_values(page)["wz2008-suche"] == "Elektroinstalation"  # what was typed stays
    resp = company.post(path, data={**form_values(page), "wz2008": "43.21.0", "action": "next"})
    assert resp.status_code == 302 and _draft(app, path).data["wz2008"] == "43.21.0"
    # words that are no typo of any entry still find nothing
    assert "Meinten Sie" not in _search(company, path, {}, "raumfahrtbahnhof")


def test_the_did_you_mean_is_in_the_pages_language(company):
    company.get("/sprache/en")
    path = start_draft(company, "gewerbeanmeldung")
    answers = gewerbe_answers()
    del answers["wz2008"]
    while not path.endswith("/wz"):
        path = path_of(post_step(company, path, answers).headers["Location"])
    page = _search(company, path, {}, "Einzelhandl Fahrräder")
    assert "No entry matches “Einzelhandl Fahrräder”. Did you mean: Einzelhandel Fahrräder?" in " ".join(page.split())
