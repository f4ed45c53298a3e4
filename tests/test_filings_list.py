"""'Meine Anträge': two filings of the same service are told apart by their own answers, and a draft
shows how far it is (a step count and an accessible progress bar)."""

from __future__ import annotations

import re

from sqlalchemy import select

from bizportal.filings.models import Filing
from tests.support.filing import file_service, gewerbe_answers, path_of, post_step, start_draft
from tests.support.http import csrf_token


def _row(html: str, reference: str) -> str:
    start = html.index(f">{reference}</a>")
    return html[start:html.index("</tr>", start)]


def test_two_filings_of_the_same_service_are_told_apart(client, login_as):
    login_as("anna.becker")
    first = file_service(client, "gewerbeanmeldung", gewerbe_answers())
    second = file_service(client, "gewerbeanmeldung", gewerbe_answers(
        street="Hafenstraße 5", activity="Einzelhandel mit Fahrrädern", wz2008="47.64.1", handwerk="no", handel="yes"))
    html = client.get("/antraege").get_data(as_text=True)
    one, two = _row(html, first), _row(html, second)
    assert "Am Wall 120" in one and "Elektroinstallation" in one and "Hafenstraße" not in one
    assert "Hafenstraße 5" in two and "Einzelhandel mit Fahrrädern" in two and "Am Wall" not in two


def _first_steps(client, count: int) -> str:
    path = start_draft(client, "gewerbeanmeldung")
    for _ in range(count):
        resp = post_step(client, path, gewerbe_answers())
        assert resp.status_code == 302
        path = path_of(resp.headers["Location"])
    return path


def test_a_draft_shows_its_step_and_an_accessible_progress_bar(client, login_as):
    login_as("anna.becker")
    _first_steps(client, 4)
    html = client.get("/antraege").get_data(as_text=True)
    label = re.search(r'<label class="kern-label" for="(fortschritt-[^"]+)"[^>]*>Schritt (\d+) von (\d+)</label>', html)
    assert label, html[html.find("Entwürfe"):][:3000]
    bar_id, step, total = label.group(1), int(label.group(2)), int(label.group(3))
    assert step == 5 and total >= 10  # GewA 1: ten steps before the conditional ones apply
    bar = re.search(rf'<progress id="{bar_id}" max="(\d+)" value="(\d+)">([^<]+)</progress>', html)
    assert bar and (int(bar.group(1)), int(bar.group(2))) == (total, 4)
    assert bar.group(3) == f"4 von {total} Schritten erledigt"
    assert "Am Wall 120" in html  # the draft's address already tells it apart


def test_a_draft_with_every_step_done_says_it_is_ready(client, login_as):
    login_as("anna.becker")
    path = start_draft(client, "gewerbeanmeldung")
    from tests.support.filing import fill_steps

    fill_steps(client, path, gewerbe_answers())
    html = client.get("/antraege").get_data(as_text=True)
    ready = re.search(r"Alle (\d+) Schritte ausgefüllt – bereit zum Prüfen und Absenden", html)
    assert ready
    total = ready.group(1)
    assert re.search(rf'<progress id="[^"]+" max="{total}" value="{total}">', html)


def test_the_list_reads_in_english(client, login_as):
    login_as("anna.becker")
    _first_steps(client, 4)
    client.get("/sprache/en")
    html = client.get("/antraege").get_data(as_text=True)
    assert re.search(r">Step 5 of \d+</label>", html)
    assert re.search(r">4 of \d+ steps done</progress>", html)


def test_a_company_with_many_filings_pages_through_them_newest_first(app, client, login_as):
    from sqlalchemy import select

    from bizportal.auth.models import Person
    from bizportal.extensions import db
    from bizportal.filings.queries import FILINGS_PAGE
    from tests.support.factories import add_filings

    login_as("anna.becker")
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == "anna.becker"))
        company_id, person_id = person.company_id, person.id
    refs = add_filings(app, company_id, person_id, FILINGS_PAGE + 5, "P")  # refs[0] newest
    first = client.get("/antraege").get_data(as_text=True)
    shown = re.findall(r'href="/antraege/(BP-QP-\d+)"', first)
    assert shown == refs[:FILINGS_PAGE]
    older = re.search(r'id="older-filings" rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert re.findall(r'href="/antraege/(BP-QP-\d+)"', second) == refs[FILINGS_PAGE:]
    assert 'id="older-filings"' not in second and "Zu den neuesten Anträgen" in second
    # another company's filing as the anchor shows the first page, nothing of the other company
    client.get("/sprache/en")
    english = client.get("/antraege?nach=999999999").get_data(as_text=True)
    assert re.findall(r'href="/antraege/(BP-QP-\d+)"', english) == refs[:FILINGS_PAGE]
    assert "Older applications" in english


def test_each_status_badge_names_the_state_as_the_filing_page_does(app, client, login_as):
    """An accepted notification (Gewerbeanmeldung) is "Bestätigt", an accepted permit
    (Reisegewerbekarte) "Bewilligt" — in the list as on the filing's page; the list renders each
    distinct badge once but every row gets its own."""
    from sqlalchemy import update

    from bizportal.auth.models import Person
    from bizportal.extensions import db
    from bizportal.filings.models import Filing
    from tests.support.factories import add_filings

    login_as("anna.becker")
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == "anna.becker"))
        company_id, person_id = person.company_id, person.id
    refs = add_filings(app, company_id, person_id, 5, "S")  # gewerbeanmeldung, -ummeldung, -abmeldung, …
    with app.app_context():
        db.session.execute(update(Filing).where(Filing.reference.in_(refs[:2] + refs[4:])).values(status="accepted"))
        db.session.execute(update(Filing).where(Filing.reference == refs[3]).values(status="rejected"))
        db.session.commit()
    html = client.get("/antraege").get_data(as_text=True)
    badge = r'<span class="kern-badge kern-badge--(\w+)"><span class="kern-label kern-label--small">([^<]+)</span>'
    assert re.findall(badge, _row(html, refs[0])) == [("success", "Bestätigt")]  # gewerbeanmeldung
    assert re.findall(badge, _row(html, refs[1])) == [("success", "Bestätigt")]  # gewerbeummeldung
    assert re.findall(badge, _row(html, refs[2])) == [("info", "Weitergeleitet")]
    assert re.findall(badge, _row(html, refs[3])) == [("danger", "Abgelehnt")]
    assert re.findall(badge, _row(html, refs[4])) == [("success", "Bewilligt")]  # reisegewerbekarte
    detail = client.get(f"/antraege/{refs[4]}").get_data(as_text=True)
    assert re.findall(badge, detail) == [("success", "Bewilligt")]
    client.get("/sprache/en")
    english = client.get("/antraege").get_data(as_text=True)
    assert re.findall(badge, _row(english, refs[0])) == [("success", "Acknowledged")]
    assert re.findall(badge, _row(english, refs[4])) == [("success", "Approved")]


