"""Retention with the clock moved forward: untouched drafts are reminded once, then deleted with
their files; closed filings go after their years with everything on them; the dry run reports the
same and changes nothing; the worker runs it once a day; every run is audited."""

from __future__ import annotations

import io
import re
import uuid
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy import func, select

import bizportal.retention.services  # noqa: F401 - imported before the clock is moved
from bizportal.audit.models import AuditEvent
from bizportal.common import time as bizportal_time
from bizportal.delivery.models import Delivery
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings import services as filing_services
from bizportal.filings.models import Attachment, Draft, Filing, FilingEvent, FilingMessage, FilingReceipt
from bizportal.inbox.models import CaseNote, InboxItem
from bizportal.notify.models import Notification
from bizportal.retention.models import RetentionRun
from tests.support.casework import PDF, answer, item_path, staff_client, take_step
from tests.support.clock import skew_clock
from tests.support.factories import make_filing
from tests.support.filing import file_service, gewerbe_answers, start_draft
from tests.support.http import csrf_token, login
from tests.support.mailqueue import make_due
from tests.support.pdfs import minimal_pdf

DAY = 86400
CARD = minimal_pdf("Handwerkskarte")
ANSWER = minimal_pdf("Meisterbrief")
REPORT_LINE = re.compile(r"^\s+(\w+): (\d+)$", re.M)


def clock_at(monkeypatch, days: float) -> None:
    """This process's clock ``days`` ahead of the real one (from the real one, not the last move)."""
    monkeypatch.undo()
    skew_clock(monkeypatch, days * DAY)


def retention(app, *args) -> dict[str, int]:
    result = app.test_cli_runner().invoke(args=["retention", "run", *args])
    assert result.exit_code == 0, result.output
    return {kind: int(n) for kind, n in REPORT_LINE.findall(result.output)}


def mails(app) -> list:
    return [BytesParser(policy=policy.default).parsebytes(p.read_bytes())
            for p in sorted(Path(app.config["MAIL_FOLDER"]).glob("*.eml"))]


def stored_files(app) -> list[Path]:
    root = Path(app.config["SETTINGS"].web.upload_dir)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def rows_of(app, reference: str) -> dict[str, int]:
    """How many rows of each kind hang on the filing ``reference`` (by its id, also once it is gone)."""
    with app.app_context():
        fid = db.session.scalar(select(Filing.id).where(Filing.reference == reference))
        deliveries = select(Delivery.id).where(Delivery.filing_id == fid)
        messages = select(FilingMessage.id).where(FilingMessage.filing_id == fid)
        items = select(InboxItem.id).where(InboxItem.reference == reference)

        def count(model, *where) -> int:
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

        return {
            "filing": count(Filing, Filing.reference == reference),
            "attachments": count(Attachment, (Attachment.filing_id == fid) | Attachment.message_id.in_(messages)),
            "receipt": count(FilingReceipt, FilingReceipt.filing_id == fid),
            "timeline": count(FilingEvent, FilingEvent.filing_id == fid),
            "messages": count(FilingMessage, FilingMessage.filing_id == fid),
            "deliveries": count(Delivery, Delivery.id.in_(deliveries)),
            "inbox_items": count(InboxItem, InboxItem.reference == reference),
            "notes": count(CaseNote, CaseNote.item_id.in_(items)),
            "mails": count(Notification, Notification.filing_id == fid),
        }


@pytest.fixture
def decided(app, client, login_as):
    """A crafts business's Gewerbeanmeldung with its Handwerkskarte, delivered to the Gewerbeamt and
    the HWK; the Gewerbeamt asked for the Meisterbrief, the company answered with it, staff noted
    something internally and accepted with a decision PDF. Returns the reference."""
    login_as("anna.becker")
    reference = file_service(client, "gewerbeanmeldung",
                             gewerbe_answers(handwerkskarte_vorhanden="yes", handwerkskarte_datum="2026-10-01",
                                             handwerkskarte_kammer="HWK Bremen"),
                             files={"handwerkskarte": (CARD, "Handwerkskarte.pdf")})
    assert Worker(app).run_once() == 2
    amt = staff_client(app, "gewerbeamt.bremen")
    path = item_path(amt, reference)
    assert take_step(amt, path, "received").status_code == 302
    assert take_step(amt, path, "information_requested", "Bitte den Meisterbrief.").status_code == 302
    assert answer(client, reference, "Anbei.", files=[(ANSWER, "Meisterbrief.pdf")]).status_code == 302
    page = amt.get(path).get_data(as_text=True)
    assert amt.post(f"{path}/notiz", data={"csrf_token": csrf_token(page), "note": "Rückruf erledigt"}
                    ).status_code == 302
    assert take_step(amt, path, "accepted", "Eingetragen.", documents=[(PDF, "Bescheid.pdf")]).status_code == 302
    Worker(app).run_once()  # the mails go out
    return reference


