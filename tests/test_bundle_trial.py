"""What a new user's trial of the life-event bundles found (issue 16): why a service is open
again after a change in the bundle, counts in the right grammatical number, no nagging hint on a
first visit, the business premises on the bundle's receipt, nothing offered for submit when every
service was left out, no birth date in the future, one English word for "Vorhaben"."""

from __future__ import annotations

import html as html_lib
import io
import re
import tomllib
import uuid
from pathlib import Path

from babel.messages.pofile import read_po
from pypdf import PdfReader

from bizportal.catalog import queries as catalog
from bizportal.extensions import db
from bizportal.filings.models import Draft
from tests.support.bundles import (
    AUSBILDUNG,
    CHILD_ANSWERS,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    completion_links,
    fill,
    form_values,
    press,
    service_drafts,
    submit,
)
from tests.support.filing import path_of
from tests.support.http import csrf_token

SERVICE_ANSWERS = {k: v for k, v in CHILD_ANSWERS.items() if not k.startswith("personen-")}
CATALOG = Path(__file__).resolve().parent.parent / "bizportal" / "catalog"


def _answer_again(client, overview: str, step: str, answers: dict) -> None:
    bundle_draft = overview.rsplit("/", 1)[-1]
    fill(client, f"/antraege/entwurf/{bundle_draft}/{step}", answers)


def _step_title(app, service_key: str, step_key: str) -> str:
    with app.app_context():
        return next(s.title.de for s in catalog.get_service(service_key).steps if s.key == step_key)


def test_the_overview_says_which_steps_a_change_in_the_bundle_opened_again_until_they_are_done(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    complete_draft(client, gewerbe, SERVICE_ANSWERS)
    assert "wieder offen" not in client.get(overview).get_data(as_text=True)

    _answer_again(client, overview, "vorhaben", {"handwerk": "no"})  # not a craft after all
    html = client.get(overview).get_data(as_text=True)
    said = re.search(r'id="wieder-offen-gewerbeanmeldung">([^<]*)<', html)
    assert said, html
    title = _step_title(app, "gewerbeanmeldung", "betriebsart")
    assert said.group(1) == (f"Durch Ihre Änderung im Vorhaben ist dieser Schritt wieder offen: „{title}“ – "
                             "bitte prüfen.")
    assert 'id="wieder-offen-handwerksrolle-eintragung"' not in html  # nothing of it was done before
    client.get("/sprache/en")  # English quotation marks around the English step title
    said = re.search(r'id="wieder-offen-gewerbeanmeldung">([^<]*)<', client.get(overview).get_data(as_text=True))
    assert "“Type of business”" in html_lib.unescape(said.group(1)) and "„" not in said.group(1)
    client.get("/sprache/de")

    complete_draft(client, gewerbe, {**SERVICE_ANSWERS, "sonstiges": "yes"})
    html = client.get(overview).get_data(as_text=True)
    assert "wieder offen" not in html
    with app.app_context():
        assert not db.session.get(Draft, uuid.UUID(gewerbe)).reopened_steps


def test_counts_on_bundle_pages_take_the_singular_for_one(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    assert re.search(r"\d+ von \d+ Schritten erledigt", html)  # more than one step: plural
    for link in completion_links(html):
        fill(client, link, CHILD_ANSWERS)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    page = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert ": 1 Antrag. Die Stelle bearbeitet ihn" in page
    assert "1 Anträge" not in page
    client.get("/sprache/en")
    page = client.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert ": 1 filing. The body works on it" in page


def test_one_step_of_one_is_singular_in_german_and_english(app):
    with app.test_request_context():
        from flask_babel import force_locale, ngettext

        text = ("%(done)s von %(num)s Schritt erledigt", "%(done)s von %(num)s Schritten erledigt")
        assert ngettext(*text, 1, done=0) == "0 von 1 Schritt erledigt"
        assert ngettext(*text, 2, done=0) == "0 von 2 Schritten erledigt"
        with force_locale("en"):
            assert ngettext(*text, 1, done=0) == "0 of 1 step done"
            assert ngettext(*text, 3, done=1) == "1 of 3 steps done"


def test_completing_a_service_from_the_overview_opens_its_first_step_without_a_hint(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    html = press(client, overview)
    links = completion_links(html)
    assert len(links) == 3
    page = client.get(links[0])
    assert page.status_code == 200
    assert "Bitte vervollständigen Sie zuerst alle Schritte." not in page.get_data(as_text=True)
    # whoever goes to a draft's review with open steps is told why they are sent to a step
    draft_id = links[0].split("/")[3]
    resp = client.get(f"/antraege/entwurf/{draft_id}/pruefen", follow_redirects=True)
    assert "Bitte vervollständigen Sie zuerst alle Schritte." in resp.get_data(as_text=True)


def test_the_bundle_receipt_gives_the_business_premises_and_labels_the_account_address(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    for link in completion_links(html):
        fill(client, link, CHILD_ANSWERS)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302
    receipt = client.get(f"{path_of(resp.headers['Location'])}/eingangsbestaetigung.pdf")
    # a label longer than its column wraps: read the rows with the line breaks as spaces
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.data)).pages).split())
    assert "Betriebsstätte laut Vorhaben Hafenstraße 7, 28217 Bremen " in text, text
    assert "Anschrift laut Unternehmenskonto Am Wall 120, 28195 Bremen " in text, text
    assert "Anschrift Am Wall" not in text  # the account's address is never the unlabelled one


