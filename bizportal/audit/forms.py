"""The filter of the audit page (a GET form: it changes nothing, so it carries no CSRF token)."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, ValidationError

from .kinds import KINDS, OUTCOME_LABELS

_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")


def parse_day(text: str | None) -> date | None:
    """A day written as 31.12.2026 or 2026-12-31; None for an empty text.

    Raises ValueError for anything else.
    """
    text = (text or "").strip()
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


class DayField(StringField):
    """A date typed as text (TT.MM.JJJJ or JJJJ-MM-TT); ``day`` is the parsed day once the form
    validated (also used by the statistics' filter)."""

    day: date | None = None

    def pre_validate(self, form) -> None:
        try:
            self.day = parse_day(self.data)
        except ValueError:
            self.day = None
            raise ValidationError(_l("Bitte geben Sie ein gültiges Datum im Format TT.MM.JJJJ ein, z. B. 01.12.2026."))\
                from None


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search sent with GET; it changes nothing

    aktion = SelectField(_l("Art des Eintrags"), default="")
    person = StringField(_l("Person"), validators=[Length(max=100)],
                         description=_l("Name, E-Mail-Adresse oder Unternehmen (ein Teil genügt)."))
    vorgang = StringField(_l("Antrag oder Ziel"), validators=[Length(max=100)],
                          description=_l("Vorgangsnummer (z. B. BP-2026-ABC234) oder ein Teil des Ziels."))
    von = DayField(_l("Von (Datum)"), description=_l("Format TT.MM.JJJJ"))
    bis = DayField(_l("Bis (Datum)"), description=_l("Format TT.MM.JJJJ, einschließlich dieses Tages"))
    ergebnis = SelectField(_l("Ergebnis"), default="")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        kinds = sorted(KINDS.items(), key=lambda item: str(item[1].label).lower())
        self.aktion.choices = [("", _l("alle"))] + [(key, kind.label) for key, kind in kinds]
        self.ergebnis.choices = [("", _l("alle"))] + list(OUTCOME_LABELS.items())

    def validate_bis(self, field) -> None:
        first, last = getattr(self.von, "day", None), getattr(field, "day", None)
        if first and last and last < first:
            raise ValidationError(_l("Das Datum „bis“ liegt vor dem Datum „von“."))
