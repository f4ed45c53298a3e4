"""The steering dashboard and its exports: who reaches them, what they show, what they never show."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from bizportal.common.time import local_today
from tests.support.http import login

EXPORTS = ("/staff/statistik/leistungen.csv", "/staff/statistik/trichter.json")


def _client(app, sub: str | None, staff: bool = True):
    c = app.test_client()
    if sub:
        assert login(c, sub, staff=staff).status_code == 302
    return c


@pytest.mark.parametrize("path", ["/staff/statistik", *EXPORTS])
def test_anonymous_is_sent_to_the_staff_login(app, path):
    resp = _client(app, None).get(path)
    assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]


@pytest.mark.parametrize("path", ["/staff/statistik", *EXPORTS])
@pytest.mark.parametrize("sub,staff", [("anna.becker", False), ("hwk.bremen", True), ("hk.hamburg", True)])
def test_companies_and_chamber_staff_are_refused(app, path, sub, staff):
    assert _client(app, sub, staff).get(path).status_code == 403


@pytest.mark.parametrize("sub", ["steering", "admin"])
def test_steering_and_admins_see_dashboard_and_exports(app, sub):
    c = _client(app, sub)
    assert c.get("/staff/statistik").status_code == 200
    for path in EXPORTS:
        assert c.get(path).status_code == 200


def _range_args(app) -> str:
    with app.app_context():
        today = local_today(app.config["SETTINGS"].web.timezone)
    # the history's decisions lie up to four days ahead
    return f"von={(today - timedelta(days=30)).isoformat()}&bis={(today + timedelta(days=10)).isoformat()}"


@pytest.fixture
def exact(app_factory, request):
    """The app with suppression below 1 (nothing hidden), to read exact figures."""
    from chambers.inbox import InboxAdapter
    from chambers.registry import AdapterRegistry
    from tests.support.adapters import FlakyAdapter

    app = app_factory(STATS_SUPPRESSION_THRESHOLD=1)
    registry = AdapterRegistry()
    for cls in (InboxAdapter, FlakyAdapter):
        registry.register(cls)
    app.extensions["bizportal"].registry = registry
    return app


def _csv(resp) -> list[list[str]]:
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_the_figures_of_the_history_with_nothing_hidden(exact):
    from tests.support.stats import make_history

    make_history(exact)
    c = _client(exact, "steering")
    args = _range_args(exact) + "&einteilung=week"
    page = c.get("/staff/statistik?" + args)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    svgs = [part.split("</svg>")[0] for part in html.split("<svg")[1:] if 'class="stats-chart"' in part.split(">")[0]]
    assert len(svgs) == 3 and not any("<script" in svg or "href" in svg for svg in svgs)
    assert 'src="http' not in html and "@import" not in html and "url(http" not in html
    services = {row[0]: row[1:] for row in _csv(c.get("/staff/statistik/leistungen.csv?" + args))[1:]}
    assert services["Gewerbeanmeldung"][0] == "4"
    assert services["Erlaubnis als Versicherungsvermittler oder -berater (§ 34d GewO)"][0] == "6"
    assert services["Summe"][:2] == ["10", "0"]
    funnel = json.loads(c.get("/staff/statistik/trichter.json?" + args).get_data(as_text=True))
    rows = {r["service"]: r for r in funnel["rows"]}
    gewerbe = rows["Gewerbeanmeldung"]
    assert (gewerbe["started"], gewerbe["submitted"], gewerbe["delivered"], gewerbe["accepted"], gewerbe["rejected"],
            gewerbe["withdrawn"], gewerbe["abandoned"]) == (5, 4, 4, 2, 1, 1, 1)
    assert funnel["totals"]["submitted"] == 10 and funnel["question"]["periods"] == "week"
    health = {(r[1], r[2]): r[3:] for r in _csv(c.get("/staff/statistik/zustellung.csv?" + args))[1:-1]}
    assert health[("Handelskammer Bremen – IHK für Bremen und Bremerhaven", "flaky")] == ["0", "3", "0"]
    assert health[("Handelskammer Hamburg", "flaky")] == ["0", "0", "2"]
    times = json.loads(c.get("/staff/statistik/zeiten.json?" + args).get_data(as_text=True))["rows"]
    assert sum(r["cases"] for r in times if r["measure"] == "Zustellung bis erste Bearbeitung") == 8
    usage = json.loads(c.get("/staff/statistik/nutzung.json?" + args).get_data(as_text=True))
    assert usage["totals"]["logins"] == 4 and sum(r["active"] for r in usage["rows"]) == 2
    # a filter: only the Gewerbeamt Bremen
    only = json.loads(c.get("/staff/statistik/leistungen.json?" + args + "&stelle=gewerbeamt-bremen")
                      .get_data(as_text=True))
    assert [(r["service"], r["current"]) for r in only["rows"]] == [("Gewerbeanmeldung", 4)]


def test_the_previous_period_is_compared(exact):
    from tests.support.stats import make_history

    make_history(exact)
    c = _client(exact, "steering")
    with exact.app_context():
        today = local_today(exact.config["SETTINGS"].web.timezone)
    # the history lies in [today, today + 4]: asked for the ten days after, it is the previous period
    later = f"von={(today + timedelta(days=10)).isoformat()}&bis={(today + timedelta(days=19)).isoformat()}"
    overview = json.loads(c.get("/staff/statistik/kennzahlen.json?" + later).get_data(as_text=True))["rows"]
    decided = next(r for r in overview if r["figure"] == "Entschieden")
    assert (decided["current"], decided["previous"], decided["change"]) == (0, 5, -100.0)


def test_nothing_names_a_company_a_person_or_a_filing(exact):
    from tests.support.stats import make_history

    make_history(exact)
    c = _client(exact, "steering")
    args = _range_args(exact)
    with exact.app_context():
        from sqlalchemy import select

        from bizportal.extensions import db
        from bizportal.filings.models import Filing

        references = list(db.session.scalars(select(Filing.reference)))
    texts = [c.get("/staff/statistik?" + args).get_data(as_text=True)]
    for key in ("kennzahlen", "verlauf", "leistungen", "stellen", "trichter", "abbrueche", "zeiten", "zustellung",
                "nutzung"):
        for fmt in ("csv", "json"):
            texts.append(c.get(f"/staff/statistik/{key}.{fmt}?" + args).get_data(as_text=True))
    for text in texts:
        for secret in [*references, "Test GmbH", "Becker", "Hansen", "anna.becker", "p1@test.example"]:
            assert secret not in text


def test_the_dashboard_survives_deleting_every_filing(exact):
    from tests.support.retention import delete_all_filings
    from tests.support.stats import make_history

    make_history(exact)
    c = _client(exact, "steering")
    args = _range_args(exact)
    keys = ("kennzahlen", "leistungen", "stellen", "trichter", "zeiten", "zustellung")
    before = {k: c.get(f"/staff/statistik/{k}.json?" + args).get_data(as_text=True) for k in keys}
    with exact.app_context():
        delete_all_filings()
    assert {k: c.get(f"/staff/statistik/{k}.json?" + args).get_data(as_text=True) for k in keys} == before
    assert '"current": 10' in before["leistungen"]


def test_a_wrong_question_is_answered_at_its_field(app):
    c = _client(app, "steering")
    resp = c.get("/staff/statistik?von=31.02.2026")
    assert resp.status_code == 422 and "gültiges Datum" in resp.get_data(as_text=True)
    resp = c.get("/staff/statistik?von=01.03.2026&bis=01.02.2026")
    assert resp.status_code == 422 and "liegt vor dem Datum" in resp.get_data(as_text=True)
    resp = c.get("/staff/statistik?von=01.01.2016&bis=01.01.2026&einteilung=day")
    assert resp.status_code == 422 and "Wochen oder Monate" in resp.get_data(as_text=True)
    assert c.get("/staff/statistik/nichts.csv").status_code == 404
    assert c.get("/staff/statistik/leistungen.csv?von=gestern").status_code == 422


def test_the_usage_export_per_service_and_month(exact):
    from tests.support.stats import make_history

    make_history(exact)
    c = _client(exact, "steering")
    data = json.loads(c.get("/staff/statistik/sdg.json?" + _range_args(exact)).get_data(as_text=True))
    rows = {r["service_key"]: r for r in data["rows"]}
    month = local_today(exact.config["SETTINGS"].web.timezone).strftime("%Y-%m")
    gewerbe = rows["gewerbeanmeldung"]
    assert (gewerbe["month"], gewerbe["leika"], gewerbe["drafts_started"], gewerbe["filings_submitted"]) == (
        month, "99050012104000", 5, 4)
    assert gewerbe["url"].endswith("/leistungen/gewerbeanmeldung")
    assert rows["versicherungsvermittler-34d"]["leika"] is None
    assert data["totals"]["filings_submitted"] == 10
    header = _csv(c.get("/staff/statistik/sdg.csv?" + _range_args(exact)))[0]
    assert header == ["month", "service_key", "leika", "title_de", "url", "drafts_started", "filings_submitted"]
