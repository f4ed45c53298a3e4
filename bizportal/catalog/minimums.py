"""Minimum amounts set by law per starting year, kept as data with their sources
(``catalog/data/<name>.toml``), for the ``statutory_minimum`` checks of service definitions."""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from .models import MinimumTable

DATA_DIR = Path(__file__).parent / "data"


class TableError(ValueError):
    """A minimum table is missing or invalid; the message names the file and the year."""


@cache
def load_table(name: str) -> MinimumTable:
    """The table ``DATA_DIR/<name>.toml``: ``title``, and under ``[years]`` one
    ``YEAR = { amounts = [...], source = "..." }`` per published year (amounts in euros, each row
    the same length). Raises ``TableError``."""
    path = DATA_DIR / f"{name}.toml"
    if not name.isidentifier() or not path.is_file():
        raise TableError(f"{name}: no table {path.name} in {DATA_DIR}")
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    title = raw.get("title")
    years = raw.get("years")
    if not isinstance(title, str) or not isinstance(years, dict) or not years:
        raise TableError(f"{path.name}: needs a title and at least one year under [years]")
    rows: dict[int, tuple[Decimal, ...]] = {}
    sources: dict[int, str] = {}
    for key, entry in years.items():
        where = f"{path.name}: years.{key}"
        if not (isinstance(key, str) and key.isdigit() and 2000 <= int(key) <= 2100) or not isinstance(entry, dict):
            raise TableError(f"{where}: must be a year with amounts and source")
        amounts, source = entry.get("amounts"), entry.get("source")
        if not isinstance(source, str) or not source.strip():
            raise TableError(f"{where}: names no source")
        if not isinstance(amounts, list):
            raise TableError(f"{where}: amounts must be a list of euro amounts")
        try:
            row = tuple(Decimal(str(a)) for a in amounts)
        except InvalidOperation:
            raise TableError(f"{where}: amounts must be a list of euro amounts") from None
        if not row or any(a <= 0 for a in row):
            raise TableError(f"{where}: amounts must be positive")
        rows[int(key)] = row
        sources[int(key)] = source.strip()
    if len({len(r) for r in rows.values()}) != 1:
        raise TableError(f"{path.name}: every year needs the same number of amounts")
    return MinimumTable(name=name, title=title, rows=rows, sources=sources)
