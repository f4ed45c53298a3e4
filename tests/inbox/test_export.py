"""The filtered inbox list as a CSV file for Excel."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.inbox import Spec, assign, csv_rows, deliver, staff_user_id

EXPORT = "/staff/posteingang.csv"
HEADER = ["Aktenzeichen", "Leistung", "Empfang als", "Unternehmen", "Registernummer", "Eingegangen", "Stand",
          "Zugewiesen an", "Eingereicht von", "Weitere Empfänger"]


def test_export_holds_the_whole_filtered_list_not_one_page(app, staff, small_pages):
    wanted = deliver(app, "gewerbeamt-bremen", [Spec(company="Becker Elektrotechnik GmbH", register="Bremen HRB 4711",
                                                     age_minutes=m) for m in range(12)])
    deliver(app, "gewerbeamt-bremen", [Spec(company="Andere AG")])
    resp = staff.get(EXPORT, query_string={"unternehmen": "becker", "sortierung": "aktenzeichen"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="posteingang-gewerbeamt-bremen-')
    rows = csv_rows(resp.get_data())
    assert rows[0] == HEADER
    assert [r[0] for r in rows[1:]] == wanted  # all twelve (pages hold five), in the chosen order
    assert rows[1][1:5] == ["Gewerbeanmeldung", "Zuständige Stelle", "Becker Elektrotechnik GmbH", "Bremen HRB 4711"]
    assert rows[1][6] == "Weitergeleitet"


def test_export_cells_in_local_time_status_and_assignment(app, staff):
    [ref] = deliver(app, "gewerbeamt-bremen", [Spec(received_at=datetime(2026, 12, 3, 23, 30, tzinfo=UTC),
                                                    status="information_requested", role="copy")])
    assign(app, [ref], staff_user_id(app, "gewerbeamt.bremen"))
    [_, row] = csv_rows(staff.get(EXPORT).get_data())
    assert row == [ref, "Gewerbeanmeldung", "Kopie", "Test GmbH", "", "04.12.2026 00:30", "Nachfrage",
                   "Sabine Krüger (Gewerbeamt Bremen)", "P <p1@test.example>", ""]


def test_export_defuses_formulas(app, staff):
    dangerous = ["=HYPERLINK(\"http://evil.example\";\"Klick\")", "+49 421 123", "-2+3", "@SUMME(A1)",
                 "\tTab GmbH"]
    deliver(app, "gewerbeamt-bremen", [Spec(company=name, age_minutes=n) for n, name in enumerate(dangerous)])
    deliver(app, "gewerbeamt-bremen", [Spec(company="Semikolon; und \"Anführung\" GmbH", age_minutes=10)])
    rows = csv_rows(staff.get(EXPORT).get_data())
    companies = [r[3] for r in rows[1:]]
    assert companies == ["'" + name for name in dangerous] + ["Semikolon; und \"Anführung\" GmbH"]


def test_export_of_an_empty_filter_is_just_the_header(app, staff):
    deliver(app, "gewerbeamt-bremen", [Spec()])
    assert csv_rows(staff.get(EXPORT, query_string={"unternehmen": "niemand"}).get_data()) == [HEADER]


def test_export_needs_chamber_staff(app, client, login_as):
    assert "/staff/login" in client.get(EXPORT).headers["Location"]
    login_as("steering", staff=True)
    assert client.get(EXPORT).status_code == 403


def _record(app, reference: str, filed_by: dict, receivers: list[dict]) -> None:
    """What submit records about who filed and which bodies received the filing."""
    with app.app_context():
        filing = db.session.scalar(select(Filing).where(Filing.reference == reference))
        filing.filed_by, filing.receivers = filed_by, receivers
        db.session.commit()


RECEIVERS = [{"role": "primary", "slug": "gewerbeamt-bremen", "name": "Gewerbeamt Bremen (Stadtamt)"},
             {"role": "copy", "slug": "hwk-bremen", "name": "Handwerkskammer Bremen"},
             {"role": "copy", "slug": "hk-bremen", "name": "Handelskammer Bremen – IHK für Bremen und Bremerhaven"}]


def test_export_names_who_filed_and_the_other_receivers(app, staff):
    [ref] = deliver(app, "gewerbeamt-bremen", [Spec()])
    _record(app, ref, {"sub": "s1", "name": "Anna Becker", "email": "anna@becker.example",
                       "trust_level": "substantial"}, RECEIVERS)
    [header, row] = csv_rows(staff.get(EXPORT).get_data())
    cells = dict(zip(header, row, strict=True))
    assert cells["Eingereicht von"] == "Anna Becker <anna@becker.example>"
    # this chamber (the Gewerbeamt) is not "another" receiver
    assert cells["Weitere Empfänger"] == ("Handwerkskammer Bremen (Kopie), Handelskammer Bremen – IHK für Bremen und "
                                          "Bremerhaven (Kopie)")


def test_export_defuses_formulas_in_the_filer_and_the_receivers(app, staff):
    [ref] = deliver(app, "gewerbeamt-bremen", [Spec()])
    _record(app, ref, {"sub": "s1", "name": "=HYPERLINK(\"http://evil.example\")", "email": None},
            [RECEIVERS[0], {"role": "copy", "slug": "x", "name": "@SUMME(A1)"}])
    [_, row] = csv_rows(staff.get(EXPORT).get_data())
    assert row[8:] == ["'=HYPERLINK(\"http://evil.example\")", "'@SUMME(A1) (Kopie)"]
