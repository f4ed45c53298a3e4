"""Hostile input never ends in a server error: every query parameter the portal reads, and every
JSON body route, answered with huge and negative numbers, words, very long strings, NUL bytes,
deeply nested JSON and wrong types gets a 2xx/3xx/4xx answer, never 5xx."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.adapters import webhook_options
from tests.support.api import ApiCaller
from tests.support.callbacks import callback
from tests.support.factories import set_adapter
from tests.support.http import login

HOSTILE = [
    "9" * 400, str(2**63), str(2**64), "-1", "0", "-99999999999999999999", "abc", "1e999", "1.5", "NaN",
    "x" * 20_000, "a\x00b", "\x00", "ä€😀", "../../etc/passwd", "<script>alert(1)</script>", "[]", " ",
]
NESTED = "[" * 10_000 + "]" * 10_000

#: (who, path, the query parameters it reads) — every ``request.args`` of the portal
QUERIES = [
    (None, "/", ("q", "art", "stelle", "anlass")),
    (None, "/login", ("next",)),
    (None, "/staff/login", ("next",)),
    (None, "/login/callback", ("code", "state", "error")),
    ("anna.becker", "/unternehmen/pruefen", ("next",)),
    ("admin", "/staff/admin/zustellungen/probleme", ("seite", "zustand", "kammer")),
    ("admin", "/staff/admin/protokoll", ("aktion", "person", "vorgang", "von", "bis", "ergebnis", "vor", "nach")),
    ("steering", "/staff/statistik", ("von", "bis", "einteilung", "leistung", "art", "stelle")),
    ("hwk.bremen", "/staff/posteingang", ("aktenzeichen", "unternehmen", "registernummer", "stand", "leistung",
                                          "von", "bis", "zuweisung", "neu", "sortierung", "nach", "vor")),
]


def no_server_error(resp, what) -> None:
    assert resp.status_code < 500, (what, resp.status_code, resp.get_data(as_text=True)[:500])


@pytest.mark.parametrize(("who", "path", "params"), QUERIES, ids=[q[1] for q in QUERIES])
def test_every_query_parameter_takes_hostile_values(app, client, who, path, params):
    if who:
        login(client, who, staff=who in ("admin", "steering", "hwk.bremen"))
    for name in params:
        for value in HOSTILE:
            no_server_error(client.get(path, query_string={name: value}), (name, value[:40]))
        no_server_error(client.get(path, query_string=[(name, "1"), (name, "2")]), (name, "repeated"))


def test_a_huge_page_number_is_not_a_server_error(app, client):
    login(client, "admin", staff=True)
    resp = client.get("/staff/admin/zustellungen/probleme", query_string={"seite": str(2**62)})
    assert resp.status_code in (400, 404)


HOSTILE_JSON = [
    NESTED, '{"a":' * 10_000 + "1" + "}" * 10_000,
    "[" * 5_000 + "]" * 5_000,  # deeper than the JSON parser's recursion, yet under the callback's size cap
    "null", "[]", "1" * 5000, '"x"', "\x00", '{"to": null}',
    json.dumps({"to": 2**70, "expected_status": [], "reason": {"a": 1}, "due_on": "9999999-99-99"}),
    json.dumps({"body": "x" * 100_000, "request_id": -1}), json.dumps({"documents": [{"content": "!!!"}]}),
    json.dumps({"delivery_id": str(uuid.uuid4()), "event": "accepted", "occurred_at": "9" * 50, "detail": 5}),
    json.dumps({"delivery_id": "\x00", "event": ["accepted"], "occurred_at": None}),
]


def test_the_signed_status_callback_takes_hostile_json(app, client):
    set_adapter(app, "hk-bremen", "webhook", webhook_options("http://127.0.0.1:9/"))
    for body in HOSTILE_JSON:
        resp = callback(client, "hk-bremen", None, None, raw=body.encode("utf-8", "surrogatepass"))
        no_server_error(resp, body[:40])
        assert resp.status_code in (400, 401, 404, 409, 413), (body[:40], resp.status_code)


def test_the_chamber_api_takes_hostile_json_and_queries(app, client):
    api = ApiCaller(app, client, "hk-bremen")
    for name in ("after", "limit"):
        for value in HOSTILE:
            no_server_error(api.get("/filings", query_string={name: value}), (name, value[:40]))
    for path in ("/filings/BP-2026-AAAAAA/acknowledge", "/filings/BP-2026-AAAAAA/transitions",
                 "/filings/BP-2026-AAAAAA/messages", "/filings/" + "x" * 5000 + "/messages"):
        for body in HOSTILE_JSON:
            resp = client.post("/api/v1" + path, headers={**api.headers, "Content-Type": "application/json"},
                               data=body.encode("utf-8", "surrogatepass"))
            no_server_error(resp, (path[:40], body[:40]))
    for value in HOSTILE:
        no_server_error(client.post("/api/v1/oauth/token", data={"grant_type": value, "client_id": value,
                                                                  "client_secret": value, "scope": value}), value[:40])


def test_a_nul_byte_in_a_form_is_refused_and_nothing_is_stored(app, client):
    from sqlalchemy import select

    from bizportal.extensions import db
    from bizportal.filings.models import Draft
    from tests.support.filing import start_draft
    from tests.support.http import csrf_token

    login(client, "anna.becker")
    path = start_draft(client, "gewerbeanmeldung")
    token = csrf_token(client.get(path).get_data(as_text=True))
    resp = client.post(path, data={"csrf_token": token, "action": "next", "business_name": "Becker\x00 GmbH"})
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Draft)).pending_input == {}
