"""What a second new user's trial of the life-event bundles found (issue 16): an unserved
postcode refused where the bundle asks it, persons that fit who runs the business, blank answers
refused at their step, no irrelevant questions, a note when the filing is for another business
than the account's, a confirmation before leaving out a required service, hints that match the
buttons, the new premises of an Ummeldung in "Meine Anträge"."""

from __future__ import annotations

import re

import pytest

from tests.support.bundles import MOVE, SHARED, fill, post_step, start_bundle

UNSERVED = "Für die Postleitzahl 80331 ist im Portal noch keine zuständige Stelle angeschlossen"
MUNICH = {"street": "Marienplatz 1", "postcode": "80331", "city": "München"}


@pytest.mark.parametrize("key", ["betrieb-gruenden", "betrieb-uebernehmen"])
def test_a_founding_or_takeover_refuses_an_unserved_postcode_at_its_step(client, login_as, key):
    login_as("anna.becker")
    first = start_bundle(client, key)
    resp = post_step(client, first, {**SHARED, **MUNICH})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert UNSERVED in html
    assert re.search(r'id="postcode-error"|aria-describedby="[^"]*postcode', html)
    # with a served postcode the step is taken
    assert post_step(client, first, SHARED).status_code == 302


@pytest.mark.parametrize("vorhaben", ["verlegen_gemeinde", "aufgeben"])
def test_a_move_refuses_an_unserved_current_postcode_at_its_step(client, login_as, vorhaben):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    shown = fill(client, first, {**MOVE, "vorhaben": vorhaben}, stop_at="betrieb")
    assert shown == ["vorhaben"]
    betrieb = first.rsplit("/", 1)[0] + "/betrieb"
    resp = post_step(client, betrieb, {**MOVE, **MUNICH})
    assert resp.status_code == 422
    assert UNSERVED in resp.get_data(as_text=True)


def test_a_move_within_the_town_refuses_an_unserved_new_postcode_with_that_message(client, login_as):
    login_as("anna.becker")
    first = start_bundle(client, "betrieb-verlegen-aufgeben")
    fill(client, first, {**MOVE, "vorhaben": "verlegen_gemeinde"}, stop_at="neu")
    neu = first.rsplit("/", 1)[0] + "/neu"
    resp = post_step(client, neu, {"new_street": "Marienplatz 1", "new_postcode": "80331", "new_city": "München"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert UNSERVED in html
    assert "nicht im Bereich des Gewerbeamts" not in html  # not: "another Gewerbeamt's area"
