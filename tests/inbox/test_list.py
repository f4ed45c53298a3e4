"""The chamber's inbox list: search, filters, sort orders and pages, as a staff member uses them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.support.http import login
from tests.support.inbox import (
    Spec,
    all_pages,
    assign,
    chamber_id_of,
    colleague,
    deliver,
    listed,
    next_link,
    previous_link,
    staff_user_id,
)

LIST = "/staff/posteingang"


def shown(client, **params) -> list[str]:
    resp = client.get(LIST, query_string=params)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return listed(resp.get_data(as_text=True))


def test_search_by_reference_whole_or_its_beginning(app, staff):
    refs = deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=m) for m in (3, 2, 1)])
    assert shown(staff, aktenzeichen=refs[1]) == [refs[1]]
    assert shown(staff, aktenzeichen=refs[1].lower()) == [refs[1]]
    prefix = refs[0][:-2]  # "BP-T…-0000": the beginning shared by all three
    assert sorted(shown(staff, aktenzeichen=prefix)) == sorted(refs)
    assert shown(staff, aktenzeichen=refs[0][3:]) == []  # the middle of a reference is no beginning
    assert shown(staff, aktenzeichen="BP-%") == []  # a wildcard is a character like any other


def test_search_by_company_name_ignores_case_and_umlauts_case(app, staff):
    refs = deliver(app, "gewerbeamt-bremen", [
        Spec(company="Müller & Söhne Elektro GmbH"), Spec(company="Becker Elektrotechnik GmbH"),
        Spec(company="Hansen Versicherungsmakler e. K.")])
    assert shown(staff, unternehmen="MÜLLER") == [refs[0]]
    assert sorted(shown(staff, unternehmen="elektro")) == sorted(refs[:2])
    assert shown(staff, unternehmen="50%") == []


def test_search_by_register_number_in_any_spelling(app, staff):
    refs = deliver(app, "gewerbeamt-bremen", [
        Spec(register="Bremen HRB 12345"), Spec(register="Bremen HRB 123456"), Spec(register="Bremen HRA 12345"),
        Spec()])
    assert shown(staff, registernummer="HRB 12345") == [refs[0]]
    assert shown(staff, registernummer="Amtsgericht Bremen hrb12345") == [refs[0]]
    assert shown(staff, registernummer="HRA 12345") == [refs[2]]


def test_filter_by_status_and_service(app, staff):
    refs = deliver(app, "gewerbeamt-bremen", [
        Spec(status="in_progress"), Spec(status="accepted"),
        Spec(status="in_progress", service_key="gewerbeummeldung", service_title="Gewerbeummeldung")])
    assert sorted(shown(staff, stand="in_progress")) == sorted([refs[0], refs[2]])
    assert shown(staff, stand="accepted") == [refs[1]]
    assert shown(staff, leistung="gewerbeummeldung") == [refs[2]]
    assert shown(staff, stand="in_progress", leistung="gewerbeanmeldung") == [refs[0]]
    page = staff.get(LIST, query_string={"stand": "accepted"}).get_data(as_text=True)
    # an accepted trade notification is acknowledged, as the item's own page says, not "granted"
    badge = r'<span class="kern-badge kern-badge--(\w+)"><span class="kern-label kern-label--small">([^<]+)</span>'
    assert re.findall(badge, page) == [("success", "Bestätigt")]
    both = staff.get(LIST).get_data(as_text=True)
    assert sorted(re.findall(badge, both)) == [("info", "In Bearbeitung"), ("info", "In Bearbeitung"),
                                               ("success", "Bestätigt")]


def test_status_shown_is_the_filings_current_one(app, staff):
    """The list reads the filing's status when it is shown, it keeps no copy that could go stale."""
    from sqlalchemy import update

    from bizportal.extensions import db
    from bizportal.filings.models import Filing

    [ref] = deliver(app, "gewerbeamt-bremen", [Spec(status="received")])
    assert shown(staff, stand="received") == [ref]
    with app.app_context():
        db.session.execute(update(Filing).where(Filing.reference == ref).values(status="withdrawn"))
        db.session.commit()
    assert shown(staff, stand="received") == []
    assert shown(staff, stand="withdrawn") == [ref]