def test_the_list_shows_a_chamber_s_status_change_at_once(app, client, login_as):
    """The rows of the list are rendered once and kept; a status the chamber's system reports and
    a decision of its staff appear on the very next request, and so does the company's withdrawal."""
    from bizportal.auth.models import Person
    from bizportal.delivery.models import Delivery
    from bizportal.extensions import db
    from bizportal.filings import lifecycle
    from tests.support.factories import add_filings

    login_as("anna.becker")
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == "anna.becker"))
        company_id, person_id = person.company_id, person.id
    refs = add_filings(app, company_id, person_id, 3, "W")  # gewerbeanmeldung, -ummeldung, -abmeldung
    badge = r'<span class="kern-badge kern-badge--\w+"><span class="kern-label kern-label--small">([^<]+)</span>'
    html = client.get("/antraege").get_data(as_text=True)
    assert [re.findall(badge, _row(html, ref)) for ref in refs] == [["Weitergeleitet"]] * 3
    assert "Weg 0" in _row(html, refs[0])
    with app.app_context():
        delivery_of = {ref: db.session.scalar(select(Delivery.id).join(Filing, Filing.id == Delivery.filing_id)
                                              .where(Filing.reference == ref)) for ref in refs}
        lifecycle.apply_chamber_event(delivery_of[refs[0]], "received")
    html = client.get("/antraege").get_data(as_text=True)
    assert [re.findall(badge, _row(html, ref)) for ref in refs] == [["Eingegangen"], ["Weitergeleitet"],
                                                                     ["Weitergeleitet"]]
    with app.app_context():
        lifecycle.apply_chamber_event(delivery_of[refs[0]], "accepted")
        lifecycle.apply_chamber_event(delivery_of[refs[1]], "rejected", detail="Unvollständig")
    client.post(f"/antraege/{refs[2]}/zurueckziehen", data={"csrf_token": csrf_token(html), "confirm": "yes"})
    html = client.get("/antraege").get_data(as_text=True)
    assert [re.findall(badge, _row(html, ref)) for ref in refs] == [["Bestätigt"], ["Abgelehnt"], ["Zurückgezogen"]]
    assert "Weg 0" in _row(html, refs[0])


def test_a_submitted_bundle_is_listed_with_its_filings(app, client, login_as):
    """"Eingereichte Vorhaben" names each bundle with the references of the filings made with it,
    in the order they were made."""
    from bizportal.extensions import db
    from bizportal.filings.models import FilingBundle
    from tests.support.bundles import PLANS, SHARED, file_bundle

    login_as("anna.becker")
    file_bundle(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no", "handwerk_anlage": "a"})
    with app.app_context():
        bundle = db.session.scalar(select(FilingBundle))
        filed = [f.reference for f in bundle.filings]
        reference = bundle.reference
    assert len(filed) >= 2
    html = client.get("/antraege").get_data(as_text=True)
    table = html[html.index('id="vorhaben-liste"'):]
    start = table.index(f">{reference}</a>")
    row = table[start:table.index("</tr>", start)]
    assert f"<td class=\"kern-table__cell\">{', '.join(filed)}</td>" in row


def test_the_list_shows_a_service_title_changed_by_a_catalog_import_at_once(app, client, login_as, tmp_path):
    """A catalog import replaces the services the rows were rendered with: the kept rows go with the
    old catalog, and the list names the service as its own page and the catalog do."""
    from bizportal.auth.models import Person
    from bizportal.extensions import db
    from tests.support.catalogs import import_renamed_gewerbeanmeldung
    from tests.support.factories import add_filings

    login_as("anna.becker")
    with app.app_context():
        person = db.session.scalar(select(Person).where(Person.sub == "anna.becker"))
        company_id, person_id = person.company_id, person.id
    ref = add_filings(app, company_id, person_id, 1, "T")[0]  # a Gewerbeanmeldung
    before = _row(client.get("/antraege").get_data(as_text=True), ref)
    assert '<td class="kern-table__cell">Gewerbeanmeldung' in before

    import_renamed_gewerbeanmeldung(app, tmp_path, "Gewerbeanzeige (Anmeldung)")

    row = _row(client.get("/antraege").get_data(as_text=True), ref)
    assert "Gewerbeanzeige (Anmeldung)" in row and ">Gewerbeanmeldung" not in row
    assert "Gewerbeanzeige (Anmeldung)" in client.get(f"/antraege/{ref}").get_data(as_text=True)
