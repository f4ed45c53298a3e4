"""Chamber staff download one filing as PDF and JSON for their records office; nobody else can."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime

import pytest
from pypdf import PdfReader

from bizportal.delivery.worker import Worker
from tests.support.casework import item_path, staff_client
from tests.support.casework import take_step as set_status
from tests.support.filing import file_service, gewerbe_answers
from tests.support.pdfs import minimal_pdf

CARD = minimal_pdf()


@pytest.fixture
def worked(app, client, login_as):
    """A crafts business's Gewerbeanmeldung with its Handwerkskarte: the Gewerbeamt (primary) asked
    for information, the HWK (copy) confirmed receipt."""
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung",
                             gewerbe_answers(handwerkskarte_vorhanden="yes", handwerkskarte_datum="2026-10-01",
                                             handwerkskarte_kammer="HWK Bremen"),
                             files={"handwerkskarte": (CARD, "Handwerkskarte-Becker.pdf")})
    assert Worker(app).run_once() == 2
    amt = staff_client(app, "gewerbeamt.bremen")
    amt_path = item_path(amt, reference)
    assert set_status(amt, amt_path, "received").status_code == 302
    assert set_status(amt, amt_path, "information_requested", "Bitte die Meisterprüfung nachweisen.").status_code == 302
    hwk = staff_client(app, "hwk.bremen")
    hwk_path = item_path(hwk, reference)
    assert set_status(hwk, hwk_path, "received").status_code == 302
    return reference, (amt, amt_path), (hwk, hwk_path)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squeezed(text: str) -> str:
    """Without any white space: long values may wrap inside a table cell."""
    return "".join(text.split())


def answer(doc, field):
    return next(a for a in doc["answers"] if a["field"] == field)


def test_json_export_holds_the_filing_as_the_primary_body_sees_it(worked):
    reference, (amt, path), _ = worked
    resp = amt.get(f"{path}/export.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="Vorgang-{reference}.json"'
    doc = json.loads(resp.get_data(as_text=True))

    assert doc["schema"] == "bizportal.inbox-export" and doc["schema_version"] == 1
    assert doc["reference"] == reference
    assert doc["service"] == {"key": "gewerbeanmeldung", "title": "Gewerbeanmeldung", "leika": "99050012104000",
                              "kind": "trade"}
    assert doc["chamber"]["name"] == "Gewerbeamt Bremen (Stadtamt)" and doc["destination_role"] == "primary"
    assert doc["status"] == "information_requested"
    assert doc["company"]["name"] == "Becker Elektrotechnik GmbH"
    # who filed (the person of the company account) and every body that received the same filing
    assert doc["filed_by"]["name"] == "Anna Becker"
    assert doc["filed_by"]["email"] == "anna.becker@becker-elektro.example"
    assert [(r["role"], r["name"]) for r in doc["receivers"]] == [
        ("primary", "Gewerbeamt Bremen (Stadtamt)"), ("copy", "Handwerkskammer Bremen")]
    for key in ("exported_at", "submitted_at", "received_at"):
        assert doc[key].endswith("Z") and datetime.fromisoformat(doc[key].replace("Z", "+00:00"))

    start = answer(doc, "start_date")
    # the labels carry GewA 1's field numbers (docs/gewerbeanzeige.md): start date 20, activity 18
    assert start["label"] == {"de": "Datum des Beginns der angemeldeten Tätigkeit (Feld 20)",
                              "en": "Date the registered activity begins (field 20)"}
    assert answer(doc, "activity")["label"] == {"de": "Angemeldete Tätigkeit (Feld 18)",
                                                "en": "Activity being registered (field 18)"}
    assert (start["value"], start["text"]) == ("2027-01-01", "01.01.2027")
    assert answer(doc, "handwerk")["text"] == "Ja"
    assert answer(doc, "activity")["text"] == "Elektroinstallation"
    card = answer(doc, "handwerkskarte")
    assert card["label"]["de"] == "Handwerkskarte (Kopie)"
    assert card["value"] == ["Handwerkskarte-Becker.pdf"]
    assert [a["field"] for a in doc["answers"]][:3] == ["inhaber_art", "business_name", "legal_form"]  # form order

    assert doc["attachments"] == [{"field": "handwerkskarte", "filename": "Handwerkskarte-Becker.pdf",
                                   "media_type": "application/pdf", "size": len(CARD),
                                   "sha256": hashlib.sha256(CARD).hexdigest()}]

    timeline = [(e["kind"], e["chamber"]) for e in doc["timeline"]]
    assert timeline == [("submitted", None), ("forwarded", "Gewerbeamt Bremen (Stadtamt)"),
                        ("received", "Gewerbeamt Bremen (Stadtamt)"),
                        ("information_requested", "Gewerbeamt Bremen (Stadtamt)")]
    assert doc["timeline"][-1]["detail"] == "Bitte die Meisterprüfung nachweisen."
    [delivery] = doc["deliveries"]
    assert delivery["role"] == "primary" and delivery["state"] == "delivered" and delivery["attempts"] == 1
    assert delivery["delivered_at"].endswith("Z")


def test_copy_recipient_export_shows_nothing_of_the_other_body(worked):
    reference, _, (hwk, path) = worked
    doc = hwk.get(f"{path}/export.json").get_json()
    assert doc["chamber"]["name"] == "Handwerkskammer Bremen" and doc["destination_role"] == "copy"
    assert [(e["kind"], e["chamber"]) for e in doc["timeline"]] == [
        ("submitted", None), ("forwarded", "Handwerkskammer Bremen"), ("received", "Handwerkskammer Bremen")]
    # the copy recipient learns who filed and that the Gewerbeamt received the filing too (the receivers of
    # the Durchschrift are part of the filing), nothing of the Gewerbeamt's case work
    assert doc["filed_by"]["name"] == "Anna Becker"
    assert [(r["role"], r["name"]) for r in doc["receivers"]] == [
        ("primary", "Gewerbeamt Bremen (Stadtamt)"), ("copy", "Handwerkskammer Bremen")]
    raw = json.dumps({k: v for k, v in doc.items() if k != "receivers"}, ensure_ascii=False)
    assert "Gewerbeamt" not in raw and "Meisterprüfung" not in raw
    assert [d["role"] for d in doc["deliveries"]] == ["copy"]


def test_pdf_export_shows_the_same_content(worked):
    reference, (amt, path), _ = worked
    resp = amt.get(f"{path}/export.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="Vorgang-{reference}.pdf"'
    text = pdf_text(resp.data)
    for expected in (reference, "Gewerbeanmeldung", "Gewerbeamt Bremen (Stadtamt)", "Becker Elektrotechnik GmbH",
                     "Beginns der angemeldeten Tätigkeit", "01.01.2027", "Elektroinstallation",
                     "Handwerkskarte-Becker.pdf",
                     "Eingereicht im Portal", "Nachfrage von", "Bitte die Meisterprüfung nachweisen.",
                     "Zustellung an diese Stelle", "zugestellt"):
        assert squeezed(expected) in squeezed(text), expected
    assert hashlib.sha256(CARD).hexdigest() in squeezed(text)
    # who filed, and the receivers: this body and the chamber of the copy
    assert squeezed("Eingereicht von Anna Becker <anna.becker@becker-elektro.example>") in squeezed(text)
    assert squeezed("Gewerbeamt Bremen (Stadtamt) – zuständige Stelle (diese Stelle)") in squeezed(text)
    assert squeezed("Handwerkskammer Bremen – Kopie") in squeezed(text)
    # the copy recipient's entries are not this body's business: the chamber is named once, as a receiver
    # ("Name der Handwerkskammer" is a label of GewA 1 field 29, the card's issuer)
    assert squeezed(text).count("HandwerkskammerBremen") == 1


def test_staff_page_names_who_filed_and_the_other_receivers(worked):
    reference, (amt, amt_path), (hwk, hwk_path) = worked
    for staff, path, own in ((amt, amt_path, "Gewerbeamt Bremen (Stadtamt)"),
                             (hwk, hwk_path, "Handwerkskammer Bremen")):
        html = staff.get(path).get_data(as_text=True)
        listed = html.split('id="empfaenger"', 1)[1].split("</ul>", 1)[0]
        assert "Gewerbeamt Bremen (Stadtamt) – zuständige Stelle" in listed
        assert "Handwerkskammer Bremen – Kopie zur Kenntnis" in listed
        assert listed.count("(Ihre Stelle)") == 1
        assert listed.split("(Ihre Stelle)")[0].rsplit("<li>", 1)[1].strip().startswith(own)
        assert "Anna Becker" in html and "mailto:anna.becker@becker-elektro.example" in html


def test_a_chamber_that_did_not_receive_the_filing_cannot_see_its_page_nor_exports(app, worked):
    """The Handelskammer received no copy of a crafts business's notification (the HWK did)."""
    _, (_, amt_path), (_, hwk_path) = worked
    other = staff_client(app, "hk.bremen")
    for path in (amt_path, hwk_path):
        for suffix in ("", "/export.json", "/export.pdf", "/xgewerbeanzeige.xml"):
            assert other.get(f"{path}{suffix}").status_code == 404, suffix


