"""The binding submit checks the stored answers again, as their steps check them, and does not trust
that the steps are marked done: a field's own rule, a check of the service's ``[[checks]]`` and a
required upload. An answer the step would refuse now (changed behind the steps' back here, as a
rule added since or a repaired row would leave it) files nothing, for a single service and within
a bundle; the person lands on that step, which shows the error at the field at once (the error
summary and the field's own error text, as after "Weiter"). Once the answer is fixed, the submit
files as before."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete, func, select, update

from bizportal.extensions import db
from bizportal.filings.models import Attachment, Draft, Filing
from tests.support.bundles import (
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_services,
    form_values,
    service_drafts,
    submit,
)
from tests.support.filing import REFERENCE_RE, fill_steps, gewerbe_answers, path_of, post_step, start_draft
from tests.support.http import submit_form

#: "Betrieb gründen" of a crafts business that trains an apprentice (from 2027-08-01 to 2031-01-31)
FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a"}
NIEDERLASSUNG = "Bitte wählen Sie, wofür die Anmeldung erstattet wird (Feld 23)."
END_BEFORE_START = "Das Ende der Ausbildung muss nach ihrem Beginn liegen."


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _filings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Filing))


def _change(app, draft_id: str, **answers) -> None:
    """Change stored answers of a draft behind the steps' back: not a save through the portal (its
    revision stays, the review page is current), as an answer a rule added since refuses."""
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(draft_id))
        db.session.execute(update(Draft).where(Draft.id == draft.id).values(data={**draft.data, **answers}))
        db.session.commit()


def _submit(client, review_path: str, review_html: str):
    return client.post(review_path, data=submit_form(review_html))


def _refused_at(resp, draft_id: str, step: str) -> str:
    """The refused submit leads to ``step`` of the draft; the page it shows."""
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert urlsplit(resp.headers["Location"]).path == f"/antraege/entwurf/{draft_id}/{step}"
    return resp.headers["Location"]


def _field_error(html: str, field: str) -> str:
    """The error shown at ``field`` (its "<id>-error" element, which the control names), with the
    error summary linking to it."""
    control = re.search(rf'<(?:input|select)[^>]*\bid="{field}"[^>]*>', html)
    assert control, f"no control {field}"
    assert f"{field}-error" in control.group(0) and 'aria-invalid="true"' in control.group(0), control.group(0)
    error = re.search(rf'<p class="kern-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert error, f"no error at {field}"
    assert 'id="error-summary"' in html and f'href="#{field}"' in html
    return re.sub(r"<[^>]+>", "", error.group(1))


def _ready_gewerbeanmeldung(client) -> tuple[str, str]:
    """A Gewerbeanmeldung with every step done: its draft id and the review's path."""
    review = fill_steps(client, start_draft(client, "gewerbeanmeldung"), gewerbe_answers())
    return review.split("/")[3], review


# --- a single service ------------------------------------------------------------------------------

def test_a_draft_failing_a_check_of_its_service_is_not_filed_and_the_step_shows_why(app, company):
    draft_id, review = _ready_gewerbeanmeldung(company)
    html = company.get(review).get_data(as_text=True)
    # GewA field 23 may stay empty only for an itinerant trade alone (the service's "required" check)
    _change(app, draft_id, niederlassung=None)
    location = _refused_at(_submit(company, review, html), draft_id, "niederlassung")
    assert _filings(app) == 0
    page = company.get(path_of(location))
    assert page.status_code == 200
    step = page.get_data(as_text=True)
    assert "„Gewerbeanmeldung“, Schritt „Art der Niederlassung“, " \
           "Angabe „Die Anmeldung wird erstattet für (Feld 23)“: " + NIEDERLASSUNG in step
    assert "Es wurde nichts eingereicht." in step
    assert NIEDERLASSUNG in _field_error(step, "niederlassung")  # at once, not only after "Weiter"
    # the review itself leads there too, before anyone presses the submit
    assert urlsplit(company.get(review).headers["Location"]).path == f"/antraege/entwurf/{draft_id}/niederlassung"
    # answered again, the draft is filed as usual
    resp = post_step(company, f"/antraege/entwurf/{draft_id}/niederlassung", {"niederlassung": "hauptniederlassung",
                                                                              "reisegewerbe": "no"})
    assert resp.status_code == 302 and path_of(resp.headers["Location"]) == review
    resp = _submit(company, review, company.get(review).get_data(as_text=True))
    assert resp.status_code == 302 and REFERENCE_RE.search(resp.headers["Location"]), resp.headers["Location"]
    assert _filings(app) == 1


def test_a_draft_failing_a_fields_own_rule_is_not_filed(app, company):
    draft_id, review = _ready_gewerbeanmeldung(company)
    html = company.get(review).get_data(as_text=True)
    _change(app, draft_id, vollzeit=-3)
    location = _refused_at(_submit(company, review, html), draft_id, "beschaeftigte")
    assert _filings(app) == 0
    step = company.get(path_of(location)).get_data(as_text=True)
    assert "Bitte geben Sie eine Zahl zwischen 0 und 100.000 an." in _field_error(step, "vollzeit")
    assert 'value="-3"' in step  # the stored answer, shown to be corrected


