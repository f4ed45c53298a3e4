"""The Handwerksrolle asks what the chamber needs to enter the business without asking back
(docs/gewerbeanzeige.md, "The Handwerkskammer Hamburg form"): the Betriebsleiter as a person with
birth data, nationality and home address (HWK Hamburg form "Personen"; Anlage D Abschnitt I Nr. 1
Buchst. a HwO), the position in the business and, for an employed manager, the weekly hours and the
employment contract; the legal route of § 7 HwO asked once (the form's training boxes are its
choices), with the examination's kind, place, date and body (Anlage D Abschnitt I Nr. 1 Buchst. e)
or the decision's authority, date and scope, including the EU/EEA route of § 9 HwO."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bizportal.catalog.loader import load_catalog
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Filing
from bizportal.inbox.models import InboxItem
from tests.support.filing import EveryStep, file_service, path_of, post_step, start_draft
from tests.support.handwerk import EU_EWR, MEISTERPRUEFUNG, betriebsleitung
from tests.support.pdfs import minimal_pdf

ROLLE = "handwerksrolle-eintragung"
PDF = (minimal_pdf("nachweis"), "Nachweis.pdf")
FILES = {"qualifikationsnachweis": PDF, "arbeitsvertrag": PDF}


def answers(route: dict[str, str], leitung: dict[str, str], **changes: str) -> EveryStep:
    """A new electrician's business at the Hamburg branch of Becker Elektrotechnik GmbH."""
    every = EveryStep({
        "business_name": "Becker Elektrotechnik GmbH, Zweigniederlassung Hamburg", "legal_form": "GmbH",
        "street": "Schloßmühlendamm 4", "postcode": "21073", "city": "Hamburg", "trade": "elektrotechniker",
        "start_date": "2027-06-01", "gruendungsart": "neugruendung",
        "registereintrag": "yes", "existenzgruender": "no", "filialen": "no",
        **leitung, **route, "betriebsleiter_wochenstunden": "40", "fruehere_selbstaendigkeit": "no",
        "einwilligung_weitergabe": "no", "einwilligung_suchmaschine": "yes", "einwilligung_handwerktest": "no",
        "keine_gewerbeuntersagung": "yes"})
    every.update(changes)
    return every


NOWAK = betriebsleitung("angestellt", "Nowak", "Tomasz", "1983-04-21", "Gdańsk", staatsangehoerigkeit="PL",
                        geschlecht="maennlich", anschrift=("Harburger Ring 20", "21073", "Hamburg"))
BECKER = betriebsleitung("geschaeftsfuehrer", "Becker", "Anna", "1980-05-17", "Bremen")


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def walk(client, every: EveryStep, step: str = "pruefen") -> tuple[str, list[str]]:
    """Post the steps up to ``step`` (with the uploads); the path of ``step`` and the keys shown before."""
    path, shown = start_draft(client, ROLLE), []
    for _ in range(40):
        if path.rsplit("/", 1)[-1] == step:
            return path, shown
        shown.append(path.rsplit("/", 1)[-1])
        resp = post_step(client, path, every, files=FILES)
        assert resp.status_code == 302, (path, resp.get_data(as_text=True)[:2000])
        path = path_of(resp.headers["Location"])
    raise AssertionError(f"step {step} not reached")


def to_step(client, every: EveryStep, step: str) -> str:
    return walk(client, every, step)[0]