def test_filter_by_received_dates_counts_local_days(app, staff):
    # 23:30 UTC on 3 December is 00:30 on 4 December in Bremen
    refs = deliver(app, "gewerbeamt-bremen", [
        Spec(received_at=datetime(2026, 12, 2, 12, 0, tzinfo=UTC)),
        Spec(received_at=datetime(2026, 12, 3, 23, 30, tzinfo=UTC)),
        Spec(received_at=datetime(2026, 12, 5, 8, 0, tzinfo=UTC))])
    assert shown(staff, von="2026-12-04", bis="2026-12-04") == [refs[1]]
    assert shown(staff, bis="2026-12-03") == [refs[0]]
    assert shown(staff, von="04.12.2026") == [refs[2], refs[1]]
    assert shown(staff, von="2026-12-01", bis="2026-12-05") == [refs[2], refs[1], refs[0]]


def test_assigned_to_me_and_unassigned(app, staff):
    refs = deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=m) for m in (4, 3, 2, 1)])
    me = staff_user_id(app, "gewerbeamt.bremen")
    weber = colleague(app, chamber_id_of(app, refs[0]))
    assign(app, [refs[0], refs[2]], me)
    assign(app, [refs[1]], weber)
    assert shown(staff, zuweisung="mir") == [refs[2], refs[0]]
    assert shown(staff, zuweisung="niemand") == [refs[3]]
    page = staff.get(LIST).get_data(as_text=True)
    assert "Kollegin Weber" in page and "Sabine Krüger (Gewerbeamt Bremen)" in page


def test_new_since_my_last_visit_counts_from_the_previous_login(app):
    first = app.test_client()
    login(first, "gewerbeamt.bremen", staff=True)
    old = deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=10)])
    # first visit: everything counts as new, nothing is hidden
    assert shown(first, neu="y") == old
    later = deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=0)])
    # the same login: what counts as new does not change when the list is opened again
    assert shown(first, neu="y") == later + old

    second = app.test_client()
    login(second, "gewerbeamt.bremen", staff=True)  # the next day, say
    newest = deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=-1)])
    assert shown(second, neu="y") == newest
    page = second.get(LIST).get_data(as_text=True)
    assert "seit Ihrem letzten Besuch am" in page
    assert page.count(">neu<") == 1  # the badge marks the one new item
    assert shown(second, neu="y") == newest  # paging and filtering within a login use nothing up


def test_new_is_per_staff_member(app, staff):
    deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=5)])
    shown(staff)  # Sabine has looked
    weber = app.test_client()
    login(weber, "gewerbeamt.bremen", staff=True)  # her next login
    fresh = deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=-1)])
    assert shown(weber, neu="y") == fresh
    hk = app.test_client()
    login(hk, "hk.bremen", staff=True)
    assert shown(hk, neu="y") == []  # nothing of hers, and her first visit hides nothing else


def test_sort_orders(app, staff):
    refs = deliver(app, "gewerbeamt-bremen", [
        Spec(company="Zeta GmbH", age_minutes=1), Spec(company="alpha KG", age_minutes=3),
        Spec(company="Müller OHG", age_minutes=2)])
    assert shown(staff) == [refs[0], refs[2], refs[1]]  # newest first
    assert shown(staff, sortierung="aelteste") == [refs[1], refs[2], refs[0]]
    assert shown(staff, sortierung="aktenzeichen") == refs
    assert shown(staff, sortierung="unternehmen") == [refs[1], refs[2], refs[0]]


def test_pages_cover_every_item_once_and_go_back(app, staff, small_pages):
    # twelve items, four of them received at the very same instant: the id decides between them
    same = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    refs = deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=m) for m in range(8)] + [Spec(received_at=same)] * 4)
    pages = all_pages(staff, LIST)
    assert [len(p) for p in pages] == [5, 5, 2]
    flat = [r for p in pages for r in p]
    assert flat == refs[:8] + refs[8:][::-1]  # newest first, ties by id, newest id first
    # back from the last page
    first = staff.get(LIST).get_data(as_text=True)
    assert previous_link(first) is None
    second = staff.get(next_link(first)).get_data(as_text=True)
    third = staff.get(next_link(second)).get_data(as_text=True)
    assert next_link(third) is None
    back = staff.get(previous_link(third)).get_data(as_text=True)
    assert listed(back) == pages[1]
    start = staff.get(previous_link(back)).get_data(as_text=True)
    assert listed(start) == pages[0] and previous_link(start) is None


