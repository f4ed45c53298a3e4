"""A fourth new-user trial of the life-event bundles (issue 16): "Wer betreibt das Gewerbe?" left on
"Bitte auswählen" although the account's legal form (GmbH) tells; the Handwerksrolle's "Stellung der
Betriebsleiterin" asked again of a company's managing director who leads the craft as a master;
absurd dates (a founding in 1901, a Meisterprüfung before the master was born) accepted and carried
into the filings. Each over HTTP, as a founder meets it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from babel.dates import format_date

from bizportal.auth.models import Company
from bizportal.catalog.loader import DefinitionError, parse_definition
from bizportal.catalog.models import years_later
from bizportal.common.legal_forms import owner_kind
from bizportal.extensions import db
from bizportal.filings.forms import check_message
from tests.support.bundles import (
    HWK_FORM,
    PLANS,
    SHARED,
    answer_questionnaire,
    errors_on,
    fill,
    form_values,
    given_values,
    post_shown_step,
    service_drafts,
    start_bundle,
)
from tests.support.filing import TEST_PDF, EveryStep, gewerbe_answers, path_of, post_step, start_draft
from tests.support.handwerk import MEISTERPRUEFUNG, betriebsleitung

BUNDLES = ("betrieb-gruenden", "betrieb-uebernehmen", "betrieb-verlegen-aufgeben")
#: the bundles that found a business or take one over, with what the takeover asks besides
STARTING = [("betrieb-gruenden", {}),
            ("betrieb-uebernehmen", {"uebernahme_art": "pacht", "frueherer_inhaber": "Elektro Meier e. K."})]


# --- 1. "Wer betreibt das Gewerbe?" from the account's legal form -------------------------------------

def _owner_select(html: str) -> str:
    """The markup of the field "inhaber_art" up to its select's end."""
    return html.split('for="inhaber_art"', 1)[1].split("</select>", 1)[0]


@pytest.mark.parametrize("key", BUNDLES)
@pytest.mark.parametrize(("login", "kind"), [("anna.becker", "juristische_person"),
                                             ("lea.hansen", "natuerliche_person")])
def test_who_runs_the_business_starts_answered_from_the_accounts_legal_form(client, login_as, key, login, kind):
    login_as(login)  # Becker Elektrotechnik GmbH; Hansen Versicherungsmakler e. K.
    first = start_bundle(client, key)
    fill(client, first, {"vorhaben": "verlegen_anderswo"}, stop_at="betrieb")  # the move asks its kind first
    html = client.get(first.rsplit("/", 1)[0] + "/betrieb").get_data(as_text=True)
    assert form_values(html)["inhaber_art"] == kind
    assert 'id="inhaber_art-prefilled"' in _owner_select(html)  # marked as the account's, as the name is


@pytest.mark.parametrize("service", ["gewerbeanmeldung", "gewerbeummeldung", "gewerbeabmeldung"])
def test_the_single_gewerbeanzeige_starts_with_who_runs_the_business_answered(client, login_as, service):
    login_as("anna.becker")
    draft = start_draft(client, service).rsplit("/", 1)[0]
    html = client.get(f"{draft}/inhaber").get_data(as_text=True)
    assert form_values(html)["inhaber_art"] == "juristische_person"
    assert 'id="inhaber_art-prefilled"' in _owner_select(html)


@pytest.mark.parametrize(("legal_form", "kind"), [
    ("GmbH", "juristische_person"), ("UG (haftungsbeschränkt)", "juristische_person"), ("AG", "juristische_person"),
    ("eG", "juristische_person"), ("e. V.", "juristische_person"), ("GbR", "personengesellschaft"),
    ("OHG", "personengesellschaft"), ("KG", "personengesellschaft"), ("GmbH & Co. KG", "personengesellschaft"),
    ("PartG mbB", "personengesellschaft"), ("e. K.", "natuerliche_person"), ("e.Kfr.", "natuerliche_person"),
    ("Einzelunternehmen", "natuerliche_person"), ("Freie Berufe", None), ("", None), (None, None),
])
def test_the_legal_form_tells_who_runs_the_business_only_where_it_determines_it(legal_form, kind):
    assert owner_kind(legal_form) == kind


