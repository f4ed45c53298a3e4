"""Every signed-in page asks the database the same number of times for one row as for thirty:
no statement per row shown (N+1), whatever the company, the inbox or the log holds."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import event, insert, select

from bizportal.auth.models import Person
from bizportal.bodies.models import Chamber
from bizportal.common.time import utcnow
from bizportal.extensions import db
from bizportal.filings.models import Attachment, Draft, Filing, FilingEvent, FilingMessage
from bizportal.filings.queries import FILINGS_PAGE
from bizportal.inbox.models import CaseNote, InboxItem
from tests.support.audit import add_entries, add_staff, chamber_id
from tests.support.casework import staff_client
from tests.support.factories import add_filings, make_filing
from tests.support.inbox import Spec, assign, colleague, deliver

ROWS = 30
SERVICES = ["gewerbeanmeldung", "immobilienmakler-34c", "bewachungserlaubnis-34a", "gaststaettenerlaubnis",
            "versicherungsvermittler-34d"]  # those make_filing answers step by step


def statements(app, client, path: str) -> tuple[int, str]:
    """SQL statements sent while serving ``path`` (after one warm-up request), and the page. The
    rows kept rendered (``web.rendered.kept_with``) are dropped before the counted request, so every
    row is rendered in it: a statement made while rendering a row counts as often as there are rows."""
    warm = client.get(path)
    assert warm.status_code == 200, (path, warm.status_code)
    forget_kept_rows(app)
    seen, response = _sent(app, client, path)
    return len(seen), response.get_data(as_text=True)


def forget_kept_rows(app) -> None:
    for key in [k for k in app.extensions if k.startswith("bizportal.rendered.")]:
        del app.extensions[key]


def _sent(app, client, path: str):
    """The SQL statements (whitespace folded) sent while serving ``path``, and the response (200)."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, (path, response.status_code)
    return seen, response


def listed_filings(html: str) -> int:
    return html.count('href="/antraege/BP-Q')


def company_of(app, sub: str) -> tuple[int, int]:
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == sub))
        return person.company_id, person.id


def add_drafts(app, company_id: int, n: int) -> None:
    """``n`` drafts of the company, each last edited by another person of it."""
    with app.app_context():
        people = [Person(issuer="http://q", sub=f"q-{uuid.uuid4().hex[:8]}", company_id=company_id,
                         name=f"Kollege {i}") for i in range(n)]
        db.session.add_all(people)
        db.session.flush()
        db.session.add_all([Draft(company_id=company_id, created_by_id=p.id, updated_by_id=p.id,
                                  service_key=SERVICES[i % len(SERVICES)], data={"street": f"Weg {i}"})
                            for i, p in enumerate(people)])
        db.session.commit()


def add_conversation(app, reference: str, n: int) -> None:
    """``n`` timeline entries and ``n`` messages of the filing's bodies (requests, answers by
    different people, decisions), as the lifecycle would have written them."""
    now = utcnow()
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        chambers = [d.chamber_id for d in filing.deliveries]
        staff = [colleague(app, chambers[i % len(chambers)], f"Sachbearbeitung {i}") for i in range(n)]
        people = [Person(issuer="http://q", sub=f"q-{uuid.uuid4().hex[:8]}", company_id=filing.company_id,
                         name=f"Antwortende {i}") for i in range(n)]
        db.session.add_all(people)
        db.session.flush()
        db.session.execute(insert(FilingEvent), [
            {"filing_id": filing.id, "kind": "in_progress", "chamber_id": chambers[i % len(chambers)],
             "occurred_at": now + timedelta(seconds=i), "detail": f"Schritt {i}"} for i in range(n)])
        for i in range(n):
            chamber = chambers[i % len(chambers)]
            if i % 2:
                db.session.add(FilingMessage(filing_id=filing.id, chamber_id=chamber, kind="answer",
                                             body=f"Antwort {i}", person_id=people[i].id))
            else:
                db.session.add(FilingMessage(filing_id=filing.id, chamber_id=chamber, kind="message",
                                             body=f"Nachricht {i}", staff_id=staff[i]))
        db.session.commit()


def add_files(app, reference: str, n: int, start: int = 0) -> None:
    """``n`` files of the filing and ``n`` messages of its primary body, each with a file."""
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        chamber = next(d.chamber_id for d in filing.deliveries if d.role == "primary")

        def file(i: int, **where) -> Attachment:
            return Attachment(company_id=filing.company_id, field_name="nachweis", original_name=f"Anlage {i}.pdf",
                              media_type="application/pdf", size=1000 + i, sha256="0" * 64,
                              storage_key=f"q-{uuid.uuid4().hex}", **where)

        for i in range(start, start + n):
            message = FilingMessage(filing_id=filing.id, chamber_id=chamber, kind="message", body=f"Mit Datei {i}")
            db.session.add(message)
            db.session.flush()
            db.session.add_all([file(i, filing_id=filing.id), file(1000 + i, message_id=message.id)])
        db.session.commit()


