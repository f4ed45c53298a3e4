"""The dashboard's question: range, period size and filters (a GET form: it changes nothing)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, ValidationError

from ..audit.forms import DayField
from ..bodies.models import CHAMBER_KINDS
from .queries import MAX_PERIODS, Scope, periods
from .tables import BODY_KIND_LABELS

#: the longest range one question may ask for
MAX_DAYS = 3700


class StatsFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a question sent with GET; it changes nothing

    von = DayField(_l("Von (Datum)"), description=_l("Format TT.MM.JJJJ"))
    bis = DayField(_l("Bis (Datum)"), description=_l("Format TT.MM.JJJJ, einschließlich dieses Tages"))
    einteilung = SelectField(_l("Einteilung"), default="month",
                             choices=[("month", _l("Monate")), ("week", _l("Wochen")), ("day", _l("Tage"))])
    leistung = SelectField(_l("Leistung"), default="")
    art = SelectField(_l("Art der Stelle"), default="")
    stelle = SelectField(_l("Stelle"), default="")

    def __init__(self, services: Mapping[str, str], chambers: Mapping[str, str], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.leistung.choices = [("", _l("alle"))] + sorted(services.items(), key=lambda kv: kv[1])
        self.art.choices = [("", _l("alle"))] + [(k, BODY_KIND_LABELS[k]) for k in CHAMBER_KINDS]
        self.stelle.choices = [("", _l("alle"))] + sorted(chambers.items(), key=lambda kv: kv[1])

    def validate_bis(self, field) -> None:
        first, last = self.von.day, field.day
        if first and last and last < first:
            raise ValidationError(_l("Das Datum „bis“ liegt vor dem Datum „von“."))
        if first and last and (last - first).days >= MAX_DAYS:
            raise ValidationError(_l("Bitte wählen Sie höchstens zehn Jahre."))

    def validate_einteilung(self, field) -> None:
        first, last = self.von.day, self.bis.day
        if first and last and last >= first and len(periods(Scope(first, last, field.data))) > MAX_PERIODS:
            raise ValidationError(_l("So viele Zeiträume passen in keine Übersicht: bitte Wochen oder Monate "
                                     "wählen."))

    def scope(self, default_start: date, default_end: date) -> Scope:
        return Scope(start=self.von.day or default_start, end=self.bis.day or default_end,
                     granularity=self.einteilung.data or "month", service=self.leistung.data or None,
                     body_kind=self.art.data or None, chamber=self.stelle.data or None)
