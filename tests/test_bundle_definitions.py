"""Bundle files are checked against the services at start: a broken one names its file and field."""

from __future__ import annotations

import pytest

from bizportal.catalog.bundle_loader import load_bundle_text, load_bundles
from bizportal.catalog.loader import DefinitionError, load_catalog

CATALOG = load_catalog()

HEAD = '''
key = "test-lage"
title = { de = "Testlage", en = "Test event" }
summary = { de = "Zum Testen.", en = "For tests." }
'''
SERVICES = '''
[[services]]
service = "gewerbeanmeldung"
reason = { de = "Immer.", en = "Always." }

[[services]]
service = "handwerksrolle-eintragung"
when = { field = "handwerk", equals = true }
reason = { de = "Handwerk.", en = "Craft." }
'''
HANDWERK = '''
[[fields]]
name = "handwerk"
type = "yesno"
label = { de = "Handwerk?", en = "Craft?" }
maps = { gewerbeanmeldung = "handwerk" }
'''


def bundle(text: str):
    return load_bundle_text(HEAD + text, "test-lage.toml", CATALOG)


def test_the_shipped_bundles_load_and_name_existing_services():
    bundles = load_bundles(CATALOG)
    assert {"betrieb-gruenden", "betrieb-uebernehmen", "betrieb-verlegen-aufgeben"} <= set(bundles)
    founding = bundles["betrieb-gruenden"]
    assert [s.service for s in founding.chosen({"handwerk_anlage": "a", "ausbilden": True})] == [
        "gewerbeanmeldung", "handwerksrolle-eintragung", "ausbildungsvertrag-eintragung"]
    assert founding.shared_answers("ausbildungsvertrag-eintragung", {"street": "Am Wall 1", "postcode": "28195"}) \
        == {"betriebsanschrift": {"street": "Am Wall 1", "postcode": "28195"}}


def test_a_valid_bundle_maps_its_shared_question():
    b = bundle(SERVICES + HANDWERK)
    assert b.shared_answers("gewerbeanmeldung", {"handwerk": True}) == {"handwerk": True}
    assert [s.service for s in b.chosen({"handwerk": False})] == ["gewerbeanmeldung"]


def test_a_shared_question_mapped_to_a_missing_field_names_file_and_field():
    text = SERVICES + HANDWERK.replace('gewerbeanmeldung = "handwerk"', 'gewerbeanmeldung = "handwerkk"')
    with pytest.raises(DefinitionError, match=r"test-lage\.toml: field 'fields\.handwerk\.maps\.gewerbeanmeldung'"
                                              r".*no field 'handwerkk'"):
        bundle(text)


def test_a_question_of_another_type_cannot_fill_a_field():
    text = SERVICES + HANDWERK.replace('gewerbeanmeldung = "handwerk"', 'gewerbeanmeldung = "start_date"')
    with pytest.raises(DefinitionError, match="fields.handwerk.maps.gewerbeanmeldung.*yesno question cannot fill"):
        bundle(text)


def test_a_service_listed_twice_conflicts():
    text = SERVICES + SERVICES.split("[[services]]")[1].join(["[[services]]", ""]) + HANDWERK
    with pytest.raises(DefinitionError, match=r"field 'services\[2\]\.service': the services conflict"):
        bundle(text)


def test_two_questions_filling_one_field_conflict():
    text = SERVICES + HANDWERK + HANDWERK.replace('name = "handwerk"', 'name = "handwerk2"')
    with pytest.raises(DefinitionError, match="fields.handwerk2.maps.gewerbeanmeldung.*the answers conflict"):
        bundle(text)


def test_a_condition_on_an_unknown_question_is_refused():
    text = SERVICES.replace('field = "handwerk"', 'field = "craft"') + HANDWERK
    with pytest.raises(DefinitionError, match=r"services\[1\]\.when\.field.*no earlier field named 'craft'"):
        bundle(text)


def test_an_unknown_service_is_refused():
    text = SERVICES.replace('"handwerksrolle-eintragung"', '"handwerksrolle"') + HANDWERK
    with pytest.raises(DefinitionError, match=r"services\[1\]\.service.*no service 'handwerksrolle'"):
        bundle(text)


