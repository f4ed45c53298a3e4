"""The forms of the staff filing page: what each shows after a change, after an error, to whom and in
which language (their fields are rendered once for a blank form and kept, see ``inbox.views``)."""

from __future__ import annotations

import re

from sqlalchemy import select

from bizportal.auth.models import StaffUser
from bizportal.extensions import db
from tests.support.casework import form_token, item_path, staff_client
from tests.support.http import csrf_token


def selected_assignee(html: str) -> str:
    form = re.search(r'<form[^>]*id="assign-form".*?</form>', html, re.S)
    assert form
    chosen = re.findall(r'<option[^>]*selected[^>]*>([^<]*)</option>', form.group(0))
    assert len(chosen) == 1, chosen
    return chosen[0]


def assignees(html: str) -> list[str]:
    form = re.search(r'<form[^>]*id="assign-form".*?</form>', html, re.S)
    assert form
    return re.findall(r'<option[^>]*>([^<]*)</option>', form.group(0))


def note_text(html: str) -> str:
    match = re.search(r'<textarea[^>]*name="note"[^>]*>(.*?)</textarea>', html, re.S)
    assert match
    return match.group(1).strip()


def test_the_assign_choice_shows_who_works_the_filing_now_after_each_change(app, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    with app.app_context():
        me = db.session.scalar(select(StaffUser.id).where(StaffUser.sub == "gewerbeamt.bremen"))
    page = staff.get(path).get_data(as_text=True)
    assert selected_assignee(page) == "niemand"
    assert staff.post(f"{path}/zuweisen", data={"csrf_token": csrf_token(page), "assignee": str(me)}).status_code == 302
    page = staff.get(path).get_data(as_text=True)
    assert selected_assignee(page).startswith("Sabine Krüger")
    assert staff.post(f"{path}/zuweisen", data={"csrf_token": csrf_token(page), "assignee": ""}).status_code == 302
    assert selected_assignee(staff.get(path).get_data(as_text=True)) == "niemand"


def test_another_chambers_page_offers_only_its_own_staff(app, filed):
    gewerbeamt = staff_client(app, "gewerbeamt.bremen")
    hwk = staff_client(app, "hwk.bremen")
    ours = gewerbeamt.get(item_path(gewerbeamt, filed)).get_data(as_text=True)
    theirs = hwk.get(item_path(hwk, filed)).get_data(as_text=True)
    assert any(name.startswith("Sabine Krüger") for name in assignees(ours))
    assert not any(name.startswith("Sabine Krüger") for name in assignees(theirs)) and "niemand" in assignees(theirs)


def test_a_note_refused_is_shown_again_with_its_text_and_the_next_page_has_an_empty_form(app, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    page = staff.get(path).get_data(as_text=True)
    too_long = "Rückruf vereinbart. " * 300  # over the 5,000 characters a note may have
    refused = staff.post(f"{path}/notiz", data={"csrf_token": csrf_token(page), "note": too_long,
                                                "form_token": form_token(page, "note-form")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="note-error"' in html
    assert re.search(r"<title>Fehler: Eingang ", html)  # the window title says so first (screen readers)
    assert f"höchstens 5000 Zeichen, eingegeben wurden {len(too_long)}. Bitte kürzen Sie ihn." in html
    assert note_text(html) == too_long.strip()
    again = staff.get(path).get_data(as_text=True)
    assert note_text(again) == "" and 'id="note-error"' not in again and "<title>Fehler" not in again


def test_each_session_gets_its_own_csrf_token_and_each_page_new_one_time_tokens(app, filed):
    first = staff_client(app, "gewerbeamt.bremen")
    second = staff_client(app, "gewerbeamt.bremen")
    path = item_path(first, filed)
    one, two = first.get(path).get_data(as_text=True), second.get(path).get_data(as_text=True)
    assert csrf_token(one) != csrf_token(two)
    reload = first.get(path).get_data(as_text=True)
    for form in ("message-form", "action-form", "note-form"):
        assert form_token(one, form) != form_token(reload, form)
    # each session's token is accepted from its own session only
    note = {"note": "Von der zweiten Sitzung.", "form_token": form_token(two, "note-form")}
    assert second.post(f"{path}/notiz", data={**note, "csrf_token": csrf_token(one)}).status_code == 400
    assert second.post(f"{path}/notiz", data={**note, "csrf_token": csrf_token(two)}).status_code == 302


def test_the_forms_and_labels_follow_the_readers_language_from_one_request_to_the_next(app, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    german = staff.get(path).get_data(as_text=True)
    staff.get("/sprache/en")
    english = staff.get(path).get_data(as_text=True)
    staff.get("/sprache/de")
    again = staff.get(path).get_data(as_text=True)
    german_texts = (">Zuweisen<", ">Notiz speichern<", ">Nachricht senden<", ">niemand</option>",
                    ">Eingereicht von</dt>", ">Steuernummer</dt>", "<strong>Zugestellt an ", ">Zustand</dt>",
                    'id="gespraech">Nachrichten mit dem Unternehmen<', 'id="notizen">Interne Notizen<',
                    ">Zurück zum Posteingang</a>")
    for text in german_texts:
        assert text in german and text in again and text not in english, text
    for text in (">Assign<", ">Save note<", ">Send message<", ">nobody</option>",
                 ">Submitted by</dt>", ">Tax number</dt>", "<strong>Delivered to ", ">Status</dt>",
                 'id="gespraech">Messages with the company<', 'id="notizen">Internal notes<', ">Back to inbox</a>"):
        assert text in english, text


def test_a_refused_note_leaves_the_other_forms_showing_the_filing_as_it_is(app, filed):
    """The page shown again after a refused note still names who works the filing and carries the
    status the decision form was shown for (a press of it after the error is checked against it)."""
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    with app.app_context():
        me = db.session.scalar(select(StaffUser.id).where(StaffUser.sub == "gewerbeamt.bremen"))
    page = staff.get(path).get_data(as_text=True)
    assert staff.post(f"{path}/zuweisen", data={"csrf_token": csrf_token(page), "assignee": str(me)}).status_code == 302
    page = staff.get(path).get_data(as_text=True)
    shown_status = re.search(r'name="expected_status"[^>]*value="([^"]*)"', page)
    assert shown_status and shown_status.group(1)
    refused = staff.post(f"{path}/notiz", data={"csrf_token": csrf_token(page), "note": "x" * 6000,
                                                "form_token": form_token(page, "note-form")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert selected_assignee(html).startswith("Sabine Krüger")
    again = re.search(r'name="expected_status"[^>]*value="([^"]*)"', html)
    assert again and again.group(1) == shown_status.group(1)


def test_an_english_page_names_the_service_in_english_in_the_list_and_on_the_item(app, filed):
    """The item keeps the German title it was sent with; staff reading in English see the catalog's
    English title in the list and on the item's page (trial: the service was named in German)."""
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    german_list = staff.get("/staff/posteingang").get_data(as_text=True)
    assert '<td class="kern-table__cell">Gewerbeanmeldung</td>' in german_list
    staff.get("/sprache/en")
    english_list = staff.get("/staff/posteingang").get_data(as_text=True)
    assert '<td class="kern-table__cell">Business registration (Gewerbeanmeldung)</td>' in english_list
    assert '<td class="kern-table__cell">Gewerbeanmeldung</td>' not in english_list
    english = staff.get(path).get_data(as_text=True)
    assert '<p class="kern-body kern-body--large">Business registration (Gewerbeanmeldung)</p>' in english