def test_a_closed_filing_stays_its_years_then_goes_with_everything_on_it(app, client, decided, monkeypatch):
    with app.app_context():
        open_one = db.session.get_one(Filing, make_filing(app)).reference
    before = rows_of(app, decided)
    assert before == {"filing": 1, "attachments": 3, "receipt": 1, "timeline": 7, "messages": 3, "deliveries": 2,
                      "inbox_items": 2, "notes": 1, "mails": 3}
    files_before = stored_files(app)
    assert len(files_before) >= 3

    clock_at(monkeypatch, 3 * 365 - 5)  # three years are not over yet
    assert retention(app)["filings_deleted"] == 0

    clock_at(monkeypatch, 3 * 365 + 2)
    dry = retention(app, "--dry-run")
    assert dry == {"drafts_reminded": 0, "drafts_deleted": 0, "filings_deleted": 1, "attachments_deleted": 3,
                   "files_removed": 3, "receipts_deleted": 1, "timeline_events_deleted": before["timeline"],
                   "messages_deleted": 3, "deliveries_deleted": 2, "inbox_items_deleted": 2,
                   "case_notes_deleted": 1, "notifications_deleted": 3}
    assert rows_of(app, decided) == before and stored_files(app) == files_before  # nothing changed

    assert retention(app) == dry  # the real run does what the dry run said
    assert rows_of(app, decided) == dict.fromkeys(before, 0)
    assert len(stored_files(app)) == len(files_before) - 3
    monkeypatch.undo()  # the signed-in sessions would have run out three years later
    assert client.get(f"/antraege/{decided}").status_code == 404
    amt = staff_client(app, "gewerbeamt.bremen")
    assert decided not in amt.get("/staff/posteingang").get_data(as_text=True)
    # the open filing is untouched
    assert rows_of(app, open_one)["filing"] == 1 and rows_of(app, open_one)["receipt"] == 1

    assert retention(app)["filings_deleted"] == 0  # nothing left to do
    with app.app_context():
        runs = list(db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "retention.run")
                                       .order_by(AuditEvent.id)))
    assert len(runs) == 4 and runs[1].startswith("dry run: ") and "filings_deleted=1" in runs[2]
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    admin = staff_client(app, "admin").get("/staff/admin/protokoll?aktion=retention.run").get_data(as_text=True)
    assert "Löschfristen angewendet" in admin and "filings_deleted=1" in admin


def _draft_id(path: str) -> uuid.UUID:
    return uuid.UUID(path.split("/")[3])


def test_an_untouched_draft_is_reminded_once_then_deleted_with_its_file(app, client, login_as, monkeypatch):
    login_as("anna.becker")
    draft_id = _draft_id(start_draft(client, "gewerbeanmeldung"))
    kept_id = _draft_id(start_draft(client, "gewerbeanmeldung"))
    with app.app_context():
        service = app.extensions["bizportal"].catalog["gewerbeanmeldung"]
        draft = db.session.get_one(Draft, draft_id)
        filing_services.store_attachment(draft, draft.created_by, service, service.field("handwerkskarte"),
                                         "Handwerkskarte.pdf", io.BytesIO(CARD), app.extensions["bizportal"].storage)
    assert len(stored_files(app)) == 1

    clock_at(monkeypatch, 180 - 14 - 2)  # not yet within the reminder's 14 days
    assert retention(app)["drafts_reminded"] == 0
    clock_at(monkeypatch, 180 - 14 + 1)
    assert retention(app, "--dry-run")["drafts_reminded"] == 2
    assert retention(app)["drafts_reminded"] == 2
    assert retention(app)["drafts_reminded"] == 0  # once
    monkeypatch.undo()
    make_due(app)
    Worker(app).send_mails()
    reminders = [m for m in mails(app) if "wird bald gelöscht" in m["Subject"]]
    assert len(reminders) == 2 and reminders[0]["Subject"] == "Ihr Entwurf „Gewerbeanmeldung“ wird bald gelöscht"
    text = reminders[0].get_body().get_content()
    assert "mit seinen hochgeladenen Dateien gelöscht" in text and "/antraege" in text

    clock_at(monkeypatch, 180 - 14 + 3)  # the company works on one of them after the reminder
    with app.app_context():  # (signing in with the clock moved would fail the ID token's time checks)
        kept = db.session.get_one(Draft, kept_id)
        filing_services.save_pending_input(kept, kept.created_by, "inhaber", {"betriebsname": ["Becker"]})
        # the column's onupdate holds the real clock function, which skew_clock cannot move
        kept.updated_at = bizportal_time.utcnow()
        db.session.commit()

    clock_at(monkeypatch, 180 + 2)
    report = retention(app)
    assert report["drafts_deleted"] == 1 and report["attachments_deleted"] == 1 and report["files_removed"] == 1
    with app.app_context():
        assert db.session.get(Draft, draft_id) is None and db.session.get(Draft, kept_id) is not None
    assert stored_files(app) == []
    monkeypatch.undo()
    assert login(client, "anna.becker").status_code == 302
    listing = client.get("/antraege").get_data(as_text=True)
    assert str(draft_id) not in listing and str(kept_id) in listing