def test_a_legal_form_that_does_not_tell_leaves_the_question_open(app, client, login_as):
    login_as("anna.becker")
    with app.app_context():
        for company in db.session.query(Company).all():
            company.legal_form = "Freie Berufe"
            company.reviewed_fingerprint = company.provider_fingerprint()  # the change reviewed
        db.session.commit()
    html = client.get(start_bundle(client, "betrieb-gruenden")).get_data(as_text=True)
    assert 'name="inhaber_art"' in html and not form_values(html).get("inhaber_art")  # "Bitte auswählen"
    assert 'id="inhaber_art-prefilled"' not in html


# --- 2. the Betriebsleiterin's position follows from who runs the business -------------------------

#: the first person leads the craft (Anlage A) as a master; her examination is given in the plan
MASTER_LEADS = {**PLANS, "handwerk_anlage": "a", "ausbilden": "no", "betriebsleitung": "erste_person_meister",
                **{k: v for k, v in MEISTERPRUEFUNG.items() if k != "qualification"}}



def _at_betriebsleitung(client, overview: str) -> str:
    """The Handwerksrolle's draft of the bundle, answered up to its step "Betriebsleitung"."""
    rolle = service_drafts(client, overview)["handwerksrolle-eintragung"]
    first = client.get(f"/antraege/entwurf/{rolle}/pruefen")
    fill(client, path_of(first.headers["Location"]), {"trade": "elektrotechniker", **HWK_FORM},
         stop_at="betriebsleitung")
    return rolle


@pytest.mark.parametrize(("key", "extra"), STARTING)
@pytest.mark.parametrize(("owner", "funktion", "legal_form", "shown"), [
    ("juristische_person", "vertreter", "GmbH", "Geschäftsführerin oder Geschäftsführer"),
    ("personengesellschaft", "gesellschafter", "GbR", "Persönlich haftende Gesellschafterin"),
    ("juristische_person", "vertreter", "UG (haftungsbeschränkt)", "Geschäftsführerin oder Geschäftsführer"),
    ("juristische_person", "vertreter", "AG", "Mitglied des Vorstands"),
])
def test_the_managers_position_follows_for_a_company_led_by_its_first_person(client, login_as, key, extra, owner,
                                                                             funktion, legal_form, shown):
    login_as("anna.becker")
    overview = answer_questionnaire(client, key, {
        **SHARED, **extra, "inhaber_art": owner, "legal_form": legal_form, "personen-0-funktion": funktion,
        **MASTER_LEADS})
    rolle = _at_betriebsleitung(client, overview)
    page = client.get(f"/antraege/entwurf/{rolle}/betriebsleitung").get_data(as_text=True)
    assert 'name="betriebsleiter_stellung"' not in page  # not asked again
    assert given_values(page)["betriebsleiter_stellung"].startswith(shown)


@pytest.mark.parametrize(("owner", "funktion", "legal_form"), [
    ("personengesellschaft", "gesellschafter", "GmbH & Co. KG"),  # the partner is a GmbH: her position there?
    ("juristische_person", "vertreter", "SE"),  # a board or a managing director
])
def test_the_managers_position_is_asked_where_the_legal_form_does_not_tell_it(client, login_as, owner, funktion,
                                                                              legal_form):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {
        **SHARED, "inhaber_art": owner, "legal_form": legal_form, "personen-0-funktion": funktion, **MASTER_LEADS})
    rolle = _at_betriebsleitung(client, overview)
    page = client.get(f"/antraege/entwurf/{rolle}/betriebsleitung").get_data(as_text=True)
    assert 'name="betriebsleiter_stellung"' in page


def _with_legal_form_condition(forms: list[str]) -> dict:
    label = {"de": "L", "en": "L"}
    return {
        "key": "probe", "kind": "registration", "title": label, "summary": label, "competent_body": label,
        "legal_basis": "x", "routing": [{"kind": "IHK"}],
        "steps": [{"key": "angaben", "title": label}, {"key": "leitung", "title": label}],
        "fields": [{"name": "rechtsform", "type": "text", "step": "angaben", "label": label},
                   {"name": "stellung", "type": "text", "step": "leitung", "label": label,
                    "show_if": {"field": "rechtsform", "legal_form_in": forms}}]}


def test_a_legal_form_condition_names_only_known_legal_forms():
    with pytest.raises(DefinitionError) as failure:
        parse_definition(_with_legal_form_condition(["GmbH", "GmhB"]), "broken.toml")
    assert "broken.toml" in str(failure.value) and "GmhB" in str(failure.value)
    shown = parse_definition(_with_legal_form_condition(["GmbH", "UG (haftungsbeschränkt)"]), "fine.toml")
    stellung = next(fd for fd in shown.fields if fd.name == "stellung")
    assert stellung.show_if is not None
    assert [stellung.show_if.holds({"rechtsform": form}) for form in ("G.m.b.H.", "gmbh", "UG (haftungsbeschraenkt)",
                                                                      "GmbH & Co. KG", "", None)] == \
        [True, True, True, False, False, False]


