"""What the third new-user trial of the life-event bundles still found asked twice or wrong (issue 16,
"a founder answers each question once and every competent body receives its filing"): the move's
activity, the founders' activity and staff in the Verzeichnis, the Handwerkskarte of a
Gewerbeanmeldung filed with the chamber's entry, the training contract's e-mail. Each is filed
over HTTP and read as its receiver got it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bizportal.catalog.bundle_loader import load_bundle_text
from bizportal.catalog.loader import DefinitionError
from bizportal.delivery.worker import Worker
from bizportal.extensions import db
from bizportal.inbox.models import InboxItem
from tests.support.bundles import (
    AUSBILDUNG,
    CHILD_ANSWERS,
    FILES,
    HWK_FORM,
    MOVE,
    MOVE_ANSWERS,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    given_values,
    press,
    service_drafts,
    submit,
)
from tests.support.filing import path_of, start_draft
from tests.support.http import csrf_token

FOUNDING = {**SHARED, **PLANS, "handwerk_anlage": "a", "ausbilden": "no"}
#: what the Verzeichnis still needs beyond the bundle's answers (a cleaning business, Anlage B1)
VERZEICHNIS = {"email": "anna.becker@becker-elektro.example", "anlage": "b1", "gewerbe": "Gebäudereiniger",
               **HWK_FORM}
CARD_NOTE = "Die Eintragung in die Handwerksrolle beantragen Sie mit diesem Vorhaben"


def _page(client, draft_id: str, step: str) -> str:
    page = client.get(f"/antraege/entwurf/{draft_id}/{step}")
    assert page.status_code == 200, page.headers.get("Location")
    return page.get_data(as_text=True)


def _received(app) -> dict[tuple[str, str], dict]:
    """What each receiver got, by (service, role), after the worker delivered."""
    Worker(app).run_once()
    with app.app_context():
        return {(i.service_key, i.destination_role): i.data for i in db.session.scalars(select(InboxItem))}


def test_a_move_asks_the_activity_once_for_the_abmeldung_and_the_new_anmeldung(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", MOVE)
    drafts = service_drafts(client, overview)
    for key, name in (("gewerbeabmeldung", "taetigkeit"), ("gewerbeanmeldung", "activity")):
        shown = complete_draft(client, drafts[key], MOVE_ANSWERS)
        assert "taetigkeit" not in shown, (key, shown)  # the bundle answers the step whole
        page = _page(client, drafts[key], "taetigkeit")
        assert f'name="{name}"' not in page
        assert given_values(page)[name] == MOVE["taetigkeit"]
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    assert received[("gewerbeabmeldung", "primary")]["taetigkeit"] == MOVE["taetigkeit"]
    assert received[("gewerbeanmeldung", "primary")]["activity"] == MOVE["taetigkeit"]


def test_a_move_within_the_municipality_gives_the_ummeldung_the_same_activity(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-verlegen-aufgeben", {**MOVE, "vorhaben": "verlegen_gemeinde",
                                                                          "new_postcode": "28217",
                                                                          "new_city": "Bremen"})
    drafts = service_drafts(client, overview)
    assert set(drafts) == {"gewerbeummeldung"}
    shown = complete_draft(client, drafts["gewerbeummeldung"],
                           {**MOVE_ANSWERS, "handwerk_bezeichnung": "Elektrotechniker"})
    assert "taetigkeit" not in shown, shown
    page = _page(client, drafts["gewerbeummeldung"], "taetigkeit")
    assert 'name="taetigkeit"' not in page
    assert given_values(page)["taetigkeit"] == MOVE["taetigkeit"]


def test_a_founder_of_an_anlage_b_craft_gives_activity_and_staff_once(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", {**FOUNDING, "handwerk_anlage": "b"})
    press(client, overview)
    drafts = service_drafts(client, overview)
    shown = complete_draft(client, drafts["gewerbeanmeldung"], CHILD_ANSWERS, FILES)
    assert "beschaeftigte" not in shown  # full and part time come from the bundle
    page = _page(client, drafts["gewerbeanmeldung"], "taetigkeit")
    assert 'name="activity"' not in page and given_values(page)["activity"] == PLANS["taetigkeit"]
    # field 29 is for Anlage A crafts: "Nein", given by the bundle with the Verzeichnis
    card = _page(client, drafts["gewerbeanmeldung"], "handwerk_angaben")
    assert given_values(card)["handwerkskarte_vorhanden"] == "Nein"
    assert "Die Frage gilt nur für Handwerke der Anlage A HwO." in card

    verzeichnis = drafts["handwerk-verzeichnis-eintragung"]
    complete_draft(client, verzeichnis, VERZEICHNIS)  # no activity, no employees in the answers
    page = _page(client, verzeichnis, "taetigkeit")
    assert 'name="taetigkeit"' not in page and 'name="beschaeftigte"' not in page
    assert given_values(page)["taetigkeit"] == PLANS["taetigkeit"]
    assert given_values(page)["beschaeftigte"] == "3"
    assert 'name="gewerbe"' in page  # the name of the Anlage B craft stays the Verzeichnis's question

    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    entry, notification = received[("handwerk-verzeichnis-eintragung", "primary")], received[
        ("gewerbeanmeldung", "primary")]
    assert entry["taetigkeit"] == notification["activity"] == PLANS["taetigkeit"]
    assert (notification["vollzeit"], notification["teilzeit"], entry["beschaeftigte"]) == (2, 1, 3)
    assert notification["handwerkskarte_vorhanden"] is False


def test_the_gewerbeanmeldung_does_not_ask_for_the_craft_card_while_the_handwerksrolle_entry_is_filed(
        app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    press(client, overview)
    drafts = service_drafts(client, overview)
    shown = complete_draft(client, drafts["gewerbeanmeldung"], {**CHILD_ANSWERS, "handwerkskarte_vorhanden": "yes"})
    assert "handwerk_angaben" not in shown and "handwerkskarte_angaben" not in shown
    page = _page(client, drafts["gewerbeanmeldung"], "handwerk_angaben")
    assert 'name="handwerkskarte_vorhanden"' not in page
    assert given_values(page)["handwerkskarte_vorhanden"] == "Nein"
    assert CARD_NOTE in page
    complete_draft(client, drafts["handwerksrolle-eintragung"], CHILD_ANSWERS, FILES)

    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    assert received[("gewerbeanmeldung", "primary")]["handwerkskarte_vorhanden"] is False
    assert received[("gewerbeanmeldung", "copy")]["handwerkskarte_vorhanden"] is False  # the HWK's copy
    assert ("handwerksrolle-eintragung", "primary") in received


def test_the_craft_card_is_asked_again_when_the_handwerksrolle_entry_is_left_out(app, client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    press(client, overview)
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    complete_draft(client, gewerbe, CHILD_ANSWERS, FILES)

    html = press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    assert re.search(r'id="wieder-offen-gewerbeanmeldung">[^<]*„Handwerkskarte“', html)
    resp = client.get(f"/antraege/entwurf/{gewerbe}/pruefen")
    assert path_of(resp.headers["Location"]).endswith("/handwerk_angaben")
    page = _page(client, gewerbe, "handwerk_angaben")
    assert re.search(r'<input[^>]*name="handwerkskarte_vorhanden"', page)
    assert "handwerkskarte_vorhanden" not in given_values(page) and CARD_NOTE not in page
    # the founder has a card from an earlier entry: her answer is filed, with its date and chamber
    assert complete_draft(client, gewerbe, {"handwerkskarte_vorhanden": "yes", "handwerkskarte_datum": "2019-05-02",
                                            "handwerkskarte_kammer": "Handwerkskammer Bremen"}) == [
        "handwerk_angaben", "handwerkskarte_angaben"]
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    assert ("handwerksrolle-eintragung", "primary") not in received
    notification = received[("gewerbeanmeldung", "primary")]
    assert (notification["handwerkskarte_vorhanden"], notification["handwerkskarte_datum"]) == (True, "2019-05-02")


def test_taking_the_handwerksrolle_entry_back_gives_the_answer_again(client, login_as):
    login_as("anna.becker")
    overview = answer_questionnaire(client, "betrieb-gruenden", FOUNDING)
    press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    gewerbe = service_drafts(client, overview)["gewerbeanmeldung"]
    assert "handwerk_angaben" in complete_draft(client, gewerbe, CHILD_ANSWERS, FILES)  # asked without the entry
    press(client, overview, service="handwerksrolle-eintragung", leave_out="no")
    page = _page(client, gewerbe, "handwerk_angaben")
    assert given_values(page)["handwerkskarte_vorhanden"] == "Nein" and CARD_NOTE in page
    resp = client.get(f"/antraege/entwurf/{gewerbe}/pruefen")  # the Gewerbeanmeldung is complete
    assert path_of(resp.headers["Location"]).endswith(overview.rsplit("/", 1)[-1])


def test_the_training_contract_takes_the_companys_email_from_the_account(app, client, login_as):
    login_as("anna.becker")  # no address for notifications given: the login's e-mail reaches the company
    overview = answer_questionnaire(client, "betrieb-gruenden", {**SHARED, **PLANS, "handwerk_anlage": "a"})
    press(client, overview, service="gewerbeanmeldung", leave_out="yes")
    press(client, overview, service="handwerksrolle-eintragung", leave_out="yes")
    training = service_drafts(client, overview)["ausbildungsvertrag-eintragung"]
    page = _page(client, training, "betrieb")
    assert re.search(r'<input[^>]*name="ausbildende_email"[^>]*value="anna.becker@becker-elektro.example"', page)
    complete_draft(client, training, {k: v for k, v in AUSBILDUNG.items() if k != "ausbildende_email"}, FILES)
    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    received = _received(app)
    assert received[("ausbildungsvertrag-eintragung", "primary")]["ausbildende_email"] == \
        "anna.becker@becker-elektro.example"


def test_the_training_contract_takes_the_companys_contact_details_set_in_the_account(client, login_as):
    login_as("anna.becker")
    page = client.get("/unternehmen").get_data(as_text=True)
    client.post("/unternehmen", data={"csrf_token": csrf_token(page), "phone": "0421 1234567",
                                      "notification_email": "ausbildung@becker-elektro.example"})
    html = client.get(start_draft(client, "ausbildungsvertrag-eintragung")).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="ausbildende_email"[^>]*value="ausbildung@becker-elektro.example"', html)
    assert re.search(r'<input[^>]*name="telefon"[^>]*value="0421 1234567"', html)


PRESETTING = """
key = "probe"
title = {{ de = "Probe", en = "Probe" }}
summary = {{ de = "Probe", en = "Probe" }}
steps = [{{ key = "a", title = {{ de = "A", en = "A" }} }}]

