"""The audit page: admins find it in the navigation, page through it newest first, filter it, and
read names, e-mail addresses, chambers and filing references instead of ids."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import event, select

from bizportal.audit.services import record
from bizportal.common.time import utcnow
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.audit import (
    NEWER_LINK,
    OLDER_LINK,
    add_entries,
    add_staff,
    at,
    chamber_id,
    link,
    shown_details,
    staff_key,
)
from tests.support.casework import staff_client
from tests.support.factories import bulk_filings, make_filing

PAGE = "/staff/admin/protokoll"


def reference_of(app, filing_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(Filing.reference).where(Filing.id == filing_id))


def test_admins_find_the_audit_page_in_the_navigation(app):
    admin = staff_client(app, "admin")
    nav = admin.get("/staff/admin/zustellungen").get_data(as_text=True)
    assert f'href="{PAGE}"' in nav
    page = admin.get(PAGE).get_data(as_text=True)
    assert f'<a href="{PAGE}" aria-current="page">Protokoll</a>' in page
    admin.get("/sprache/en")
    english = admin.get(PAGE).get_data(as_text=True)
    assert "Kind of entry" in english and ">Sign-in</td>" in english and "Protokoll" not in english
    staff = staff_client(app, "hwk.bremen")
    assert f'href="{PAGE}"' not in staff.get("/staff/posteingang").get_data(as_text=True)
    assert staff.get(PAGE).status_code == 403


def test_entries_show_names_chambers_and_filing_references_instead_of_ids(app, client, login_as):
    login_as("anna.becker")  # audited as login_success by "company:<id>"
    staff_client(app, "hwk.bremen")
    hwk_staff, hwk = staff_key(app, "hwk.bremen"), chamber_id(app, "hwk-bremen")
    filing_id = make_filing(app)
    reference = reference_of(app, filing_id)
    with app.test_request_context():
        record("filing.transition", hwk_staff, filing_id=filing_id, chamber_id=hwk, detail="forwarded → received")
        record("chamber_settings_changed", "staff:999999", target="chamber:hk-bremen")
        record("filing.transition", hwk_staff, filing_id=10**9, chamber_id=hwk, detail="received → accepted")

    html = staff_client(app, "admin").get(PAGE).get_data(as_text=True)
    for shown in ("Stand eines Antrags gesetzt", "Petra Schulz (HWK Bremen)", "p.schulz@hwk-bremen.example",
                  "Handwerkskammer Bremen", reference, "Weitergeleitet → Eingegangen",
                  "Anna Becker", "anna.becker@becker-elektro.example", "Becker Elektrotechnik GmbH",
                  "Handelskammer Bremen – IHK für Bremen und Bremerhaven",
                  f"Antrag {10**9} (nicht mehr vorhanden)"):
        assert shown in html, shown
    assert f">{hwk_staff}<" not in html and "chamber:hk-bremen" not in html
    assert "staff:999999" in html  # a person the portal no longer knows keeps their key


def test_names_are_read_with_the_same_number_of_queries_for_a_short_and_a_full_page(app):
    actors = add_staff(app, 45, "hk-bremen")
    filings = bulk_filings(app, 45, ["hk-bremen"])
    hk = chamber_id(app, "hk-bremen")
    add_entries(app, [{"action": "filing.transition", "actor": actor, "filing_id": fid, "chamber_id": hk,
                       "detail": f"n{i}", "occurred_at": utcnow() - timedelta(minutes=i)}
                      for i, (actor, fid) in enumerate(zip(actors, filings, strict=True))])
    admin = staff_client(app, "admin")
    one = reference_of(app, filings[7])

    def statements(path: str) -> tuple[int, str]:
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                html = admin.get(path).get_data(as_text=True)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
        return len(seen), html

    short, short_html = statements(f"{PAGE}?aktion=filing.transition&vorgang={one}")
    full, full_html = statements(f"{PAGE}?aktion=filing.transition")
    assert shown_details(short_html) == ["n7"] and len(shown_details(full_html)) == 45
    assert "Mitarbeiterin 44" in full_html and reference_of(app, filings[44]) in full_html
    assert full == short


def test_pages_walk_every_entry_once_newest_first_and_back(app):
    start = utcnow() - timedelta(days=1)
    # groups of seven entries share a time: the id decides their order
    add_entries(app, [{"action": "logout", "actor": "cli", "detail": f"n{i}",
                       "occurred_at": start + timedelta(seconds=i // 7)} for i in range(120)])
    admin = staff_client(app, "admin")
    pages, path = [], f"{PAGE}?person=cli"
    while path:
        html = admin.get(path).get_data(as_text=True)
        pages.append((path, html))
        path = link(OLDER_LINK, html)
        assert path is None or "person=cli" in path  # the filter stays on every page
    shown = [d for _, html in pages for d in shown_details(html)]
    assert shown == [f"n{i}" for i in reversed(range(120))]
    assert [len(shown_details(html)) for _, html in pages] == [50, 50, 20]
    assert link(NEWER_LINK, pages[0][1]) is None and link(OLDER_LINK, pages[-1][1]) is None

    # back from the last page to the one before it
    newer = admin.get(link(NEWER_LINK, pages[2][1])).get_data(as_text=True)
    assert shown_details(newer) == shown_details(pages[1][1])

    # a new entry does not move the entries of the older pages
    add_entries(app, [{"action": "logout", "actor": "cli", "detail": "n999", "occurred_at": utcnow()}])
    again = admin.get(pages[1][0]).get_data(as_text=True)
    assert shown_details(again) == shown_details(pages[1][1])
    assert shown_details(admin.get(f"{PAGE}?person=cli").get_data(as_text=True))[:2] == ["n999", "n119"]


def test_filters_by_kind_outcome_person_filing_and_local_dates(app):
    staff_client(app, "hwk.bremen")
    petra = staff_key(app, "hwk.bremen")
    filing_id = make_filing(app)
    reference = reference_of(app, filing_id)
    add_entries(app, [
        {"action": "access_refused", "actor": "anonymous", "outcome": "refused", "target": "GET /staff/statistik",
         "detail": "n1", "occurred_at": at("2026-03-01T10:00:00+00:00")},
        # 23:30 UTC on 2 March is 00:30 on 3 March in Bremen
        {"action": "filing.transition", "actor": petra, "filing_id": filing_id, "detail": "n2",
         "occurred_at": at("2026-03-02T23:30:00+00:00")},
        {"action": "logout", "actor": petra, "detail": "n3", "occurred_at": at("2026-03-05T08:00:00+00:00")},
    ])
    admin = staff_client(app, "admin")

    def details(query: str) -> list[str]:
        resp = admin.get(f"{PAGE}?{query}")
        assert resp.status_code == 200
        return sorted(shown_details(resp.get_data(as_text=True)))

    assert details("aktion=filing.transition") == ["n2"]
    assert details("ergebnis=refused") == ["n1"]
    assert details("person=" + quote("SCHULZ")) == ["n2", "n3"]
    assert details("person=" + quote("p.schulz@hwk")) == ["n2", "n3"]
    assert details("vorgang=" + reference[-6:].lower()) == ["n2"]
    assert details("vorgang=statistik") == ["n1"]
    assert details("von=01.03.2026&bis=02.03.2026") == ["n1"]
    assert details("von=2026-03-03&bis=2026-03-05") == ["n2", "n3"]
    assert details("von=03.03.2026&person=" + quote("Petra") + "&aktion=logout") == ["n3"]


def test_a_bad_date_is_shown_at_its_field(app):
    admin = staff_client(app, "admin")
    resp = admin.get(f"{PAGE}?von=31.02.2026")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="von-error"' in html and 'href="#von"' in html and 'aria-invalid="true"' in html
    assert "gültiges Datum" in html and 'value="31.02.2026"' in html
    assert "<table" not in html  # nothing is listed under a filter that could not be read

    resp = admin.get(f"{PAGE}?von=05.03.2026&bis=01.03.2026")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="bis-error"' in html and 'id="von-error"' not in html


def test_the_person_filter_ignores_case_also_for_umlauts(app):
    staff_client(app, "gewerbeamt.bremen")  # Sabine Krüger
    sabine = staff_key(app, "gewerbeamt.bremen")
    add_entries(app, [
        {"action": "logout", "actor": sabine, "detail": "n701", "occurred_at": at("2026-03-05T08:00:00+00:00")},
        {"action": "logout", "actor": "anonymous", "target": "GET /Übersicht", "detail": "n702",
         "occurred_at": at("2026-03-05T09:00:00+00:00")},
    ])
    admin = staff_client(app, "admin")

    def details(query: str) -> list[str]:
        resp = admin.get(f"{PAGE}?{query}")
        assert resp.status_code == 200
        return sorted(d for d in shown_details(resp.get_data(as_text=True)) if d.startswith("n7"))

    for typed in ("Krüger", "krüger", "KRÜGER", "kRüGeR"):
        assert details("person=" + quote(typed)) == ["n701"], typed
    assert details("vorgang=" + quote("übersicht")) == ["n702"]
    assert details("person=" + quote("Kruger")) == []  # without the umlaut it is another name
