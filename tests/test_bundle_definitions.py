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


# --- repeating groups (the persons behind the business) ------------------------------------------

PERSON_SERVICES = '''
[[services]]
service = "versicherungsvermittler-34d"
reason = { de = "Immer.", en = "Always." }

[[services]]
service = "handwerk-verzeichnis-eintragung"
reason = { de = "Immer.", en = "Always." }
'''
PERSONS = '''
[[fields]]
name = "personen"
type = "group"
max_items = 10
label = { de = "Personen", en = "Persons" }
fields = [
  { name = "familienname", type = "text", max_length = 100, label = { de = "Name", en = "Surname" } },
  { name = "vornamen", type = "text", max_length = 100, label = { de = "Vornamen", en = "First names" } },
  { name = "geburtsdatum", type = "date", label = { de = "Geburtsdatum", en = "Date of birth" } },
  { name = "geburtsort", type = "text", max_length = 100, label = { de = "Geburtsort", en = "Place of birth" } },
]
maps.versicherungsvermittler-34d.field = "vertretungsberechtigte"
maps.versicherungsvermittler-34d.items.family_name = "familienname"
maps.versicherungsvermittler-34d.items.given_names = "vornamen"
maps.versicherungsvermittler-34d.items.birth_date = "geburtsdatum"
maps.versicherungsvermittler-34d.items.birth_place = "geburtsort"
maps.handwerk-verzeichnis-eintragung.field = "inhaber"
maps.handwerk-verzeichnis-eintragung.first.family_name = "familienname"
maps.handwerk-verzeichnis-eintragung.first.given_names = "vornamen"
maps.handwerk-verzeichnis-eintragung.first.birth_date = "geburtsdatum"
'''
TWO = [{"familienname": "Becker", "vornamen": "Anna", "geburtsdatum": "1980-05-17", "geburtsort": "Bremen"},
       {"familienname": "Demir", "vornamen": "Yusuf", "geburtsdatum": "1979-02-11", "geburtsort": "Izmir"}]


def test_a_group_question_fills_every_entry_of_a_group_and_one_person_from_its_first():
    b = bundle(PERSON_SERVICES + PERSONS)
    assert b.shared_answers("versicherungsvermittler-34d", {"personen": TWO}) == {"vertretungsberechtigte": [
        {"family_name": "Becker", "given_names": "Anna", "birth_date": "1980-05-17", "birth_place": "Bremen"},
        {"family_name": "Demir", "given_names": "Yusuf", "birth_date": "1979-02-11", "birth_place": "Izmir"}]}
    assert b.shared_answers("handwerk-verzeichnis-eintragung", {"personen": TWO}) == {"inhaber": {
        "family_name": "Becker", "given_names": "Anna", "birth_date": "1980-05-17"}}
    assert b.shared_answers("versicherungsvermittler-34d", {"personen": []}) == {}  # nothing given, nothing bound


def test_a_country_gives_a_persons_nationality_as_the_states_name_and_fills_no_other_part():
    country = PERSONS.replace(
        '  { name = "geburtsort",',
        '  { name = "staat", type = "country", label = { de = "Staatsangehörigkeit", en = "Nationality" } },\n'
        '  { name = "geburtsort",') + 'maps.handwerk-verzeichnis-eintragung.first.nationality = "staat"\n'
    b = bundle(PERSON_SERVICES + country)
    given = b.shared_answers("handwerk-verzeichnis-eintragung", {"personen": [{**TWO[1], "staat": "TR"}]})
    assert given["inhaber"]["nationality"] == "Türkei"
    with pytest.raises(DefinitionError, match=r"first\.birth_place': the birth_place of a person takes a text "
                                              r"sub-field, 'staat' is a country field"):
        bundle(PERSON_SERVICES + country.replace('first.nationality = "staat"', 'first.birth_place = "staat"'))


def test_a_count_of_entries_fills_only_a_number_field():
    with pytest.raises(DefinitionError, match=r"maps\.versicherungsvermittler-34d\.count\.field': a count fills a "
                                              r"number field; 'business_name' is a text field"):
        bundle(PERSON_SERVICES + PERSONS + 'maps.versicherungsvermittler-34d.count = "business_name"\n')


