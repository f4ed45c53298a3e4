"""§ 34c GewO: which activities of § 34c Abs. 1 Satz 1 the licence is for, ticked in one list
(a ``multichoice`` field: checkboxes in a fieldset, at least one, stored as a list) — the
insurance step follows Nr. 4, and every page, the receipt and the payload name the activities."""

from __future__ import annotations

import io
import re
import shutil

import pytest
from pypdf import PdfReader

from bizportal.catalog import loader
from bizportal.catalog.loader import DefinitionError, load_catalog
from bizportal.delivery.worker import Worker
from tests.support.casework import item_path, staff_client
from tests.support.filing import file_service, post_step
from tests.support.permits import FILES, MAKLER, answers, payload_of, to_step, visited

NR_1 = "Nr. 1: den Abschluss von Verträgen über Grundstücke, grundstücksgleiche Rechte, gewerbliche Räume"
NR_3B = ("Nr. 3 b: Bauvorhaben als Baubetreuer im fremden Namen für fremde Rechnung wirtschaftlich vorbereiten oder "
         "durchführen (Baubetreuer)")
NR_4 = "Nr. 4: das gemeinschaftliche Eigentum von Wohnungseigentümern"
MAKLER_FILES = {k: FILES[k] for k in ("steuerbescheinigung", "insolvenzauskunft", "schuldnerverzeichnis")}
BREMEN = {"betriebsanschrift-street": "Am Wall 120", "betriebsanschrift-postcode": "28195",
          "betriebsanschrift-city": "Bremen"}


@pytest.fixture
def company(client, login_as):
    login_as("lea.hansen")
    return client


def test_the_activities_are_checkboxes_in_a_fieldset_with_a_legend(company):
    html = company.get(to_step(company, MAKLER, answers(), "taetigkeit")).get_data(as_text=True)
    fieldset = re.search(r'<fieldset[^>]*id="taetigkeiten".*?</fieldset>', html, re.S)
    assert fieldset, "no fieldset for the activities"
    block = fieldset.group(0)
    assert re.search(r"<legend[^>]*>Für welche Tätigkeiten nach § 34c Abs. 1 Satz 1 GewO[^<]*"
                     r'<span class="kern-label__optional">\(Pflichtfeld\)', block)
    boxes = re.findall(r'<input class="kern-form-check__checkbox" type="checkbox"\s+id="(taetigkeiten-\d)" '
                       r'name="taetigkeiten" value="(\w+)"', block)
    assert [value for _id, value in boxes] == ["makler", "darlehensvermittler", "bautraeger", "baubetreuer",
                                                "wohnimmobilienverwalter"]
    for box_id, _value in boxes:
        assert f'<label class="kern-label" for="{box_id}">' in block
    assert 'aria-describedby="taetigkeiten-hint"' in block


def test_at_least_one_activity_is_required_and_only_those_offered(company):
    path = to_step(company, MAKLER, answers(), "taetigkeit")
    resp = post_step(company, path, {**answers(), "taetigkeiten": []})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Bitte wählen Sie mindestens einen Eintrag aus." in html
    assert 'href="#taetigkeiten"' in html and 'aria-invalid="true"' in html
    assert post_step(company, path, {**answers(), "taetigkeiten": ["makler", "versicherungsmakler"]}).status_code == 422
    resp = post_step(company, path, {**answers(), "taetigkeiten": ["wohnimmobilienverwalter", "makler"]})
    assert resp.status_code == 302
    page = company.get(path).get_data(as_text=True)  # the ticks are kept when the step is opened again
    assert re.search(r'value="makler"\s+checked', page) and re.search(r'value="wohnimmobilienverwalter"\s+checked',
                                                                      page)
    assert not re.search(r'value="bautraeger"\s+checked', page)


def test_the_insurance_is_asked_only_of_a_residential_property_manager(company):
    assert "versicherung" not in visited(company, MAKLER, answers(taetigkeiten=["makler", "bautraeger"]))
    path = to_step(company, MAKLER, answers(taetigkeiten=["makler", "wohnimmobilienverwalter"]), "versicherung")
    assert post_step(company, path, {"versicherer": ""}).status_code == 422