def test_every_sort_order_pages_through_everything(app, staff, small_pages):
    refs = deliver(app, "gewerbeamt-bremen", [Spec(company=f"Firma {n % 3}", age_minutes=n % 4) for n in range(11)])
    for order in ("neueste", "aelteste", "aktenzeichen", "unternehmen"):
        flat = [r for p in all_pages(staff, f"{LIST}?sortierung={order}") for r in p]
        assert sorted(flat) == sorted(refs) and len(flat) == 11, order
        assert flat == shown(staff, sortierung=order) + flat[5:], order


def test_next_page_stays_put_when_new_items_arrive(app, staff, small_pages):
    refs = deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=10 + m) for m in range(8)])
    first = staff.get(LIST).get_data(as_text=True)
    assert listed(first) == refs[:5]
    deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=1), Spec(age_minutes=0)])  # two arrive meanwhile
    second = staff.get(next_link(first)).get_data(as_text=True)
    assert listed(second) == refs[5:]  # neither repeated nor skipped


def test_filter_is_kept_across_pages_and_in_the_export_link(app, staff, small_pages):
    wanted = deliver(app, "gewerbeamt-bremen", [Spec(company="Becker GmbH", age_minutes=m) for m in range(7)])
    deliver(app, "gewerbeamt-bremen", [Spec(company="Andere AG", age_minutes=m) for m in range(7)])
    pages = all_pages(staff, f"{LIST}?unternehmen=becker&sortierung=aelteste")
    assert [r for p in pages for r in p] == wanted[::-1]
    html = staff.get(LIST, query_string={"unternehmen": "becker"}).get_data(as_text=True)
    assert "unternehmen=becker" in next_link(html)
    assert 'href="/staff/posteingang.csv?unternehmen=becker"' in html
    assert "7 Anträge gefunden" in html


def test_count_stops_at_the_cap(app, staff, monkeypatch):
    from bizportal.inbox import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    refs = deliver(app, "gewerbeamt-bremen", [Spec() for _ in range(4)])
    assert "Mehr als 3 Anträge gefunden" in staff.get(LIST).get_data(as_text=True)
    assert "1 Antrag gefunden" in staff.get(LIST, query_string={"aktenzeichen": refs[0]}).get_data(as_text=True)
    assert "0 Anträge gefunden" in staff.get(LIST, query_string={"unternehmen": "gibt es nicht"}).get_data(as_text=True)


def test_bad_input_is_shown_at_its_field(app, staff):
    cases = [
        ({"von": "31.02.2026"}, "von", "Bitte geben Sie ein gültiges Datum an"),
        ({"bis": "morgen"}, "bis", "Bitte geben Sie ein gültiges Datum an"),
        ({"von": "2026-12-05", "bis": "2026-12-04"}, "bis", "Das Bis-Datum liegt vor dem Ab-Datum."),
        ({"registernummer": "12345"}, "registernummer", "Bitte geben Sie Registerart und Nummer an"),
        ({"stand": "gelöscht"}, "stand", ""),
        ({"sortierung": "id; DROP TABLE"}, "sortierung", ""),
    ]
    for params, name, message in cases:
        resp = staff.get(LIST, query_string=params)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, params
        assert f'id="{name}-error"' in html, params
        assert re.search(rf'aria-describedby="[^"]*\b{name}-error"', html), params
        assert f'href="#{name}"' in html, params  # the error summary links to the field
        assert message in html, params
        assert 'id="results"' not in html
        export = staff.get(LIST + ".csv", query_string=params)
        assert export.status_code == 422 and f'id="{name}-error"' in export.get_data(as_text=True)


def test_a_tampered_page_link_is_a_bad_request(app, staff, small_pages):
    deliver(app, "gewerbeamt-bremen", [Spec(age_minutes=m) for m in range(7)])
    link = next_link(staff.get(LIST).get_data(as_text=True))
    assert staff.get(link + "x").status_code == 400
    assert staff.get(LIST, query_string={"nach": "bm90IGpzb24"}).status_code == 400
    # a link made for one sort order does not page another
    assert staff.get(link.replace("?", "?sortierung=aktenzeichen&")).status_code == 400


