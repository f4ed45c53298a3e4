"""The persons behind the business, entered once in a bundle (issue 16): the founder gives the
managing persons in the questionnaire, every service form that asks for them has them, the
Gewerbeamt receives them with every sub-field, a service draft that names other persons is
refused, and a changed answer of the bundle opens again the service steps it touches."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing, FilingBundle
from bizportal.inbox.models import InboxItem
from tests.support.bundles import (
    CHILD_ANSWERS,
    HWK_FORM,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    complete_services,
    fill,
    form_values,
    given_values,
    press,
    service_drafts,
    submit,
)
from tests.support.filing import GESCHAEFTSFUEHRERIN, path_of, versicherungsvermittler_answers
from tests.support.http import csrf_token

#: a second managing director, a Turkish national with a residence title: every sub-field given
SECOND = {
    "personen-1-funktion": "vertreter", "personen-1-familienname": "Demir", "personen-1-vornamen": "Yusuf Can",
    "personen-1-geschlecht": "maennlich", "personen-1-geburtsname": "Yildiz", "personen-1-geburtsdatum": "1979-02-11",
    "personen-1-geburtsort": "Izmir", "personen-1-geburtsland": "TR", "personen-1-staatsangehoerigkeit": "TR",
    "personen-1-weitere_staatsangehoerigkeit": "NL", "personen-1-anschrift-street": "Contrescarpe 14",
    "personen-1-anschrift-postcode": "28203", "personen-1-anschrift-city": "Bremen",
    "personen-1-telefon": "0421 1234567", "personen-1-email": "y.demir@example.org",
    "personen-1-aufenthaltstitel": "yes", "personen-1-aufenthaltstitel_behoerde": "Migrationsamt Bremen",
    "personen-1-aufenthaltstitel_datum": "2015-06-01", "personen-1-aufenthaltstitel_auflage": "no",
}
#: what the Gewerbeanmeldung must carry for the two persons (hidden or empty sub-fields: None)
FILED_PERSONS = [
    {"funktion": "vertreter", "familienname": "Becker", "vornamen": "Anna", "geschlecht": "weiblich",
     "geburtsname": None, "geburtsdatum": "1980-05-17", "geburtsort": "Bremen", "geburtsland": "DE",
     "staatsangehoerigkeit": "DE", "weitere_staatsangehoerigkeit": None,
     "anschrift": {"street": "Parkallee 5", "postcode": "28209", "city": "Bremen", "country": "DE"},
     # her e-mail: the first person starts as the signed-in person, with her login's e-mail
     "telefon": None, "email": "anna.becker@becker-elektro.example",
     "aufenthaltstitel": None, "aufenthaltstitel_behoerde": None, "aufenthaltstitel_datum": None,
     "aufenthaltstitel_auflage": None, "aufenthaltstitel_auflage_angabe": None},
    {"funktion": "vertreter", "familienname": "Demir", "vornamen": "Yusuf Can", "geschlecht": "maennlich",
     "geburtsname": "Yildiz", "geburtsdatum": "1979-02-11", "geburtsort": "Izmir", "geburtsland": "TR",
     "staatsangehoerigkeit": "TR", "weitere_staatsangehoerigkeit": "NL",
     "anschrift": {"street": "Contrescarpe 14", "postcode": "28203", "city": "Bremen", "country": "DE"},
     "telefon": "0421 1234567",
     "email": "y.demir@example.org", "aufenthaltstitel": True, "aufenthaltstitel_behoerde": "Migrationsamt Bremen",
     "aufenthaltstitel_datum": "2015-06-01", "aufenthaltstitel_auflage": False,
     "aufenthaltstitel_auflage_angabe": None},
]
BUSINESS = {k: v for k, v in SHARED.items() if not k.startswith("personen-")}
#: what the services still need, without any person (the bundle gives them)
SERVICE_ANSWERS = {k: v for k, v in CHILD_ANSWERS.items() if not k.startswith("personen-")}


def _two_persons(client, questions: dict) -> str:
    """Start "Betrieb gründen", give the business, add a second person without JavaScript ("Weiteren
    Eintrag hinzufügen"), give both, answer the rest; the overview's path."""
    page = client.get("/vorhaben/betrieb-gruenden")
    resp = client.post("/vorhaben/betrieb-gruenden", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    path = path_of(resp.headers["Location"])
    resp = client.post(path, data={**form_values(client.get(path).get_data(as_text=True)), **BUSINESS,
                                   "action": "next"})
    path = path_of(resp.headers["Location"])
    assert path.endswith("/register")  # a registered GmbH: where it is entered (GewA 1 field 2)
    resp = client.post(path, data={**form_values(client.get(path).get_data(as_text=True)), **BUSINESS,
                                   "action": "next"})
    path = path_of(resp.headers["Location"])
    assert path.endswith("/personen")
    html = client.get(path).get_data(as_text=True)
    assert 'name="personen-1-familienname"' not in html
    resp = client.post(path, data={**form_values(html), **GESCHAEFTSFUEHRERIN, "action": "add:personen"})
    assert resp.status_code == 302
    html = client.get(path).get_data(as_text=True)
    assert 'name="personen-1-familienname"' in html
    assert form_values(html)["personen-0-familienname"] == "Becker"  # what was typed stays
    resp = client.post(path, data={**form_values(html), **GESCHAEFTSFUEHRERIN, **SECOND, "action": "next"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    fill(client, path_of(resp.headers["Location"]), questions)
    draft_id = re.search(r"/entwurf/([0-9a-f-]+)/", path).group(1)
    return path_of(client.get(f"/antraege/entwurf/{draft_id}/pruefen").headers["Location"])


def test_two_managing_persons_given_once_reach_the_gewerbeamt_with_every_sub_field(app, client, login_as):
    login_as("anna.becker")
    overview = _two_persons(client, {**PLANS, "ausbilden": "no", "handwerk_anlage": "a"})
    shown = complete_services(client, overview)
    gewerbe_steps = next(s for s in shown.values() if "taetigkeit" in s)
    assert "personen" not in gewerbe_steps  # the persons were not asked again
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert Worker(app).run_once() == 3  # Gewerbeamt + copy to the HWK, Handwerksrolle
    with app.app_context():
        received = {(i.service_key, i.destination_role): i.data for i in db.session.scalars(select(InboxItem))}
    assert received[("gewerbeanmeldung", "primary")]["personen"] == FILED_PERSONS
    assert received[("gewerbeanmeldung", "copy")]["personen"] == FILED_PERSONS
    # the Betriebsleiter of the Handwerksrolle is someone else's question: not filled from the owners
    assert received[("handwerksrolle-eintragung", "primary")]["betriebsleiter"] == {
        "family_name": "Becker", "given_names": "Anna", "birth_date": "1980-05-17", "birth_place": "Bremen"}


def test_the_chamber_forms_that_ask_for_one_person_or_the_representatives_have_them(client, login_as):
    login_as("anna.becker")
    overview = _two_persons(client, {**PLANS, "ausbilden": "no", "vermittlung_34d": "yes", "handwerk_anlage": "b"})
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeanmeldung", "handwerk-verzeichnis-eintragung", "versicherungsvermittler-34d"}

    # the Verzeichnis asks for the owner or managing director: the first person, given whole by the
    # bundle and so shown, not asked (with the nationality as the state's name)
    resp = client.get(f"/antraege/entwurf/{drafts['handwerk-verzeichnis-eintragung']}/pruefen")
    assert path_of(resp.headers["Location"]).endswith("/personen")  # the business step needs nothing more
    html = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert 'name="inhaber-family_name"' not in html
    assert "Becker, Anna, Bremen, Deutschland, geboren am 17.05.1980" in html

    # § 34d: a GmbH names all its legal representatives
    draft = drafts["versicherungsvermittler-34d"]
    step = f"/antraege/entwurf/{draft}/angaben"
    html = client.get(step).get_data(as_text=True)
    answers = versicherungsvermittler_answers(antragsteller_art="juristische_person")
    resp = client.post(step, data={**form_values(html), **{k: v for k, v in answers.items()
                                                          if f'name="{k}"' in html and k not in BUSINESS},
                                   "action": "next"})
    assert path_of(resp.headers["Location"]).endswith("/vertretung")
    values = form_values(client.get(f"/antraege/entwurf/{draft}/vertretung").get_data(as_text=True))
    assert [(values[f"vertretungsberechtigte-{i}-family_name"], values[f"vertretungsberechtigte-{i}-given_names"],
             values[f"vertretungsberechtigte-{i}-birth_date"], values[f"vertretungsberechtigte-{i}-birth_place"])
            for i in (0, 1)] == [("Becker", "Anna", "1980-05-17", "Bremen"),
                                 ("Demir", "Yusuf Can", "1979-02-11", "Izmir")]
    assert "vertretungsberechtigte-2-family_name" not in values


#: what the Verzeichnis still needs beyond the bundle's answers (a cleaning business, Anlage B1)
VERZEICHNIS = {"email": "anna.becker@becker-elektro.example", "anlage": "b1", "gewerbe": "Gebäudereiniger",
               "taetigkeit": "Reinigung von Photovoltaikanlagen und Fassaden", **HWK_FORM}


def test_the_chamber_receives_the_owners_nationality_and_the_gewerbeamt_the_number_of_representatives(
        app, client, login_as):
    """The bundle asks the nationality as a country; the Verzeichnis (Anlage B HwO) takes it as
    text: the chamber receives the state's name. GewA field 12 (number of legal representatives)
    is the number of persons the bundle gives as such, not asked again."""
    login_as("anna.becker")
    overview = _two_persons(client, {**PLANS, "ausbilden": "no", "handwerk_anlage": "b"})
    drafts = service_drafts(client, overview)
    step = f"/antraege/entwurf/{drafts['gewerbeanmeldung']}/betrieb"
    complete_draft(client, drafts["gewerbeanmeldung"], {**SERVICE_ANSWERS, "zahl_vertreter": "1"})
    html = client.get(step).get_data(as_text=True)
    assert 'name="zahl_vertreter"' not in html
    assert given_values(html)["zahl_vertreter"] == "2"
    complete_draft(client, drafts["handwerk-verzeichnis-eintragung"], VERZEICHNIS,
                   {"gewerbeanmeldung": "Gewerbeanmeldung.pdf"})
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    Worker(app).run_once()
    with app.app_context():
        received = {(i.service_key, i.destination_role): i.data for i in db.session.scalars(select(InboxItem))}
    assert received[("handwerk-verzeichnis-eintragung", "primary")]["inhaber"] == {
        "family_name": "Becker", "given_names": "Anna", "birth_date": "1980-05-17", "birth_place": "Bremen",
        "nationality": "Deutschland"}
    assert received[("gewerbeanmeldung", "primary")]["zahl_vertreter"] == 2


def test_other_persons_in_a_service_draft_are_refused_on_its_step_and_at_submit(app, client, login_as):
    login_as("anna.becker")
    overview = _two_persons(client, {**PLANS, "ausbilden": "no", "handwerk_anlage": "a"})
    complete_services(client, overview)
    drafts = service_drafts(client, overview)
    step = f"/antraege/entwurf/{drafts['gewerbeanmeldung']}/personen"
    html = client.get(step).get_data(as_text=True)
    assert form_values(html)["personen-1-vornamen"] == "Yusuf Can"
    resp = client.post(step, data={**form_values(html), "personen-1-vornamen": "Yusuf", "action": "next"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "widerspricht Ihrem Vorhaben „Betrieb gründen“: dort gilt „Yusuf Can“" in page
    assert 'id="personen-1-vornamen-error"' in page  # at the sub-field that differs
    resp = client.post(step, data={**form_values(html), "personen-1-geburtsdatum": "1979-02-12", "action": "next"})
    assert "dort gilt „11.02.1979“" in resp.get_data(as_text=True)  # a date as the page writes dates
    one = {k: v for k, v in form_values(html).items() if not k.startswith("personen-1-")}
    resp = client.post(step, data={**one, "action": "next"})
    assert resp.status_code == 422
    assert "dort sind 2 Einträge angegeben" in resp.get_data(as_text=True)
    assert client.post(step, data={**form_values(html), "action": "next"}).status_code == 302  # as the bundle says

    review = client.get(f"{overview}/pruefen")
    assert review.status_code == 200
    with app.app_context():  # a draft saved otherwise (before this check, or behind the page's back)
        draft = db.session.get(Draft, uuid.UUID(drafts["gewerbeanmeldung"]))
        draft.data = {**draft.data, "personen": draft.data["personen"][:1]}
        db.session.commit()
    resp = client.post(f"{overview}/pruefen", data={"csrf_token": csrf_token(review.get_data(as_text=True)),
                                                     "declaration": "y"})
    assert resp.status_code == 302
    html = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert "„Gewerbeanmeldung“, Angabe „Angaben zur Person“: Ihre Antwort widerspricht" in html
    with app.app_context():
        assert db.session.scalar(select(Filing.id)) is None


def _completed(app, draft_id: str) -> list[str]:
    with app.app_context():
        return list(db.session.get(Draft, uuid.UUID(draft_id)).completed_steps)


def _answer_again(client, overview: str, step: str, answers: dict) -> None:
    """Go back to a question of the bundle, change it and answer on to the overview."""
    bundle_draft = overview.rsplit("/", 1)[-1]
    fill(client, f"/antraege/entwurf/{bundle_draft}/{step}", answers)


def test_a_changed_bundle_answer_opens_the_service_steps_it_touches_again(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    drafts = service_drafts(client, overview)
    gewerbe = drafts["gewerbeanmeldung"]
    shown = complete_draft(client, gewerbe, SERVICE_ANSWERS)
    assert "betriebsart" in shown
    assert "handwerk_angaben" not in shown  # "Handwerkskarte: Nein" while the Handwerksrolle entry is filed

    # not a craft after all: the Handwerk question changes what the Gewerbeanmeldung says on the
    # step "Art des Betriebs", which the founder answered: it is open again
    _answer_again(client, overview, "vorhaben", {"handwerk": "no"})
    assert "betriebsart" not in _completed(app, gewerbe)
    resp = client.get(f"/antraege/entwurf/{gewerbe}/pruefen")
    assert path_of(resp.headers["Location"]).endswith("/betriebsart")
    assert complete_draft(client, gewerbe, {**SERVICE_ANSWERS, "sonstiges": "yes"}) == ["betriebsart"]

    # a craft again: the craft card step shows again, answered by the bundle again (the
    # Handwerksrolle entry is filed with it); the kind of business is open again
    _answer_again(client, overview, "vorhaben", {"handwerk": "yes", "handwerk_anlage": "a",
                                                "betriebsleitung": PLANS["betriebsleitung"],
                                                "gewerk": PLANS["gewerk"]})
    completed = _completed(app, gewerbe)
    assert "betriebsart" not in completed and "handwerk_angaben" in completed
    assert complete_draft(client, gewerbe, SERVICE_ANSWERS) == ["betriebsart"]

    # a second managing director later: the persons step is the bundle's whole, done with both
    bundle_draft = overview.rsplit("/", 1)[-1]
    step = f"/antraege/entwurf/{bundle_draft}/personen"
    client.post(step, data={**form_values(client.get(step).get_data(as_text=True)), "action": "add:personen"})
    html = client.get(step).get_data(as_text=True)
    resp = client.post(step, data={**form_values(html), **SECOND, "action": "next"})
    assert resp.status_code == 302
    press(client, overview)
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(gewerbe))
        assert [p["familienname"] for p in draft.data["personen"]] == ["Becker", "Demir"]
        assert "personen" in draft.completed_steps
        assert draft.data["zahl_vertreter"] == 2  # GewA field 12, counted from the persons
    # the number of legal representatives the bundle gives changed: its step is shown again
    resp = client.get(f"/antraege/entwurf/{gewerbe}/pruefen")
    assert path_of(resp.headers["Location"]).endswith("/betrieb")
    assert complete_draft(client, gewerbe, SERVICE_ANSWERS) == ["betrieb"]
    resp = client.get(f"/antraege/entwurf/{gewerbe}/pruefen")
    assert path_of(resp.headers["Location"]) == overview  # nothing else of it is open


def test_a_service_no_longer_called_for_is_not_filed(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    complete_services(client, overview)
    assert "Berufsausbildungsvertrag" in client.get(overview).get_data(as_text=True)
    _answer_again(client, overview, "vorhaben", {"ausbilden": "no"})
    html = press(client, overview)
    assert "Berufsausbildungsvertrag" not in html
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with app.app_context():
        record = db.session.scalar(select(FilingBundle))
        assert sorted(f.service_key for f in record.filings) == ["gewerbeanmeldung", "handwerksrolle-eintragung"]
        assert db.session.scalar(select(Draft.id)) is None  # the training contract's draft went with the rest


#: the manager of the establishment, added in the Gewerbeanmeldung as its third person: a role the
#: founding bundle does not ask for (its persons are the owners or legal representatives)
MANAGER = {k.replace("personen-1-", "personen-2-"): v for k, v in SECOND.items() if "aufenthaltstitel" not in k}
MANAGER.update({"personen-2-funktion": "betriebsleiter", "personen-2-familienname": "Wolff",
                "personen-2-vornamen": "Jan", "personen-2-staatsangehoerigkeit": "DE",
                "personen-2-geburtsland": "DE", "personen-2-weitere_staatsangehoerigkeit": ""})


def test_a_manager_added_in_the_gewerbeanmeldung_is_the_companys_own_and_is_filed(app, client, login_as):
    login_as("anna.becker")
    overview = _two_persons(client, {**PLANS, "ausbilden": "no", "handwerk_anlage": "a"})
    complete_services(client, overview)
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    step = f"/antraege/entwurf/{gewerbe}/personen"
    html = client.get(step).get_data(as_text=True)
    assert client.post(step, data={**form_values(html), "action": "add:personen"}).status_code == 302
    html = client.get(step).get_data(as_text=True)
    resp = client.post(step, data={**form_values(html), **MANAGER, "action": "next"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]  # no contradiction with the bundle

    # a changed bundle answer writes the bundle's persons again: the manager stays, after them
    _answer_again(client, overview, "vorhaben", {"ausbilden": "no"})
    with app.app_context():
        persons = db.session.get(Draft, uuid.UUID(gewerbe)).data["personen"]
    assert [(p["funktion"], p["familienname"]) for p in persons] == [
        ("vertreter", "Becker"), ("vertreter", "Demir"), ("betriebsleiter", "Wolff")]

    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    Worker(app).run_once()
    with app.app_context():
        filed = db.session.scalar(select(InboxItem.data).where(InboxItem.service_key == "gewerbeanmeldung",
                                                               InboxItem.destination_role == "primary"))
    # posted through the service's form, the entries carry its optional sub-fields too (empty)
    assert [{k: v for k, v in p.items() if v is not None} for p in filed["personen"][:2]] == [
        {k: v for k, v in p.items() if v is not None} for p in FILED_PERSONS]
    assert (filed["personen"][2]["funktion"], filed["personen"][2]["familienname"]) == ("betriebsleiter", "Wolff")


def test_a_person_removed_from_the_bundle_leaves_the_service_but_the_own_manager_stays(app, client, login_as):
    from bizportal.filings import bundles as bundle_use_cases
    from bizportal.filings.models import Draft as DraftRow

    login_as("anna.becker")
    overview = _two_persons(client, {**PLANS, "ausbilden": "no", "handwerk_anlage": "a"})
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    bundle_draft = uuid.UUID(overview.rsplit("/", 1)[-1])
    with app.app_context():
        draft = db.session.get(DraftRow, uuid.UUID(gewerbe))
        manager = {**draft.data["personen"][1], "funktion": "betriebsleiter", "familienname": "Wolff"}
        draft.data = {**draft.data, "personen": [*draft.data["personen"], manager]}
        parent = db.session.get(DraftRow, bundle_draft)
        parent.data = {**parent.data, "personen": parent.data["personen"][:1]}  # Demir left the business
        db.session.commit()
        portal = app.extensions["bizportal"]
        bundle = portal.bundles["betrieb-gruenden"]
        # the persons, and the number of legal representatives counted from them (GewA field 12)
        assert bundle.contradictions("gewerbeanmeldung", parent.data, draft.data) == ["personen", "zahl_vertreter"]
        person = db.session.get(type(parent.created_by), parent.created_by_id)
        bundle_use_cases.prepare_services(parent, person, bundle, portal.catalog, lambda _service: {})
        after = db.session.get(DraftRow, uuid.UUID(gewerbe)).data
        assert [(p["funktion"], p["familienname"]) for p in after["personen"]] == [("vertreter", "Becker"),
                                                                                   ("betriebsleiter", "Wolff")]
        assert bundle.contradictions("gewerbeanmeldung", parent.data, after) == []


def test_a_service_step_marks_the_bundles_answers_as_coming_from_the_bundle(client, login_as):
    """New-user trial: the Gewerbeanmeldung's owner step showed the business name the founder gave in
    the bundle with the badge "aus Ihrem Unternehmenskonto"."""
    login_as("anna.becker")
    overview = _two_persons(client, {**PLANS, "ausbilden": "no", "handwerk_anlage": "a"})
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    html = client.get(f"/antraege/entwurf/{gewerbe}/inhaber").get_data(as_text=True)
    assert 'id="business_name-prefilled"' in html
    badge = html.split('id="business_name-prefilled"', 1)[1].split("</span></span>", 1)[0]
    assert "aus Ihrem Vorhaben" in badge and "Unternehmenskonto" not in badge
    assert "Angaben aus Ihrem Vorhaben „Betrieb gründen“ sind bereits eingetragen" in html