def test_review_status_receipt_payload_and_the_office_name_the_activities(app, company):
    every = answers(taetigkeiten=["baubetreuer", "makler"], **BREMEN)
    path = to_step(company, MAKLER, every, "unterlagen")
    post_step(company, path, every, files=MAKLER_FILES)
    review = company.get(path.rsplit("/", 1)[0] + "/pruefen").get_data(as_text=True)
    assert NR_1 in review and NR_3B in review and review.index(NR_1) < review.index(NR_3B)
    assert NR_4 not in review

    reference = file_service(company, MAKLER, every, files=MAKLER_FILES)
    detail = company.get(f"/antraege/{reference}").get_data(as_text=True)
    assert NR_1 in detail and NR_3B in detail
    pdf = company.get(f"/antraege/{reference}/eingangsbestaetigung.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Nr. 1: den Abschluss von Verträgen über Grundstücke" in text and "(Baubetreuer)" in text
    assert payload_of(app, reference).data["taetigkeiten"] == ["makler", "baubetreuer"]

    assert Worker(app).run_once() == 1
    staff = staff_client(app, "gewerbeamt.bremen")
    item = staff.get(item_path(staff, reference)).get_data(as_text=True)
    assert NR_1 in item and NR_3B in item


def _copy_catalog(tmp_path):
    target = tmp_path / "services"
    shutil.copytree(loader.DEFINITIONS_DIR, target)
    return target


@pytest.mark.parametrize(("old", "new", "message"), [
    ('show_if = { field = "taetigkeiten", contains = "wohnimmobilienverwalter" }',
     'show_if = { field = "taetigkeiten", equals = "wohnimmobilienverwalter" }',
     "field 'steps[16].show_if.equals': a multichoice field is tested with 'contains', and only it"),
    ('show_if = { field = "taetigkeiten", contains = "wohnimmobilienverwalter" }',
     'show_if = { field = "taetigkeiten", contains = "hausmeister" }',
     "field 'steps[16].show_if.contains': 'hausmeister' is not a choice of 'taetigkeiten'"),
    ('show_if = { field = "juristische_person", equals = true }',
     'show_if = { field = "juristische_person", contains = true }',
     "only a multichoice field is tested with 'contains'"),
    ('  { name = "zeitraum", type = "text", max_length = 50, label = { de = "Zeitraum", en = "Period" }, '
     'hint = { de = "Zum Beispiel „seit 01/2022“.", en = "For example \\"since 01/2022\\"." } },',
     '  { name = "zeitraum", type = "multichoice", label = { de = "Zeitraum", en = "Period" }, choices = ['
     '{ value = "a", label = { de = "a", en = "a" } }, { value = "b", label = { de = "b", en = "b" } }] },',
     "fields.leitende_taetigkeiten.fields.zeitraum.type': groups cannot contain groups, files or multichoice fields"),
])
def test_a_misused_multichoice_is_refused_with_file_and_field(tmp_path, old, new, message):
    directory = _copy_catalog(tmp_path)
    path = directory / "immobilienmakler-34c.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(DefinitionError) as exc:
        load_catalog(directory)
    assert "immobilienmakler-34c.toml: " in str(exc.value) and message in str(exc.value)


def test_each_activity_reads_as_section_34c_1_names_it():
    """The wording of § 34c Abs. 1 Satz 1 GewO: Nr. 1 and 2 include proving the opportunity to
    conclude a contract, Nr. 3 a requires the use of others' assets (a developer using only its own
    money needs no licence), Nr. 3 b is the economic preparation, Nr. 4 names WEG and § 549 BGB."""
    field = next(f for f in load_catalog()[MAKLER].fields if f.name == "taetigkeiten")
    label = {c.value: c.label.de for c in field.choices}
    assert "oder die Gelegenheit zum Abschluss solcher Verträge nachweisen" in label["makler"]
    assert "oder die Gelegenheit zum Abschluss solcher Verträge nachweisen" in label["darlehensvermittler"]
    assert "mit Ausnahme von Verträgen im Sinne des § 34i Abs. 1 Satz 1 GewO" in label["darlehensvermittler"]
    assert ("für eigene oder fremde Rechnung vorbereiten oder durchführen und dazu Vermögenswerte von Erwerbern, "
            "Mietern, Pächtern oder sonstigen Nutzungsberechtigten oder von Bewerbern um Erwerbs- oder "
            "Nutzungsrechte verwenden") in label["bautraeger"]
    assert "im fremden Namen für fremde Rechnung wirtschaftlich vorbereiten oder durchführen" in label["baubetreuer"]
    assert "im Sinne des § 1 Abs. 2, 3, 5 und 6 WEG" in label["wohnimmobilienverwalter"]
    assert "Mietverhältnisse über Wohnräume im Sinne des § 549 BGB" in label["wohnimmobilienverwalter"]


def test_the_objects_of_nr_1_and_the_assets_of_nr_3a_follow_their_activity(app, company):
    """The Hamburg form's boxes 4.1 (land, dwellings, rights equivalent to land, commercial premises)
    and 4.3 a (assets of buyers, tenants, lessees, other users, applicants): each asked only after
    its activity is ticked, at least one, filed as a list."""
    catalog = load_catalog()[MAKLER]
    fields = {f.name: f for f in catalog.fields}
    assert [c.value for c in fields["makler_objekte"].choices] == [
        "grundstuecke", "grundstuecksgleiche_rechte", "gewerbliche_raeume", "wohnraeume"]
    assert [c.value for c in fields["bautraeger_vermoegenswerte"].choices] == [
        "erwerber", "mieter", "paechter", "sonstige_nutzungsberechtigte", "bewerber"]
    steps = visited(company, MAKLER, answers(taetigkeiten=["baubetreuer"]))
    assert not {"makler_umfang", "bautraeger_umfang"} & set(steps)
    steps = visited(company, MAKLER, answers(taetigkeiten=["makler", "bautraeger"]))
    assert steps.index("taetigkeit") < steps.index("makler_umfang") < steps.index("bautraeger_umfang")
    path = to_step(company, MAKLER, answers(taetigkeiten=["makler"]), "makler_umfang")
    resp = post_step(company, path, {"makler_objekte": []})
    assert resp.status_code == 422 and "Bitte wählen Sie mindestens einen Eintrag aus." in resp.get_data(as_text=True)
    path = to_step(company, MAKLER, answers(taetigkeiten=["bautraeger"]), "bautraeger_umfang")
    assert post_step(company, path, {"bautraeger_vermoegenswerte": ["kaeufer"]}).status_code == 422

    every = answers(taetigkeiten=["makler", "bautraeger"], makler_objekte=["wohnraeume", "grundstuecke"],
                    bautraeger_vermoegenswerte=["mieter", "erwerber"])
    reference = file_service(company, MAKLER, every, files=MAKLER_FILES)
    data = payload_of(app, reference).data
    assert data["makler_objekte"] == ["grundstuecke", "wohnraeume"]
    assert data["bautraeger_vermoegenswerte"] == ["erwerber", "mieter"]
    detail = company.get(f"/antraege/{reference}").get_data(as_text=True)
    assert "Grundstücke, Wohnräume" in detail and "Erwerberinnen und Erwerber, Mieterinnen und Mieter" in detail