def test_a_group_mapped_to_an_unknown_group_names_file_and_field():
    with pytest.raises(DefinitionError, match=r"test-lage\.toml: field 'fields\.personen\.maps\."
                                              r"versicherungsvermittler-34d\.field': service "
                                              r"'versicherungsvermittler-34d' .* no field 'vertreter'"):
        bundle(PERSON_SERVICES + PERSONS.replace('field = "vertretungsberechtigte"', 'field = "vertreter"'))


def test_an_unknown_sub_field_of_the_target_group_is_refused():
    with pytest.raises(DefinitionError, match=r"maps\.versicherungsvermittler-34d\.items\.surname': "
                                              r"'vertretungsberechtigte' of 'versicherungsvermittler-34d' .* has no "
                                              r"sub-field 'surname'"):
        bundle(PERSON_SERVICES + PERSONS.replace("items.family_name =", "items.surname ="))


def test_a_sub_field_of_another_type_cannot_fill_a_sub_field():
    text = PERSONS.replace('items.family_name = "familienname"', 'items.family_name = "geburtsdatum"')
    with pytest.raises(DefinitionError, match=r"items\.family_name': a date question cannot fill the text field "
                                              r"'vertretungsberechtigte\.family_name'"):
        bundle(PERSON_SERVICES + text)


def test_a_group_with_more_entries_than_the_target_holds_is_refused():
    with pytest.raises(DefinitionError, match=r"maps\.versicherungsvermittler-34d': the question allows 20 "
                                              r"entries, 'vertretungsberechtigte' of 'versicherungsvermittler-34d' "
                                              r"holds at most 10"):
        bundle(PERSON_SERVICES + PERSONS.replace("max_items = 10", "max_items = 20"))


def test_a_group_that_may_stay_empty_cannot_fill_a_group_that_needs_an_entry():
    with pytest.raises(DefinitionError, match=r"maps\.versicherungsvermittler-34d': the question allows 0 "
                                              r"entries, 'vertretungsberechtigte' of 'versicherungsvermittler-34d' "
                                              r"needs at least 1"):
        bundle(PERSON_SERVICES + PERSONS.replace("max_items = 10", "min_items = 0\nmax_items = 10"))


def test_a_required_sub_field_of_the_target_left_out_is_refused():
    text = PERSONS.replace('maps.versicherungsvermittler-34d.items.birth_place = "geburtsort"\n', "")
    with pytest.raises(DefinitionError, match=r"items': the required sub-field 'birth_place' of "
                                              r"'vertretungsberechtigte' in 'versicherungsvermittler-34d' is not "
                                              r"filled"):
        bundle(PERSON_SERVICES + text)


def test_an_optional_sub_field_cannot_fill_a_required_one():
    text = PERSONS.replace('{ name = "geburtsort", type = "text",', '{ name = "geburtsort", type = "text", '
                                                                    'required = false,')
    with pytest.raises(DefinitionError, match=r"items\.birth_place': 'birth_place' of 'vertretungsberechtigte' is "
                                              r"required, the question's 'geburtsort' is not"):
        bundle(PERSON_SERVICES + text)


def test_a_required_person_needs_its_required_parts_from_the_first_entry():
    text = PERSONS.replace('maps.handwerk-verzeichnis-eintragung.first.birth_date = "geburtsdatum"\n', "")
    with pytest.raises(DefinitionError, match=r"maps\.handwerk-verzeichnis-eintragung\.first': the required person "
                                              r"field 'inhaber' of 'handwerk-verzeichnis-eintragung' needs its part "
                                              r"'birth_date'"):
        bundle(PERSON_SERVICES + text)


def test_a_group_question_named_as_a_plain_field_is_refused():
    text = PERSONS.split("maps.handwerk-verzeichnis-eintragung.field")[0] + \
        'maps.handwerk-verzeichnis-eintragung = "inhaber"\n'
    with pytest.raises(DefinitionError, match=r"maps\.handwerk-verzeichnis-eintragung': a group question maps as"):
        bundle(PERSON_SERVICES + text)


