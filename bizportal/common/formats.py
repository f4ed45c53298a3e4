"""Numbers a person reads, in the current language (Flask-Babel): plain numbers, file sizes, amounts
of money."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_currency, format_decimal, gettext

_UNITS = ((1024 ** 3, "GB"), (1024 ** 2, "MB"), (1024, "KB"))


def filesize(size: int | None) -> str:
    """A file size as people read it, in the current language: "1,5 MB" (de), "1.5 MB" (en),
    "812 Bytes"; binary multiples (1 KB = 1024 bytes), one decimal at most."""
    if size is None:
        return "–"
    for factor, unit in _UNITS:
        if size >= factor:
            return f"{format_decimal(size / factor, '#,##0.#')}\u00a0{unit}"
    return gettext("%(num)s Bytes", num=format_decimal(size, "#,##0"))


def money(amount: Decimal | float, currency: str = "EUR") -> str:
    """An amount of money in the current language, always with cents: "1.234,50\u00a0€" (de),
    "€1,234.50" (en)."""
    return format_currency(amount, currency)


def number(value: int | float | Decimal | str) -> str:
    """A number in the current language: "1.234,5" (de), "1,234.5" (en); up to three decimals.
    A stored answer that is not a number is shown as it is."""
    try:
        return format_decimal(Decimal(str(value)) if isinstance(value, str) else value)
    except ArithmeticError:
        return str(value)
