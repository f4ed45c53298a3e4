"""``flask catalog import`` takes life-event bundles too (issue 16): a file with a top-level
``services`` list is a bundle, checked against the services as they are after the import, stored
with them in one catalog version and served by every app instance on the database."""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import select

from bizportal.catalog import loader
from bizportal.catalog.bundle_loader import BUNDLES_DIR
from bizportal.catalog.records import CatalogVersion, ImportedDefinition
from bizportal.extensions import db
from tests.support.filing import path_of
from tests.support.http import csrf_token, login

#: a small bundle over an imported service (a copy of the § 34d permit, see ``_service``)
MY_BUNDLE = """\
key = "mein-vorhaben"
title = { de = "Mein Vorhaben", en = "My plan" }
summary = { de = "Ein Fragebogen für meine Leistung.", en = "One questionnaire for my service." }
life_events = ["erlaubnis"]
keywords = ["vorhabenwort"]

[[services]]
service = "meine-leistung"
reason = { de = "Sie brauchen meine Leistung.", en = "You need my service." }

[[fields]]
name = "business_name"
type = "text"
required = true
label = { de = "Name des Betriebs", en = "Name of the business" }
maps = { meine-leistung = "business_name" }
"""


def _service(tmp_path, key: str, rename_business_name: bool = False):
    text = (loader.DEFINITIONS_DIR / "versicherungsvermittler-34d.toml").read_text()
    text = text.replace('key = "versicherungsvermittler-34d"', f'key = "{key}"').replace(
        "Versicherungsvermittler", f"Versicherungsvermittler {key}")
    if rename_business_name:
        text = text.replace('name = "business_name"', 'name = "firmenname"')
    path = tmp_path / "in" / f"{key}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def _file(tmp_path, name: str, text: str):
    path = tmp_path / "in" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def _founding(tmp_path, **replacements: str):
    text = (BUNDLES_DIR / "betrieb-gruenden.toml").read_text()
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new, 1)
    return _file(tmp_path, "betrieb-gruenden.toml", text)


def _import(app, *paths, replace: bool = False):
    args = ["catalog", "import", *(["--replace"] if replace else []), *map(str, paths)]
    return app.test_cli_runner().invoke(args=args)


def _stored(app) -> tuple[int, list[str]]:
    with app.app_context():
        version = db.session.scalar(select(CatalogVersion.version)) or 0
        return version, list(db.session.scalars(select(ImportedDefinition.key).order_by(ImportedDefinition.key)))


def _search(client, query: str) -> str:
    resp = client.get("/", query_string={"q": query})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_a_changed_bundle_imported_on_one_node_is_found_by_the_search_of_another(app_factory, tmp_path):
    node_a = app_factory()
    node_b = app_factory(CATALOG_REFRESH_SECONDS=0.5)
    client_b = node_b.test_client()
    assert "/vorhaben/betrieb-gruenden" not in _search(client_b, "meistergründung")
    changed = _founding(tmp_path, **{'de = "Betrieb gründen"': 'de = "Betrieb gründen (neu gefasst)"',
                                     "keywords = [": 'keywords = [ "meistergründung",'})

    refused = _import(node_a, changed)
    assert refused.exit_code != 0 and "a bundle 'betrieb-gruenden' exists; use --replace" in refused.output
    result = _import(node_a, changed, replace=True)
    assert result.exit_code == 0, result.output
    assert "imported bundle betrieb-gruenden" in result.output

    deadline = time.monotonic() + 5
    while "/vorhaben/betrieb-gruenden" not in (found := _search(client_b, "meistergründung")):
        assert time.monotonic() < deadline, "node B never found the imported bundle"
        time.sleep(0.1)
    assert "Betrieb gründen (neu gefasst)" in found
    login(client_b, "anna.becker")
    assert "Betrieb gründen (neu gefasst)" in client_b.get("/vorhaben/betrieb-gruenden").get_data(as_text=True)
    restarted = app_factory(CATALOG_REFRESH_SECONDS=3600)  # a node started later loads it at once
    assert "/vorhaben/betrieb-gruenden" in _search(restarted.test_client(), "meistergründung")


