"""Validators for German identifiers and formats, with messages a company understands.

Each ``check_*`` function returns the normalised value or raises ``ValueError`` with a message
meant for the person filling the form. python-stdnum does the checking where it has a module.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from stdnum import iban as stdnum_iban
from stdnum.de import handelsregisternummer, stnr, vat
from stdnum.eu import nace
from stdnum.exceptions import ValidationError as StdnumError
from wtforms.validators import ValidationError

PLZ_RE = re.compile(r"^\d{5}$")
WIRTSCHAFTS_IDNR_RE = re.compile(r"^DE\d{9}-\d{5}$")
WZ_RE = re.compile(r"^(\d{2})\.?(\d{2})\.?(\d)$")
PHONE_RE = re.compile(r"^\+?[0-9 ()/-]{6,25}$")
BETRIEBSNUMMER_RE = re.compile(r"^\d{8}$")
#: register type and number inside a Handelsregisternummer ("Bremen HRB 12345 HB" → HRB, 12345)
REGISTER_RE = re.compile(r"(?<![A-Za-z])(HRA|HRB|PR|GnR|VR)\s*([1-9][0-9]{0,5})(?![0-9])", re.IGNORECASE)


def is_plz(value: str) -> bool:
    """A German postcode: exactly five digits, not 00xxx (unassigned)."""
    return bool(PLZ_RE.match(value)) and not value.startswith("00")


def check_iban(value: str) -> str:
    try:
        return stdnum_iban.validate(value)
    except StdnumError:
        raise ValueError(_l("Diese IBAN ist ungültig. Bitte prüfen Sie die Angabe, "
                            "z. B. DE89 3704 0044 0532 0130 00.")) from None


def check_vat_de(value: str) -> str:
    try:
        return "DE" + vat.validate(value)
    except StdnumError:
        raise ValueError(_l("Diese Umsatzsteuer-Identifikationsnummer ist ungültig. "
                            "Sie beginnt mit DE und hat 9 Ziffern.")) from None


def check_steuernummer(value: str) -> str:
    try:
        return stnr.validate(value)
    except StdnumError:
        raise ValueError(_l("Diese Steuernummer ist ungültig. "
                            "Geben Sie sie wie auf Ihrem Steuerbescheid an (10 bis 13 Ziffern).")) from None


def check_handelsregisternummer(value: str) -> str:
    try:
        return handelsregisternummer.validate(value)
    except StdnumError:
        raise ValueError(_l("Bitte geben Sie Registergericht, Registerart (HRA, HRB, GnR, PR oder VR) und "
                            "Nummer an, z. B. „Bremen HRB 12345“.")) from None


def register_key(value: str) -> str | None:
    """The search key of a Handelsregisternummer: register type and number without court or
    qualifier ("Amtsgericht Bremen HRB 12345" and "hrb12345" → "HRB12345"); None without one."""
    match = REGISTER_RE.search(value or "")
    return f"{match.group(1).upper()}{match.group(2)}" if match else None


def check_wirtschafts_idnr(value: str) -> str:
    compact = value.replace(" ", "").upper()
    if not WIRTSCHAFTS_IDNR_RE.match(compact):
        raise ValueError(_l("Die Wirtschafts-Identifikationsnummer hat die Form DE123456789-00001."))
    try:
        vat.validate(compact[:11])
    except StdnumError:
        raise ValueError(_l("Die Wirtschafts-Identifikationsnummer ist ungültig (Prüfziffer).")) from None
    return compact


def check_wz2008(value: str) -> str:
    """A WZ 2008 code of five digits (e.g. 47.11.0); the first four must be a NACE Rev. 2 class."""
    match = WZ_RE.match(value.strip())
    if not match:
        raise ValueError(_l("Der WZ-Schlüssel hat fünf Ziffern, z. B. 47.11.0."))
    try:
        nace.validate(match.group(1) + match.group(2), revision="2.0")
    except StdnumError:
        raise ValueError(_l("Diesen WZ-Schlüssel gibt es nicht. "
                            "Prüfen Sie die Angabe im Verzeichnis WZ 2008.")) from None
    return f"{match.group(1)}.{match.group(2)}.{match.group(3)}"


def check_phone(value: str) -> str:
    if not PHONE_RE.match(value.strip()):
        raise ValueError(_l("Bitte geben Sie eine Telefonnummer mit Vorwahl an, z. B. 0421 123456."))
    return value.strip()


def check_betriebsnummer(value: str) -> str:
    """The Bundesagentur für Arbeit's establishment number (§ 18i SGB IV): eight digits."""
    compact = re.sub(r"\s", "", value)
    if not BETRIEBSNUMMER_RE.match(compact):
        raise ValueError(_l("Bitte geben Sie die Betriebsnummer mit acht Ziffern an, z. B. 12345678."))
    return compact


FORMATS: dict[str, Callable[[str], str]] = {
    "iban": check_iban,
    "vat_de": check_vat_de,
    "steuernummer": check_steuernummer,
    "handelsregisternummer": check_handelsregisternummer,
    "wirtschafts_idnr": check_wirtschafts_idnr,
    "wz2008": check_wz2008,
    "phone": check_phone,
    "betriebsnummer": check_betriebsnummer,
}


class Postleitzahl:
    """WTForms validator for a German postcode (PLZ)."""

    def __call__(self, form, field) -> None:
        if field.data and not is_plz(field.data.strip()):
            raise ValidationError(_l("Bitte geben Sie eine Postleitzahl mit fünf Ziffern an, z. B. 28195."))


class Format:
    """WTForms validator for one of ``FORMATS``; stores the normalised value back into the field."""

    def __init__(self, name: str):
        self.check = FORMATS[name]

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        try:
            field.data = self.check(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc.args[0])) from None
