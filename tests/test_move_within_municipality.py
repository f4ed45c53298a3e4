"""A Gewerbeummeldung for a move "innerhalb des Meldebezirks" must stay in the area of the Gewerbeamt
that has the business: a new address in another municipality is refused at its postcode, at the step
and again at the submit (clerk trial, issue 13: Bremen → Bremerhaven was filed with Bremen alone).
The Abmeldung "in einen anderen Meldebezirk" and the Anmeldung "nach Verlegung aus einem anderen
Meldebezirk" are refused for the opposite: a move that stays in the same Gewerbeamt's area."""

from __future__ import annotations

import re
import tomllib
import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, update

from bizportal.catalog.loader import DEFINITIONS_DIR as DEFINITIONS
from bizportal.catalog.loader import DefinitionError, load_catalog, parse_definition
from bizportal.extensions import db
from bizportal.filings.models import Draft, Filing
from tests.support.filing import (
    fill_steps,
    gewerbe_answers,
    gewerbeummeldung_answers,
    path_of,
    post_step,
    start_draft,
)
from tests.support.gewerbeanzeige import ABMELDUNG
from tests.support.http import field_error, submit_form
from tests.support.permits import to_step

BREMERHAVEN = {"neue_anschrift-street": "Bürgermeister-Smidt-Straße 10", "neue_anschrift-postcode": "27568",
               "neue_anschrift-city": "Bremerhaven"}
ANOTHER_MUNICIPALITY = "Eine Verlegung in eine andere Gemeinde ist keine Ummeldung"


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def _completed(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalar(select(Draft)).completed_steps)


def test_a_move_within_the_municipality_to_bremerhaven_is_refused_at_the_new_postcode(app, company):
    path = to_step(company, "gewerbeummeldung", gewerbeummeldung_answers(), "verlegung")
    resp = post_step(company, path, gewerbeummeldung_answers(**BREMERHAVEN))
    assert resp.status_code == 422
    message = field_error(resp.get_data(as_text=True), "neue_anschrift-postcode")
    assert "nicht im Bereich des Gewerbeamts, bei dem Ihr Betrieb bisher angemeldet ist" in message
    assert ANOTHER_MUNICIPALITY in message
    assert "beim Gewerbeamt der neuen Gemeinde an (Gewerbeanmeldung) und hier ab (Gewerbeabmeldung)" in message
    assert "„Betrieb verlegen oder aufgeben“" in message
    assert "verlegung" not in _completed(app)


@pytest.mark.parametrize(("postcode", "town"), [("28832", "Achim"), ("28790", "Schwanewede")])
def test_a_move_within_the_municipality_to_a_neighbouring_town_is_refused(app, company, postcode, town):
    """The towns next to Bremen share its postcodes' first digits; the Gewerbeamt Bremen's area is
    the city's postcodes only (clerk trial: Achim and Schwanewede were taken as Bremen)."""
    path = to_step(company, "gewerbeummeldung", gewerbeummeldung_answers(), "verlegung")
    moved = {"neue_anschrift-street": "Bahnhofstraße 1", "neue_anschrift-postcode": postcode,
             "neue_anschrift-city": town}
    resp = post_step(company, path, gewerbeummeldung_answers(**moved))
    assert resp.status_code == 422
    assert ANOTHER_MUNICIPALITY in field_error(resp.get_data(as_text=True), "neue_anschrift-postcode")
    assert "verlegung" not in _completed(app)


def test_the_bundle_the_message_names_is_in_the_catalog(company):
    page = company.get("/vorhaben/betrieb-verlegen-aufgeben")
    assert page.status_code == 200
    assert "Betrieb verlegen oder aufgeben" in page.get_data(as_text=True)


def test_a_move_within_bremen_is_accepted(app, company):
    path = to_step(company, "gewerbeummeldung", gewerbeummeldung_answers(), "verlegung")
    resp = post_step(company, path, gewerbeummeldung_answers())
    assert resp.status_code == 302
    assert "verlegung" in _completed(app)


def test_the_message_is_in_the_pages_language(company):
    company.get("/sprache/en")
    path = to_step(company, "gewerbeummeldung", gewerbeummeldung_answers(), "verlegung")
    resp = post_step(company, path, gewerbeummeldung_answers(**BREMERHAVEN))
    assert resp.status_code == 422
    message = field_error(resp.get_data(as_text=True), "neue_anschrift-postcode")
    assert "A move to another municipality is not a change notification" in message


def test_an_old_address_changed_to_bremerhaven_sends_the_move_back_to_its_step(app, company):
    """The move step passed; the premises step, asked again afterwards, moves the old address to
    Bremerhaven: the new Bremen address is now in another Gewerbeamt's area."""
    review = fill_steps(company, start_draft(company, "gewerbeummeldung"), gewerbeummeldung_answers())
    draft_id = review.split("/")[3]
    resp = post_step(company, f"/antraege/entwurf/{draft_id}/betriebsstaette", gewerbeummeldung_answers(**{
        "betriebsanschrift-street": "Bürgermeister-Smidt-Straße 10", "betriebsanschrift-postcode": "27568",
        "betriebsanschrift-city": "Bremerhaven"}))
    assert resp.status_code == 302
    assert "verlegung" not in _completed(app)  # to be answered again


