"""The chamber API's endpoints: what a chamber system reads and does, and what it is refused.

``filed``: Becker's Gewerbeanmeldung, delivered to Gewerbeamt Bremen (primary) and the
Handwerkskammer Bremen (copy); the Handelskammer Bremen has nothing of it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from bizportal.audit.models import AuditEvent
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.api import PDF, ApiCaller, b64
from tests.support.casework import answer
from tests.support.inbox import Spec, deliver

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _status(app, reference):
    with app.app_context():
        return db.session.scalar(select(Filing.status).where(Filing.reference == reference))


def _problem(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"]
    return body


def test_each_chamber_pulls_only_its_own_filings(app, client, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    crafts = ApiCaller(app, client, "hwk-bremen")
    other = ApiCaller(app, client, "hk-bremen")
    page = office.get("/filings").get_json()
    assert [f["reference"] for f in page["filings"]] == [filed]
    assert page["filings"][0]["destination_role"] == "primary" and page["filings"][0]["status"] == "forwarded"
    assert [(f["reference"], f["destination_role"]) for f in crafts.get("/filings").get_json()["filings"]] \
        == [(filed, "copy")]
    assert other.get("/filings").get_json() == {"filings": [], "next_cursor": None, "has_more": False}


def test_the_feed_pages_with_a_cursor_without_gaps_or_repeats(app, client):
    first = deliver(app, "hk-bremen", [Spec(company=f"Firma {i}") for i in range(5)])
    api = ApiCaller(app, client, "hk-bremen")
    page = api.get("/filings?limit=2").get_json()
    assert [f["reference"] for f in page["filings"]] == first[:2] and page["has_more"]
    seen = [f["reference"] for f in page["filings"]]
    cursor = page["next_cursor"]
    while True:
        page = api.get(f"/filings?limit=2&after={cursor}").get_json()
        seen += [f["reference"] for f in page["filings"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == first
    # nothing new: the cursor stays; a later filing comes next, once
    assert api.get(f"/filings?after={cursor}").get_json() == {"filings": [], "next_cursor": cursor, "has_more": False}
    later = deliver(app, "hk-bremen", [Spec(company="Später GmbH")])
    page = api.get(f"/filings?after={cursor}").get_json()
    assert [f["reference"] for f in page["filings"]] == later


def test_bad_feed_parameters_are_problem_documents(app, client):
    api = ApiCaller(app, client, "hk-bremen")
    assert _problem(api.get("/filings?limit=0"), 400)["errors"][0]["loc"] == ["limit"]
    _problem(api.get("/filings?after=abc"), 400)
    _problem(api.get("/filings?limit=1000"), 400)


def test_a_filing_reads_with_answers_timeline_and_allowed_steps(app, client, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    doc = office.get(f"/filings/{filed}").get_json()
    assert doc["reference"] == filed and doc["status"] == "forwarded"
    assert doc["company"]["name"] == "Becker Elektrotechnik GmbH"
    answers = {a["field"]: a for a in doc["answers"]}
    assert answers["activity"]["value"] == "Elektroinstallation"
    assert answers["start_date"]["text"] == "01.01.2027"
    # a repeated group carries its entries field by field; a German's entry has no residence title
    [becker] = answers["personen"]["entries"]
    assert ("familienname", "Becker") in [(f["field"], f["value"]) for f in becker]
    assert not [f for f in becker if f["field"].startswith("aufenthaltstitel")]
    assert answers["activity"]["entries"] is None
    assert [e["kind"] for e in doc["timeline"]] == ["submitted", "forwarded"]
    assert doc["allowed_transitions"] == ["received", "in_progress", "information_requested", "accepted", "rejected"]
    copy = ApiCaller(app, client, "hwk-bremen").get(f"/filings/{filed}").get_json()
    assert copy["allowed_transitions"] == ["received"]


def test_another_chambers_filing_is_not_found_on_every_endpoint(app, client, filed):
    other = ApiCaller(app, client, "hk-bremen")
    for resp in (other.get(f"/filings/{filed}"), other.get(f"/filings/{filed}/messages"),
                 other.get(f"/filings/{filed}/attachments/00000000-0000-0000-0000-000000000000"),
                 other.post(f"/filings/{filed}/acknowledge"),
                 other.transition(filed, "accepted", "forwarded"),
                 other.post(f"/filings/{filed}/messages", json={"body": "Hallo"})):
        _problem(resp, 404)
    assert _status(app, filed) == "forwarded"


def test_acknowledge_is_receipt_and_safe_to_repeat(app, client, login_as, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    first = office.post(f"/filings/{filed}/acknowledge")
    assert first.status_code == 200 and first.get_json() == {"reference": filed, "status": "received",
                                                             "recorded": True}
    again = office.post(f"/filings/{filed}/acknowledge", json={})
    assert again.get_json() == {"reference": filed, "status": "received", "recorded": False}
    copy = ApiCaller(app, client, "hwk-bremen")
    assert copy.post(f"/filings/{filed}/acknowledge").get_json()["recorded"] is True
    login_as("anna.becker")
    page = client.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Eingegangen" in page or "Eingang bestätigt" in page
    with app.app_context():
        actors = set(db.session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "filing.transition")))
    assert actors == {f"api:{office.creds.client_id}", f"api:{copy.creds.client_id}"}


def test_working_a_filing_through_the_api_shows_on_the_company_page(app, client, login_as, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    assert office.transition(filed, "in_progress", "forwarded").get_json()["status"] == "in_progress"
    due = (date.today() + timedelta(days=10)).isoformat()
    resp = office.transition(filed, "information_requested", "in_progress",
                             reason="Bitte reichen Sie die Handwerkskarte nach.", due_on=due)
    assert resp.status_code == 200 and _status(app, filed) == "information_requested"

    company = app.test_client()
    from tests.support.http import login

    login(company, "anna.becker")
    assert answer(company, filed, "Anbei die Karte.", files=[(PDF, "Handwerkskarte.pdf")]).status_code == 302
    conversation = office.get(f"/filings/{filed}/messages").get_json()["messages"]
    assert [(m["kind"], m["sender"]) for m in conversation] == [("request", "chamber"), ("answer", "company")]
    file = conversation[1]["files"][0]
    assert file["filename"] == "Handwerkskarte.pdf"
    download = client.get(file["href"], headers=office.headers)
    assert download.status_code == 200 and download.data == PDF
    # the answer's file is this chamber's only
    other = ApiCaller(app, client, "hwk-bremen")
    _problem(client.get(f"/api/v1/filings/{filed}/attachments/{file['id']}", headers=other.headers), 404)

    resp = office.transition(filed, "accepted", "answered", reason="Eingetragen.",
                             documents=[{"filename": "Gewerbeschein.pdf", "content_base64": b64(PDF)}])
    assert resp.status_code == 200 and resp.get_json()["status"] == "accepted"
    detail = company.get(f"/antraege/{filed}").get_data(as_text=True)
    assert "Eingetragen." in detail
    doc = re.search(r'href="(/antraege/anhang/[0-9a-f-]+)">Gewerbeschein.pdf', detail)
    assert doc and company.get(doc.group(1)).data == PDF
    closed = office.post(f"/filings/{filed}/messages", json={"body": "Noch etwas"})
    assert _problem(closed, 409)["current_status"] == "accepted"


def test_a_stale_or_impossible_step_is_a_conflict_that_changes_nothing(app, client, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    office.post(f"/filings/{filed}/acknowledge")
    stale = office.transition(filed, "in_progress", "forwarded")
    assert _problem(stale, 409)["current_status"] == "received"
    office.transition(filed, "in_progress", "received")
    backwards = office.transition(filed, "received", "in_progress")
    _problem(backwards, 409)
    copy = ApiCaller(app, client, "hwk-bremen")
    _problem(copy.transition(filed, "accepted", "in_progress"), 409)
    assert _status(app, filed) == "in_progress"


def test_bodies_are_checked_before_anything_is_written(app, client, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    unknown = office.transition(filed, "accepted", "forwarded", company_id=7)
    assert _problem(unknown, 422)["errors"][0]["loc"] == ["company_id"]
    _problem(office.transition(filed, "withdrawn", "forwarded"), 422)
    _problem(office.transition(filed, "rejected", "forwarded"), 422)  # no reason
    _problem(office.transition(filed, "information_requested", "forwarded", reason="x"), 422)  # no due date
    not_pdf = office.transition(filed, "accepted", "forwarded",
                                documents=[{"filename": "Bescheid.png", "content_base64": b64(PNG)}])
    _problem(not_pdf, 422)
    broken = office.post(f"/filings/{filed}/messages", json={"body": "x", "files": [
        {"filename": "a.pdf", "content_base64": "%%%"}]})
    _problem(broken, 422)
    malformed = client.post(f"/api/v1/filings/{filed}/transitions", headers=office.headers,
                            data="{not json", content_type="application/json")
    _problem(malformed, 400)
    form = client.post(f"/api/v1/filings/{filed}/transitions", headers=office.headers, data={"to": "accepted"})
    _problem(form, 415)
    assert _status(app, filed) == "forwarded"


def test_a_message_with_documents_reaches_the_company(app, client, login_as, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    resp = office.post(f"/filings/{filed}/messages", json={
        "body": "Wir prüfen noch.", "files": [{"filename": "Hinweis.pdf", "content_base64": b64(PDF)}]})
    assert resp.status_code == 201
    message = resp.get_json()
    assert message["sender"] == "chamber" and message["author"] is None and message["files"][0]["size"] == len(PDF)
    assert _status(app, filed) == "forwarded"
    login_as("anna.becker")
    assert "Wir prüfen noch." in client.get(f"/antraege/{filed}").get_data(as_text=True)


def test_tokens_and_scopes_are_checked_on_every_endpoint(app, client, filed):
    reader = ApiCaller(app, client, "gewerbeamt-bremen", scopes=("filings:read",))
    forbidden = reader.post(f"/filings/{filed}/acknowledge")
    assert 'error="insufficient_scope"' in forbidden.headers["WWW-Authenticate"]
    _problem(forbidden, 403)
    _problem(reader.post(f"/filings/{filed}/messages", json={"body": "x"}), 403)
    _problem(client.get("/api/v1/filings"), 401)
    _problem(client.get("/api/v1/filings", headers={"Authorization": "Bearer not-a-token"}), 401)
    assert _status(app, filed) == "forwarded"


def test_errors_outside_the_endpoints_are_problem_documents_too(app, client):
    _problem(client.get("/api/v1/nothing-here"), 404)
    not_allowed = client.get("/api/v1/filings/BP-2026-AAAAAA/acknowledge")
    assert "POST" in not_allowed.headers["Allow"]
    _problem(not_allowed, 405)


def test_an_oversized_body_is_refused_with_413(app_factory, client):
    app = app_factory(API_MAX_BODY_BYTES=2048)
    test = app.test_client()
    api = ApiCaller(app, test, "hk-bremen")
    resp = api.post("/filings/BP-2026-AAAAAA/messages", json={"body": "x" * 4096})
    _problem(resp, 413)


def test_calls_beyond_the_rate_limit_wait(app_factory):
    app = app_factory(API_RATE_LIMIT=3)
    test = app.test_client()
    api = ApiCaller(app, test, "hk-bremen")
    assert [api.get("/filings").status_code for _ in range(3)] == [200, 200, 200]
    resp = api.get("/filings")
    _problem(resp, 429)
    assert int(resp.headers["Retry-After"]) >= 1


def test_every_call_is_audited_with_the_client(app, client, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    office.get(f"/filings/{filed}")
    office.get("/filings/BP-2026-NOSUCH")
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.actor, AuditEvent.target, AuditEvent.detail, AuditEvent.outcome,
                                         AuditEvent.filing_id).where(AuditEvent.action == "api.call")
                                  .order_by(AuditEvent.id)).all()
        filing_id = db.session.scalar(select(Filing.id).where(Filing.reference == filed))
    actor = f"api:{office.creds.client_id}"
    assert rows == [(actor, f"GET /api/v1/filings/{filed}", "200", "success", filing_id),
                    (actor, "GET /api/v1/filings/BP-2026-NOSUCH", "404", "refused", None)]


def _normalised(html: str, reference: str) -> str:
    """The company's status page without what differs between two filings by nature: reference,
    ids and tokens, times."""
    html = html.replace(reference, "REF")
    html = re.sub(r"/antraege/anhang/[0-9a-f-]+", "/antraege/anhang/ID", html)
    html = re.sub(r'(name="(?:csrf_token|form_token|request_id)"[^>]*value=")[^"]*', r"\1X", html)
    html = re.sub(r'value="[^"]*"([^>]*name="(?:csrf_token|form_token|request_id)")', r'value="X"\1', html)
    html = re.sub(r'data-csrf="[^"]*"', 'data-csrf="X"', html)  # signed with the second it was made
    html = re.sub(r"msg-\d+", "msg-N", html)
    html = re.sub(r"\b\d{1,2}:\d{2}(:\d{2})?\b", "TIME", html)
    html = re.sub(r"\d{1,2}\.\d{1,2}\.\d{4}", "DATE", html)
    html = re.sub(r"[0-9a-f]{64}", "SHA", html)
    # deliveries to two bodies at nearly the same moment: which one is listed first is chance
    items = html.split('<li class="portal-timeline__item">')
    i = 1
    while i < len(items):
        j = i
        while j < len(items) and "Zugestellt an" in items[j]:
            j += 1
        items[i:j] = sorted(items[i:j])
        i = j + 1 if j == i else j
    return '<li class="portal-timeline__item">'.join(items)


def test_a_filing_worked_through_the_api_looks_to_the_company_like_one_worked_in_the_portal(
        app, client, login_as, filed):
    """Done-when of the chamber API: the same steps, taken once by a clerk in the portal and once by
    the chamber's system, leave the company's status page the same (but for reference, ids, times)."""
    from bizportal.delivery.worker import Worker
    from tests.support.casework import item_path, staff_client, take_step
    from tests.support.filing import file_service, gewerbe_answers
    from tests.support.http import login

    login_as("anna.becker")
    twin = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    assert Worker(app).run_once() == 2
    due = date.today() + timedelta(days=10)
    request_text, decision_text = "Bitte reichen Sie die Handwerkskarte nach.", "Eingetragen."
    company = app.test_client()
    login(company, "anna.becker")

    clerk = staff_client(app, "gewerbeamt.bremen")
    path = item_path(clerk, filed)
    for action, detail, kw in (("received", "", {}), ("in_progress", "", {}),
                               ("information_requested", request_text, {"due_on": due})):
        assert take_step(clerk, path, action, detail, **kw).status_code == 302, action
    assert answer(company, filed, "Anbei die Karte.", files=[(PDF, "Handwerkskarte.pdf")]).status_code == 302
    assert take_step(clerk, path, "accepted", decision_text, documents=[(PDF, "Gewerbeschein.pdf")]).status_code == 302

    office = ApiCaller(app, client, "gewerbeamt-bremen")
    assert office.post(f"/filings/{twin}/acknowledge").status_code == 200
    assert office.transition(twin, "in_progress", "received").status_code == 200
    assert office.transition(twin, "information_requested", "in_progress", reason=request_text,
                             due_on=due.isoformat()).status_code == 200
    assert answer(company, twin, "Anbei die Karte.", files=[(PDF, "Handwerkskarte.pdf")]).status_code == 302
    assert office.transition(twin, "accepted", "answered", reason=decision_text,
                             documents=[{"filename": "Gewerbeschein.pdf", "content_base64": b64(PDF)}]
                             ).status_code == 200

    company.get("/antraege")  # shows (and so ends) the notice of the last answer
    in_portal = _normalised(company.get(f"/antraege/{filed}").get_data(as_text=True), filed)
    through_api = _normalised(company.get(f"/antraege/{twin}").get_data(as_text=True), twin)
    if in_portal != through_api:
        import difflib

        diff = "\n".join(difflib.unified_diff(in_portal.splitlines(), through_api.splitlines(), lineterm="", n=1))
        raise AssertionError("the company's pages differ:\n" + diff[:4000])


def test_the_chambers_staff_and_the_audit_page_name_the_system_that_took_a_step(app, client, filed):
    from tests.support.casework import item_path, staff_client

    office = ApiCaller(app, client, "gewerbeamt-bremen")
    assert office.transition(filed, "in_progress", "forwarded").status_code == 200
    clerk = staff_client(app, "gewerbeamt.bremen")
    page = clerk.get(item_path(clerk, filed)).get_data(as_text=True)
    history = page[page.index("id=\"verlauf\""):]
    assert "Fachverfahren (API)" in history
    admin = staff_client(app, "admin")
    audit = admin.get("/staff/admin/protokoll").get_data(as_text=True)
    assert "Fachverfahren (API)" in audit and f"api:{office.creds.client_id}" not in audit


def test_a_message_retried_with_its_idempotency_key_is_stored_once(app, client, filed):
    office = ApiCaller(app, client, "gewerbeamt-bremen")

    def send(key):
        return client.post(f"/api/v1/filings/{filed}/messages", json={"body": "Bitte rufen Sie uns an."},
                           headers={**office.headers, "Idempotency-Key": key})

    first, again, other = send("msg-1"), send("msg-1"), send("msg-2")
    assert first.status_code == again.status_code == other.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"] != other.get_json()["id"]
    conversation = office.get(f"/filings/{filed}/messages").get_json()["messages"]
    assert [m["body"] for m in conversation] == ["Bitte rufen Sie uns an."] * 2
    _problem(send("x" * 201), 400)


def test_unknown_or_repeated_feed_parameters_are_refused(app, client):
    office = ApiCaller(app, client, "gewerbeamt-bremen")
    for query in ("afetr=5", "after=1&after=2", "limit=5&page=2"):
        problem = _problem(office.get(f"/filings?{query}"), 400)
        assert problem["errors"], query
    assert office.get("/filings?limit=5").status_code == 200
