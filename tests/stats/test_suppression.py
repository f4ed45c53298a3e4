"""Small numbers are hidden, and so are enough others that no hidden number follows from the
totals and the numbers shown; the exports hide the same cells."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from datetime import timedelta

from bizportal.common.time import local_today
from bizportal.stats.suppression import Cell, Column, Table, suppress
from tests.support.http import login


def _table(values: list[int]) -> Table:
    t = Table("t", "T", [Column("label", "", "text"), Column("n", "", total=True)],
              [[Cell(f"r{i}"), Cell(v)] for i, v in enumerate(values)])
    t.totals = [Cell("Summe"), Cell(sum(values))]
    return t


def _shown(t: Table) -> list[int | str]:
    """What the reader sees: the count, "<" for a small cell, "x" for a complement."""
    cells = [r[1] for r in t.rows] + [t.totals[1]]
    return [("x" if c.complement else "<") if c.hidden else c.value for c in cells]


def _solutions(shown: list[int | str], threshold: int, bound: int) -> dict[int, set[int]]:
    """Every value each hidden cell can have for a reader who knows the cells shown, the total, that
    a "<" cell lies in 1 … threshold−1 and an "x" cell in 0 … anything, and that the column adds up."""
    hidden = [i for i, v in enumerate(shown[:-1]) if isinstance(v, str)]
    known = sum(v for v in shown[:-1] if isinstance(v, int))
    ranges = [range(1, threshold) if shown[i] == "<" else range(bound) for i in hidden]
    possible: dict[int, set[int]] = {i: set() for i in hidden}
    for combo in itertools.product(*ranges):
        if isinstance(shown[-1], int) and known + sum(combo) != shown[-1]:
            continue
        for i, v in zip(hidden, combo, strict=True):
            possible[i].add(v)
    return possible


def test_a_small_count_shows_as_less_than_the_threshold_and_is_not_alone():
    t = suppress(_table([12, 3, 20, 0]), 5)
    assert _shown(t) == ["x", "<", 20, 0, 35]  # 3 small, 12 its complement, the zero stays


def test_two_small_cells_that_would_pin_each_other_get_a_complement():
    # 1 and 1 hidden alone would add up to 2 = total − shown cells: both would be known to be 1
    t = suppress(_table([1, 1, 9, 30]), 5)
    assert _shown(t) == ["<", "<", "x", 30, 41]


def test_without_a_count_to_hide_with_it_the_total_goes():
    assert _shown(suppress(_table([4, 0, 0, 5]), 5)) == ["<", 0, 0, "x", 9]
    assert _shown(suppress(_table([4, 4, 0]), 5)) == ["<", "<", 0, "x"]  # 4 + 4 = 8 would pin both
    assert _shown(suppress(_table([2, 0]), 5)) == ["<", 0, "<"]


def test_a_small_total_is_hidden_with_its_cells():
    assert _shown(suppress(_table([3, 0, 0]), 5)) == ["<", 0, 0, "<"]


def test_no_hidden_cell_can_be_worked_out_from_what_is_shown():
    rng = random.Random(14)
    for _ in range(60):
        values = [rng.choice([0, 1, 1, 2, 3, 4, 5, 8, 11]) for _ in range(rng.randint(2, 5))]
        shown = _shown(suppress(_table(values), 5))
        for i, options in _solutions(shown, 5, sum(values) + 5).items():
            assert values[i] in options and len(options) > 1, (values, shown, i, options)
        hidden = sum(isinstance(v, str) for v in shown)
        assert hidden == 0 or hidden >= 2 or shown[-1] == "<", (values, shown)


def _client(app):
    c = app.test_client()
    assert login(c, "steering", staff=True).status_code == 302
    return c


def test_the_dashboard_and_its_exports_hide_the_same_cells(app, history):
    c = _client(app)
    with app.app_context():
        today = local_today(app.config["SETTINGS"].web.timezone)
    args = f"von={(today - timedelta(days=30)).isoformat()}&bis={(today + timedelta(days=10)).isoformat()}"
    # per service: Gewerbeanmeldung 4 (hidden), Versicherungsvermittler 6 (hidden as its complement), total 10
    text = c.get("/staff/statistik/leistungen.csv?" + args).get_data(as_text=True)
    rows = {r[0]: r[1] for r in csv.reader(io.StringIO(text[1:]), delimiter=";")}
    assert rows["Gewerbeanmeldung"] == "< 5"
    assert rows["Erlaubnis als Versicherungsvermittler oder -berater (§ 34d GewO)"] == "x"
    assert rows["Summe"] == "10"
    data = json.loads(c.get("/staff/statistik/leistungen.json?" + args).get_data(as_text=True))
    assert [r["current"] for r in data["rows"]] == ["x", "< 5"] and data["totals"]["current"] == 10
    assert all(r["change"] in (None, "x") for r in data["rows"])
    html = c.get("/staff/statistik?" + args).get_data(as_text=True)
    table = html.split('id="table-leistungen"')[1].split("</table>")[0]
    assert table.count("&lt; 5") >= 1 and ">4<" not in table and ">6<" not in table
    # the times of fewer than five cases: hidden with their number of cases
    times = json.loads(c.get("/staff/statistik/zeiten.json?" + args).get_data(as_text=True))["rows"]
    assert times and all(r["median"] == "x" and r["p90"] == "x" for r in times if r["cases"] == "< 5")


def test_the_threshold_is_configurable(app_factory):
    app = app_factory(STATS_SUPPRESSION_THRESHOLD=3)
    assert "&lt; 3" in _client(app).get("/staff/statistik").get_data(as_text=True)