def test_staff_of_another_chamber_see_none_of_it(app, staff, other_chamber, small_pages):
    theirs = deliver(app, "gewerbeamt-bremen", [Spec(company="Geheim GmbH", register="Bremen HRB 777",
                                                     age_minutes=m) for m in range(7)])
    ours = deliver(app, "hk-bremen", [Spec(company="Eigene GmbH", age_minutes=m) for m in range(2)])
    assert shown(other_chamber) == ours
    assert shown(other_chamber, aktenzeichen=theirs[0]) == []
    assert shown(other_chamber, unternehmen="geheim") == []
    assert shown(other_chamber, registernummer="HRB 777") == []
    export = other_chamber.get(LIST + ".csv").get_data()
    assert b"Geheim" not in export and theirs[0].encode() not in export and ours[0].encode() in export
    # a page link taken from the Gewerbeamt's list shows the Handelskammer only its own items
    link = next_link(staff.get(LIST).get_data(as_text=True))
    assert not set(listed(other_chamber.get(link).get_data(as_text=True))) & set(theirs)


def _service_choices(html: str) -> set[str]:
    select = re.search(r'<select[^>]*name="leistung".*?</select>', html, re.S)
    assert select, "no service filter"
    return set(re.findall(r'value="([^"]+)"', select.group(0)))


def test_the_service_filter_lists_only_the_services_this_chamber_receives(staff, other_chamber):
    gewerbeamt = _service_choices(staff.get(LIST).get_data(as_text=True))
    assert {"gewerbeanmeldung", "gaststaettenerlaubnis", "bewachungserlaubnis-34a"} <= gewerbeamt
    # the Gewerbeamt never receives a Handwerksrolle entry or a certificate of origin
    assert not {"handwerksrolle-eintragung", "ursprungszeugnis", "versicherungsvermittler-34d"} & gewerbeamt
    chamber = _service_choices(other_chamber.get(LIST).get_data(as_text=True))
    assert {"ursprungszeugnis", "versicherungsvermittler-34d", "gewerbeanmeldung"} <= chamber  # copies too
    assert not {"gaststaettenerlaubnis", "handwerksrolle-eintragung"} & chamber
    # a service the chamber never receives is not a valid filter value
    assert staff.get(LIST, query_string={"leistung": "ursprungszeugnis"}).status_code == 422


def _filter_form(html: str) -> str:
    form = re.search(r'<form method="get"[^>]*id="inbox-filter".*?</form>', html, re.S)
    assert form, "no filter form"
    return form.group(0)


def test_the_filter_form_shows_each_query_its_own_values_and_language(staff, other_chamber):
    """The filter form is rendered once per language, choices and query string and then reused: a
    second look is the same page, another query or language or chamber never gets another's form."""
    first = _filter_form(staff.get(LIST, query_string={"unternehmen": "Müller & <Söhne>"}).get_data(as_text=True))
    assert 'value="Müller &amp; &lt;Söhne&gt;"' in first
    assert _filter_form(staff.get(LIST, query_string={"unternehmen": "Müller & <Söhne>"})
                        .get_data(as_text=True)) == first
    other = _filter_form(staff.get(LIST, query_string={"unternehmen": "Schmidt", "stand": "submitted"})
                         .get_data(as_text=True))
    assert 'value="Schmidt"' in other and "Müller" not in other
    assert re.search(r'<option selected value="submitted">|<option value="submitted" selected', other)
    plain = _filter_form(staff.get(LIST).get_data(as_text=True))
    assert "Alle Filter zurücksetzen" not in plain and 'value="Schmidt"' not in plain
    assert "Alle Filter zurücksetzen" in other
    # an invalid query shows its errors; the same fields valid again show none
    assert staff.get(LIST, query_string={"von": "morgen"}).status_code == 422
    assert 'id="von-error"' not in _filter_form(staff.get(LIST, query_string={"von": "2026-01-01"})
                                                .get_data(as_text=True))
    staff.get("/sprache/en")
    english = _filter_form(staff.get(LIST, query_string={"unternehmen": "Müller & <Söhne>"}).get_data(as_text=True))
    assert english != first and "Company" in english
    assert _service_choices(other_chamber.get(LIST).get_data(as_text=True)) != _service_choices(plain)


