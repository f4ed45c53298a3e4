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


def regional_notes(fee: Fee, region: str | None, locale: str) -> list[tuple[str | None, str]]:
    """The notes of ``fee`` that hold in one region only, as (label, note) in ``locale``: the note of
    ``region`` alone (label None) where the competent body, and so its region, is known; every
    region's note labelled with its region where it is not (``region`` None). A region without a
    note of its own gets none: another region's amounts are never shown as its."""
    if region is None:
        return [(entry.region, entry.note.get(locale)) for entry in fee.regional]
    own = fee.for_region(region)
    return [(None, own.note.get(locale))] if own else []


def basis_text(fee: Fee, region: str | None, locale: str) -> str:
    """The fee's legal basis in ``locale`` with the fee law of ``region`` (the competent body's) in
    brackets; where the region is not known, with every region's, each labelled ("…
    (Hamburg: …; Bremen: …)")."""
    if region is None:
        laws = [f"{entry.region}: {entry.basis.get(locale)}" for entry in fee.regional if entry.basis]
    else:
        own = fee.for_region(region)
        laws = [own.basis.get(locale)] if own and own.basis else []
    basis = fee.basis.get(locale)
    return f"{basis} ({'; '.join(laws)})" if laws else basis