def add_notes(app, reference: str, n: int, start: int = 0) -> None:
    with app.app_context():
        item = db.session.scalar(select(InboxItem).join(Chamber, Chamber.id == InboxItem.chamber_id)
                                 .where(InboxItem.reference == reference, Chamber.slug == "gewerbeamt-bremen"))
        for i in range(n):
            author = colleague(app, item.chamber_id, f"Notizschreiberin {start + i}")
            db.session.add(CaseNote(item_id=item.id, staff_id=author, body=f"Notiz {start + i}"))
        db.session.commit()


def test_filing_list_and_start_page_ask_as_often_for_thirty_filings_and_drafts_as_for_one(app, client, login_as):
    login_as("anna.becker")
    company_id, person_id = company_of(app, "anna.becker")
    first = add_filings(app, company_id, person_id, 1, "A")
    add_drafts(app, company_id, 1)
    one_list, one_html = statements(app, client, "/antraege")
    one_start, _ = statements(app, client, "/")
    more = add_filings(app, company_id, person_id, ROWS - 1, "B")
    add_drafts(app, company_id, ROWS - 1)
    full_list, full_html = statements(app, client, "/antraege")
    full_start, _ = statements(app, client, "/")
    assert first[0] in one_html and more[-1] not in one_html
    assert listed_filings(full_html) == min(ROWS, FILINGS_PAGE) and 'id="older-filings"' in full_html
    assert "Kollege 0" in full_html and f"Kollege {ROWS - 2}" in full_html
    assert full_list == one_list
    assert full_start == one_start


def test_filing_page_asks_as_often_for_thirty_messages_and_steps_as_for_one(app, client, filed):
    add_conversation(app, filed, 1)
    one, one_html = statements(app, client, f"/antraege/{filed}")
    add_conversation(app, filed, ROWS - 1)
    full, full_html = statements(app, client, f"/antraege/{filed}")
    assert "Nachricht 0" in one_html and "Nachricht 28" not in one_html
    assert "Nachricht 28" in full_html and "Antwort 27" in full_html
    assert full == one


def test_filing_list_asks_as_often_on_an_older_page_for_many_filings_as_for_few(app, client, login_as):
    login_as("anna.becker")
    company_id, person_id = company_of(app, "anna.becker")
    add_filings(app, company_id, person_id, FILINGS_PAGE + 1, "E")
    newest, first_page = statements(app, client, "/antraege")
    older = first_page.split('id="older-filings" rel="next" href="', 1)[1].split('"', 1)[0]
    one, one_html = statements(app, client, older.replace("&amp;", "&"))
    add_filings(app, company_id, person_id, 3 * FILINGS_PAGE, "F")  # from now on, one a minute back
    full, full_html = statements(app, client, older)
    assert listed_filings(one_html) == 1 and "BP-QE-0025" in one_html and 'id="older-filings"' not in one_html
    assert listed_filings(full_html) == FILINGS_PAGE and "BP-QF-0040" in full_html and "BP-QF-0010" not in full_html
    assert 'id="older-filings"' in full_html
    assert full == one
    assert one == newest  # the older page's anchor is read within the page's statement


def test_filing_page_asks_as_often_for_thirty_files_and_messages_with_files_as_for_one(app, client, filed):
    add_files(app, filed, 1)
    one, one_html = statements(app, client, f"/antraege/{filed}")
    add_files(app, filed, ROWS - 1, start=1)
    full, full_html = statements(app, client, f"/antraege/{filed}")
    assert "Anlage 1000.pdf" in one_html and "Anlage 1029.pdf" not in one_html
    assert "Anlage 1029.pdf" in full_html and "Mit Datei 29" in full_html
    assert full == one


def test_form_step_asks_as_often_with_thirty_drafts_and_filings_as_with_one(app, client, login_as):
    login_as("anna.becker")
    company_id, person_id = company_of(app, "anna.becker")
    start = client.get("/leistungen/gewerbeanmeldung/antrag")
    from tests.support.http import csrf_token

    created = client.post("/leistungen/gewerbeanmeldung/antrag",
                          data={"csrf_token": csrf_token(start.get_data(as_text=True))})
    assert created.status_code == 302
    step = created.headers["Location"]
    add_filings(app, company_id, person_id, 1, "C")
    one, one_html = statements(app, client, step)
    add_filings(app, company_id, person_id, ROWS - 1, "D")
    add_drafts(app, company_id, ROWS - 1)
    full, full_html = statements(app, client, step)
    assert 'name="business_name"' in one_html and 'name="business_name"' in full_html
    assert full == one