def test_a_choice_question_needs_choices_the_field_has():
    text = SERVICES + HANDWERK + '''
[[fields]]
name = "grund"
type = "choice"
label = { de = "Grund", en = "Reason" }
choices = [
  { value = "kauf", label = { de = "Kauf", en = "Purchase" } },
  { value = "tausch", label = { de = "Tausch", en = "Swap" } },
]
maps = { gewerbeanmeldung = "grund" }
'''
    with pytest.raises(DefinitionError, match=r"\['tausch'\] are not choices of 'grund'"):
        bundle(text)


def test_a_broken_bundle_stops_the_start(app_factory, tmp_path, monkeypatch):
    from bizportal.catalog import bundle_loader

    (tmp_path / "test-lage.toml").write_text(HEAD + SERVICES + HANDWERK.replace('= "handwerk" }', '= "nope" }'),
                                              encoding="utf-8")
    monkeypatch.setattr(bundle_loader, "BUNDLES_DIR", tmp_path)
    with pytest.raises(DefinitionError, match="test-lage.toml: field 'fields.handwerk.maps.gewerbeanmeldung'"):
        app_factory()


PRESET = 'reason = { de = "Immer.", en = "Always." }\npresets = [{ field = "grund", value = "neugruendung" }]'


def test_a_preset_gives_a_service_field_its_fixed_value():
    b = bundle(SERVICES.replace('reason = { de = "Immer.", en = "Always." }', PRESET, 1) + HANDWERK)
    assert b.shared_answers("gewerbeanmeldung", {"handwerk": True}) == {"grund": "neugruendung", "handwerk": True}
    assert b.shared_answers("handwerksrolle-eintragung", {"handwerk": True}) == {}


def test_a_preset_value_must_be_a_choice_of_the_field():
    text = SERVICES.replace('reason = { de = "Immer.", en = "Always." }',
                            PRESET.replace("neugruendung", "gruendung"), 1) + HANDWERK
    with pytest.raises(DefinitionError, match=r"test-lage\.toml: field 'services\[0\]\.presets\[0\]\.value': "
                                              r"'gruendung' is not a choice of 'grund' in 'gewerbeanmeldung' "
                                              r"\(gewerbeanmeldung\.toml\)"):
        bundle(text)


def test_a_preset_of_a_missing_field_names_file_and_field():
    text = SERVICES.replace('reason = { de = "Immer.", en = "Always." }',
                            PRESET.replace('field = "grund"', 'field = "reason"'), 1) + HANDWERK
    with pytest.raises(DefinitionError, match=r"services\[0\]\.presets\[0\]\.field'.*no field 'reason'"):
        bundle(text)


def test_a_preset_on_a_field_a_question_fills_conflicts():
    preset = PRESET.replace('field = "grund", value = "neugruendung"', 'field = "handwerk", value = true')
    text = SERVICES.replace('reason = { de = "Immer.", en = "Always." }', preset, 1) + HANDWERK
    with pytest.raises(DefinitionError, match=r"services\[0\]\.presets\[0\]\.field.*'handwerk' fills 'handwerk'"):
        bundle(text)


def test_two_presets_of_one_field_must_exclude_each_other():
    two = ('reason = { de = "Immer.", en = "Always." }\npresets = [\n'
           '  { field = "grund", value = "neugruendung", when = { field = "handwerk", equals = true } },\n'
           '  { field = "grund", value = "kauf", when = { field = "handwerk", equals = %s } },\n]')
    services_text = SERVICES.replace("[[services]]", "", 1).split("[[services]]", 1)
    ok = "[[services]]" + services_text[0].replace('reason = { de = "Immer.", en = "Always." }', two % "false")
    later = ok.replace(two % "false", two % "true")
    # conditions refer to questions, so the questions come first in the file's tables order
    b = bundle(HANDWERK.replace('maps = { gewerbeanmeldung = "handwerk" }', "") + ok)
    assert b.shared_answers("gewerbeanmeldung", {"handwerk": False}) == {"grund": "kauf"}
    with pytest.raises(DefinitionError, match=r"presets\[1\]\.field.*the presets conflict: 'grund'"):
        bundle(HANDWERK.replace('maps = { gewerbeanmeldung = "handwerk" }', "") + later)


def test_a_distinct_rule_names_known_questions():
    text = SERVICES + HANDWERK + '''
[[distinct]]
first = ["handwerk"]
second = ["handwerk_neu"]
message = { de = "Gleich.", en = "Alike." }
'''
    with pytest.raises(DefinitionError, match=r"test-lage\.toml: field 'distinct\[0\]\.second': no question named "
                                              r"'handwerk_neu'"):
        bundle(text)
