"""Case work between chamber and company: the whole loop, both sides, and what is refused."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import func, select

from bizportal.audit.models import AuditEvent
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing, FilingEvent, FilingMessage
from tests.support.casework import (
    PDF,
    answer,
    expected_status,
    form_token,
    item_path,
    staff_client,
    staff_message,
    take_step,
)
from tests.support.http import csrf_token, login
from tests.support.pdfs import minimal_pdf

ANSWER_PDF = minimal_pdf("Handwerkskarte Becker")



def _mails(app) -> list:
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
            for p in sorted(Path(app.config["MAIL_FOLDER"]).glob("*.eml"))]


def _status(app, reference: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Filing.status).where(Filing.reference == reference))


def _events(app, reference: str, kind: str) -> int:
    with app.app_context():
        return len(db.session.scalars(select(FilingEvent.id).join(Filing).where(
            Filing.reference == reference, FilingEvent.kind == kind)).all())


def test_the_whole_loop_from_request_to_decision_document(app, client, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    page = staff.get(path).get_data(as_text=True)
    # who filed and how to reach them
    for text in ("Anna Becker", "anna.becker@", "Becker Elektrotechnik GmbH"):
        assert text in page, text

    assert take_step(staff, path, "received").status_code == 302
    due = date.today() + timedelta(days=10)
    resp = take_step(staff, path, "information_requested", "Bitte reichen Sie die Handwerkskarte nach.", due_on=due)
    assert resp.status_code == 302
    assert _status(app, filed) == "information_requested"

    # the company sees the request and its due date, and got a mail naming the date
    detail = client.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Bitte reichen Sie die Handwerkskarte nach." in detail
    assert "Nachforderung von Gewerbeamt Bremen (Stadtamt) beantworten" in detail
    Worker(app).run_once()
    request_mails = [m for m in _mails(app) if "bittet um weitere Angaben" in m.get_body().get_content()]
    assert len(request_mails) == 1
    assert "Bitte antworten Sie bis zum" in request_mails[0].get_body().get_content()

    # the company answers with a PDF: the filing goes back to the chamber
    resp = answer(client, filed, "Anbei die Handwerkskarte.", files=[(ANSWER_PDF, "Handwerkskarte.pdf")])
    assert resp.status_code == 302
    assert _status(app, filed) == "answered"
    assert "Antwort eingegangen" in client.get(f"/antraege/{filed}").get_data(as_text=True)

    # staff see the answer and open its file
    page = staff.get(path).get_data(as_text=True)
    assert "Anbei die Handwerkskarte." in page and "Antwort eingegangen" in page
    link = re.search(r'href="(/staff/posteingang/\d+/dokument/[0-9a-f-]+)">Handwerkskarte.pdf', page)
    assert link, "answer file not linked by name"
    got = staff.get(link.group(1))
    assert got.status_code == 200 and got.data == ANSWER_PDF

    # staff decide with a decision document
    resp = take_step(staff, path, "accepted", "Die Anzeige ist eingetragen.",
                     documents=[(PDF, "Gewerbeschein.pdf")])
    assert resp.status_code == 302
    assert _status(app, filed) == "accepted"

    detail = client.get(f"/antraege/{filed}").get_data(as_text=True)
    doc = re.search(r'href="(/antraege/anhang/[0-9a-f-]+)">Gewerbeschein.pdf', detail)
    assert doc, "decision document not offered to the company"
    download = client.get(doc.group(1))
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]

    Worker(app).run_once()
    decision_mails = [m for m in _mails(app) if "Dokument" in m.get_body().get_content()]
    assert len(decision_mails) == 1
    assert "hat Ihre Anzeige bestätigt" in decision_mails[0].get_body().get_content()  # a trade notification
    assert not list(decision_mails[0].iter_attachments())  # the mail names the portal, never carries it

    # the audit log names the person and the transition
    with app.app_context():
        details = [e.detail for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "filing.transition").order_by(AuditEvent.id))]
    assert details == [
        "forwarded → received", "received → information_requested", "answered → accepted"]

    # closed: the company cannot answer any more, and nothing is written
    resp = answer(client, filed, "Noch etwas.")
    assert resp.status_code == 409 and "abgeschlossen" in resp.get_data(as_text=True)
    assert "Noch etwas." not in client.get(f"/antraege/{filed}").get_data(as_text=True)


def test_pressing_a_step_twice_or_in_a_stale_tab_changes_nothing(app, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    colleague = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    assert take_step(staff, path, "received").status_code == 302
    # the same form posted again (double click / back button): the page it came from showed "forwarded"
    again = take_step(staff, path, "received", expected="forwarded")
    assert again.status_code == 409 and "inzwischen geändert" in again.get_data(as_text=True)
    assert _events(app, filed, "received") == 1

    # two tabs: both show "received"; the colleague takes "in progress" first
    assert take_step(colleague, path, "in_progress").status_code == 302
    stale = take_step(staff, path, "rejected", "Unvollständig.", expected="received")
    assert stale.status_code == 409
    assert _status(app, filed) == "in_progress"
    # a step the machine does not allow from here is not offered and not taken
    page = staff.get(path).get_data(as_text=True)
    assert 'value="received"' not in page
    assert take_step(staff, path, "received").status_code == 422


def test_bad_input_is_refused_at_the_field(app, client, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    resp = take_step(staff, path, "information_requested", "Bitte nachreichen.", due_on=date.today())
    assert resp.status_code == 422 and "Das Datum muss in der Zukunft liegen." in resp.get_data(as_text=True)
    resp = take_step(staff, path, "information_requested", "Bitte nachreichen.", due_on="31.02.2027")
    assert resp.status_code == 422 and "gültiges Datum" in resp.get_data(as_text=True)
    resp = take_step(staff, path, "accepted", documents=[(b"MZ\x90\x00 not a pdf", "Bescheid.pdf")])
    assert resp.status_code == 422 and "Dateityp ist hier nicht erlaubt" in resp.get_data(as_text=True)
    assert _status(app, filed) == "forwarded"

    take_step(staff, path, "information_requested", "Bitte nachreichen.")
    empty = answer(client, filed, "   ")
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and 'id="body-error"' in html and "Bitte schreiben Sie eine Nachricht." in html
    fake = answer(client, filed, "Anbei.", files=[(b"<html>not a pdf</html>", "Karte.pdf")])
    assert fake.status_code == 422 and "Dateityp ist hier nicht erlaubt" in fake.get_data(as_text=True)
    assert _status(app, filed) == "information_requested"


def test_colleagues_see_the_conversation_other_companies_and_chambers_nothing(app, client, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    take_step(staff, path, "information_requested", "Bitte Handwerkskarte nachreichen.")
    assert answer(client, filed, "Anbei.", files=[(ANSWER_PDF, "Karte.pdf")]).status_code == 302
    note_page = staff.get(path).get_data(as_text=True)
    staff.post(f"{path}/notiz", data={"csrf_token": csrf_token(note_page), "note": "Nur intern: Rückruf"})
    assert "Nur intern: Rückruf" in staff.get(path).get_data(as_text=True)

    colleague = app.test_client()
    login(colleague, "jonas.weber")
    page = colleague.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Bitte Handwerkskarte nachreichen." in page and "Anbei." in page
    assert "Nur intern" not in page and "Nur intern" not in client.get(f"/antraege/{filed}").get_data(as_text=True)
    file_link = re.search(r'href="(/antraege/anhang/[0-9a-f-]+)">Karte.pdf', page).group(1)
    assert colleague.get(file_link).status_code == 200

    stranger = app.test_client()
    login(stranger, "lea.hansen")
    assert stranger.get(f"/antraege/{filed}").status_code == 404
    assert stranger.get(file_link).status_code == 404
    token = csrf_token(stranger.get("/antraege").get_data(as_text=True))
    assert stranger.post(f"/antraege/{filed}/nachricht", data={"csrf_token": token, "body": "x"}).status_code == 404

    # the copy recipient sees its own (empty) conversation, not the Gewerbeamt's
    hwk = staff_client(app, "hwk.bremen")
    hwk_page = hwk.get(item_path(hwk, filed)).get_data(as_text=True)
    assert "Bitte Handwerkskarte nachreichen." not in hwk_page and "Rückruf" not in hwk_page
    staff_file = re.search(r'href="(/staff/posteingang/\d+/dokument/[0-9a-f-]+)"', note_page).group(1)
    other_item = item_path(hwk, filed)
    assert hwk.get(other_item + staff_file[staff_file.index("/dokument/"):]).status_code == 404


def test_staff_message_without_a_step_and_a_company_message_without_a_request(app, client, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    assert staff_message(staff, path, "Wir melden uns bis Freitag.").status_code == 302
    assert staff_message(staff, path, "").status_code == 422
    assert _status(app, filed) == "forwarded"
    page = client.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Wir melden uns bis Freitag." in page and "Nachricht an Gewerbeamt Bremen (Stadtamt)" in page
    assert answer(client, filed, "Danke!").status_code == 302
    assert "Danke!" in staff.get(path).get_data(as_text=True)
    assert _status(app, filed) == "forwarded"  # a message without a request moves nothing


def test_one_reminder_before_the_due_date_and_overdue_requests_listed_for_staff(app, client, filed):
    from bizportal.filings.models import FilingMessage

    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    take_step(staff, path, "information_requested", "Bitte Gewerbeschein des Vorbetriebs.",
              due_on=date.today() + timedelta(days=20))
    Worker(app).run_once()
    assert not [m for m in _mails(app) if m["Subject"].startswith("Erinnerung")]  # not due soon yet

    with app.app_context():  # the due date comes near, on the same day as the request: no reminder yet
        request = db.session.scalars(select(FilingMessage).where(FilingMessage.kind == "request")).one()
        request.due_on = date.today() + timedelta(days=1)
        db.session.commit()
    Worker(app).run_once()
    assert not [m for m in _mails(app) if m["Subject"].startswith("Erinnerung")]
    with app.app_context():  # a day later
        request = db.session.scalars(select(FilingMessage).where(FilingMessage.kind == "request")).one()
        request.created_at = request.created_at - timedelta(days=1, minutes=1)
        db.session.commit()
    Worker(app).run_once()
    Worker(app).run_once()
    reminders = [m for m in _mails(app) if m["Subject"] == f"Erinnerung: Nachforderung zu {filed}"]
    assert len(reminders) == 1
    assert "Gewerbeschein des Vorbetriebs" in reminders[0].get_body().get_content()

    listing = staff.get("/staff/nachforderungen").get_data(as_text=True)
    assert filed in listing and "0 Nachforderungen sind überfällig." in listing
    with app.app_context():
        request = db.session.scalars(select(FilingMessage).where(FilingMessage.kind == "request")).one()
        request.due_on = date.today() - timedelta(days=1)
        db.session.commit()
    listing = staff.get("/staff/nachforderungen").get_data(as_text=True)
    assert "1 Nachforderung ist überfällig." in listing and "überfällig</span>" in listing
    # another chamber does not see it; once answered it leaves the list
    assert filed not in staff_client(app, "hk.bremen").get("/staff/nachforderungen").get_data(as_text=True)
    answer(client, filed, "Anbei.")
    assert filed not in staff.get("/staff/nachforderungen").get_data(as_text=True)


def test_every_staff_route_refuses_the_items_of_another_chamber(app, client, filed):
    """Walks the URL map: each route that names an inbox item answers 404 to another chamber's
    staff, for every method it takes; the lists of the other chamber never show the filing."""
    owner = staff_client(app, "gewerbeamt.bremen")
    path = item_path(owner, filed)
    take_step(owner, path, "information_requested", "Bitte nachreichen.")
    answer(client, filed, "Anbei.", files=[(ANSWER_PDF, "Karte.pdf")])
    page = owner.get(path).get_data(as_text=True)
    values = {
        "item_id": int(path.rsplit("/", 1)[1]),
        "ref": re.search(r"/anhang/([0-9a-f-]+)", page).group(1) if "/anhang/" in page else "0",
        "attachment_id": re.search(r"/dokument/([0-9a-f-]+)", page).group(1),
    }
    stranger = staff_client(app, "hk.bremen")
    token = csrf_token(stranger.get("/staff/posteingang").get_data(as_text=True))
    walked = []
    for rule in app.url_map.iter_rules():
        if "item_id" not in rule.arguments:
            continue
        url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = stranger.open(url, method=method, data={"csrf_token": token, "action": "rejected",
                                                          "detail": "x", "body": "x", "note": "x"})
            assert resp.status_code == 404, (method, url, resp.status_code)
            walked.append(f"{method} {rule.rule}")
    assert len(walked) >= 6, walked  # detail, step, message, note, attachment, conversation file
    for url in ("/staff/posteingang", "/staff/nachforderungen"):
        assert filed not in stranger.get(url).get_data(as_text=True), url
    assert _status(app, filed) == "answered"


def test_assign_to_a_colleague_shows_in_the_list_filter_and_the_history(app, filed):
    from bizportal.auth.models import StaffUser

    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    with app.app_context():
        me = db.session.scalar(select(StaffUser).where(StaffUser.sub == "gewerbeamt.bremen"))
        other_chamber = db.session.scalar(select(StaffUser.id).where(StaffUser.sub != "gewerbeamt.bremen",
                                                                     StaffUser.chamber_id != me.chamber_id))
        my_id = me.id
    page = staff.get(path).get_data(as_text=True)
    assert staff.post(f"{path}/zuweisen", data={"csrf_token": csrf_token(page), "assignee": str(my_id)}
                      ).status_code == 302
    mine = staff.get("/staff/posteingang?zuweisung=mir").get_data(as_text=True)
    assert filed in mine
    assert filed not in staff.get("/staff/posteingang?zuweisung=niemand").get_data(as_text=True)
    assert "Sabine Krüger" in staff.get(path).get_data(as_text=True)  # the history names the person
    # only people of the same chamber can be chosen
    if other_chamber is not None:
        resp = staff.post(f"{path}/zuweisen", data={"csrf_token": csrf_token(page), "assignee": str(other_chamber)})
        assert resp.status_code == 422
    assert staff.post(f"{path}/zuweisen", data={"csrf_token": csrf_token(page), "assignee": ""}).status_code == 302
    assert filed in staff.get("/staff/posteingang?zuweisung=niemand").get_data(as_text=True)


def test_staff_are_not_offered_to_file_a_service(app):
    staff = staff_client(app, "gewerbeamt.bremen")
    page = staff.get("/leistungen/gewerbeanmeldung").get_data(as_text=True)
    assert "Antrag online stellen" not in page and "Unternehmenskonto" in page


def test_a_request_needs_a_due_date_and_ids_out_of_range_are_not_found(app, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    for due_on, said in (("", "Bitte geben Sie an, bis wann das Unternehmen antworten soll."),
                         ("nächste Woche", "Bitte geben Sie ein gültiges Datum an.")):
        resp = take_step(staff, path, "information_requested", "Bitte nachreichen.", due_on=due_on)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and said in html
        errors = re.search(r'id="due_on-error"[^>]*>(.*?)</', html, re.S)
        assert errors and "Kein gültiges Datum" not in html, "one message for the date, in the page's words"
    assert _status(app, filed) == "forwarded"
    assert staff.get("/staff/posteingang/99999999999999999999").status_code == 404
    assert staff.get("/staff/posteingang/9223372036854775808/export.json").status_code == 404


def test_two_answers_to_one_request_at_once_store_one(app, client, filed):
    from tests.support.concurrency import run_at_once

    staff = staff_client(app, "gewerbeamt.bremen")
    take_step(staff, item_path(staff, filed), "information_requested", "Bitte nachreichen.")
    colleague = app.test_client()
    login(colleague, "jonas.weber")
    pages = {id(c): c.get(f"/antraege/{filed}").get_data(as_text=True) for c in (client, colleague)}
    assert all("request_id" in p for p in pages.values())
    people = iter([client, colleague])
    lock = threading.Lock()

    def post():
        with lock:
            who = next(people)
        return answer(who, filed, "Antwort").status_code

    codes, errors = run_at_once(post, 2)
    assert not errors and sorted(codes) in ([302, 409], [302, 302]), codes
    assert _events(app, filed, "answered") == 1  # the request is answered once; a later post is a message
    assert _events(app, filed, "answered") == 1


def _request_ids(app, reference: str) -> list[int]:
    from bizportal.filings.models import FilingMessage

    with app.app_context():
        return list(db.session.scalars(select(FilingMessage.id).join(Filing).where(
            Filing.reference == reference, FilingMessage.kind == "request").order_by(FilingMessage.id)))


def _post_answer(client, reference: str, body: str, request_id: int | str):
    page = client.get(f"/antraege/{reference}").get_data(as_text=True)
    return client.post(f"/antraege/{reference}/nachricht", content_type="multipart/form-data",
                       data={"csrf_token": csrf_token(page), "body": body, "request_id": str(request_id)})


def test_an_answer_naming_another_filings_request_is_told_so_and_nothing_is_stored(app, client, filed):
    from tests.support.filing import file_service, gewerbe_answers

    other = file_service(client, "gewerbeanmeldung", gewerbe_answers(activity="Zweigstelle", start_date="2027-02-01"))
    assert Worker(app).run_once() == 2
    staff = staff_client(app, "gewerbeamt.bremen")
    take_step(staff, item_path(staff, filed), "information_requested", "Bitte nachreichen (erster Antrag).")
    take_step(staff, item_path(staff, other), "information_requested", "Bitte nachreichen (zweiter Antrag).")
    foreign = _request_ids(app, other)[0]

    resp = _post_answer(client, filed, "Antwort mit fremder Nummer", foreign)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "gehört nicht zu diesem Antrag" in html and "bereits beantwortet" not in html
    assert "Antwort mit fremder Nummer</textarea>" in html  # the typed text stays in the form
    assert "zweiter Antrag" not in html  # nothing of the other filing shows
    # an id that exists nowhere gets the very same answer
    missing = _post_answer(client, filed, "Antwort mit fremder Nummer", foreign + 1000)
    assert missing.status_code == 422 and "gehört nicht zu diesem Antrag" in missing.get_data(as_text=True)
    assert _status(app, filed) == "information_requested" and _status(app, other) == "information_requested"
    assert "Antwort mit fremder Nummer" not in staff.get(item_path(staff, filed)).get_data(as_text=True)


def test_a_staff_message_is_announced_to_the_company_by_mail_naming_the_portal(app, client, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    assert staff_message(staff, path, "Wir melden uns bis Freitag.", files=[(PDF, "Merkblatt.pdf")]).status_code == 302
    Worker(app).run_once()
    mails = [m for m in _mails(app) if m["Subject"] == f"Neue Nachricht zu {filed}"]
    assert len(mails) == 1
    text = mails[0].get_body().get_content()
    assert "Gewerbeamt Bremen (Stadtamt) hat Ihnen eine Nachricht" in text and "Wir melden uns bis Freitag." in text
    assert "Im Portal „Unternehmensportal (Demo)“ liegt ein Dokument" in text and f"/antraege/{filed}" in text
    assert not list(mails[0].iter_attachments())  # the file stays in the portal
    # a refused message (closed filing) announces nothing
    take_step(staff, path, "rejected", "Unvollständig.")
    assert staff_message(staff, path, "Noch ein Hinweis.").status_code == 409
    Worker(app).run_once()
    assert len([m for m in _mails(app) if m["Subject"] == f"Neue Nachricht zu {filed}"]) == 1


def _messages_with(app, reference: str, body: str) -> int:
    from bizportal.filings.models import FilingMessage

    with app.app_context():
        return len(db.session.scalars(select(FilingMessage.id).join(Filing).where(
            Filing.reference == reference, FilingMessage.body == body)).all())


def test_a_message_form_posted_twice_stores_one_message_and_says_so(app, client, filed):
    import io

    from tests.support.casework import form_token

    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)

    # staff: a plain message, the same form posted twice (double click / browser re-post)
    page = staff.get(path).get_data(as_text=True)
    message = {"csrf_token": csrf_token(page), "body": "Wir melden uns bis Freitag.",
               "form_token": form_token(page, "message-form")}
    assert staff.post(f"{path}/nachricht", data=dict(message)).status_code == 302
    again = staff.post(f"{path}/nachricht", data=dict(message), follow_redirects=True)
    assert again.status_code == 200 and "wurde bereits gesendet" in again.get_data(as_text=True)
    assert _messages_with(app, filed, "Wir melden uns bis Freitag.") == 1

    # staff: a request for information posted twice
    page = staff.get(path).get_data(as_text=True)
    request = {"csrf_token": csrf_token(page), "action": "information_requested", "detail": "Bitte nachreichen.",
               "expected_status": "forwarded", "due_on": (date.today() + timedelta(days=14)).isoformat(),
               "form_token": form_token(page, "action-form")}
    assert staff.post(f"{path}/schritt", data=dict(request)).status_code == 302
    again = staff.post(f"{path}/schritt", data=dict(request), follow_redirects=True)
    assert again.status_code == 200 and "wurde bereits gesendet" in again.get_data(as_text=True)
    assert _messages_with(app, filed, "Bitte nachreichen.") == 1

    # the company: an answer with a file posted twice
    page = client.get(f"/antraege/{filed}").get_data(as_text=True)
    token = form_token(page, "message-form")
    request_id = re.search(r'name="request_id" value="(\d+)"', page).group(1)

    def post_answer():
        return client.post(f"/antraege/{filed}/nachricht", content_type="multipart/form-data", data={
            "csrf_token": csrf_token(page), "body": "Anbei die Karte.", "request_id": request_id,
            "form_token": token, "files": [(io.BytesIO(ANSWER_PDF), "Karte.pdf")]})

    assert post_answer().status_code == 302
    again = post_answer()
    assert again.status_code == 302
    shown = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "wurde bereits gesendet" in shown and "bereits beantwortet" not in shown
    assert shown.count(">Karte.pdf</a>") == 1
    assert _messages_with(app, filed, "Anbei die Karte.") == 1
    assert _status(app, filed) == "answered"

    # a fresh form (a new token) is a new message
    assert answer(client, filed, "Noch ein Nachtrag.").status_code == 302
    assert staff_message(staff, path, "Wir melden uns bis Freitag.").status_code == 302
    assert _messages_with(app, filed, "Wir melden uns bis Freitag.") == 2


def test_the_staff_history_and_the_audit_page_name_statuses_as_the_ui_does(app, client, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    take_step(staff, path, "information_requested", "Bitte nachreichen.")
    answer(client, filed, "Anbei.")
    staff_message(staff, path, "Danke, wir prüfen.")
    take_step(staff, path, "rejected", "Unvollständig.")
    with app.app_context():  # a step refused under the lock (a colleague was faster), as lifecycle records it
        from bizportal.audit.services import record
        from bizportal.auth.models import StaffUser

        me = db.session.scalar(select(StaffUser).where(StaffUser.sub == "gewerbeamt.bremen"))
        filing_id = db.session.scalar(select(Filing.id).where(Filing.reference == filed))
        record("filing.transition", me.get_id(), detail=f"→ in_progress: filing {filed} is now rejected, not answered",
               outcome="refused", filing_id=filing_id, chamber_id=me.chamber_id)

    history = staff.get(path).get_data(as_text=True)
    history = history[history.index("Bearbeitung in Ihrer Kammer"):history.index("Zustellung an Ihre Kammer")]
    assert "Antwort eingegangen → Abgelehnt" in history and "Weitergeleitet → Nachfrage" in history
    assert "Nachricht an das Unternehmen" in history and "→ In Bearbeitung (abgewiesen)" in history
    for raw in ("answered", "rejected", "information_requested", "forwarded", "in_progress",
                "message to the company"):
        assert raw not in history, raw
    delivery = staff.get(path).get_data(as_text=True).split("Zustellung an Ihre Kammer")[1]
    assert "zugestellt, abgelehnt" in delivery and ">rejected<" not in delivery  # the delivery's state in words

    admin = staff_client(app, "admin")
    page = admin.get("/staff/admin/protokoll?aktion=filing.transition").get_data(as_text=True)
    table = page[page.index("<tbody"):]
    assert "Antwort eingegangen → Abgelehnt" in table and "→ In Bearbeitung" in table
    for raw in ("answered →", "→ rejected", "information_requested", "in_progress"):
        assert raw not in table, raw


def test_the_export_names_the_answered_status_in_words(app, client, filed):
    from bizportal.catalog.queries import get_service
    from bizportal.inbox import exports
    from bizportal.inbox.models import InboxItem

    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    take_step(staff, path, "information_requested", "Bitte nachreichen.")
    answer(client, filed, "Anbei.")
    with app.test_request_context():
        item = db.session.get(InboxItem, int(path.rsplit("/", 1)[1]))
        document = exports.build(item, get_service(item.service_key)).document
    assert document["status"] == "answered"
    assert exports.STATUS_LABELS[document["status"]] == "Antwort eingegangen"
    assert all(e["kind"] in exports.TIMELINE_LABELS for e in document["timeline"])


def test_a_copy_recipient_sees_its_own_progress_and_the_filings_status_labelled_as_the_competent_bodys(app, filed):
    gewerbeamt = staff_client(app, "gewerbeamt.bremen")
    take_step(gewerbeamt, item_path(gewerbeamt, filed), "in_progress")
    hwk = staff_client(app, "hwk.bremen")
    path = item_path(hwk, filed)

    def head(html: str) -> str:
        return html[html.index("<h1"):html.index('aria-label="Abschnitte"')]

    page = head(hwk.get(path).get_data(as_text=True))
    assert "Stand bei Ihrer Stelle:" in page and "noch nicht zur Kenntnis genommen" in page
    assert "Stand des Antrags bei der zuständigen Stelle:" in page and "In Bearbeitung" in page
    assert "Stand:" not in page.replace("Stand bei", "").replace("Stand des", "")  # no unlabelled status
    assert take_step(hwk, path, "received").status_code == 302
    page = head(hwk.get(path).get_data(as_text=True))
    assert "Eingang bestätigt / zur Kenntnis genommen" in page and "noch nicht" not in page
    # the primary's own page is unchanged: one status
    primary = head(gewerbeamt.get(item_path(gewerbeamt, filed)).get_data(as_text=True))
    assert "Stand:" in primary and "Stand bei Ihrer Stelle" not in primary


def test_a_message_over_the_request_limit_gets_a_page_naming_the_limits_and_a_way_back(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=64 * 1024)
    client = app.test_client()
    login(client, "anna.becker")
    from tests.support.filing import file_service, gewerbe_answers

    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    Worker(app).run_once()
    page = client.get(f"/antraege/{reference}").get_data(as_text=True)
    # the file field carries the limits for the page's script (the text stays when it refuses a file)
    assert 'data-max-file-bytes="10485760"' in page and 'data-max-files="5"' in page
    assert 'data-max-total-bytes="20971520"' in page and "file-limits.js" in page
    import io

    resp = client.post(f"/antraege/{reference}/nachricht", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page), "body": "Anbei die Unterlagen.",
        "files": [(io.BytesIO(b"%PDF-1.4\n" + b"0" * 100 * 1024), "gross.pdf")]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 413
    assert "Die Nachricht wurde nicht gesendet" in html and "höchstens 5 Dateien" in html
    assert "jede höchstens 10 MB" in html and "zusammen höchstens 20 MB" in html
    assert f'href="/antraege/{reference}#antworten"' in html and "Zurück zum Formular" in html

    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, reference)
    staff_page = staff.get(path).get_data(as_text=True)
    resp = staff.post(f"{path}/nachricht", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(staff_page), "body": "Hinweis",
        "files": [(io.BytesIO(b"%PDF-1.4\n" + b"0" * 100 * 1024), "gross.pdf")]})
    assert resp.status_code == 413 and f'href="{path}#nachricht-heading"' in resp.get_data(as_text=True)


# --- double clicks that arrive at the same moment ----------------------------------------------

def _same_form_at_once(app, tab, path: str, data: dict, n: int = 3) -> list[int]:
    """Post one form ``n`` times at once from clients sharing ``tab``'s session (a double click, a
    second tab); returns the status codes."""
    from tests.support.concurrency import run_at_once

    clients = []
    for _ in range(n):
        c = app.test_client()
        for cookie in tab._cookies.values():
            c.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
        clients.append(c)
    it = iter(clients)
    lock = threading.Lock()

    def post():
        with lock:
            c = next(it)
        return c.post(path, data=dict(data)).status_code

    results, errors = run_at_once(post, n)
    assert not errors, errors
    return results


def test_a_step_pressed_three_times_at_once_is_recorded_once(app, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    page = staff.get(path).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "action": "received", "detail": "", "due_on": "",
            "expected_status": expected_status(page), "form_token": form_token(page, "action-form")}
    codes = _same_form_at_once(app, staff, f"{path}/schritt", data)
    assert 500 not in codes, codes
    with app.app_context():
        kinds = list(db.session.scalars(select(FilingEvent.kind).join(Filing).where(Filing.reference == filed)))
    assert kinds.count("received") == 1


def test_an_answer_posted_twice_at_once_is_stored_once_without_an_error(app, client, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    take_step(staff, item_path(staff, filed), "information_requested", "Bitte nachreichen.")
    page = client.get(f"/antraege/{filed}").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "body": "Anbei.", "form_token": form_token(page, "message-form"),
            "request_id": re.search(r'name="request_id" value="(\d+)"', page).group(1)}
    codes = _same_form_at_once(app, client, f"/antraege/{filed}/nachricht", data)
    assert 500 not in codes, codes
    with app.app_context():
        answers = db.session.scalar(select(func.count()).select_from(FilingMessage).join(Filing)
                                    .where(Filing.reference == filed, FilingMessage.kind == "answer"))
    assert answers == 1


def test_a_copy_recipient_notes_the_filing_also_after_the_competent_body_decided(app, filed):
    office = staff_client(app, "gewerbeamt.bremen")
    assert take_step(office, item_path(office, filed), "accepted", "Eingetragen.").status_code == 302
    chamber = staff_client(app, "hwk.bremen")
    path = item_path(chamber, filed)
    page = chamber.get(path).get_data(as_text=True)
    assert 'id="action-form"' in page  # noting is still offered
    assert take_step(chamber, path, "received").status_code == 302
    assert 'id="action-form"' not in chamber.get(path).get_data(as_text=True)
    assert take_step(chamber, path, "received", expected="accepted").status_code in (409, 422)  # once
    with app.app_context():
        events = list(db.session.execute(select(FilingEvent.kind, FilingEvent.chamber_id).join(Filing)
                                         .where(Filing.reference == filed, FilingEvent.kind == "received")))
    assert len(events) == 1


def test_an_internal_note_posted_twice_is_stored_once(app, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    page = staff.get(path).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "note": "Rückruf vereinbart.", "form_token": form_token(page, "note-form")}
    codes = _same_form_at_once(app, staff, f"{path}/notiz", data) + [staff.post(f"{path}/notiz", data=data).status_code]
    assert set(codes) == {302}, codes
    assert staff.get(path).get_data(as_text=True).count("Rückruf vereinbart.") == 1


def test_the_message_form_is_blank_after_a_refused_message_and_speaks_the_pages_language(app, client, filed):
    """The blank message form is rendered once per language and kept: a refused message's text and
    error stay on its own answer, and the next page shows the form blank, in the page's language."""
    page = client.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Ihre Nachricht" in page and "Bitte schreiben Sie eine Nachricht." not in page
    refused = client.post(f"/antraege/{filed}/nachricht", content_type="multipart/form-data",
                          data={"csrf_token": csrf_token(page), "body": ""})
    assert refused.status_code == 422 and "Bitte schreiben Sie eine Nachricht." in refused.get_data(as_text=True)
    too_long = client.post(f"/antraege/{filed}/nachricht", content_type="multipart/form-data",
                           data={"csrf_token": csrf_token(page), "body": "Zu lang " + "x" * 5000})
    assert too_long.status_code == 422 and "Zu lang x" in too_long.get_data(as_text=True)
    again = client.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Bitte schreiben Sie eine Nachricht." not in again and "Zu lang x" not in again
    client.get("/sprache/en")
    english = client.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Your message" in english and "Ihre Nachricht" not in english
    assert "Please choose at most 5 files" in english and "Bitte wählen Sie höchstens" not in english