def test_the_betriebsleiter_is_a_person_with_the_data_the_handwerksrolle_keeps():
    rolle = load_catalog()[ROLLE]
    fields = {f.name: f for f in rolle.fields}
    assert "manager_name" not in fields  # a name alone: the chamber had to ask for the rest
    assert fields["betriebsleiter"].type == "person" and fields["betriebsleiter"].step == "betriebsleitung"
    assert fields["betriebsleiter"].parts == ("family_name", "given_names", "birth_date", "birth_place")
    assert fields["betriebsleiter_staatsangehoerigkeit"].type == "country"
    assert fields["betriebsleiter_anschrift"].type == "address"
    assert {f.name for f in rolle.fields if f.step == "betriebsleitung" and f.required} >= {
        "betriebsleiter_stellung", "betriebsleiter", "betriebsleiter_geschlecht",
        "betriebsleiter_staatsangehoerigkeit", "betriebsleiter_anschrift", "betriebsleiter_nur_hier"}
    # the HWK Hamburg form's "Stellung im Betrieb"
    assert [c.value for c in fields["betriebsleiter_stellung"].choices] == [
        "inhaber", "geschaeftsfuehrer", "gesellschafter", "vorstand", "angestellt"]
    steps = {s.key: s for s in rolle.steps}
    anstellung = steps["anstellung"].show_if
    assert (anstellung.field, anstellung.equals) == ("betriebsleiter_stellung", "angestellt")
    assert {f.name: (f.type, f.required) for f in rolle.fields if f.step == "anstellung"} == {
        "betriebsleiter_wochenstunden": ("number", True), "arbeitsvertrag": ("file", True),
        "sozialversicherung_meldung": ("file", False)}


def test_the_legal_route_is_asked_once_and_each_training_box_of_the_form_is_one_route():
    rolle = load_catalog()[ROLLE]
    fields = {f.name: f for f in rolle.fields}
    assert "berufsausbildung" not in fields  # merged: the form's boxes are the routes below
    routes = {c.value: c.label.de for c in fields["qualification"].choices}
    assert list(routes) == ["meisterpruefung", "gleichwertig", "ausnahmebewilligung", "eu_ewr",
                            "gleichwertigkeitsfeststellung", "ausuebungsberechtigung_7a", "ausuebungsberechtigung"]
    form_boxes = {"die Meisterprüfung bestanden": "meisterpruefung", "Ingenieur": "gleichwertig",
                  "Techniker": "gleichwertig", "Industriemeister": "gleichwertig", "§ 8 HwO": "ausnahmebewilligung",
                  "§ 7a HwO": "ausuebungsberechtigung_7a", "§ 7b HwO": "ausuebungsberechtigung",
                  "§ 9 Abs. 1 HwO": "eu_ewr", "§ 50c HwO": "gleichwertigkeitsfeststellung"}
    for box, route in form_boxes.items():
        assert [value for value, label in routes.items() if box in label] == [route], box
    steps = {s.key: s.show_if for s in rolle.steps}
    assert set(steps["pruefung"].values) == {"meisterpruefung", "gleichwertig"}
    assert set(steps["bescheid"].values) == set(routes) - {"meisterpruefung", "gleichwertig"}
    assert {f.name for f in rolle.fields if f.step == "pruefung"} == {
        "pruefung_art", "pruefung_datum", "pruefung_stelle", "pruefung_ort"}  # Anlage D I Nr. 1 Buchst. e
    assert (fields["herkunftsstaat"].type, fields["herkunftsstaat"].show_if.equals) == ("country", "eu_ewr")


@pytest.mark.parametrize("route, leitung, shown, skipped", [
    (MEISTERPRUEFUNG, BECKER, {"pruefung"}, {"anstellung", "bescheid"}),
    (EU_EWR, NOWAK, {"anstellung", "bescheid"}, {"pruefung"}),
])
def test_the_steps_follow_the_managers_position_and_the_route(company, route, leitung, shown, skipped):
    steps = walk(company, answers(route, leitung))[1]
    assert shown <= set(steps) and not skipped & set(steps)
    assert steps.index("betriebsleitung") < steps.index("qualifikation") and steps[-1] == "unterlagen"


def test_an_employed_manager_needs_the_weekly_hours_and_the_contract(company):
    path = to_step(company, answers(EU_EWR, NOWAK), "anstellung")
    resp = post_step(company, path, {"betriebsleiter_wochenstunden": ""})
    assert resp.status_code == 422 and resp.get_data(as_text=True).count('aria-invalid="true"') >= 2
    assert post_step(company, path, {"betriebsleiter_wochenstunden": "70"}, files=FILES).status_code == 422
    assert post_step(company, path, {"betriebsleiter_wochenstunden": "38"}, files=FILES).status_code == 302