def posted(app, client, path: str, data: dict) -> tuple[int, int]:
    """SQL statements sent while posting ``data`` to ``path``, and the answer's status."""
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post(path, data=data)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen), response.status_code


def test_form_step_post_asks_as_often_with_thirty_drafts_and_filings_as_with_one(app, client, login_as):
    from tests.support.filing import gewerbe_answers, start_draft
    from tests.support.http import csrf_token, page_marks

    login_as("anna.becker")
    company_id, person_id = company_of(app, "anna.becker")
    step = start_draft(client, "gewerbeanmeldung")

    def save(name: str) -> tuple[int, int]:
        page = client.get(step).get_data(as_text=True)
        return posted(app, client, step, {**gewerbe_answers(business_name=name), "csrf_token": csrf_token(page),
                                          **page_marks(page), "action": "save"})

    add_filings(app, company_id, person_id, 1, "E")
    save("Becker Elektro 1")  # the first save of the step: its one-time work is not what is counted
    one, one_status = save("Becker Elektro 2")
    add_filings(app, company_id, person_id, ROWS - 1, "F")
    add_drafts(app, company_id, ROWS - 1)
    full, full_status = save("Becker Elektro 3")
    assert one_status == full_status == 302
    assert full == one
    with app.app_context():
        draft_id = step.rstrip("/").split("/")[-2]
        assert db.session.get(Draft, draft_id).data.get("business_name") == "Becker Elektro 3"  # it saved


def test_staff_inbox_asks_as_often_for_thirty_items_as_for_one(app):
    first = deliver(app, "gewerbeamt-bremen", [Spec(company="Erste GmbH", register="HRB 1")])
    staff = staff_client(app, "gewerbeamt.bremen")
    gewerbeamt = chamber_id(app, "gewerbeamt-bremen")
    assign(app, first, colleague(app, gewerbeamt, "Kollegin 0"))
    one, one_html = statements(app, staff, "/staff/posteingang")
    specs = [Spec(company=f"Firma {i} GmbH", service_key=SERVICES[i % len(SERVICES)], age_minutes=i,
                  status=["forwarded", "received", "in_progress"][i % 3]) for i in range(1, ROWS)]
    more = deliver(app, "gewerbeamt-bremen", specs)
    for i, ref in enumerate(more, start=1):
        assign(app, [ref], colleague(app, gewerbeamt, f"Kollegin {i}"))
    full, full_html = statements(app, staff, "/staff/posteingang")
    assert first[0] in one_html and more[0] not in one_html
    assert all(ref in full_html for ref in first + more)
    assert "Kollegin 29" in full_html
    assert full == one


