"""Uploads a bundle makes unnecessary (issue 16): the Verzeichnis of a founder's Anlage B craft asks
for a copy of the Gewerbeanmeldung, which the founder cannot have when the Gewerbeanmeldung is
filed in the same submit; the chamber receives the Gewerbeanmeldung itself with the bundle."""

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
    CHILD_ANSWERS,
    FILES,
    HWK_FORM,
    PLANS,
    SHARED,
    answer_questionnaire,
    complete_draft,
    press,
    service_drafts,
    submit,
)

#: what the Verzeichnis still needs beyond the bundle's answers (a cleaning business, Anlage B1)
VERZEICHNIS = {"email": "anna.becker@becker-elektro.example", "anlage": "b1", "gewerbe": "Gebäudereiniger",
               "taetigkeit": "Reinigung von Photovoltaikanlagen und Fassaden", **HWK_FORM}
NOTE = "Nicht nötig: Ihre Gewerbeanmeldung wird mit diesem Vorhaben zusammen eingereicht."


def _anlage_b(client, key: str = "betrieb-gruenden") -> str:
    takeover = {"uebernahme_art": "pacht", "frueherer_inhaber": "Reinigung Meier e. K."}
    overview = answer_questionnaire(client, key, {**SHARED, **takeover, **PLANS, "ausbilden": "no",
                                                  "handwerk_anlage": "b"})
    press(client, overview)
    return overview


def test_a_founder_of_an_anlage_b_craft_files_the_verzeichnis_without_a_copy_of_the_gewerbeanmeldung(
        app, client, login_as):
    login_as("anna.becker")
    overview = _anlage_b(client)
    drafts = service_drafts(client, overview)
    complete_draft(client, drafts["gewerbeanmeldung"], CHILD_ANSWERS, FILES)
    steps = complete_draft(client, drafts["handwerk-verzeichnis-eintragung"], VERZEICHNIS)  # no file at all
    assert "unterlagen" in steps  # the optional qualification may still be added there
    html = client.get(f"/antraege/entwurf/{drafts['handwerk-verzeichnis-eintragung']}/unterlagen").get_data(
        as_text=True)
    assert NOTE in html
    assert 'name="gewerbeanmeldung"' not in html
    assert 'name="qualifikation"' in html

    _review, resp = submit(client, overview)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    Worker(app).run_once()
    with app.app_context():
        received = {(i.service_key, i.destination_role) for i in db.session.scalars(select(InboxItem))}
    assert ("handwerk-verzeichnis-eintragung", "primary") in received
    assert ("gewerbeanmeldung", "copy") in received  # the chamber has the Gewerbeanmeldung itself


def test_the_copy_is_asked_again_when_the_gewerbeanmeldung_is_left_out(client, login_as):
    login_as("anna.becker")
    overview = _anlage_b(client, "betrieb-uebernehmen")
    drafts = service_drafts(client, overview)
    complete_draft(client, drafts["handwerk-verzeichnis-eintragung"], {**VERZEICHNIS, **CHILD_ANSWERS})
    step = f"/antraege/entwurf/{drafts['handwerk-verzeichnis-eintragung']}/unterlagen"
    assert NOTE in client.get(step).get_data(as_text=True)

    press(client, overview, service="gewerbeanmeldung", leave_out="yes")
    resp = client.get(f"/antraege/entwurf/{drafts['handwerk-verzeichnis-eintragung']}/pruefen")
    assert resp.headers["Location"].endswith("/unterlagen")  # the step done without the copy is open again
    page = client.get(step).get_data(as_text=True)
    assert NOTE not in page
    assert re.search(r'<input[^>]*name="gewerbeanmeldung"[^>]*required', page)


WAIVING = """
key = "probe"
title = {{ de = "Probe", en = "Probe" }}
summary = {{ de = "Probe", en = "Probe" }}
steps = [{{ key = "a", title = {{ de = "A", en = "A" }} }}]

[[services]]
service = "gewerbeanmeldung"
reason = {{ de = "r", en = "r" }}

[[services]]
service = "handwerk-verzeichnis-eintragung"
reason = {{ de = "r", en = "r" }}
waives = [{{ field = "{field}", filed_with = "{other}", note = {{ de = "n", en = "n" }} }}]

[[fields]]
name = "x"
type = "yesno"
step = "a"
label = {{ de = "x", en = "x" }}
"""


@pytest.mark.parametrize(("field", "other", "message"), [
    ("gewerbeanmeldung", "gewerbeanmeldung", None),
    ("nichts", "gewerbeanmeldung", "has no field 'nichts'"),
    ("business_name", "gewerbeanmeldung", "only a required upload can be waived"),
    ("qualifikation", "gewerbeanmeldung", "only a required upload can be waived"),
    ("gewerbeanmeldung", "handwerksrolle-eintragung", "not another of the bundle's services"),
    ("gewerbeanmeldung", "handwerk-verzeichnis-eintragung", "not another of the bundle's services"),
])
def test_the_loader_refuses_a_waiver_of_anything_but_a_required_upload_filed_with_another_service(
        app, field, other, message):
    with app.app_context():
        from bizportal.catalog.queries import catalog

        text = WAIVING.format(field=field, other=other)
        if message is None:
            bundle = load_bundle_text(text, "probe.toml", dict(catalog()))
            assert bundle.services[1].waives[0].field == "gewerbeanmeldung"
            return
        with pytest.raises(DefinitionError, match=re.escape(message)) as exc:
            load_bundle_text(text, "probe.toml", dict(catalog()))
        assert "probe.toml" in str(exc.value) and "services[1].waives[0]" in str(exc.value)