def test_a_complete_draft_is_filed(app, company):
    _draft_id, review = _ready_gewerbeanmeldung(company)
    resp = _submit(company, review, company.get(review).get_data(as_text=True))
    assert resp.status_code == 302 and REFERENCE_RE.search(resp.headers["Location"])
    assert _filings(app) == 1


def test_a_step_without_the_review_shows_no_errors_at_first(company):
    draft_id, _review = _ready_gewerbeanmeldung(company)
    step = company.get(f"/antraege/entwurf/{draft_id}/niederlassung").get_data(as_text=True)
    assert 'id="error-summary"' not in step and "Es wurde nichts eingereicht." not in step


# --- within a bundle -------------------------------------------------------------------------------

def _ready_bundle(client) -> tuple[str, dict[str, str], str]:
    """"Betrieb gründen" with every service complete: the overview's path, the service drafts and
    the review page as shown."""
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    complete_services(client, overview)
    review = client.get(f"{overview}/pruefen")
    assert review.status_code == 200, review.headers.get("Location")
    return overview, service_drafts(client, overview), review.get_data(as_text=True)


def test_a_bundle_whose_service_fails_its_own_check_files_nothing(app, company):
    overview, drafts, html = _ready_bundle(company)
    training = drafts["ausbildungsvertrag-eintragung"]
    _change(app, training, ende="2027-07-31")  # the training starts on 2027-08-01
    location = _refused_at(_submit(company, f"{overview}/pruefen", html), training, "ausbildung")
    assert _filings(app) == 0
    step = company.get(path_of(location)).get_data(as_text=True)
    assert "„Eintragung eines Berufsausbildungsvertrags“, Schritt „Ausbildung“, Angabe „Vertragliches Ende der " \
           "Ausbildung“: " + END_BEFORE_START + " Es wurde nichts eingereicht." in step
    assert END_BEFORE_START in _field_error(step, "ende")
    assert urlsplit(company.get(f"{overview}/pruefen").headers["Location"]).path \
        == f"/antraege/entwurf/{training}/ausbildung"
    # corrected on its step, the bundle is filed whole
    html = company.get(f"/antraege/entwurf/{training}/ausbildung").get_data(as_text=True)
    assert 'value="2027-07-31"' in html
    resp = post_step(company, f"/antraege/entwurf/{training}/ausbildung",
                     {**form_values(html), "ende": "2031-01-31"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    _review, resp = submit(company, overview)
    assert resp.status_code == 302 and "/antraege/vorhaben/eingereicht/" in resp.headers["Location"]
    assert _filings(app) == 3


def test_a_bundle_whose_question_fails_its_fields_rule_files_nothing(app, company):
    overview, _drafts, html = _ready_bundle(company)
    bundle_id = overview.rstrip("/").rsplit("/", 1)[-1]
    _change(app, bundle_id, business_name="")
    location = _refused_at(_submit(company, f"{overview}/pruefen", html), bundle_id, "betrieb")
    assert _filings(app) == 0
    step = company.get(path_of(location)).get_data(as_text=True)
    assert "Bitte füllen Sie dieses Feld aus." in _field_error(step, "business_name")


def test_a_bundle_whose_service_lost_its_required_upload_files_nothing(app, company):
    overview, drafts, html = _ready_bundle(company)
    crafts = drafts["handwerksrolle-eintragung"]
    with app.app_context():
        db.session.execute(delete(Attachment).where(Attachment.draft_id == uuid.UUID(crafts),
                                                    Attachment.field_name == "qualifikationsnachweis"))
        db.session.commit()
    resp = _submit(company, f"{overview}/pruefen", html)
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path.startswith(f"/antraege/entwurf/{crafts}/")
    assert _filings(app) == 0
    step = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert "Bitte laden Sie die Datei hoch." in _field_error(step, "qualifikationsnachweis")


GUARDS = "Die Zahl der Wachpersonen kann nicht höher sein als die Zahl der Beschäftigten insgesamt (3)."


def test_more_guards_than_staff_are_refused_on_the_step_and_again_at_submit(app, client, login_as):
    """§ 34a: the security staff are among all employees. The step refuses more; a draft stored with
    more (a rule added since) files nothing and leads to the step with the error at the field."""
    from tests.support import permits

    login_as("lea.hansen")
    step = permits.to_step(client, permits.BEWACHUNG, permits.answers(), "taetigkeit")
    resp = post_step(client, step, permits.answers(beschaeftigte="5", zahl_beschaeftigte="3"))
    assert resp.status_code == 422 and GUARDS in _field_error(resp.get_data(as_text=True), "beschaeftigte")

    review = fill_steps(client, step, permits.answers(), permits.FILES)
    draft_id = review.split("/")[3]
    html = client.get(review).get_data(as_text=True)
    _change(app, draft_id, beschaeftigte=5, zahl_beschaeftigte=3)
    location = _refused_at(_submit(client, review, html), draft_id, "taetigkeit")
    assert _filings(app) == 0
    assert GUARDS in _field_error(client.get(path_of(location)).get_data(as_text=True), "beschaeftigte")
    _change(app, draft_id, beschaeftigte=3)  # as many guards as employees: filed
    resp = _submit(client, review, client.get(review).get_data(as_text=True))
    assert resp.status_code == 302 and REFERENCE_RE.search(resp.headers["Location"]), resp.headers["Location"]
    assert _filings(app) == 1
