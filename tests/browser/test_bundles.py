"""The founding electrician's bundle in Chromium: the catalog finds "Ich gründe einen Betrieb",
the questions are answered in the browser (two managing persons, the second added without
script), the three filings are completed (over HTTP, as
tests/test_bundles.py does) and the one binding submit is made in the browser. Every bundle page
passes axe-core (WCAG 2.1 A/AA) and reflows at 320 px."""

from __future__ import annotations

import re

from sqlalchemy import select

from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.inbox.models import InboxItem
from tests.support.browser import DESKTOP, NARROW, assert_no_violations, assert_reflows, share_login
from tests.support.bundles import complete_services
from tests.support.handwerk import MEISTERPRUEFUNG
from tests.support.http import http_login


def _check(page, label: str) -> None:
    assert_no_violations(page, label)
    page.set_viewport_size(NARROW)
    assert_reflows(page, label)
    page.set_viewport_size(DESKTOP)


def _person(page, index: int, person: tuple[str, ...]) -> None:
    """Fill one entry of the bundle's persons (a German managing director living in Bremen)."""
    family, given, sex, born, street, postcode = person
    prefix = f"#personen-{index}-"
    page.select_option(prefix + "funktion", "vertreter")
    page.fill(prefix + "familienname", family)
    page.fill(prefix + "vornamen", given)
    page.select_option(prefix + "geschlecht", sex)
    page.fill(prefix + "geburtsdatum", born)
    page.fill(prefix + "geburtsort", "Bremen")
    page.select_option(prefix + "geburtsland", "DE")
    page.select_option(prefix + "staatsangehoerigkeit", "DE")
    page.fill(prefix + "anschrift-street", street)
    page.fill(prefix + "anschrift-postcode", postcode)
    page.fill(prefix + "anschrift-city", "Bremen")


def test_founding_bundle_in_the_browser(app, live_server, new_page):
    client = http_login(live_server, "anna.becker")
    page = new_page()
    share_login(page, client)

    page.goto(live_server + "/?q=Ich+gründe+einen+Betrieb")
    page.get_by_role("link", name="Betrieb gründen").click()
    page.wait_for_url(re.compile(r"/vorhaben/betrieb-gruenden$"))
    _check(page, "bundle start")
    page.get_by_role("button", name="Vorhaben beginnen").click()
    page.wait_for_url(re.compile(r"/betrieb$"))
    _check(page, "bundle question: business")
    assert page.locator("#business_name").input_value() == "Becker Elektrotechnik GmbH"  # from the account
    page.select_option("#inhaber_art", "juristische_person")  # asked once, for every trade notification
    page.check("input[name=registereintrag][value=yes]")  # asked once: GewA field 2 and the chambers' filings
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/register$"))
    page.fill("#handelsregisternummer", "Bremen HRB 12345")
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/personen$"))
    _person(page, 0, ("Becker", "Anna", "weiblich", "1980-05-17", "Parkallee 5", "28209"))
    page.get_by_role("button", name="Weiteren Eintrag hinzufügen").click()  # a round trip, no script needed
    page.locator("#personen-1-familienname").wait_for()
    assert page.locator("#personen-0-familienname").input_value() == "Becker"  # what was typed stays
    _person(page, 1, ("Weber", "Jonas", "maennlich", "1985-09-02", "Am Dobben 3", "28203"))
    _check(page, "bundle question: persons, two entries")
    page.get_by_role("button", name="Weiter", exact=True).click()
    page.wait_for_url(re.compile(r"/taetigkeit$"))  # asked once for the Gewerbeanmeldung and a Verzeichnis
    page.fill("#taetigkeit", "Elektroinstallation")
    page.fill("#vollzeit", "2")
    page.fill("#teilzeit", "1")
    _check(page, "bundle question: activity and staff")
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/vorhaben$"))
    page.fill("#start_date", "2027-03-01")
    for name, value in (("handwerk", "yes"), ("ausbilden", "yes"), ("vermittlung_34d", "no")):
        page.check(f"input[name={name}][value={value}]")
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/handwerk$"))
    page.select_option("#handwerk_anlage", "a")
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/betriebsleitung$"))  # Anna leads the business: not named again
    page.select_option("#gewerk", "elektrotechniker")  # the craft, asked here once
    page.select_option("#betriebsleitung", "erste_person_meister")
    _check(page, "bundle question: the craft and who leads the business")
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/meisterpruefung$"))  # her Meisterprüfung, asked once
    for name, value in MEISTERPRUEFUNG.items():
        if name != "qualification":
            page.fill(f"#{name}", value)
    _check(page, "bundle question: the Meisterprüfung")
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/ausbilder$"))  # Jonas trains: the training contract asks for him
    page.select_option("#ausbildung_durch", "andere_person")
    page.get_by_role("button", name="Weiter").click()
    page.wait_for_url(re.compile(r"/antraege/vorhaben/[0-9a-f-]+$"))
    _check(page, "bundle overview")
    overview = page.url.removeprefix(live_server)
    assert page.locator("#teil-handwerksrolle-eintragung").count() == 1

    complete_services(client, overview)
    page.reload()
    page.get_by_role("link", name="Alle Anträge prüfen und absenden").click()
    page.wait_for_url(re.compile(r"/pruefen$"))
    _check(page, "bundle review")
    page.check("#declaration")
    page.get_by_role("button", name="Alle Anträge verbindlich einreichen").click()
    page.wait_for_url(re.compile(r"/antraege/vorhaben/eingereicht/BP-"))
    _check(page, "bundle status")
    assert page.locator("#antraege tbody tr").count() == 3
    assert Worker(app).run_once() == 4
    with app.app_context():  # the two persons typed once reached the Gewerbeamt
        gewerbe = db.session.scalar(select(InboxItem).where(InboxItem.service_key == "gewerbeanmeldung",
                                                            InboxItem.destination_role == "primary"))
        assert [(p["vornamen"], p["familienname"]) for p in gewerbe.data["personen"]] == [
            ("Anna", "Becker"), ("Jonas", "Weber")]
    page.goto(live_server + "/antraege")
    _check(page, "list with the submitted bundle")
    assert page.locator("#vorhaben-liste tbody tr").count() == 1

    staff = new_page()
    share_login(staff, http_login(live_server, "hwk.bremen", staff=True))
    staff.goto(live_server + "/staff/posteingang")
    staff.locator("tr", has_text="Eintragung in die Handwerksrolle").get_by_role("link").first.click()
    staff.wait_for_url(re.compile(r"/staff/posteingang/\d+$"))
    _check(staff, "staff filing page of a bundle filing")
    assert staff.locator("#vorhaben-antraege li").count() == 2  # the Gewerbeanmeldung and the Ausbildungsvertrag
