"""A service's fee as a person reads it, in the page's language (amounts formatted by Babel)."""

from __future__ import annotations

from flask_babel import gettext

from ..common.formats import money
from .models import Fee


def amount_text(fee: Fee) -> str:
    """The amount alone (a fee with one): "gebührenfrei", "26,00 €" or "15,00 € bis 45,00 €" (de); "free of charge",
    "€26.00", "€15.00 to €45.00" (en)."""
    if fee.free:
        return gettext("gebührenfrei")
    if fee.amount is not None:
        return money(fee.amount)
    assert fee.minimum is not None and fee.maximum is not None  # the loader allows nothing else
    if not fee.minimum:
        return gettext("gebührenfrei bis %(high)s", high=money(fee.maximum))
    return gettext("%(low)s bis %(high)s", low=money(fee.minimum), high=money(fee.maximum))


def fee_text(fee: Fee) -> str:
    """The amount with what it depends on: a fee set by each competent body says so."""
    if fee.by_body and fee.amount is None and fee.minimum is None:
        return gettext("hängt von der zuständigen Stelle ab")
    if fee.by_body:
        return gettext("hängt von der zuständigen Stelle ab; üblich sind %(amount)s",
                       amount=amount_text(fee))
    return amount_text(fee)