def test_staff_filing_page_asks_as_often_for_thirty_steps_messages_and_notes_as_for_one(app, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    with app.app_context():
        item_id = db.session.scalar(select(InboxItem.id).join(Chamber, Chamber.id == InboxItem.chamber_id)
                                    .where(InboxItem.reference == filed, Chamber.slug == "gewerbeamt-bremen"))
    path = f"/staff/posteingang/{item_id}"
    add_conversation(app, filed, 1)
    add_notes(app, filed, 1)
    add_files(app, filed, 1)
    one, one_html = statements(app, staff, path)
    add_conversation(app, filed, ROWS - 1)
    add_notes(app, filed, ROWS - 1, start=1)
    add_files(app, filed, ROWS - 1, start=1)
    full, full_html = statements(app, staff, path)
    assert "Anlage 1000.pdf" in one_html and "Anlage 1029.pdf" in full_html  # the messages' files
    assert "Notiz 0" in one_html and "Notiz 29" not in one_html
    assert "Notiz 29" in full_html and "Notizschreiberin 29" in full_html
    # user with login session; item with delivery, filing and person; the chamber's staff; timeline;
    # messages with their authors and files; notes; history
    assert full == one <= 7


def test_steering_dashboard_asks_as_often_for_many_services_and_bodies_as_for_one(app, client):
    make_filing(app, "gewerbeanmeldung")
    steering = staff_client(app, "steering")
    one, one_html = statements(app, steering, "/staff/statistik")
    for i in range(ROWS - 1):
        make_filing(app, SERVICES[i % len(SERVICES)])
    full, full_html = statements(app, steering, "/staff/statistik")
    row = '<th scope="row" class="kern-table__cell">'
    assert one_html.count(row) < full_html.count(row)
    assert full == one


def test_audit_page_asks_as_often_for_thirty_entries_of_thirty_people_as_for_one(app):
    actors = add_staff(app, ROWS, "hk-bremen")
    hk = chamber_id(app, "hk-bremen")
    admin = staff_client(app, "admin")
    path = "/staff/admin/protokoll?aktion=filing.transition"
    add_entries(app, [{"action": "filing.transition", "actor": actors[0], "chamber_id": hk, "detail": "n0",
                       "occurred_at": utcnow()}])
    one, one_html = statements(app, admin, path)
    add_entries(app, [{"action": "filing.transition", "actor": actor, "chamber_id": hk, "detail": f"n{i}",
                       "occurred_at": utcnow() - timedelta(minutes=i)} for i, actor in enumerate(actors[1:], 1)])
    full, full_html = statements(app, admin, path)
    assert ">n0<" in one_html and ">n29<" not in one_html and ">n29<" in full_html
    assert full == one


def test_a_signed_in_page_reads_the_person_and_the_login_session_in_one_statement(app, client, login_as):
    login_as("anna.becker")
    count, html = statements(app, client, "/")
    assert "Angemeldet als" in html
    assert count == 1


def sent(app, client, path: str) -> list[str]:
    """The SQL statements sent while serving ``path`` (no warm-up)."""
    return _sent(app, client, path)[0]


def writes(statements_sent: list[str]) -> list[str]:
    return [s for s in statements_sent if s.split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]


def test_staff_inbox_opened_again_writes_the_visit_only_when_an_item_arrived_since(app):
    deliver(app, "gewerbeamt-bremen", [Spec(company="Erste GmbH", age_minutes=5)])
    staff = staff_client(app, "gewerbeamt.bremen")
    first = sent(app, staff, "/staff/posteingang")
    assert [w.split(" (")[0] for w in writes(first)] == ["INSERT INTO inbox_visit"]  # the first look
    again = sent(app, staff, "/staff/posteingang?sortierung=aelteste")
    assert writes(again) == []  # nothing arrived: the look written down stands for this one too
    assert len(again) <= 4  # user with login session; visit with "anything newer?"; one page; its count
    deliver(app, "gewerbeamt-bremen", [Spec(company="Zweite GmbH", age_minutes=0)])
    seen = sent(app, staff, "/staff/posteingang")
    assert [w.split(" SET")[0] for w in writes(seen)] == ["UPDATE inbox_visit"]  # it saw the new item
    assert writes(sent(app, staff, "/staff/posteingang")) == []


def test_staff_filing_page_of_a_copy_asks_as_often_for_thirty_history_entries_of_staff_and_systems_as_for_one(
        app, filed):
    from bizportal.api.models import ApiClient
    from tests.support.api import make_client

    hwk = chamber_id(app, "hwk-bremen")
    staff = staff_client(app, "hwk.bremen")
    systems = [make_client(app, "hwk-bremen", name=f"Fachverfahren {i}") for i in range(2)]
    make_client(app, "gewerbeamt-bremen", name="Fremdes Verfahren")
    with app.app_context():
        item_id, filing_id = db.session.execute(
            select(InboxItem.id, Filing.id).join(Filing, Filing.reference == InboxItem.reference)
            .where(InboxItem.reference == filed, InboxItem.chamber_id == hwk)).one()
        others = db.session.scalars(select(ApiClient.client_id).where(ApiClient.name == "Fremdes Verfahren")).all()
    actors = add_staff(app, ROWS, "hwk-bremen")
    path = f"/staff/posteingang/{item_id}"

    def history(n: int, start: int) -> list[dict]:
        rows = []
        for i in range(start, start + n):
            actor = actors[i] if i % 2 else f"api:{systems[i % 4 // 2].client_id}"
            rows.append({"action": "filing.note", "actor": actor, "chamber_id": hwk, "filing_id": filing_id,
                         "detail": "internal note", "occurred_at": utcnow() - timedelta(minutes=i)})
        return rows

    add_entries(app, history(1, 0))
    one, one_html = statements(app, staff, path)
    add_entries(app, history(ROWS - 1, 1) + [
        {"action": "filing.note", "actor": f"api:{others[0]}", "chamber_id": hwk, "filing_id": filing_id,
         "detail": "internal note", "occurred_at": utcnow()},  # another chamber's system: not this one's history
        {"action": "api.call", "actor": f"api:{systems[0].client_id}", "chamber_id": hwk, "filing_id": filing_id,
         "detail": "GET", "occurred_at": utcnow()}])  # a mere call is no step
    full, full_html = statements(app, staff, path)
    one_shown, shown = (html[html.index('id="verlauf"'):] for html in (one_html, full_html))
    assert "Fachverfahren 0 (API)" in one_shown and "Mitarbeiterin 29" not in one_shown
    assert "Fachverfahren 0 (API)" in shown and "Fachverfahren 1 (API)" in shown and "Mitarbeiterin 29" in shown
    assert "Fremdes Verfahren" not in full_html and "GET" not in shown
    assert 'id="copy-progress"' in full_html  # the copy's own progress, read from the timeline
    assert full == one <= 7
