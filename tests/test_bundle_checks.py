"""Checks across a bundle's answers (issue 16, new-user trial): a bundle declares ``[[checks]]`` like
a service, on its own questions or on its services' fields (``<service>.<field>``). "Betrieb
gründen" and "Betrieb übernehmen" refuse a training that starts before the business; "Betrieb
verlegen oder aufgeben" refuses a move "to another municipality" into the same town. The step
that asks the answer refuses it at the field; a change elsewhere opens that step again; and a
submit with such answers in its drafts files nothing."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from bizportal.catalog.bundle_loader import load_bundle_text, load_bundles
from bizportal.catalog.loader import DefinitionError, load_catalog
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.bundles import (
    AUSBILDUNG,
    FOUNDING,
    MOVE,
    MOVE_ANSWERS,
    NEW_PLACE,
    TAKEOVER,
    answer_questionnaire,
    complete_draft,
    complete_services,
    form_values,
    service_drafts,
)
from tests.support.filing import path_of
from tests.support.http import csrf_token

CATALOG = load_catalog()
TOO_EARLY = {
    "betrieb-gruenden": "Die Ausbildung kann nicht vor dem Beginn des Betriebs beginnen: Laut Ihrem Vorhaben "
                        "beginnt der Betrieb am 01.03.2027.",
    "betrieb-uebernehmen": "Die Ausbildung kann nicht beginnen, bevor Sie den Betrieb führen: Laut Ihrem Vorhaben "
                           "führen Sie ihn ab dem 01.03.2027.",
}
SAME_TOWN = "Die neue Betriebsstätte liegt im Bereich desselben Gewerbeamts wie die bisherige. Eine Verlegung " \
            "innerhalb derselben Gemeinde zeigen Sie mit einer Gewerbeummeldung an"


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _walk_to(client, path: str, answers: dict, step: str) -> str:
    """Go on from ``path`` with what each page shows plus ``answers`` until the step ``step``."""
    for _ in range(20):
        if path.endswith(f"/{step}"):
            return path
        html = client.get(path).get_data(as_text=True)
        resp = client.post(path, data={**form_values(html), **answers, "action": "next"})
        assert resp.status_code == 302, (path, resp.get_data(as_text=True)[:2000])
        path = path_of(resp.headers["Location"])
    raise AssertionError(f"no step {step}")


def _post(client, path: str, answers: dict):
    html = client.get(path).get_data(as_text=True)
    return client.post(path, data={**form_values(html), **answers, "action": "next"})


def _error_of(html: str, field: str) -> str:
    """The error shown at ``field`` (its "<id>-error" element, which the input names)."""
    control = re.search(rf'<(?:input|select)[^>]*\bid="{field}"[^>]*>', html)
    assert control and f"{field}-error" in control.group(0) and 'aria-invalid="true"' in control.group(0)
    error = re.search(rf'<p class="kern-error" id="{field}-error">(.*?)</p>', html, re.S)
    assert error, f"no error at {field}"
    return re.sub(r"<[^>]+>", "", error.group(1))


def _path(resp) -> str:
    """The path a redirect leads to, without its query."""
    return urlsplit(resp.headers["Location"]).path


def _filings(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Filing))


def _training_step(client, overview: str) -> str:
    drafts = service_drafts(client, overview)
    first = client.get(f"/antraege/entwurf/{drafts['ausbildungsvertrag-eintragung']}/pruefen")
    return _walk_to(client, path_of(first.headers["Location"]), AUSBILDUNG, "ausbildung")


def _post_review(client, overview: str):
    """Open the review and press the submit (with the session's form token, also when the review
    does not show the button)."""
    review = client.get(f"{overview}/pruefen")
    token = csrf_token(client.get("/vorhaben/betrieb-gruenden").get_data(as_text=True))
    return review, client.post(f"{overview}/pruefen", data={"csrf_token": token, "declaration": "y"})


# --- the training does not start before the business ---------------------------------------------

@pytest.mark.parametrize(("bundle", "questions"), [("betrieb-gruenden", FOUNDING), ("betrieb-uebernehmen", TAKEOVER)])
def test_a_training_starting_before_the_business_is_refused_at_its_start(company, bundle, questions):
    overview = answer_questionnaire(company, bundle, questions)
    step = _training_step(company, overview)
    resp = _post(company, step, {**AUSBILDUNG, "vertragsschluss": "2026-11-20", "beginn": "2027-02-28"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert TOO_EARLY[bundle] in _error_of(html, "beginn")
    assert "Bitte korrigieren Sie folgende Angaben" in html and 'href="#beginn"' in html
    # the contract may be signed before the business starts; the training starts with it
    resp = _post(company, step, {**AUSBILDUNG, "vertragsschluss": "2026-11-20", "beginn": "2027-03-01",
                                 "ende": "2030-08-31"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]


def test_the_message_is_english_on_an_english_page(company):
    overview = answer_questionnaire(company, "betrieb-gruenden", FOUNDING)
    step = _training_step(company, overview)
    company.get("/sprache/en")
    resp = _post(company, step, {**AUSBILDUNG, "beginn": "2027-02-28"})
    assert resp.status_code == 422
    assert "The training cannot start before the business does: according to your plan, the business starts " \
           "on Mar 1, 2027." in _error_of(resp.get_data(as_text=True), "beginn")


def test_moving_the_business_start_after_the_training_opens_the_training_again(app, company):
    overview = answer_questionnaire(company, "betrieb-gruenden", FOUNDING)
    complete_services(company, overview)  # the training starts on 2027-08-01
    bundle_id = overview.rsplit("/", 1)[-1]
    resp = _post(company, f"/antraege/entwurf/{bundle_id}/vorhaben", {"start_date": "2027-09-01"})
    assert resp.status_code == 302
    html = company.get(overview).get_data(as_text=True)
    assert re.search(r'id="wieder-offen-ausbildungsvertrag-eintragung">[^<]*„Ausbildung“', html), html
    review, resp = _post_review(company, overview)
    assert review.status_code == 302 and resp.status_code == 302 and _filings(app) == 0
    step = _training_step(company, overview)
    resp = _post(company, step, AUSBILDUNG)
    assert resp.status_code == 422
    assert "Laut Ihrem Vorhaben beginnt der Betrieb am 01.09.2027." in _error_of(resp.get_data(as_text=True), "beginn")


def test_a_draft_holding_a_training_before_the_business_is_not_filed(app, company):
    """Answers in a draft the step would refuse (saved before the rule, or behind the step's back)
    do not pass the submit: the review opens the step and says why; nothing is filed."""
    overview = answer_questionnaire(company, "betrieb-gruenden", FOUNDING)
    complete_services(company, overview)
    review = company.get(f"{overview}/pruefen")
    assert review.status_code == 200
    draft_id = service_drafts(company, overview)["ausbildungsvertrag-eintragung"]
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(draft_id))
        draft.data = {**draft.data, "beginn": "2027-01-15"}
        db.session.commit()
    resp = company.post(f"{overview}/pruefen", data={"csrf_token": csrf_token(review.get_data(as_text=True)),
                                                      "declaration": "y"})
    assert resp.status_code == 302 and _path(resp).endswith(f"/entwurf/{draft_id}/ausbildung")
    html = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert "„Eintragung eines Berufsausbildungsvertrags“, Schritt „Ausbildung“, Angabe „Beginn der Ausbildung“: " \
           + TOO_EARLY["betrieb-gruenden"] in html
    assert "Es wurde nichts eingereicht." in html
    # the step shows the error at the field at once, as after "Weiter"
    assert TOO_EARLY["betrieb-gruenden"] in _error_of(html, "beginn") and 'href="#beginn"' in html
    assert _filings(app) == 0
    assert _path(company.get(f"{overview}/pruefen")).endswith(f"/entwurf/{draft_id}/ausbildung")


# --- a move to another municipality is not a move within the town --------------------------------

def _move_to_new_place(client, vorhaben: str = "verlegen_anderswo") -> str:
    page = client.get("/vorhaben/betrieb-verlegen-aufgeben")
    resp = client.post("/vorhaben/betrieb-verlegen-aufgeben",
                       data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    return _walk_to(client, path_of(resp.headers["Location"]), {**MOVE, "vorhaben": vorhaben}, "neu")


def test_a_move_to_another_municipality_within_the_same_town_is_refused(company):
    path = _move_to_new_place(company)
    # the account's business is in Bremen (the current premises, prefilled)
    resp = _post(company, path, {"new_street": "Hafenstraße 7", "new_postcode": "28217", "new_city": " bremen ",
                                 "move_date": "2027-04-01"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    message = _error_of(html, "new_postcode")
    assert SAME_TOWN in message and "„Den Betrieb innerhalb derselben Gemeinde verlegen“" in message
    assert "Die neue Betriebsstätte hat dieselbe Anschrift" not in html  # another address, only the town
    assert _post(company, path, {**NEW_PLACE, "move_date": "2027-04-01",
                                 "handwerksrolle": MOVE["handwerksrolle"]}).status_code == 302


def test_a_move_within_the_town_is_not_refused(company):
    path = _move_to_new_place(company, "verlegen_gemeinde")
    resp = _post(company, path, {"new_street": "Hafenstraße 7", "new_postcode": "28217", "new_city": "Bremen",
                                 "move_date": "2027-04-01", "handwerksrolle": MOVE["handwerksrolle"]})
    assert resp.status_code == 302


def test_a_draft_moving_into_the_same_town_is_not_filed(app, company):
    overview = answer_questionnaire(company, "betrieb-verlegen-aufgeben", MOVE)
    for draft_id in service_drafts(company, overview).values():
        complete_draft(company, draft_id, MOVE_ANSWERS)
    review = company.get(f"{overview}/pruefen")
    assert review.status_code == 200
    bundle_id = overview.rsplit("/", 1)[-1]
    with app.app_context():
        draft = db.session.get(Draft, uuid.UUID(bundle_id))
        draft.data = {**draft.data, "new_postcode": "28217", "new_city": "Bremen"}
        db.session.commit()
    resp = company.post(f"{overview}/pruefen", data={"csrf_token": csrf_token(review.get_data(as_text=True)),
                                                      "declaration": "y"})
    assert resp.status_code == 302 and _path(resp).endswith(f"/entwurf/{bundle_id}/neu")
    html = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert "„Betrieb verlegen oder aufgeben“, Schritt „Neue Betriebsstätte“, Angabe „Postleitzahl der neuen " \
           "Betriebsstätte“: " + SAME_TOWN in html
    assert SAME_TOWN in _error_of(html, "new_postcode")
    assert _filings(app) == 0


def test_changing_the_current_town_to_the_new_one_opens_the_new_place_again(app, company):
    overview = answer_questionnaire(company, "betrieb-verlegen-aufgeben", MOVE)
    bundle_id = overview.rsplit("/", 1)[-1]
    resp = _post(company, f"/antraege/entwurf/{bundle_id}/betrieb",
                 {"street": "Am Alten Hafen 1", "postcode": "27568", "city": "Bremerhaven"})
    assert resp.status_code == 302
    # the answers are no longer complete: the new place is asked again before anything is filed
    opened = company.get(overview)
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/entwurf/{bundle_id}/neu")
    review, resp = _post_review(company, overview)
    assert resp.status_code == 302 and _filings(app) == 0
    resp = _post(company, f"/antraege/entwurf/{bundle_id}/neu", {**NEW_PLACE, "move_date": "2027-04-01"})
    assert resp.status_code == 422 and SAME_TOWN in _error_of(resp.get_data(as_text=True), "new_postcode")


# --- the bundle file ---------------------------------------------------------------------------

HEAD = '''
key = "test-lage"
title = { de = "Testlage", en = "Test event" }
summary = { de = "Zum Testen.", en = "For tests." }

[[services]]
service = "gewerbeanmeldung"
reason = { de = "Immer.", en = "Always." }

[[services]]
service = "ausbildungsvertrag-eintragung"
reason = { de = "Immer.", en = "Always." }

[[fields]]
name = "beginn_betrieb"
type = "date"
label = { de = "Beginn?", en = "Start?" }

[[fields]]
name = "ort"
type = "text"
label = { de = "Ort?", en = "Town?" }
maps = { gewerbeanmeldung = "city" }
'''
MESSAGE = 'message = { de = "Zu früh: {date}.", en = "Too early: {date}." }'


def _check(**keys: str) -> str:
    return "\n[[checks]]\n" + "".join(f'{k} = "{v}"\n' for k, v in keys.items()) + MESSAGE + "\n"


def _load(text: str):
    return load_bundle_text(HEAD + text, "test-lage.toml", CATALOG)


def test_a_check_on_a_services_field_is_applied_by_that_services_steps():
    bundle = _load(_check(rule="not_before", field="ausbildungsvertrag-eintragung.beginn", other="beginn_betrieb"))
    (check,) = bundle.service_checks["ausbildungsvertrag-eintragung"]
    assert (check.field, bundle.questionnaire.checks) == ("beginn", ())
    says = bundle.check_answers({"beginn": "2027-02-28"}, {"beginn_betrieb": "2027-03-01"})
    assert check.problem(says) == {"date": "2027-03-01"}
    assert check.problem({**says, "beginn": "2027-03-01"}) is None


def test_the_shipped_bundles_check_the_training_start_and_the_move():
    bundles = load_bundles(CATALOG)
    for key in ("betrieb-gruenden", "betrieb-uebernehmen"):
        assert [c.rule for c in bundles[key].service_checks["ausbildungsvertrag-eintragung"]] == ["not_before"]
    checks = bundles["betrieb-verlegen-aufgeben"].questionnaire.checks
    assert [(c.rule, c.field) for c in checks] == [("one_of", "personen"), ("served", "postcode"),
                                                   ("served", "new_postcode"),
                                                   ("accepted", "sonstiges"), ("same_body", "new_postcode"),
                                                   ("other_body", "new_postcode"), ("required", "niederlassung")]
    within, elsewhere = checks[4:6]
    assert (within.rule, within.field, within.other, within.body_kind) == ("same_body", "new_postcode", "postcode",
                                                                           "GEWERBEAMT")
    assert (elsewhere.rule, elsewhere.body_kind) == ("other_body", "GEWERBEAMT")
    areas = {"28": "bremen", "27": "bremerhaven", "20": "hamburg"}.get

    def body_of(kind, postcode):
        assert kind == "GEWERBEAMT"
        return areas(postcode[:2])

    bremen, vegesack, hamburg, nowhere = "28195", "28757", "20095", "99999"
    move = {"postcode": bremen, "new_postcode": vegesack}
    assert elsewhere.problem({**move, "vorhaben": "verlegen_anderswo"}, body_of) == {}
    assert elsewhere.problem({**move, "vorhaben": "verlegen_anderswo"}) is None  # no lookup: not applied
    assert within.problem({**move, "vorhaben": "verlegen_gemeinde"}, body_of) is None
    move = {"postcode": bremen, "new_postcode": hamburg}
    assert within.problem({**move, "vorhaben": "verlegen_gemeinde"}, body_of) == {}
    assert elsewhere.problem({**move, "vorhaben": "verlegen_anderswo"}, body_of) is None
    move = {"postcode": bremen, "new_postcode": nowhere}
    assert elsewhere.problem({**move, "vorhaben": "verlegen_anderswo"}, body_of) == {"unrouted": nowhere}
    assert within.problem({**move, "vorhaben": "verlegen_gemeinde"}, body_of) == {}  # not Bremen's area


@pytest.mark.parametrize(("keys", "where", "named"), [
    ({"field": "ausbildungsvertrag-eintragung.beginnn", "other": "beginn_betrieb"}, "checks[0].field",
     "no field named 'ausbildungsvertrag-eintragung.beginnn'"),
    ({"field": "ausbildungsvertrag-eintragung.beginn", "other": "betriebsbeginn"}, "checks[0].other",
     "no field named 'betriebsbeginn'"),
    ({"field": "versicherungsvermittler-34d.beginn", "other": "beginn_betrieb"}, "checks[0].field",
     "no field named 'versicherungsvermittler-34d.beginn'"),  # not one of the bundle's services
])
def test_a_check_naming_a_field_that_does_not_exist_names_file_and_field(keys, where, named):
    with pytest.raises(DefinitionError, match=rf"^test-lage\.toml: field '{re.escape(where)}': {re.escape(named)} "
                                              r"\(a question of the bundle, or <service>\.<field>"):
        _load(_check(rule="not_before", **keys))


@pytest.mark.parametrize(("keys", "problem"), [
    ({"rule": "not_before", "field": "ausbildungsvertrag-eintragung.beginn", "other": "gewerbeanmeldung.start_date"},
     "reads fields of several services"),
    ({"rule": "not_before", "field": "beginn_betrieb", "other": "ausbildungsvertrag-eintragung.beginn"},
     "reads only the bundle's questions"),
    ({"rule": "differs", "field": "gewerbeanmeldung.city", "other": "ort"}, "is given by the bundle"),
    ({"rule": "differs", "field": "ort", "other": "beginn_betrieb"}, "two answers of the same type"),
    ({"rule": "not_before", "field": "ausbildungsvertrag-eintragung.vertragsschluss",
      "other": "ausbildungsvertrag-eintragung.verguetung_erstes_jahr"}, "must name a date field"),
])
def test_a_check_the_steps_cannot_apply_is_refused(keys, problem):
    with pytest.raises(DefinitionError, match=rf"^test-lage\.toml: field 'checks\[0\][^']*': .*{re.escape(problem)}"):
        _load(_check(**keys))