[[services]]
service = "gewerbeanmeldung"
reason = {{ de = "r", en = "r" }}
presets = [{{ {preset} }}]

[[services]]
service = "handwerksrolle-eintragung"
reason = {{ de = "r", en = "r" }}

[[fields]]
name = "x"
type = "yesno"
step = "a"
label = {{ de = "x", en = "x" }}
"""


@pytest.mark.parametrize(("preset", "where", "message"), [
    ('field = "handwerkskarte_vorhanden", value = false, filed_with = "handwerksrolle-eintragung", '
     'note = { de = "n", en = "n" }', None, None),
    ('field = "handwerkskarte_da", value = false, filed_with = "handwerksrolle-eintragung"',
     "services[0].presets[0].field", "has no field 'handwerkskarte_da'"),
    ('field = "handwerkskarte_vorhanden", value = "beantragt", filed_with = "handwerksrolle-eintragung"',
     "services[0].presets[0].value", "takes true or false"),
    ('field = "grund", value = "beantragt", filed_with = "handwerksrolle-eintragung"',
     "services[0].presets[0].value", "'beantragt' is not a choice of 'grund'"),
    ('field = "handwerkskarte_vorhanden", value = false, filed_with = "handwerk-verzeichnis-eintragung"',
     "services[0].presets[0].filed_with", "not another of the bundle's services"),
    ('field = "handwerkskarte_vorhanden", value = false, filed_with = "gewerbeanmeldung"',
     "services[0].presets[0].filed_with", "not another of the bundle's services"),
    ('field = "handwerkskarte_vorhanden", value = false, solange = "handwerksrolle-eintragung"',
     "services[0].presets[0]", "must be a table with field, value"),
])
def test_the_loader_refuses_a_preset_given_while_another_service_is_filed_unless_it_fits(app, preset, where,
                                                                                        message):
    from bizportal.catalog.queries import catalog

    with app.app_context():
        text = PRESETTING.format(preset=preset)
        if message is None:
            given = load_bundle_text(text, "probe.toml", dict(catalog())).services[0].presets[0]
            assert (given.field, given.value, given.filed_with) == ("handwerkskarte_vorhanden", False,
                                                                    "handwerksrolle-eintragung")
            return
        with pytest.raises(DefinitionError, match=re.escape(message)) as exc:
            load_bundle_text(text, "probe.toml", dict(catalog()))
        assert str(exc.value).startswith(f"probe.toml: field '{where}': ")


SUMMING = """
key = "probe"
title = {{ de = "Probe", en = "Probe" }}
summary = {{ de = "Probe", en = "Probe" }}
steps = [{{ key = "a", title = {{ de = "A", en = "A" }} }}]