def test_a_new_bundle_and_its_new_service_in_one_import_can_be_started_everywhere(app_factory, tmp_path):
    from bizportal.delivery.worker import Worker

    node_a = app_factory()
    node_b = app_factory(CATALOG_REFRESH_SECONDS=3600)
    worker_app = app_factory(CATALOG_REFRESH_SECONDS=0)
    client_b = node_b.test_client()
    login(client_b, "anna.becker")
    assert client_b.get("/vorhaben/mein-vorhaben").status_code == 404  # B has looked at the version
    result = _import(node_a, _service(tmp_path, "meine-leistung"), _file(tmp_path, "mein-vorhaben.toml", MY_BUNDLE))
    assert result.exit_code == 0, result.output
    assert "imported meine-leistung" in result.output and "imported bundle mein-vorhaben" in result.output
    assert _stored(node_a) == (1, ["mein-vorhaben", "meine-leistung"])  # one version for both

    node_b.extensions["bizportal"].catalog_refresh.request_check()  # what SIGHUP to a worker does
    assert "/vorhaben/mein-vorhaben" in _search(client_b, "vorhabenwort")
    page = client_b.get("/vorhaben/mein-vorhaben")
    assert page.status_code == 200 and "Mein Vorhaben" in page.get_data(as_text=True)
    started = client_b.post("/vorhaben/mein-vorhaben", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert started.status_code == 302
    step = client_b.get(path_of(started.headers["Location"]))
    assert step.status_code == 200 and 'name="business_name"' in step.get_data(as_text=True)

    Worker(worker_app).run_once()
    assert "mein-vorhaben" in worker_app.extensions["bizportal"].bundles


def test_a_broken_bundle_is_refused_and_nothing_changes(app_factory, tmp_path):
    app = app_factory()
    service = _service(tmp_path, "meine-leistung")
    wrong_field = _file(tmp_path, "mein-vorhaben.toml", MY_BUNDLE.replace('= "business_name" }', '= "kein_feld" }'))
    result = _import(app, service, wrong_field)
    assert result.exit_code != 0
    assert "mein-vorhaben.toml: field 'fields.business_name.maps.meine-leistung'" in result.output
    assert "has no field 'kein_feld'" in result.output
    assert _stored(app) == (0, [])
    client = app.test_client()
    login(client, "anna.becker")
    assert client.get("/leistungen/meine-leistung").status_code == 404  # the good service was not stored
    assert client.get("/vorhaben/mein-vorhaben").status_code == 404

    # a bundle naming a service neither served nor in the import
    result = _import(app, _file(tmp_path, "mein-vorhaben.toml", MY_BUNDLE))
    assert result.exit_code != 0 and "field 'services[0].service': no service 'meine-leistung'" in result.output
    # a changed shipped bundle that does not fit the services: the served one stays
    result = _import(app, _founding(tmp_path, **{'value = "neugruendung"': 'value = "gruendung"',
                                                 'de = "Betrieb gründen"': 'de = "Kaputt"'}), replace=True)
    assert result.exit_code != 0 and "betrieb-gruenden.toml: field 'services[0].presets[0].value'" in result.output
    assert _stored(app) == (0, [])
    assert "Betrieb gründen" in client.get("/vorhaben/betrieb-gruenden").get_data(as_text=True)
    assert "Kaputt" not in client.get("/vorhaben/betrieb-gruenden").get_data(as_text=True)


def test_a_service_import_that_breaks_a_bundle_is_refused_naming_it(app_factory, tmp_path):
    app = app_factory()
    other = app_factory(CATALOG_REFRESH_SECONDS=0)
    text = (loader.DEFINITIONS_DIR / "gewerbeanmeldung.toml").read_text()
    choice = ('  { value = "neugruendung", label = { de = "Neuerrichtung/Neugründung", '
              'en = "New establishment / new foundation" } },\n')
    assert choice in text
    # the step on the previous accident insurance is shown for every reason but this one: for
    # every reason in the changed file
    condition = ", show_if = { field = \"grund\", not_in = [\"neugruendung\"] }"
    assert condition in text
    without_choice = _file(tmp_path, "gewerbeanmeldung.toml", text.replace(choice, "").replace(condition, ""))
    result = _import(app, without_choice, replace=True)
    assert result.exit_code != 0
    assert "the import would break the bundle 'betrieb-gruenden'" in result.output
    assert "betrieb-gruenden.toml: field 'services[0].presets[0].value'" in result.output
    assert _stored(app) == (0, [])
    assert other.test_client().get("/").status_code == 200  # it has looked at the version
    grund = other.extensions["bizportal"].catalog["gewerbeanmeldung"].field("grund")
    assert "neugruendung" in [c.value for c in grund.choices]
    assert "betrieb-gruenden" in other.extensions["bizportal"].bundles

    # an imported bundle is protected alike: its service may not lose the field it fills
    first = _import(app, _service(tmp_path, "meine-leistung"), _file(tmp_path, "mein-vorhaben.toml", MY_BUNDLE))
    assert first.exit_code == 0, first.output
    result = _import(app, _service(tmp_path, "meine-leistung", rename_business_name=True), replace=True)
    assert result.exit_code != 0 and "the import would break the bundle 'mein-vorhaben'" in result.output
    assert "field 'fields.business_name.maps.meine-leistung'" in result.output
    assert "has no field 'business_name'" in result.output
    assert _stored(app) == (1, ["mein-vorhaben", "meine-leistung"])
    assert "/vorhaben/mein-vorhaben" in _search(other.test_client(), "vorhabenwort")

    # the same change with the bundle adapted in the same import goes through
    adapted = _file(tmp_path, "mein-vorhaben.toml", MY_BUNDLE.replace('= "business_name" }', '= "firmenname" }'))
    result = _import(app, _service(tmp_path, "meine-leistung", rename_business_name=True), adapted, replace=True)
    assert result.exit_code == 0, result.output
    assert _stored(app)[0] == 2
    assert other.test_client().get("/").status_code == 200
    assert other.extensions["bizportal"].bundles["mein-vorhaben"].shared["business_name"][0].field == "firmenname"


def test_a_service_may_not_take_a_bundles_key(app_factory, tmp_path):
    app = app_factory()
    result = _import(app, _service(tmp_path, "betrieb-gruenden"), replace=True)
    assert result.exit_code != 0 and "'betrieb-gruenden' is the key of a bundle" in result.output
    result = _import(app, _file(tmp_path, "gewerbeanmeldung.toml", MY_BUNDLE.replace(
        'key = "mein-vorhaben"', 'key = "gewerbeanmeldung"').replace("meine-leistung", "gewerbeanmeldung")),
        replace=True)
    assert result.exit_code != 0 and "'gewerbeanmeldung' is already the key of a service" in result.output
    assert _stored(app) == (0, [])


def test_catalog_check_checks_a_bundle_against_the_services(app, tmp_path):
    service = _service(tmp_path, "meine-leistung")
    bundle = _file(tmp_path, "mein-vorhaben.toml", MY_BUNDLE)
    result = app.test_cli_runner().invoke(args=["catalog", "check", str(service), str(bundle)])
    assert result.exit_code == 0, result.output
    assert "ok    mein-vorhaben.toml: bundle mein-vorhaben" in result.output
    result = app.test_cli_runner().invoke(args=["catalog", "check", str(bundle)])  # without its service
    assert result.exit_code == 1 and "no service 'meine-leistung'" in result.output


def test_the_body_filter_lists_an_imported_bundle_only_for_the_bodies_of_its_services(app_factory, tmp_path):
    app = app_factory()
    result = _import(app, _service(tmp_path, "meine-leistung"), _file(tmp_path, "mein-vorhaben.toml", MY_BUNDLE))
    assert result.exit_code == 0, result.output
    client = app_factory().test_client()
    assert "/vorhaben/mein-vorhaben" in client.get("/", query_string={"stelle": "IHK"}).get_data(as_text=True)
    assert "/vorhaben/mein-vorhaben" not in client.get("/", query_string={"stelle": "HWK"}).get_data(as_text=True)


class _Watched:
    """The refresher's view of the portal, recording what a reader sees after each assignment."""

    def __init__(self, portal):
        object.__setattr__(self, "_portal", portal)
        object.__setattr__(self, "seen", [])

    def __getattr__(self, name):
        return getattr(self._portal, name)

    def __setattr__(self, name, value):
        setattr(self._portal, name, value)
        portal = self._portal
        self.seen.append(("meine-leistung" in portal.catalog, "mein-vorhaben" in portal.bundles,
                          any(s.key == "meine-leistung" for s in portal.search_index.search("meine-leistung"))))


def test_a_reload_swaps_services_bundles_and_index_together(app_factory, tmp_path):
    """A request between the steps of a reload must not see the new services with the old bundles:
    the three are one snapshot, put in place at once; a reader holding the old one keeps the old
    set whole, and cannot change it."""
    node_a = app_factory()
    node_b = app_factory(CATALOG_REFRESH_SECONDS=3600)
    portal = node_b.extensions["bizportal"]
    held = portal.snapshot
    result = _import(node_a, _service(tmp_path, "meine-leistung"), _file(tmp_path, "mein-vorhaben.toml", MY_BUNDLE))
    assert result.exit_code == 0, result.output

    watched = _Watched(portal)
    portal.catalog_refresh.portal = watched
    portal.catalog_refresh.request_check()
    with node_b.app_context():
        assert portal.catalog_refresh.maybe_refresh()
    assert watched.seen and all(seen in {(False, False, False), (True, True, True)} for seen in watched.seen), \
        watched.seen
    assert watched.seen[-1] == (True, True, True)

    assert "meine-leistung" not in held.services and "mein-vorhaben" not in held.bundles
    assert not any(s.key == "meine-leistung" for s in held.search_index.search("meine-leistung"))
    assert "betrieb-gruenden" in held.bundles and "gewerbeanmeldung" in held.services  # the old set, whole
    with pytest.raises(TypeError):
        held.services["meine-leistung"] = portal.catalog["meine-leistung"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        held.bundles = {}  # type: ignore[misc]