def _founding(change_from: str, change_to: str):
    from bizportal.catalog.bundle_loader import BUNDLES_DIR

    text = (BUNDLES_DIR / "betrieb-gruenden.toml").read_text(encoding="utf-8")
    assert change_from in text
    return load_bundle_text(text.replace(change_from, change_to, 1), "betrieb-gruenden.toml", CATALOG)


def test_the_persons_of_the_gewerbeanmeldung_need_every_required_sub_field():
    with pytest.raises(DefinitionError, match=r"betrieb-gruenden\.toml: field 'fields\.personen\.maps\.gewerbeanmeldung"
                                              r"\.items': the required sub-field 'geschlecht' of 'personen'"):
        _founding('geschlecht = "geschlecht", ', "")


def test_a_sub_field_shown_under_another_condition_than_its_target_is_refused():
    # the residence title is asked only of non-EU nationals in GewA 1: the bundle must ask it alike
    with pytest.raises(DefinitionError, match=r"maps\.gewerbeanmeldung\.items\.aufenthaltstitel': the question's "
                                              r"'aufenthaltstitel' must be shown under the same condition"):
        _founding('show_if = { field = "staatsangehoerigkeit", not_in = ["AT", ',
                  'show_if = { field = "staatsangehoerigkeit", not_in = [')


def test_a_role_the_gewerbeanmeldung_does_not_know_is_refused():
    with pytest.raises(DefinitionError, match=r"items\.funktion': choice\(s\) \['prokura'\] are not choices of "
                                              r"'personen\.funktion' in 'gewerbeanmeldung'"):
        _founding('{ value = "vertreter", label', '{ value = "prokura", label = { de = "Prokura", en = "Prokura" } },\n'
                                                  '    { value = "vertreter", label')


def test_a_required_reason_is_kept_in_both_languages_and_refused_without_english():
    text = SERVICES.replace('reason = { de = "Immer.", en = "Always." }', 'reason = { de = "Immer.", en = "Always." }\n'
                            'required_reason = { de = "Pflicht (§ 14 GewO).", en = "Compulsory (§ 14 GewO)." }')
    b = bundle(text + HANDWERK)
    assert b.services[0].required_reason.en == "Compulsory (§ 14 GewO)."
    assert b.services[1].required_reason is None
    with pytest.raises(DefinitionError, match=r"services\[0\]\.required_reason.*'de' and 'en'"):
        bundle(text.replace(', en = "Compulsory (§ 14 GewO)."', "") + HANDWERK)


def test_every_service_of_the_shipped_bundles_says_why_the_law_requires_it():
    for key, b in load_bundles(CATALOG).items():
        for entry in b.services:
            assert entry.required_reason is not None, (key, entry.service)
            assert "§" in entry.required_reason.de and "§" in entry.required_reason.en, (key, entry.service)


CRAFT = '''
[[fields]]
name = "gewerk"
type = "choice"
choices_from = "{ref}"
label = {{ de = "Handwerk?", en = "Craft?" }}
maps = {{ handwerksrolle-eintragung = "trade" }}
'''


def test_a_question_takes_the_choices_of_a_services_field():
    b = bundle(SERVICES + HANDWERK + CRAFT.format(ref="handwerksrolle-eintragung.trade"))
    trade = next(fd for fd in CATALOG["handwerksrolle-eintragung"].fields if fd.name == "trade")
    gewerk = next(fd for fd in b.questionnaire.fields if fd.name == "gewerk")
    assert [(c.value, c.label.de) for c in gewerk.choices] == [(c.value, c.label.de) for c in trade.choices]
    assert len(gewerk.choices) >= 53


@pytest.mark.parametrize(("ref", "problem"), [
    ("handwerksrolle-eintragung.tradee", "has no field 'tradee' with choices"),
    ("handwerksrolle-eintragung.city", "has no field 'city' with choices"),
    ("handwerksrole-eintragung.trade", "must name a service of the catalog"),
    ("trade", "must name a service of the catalog"),
])
def test_choices_from_a_field_that_has_none_names_file_and_field(ref, problem):
    with pytest.raises(DefinitionError, match=r"test-lage\.toml: field 'fields\[\d+\]\.choices_from'.*" + problem):
        bundle(SERVICES + HANDWERK + CRAFT.format(ref=ref))