[[services]]
service = "handwerk-verzeichnis-eintragung"
reason = {{ de = "r", en = "r" }}

[[fields]]
name = "vollzeit"
type = "{kind}"
step = "a"
{limits}
label = {{ de = "v", en = "v" }}
maps = {{ handwerk-verzeichnis-eintragung = {{ field = "{target}", sum = true }} }}

[[fields]]
name = "teilzeit"
type = "number"
step = "a"
min = 0
max = 50000
label = {{ de = "t", en = "t" }}
maps = {{ handwerk-verzeichnis-eintragung = {second} }}
"""
SUM = '{ field = "beschaeftigte", sum = true }'


@pytest.mark.parametrize(("kind", "limits", "target", "second", "where", "message"), [
    ("number", "min = 0\nmax = 50000", "beschaeftigte", SUM, None, None),
    ("text", "", "beschaeftigte", SUM, "fields.vollzeit.maps.handwerk-verzeichnis-eintragung",
     "only number questions add up"),
    ("number", "min = 0\nmax = 50000", "taetigkeit", SUM, "fields.vollzeit.maps.handwerk-verzeichnis-eintragung.field",
     "a sum fills a number field"),
    ("number", "min = 0\nmax = 50000", "beschaeftigte", '"beschaeftigte"',
     "fields.teilzeit.maps.handwerk-verzeichnis-eintragung", "the answers conflict"),
    ("number", "min = 0\nmax = 50000", "beschaeftigte", '"filialen_anzahl"',
     "fields.vollzeit.maps.handwerk-verzeichnis-eintragung", "a sum needs at least two questions"),
    ("number", "min = 0\nmax = 60000", "beschaeftigte", SUM,
     "fields.vollzeit.maps.handwerk-verzeichnis-eintragung", "takes at most 100000"),
    ("number", "min = 0", "beschaeftigte", SUM, "fields.vollzeit.maps.handwerk-verzeichnis-eintragung",
     "takes at most 100000"),
])
def test_the_loader_refuses_a_sum_that_does_not_fit_its_field(app, kind, limits, target, second, where, message):
    from bizportal.catalog.queries import catalog

    with app.app_context():
        text = SUMMING.format(kind=kind, limits=limits, target=target, second=second)
        if message is None:
            bundle = load_bundle_text(text, "probe.toml", dict(catalog()))
            assert bundle.shared_answers("handwerk-verzeichnis-eintragung", {"vollzeit": 4, "teilzeit": 2}) == {
                "beschaeftigte": 6}
            # one answer missing: nothing is given, the Verzeichnis asks
            assert bundle.shared_answers("handwerk-verzeichnis-eintragung", {"vollzeit": 4}) == {}
            return
        with pytest.raises(DefinitionError, match=re.escape(message)) as exc:
            load_bundle_text(text, "probe.toml", dict(catalog()))
        assert str(exc.value).startswith(f"probe.toml: field '{where}': ")
