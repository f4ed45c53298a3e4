"""Validators for German identifiers and formats, with messages a company understands."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

PLZ_RE = re.compile(r"^\d{5}$")


def is_plz(value: str) -> bool:
    """A German postcode: exactly five digits, not 00xxx (unassigned)."""
    return bool(PLZ_RE.match(value)) and not value.startswith("00")


class Postleitzahl:
    """WTForms validator for a German postcode (PLZ)."""

    def __call__(self, form, field) -> None:
        if field.data and not is_plz(field.data.strip()):
            raise ValidationError(_l("Bitte geben Sie eine Postleitzahl mit fünf Ziffern an, z. B. 28195."))