def test_the_managers_position_is_asked_when_another_person_leads(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a",
                                                                 "ausbilden": "no", "betriebsleitung": "andere_person"})
    rolle = _at_betriebsleitung(client, overview)
    page = client.get(f"/antraege/entwurf/{rolle}/betriebsleitung").get_data(as_text=True)
    assert 'name="betriebsleiter_stellung"' in page


# --- 3. plausible dates ----------------------------------------------------------------------------

#: Anna Becker, born 14.03.1985, leads the craft as a master
BORN_1985 = {**SHARED, "personen-0-geburtsdatum": "1985-03-14"}


def _plans_step(client, key: str = "betrieb-gruenden", extra: dict | None = None) -> str:
    """The bundle's questionnaire answered up to "Ihr Vorhaben"; that step's path."""
    first = start_bundle(client, key)
    fill(client, first, {**BORN_1985, **(extra or {}), **PLANS}, stop_at="vorhaben")
    return first.rsplit("/", 1)[0] + "/vorhaben"


def _refused(resp, field: str, *words: str) -> None:
    assert resp.status_code == 422, resp.headers.get("Location")
    html = resp.get_data(as_text=True)
    message = html.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    for word in words:
        assert word in message, (word, message)
    assert f'href="#{field}"' in html  # the error summary leads to the field


@pytest.mark.parametrize(("key", "extra"), STARTING)
def test_a_founding_more_than_three_years_back_is_refused_with_the_rule(client, login_as, key, extra):
    login_as("anna.becker")
    path = _plans_step(client, key, extra)
    _refused(post_shown_step(client, path, {**PLANS, "start_date": "1901-01-01"}), "start_date",
             "höchstens 3 Jahre", "Tippfehler")
    earliest = years_later(date.today(), -3)
    _refused(post_shown_step(client, path, {**PLANS, "start_date": (earliest - timedelta(days=1)).isoformat()}),
             "start_date", format_date(earliest, "medium", locale="de"))
    # a late notice within three years, and a start ahead, pass
    for day in (earliest, date.today() - timedelta(days=200), date(2027, 3, 1)):
        assert post_shown_step(client, path, {**PLANS, "start_date": day.isoformat()}).status_code == 302, day