def test_staff_of_another_chamber_get_404_for_both_exports(app, worked):
    _, (_, path), _ = worked
    other = staff_client(app, "hk.bremen")
    assert other.get(f"{path}/export.pdf").status_code == 404
    assert other.get(f"{path}/export.json").status_code == 404


def test_company_users_and_anonymous_visitors_cannot_export(app, client, worked):
    _, (_, path), _ = worked
    assert client.get(f"{path}/export.json").status_code == 403  # anna.becker, the filing's own company
    assert client.get(f"{path}/export.pdf").status_code == 403
    anonymous = app.test_client().get(f"{path}/export.pdf")
    assert anonymous.status_code == 302 and "/staff/login" in anonymous.headers["Location"]


def test_an_export_is_audited_with_the_filing_reference(app, worked):
    reference, (amt, path), _ = worked
    amt.get(f"{path}/export.pdf")
    admin = staff_client(app, "admin")
    page = admin.get(f"/staff/admin/protokoll?aktion=filing.export&vorgang={reference}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Antrag exportiert" in html and reference in html and "Sabine Krüger (Gewerbeamt Bremen)" in html
    assert html.count("Antrag exportiert</td>") == 1


def test_exports_carry_this_chambers_conversation_and_nothing_of_the_other(worked, client):
    from tests.support.casework import answer as company_answer

    reference, (amt, amt_path), (hwk, hwk_path) = worked
    assert company_answer(client, reference, "Meisterbrief anbei.",
                          files=[(minimal_pdf("Meisterbrief"), "Meisterbrief.pdf")]).status_code == 302
    doc = json.loads(amt.get(f"{amt_path}/export.json").data)
    kinds = [(m["kind"], m["from"]) for m in doc["messages"]]
    assert kinds == [("request", "chamber"), ("answer", "company")]
    assert doc["messages"][0]["body"] == "Bitte die Meisterprüfung nachweisen." and doc["messages"][0]["due_on"]
    assert doc["messages"][1]["files"][0]["filename"] == "Meisterbrief.pdf"
    text = squeezed(pdf_text(amt.get(f"{amt_path}/export.pdf").data))
    assert squeezed("Meisterbrief anbei.") in text and "Meisterbrief.pdf" in text
    assert json.loads(hwk.get(f"{hwk_path}/export.json").data)["messages"] == []


def test_a_confirmed_trade_notification_is_named_as_on_the_companys_page(worked):
    """Not 'Bewilligt' (the word for a permit) in the PDF when the Gewerbeamt confirmed a notification."""
    reference, (amt, path), _ = worked
    assert set_status(amt, path, "accepted", "Eingetragen.").status_code == 302
    text = squeezed(pdf_text(amt.get(f"{path}/export.pdf").data))
    assert squeezed("Anzeige bestätigt durch") in text and "Bewilligt" not in text
    page = amt.get(path).get_data(as_text=True)
    assert "Anzeige bestätigt durch" in page and "Entschieden (positiv)" not in page


def _person(i: int, **answers: str) -> dict[str, str]:
    return {f"personen-{i}-{name}": value for name, value in answers.items()}


GRUBER = dict(funktion="vertreter", familienname="Gruber", vornamen="Lukas", geschlecht="maennlich",
              geburtsdatum="1975-02-03", geburtsort="Graz", geburtsland="AT", staatsangehoerigkeit="AT",
              **{"anschrift-street": "Herrengasse 1", "anschrift-postcode": "8010", "anschrift-city": "Graz",
                 "anschrift-country": "AT"})
YILMAZ = dict(GRUBER, familienname="Yilmaz", vornamen="Elif", geschlecht="weiblich", geburtsort="Izmir",
              geburtsland="TR", staatsangehoerigkeit="TR", aufenthaltstitel="yes",
              aufenthaltstitel_behoerde="Stadtamt Bremen", aufenthaltstitel_datum="2020-04-01",
              aufenthaltstitel_auflage="no",
              **{"anschrift-street": "Parkallee 7", "anschrift-postcode": "28209", "anschrift-city": "Bremen",
                 "anschrift-country": "DE"})


@pytest.fixture
def three_persons(app, client, login_as):
    """A Gewerbeanmeldung with three managing directors: a German, an Austrian (the residence title
    not asked) and a Turkish national with a residence title. In the delivered answers the
    Austrian's entry also carries a stale "no" to the residence title (as an older form might have
    stored it): its condition does not hold, so no page or export shows it."""
    from sqlalchemy import select

    from bizportal.extensions import db
    from bizportal.inbox.models import InboxItem

    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung", gewerbe_answers(
        zahl_vertreter="3", **_person(1, **GRUBER), **_person(2, **YILMAZ)))
    assert Worker(app).run_once() == 2
    with app.app_context():
        item = db.session.scalar(select(InboxItem).where(InboxItem.reference == reference,
                                                         InboxItem.destination_role == "primary"))
        persons = [dict(p) for p in item.data["personen"]]
        assert [p["familienname"] for p in persons] == ["Becker", "Gruber", "Yilmaz"]
        assert "aufenthaltstitel" in persons[1] and persons[1]["aufenthaltstitel"] is None  # never asked
        persons[1]["aufenthaltstitel"] = False
        item.data = {**item.data, "personen": persons}
        db.session.commit()
    amt = staff_client(app, "gewerbeamt.bremen")
    return amt, item_path(amt, reference)