def test_with_every_service_left_out_the_review_offers_nothing_to_submit(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    press(client, overview, service="gewerbeanmeldung", leave_out="yes")
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    assert 'id="nichts-einzureichen"' in html
    review = client.get(f"{overview}/pruefen")
    assert review.status_code == 200
    page = review.get_data(as_text=True)
    assert "Es würde nichts eingereicht." in page
    assert f'href="{overview}"' in page
    assert "verbindlich einreichen</span></button>" not in page
    assert 'name="declaration"' not in page


def test_an_apprentice_born_in_the_future_is_refused(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    ausbildung = service_drafts(client, overview)["ausbildungsvertrag-eintragung"]
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(ausbildung))
        service = catalog.get_service("ausbildungsvertrag-eintragung")
        step = next(s.key for s in service.steps
                    if any(fd.name == "auszubildende_person" for fd in service.step_fields(s.key)))
        draft.completed_steps = [s.key for s in service.steps[:[s.key for s in service.steps].index(step)]]
        db.session.commit()
    path = f"/antraege/entwurf/{ausbildung}/{step}"
    html = client.get(path).get_data(as_text=True)
    data = {**form_values(html), **{k: v for k, v in AUSBILDUNG.items() if f'name="{k}"' in html},
            "auszubildende_person-birth_date": "2030-01-01", "action": "next"}
    resp = client.post(path, data=data)
    assert resp.status_code == 422
    assert "Ein Geburtsdatum kann nicht in der Zukunft liegen." in resp.get_data(as_text=True)


def test_a_person_of_the_bundle_born_in_the_future_is_refused(client, login_as):
    login_as("anna.becker")
    page = client.get("/vorhaben/betrieb-gruenden")
    resp = client.post("/vorhaben/betrieb-gruenden", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    first = path_of(resp.headers["Location"])
    html = client.get(first).get_data(as_text=True)
    resp = client.post(first, data={**form_values(html), **{k: v for k, v in SHARED.items() if f'name="{k}"' in html},
                                    "action": "next"})
    path = path_of(resp.headers["Location"])
    if path.endswith("/register"):  # where the GmbH is registered
        html = client.get(path).get_data(as_text=True)
        resp = client.post(path, data={**form_values(html), **SHARED, "action": "next"})
        path = path_of(resp.headers["Location"])
    assert path.endswith("/personen")
    html = client.get(path).get_data(as_text=True)
    resp = client.post(path, data={**form_values(html), **{k: v for k, v in SHARED.items() if f'name="{k}"' in html},
                                   "personen-0-geburtsdatum": "2030-01-01", "action": "next"})
    assert resp.status_code == 422
    assert "Ein Geburtsdatum kann nicht in der Zukunft liegen." in resp.get_data(as_text=True)


def test_every_birth_date_field_of_the_catalog_is_marked_as_one():
    """A birth date refuses the future through ``autocomplete = "bday"``: none may lack it."""
    unmarked = []

    def walk(fields, where):
        for fd in fields:
            name = fd.get("name", "")
            if fd.get("type") == "date" and ("geburtsdatum" in name or "birth_date" in name) \
                    and fd.get("autocomplete") != "bday":
                unmarked.append(f"{where}: {name}")
            walk(fd.get("fields", []), where)

    for path in sorted(CATALOG.glob("*/*.toml")):
        walk(tomllib.loads(path.read_text()).get("fields", []), path.name)
    assert unmarked == []


def test_the_english_pages_call_a_vorhaben_a_plan(client, login_as):
    """One English word for "Vorhaben" (it was "undertaking" on some pages, "your plans" on others)."""
    catalog_en = read_po((CATALOG.parent / "translations" / "en" / "LC_MESSAGES" / "messages.po").open("rb"))
    worded = [m.id for m in catalog_en if m.id and "ndertaking" in str(m.string)]
    assert worded == []
    login_as("anna.becker")
    client.get("/sprache/en")
    page = client.get("/vorhaben/betrieb-gruenden").get_data(as_text=True)
    assert "Start plan" in page and "ndertaking" not in page


def test_the_wz_pickers_live_count_has_a_wording_for_one_match(client, login_as):
    """"1 passende Einträge" (trial): the script counting the matches as one types gets the
    singular and the plural from the page, in the page's language."""
    from tests.support.filing import gewerbe_answers
    from tests.support.permits import to_step

    login_as("anna.becker")
    step = to_step(client, "gewerbeanmeldung", gewerbe_answers(), "wz", files={})
    html = client.get(step).get_data(as_text=True)
    assert 'data-template-one="%(num)s passender Eintrag"' in html
    assert 'data-template="%(num)s passende Einträge"' in html
    client.get("/sprache/en")
    html = client.get(step).get_data(as_text=True)
    assert 'data-template-one="%(num)s matching entry"' in html
    assert 'data-template="%(num)s matching entries"' in html


def test_the_bundle_receipt_submitted_in_the_english_pages_is_english(client, login_as):
    """The bundle's receipt is made at submit in the page's language, as a single filing's is."""
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "ausbilden": "no",
                                                                 "handwerk_anlage": "a"})
    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    for link in completion_links(html):
        fill(client, link, CHILD_ANSWERS)
    client.get("/sprache/en")
    _review, resp = submit(client, overview)
    assert resp.status_code == 302
    receipt = client.get(f"{path_of(resp.headers['Location'])}/eingangsbestaetigung.pdf")
    assert 'filename="Receipt-BP-' in receipt.headers["Content-Disposition"]
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.data)).pages).split())
    for english in ("Plan Found a business", "Address according to the company account",
                    "Business premises according to the plan", "Submitted applications", "Not applied for (left out).",
                    "Each filing also has its own acknowledgement of receipt."):
        assert english in text, (english, text)
    for german in ("Vorhaben", "Eingegangen am", "Eingereichte Anträge", "Nicht beantragt", "Empfänger"):
        assert german not in text, (german, text)
