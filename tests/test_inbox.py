"""Chamber staff work the filings delivered to them; the company follows each step."""

from __future__ import annotations

from bizportal.delivery.worker import Worker
from tests.support.casework import item_path, staff_client, take_step
from tests.support.http import csrf_token


def test_staff_works_filing_to_a_decision_and_company_follows(app, client, filed):
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    assert take_step(staff, path, "received").status_code == 302
    resp = take_step(staff, path, "information_requested")
    assert resp.status_code == 422 and "Bitte begründen Sie" in resp.get_data(as_text=True)
    assert take_step(staff, path, "information_requested", "Bitte Handwerkskarte nachreichen.").status_code == 302
    assert take_step(staff, path, "accepted", "Gewerbe ist angemeldet.").status_code == 302

    detail = client.get(f"/antraege/{filed}")
    assert detail.status_code == 200
    page = detail.get_data(as_text=True)
    assert "Bestätigt" in page  # a trade notification is acknowledged, not granted
    for text in ("Eingang bestätigt durch", "Nachfrage von", "Bitte Handwerkskarte nachreichen.",
                 "Anzeige bestätigt durch", "Gewerbeamt Bremen (Stadtamt)", "Gewerbe ist angemeldet."):
        assert text in page, text
    assert "Antrag zurückziehen</span>" not in page  # decided: nothing left to withdraw
    # A decided filing takes no further status.
    assert "Dieser Antrag ist abgeschlossen." in staff.get(path).get_data(as_text=True)


def test_decision_is_mailed_to_the_company(app, filed):
    from email import policy
    from email.parser import BytesParser
    from pathlib import Path

    staff = staff_client(app, "gewerbeamt.bremen")
    take_step(staff, item_path(staff, filed), "rejected", "Die Tätigkeit ist erlaubnispflichtig.")
    Worker(app).run_once()  # sends the queued mails
    messages = [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
                for p in Path(app.config["MAIL_FOLDER"]).glob("*.eml")]
    status_mails = [m for m in messages if m["Subject"] == f"Neuer Stand zu {filed}"]
    assert len(status_mails) == 1
    assert "abgelehnt" in status_mails[0].get_content() and "erlaubnispflichtig" in status_mails[0].get_content()


def test_copy_recipient_can_only_confirm_receipt(app, client, filed):
    hwk = staff_client(app, "hwk.bremen")
    path = item_path(hwk, filed)
    item = hwk.get(path)
    assert item.status_code == 200
    html = item.get_data(as_text=True)
    assert 'value="received"' in html and 'value="accepted"' not in html
    resp = take_step(hwk, path, "accepted")
    assert resp.status_code == 422  # not a choice for a copy
    assert take_step(hwk, path, "received").status_code == 302
    # noted once: the choice is gone, and a second post changes nothing
    assert 'value="received"' not in hwk.get(path).get_data(as_text=True)
    assert take_step(hwk, path, "received", expected="forwarded").status_code == 409
    detail = client.get(f"/antraege/{filed}")
    assert detail.status_code == 200
    page = detail.get_data(as_text=True)
    assert page.count("Eingang bestätigt durch Handwerkskammer Bremen") == 1
    assert "Bewilligt" not in page and "Bestätigt</span>" not in page


def test_other_chamber_cannot_open_or_change_the_item(app, filed):
    gewerbeamt = staff_client(app, "gewerbeamt.bremen")
    path = item_path(gewerbeamt, filed)
    hk = staff_client(app, "hk.bremen")
    assert hk.get(path).status_code == 404
    token = csrf_token(hk.get("/staff/posteingang").get_data(as_text=True))
    for action in ("schritt", "nachricht", "notiz"):
        assert hk.post(f"{path}/{action}", data={"csrf_token": token, "action": "rejected", "detail": "x",
                                                 "body": "x", "note": "x"}).status_code == 404


def test_withdrawn_filing_takes_no_decision(app, client, filed):
    page = client.get(f"/antraege/{filed}").get_data(as_text=True)
    client.post(f"/antraege/{filed}/zurueckziehen", data={"csrf_token": csrf_token(page), "confirm": "yes"})
    staff = staff_client(app, "gewerbeamt.bremen")
    path = item_path(staff, filed)
    listing = staff.get("/staff/posteingang").get_data(as_text=True)
    assert "Zurückgezogen" in listing
    assert "Dieser Antrag ist abgeschlossen." in staff.get(path).get_data(as_text=True)