def test_a_draft_is_never_deleted_without_its_reminder(app, client, login_as, monkeypatch):
    login_as("anna.becker")
    draft_id = _draft_id(start_draft(client, "gewerbeanmeldung"))
    clock_at(monkeypatch, 2 * 365)  # long past its 180 days, but nobody was told yet
    report = retention(app)
    assert report["drafts_reminded"] == 1 and report["drafts_deleted"] == 0
    clock_at(monkeypatch, 2 * 365 + 13)
    assert retention(app)["drafts_deleted"] == 0
    clock_at(monkeypatch, 2 * 365 + 15)
    assert retention(app)["drafts_deleted"] == 1
    with app.app_context():
        assert db.session.get(Draft, draft_id) is None
        reminder = db.session.scalar(select(Notification).where(Notification.kind == "draft_expiring"))
        assert reminder.filing_id is None and reminder.recipient.startswith("anna")


def test_a_service_s_own_periods_apply(app_factory, client, login_as, monkeypatch, tmp_path):
    source = Path("bizportal/catalog/services/gewerbeanmeldung.toml").read_text()
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "gewerbeanmeldung.toml").write_text(source.replace(
        "retention = { draft_days = 180, closed_years = 3 }", "retention = { draft_days = 30 }"))
    app = app_factory(CATALOG_DIR=str(catalog), RETENTION_REMINDER_DAYS=5, RETENTION_CLOSED_YEARS=7)
    web = app.test_client()
    assert login(web, "anna.becker").status_code == 302
    start_draft(web, "gewerbeanmeldung")
    clock_at(monkeypatch, 24)
    assert retention(app)["drafts_reminded"] == 0
    clock_at(monkeypatch, 26)
    assert retention(app)["drafts_reminded"] == 1
    clock_at(monkeypatch, 31.5)
    assert retention(app)["drafts_deleted"] == 1


def test_the_worker_runs_retention_once_a_day(app_factory, monkeypatch):
    app = app_factory(RETENTION_HOUR=0)
    assert Worker(app).daily_jobs() is True
    assert Worker(app).daily_jobs() is False  # another worker (or this one) ran today's already
    with app.app_context():
        run = db.session.scalar(select(RetentionRun))
        assert run.actor == "worker" and run.finished_at is not None and run.report["filings_deleted"] == 0
    clock_at(monkeypatch, 1)
    assert Worker(app).daily_jobs() is True  # the next day
    never = app_factory(RETENTION_HOUR=-1)
    clock_at(monkeypatch, 2)
    assert Worker(never).daily_jobs() is False


def test_the_reminder_is_written_in_the_person_s_language(app, client, login_as, monkeypatch):
    login_as("anna.becker")
    client.get("/sprache/en", headers={"Referer": "http://localhost/antraege"})  # chosen on the portal's page
    start_draft(client, "gewerbeanmeldung")
    clock_at(monkeypatch, 170)
    assert retention(app)["drafts_reminded"] == 1
    monkeypatch.undo()
    make_due(app)
    Worker(app).send_mails()
    (mail,) = [m for m in mails(app) if "deleted soon" in m["Subject"]]
    assert mail["Subject"] == "Your draft “Business registration (Gewerbeanmeldung)” will be deleted soon"
    assert "will be deleted together with its uploaded files" in mail.get_body().get_content()
