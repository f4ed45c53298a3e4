"""Colleagues of one company on one draft: a page opened before a colleague saved neither writes
over the colleague's answers unseen nor files what the submitter never saw (the draft's revision,
carried by each step and review page)."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from sqlalchemy import func, select

from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.bundles import PLANS, SHARED, answer_questionnaire, complete_services, press, service_drafts
from tests.support.colleagues import colleague_of_anna, open_page, send, stored
from tests.support.concurrency import run_at_once
from tests.support.filing import fill_steps, gewerbe_answers, start_draft
from tests.support.http import http_login

FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a"}


def _filings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Filing))


def _ready_gewerbeanmeldung(client) -> tuple[str, str]:
    """A Gewerbeanmeldung with every step done: its draft id and the review's path."""
    review = fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers())
    return review.split("/")[3], review


def _location(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return urlsplit(resp.headers["Location"]).path


def _flash(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", m) for m in re.findall(r'<p class="kern-title">(.*?)</p>', html, re.S))


# --- a step ----------------------------------------------------------------------------------------

def test_a_step_page_opened_before_a_colleagues_save_does_not_write_over_it(app, client, login_as):
    login_as("anna.becker")
    draft_id, _review = _ready_gewerbeanmeldung(client)
    step = f"/antraege/entwurf/{draft_id}/taetigkeit"
    annas_page = open_page(client, step)
    jonas = colleague_of_anna(app)
    assert _location(send(jonas, step, open_page(jonas, step), activity="Elektroinstallation und Photovoltaik")) \
        .endswith("/pruefen")

    resp = send(client, step, annas_page, activity="Elektroinstallation und Smart Home")
    assert _location(resp) == step  # the step again, nothing stored
    assert stored(app, draft_id).data["activity"] == "Elektroinstallation und Photovoltaik"
    assert stored(app, draft_id).pending_input == {}
    page = client.get(step).get_data(as_text=True)
    message = _flash(page)
    assert "Jonas Weber hat die Angaben dieses Schritts am" in message
    assert "Ihre Eingaben wurden nicht gespeichert" in message
    assert "Elektroinstallation und Photovoltaik" in page and "Smart Home" not in page  # Jonas's answer shown
    # entered again on the page that shows Jonas's answer, Anna's answer is saved
    resp = send(client, step, open_page(client, step), activity="Elektroinstallation und Smart Home")
    assert _location(resp).endswith("/pruefen")
    assert stored(app, draft_id).data["activity"] == "Elektroinstallation und Smart Home"


def test_a_step_page_opened_before_a_colleague_saved_another_step_is_taken(app, client, login_as):
    login_as("anna.becker")
    draft_id, _review = _ready_gewerbeanmeldung(client)
    staff = f"/antraege/entwurf/{draft_id}/beschaeftigte"
    annas_page = open_page(client, staff)
    jonas = colleague_of_anna(app)
    activity = f"/antraege/entwurf/{draft_id}/taetigkeit"
    send(jonas, activity, open_page(jonas, activity), activity="Elektroinstallation und Photovoltaik")

    assert _location(send(client, staff, annas_page, vollzeit="5")).endswith("/pruefen")
    draft = stored(app, draft_id)
    assert (draft.data["vollzeit"], draft.data["activity"]) == (5, "Elektroinstallation und Photovoltaik")


def test_a_stale_page_adding_a_group_entry_keeps_nothing_of_what_it_held(app, client, login_as):
    """Not only "Weiter": the other buttons of a step (here a group's "Weiteren Eintrag hinzufügen")
    keep what was typed as pending input, which a stale page must not leave behind either."""
    login_as("anna.becker")
    draft_id, _review = _ready_gewerbeanmeldung(client)
    step = f"/antraege/entwurf/{draft_id}/personen"
    annas_page = open_page(client, step)
    jonas = colleague_of_anna(app)
    assert _location(send(jonas, step, open_page(jonas, step), **{"personen-0-vornamen": "Anna Maria"})) \
        .endswith("/pruefen")

    resp = send(client, step, annas_page, action="add:personen", **{"personen-0-familienname": "Becker-Lange"})
    assert _location(resp) == step
    draft = stored(app, draft_id)
    assert draft.pending_input == {}
    assert (draft.data["personen"][0]["vornamen"], draft.data["personen"][0]["familienname"]) == \
        ("Anna Maria", "Becker")
    assert "Jonas Weber hat die Angaben dieses Schritts" in _flash(client.get(step).get_data(as_text=True))


def test_a_step_changed_in_another_window_says_so(app, client, login_as):
    login_as("anna.becker")
    draft_id, _review = _ready_gewerbeanmeldung(client)
    step = f"/antraege/entwurf/{draft_id}/taetigkeit"
    first_tab = open_page(client, step)
    send(client, step, open_page(client, step), activity="Elektroinstallation und Photovoltaik")
    assert _location(send(client, step, first_tab, activity="Elektroinstallation und Smart Home")) == step
    assert "in einem anderen Fenster geändert" in _flash(client.get(step).get_data(as_text=True))
    assert stored(app, draft_id).data["activity"] == "Elektroinstallation und Photovoltaik"


def test_two_colleagues_saving_one_step_at_once_one_wins_the_other_is_told(app, live_server, client, login_as):
    """Both pages show the same save of the draft; both are sent at the same moment: exactly one is
    stored, the other is sent back to the step (the check and the save are one step under the
    company's lock)."""
    login_as("anna.becker")
    draft_id, _review = _ready_gewerbeanmeldung(client)
    step = f"/antraege/entwurf/{draft_id}/taetigkeit"
    people = {"Smart Home": http_login(live_server, "anna.becker"),
              "Photovoltaik": http_login(live_server, "jonas.weber")}
    pages = {what: open_page(person, step) for what, person in people.items()}
    assert pages["Smart Home"]["draft_revision"] == pages["Photovoltaik"]["draft_revision"]
    before = stored(app, draft_id).revision
    queue = list(people)

    def save():
        what = queue.pop()
        person = people[what]
        resp = person.session.post(live_server + step, data={**pages[what], "activity": f"Elektroinstallation, {what}",
                                                             "action": "next"}, allow_redirects=False, timeout=30)
        return what, resp.status_code, urlsplit(resp.headers.get("Location", "")).path

    results, errors = run_at_once(save, 2)
    assert errors == [] and len(results) == 2
    assert {status for _what, status, _to in results} == {302}
    won = [what for what, _status, to in results if to.endswith("/pruefen")]
    told = [what for what, _status, to in results if to == step]
    assert len(won) == 1 and len(told) == 1, results
    draft = stored(app, draft_id)
    assert draft.data["activity"] == f"Elektroinstallation, {won[0]}"
    assert draft.revision == before + 1  # one save, not two


# --- the submit ------------------------------------------------------------------------------------

def test_a_submit_from_a_review_opened_before_a_colleagues_change_files_nothing(app, client, login_as):
    login_as("anna.becker")
    draft_id, review = _ready_gewerbeanmeldung(client)
    annas_review = open_page(client, review)
    jonas = colleague_of_anna(app)
    step = f"/antraege/entwurf/{draft_id}/taetigkeit"
    send(jonas, step, open_page(jonas, step), activity="Elektroinstallation und Photovoltaik")

    resp = client.post(review, data={**annas_review, "declaration": "y"})
    assert _location(resp) == review
    assert _filings(app) == 0
    page = client.get(review).get_data(as_text=True)
    message = _flash(page)
    assert re.search(r"Der Entwurf wurde am .+ von Jonas Weber geändert", message), message
    assert "Es wurde nichts eingereicht" in message and "prüfen Sie die Angaben erneut" in message
    assert "Elektroinstallation und Photovoltaik" in page  # the review shows the answers as they are now
    # submitted from the review that shows them, the draft is filed with Jonas's answer
    resp = client.post(review, data={**open_page(client, review), "declaration": "y"})
    assert "/antraege/BP-" in _location(resp)
    with app.app_context():
        assert db.session.scalar(select(Filing.data)).get("activity") == "Elektroinstallation und Photovoltaik"


def test_a_submit_without_the_reviews_mark_files_nothing(app, client, login_as):
    login_as("anna.becker")
    _draft_id, review = _ready_gewerbeanmeldung(client)
    page = {k: v for k, v in open_page(client, review).items() if k != "revision"}
    assert _location(client.post(review, data={**page, "declaration": "y"})) == review
    assert _filings(app) == 0


# --- a bundle --------------------------------------------------------------------------------------

def _ready_bundle(client) -> tuple[str, dict[str, str]]:
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    complete_services(client, overview)
    return overview, service_drafts(client, overview)


def test_a_bundle_step_opened_before_a_colleagues_save_does_not_write_over_it(app, client, login_as):
    login_as("anna.becker")
    overview, drafts = _ready_bundle(client)
    training = drafts["ausbildungsvertrag-eintragung"]
    step = f"/antraege/entwurf/{training}/verguetung"
    annas_page = open_page(client, step)
    jonas = colleague_of_anna(app)
    assert _location(send(jonas, step, open_page(jonas, step), verguetung_erstes_jahr="1100")).endswith("/pruefen")

    assert _location(send(client, step, annas_page, verguetung_erstes_jahr="990")) == step
    assert stored(app, training).data["verguetung_erstes_jahr"] == 1100
    page = client.get(step).get_data(as_text=True)
    assert "Jonas Weber hat die Angaben dieses Schritts" in _flash(page) and 'value="1100"' in page
    # the bundle's questions are steps too
    bundle_id = overview.rsplit("/", 1)[-1]
    question = f"/antraege/entwurf/{bundle_id}/betrieb"
    annas_question = open_page(client, question)
    send(jonas, question, open_page(jonas, question), business_name="Becker Elektro und Solar GmbH")
    assert _location(send(client, question, annas_question, business_name="Becker Strom GmbH")) == question
    assert stored(app, bundle_id).data["business_name"] == "Becker Elektro und Solar GmbH"


def test_a_bundle_submit_from_a_review_opened_before_a_colleagues_change_files_nothing(app, client, login_as):
    login_as("anna.becker")
    overview, drafts = _ready_bundle(client)
    review = f"{overview}/pruefen"
    annas_review = open_page(client, review)
    jonas = colleague_of_anna(app)
    step = f"/antraege/entwurf/{drafts['ausbildungsvertrag-eintragung']}/verguetung"
    send(jonas, step, open_page(jonas, step), verguetung_erstes_jahr="1100")

    resp = client.post(review, data={**annas_review, "declaration": "y"})
    assert _location(resp) == review
    assert _filings(app) == 0
    page = client.get(review).get_data(as_text=True)
    assert re.search(r"Der Entwurf wurde am .+ von Jonas Weber geändert.*Es wurde nichts eingereicht", _flash(page))
    assert "1.100" in page or "1100" in page
    resp = client.post(review, data={**open_page(client, review), "declaration": "y"})
    assert "/antraege/vorhaben/eingereicht/" in _location(resp)
    assert _filings(app) == 3
    with app.app_context():
        training = db.session.scalar(select(Filing).where(Filing.service_key == "ausbildungsvertrag-eintragung"))
        assert training.data["verguetung_erstes_jahr"] == 1100


def test_a_service_left_out_and_taken_back_in_meanwhile_makes_the_bundles_review_stale(app, client, login_as):
    """The bundle's review covers its own draft too: a colleague who left a service out and took it
    back in meanwhile changed what the review showed (for a while the bundle would not have filed it)."""
    login_as("anna.becker")
    overview, _drafts = _ready_bundle(client)
    review = f"{overview}/pruefen"
    annas_review = open_page(client, review)
    jonas = colleague_of_anna(app)
    press(jonas, overview, service="handwerksrolle-eintragung", leave_out="yes")
    press(jonas, overview, service="handwerksrolle-eintragung", leave_out="no")
    assert open_page(client, review)["revision"] != annas_review["revision"]
    assert _location(client.post(review, data={**annas_review, "declaration": "y"})) == review
    assert _filings(app) == 0
    assert "von Jonas Weber geändert" in _flash(client.get(review).get_data(as_text=True))


def test_a_delete_and_a_colleagues_save_at_once_give_no_error(app, live_server, client, login_as):
    """Anna deletes the draft while Jonas saves a step of it: the delete waits for the save (or the
    save finds the draft gone and says so); no server error, and the draft is gone."""
    login_as("anna.becker")
    draft_id, _review = _ready_gewerbeanmeldung(client)
    step = f"/antraege/entwurf/{draft_id}/taetigkeit"
    anna, jonas = http_login(live_server, "anna.becker"), http_login(live_server, "jonas.weber")
    annas_page, jonas_page = open_page(anna, step), open_page(jonas, step)
    queue = ["delete", "save"]

    def act():
        what = queue.pop()
        if what == "delete":
            resp = anna.session.post(f"{live_server}/antraege/entwurf/{draft_id}/loeschen",
                                     data={"csrf_token": annas_page["csrf_token"]}, allow_redirects=False, timeout=30)
        else:
            resp = jonas.session.post(live_server + step, data={**jonas_page, "activity": "Photovoltaik",
                                                                "action": "next"}, allow_redirects=False, timeout=30)
        return what, resp.status_code

    results, errors = run_at_once(act, 2)
    # the save went first (302) or found the draft already deleted: "not found" (404), or gone
    # while it waited for the lock (302 to the list with a message); never a server error
    outcome = dict(results)
    assert errors == [] and outcome["delete"] == 302 and outcome["save"] in (302, 404), results
    with app.app_context():
        assert db.session.get(Draft, uuid.UUID(draft_id)) is None