def test_a_business_cannot_start_before_each_of_its_persons_is_14(client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-gruenden")
    young = {**BORN_1985, "personen-1-funktion": "vertreter", "personen-1-familienname": "Becker",
             "personen-1-vornamen": "Lina", "personen-1-geschlecht": "weiblich",
             "personen-1-geburtsdatum": "2014-09-01",
             "personen-1-geburtsort": "Bremen", "personen-1-geburtsland": "DE", "personen-1-staatsangehoerigkeit": "DE",
             "personen-1-anschrift-street": "Parkallee 5", "personen-1-anschrift-postcode": "28209",
             "personen-1-anschrift-city": "Bremen"}
    fill(client, first, young, stop_at="personen")
    persons = first.rsplit("/", 1)[0] + "/personen"
    assert post_shown_step(client, persons, young, action="add:personen").status_code == 302
    assert post_shown_step(client, persons, young).status_code == 302
    fill(client, persons.rsplit("/", 1)[0] + "/taetigkeit", PLANS, stop_at="vorhaben")
    path = first.rsplit("/", 1)[0] + "/vorhaben"
    _refused(post_shown_step(client, path, {**PLANS, "start_date": "2027-03-01"}), "start_date",
             "14 Jahre", "01.09.2028")
    assert post_shown_step(client, path, {**PLANS, "start_date": "2028-09-01"}).status_code == 302


@pytest.mark.parametrize(("key", "extra"), STARTING)
def test_a_meisterpruefung_before_the_masters_14th_birthday_is_refused(client, login_as, key, extra):
    login_as("anna.becker")
    first = start_bundle(client, key)
    plans = {**MASTER_LEADS, "start_date": "2027-03-01"}
    fill(client, first, {**BORN_1985, **extra, **plans}, stop_at="meisterpruefung")
    path = first.rsplit("/", 1)[0] + "/meisterpruefung"
    _refused(post_shown_step(client, path, {**plans, "pruefung_datum": "1980-06-01"}), "pruefung_datum",
             "14. Geburtstag", "14.03.1999")
    _refused(post_shown_step(client, path, {**plans, "pruefung_datum": "1999-03-13"}), "pruefung_datum")
    assert post_shown_step(client, path, {**plans, "pruefung_datum": "2009-06-26"}).status_code == 302


def _rolle_answers() -> EveryStep:
    """The single Handwerksrolle of a new electrician's business led by its managing director, born 14.03.1985."""
    return EveryStep({
        "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH", "street": "Schloßmühlendamm 4",
        "postcode": "21073", "city": "Hamburg", "trade": "elektrotechniker", "start_date": "2027-06-01",
        "gruendungsart": "neugruendung", "registereintrag": "yes", "existenzgruender": "no", "filialen": "no",
        **betriebsleitung("geschaeftsfuehrer", "Becker", "Anna", "1985-03-14", "Bremen"), **MEISTERPRUEFUNG,
        "fruehere_selbstaendigkeit": "no", "einwilligung_weitergabe": "no", "einwilligung_suchmaschine": "no",
        "einwilligung_handwerktest": "no", "keine_gewerbeuntersagung": "yes"})


def _to_step(client, service: str, every: EveryStep, step: str) -> str:
    """The single service's draft, its steps posted with ``every`` up to ``step``; that step's path."""
    path = start_draft(client, service)
    for _ in range(40):
        if path.rsplit("/", 1)[-1] == step:
            return path
        resp = post_step(client, path, every, files={"qualifikationsnachweis": (TEST_PDF, "Meisterbrief.pdf"),
                                                     "handwerkskarte": (TEST_PDF, "Karte.pdf")})
        assert resp.status_code == 302, (path, errors_on(resp.get_data(as_text=True)))
        path = path_of(resp.headers["Location"])
    raise AssertionError(f"step {step} not reached")


def test_the_single_handwerksrolle_refuses_an_examination_before_the_managers_14th_birthday(client, login_as):
    login_as("anna.becker")
    every = _rolle_answers()
    path = _to_step(client, "handwerksrolle-eintragung", every, "pruefung")
    resp = post_step(client, path, {**every, "pruefung_datum": "1980-06-01"})
    _refused(resp, "pruefung_datum", "14. Geburtstag", "14.03.1999")
    assert post_step(client, path, {**every, "pruefung_datum": "2009-06-26"}).status_code == 302


def test_the_single_gewerbeanmeldung_refuses_a_start_more_than_three_years_back(client, login_as):
    login_as("anna.becker")
    every = EveryStep({**gewerbe_answers(), "start_date": "1901-01-01"})
    path = _to_step(client, "gewerbeanmeldung", every, "taetigkeit")
    _refused(post_step(client, path, every), "start_date", "höchstens 3 Jahre")
    assert post_step(client, path, {**every, "start_date": "2027-03-01"}).status_code == 302


def test_the_date_messages_are_given_in_english(app):
    catalog = app.extensions["bizportal"].catalog
    check = next(c for c in catalog["handwerksrolle-eintragung"].checks if c.rule == "not_before_age")
    problem = check.problem({"betriebsleiter": {"birth_date": "1985-03-14"}, "pruefung_datum": "1980-06-01"})
    with app.test_request_context():
        text = check_message(check.message, problem, "en")
    assert "before the technical manager's 14th birthday" in text and "1999" in text


@pytest.mark.parametrize(("check", "problem"), [
    ({"rule": "not_older_than", "field": "beginn"}, "needs a limit"),
    ({"rule": "not_older_than", "field": "beginn", "limit": 2.5}, "whole number of years"),
    ({"rule": "not_older_than", "field": "tage", "limit": 3}, "must name a date field"),
    ({"rule": "not_older_than", "field": "beginn", "other": "ende", "limit": 3}, "compares with no other answer"),
    ({"rule": "not_before_age", "field": "beginn", "other": "tage", "limit": 14}, "date, person or group"),
    ({"rule": "not_before_age", "field": "beginn", "other": "personen", "limit": 14}, "must be a non-empty string"),
    ({"rule": "not_before_age", "field": "beginn", "other": "personen", "item": "name", "limit": 14},
     "no date field named 'name'"),
    ({"rule": "not_before_age", "field": "beginn", "other": "ende", "item": "geboren", "limit": 14},
     "only a not_before_age check reading a group"),
    ({"rule": "not_before_age", "field": "beginn", "other": "personen", "item": "geboren", "first": "ja",
      "limit": 14}, "true or false"),
    ({"rule": "at_least", "field": "tage", "limit": 3, "first": True}, "only a not_before_age"),
])
def test_a_broken_date_check_stops_the_definition_naming_file_and_field(check, problem):
    label = {"de": "L", "en": "L"}
    definition = {
        "key": "probe", "kind": "registration", "title": label, "summary": label, "competent_body": label,
        "legal_basis": "x", "routing": [{"kind": "IHK"}], "steps": [{"key": "angaben", "title": label}],
        "fields": [{"name": "beginn", "type": "date", "label": label}, {"name": "ende", "type": "date", "label": label},
                   {"name": "tage", "type": "number", "label": label},
                   {"name": "personen", "type": "group", "label": label, "fields": [
                       {"name": "name", "type": "text", "label": label},
                       {"name": "geboren", "type": "date", "label": label}]}],
        "checks": [{**check, "message": {"de": "M {date}", "en": "M {limit}"}}]}
    with pytest.raises(DefinitionError, match=rf"^probe\.toml: field 'checks\[0\]\.\w+': .*{problem}"):
        parse_definition(definition, "probe.toml")


def test_a_prefill_of_who_runs_the_business_needs_its_choices():
    label = {"de": "L", "en": "L"}
    definition = {
        "key": "probe", "kind": "registration", "title": label, "summary": label, "competent_body": label,
        "legal_basis": "x", "routing": [{"kind": "IHK"}],
        "fields": [{"name": "art", "type": "choice", "label": label, "prefill": "company.owner_kind",
                    "choices": [{"value": "natuerliche_person", "label": label}, {"value": "andere", "label": label}]}]}
    with pytest.raises(DefinitionError, match=r"probe\.toml: field 'fields\.art\.prefill'.*juristische_person"):
        parse_definition(definition, "probe.toml")


@pytest.mark.parametrize(("field", "problem"), [
    ({"type": "text", "prefill": "company.in_register"}, "prefills a yes/no field"),
    ({"type": "choice", "prefill": "company.owner_function",
      "choices": [{"value": "inhaber", "label": {"de": "L", "en": "L"}},
                  {"value": "andere", "label": {"de": "L", "en": "L"}}]}, "gesellschafter, inhaber, vertreter"),
])
def test_a_prefill_of_what_the_legal_form_tells_needs_a_field_that_takes_it(field, problem):
    label = {"de": "L", "en": "L"}
    definition = {
        "key": "probe", "kind": "registration", "title": label, "summary": label, "competent_body": label,
        "legal_basis": "x", "routing": [{"kind": "IHK"}], "fields": [{"name": "art", "label": label, **field}]}
    with pytest.raises(DefinitionError, match=r"probe\.toml: field 'fields\.art\.prefill'.*" + problem):
        parse_definition(definition, "probe.toml")


def test_a_person_added_later_reopens_the_plans_only_when_the_start_is_now_refused(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**BORN_1985, **PLANS, "handwerk": "no",
                                                                 "ausbilden": "no"})
    draft = overview.rsplit("/", 1)[-1]
    persons = f"/antraege/entwurf/{draft}/personen"
    second = {"personen-1-funktion": "vertreter", "personen-1-familienname": "Becker", "personen-1-vornamen": "Lina",
              "personen-1-geschlecht": "weiblich", "personen-1-geburtsort": "Bremen", "personen-1-geburtsland": "DE",
              "personen-1-staatsangehoerigkeit": "DE", "personen-1-anschrift-street": "Parkallee 5",
              "personen-1-anschrift-postcode": "28209", "personen-1-anschrift-city": "Bremen"}
    assert post_shown_step(client, persons, {}, action="add:personen").status_code == 302
    # an adult: the plans stay done
    assert post_shown_step(client, persons, {**second, "personen-1-geburtsdatum": "1990-01-01"}).status_code == 302
    assert client.get(overview).status_code == 200
    # a child of 12 at the start: the plans are open again, and refuse the start
    assert post_shown_step(client, persons, {**second, "personen-1-geburtsdatum": "2014-09-01"}).status_code == 302
    assert path_of(client.get(overview).headers["Location"]).endswith("/vorhaben")
    _refused(post_shown_step(client, f"/antraege/entwurf/{draft}/vorhaben", {}), "start_date", "01.09.2028")