def test_a_draft_changed_behind_the_step_is_refused_at_submit(app, company):
    review = fill_steps(company, start_draft(company, "gewerbeummeldung"), gewerbeummeldung_answers())
    draft_id = review.split("/")[3]
    page = company.get(review).get_data(as_text=True)
    with app.app_context():  # not a save through the portal: its revision stays, the review page is current
        draft = db.session.get(Draft, uuid.UUID(draft_id))
        moved = {"street": "Bürgermeister-Smidt-Straße 10", "postcode": "27568", "city": "Bremerhaven"}
        db.session.execute(update(Draft).where(Draft.id == draft.id).values(
            data={**draft.data, "neue_anschrift": moved}))
        db.session.commit()
    resp = company.post(review, data=submit_form(page))
    assert resp.status_code == 302
    assert urlsplit(resp.headers["Location"]).path == f"/antraege/entwurf/{draft_id}/verlegung"
    step = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert ANOTHER_MUNICIPALITY in field_error(step, "neue_anschrift-postcode")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 0
    # the review page opened afresh sends the company to the step as well
    assert urlsplit(company.get(review).headers["Location"]).path == f"/antraege/entwurf/{draft_id}/verlegung"


def test_another_reason_does_not_compare_the_bodies(app, company):
    """The move step is not asked for a change of activity; an address left from it is not checked."""
    answers = gewerbeummeldung_answers(grund="wechsel", taetigkeit_bisher="Elektrohandel",
                                       taetigkeit_neu="Elektroinstallation", **BREMERHAVEN)
    review = fill_steps(company, start_draft(company, "gewerbeummeldung"), answers)
    resp = company.post(review, data=submit_form(company.get(review).get_data(as_text=True)))
    assert resp.status_code == 302 and "/pruefen" not in resp.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Filing)) == 1


def test_an_abmeldung_for_a_move_to_another_district_within_bremen_is_refused(app, company):
    answers = ABMELDUNG.__class__({**ABMELDUNG, "neue_anschrift-street": "Hastedter Heerstraße 285",
                                   "neue_anschrift-postcode": "28207", "neue_anschrift-city": "Bremen"})
    path = to_step(company, "gewerbeabmeldung", answers, "verlegung")
    resp = post_step(company, path, answers)
    assert resp.status_code == 422
    message = field_error(resp.get_data(as_text=True), "neue_anschrift-postcode")
    assert "im Bereich desselben Gewerbeamts wie die bisherige" in message
    assert "mit einer Gewerbeummeldung an" in message
    assert post_step(company, path, ABMELDUNG).status_code == 302  # to Hamburg


def test_an_abmeldung_for_a_move_out_of_the_portals_area_is_accepted(company):
    path = to_step(company, "gewerbeabmeldung", ABMELDUNG, "verlegung")
    erfurt = {"neue_anschrift-street": "Anger 1", "neue_anschrift-postcode": "99084", "neue_anschrift-city": "Erfurt"}
    assert post_step(company, path, ABMELDUNG.__class__({**ABMELDUNG, **erfurt})).status_code == 302


def test_an_anmeldung_after_a_move_within_bremen_is_refused(company):
    former = {"fruehere_betriebsstaette-street": "Hastedter Heerstraße 285",
              "fruehere_betriebsstaette-postcode": "28207", "fruehere_betriebsstaette-city": "Bremen"}
    answers = gewerbe_answers(grund="wiedereroeffnung", bisheriger_uv_traeger="BG ETEM", **former)
    path = to_step(company, "gewerbeanmeldung", answers, "verlegung")
    resp = post_step(company, path, answers)
    assert resp.status_code == 422
    message = field_error(resp.get_data(as_text=True), "fruehere_betriebsstaette-postcode")
    assert "im Bereich desselben Gewerbeamts wie die neue" in message
    bremerhaven = {**former, "fruehere_betriebsstaette-postcode": "27568",
                   "fruehere_betriebsstaette-city": "Bremerhaven"}
    assert post_step(company, path, gewerbe_answers(grund="wiedereroeffnung", **bremerhaven)).status_code == 302


def _ummeldung_with(**check) -> tuple[dict, int]:
    """The Ummeldung's definition with ``check`` changed in its same_body check, and that check's index."""
    raw = tomllib.loads((DEFINITIONS / "gewerbeummeldung.toml").read_text(encoding="utf-8"))
    (index,) = [i for i, c in enumerate(raw["checks"]) if c["rule"] == "same_body"]
    raw["checks"][index] = {**raw["checks"][index], **check}
    return raw, index


def test_a_services_body_rule_compares_its_own_primary_receivers_bodies():
    (check,) = [c for c in load_catalog()["gewerbeummeldung"].checks if c.rule == "same_body"]
    assert (check.field, check.other, check.body_kind, check.field_routed) == (
        "neue_anschrift", "betriebsanschrift", "GEWERBEAMT", False)


@pytest.mark.parametrize(("check", "key", "problem"), [
    ({"service": "gewerbeanmeldung"}, "service", "compares the bodies of its own receiver"),
    ({"field": "taetigkeit"}, "field", "must name a postcode field or an address in Germany"),
    ({"other": "personen"}, "other", "must name a postcode field or an address in Germany"),
])
def test_a_services_body_rule_the_portal_cannot_apply_is_refused(check, key, problem):
    raw, index = _ummeldung_with(**check)
    where = f"checks[{index}].{key}"
    with pytest.raises(DefinitionError, match=rf"^gewerbeummeldung\.toml: field '{re.escape(where)}'.*"
                                              rf"{re.escape(problem)}"):
        parse_definition(raw, "gewerbeummeldung.toml")