def test_the_count_is_of_all_matching_items_on_every_page_and_past_the_end(app, staff, small_pages):
    """The list's statement also counts the matches: the same number on the first, a later and the
    previous page, with a status filter (which joins the filings) too, and on a page past the last
    row (no rows to carry the count)."""
    refs = deliver(app, "gewerbeamt-bremen", [Spec(status="in_progress" if m % 2 else "received", age_minutes=m)
                                              for m in range(12)])
    first = staff.get(LIST).get_data(as_text=True)
    second = staff.get(next_link(first)).get_data(as_text=True)
    third = staff.get(next_link(second)).get_data(as_text=True)
    back = staff.get(previous_link(third)).get_data(as_text=True)
    for html in (first, second, third, back):
        assert "12 Anträge gefunden" in html
    assert len(listed(third)) == 2 and listed(back) == listed(second)
    working = staff.get(LIST, query_string={"stand": "in_progress"}).get_data(as_text=True)
    assert "6 Anträge gefunden" in working and len(listed(working)) == 5
    later = staff.get(next_link(working)).get_data(as_text=True)
    assert "6 Anträge gefunden" in later and len(listed(later)) == 1
    # a page after the oldest item (a link kept while that item was the last): no rows, still the count
    from bizportal.inbox import queries
    from tests.support.inbox import at

    past = queries.Cursor("neueste", at(60), 0).token()
    beyond = staff.get(LIST, query_string={"nach": past}).get_data(as_text=True)
    assert listed(beyond) == [] and "12 Anträge gefunden" in beyond
    assert sorted(listed(first) + listed(second) + listed(third)) == sorted(refs)


ROW_LINK = r'<a class="kern-link" href="(/staff/posteingang/\d+)">([^<]+)</a>'
BADGE = r'<span class="kern-badge kern-badge--(\w+)"><span class="kern-label kern-label--small">([^<]+)</span>'


def test_each_row_links_to_its_items_page_and_shows_what_was_delivered(app, staff):
    refs = deliver(app, "gewerbeamt-bremen", [
        Spec(company="Erste & <Söhne> GmbH", age_minutes=2, role="copy"),
        # a service the catalog no longer has is named by the title it was sent with
        Spec(company="Zweite GmbH", service_key="nicht-mehr-im-katalog", service_title="Gewerbe<br>anmeldung",
             age_minutes=1)])
    colleague_id = colleague(app, chamber_id_of(app, refs[0]), "Kollegin <i>Weber</i>")
    assign(app, [refs[0]], colleague_id)
    html = staff.get(LIST).get_data(as_text=True)
    links = re.findall(ROW_LINK, html)
    assert [ref for _url, ref in links] == [refs[1], refs[0]]
    for url, ref in links:
        page = staff.get(url)
        assert page.status_code == 200 and f"Eingang {ref}" in page.get_data(as_text=True)
    assert f"{refs[0]}</a> (Kopie)" in html and f"{refs[1]}</a></td>" in html
    # what was delivered and the names are text, never markup
    assert ">Erste &amp; &lt;Söhne&gt; GmbH<" in html and ">Zweite GmbH<" in html
    assert ">Gewerbe&lt;br&gt;anmeldung<" in html
    assert ">Kollegin &lt;i&gt;Weber&lt;/i&gt;<" in html and ">–<" in html  # the other one is assigned to nobody
    assert "<Söhne>" not in html and "<br>anmeldung" not in html and "<i>Weber" not in html


def test_the_lists_badges_and_marks_follow_the_readers_language_from_one_request_to_the_next(app, staff):
    deliver(app, "gewerbeamt-bremen", [Spec(status="accepted", age_minutes=2),
                                       Spec(status="in_progress", role="copy", age_minutes=1)])
    german = staff.get(LIST).get_data(as_text=True)
    staff.get("/sprache/en")
    english = staff.get(LIST).get_data(as_text=True)
    staff.get("/sprache/de")
    again = staff.get(LIST).get_data(as_text=True)
    assert re.findall(BADGE, german) == [("info", "In Bearbeitung"), ("success", "Bestätigt")]
    assert re.findall(BADGE, english) == [("info", "In progress"), ("success", "Acknowledged")]
    assert "</a> (copy)" in english and "</a> (Kopie)" in german
    assert re.findall(BADGE, again) == re.findall(BADGE, german)