def test_the_manager_and_the_route_are_required(company):
    path = to_step(company, answers(MEISTERPRUEFUNG, BECKER), "betriebsleitung")
    resp = post_step(company, path, {"betriebsleiter_nur_hier": "yes"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for name in ("betriebsleiter_stellung", "betriebsleiter-family_name", "betriebsleiter-birth_date",
                 "betriebsleiter_staatsangehoerigkeit", "betriebsleiter_anschrift-street"):
        assert f'name="{name}"' in html
    assert html.count('aria-invalid="true"') >= 5
    path = to_step(company, answers(EU_EWR, NOWAK), "bescheid")
    resp = post_step(company, path, {"bescheid_behoerde": "Handwerkskammer Hamburg", "bescheid_datum": "2026-10-05",
                                     "bescheid_umfang": "Elektrotechniker-Handwerk", "herkunftsstaat": ""})
    assert resp.status_code == 422  # the EU/EEA route names the state of the experience or qualification
    path = to_step(company, answers(MEISTERPRUEFUNG, BECKER), "pruefung")
    assert post_step(company, path, {"pruefung_art": "Meisterprüfung"}).status_code == 422


def test_the_chamber_receives_the_manager_and_the_eu_route_with_its_proof(app, company):
    reference = file_service(company, ROLLE, answers(EU_EWR, NOWAK, betriebsleiter_telefon="040 7654321"),
                             files={**FILES, "sozialversicherung_meldung": PDF})
    assert Worker(app).run_once() == 1
    with app.app_context():
        item = db.session.scalar(select(InboxItem).where(InboxItem.service_key == ROLLE))
        received = item.data
        filed = sorted(a.field_name for a in db.session.scalar(
            select(Filing).where(Filing.reference == reference)).attachments)
    assert received["betriebsleiter"] == {"family_name": "Nowak", "given_names": "Tomasz",
                                          "birth_date": "1983-04-21", "birth_place": "Gdańsk"}
    assert (received["betriebsleiter_stellung"], received["betriebsleiter_geschlecht"],
            received["betriebsleiter_staatsangehoerigkeit"], received["betriebsleiter_telefon"]) == (
        "angestellt", "maennlich", "PL", "040 7654321")
    assert received["betriebsleiter_anschrift"] == {"street": "Harburger Ring 20", "postcode": "21073",
                                                    "city": "Hamburg", "country": "DE"}
    assert received["betriebsleiter_wochenstunden"] == 40
    assert (received["qualification"], received["herkunftsstaat"], received["bescheid_behoerde"],
            received["bescheid_datum"], received["bescheid_umfang"]) == (
        "eu_ewr", "PL", "Handwerkskammer Hamburg", "2026-10-05", "Elektrotechniker-Handwerk")
    assert not {"pruefung_art", "pruefung_datum", "manager_name", "berufsausbildung"} & set(received)
    assert filed == ["arbeitsvertrag", "qualifikationsnachweis", "sozialversicherung_meldung"]
    page = company.get(f"/antraege/{reference}").get_data(as_text=True)
    assert "eine Ausnahmebewilligung für Staatsangehörige der EU, des EWR oder der Schweiz" in page
    assert "Angestellte technische Betriebsleiterin oder angestellter technischer Betriebsleiter" in page
    assert "Polen" in page


def test_a_meister_owner_files_the_examination_without_employment_data(app, company):
    reference = file_service(company, ROLLE, answers(MEISTERPRUEFUNG, BECKER), files={"qualifikationsnachweis": PDF})
    with app.app_context():
        data = db.session.scalar(select(Filing).where(Filing.reference == reference)).data
    assert (data["pruefung_art"], data["pruefung_datum"], data["pruefung_stelle"], data["pruefung_ort"]) == (
        "Meisterprüfung im Elektrotechniker-Handwerk", "2009-06-26",
        "Meisterprüfungsausschuss der Handwerkskammer Bremen", "Bremen")
    assert not {"betriebsleiter_wochenstunden", "arbeitsvertrag", "bescheid_behoerde", "herkunftsstaat"} & {
        k for k, v in data.items() if v is not None}
