"""Administrators create, change, disable and import receiving bodies; routing follows at once;
every change is audited; only admins may, and only with the form's CSRF token."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import select

from bizportal.bodies.models import Chamber
from bizportal.bodies.routing import competent_chamber
from bizportal.demo import BREMEN, BREMERHAVEN, HAMBURG
from bizportal.extensions import db
from bizportal.filings.models import Filing
from tests.support.bodies import IMPORT, NEW, audit, body, edit_url, token, upload
from tests.support.factories import make_filing
from tests.support.http import csrf_token


@pytest.fixture
def admin(client, login_as):
    login_as("admin", staff=True)
    return client


def slugs(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Chamber.slug)))


def receivers(app, filing_id: int) -> list[str]:
    with app.app_context():
        return [r["slug"] for r in db.session.get_one(Filing, filing_id).receivers]


LUENEBURG = {"slug": "ihk-lueneburg", "name": "IHK Lüneburg-Wolfsburg", "kind": "IHK", "region": "Lüneburg",
             "postcode_prefixes": "29 383", "municipality_keys": "03355022", "enabled": "y"}


def test_admin_creates_a_body_and_the_next_filing_goes_there(app, admin):
    with pytest.raises(AssertionError, match="noch keine zuständige Stelle"):  # its step refuses the postcode
        make_filing(app, postcode="29221")
    resp = admin.post(NEW, data={**LUENEBURG, "csrf_token": token(admin)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/admin/kammern/ihk-lueneburg")
    page = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Die Stelle IHK Lüneburg-Wolfsburg wurde angelegt" in page
    assert "29, 383" in page and "03355022" in page
    created = body(app, "ihk-lueneburg")
    assert (created.kind, created.region, created.postcode_prefixes, created.municipality_keys, created.enabled) == (
        "IHK", "Lüneburg", ["29", "383"], ["03355022"], True)
    assert (created.adapter_key, created.options) == ("inbox", {"chamber_slug": "ihk-lueneburg"})
    assert receivers(app, make_filing(app, postcode="29221")) == ["ihk-lueneburg"]
    [entry] = audit(app, "chamber.created")
    assert entry.actor.startswith("staff:") and entry.chamber_id == created.id
    assert "postcode_prefixes: 29 383" in entry.detail
    assert "Stelle angelegt" in admin.get("/staff/admin/protokoll").get_data(as_text=True)


@pytest.mark.parametrize("change,field_error", [
    ({"slug": "IHK Lüneburg"}, "ist keine gültige Kennung"),
    ({"slug": "neu"}, "ist keine gültige Kennung"),
    ({"slug": "hk-bremen"}, "Eine Stelle mit der Kennung „hk-bremen“ gibt es schon."),
    ({"name": "  "}, "Bitte geben Sie einen Wert an."),
    ({"kind": "KAMMER"}, "„KAMMER“ ist keine Art einer Stelle; erlaubt: HWK, IHK, GEWERBEAMT."),
    ({"postcode_prefixes": "29 2a9", "municipality_keys": ""}, "„2a9“ ist kein Anfang einer Postleitzahl"),
    ({"municipality_keys": "0335502"}, "„0335502“ ist kein amtlicher Gemeindeschlüssel (8 Ziffern)."),
    ({"postcode_prefixes": "", "municipality_keys": ""}, "mindestens einen Anfang einer Postleitzahl"),
    ({"postcode_prefixes": "29 20"},
     "20 gehört schon zum Gebiet von „hk-hamburg“ (IHK); zwei aktive Stellen derselben Art"),
])
def test_a_body_with_bad_data_is_refused_with_a_message_at_the_field(app, admin, change, field_error):
    resp = admin.post(NEW, data={**LUENEBURG, **change, "csrf_token": token(admin)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Bitte korrigieren Sie folgende Angaben" in html
    assert field_error in html.replace("&#34;", '"')
    assert 'aria-invalid="true"' in html
    assert "ihk-lueneburg" not in slugs(app) - {"ihk-lueneburg"} and body(app, "ihk-lueneburg") is None
    assert audit(app, "chamber.created") == []


def test_the_same_area_is_allowed_for_a_disabled_body_or_another_kind(app, admin):
    resp = admin.post(NEW, data={**LUENEBURG, "postcode_prefixes": "20", "municipality_keys": "",
                                 "enabled": "", "csrf_token": token(admin)})
    assert resp.status_code == 302 and body(app, "ihk-lueneburg").enabled is False
    resp = admin.post(NEW, data={**LUENEBURG, "slug": "hwk-lueneburg", "kind": "HWK", "postcode_prefixes": "29",
                                 "csrf_token": token(admin)})
    assert resp.status_code == 302


def test_admin_renames_moves_and_disables_a_body_and_routing_follows_at_once(app, admin):
    assert receivers(app, make_filing(app, postcode="27568")) == ["hk-bremen"]
    data = {"name": "Handelskammer Bremen – IHK für Bremen", "kind": "IHK", "region": "Bremen",
            "postcode_prefixes": "28", "municipality_keys": "", "enabled": "y", "slug": "hijacked"}
    resp = admin.post(edit_url("hk-bremen"), data={**data, "csrf_token": token(admin, edit_url("hk-bremen"))})
    assert resp.status_code == 302
    assert "Die Angaben zu Handelskammer Bremen – IHK für Bremen wurden gespeichert." in admin.get(
        resp.headers["Location"]).get_data(as_text=True)
    changed = body(app, "hk-bremen")
    assert changed.name == "Handelskammer Bremen – IHK für Bremen" and changed.postcode_prefixes == ["28"]
    assert body(app, "hijacked") is None  # the slug never changes
    resp = admin.post(NEW, data={**LUENEBURG, "slug": "ihk-bremerhaven", "name": "IHK Bremerhaven",
                                 "postcode_prefixes": " ".join(BREMERHAVEN), "municipality_keys": "",
                                 "csrf_token": token(admin)})
    assert resp.status_code == 302
    assert receivers(app, make_filing(app, postcode="27568")) == ["ihk-bremerhaven"]
    with app.app_context():
        assert db.session.get_one(Filing, make_filing(app, postcode="28195")).receivers[0]["name"] == \
            "Handelskammer Bremen – IHK für Bremen"

    resp = admin.post(edit_url("hk-bremen"), data={**data, "enabled": "", "csrf_token": token(admin)})
    assert resp.status_code == 302 and body(app, "hk-bremen").enabled is False
    with pytest.raises(AssertionError, match="noch keine zuständige Stelle"):  # its step refuses the postcode
        make_filing(app, postcode="28195")
    details = [e.detail for e in audit(app, "chamber.changed")]
    assert details[0] == ("name: Handelskammer Bremen – IHK für Bremen und Bremerhaven → Handelskammer Bremen – IHK "
                          f"für Bremen; postcode_prefixes: {' '.join([*BREMEN, *BREMERHAVEN])} → 28")
    assert details[1] == "enabled: True → False"


def test_saving_without_a_change_says_so_and_audits_nothing(app, admin):
    page = admin.get(edit_url("hwk-hamburg")).get_data(as_text=True)
    assert 'value="Handwerkskammer Hamburg"' in page and " ".join(HAMBURG) in page
    data = {"name": "Handwerkskammer Hamburg", "kind": "HWK", "region": "Hamburg",
            "postcode_prefixes": " ".join(HAMBURG), "municipality_keys": "", "enabled": "y",
            "csrf_token": csrf_token(page)}
    resp = admin.post(edit_url("hwk-hamburg"), data=data, follow_redirects=True)
    assert "Es wurde nichts geändert." in resp.get_data(as_text=True)
    assert audit(app, "chamber.changed") == []


def test_bad_edit_is_refused_and_changes_nothing(app, admin):
    data = {"name": "", "kind": "HWK", "region": "Hamburg", "postcode_prefixes": "2x", "municipality_keys": "",
            "enabled": "y", "csrf_token": token(admin, edit_url("hwk-hamburg"))}
    resp = admin.post(edit_url("hwk-hamburg"), data=data)
    assert resp.status_code == 422
    assert "„2x“ ist kein Anfang einer Postleitzahl" in resp.get_data(as_text=True)
    assert body(app, "hwk-hamburg").name == "Handwerkskammer Hamburg"
    assert admin.get(edit_url("nope")).status_code == 404
    assert admin.post(edit_url("nope"), data=data).status_code == 404


def test_forms_without_the_csrf_token_are_refused(app, admin):
    assert admin.post(NEW, data=LUENEBURG).status_code == 400
    assert admin.post(edit_url("hk-bremen"), data={**LUENEBURG, "enabled": ""}).status_code == 400
    assert admin.post(IMPORT, data={"file": (io.BytesIO(b"slug"), "b.csv")}).status_code == 400
    assert body(app, "ihk-lueneburg") is None and body(app, "hk-bremen").enabled is True


def test_only_admins_manage_bodies(app, client, login_as):
    for path in (NEW, IMPORT, edit_url("hk-bremen")):
        assert "/staff/login" in client.get(path).headers["Location"]
    login_as("hk.bremen", staff=True)
    staff_token = csrf_token(client.get("/staff/posteingang").get_data(as_text=True))
    for path in (NEW, IMPORT, edit_url("hk-bremen")):
        assert client.get(path).status_code == 403
    assert client.post(NEW, data={**LUENEBURG, "csrf_token": staff_token}).status_code == 403
    assert client.post(edit_url("hk-bremen"), data={**LUENEBURG, "enabled": "", "csrf_token": staff_token}
                       ).status_code == 403
    csv = b"slug,name,kind,region,postcode_prefixes\nihk-x,X,IHK,X,29\n"
    assert client.post(IMPORT, data={"csrf_token": staff_token, "file": (io.BytesIO(csv), "b.csv")},
                       content_type="multipart/form-data").status_code == 403
    assert body(app, "ihk-lueneburg") is None and body(app, "ihk-x") is None
    assert body(app, "hk-bremen").enabled is True


def test_import_from_csv_creates_and_updates_in_one_go(app, admin):
    csv = ("slug;name;kind;region;postcode_prefixes;municipality_keys;enabled\n"
           "ihk-lueneburg;IHK Lüneburg-Wolfsburg;IHK;Lüneburg;29 383;03355022;ja\n"
           "\n"
           f"hk-hamburg;Handelskammer Hamburg;IHK;Hamburg;{' '.join(HAMBURG)};;nein\n"
           f"hwk-hamburg;Handwerkskammer Hamburg;HWK;Hamburg;{' '.join(HAMBURG)};;ja\n").encode()
    resp = upload(admin, "kammern.csv", csv)
    assert resp.status_code == 302
    page = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Import aus kammern.csv: 1 Stelle(n) angelegt, 1 geändert, 1 unverändert." in page
    assert "IHK Lüneburg-Wolfsburg" in page
    assert body(app, "hk-hamburg").enabled is False
    assert receivers(app, make_filing(app, postcode="29221")) == ["ihk-lueneburg"]
    assert [e.detail for e in audit(app, "chamber.changed")] == ["import kammern.csv: enabled: True → False"]
    [created] = audit(app, "chamber.created")
    assert created.detail.startswith("import kammern.csv: name: IHK Lüneburg-Wolfsburg")
    [summary] = audit(app, "chamber.import")
    assert summary.detail == "created=1 changed=1 unchanged=1" and summary.outcome == "success"


def test_import_with_errors_names_line_and_field_and_imports_nothing(app, admin):
    csv = ("slug,name,kind,region,postcode_prefixes,municipality_keys,enabled\n"
           "ihk-lueneburg,IHK Lüneburg,IHK,Lüneburg,29,,ja\n"
           "hk-hamburg,Handelskammer Hamburg,KAMMER,Hamburg,20 21 22,,ja\n"
           "hwk-neu,,HWK,Nord,2x9,123,vielleicht\n"
           "ihk-lueneburg,Doppelt,IHK,Lüneburg,29,,ja\n").encode()
    resp = upload(admin, "kammern.csv", csv)
    html = resp.get_data(as_text=True).replace("&#34;", '"')
    assert resp.status_code == 422
    assert "Nichts wurde importiert" in html
    for message in ("Zeile 3, Feld „kind“: „KAMMER“ ist keine Art einer Stelle",
                    "Zeile 4, Feld „name“: Bitte geben Sie einen Wert an.",
                    "Zeile 4, Feld „postcode_prefixes“: „2x9“ ist kein Anfang einer Postleitzahl",
                    "Zeile 4, Feld „municipality_keys“: „123“ ist kein amtlicher Gemeindeschlüssel",
                    "Zeile 4, Feld „enabled“: „vielleicht“: bitte „ja“ oder „nein“ angeben.",
                    "Zeile 5, Feld „slug“: Die Kennung „ihk-lueneburg“ steht schon in Zeile 2."):
        assert message in html, message
    assert body(app, "ihk-lueneburg") is None and body(app, "hwk-neu") is None  # not even the good row
    assert body(app, "hk-hamburg").kind == "IHK"
    [refused] = audit(app, "chamber.import")
    assert refused.outcome == "refused" and refused.target == "kammern.csv"


def test_import_refuses_an_area_two_bodies_would_share(app, admin):
    data = [{"slug": "ihk-lueneburg", "name": "IHK Lüneburg", "kind": "IHK", "region": "L",
             "postcode_prefixes": ["29"]},
            {"slug": "ihk-celle", "name": "IHK Celle", "kind": "IHK", "region": "C", "postcode_prefixes": "29"}]
    resp = upload(admin, "kammern.json", json.dumps(data, indent=2).encode())
    assert resp.status_code == 422
    assert "Zeile 11, Feld „postcode_prefixes“: 29 gehört schon zum Gebiet von „ihk-lueneburg“" in resp.get_data(
        as_text=True)
    assert body(app, "ihk-lueneburg") is None


def test_import_from_json(app, admin):
    data = [{"slug": "ihk-lueneburg", "name": "IHK Lüneburg", "kind": "IHK", "region": "Lüneburg",
             "postcode_prefixes": ["29"], "municipality_keys": ["03355022"], "enabled": True}]
    resp = upload(admin, "kammern.json", json.dumps(data).encode())
    assert resp.status_code == 302
    assert body(app, "ihk-lueneburg").municipality_keys == ["03355022"]


@pytest.mark.parametrize("name,content,message", [
    ("kammern.json", b'[\n  {"slug": "x",\n   "name": }\n]', "Zeile 3, Spalte 12: kein gültiges JSON"),
    ("kammern.json", b'{"slug": "x"}', "Die JSON-Datei muss eine Liste von Stellen sein"),
    ("kammern.json", b'[\n  {"slug": "x", "adapter": "webhook"}\n]', "Zeile 2: unbekannte Felder adapter"),
    ("kammern.csv", b"slug,name,kind\nx,y,IHK\n", "Zeile 1: es fehlen die Spalten region"),
    ("kammern.csv", b"slug,name,kind,region,options\n", "Zeile 1: unbekannte Felder options"),
    ("kammern.csv", b"slug,name,kind,region\nx,y,IHK\n", "Zeile 2: 3 Werte, aber 4 Spalten."),
    ("kammern.csv", "slug,name,kind,region\nx,Lüneburg,IHK,L\n".encode("latin-1"),
     "Die Datei ist nicht UTF-8-kodiert (Zeile 2)."),
    ("kammern.csv", b"slug,name,kind,region,postcode_prefixes\n", "Die Datei enthält keine Stelle."),
])
def test_an_unreadable_import_file_is_refused_with_a_clear_message(app, admin, name, content, message):
    before = slugs(app)
    resp = upload(admin, name, content)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True).replace("&#34;", '"')
    assert slugs(app) == before


def test_import_without_a_file_or_with_another_type_is_refused(app, admin):
    resp = admin.post(IMPORT, data={"csrf_token": token(admin, IMPORT)}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "Bitte wählen Sie eine Datei aus." in resp.get_data(as_text=True)
    resp = upload(admin, "kammern.xlsx", b"PK\x03\x04")
    assert resp.status_code == 422 and "Bitte wählen Sie eine CSV- oder JSON-Datei." in resp.get_data(as_text=True)


def test_a_municipality_key_wins_over_the_postcode(app):
    with app.app_context():
        bremerhaven = db.session.scalar(select(Chamber).where(Chamber.slug == "gewerbeamt-bremerhaven"))
        bremerhaven.municipality_keys = ["04012000"]
        db.session.commit()
        # a Bremen postcode, but the municipality key of Bremerhaven
        assert competent_chamber(db.session, "GEWERBEAMT", "28195", "04012000").slug == "gewerbeamt-bremerhaven"
        assert competent_chamber(db.session, "GEWERBEAMT", "28195", "99999999").slug == "gewerbeamt-bremen"
        assert competent_chamber(db.session, "GEWERBEAMT", None, "04012000").slug == "gewerbeamt-bremerhaven"