def _list_row(html: str, reference: str) -> str:
    """The table row of ``reference`` in the list."""
    match = re.search(r'<tr class="kern-table__row">\s*<td class="kern-table__cell"><a [^>]*>'
                      + re.escape(reference) + r"</a>.*?</tr>", html, re.S)
    assert match, f"{reference} not listed"
    return match.group(0)


def test_a_row_shows_a_step_an_assignment_and_a_renamed_colleague_right_after_them(app, staff):
    """The rows are kept once written; what a step, an assignment or a rename changes shows on the
    very next request all the same."""
    from sqlalchemy import update

    from bizportal.auth.models import StaffUser
    from bizportal.extensions import db
    from bizportal.filings.models import Filing

    [ref] = deliver(app, "gewerbeamt-bremen", [Spec(status="received")])
    row = _list_row(staff.get(LIST).get_data(as_text=True), ref)
    assert re.findall(BADGE, row) == [("info", "Eingegangen")] and ">–<" in row
    assert row == _list_row(staff.get(LIST).get_data(as_text=True), ref)  # the kept row, as written

    with app.app_context():
        db.session.execute(update(Filing).where(Filing.reference == ref).values(status="in_progress"))
        db.session.commit()
    row = _list_row(staff.get(LIST).get_data(as_text=True), ref)
    assert re.findall(BADGE, row) == [("info", "In Bearbeitung")]

    weber = colleague(app, chamber_id_of(app, ref))
    assign(app, [ref], weber)
    assert ">Kollegin Weber<" in _list_row(staff.get(LIST).get_data(as_text=True), ref)

    with app.app_context():
        db.session.execute(update(StaffUser).where(StaffUser.id == weber).values(name="Kollegin Weber-Brandt"))
        db.session.commit()
    assert ">Kollegin Weber-Brandt<" in _list_row(staff.get(LIST).get_data(as_text=True), ref)


def test_the_list_names_a_service_as_a_catalog_import_renamed_it_at_once(app, staff, tmp_path):
    """The kept rows belong to the catalog they were written with; after an import the list names
    the service with the new catalog's title."""
    from tests.support.catalogs import import_renamed_gewerbeanmeldung

    [ref] = deliver(app, "gewerbeamt-bremen", [Spec()])
    assert ">Gewerbeanmeldung<" in _list_row(staff.get(LIST).get_data(as_text=True), ref)
    import_renamed_gewerbeanmeldung(app, tmp_path, "Gewerbeanzeige (Anmeldung)")
    assert ">Gewerbeanzeige (Anmeldung)<" in _list_row(staff.get(LIST).get_data(as_text=True), ref)


def test_the_filter_forms_links_follow_the_address_the_portal_is_mounted_under(app, staff):
    """The filter form is kept rendered; served under a path prefix (``SCRIPT_NAME``, as a proxy
    mounting the portal sets it) its action and reset link name that prefix, and without it not."""
    deliver(app, "gewerbeamt-bremen", [Spec(company="Präfix GmbH")])
    plain = staff.get("/staff/posteingang?q=Pr").get_data(as_text=True)
    mounted = staff.get("/staff/posteingang?q=Pr", environ_overrides={"SCRIPT_NAME": "/portal"}).get_data(as_text=True)
    again = staff.get("/staff/posteingang?q=Pr").get_data(as_text=True)
    filter_form = re.compile(r'<form method="get" action="([^"]+)"[^>]*id="inbox-filter"')
    assert filter_form.search(plain).group(1) == "/staff/posteingang"
    assert filter_form.search(mounted).group(1) == "/portal/staff/posteingang"
    assert 'href="/portal/staff/posteingang">' in mounted  # "Alle Filter zurücksetzen"
    assert filter_form.search(again).group(1) == "/staff/posteingang"