RESIDENCE = "Liegt ein Aufenthaltstitel vor? (Feld 30)"


def test_exports_leave_out_the_fields_a_persons_entry_was_never_asked(three_persons):
    amt, path = three_persons
    page = amt.get(path).get_data(as_text=True)
    assert page.count(RESIDENCE) == 1  # the staff page: Yilmaz only

    doc = json.loads(amt.get(f"{path}/export.json").get_data(as_text=True))
    persons = answer(doc, "personen")
    becker, gruber, yilmaz = persons["entries"]
    assert "aufenthaltstitel" not in [f["field"] for f in becker + gruber]
    assert "aufenthaltstitel" not in persons["value"][1] and persons["value"][1]["familienname"] == "Gruber"
    assert [(f["field"], f["text"]) for f in yilmaz if f["field"].startswith("aufenthaltstitel")] == [
        ("aufenthaltstitel", "Ja"), ("aufenthaltstitel_behoerde", "Stadtamt Bremen"),
        ("aufenthaltstitel_datum", "01.04.2020"), ("aufenthaltstitel_auflage", "Nein")]
    assert persons["text"].count("Feld 30") == 3  # Yilmaz's title, its authority and its date
    assert "–" not in persons["text"]

    text = pdf_text(amt.get(f"{path}/export.pdf").get_data())
    assert squeezed(text).count(squeezed(RESIDENCE)) == 1
    assert "Feld 31" in text and text.count("Feld 31") == 1  # the condition's question, only for Yilmaz
    # one row per field and person, as the receipt prints them; no run-on "Name (Feld 4): Becker; …"
    assert squeezed(text).count("Name(Feld4)") == 3
    assert "Name(Feld4):Becker" not in squeezed(text)
    assert "Eintrag 1" in text and "Eintrag 3" in text and "3 Einträge" in text
