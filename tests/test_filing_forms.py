"""Compound fields, conditional steps, identifier formats and attachments, on a test definition."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bizportal.catalog.loader import load_definition_file
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.filings.models import Attachment, Filing
from bizportal.inbox.models import InboxItem
from tests.support.filing import path_of, post_step, start_draft
from tests.support.http import login, submit_form
from tests.support.pdfs import minimal_pdf

PDF = minimal_pdf()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

BETRIEB = {"betriebsadresse-street": "Am Wall 120", "betriebsadresse-postcode": "28195",
           "betriebsadresse-city": "Bremen", "beschaeftigte": "3", "handwerk": "yes"}
PERSONEN = {"inhaber-family_name": "Becker", "inhaber-given_names": "Anna", "inhaber-birth_date": "1980-05-17",
            "geschaeftsfuehrer-0-name": "Anna Becker"}


@pytest.fixture
def app(app_factory):
    app = app_factory()
    definition = load_definition_file(Path(__file__).parent / "data" / "testantrag.toml")
    portal = app.extensions["bizportal"]
    portal.snapshot = dataclasses.replace(portal.snapshot, services={**portal.catalog, "testantrag": definition})
    return app


@pytest.fixture
def company(client, login_as):
    login_as("anna.becker")
    return client


def attachments(app) -> list[Attachment]:
    with app.app_context():
        rows = list(db.session.scalars(select(Attachment)))
        for r in rows:
            db.session.expunge(r)
        return rows


def stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


def step_path(first: str, key: str) -> str:
    return first.rsplit("/", 1)[0] + "/" + key


def test_address_prefilled_from_company_account(company):
    path = start_draft(company, "testantrag")
    html = company.get(path).get_data(as_text=True)
    assert 'name="betriebsadresse-street"' in html and 'value="Am Wall 120"' in html
    assert 'autocomplete="postal-code"' in html


def test_conditional_step_is_skipped_when_not_a_crafts_business(app, company):
    path = start_draft(company, "testantrag")
    resp = post_step(company, path, {**BETRIEB, "handwerk": "no"})
    assert resp.headers["Location"].endswith("/personen")
    resp = post_step(company, path_of(resp.headers["Location"]), PERSONEN)
    assert resp.headers["Location"].endswith("/pruefen")
    page = company.get(path_of(resp.headers["Location"]))
    assert page.status_code == 200
    review = page.get_data(as_text=True)
    assert "Meisterbrief" not in review and "Becker, Anna, geboren am" in review


def test_changing_an_earlier_answer_reopens_the_step_it_reveals(app, company):
    path = start_draft(company, "testantrag")
    post_step(company, path, {**BETRIEB, "handwerk": "no"})
    post_step(company, step_path(path, "personen"), PERSONEN)
    resp = post_step(company, path, BETRIEB)  # now a crafts business: the crafts step must be done
    assert resp.headers["Location"].endswith("/handwerk")
    review = company.get(step_path(path, "pruefen"))
    assert review.status_code == 302 and review.headers["Location"].endswith("/handwerk")


def test_identifier_formats_are_checked_with_clear_messages(company):
    path = start_draft(company, "testantrag")
    resp = post_step(company, path, {**BETRIEB, "ustid": "DE136695977"})
    assert resp.status_code == 422
    assert "Umsatzsteuer-Identifikationsnummer ist ungültig" in resp.get_data(as_text=True)
    resp = post_step(company, path, {**BETRIEB, "ustid": "DE 136 695 976"})
    assert resp.status_code == 302
    resp = post_step(company, step_path(path, "handwerk"), {"register": "HRB 12"},
                     files={"meisterbrief": (PDF, "m.pdf")})
    assert resp.status_code == 422 and "Registergericht" in resp.get_data(as_text=True)


def test_number_limits(company):
    path = start_draft(company, "testantrag")
    resp = post_step(company, path, {**BETRIEB, "beschaeftigte": "-1"})
    assert resp.status_code == 422 and "Zahl zwischen" in resp.get_data(as_text=True)


def test_wrong_type_is_refused_before_it_is_stored(app, company):
    path = start_draft(company, "testantrag")
    post_step(company, path, BETRIEB)
    resp = post_step(company, step_path(path, "handwerk"), {}, files={"meisterbrief": (PNG, "brief.pdf")})
    assert resp.status_code == 422
    assert "Dateityp ist hier nicht erlaubt" in resp.get_data(as_text=True)
    assert attachments(app) == [] and stored_files(app) == []


def test_extension_must_match_content(app, company):
    path = start_draft(company, "testantrag")
    post_step(company, path, BETRIEB)
    resp = post_step(company, step_path(path, "handwerk"), {}, files={"meisterbrief": (PDF, "brief.png")})
    assert resp.status_code == 422 and "Dateiendung passt nicht" in resp.get_data(as_text=True)
    assert attachments(app) == []


def test_oversize_file_is_refused_before_it_is_stored(app, company):
    path = start_draft(company, "testantrag")
    post_step(company, path, BETRIEB)
    big = PDF + b"0" * 40_000  # the field allows 0.03 MB
    resp = post_step(company, step_path(path, "handwerk"), {}, files={"meisterbrief": (big, "brief.pdf")})
    assert resp.status_code == 422 and "zu groß" in resp.get_data(as_text=True)
    assert attachments(app) == [] and stored_files(app) == []


def test_required_file_missing_is_reported(company):
    path = start_draft(company, "testantrag")
    post_step(company, path, BETRIEB)
    resp = post_step(company, step_path(path, "handwerk"), {})
    assert resp.status_code == 422 and "Bitte laden Sie die Datei hoch." in resp.get_data(as_text=True)


def test_upload_replace_and_remove(app, company):
    path = start_draft(company, "testantrag")
    post_step(company, path, BETRIEB)
    crafts = step_path(path, "handwerk")
    resp = post_step(company, crafts, {}, files={"meisterbrief": (PDF, "../../etc/Meister<brief>.pdf")})
    assert resp.status_code == 302
    first = attachments(app)
    assert len(first) == 1 and first[0].original_name == "Meister<brief>.pdf"
    assert first[0].storage_key not in first[0].original_name
    html = company.get(crafts).get_data(as_text=True)
    assert "Meister&lt;brief&gt;.pdf" in html  # shown, escaped
    post_step(company, crafts, {}, files={"meisterbrief": (minimal_pdf("v2"), "neu.pdf")})
    second = attachments(app)
    assert [a.original_name for a in second] == ["neu.pdf"] and len(stored_files(app)) == 1
    resp = post_step(company, crafts, {}, action="remove_file:meisterbrief")
    assert resp.status_code == 302 and attachments(app) == [] and stored_files(app) == []


def test_repeating_group_add_and_remove_entries(company):
    path = start_draft(company, "testantrag")
    post_step(company, path, {**BETRIEB, "handwerk": "no"})
    persons = step_path(path, "personen")
    resp = post_step(company, persons, PERSONEN, action="add:geschaeftsfuehrer")
    assert resp.status_code == 302
    html = company.get(persons).get_data(as_text=True)
    assert 'name="geschaeftsfuehrer-1-name"' in html and 'value="Anna Becker"' in html
    resp = post_step(company, persons, {**PERSONEN, "geschaeftsfuehrer-1-name": "Jonas Weber"})
    review = company.get(path_of(resp.headers["Location"])).get_data(as_text=True)
    assert "Anna Becker" in review and "Jonas Weber" in review
    post_step(company, persons, {**PERSONEN, "geschaeftsfuehrer-1-name": "Jonas Weber"},
              action="remove:geschaeftsfuehrer:0")
    page = company.get(persons)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Jonas Weber"' in html and 'name="geschaeftsfuehrer-1-name"' not in html


def test_total_attachment_limit_per_filing(app, company, monkeypatch):
    from bizportal.filings import services

    path = start_draft(company, "testantrag")
    post_step(company, path, BETRIEB)
    service = app.extensions["bizportal"].catalog["testantrag"]
    monkeypatch.setattr(type(service), "max_total_attachments_mb", property(lambda self: 0.01))
    resp = post_step(company, step_path(path, "handwerk"), {},
                     files={"meisterbrief": (minimal_pdf("0" * 12_000), "b.pdf")})
    assert resp.status_code == 422 and "Alle Anhänge zusammen" in resp.get_data(as_text=True)
    assert attachments(app) == []
    assert services  # the limit is enforced by the service layer


def test_filed_attachment_reaches_the_chamber_and_only_it(app, company):
    path = start_draft(company, "testantrag")
    post_step(company, path, BETRIEB)
    post_step(company, step_path(path, "handwerk"), {}, files={"meisterbrief": (PDF, "meisterbrief.pdf")})
    resp = post_step(company, step_path(path, "personen"), PERSONEN)
    review_path = path_of(resp.headers["Location"])
    page = company.get(review_path)
    company.post(review_path, data=submit_form(page.get_data(as_text=True)))
    with app.app_context():
        filing = db.session.scalar(select(Filing))
        assert [a.original_name for a in filing.attachments] == ["meisterbrief.pdf"]
        assert filing.data["betriebsadresse"]["postcode"] == "28195"
        assert filing.data["geschaeftsfuehrer"] == [{"name": "Anna Becker", "bestellt_am": None}]
    assert Worker(app).run_once() == 2
    with app.app_context():
        item = db.session.scalar(select(InboxItem).where(InboxItem.destination_role == "copy"))
        assert item.chamber.slug == "hwk-bremen"
        ref = item.attachments[0]["ref"]
        item_id = item.id
    staff = app.test_client()
    login(staff, "hwk.bremen", staff=True)
    download = staff.get(f"/staff/posteingang/{item_id}/anhang/{ref}")
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    other = app.test_client()
    login(other, "hk.bremen", staff=True)
    assert other.get(f"/staff/posteingang/{item_id}/anhang/{ref}").status_code == 404
    foreign_company = app.test_client()
    login(foreign_company, "lea.hansen")
    assert foreign_company.get(f"/antraege/anhang/{ref}").status_code == 404
    assert company.get(f"/antraege/anhang/{ref}").data == PDF
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InboxItem)) == 2


def test_optional_group_may_stay_empty_and_nested_values_are_converted(app, company):
    path = start_draft(company, "testantrag")
    post_step(company, path, {**BETRIEB, "handwerk": "no"})
    persons = step_path(path, "personen")
    resp = post_step(company, persons, PERSONEN)  # no Prokurist entered
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    resp = post_step(company, persons, {**PERSONEN, "prokura-0-person-family_name": "Weber",
                                        "prokura-0-person-given_names": "Jonas",
                                        "prokura-0-person-birth_date": "1990-02-03",
                                        "prokura-0-einzelprokura": "yes"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    from bizportal.filings.models import Draft

    with app.app_context():
        data = db.session.scalar(select(Draft)).data
        assert data["prokura"] == [{"person": {"family_name": "Weber", "given_names": "Jonas",
                                               "birth_date": "1990-02-03", "birth_place": None,
                                               "nationality": None},
                                    "einzelprokura": True}]


def test_removing_a_required_file_reopens_its_step(app, company):
    path = start_draft(company, "testantrag")
    post_step(company, path, BETRIEB)
    crafts = step_path(path, "handwerk")
    post_step(company, crafts, {}, files={"meisterbrief": (PDF, "m.pdf")})
    post_step(company, step_path(path, "personen"), PERSONEN)
    assert company.get(step_path(path, "pruefen")).status_code == 200
    post_step(company, crafts, {}, action="remove_file:meisterbrief")
    review = company.get(step_path(path, "pruefen"))
    assert review.status_code == 302 and review.headers["Location"].endswith("/handwerk")


def test_a_step_shown_in_one_language_is_shown_in_the_other_after_a_switch(company):
    path = start_draft(company, "gewerbeanmeldung")
    german = company.get(path).get_data(as_text=True)
    assert "Wer betreibt das Gewerbe?" in german and "Bitte auswählen" in german
    company.get("/sprache/en")
    english = company.get(path).get_data(as_text=True)
    assert "Who runs the business?" in english and "Wer betreibt das Gewerbe?" not in english
    assert "Bitte auswählen" not in english
    refused = post_step(company, path, {"inhaber_art": ""})  # the messages follow the language too
    assert refused.status_code == 422 and "Bitte füllen" not in refused.get_data(as_text=True)
    company.get("/sprache/de")
    assert "Wer betreibt das Gewerbe?" in company.get(path).get_data(as_text=True)
