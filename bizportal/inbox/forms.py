"""Forms of the staff inbox."""

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..common.validators import register_key

STATUS_CHOICES = [("received", _l("Eingang bestätigen")), ("in_progress", _l("In Bearbeitung")),
                  ("information_requested", _l("Angaben oder Unterlagen nachfordern")),
                  ("accepted", _l("Bewilligen / eintragen")), ("rejected", _l("Ablehnen"))]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class StatusForm(FlaskForm):
    """A chamber's answer to a filing: receipt, progress, request for information, decision."""

    kind = RadioField(_l("Neuer Stand"), validators=[InputRequired(message=_l("Bitte wählen Sie einen Stand."))],
                      choices=STATUS_CHOICES)
    detail = TextAreaField(_l("Nachricht an das Unternehmen"), validators=[Length(max=2000)],
                           description=_l("Bei einer Nachforderung oder Ablehnung ist eine Begründung nötig."))

    def receipt_only(self) -> None:
        """A copy recipient only confirms receipt: it does not work or decide the filing."""
        self.kind.choices = [(value, label) for value, label in STATUS_CHOICES if value == "received"]

    def validate_detail(self, field) -> None:
        from wtforms.validators import ValidationError

        if self.kind.data in ("information_requested", "rejected") and not (field.data or "").strip():
            raise ValidationError(_l("Bitte begründen Sie die Nachforderung oder Ablehnung."))


#: the filing statuses as the list shows them (the same words as the company's timeline)
STATUS_LABELS = {
    "submitted": _l("Eingereicht"), "forwarded": _l("Weitergeleitet"), "received": _l("Eingegangen"),
    "in_progress": _l("In Bearbeitung"), "information_requested": _l("Nachfrage"), "accepted": _l("Bewilligt"),
    "rejected": _l("Abgelehnt"), "withdrawn": _l("Zurückgezogen"),
}


class _DateField(DateField):
    """A date as YYYY-MM-DD (the browser's date picker) or TT.MM.JJJJ, with a German message."""

    def __init__(self, label, **kwargs) -> None:
        super().__init__(label, validators=[Optional(), _plausible_date], format=["%Y-%m-%d", "%d.%m.%Y"],
                         **kwargs)

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Bitte geben Sie ein gültiges Datum an, z. B. 31.12.2026.")) from None


def _plausible_date(form, field) -> None:
    if field.data and not date(2000, 1, 1) <= field.data <= date(2100, 12, 31):
        raise ValidationError(_l("Bitte geben Sie ein Datum zwischen 2000 und 2100 an."))


class InboxFilterForm(FlaskForm):
    """Search, filters and sort order of the inbox list. Sent with GET (bookmarkable, kept by the
    page links); it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    aktenzeichen = StringField(_l("Aktenzeichen"), validators=[Optional(), Length(max=32)], filters=[_strip],
                               description=_l("Ganz oder der Anfang, z. B. BP-2026-"))
    unternehmen = StringField(_l("Unternehmen"), validators=[Optional(), Length(max=100)], filters=[_strip],
                              description=_l("Ein Teil des Namens genügt."))
    registernummer = StringField(_l("Registernummer"), validators=[Optional(), Length(max=60)], filters=[_strip],
                                 description=_l("Registerart und Nummer, z. B. HRB 12345"))
    stand = SelectField(_l("Stand"), choices=[("", _l("alle"))] + list(STATUS_LABELS.items()), default="")
    leistung = SelectField(_l("Leistung"), choices=[("", _l("alle"))], default="")
    von = _DateField(_l("Eingegangen ab"))
    bis = _DateField(_l("Eingegangen bis"))
    zuweisung = SelectField(_l("Zuweisung"), choices=[("", _l("alle")), ("mir", _l("mir zugewiesen")),
                                                      ("niemand", _l("niemandem zugewiesen"))], default="")
    neu = BooleanField(_l("Nur neue seit meinem letzten Besuch"))
    sortierung = SelectField(_l("Sortierung"), choices=[
        ("neueste", _l("Eingang, neueste zuerst")), ("aelteste", _l("Eingang, älteste zuerst")),
        ("aktenzeichen", _l("Aktenzeichen")), ("unternehmen", _l("Unternehmen (A–Z)"))], default="neueste")

    def __init__(self, formdata, services: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(formdata, **kwargs)
        self.leistung.choices = [("", _l("alle")), *services]

    def validate_registernummer(self, field) -> None:
        if field.data and register_key(field.data) is None:
            raise ValidationError(_l("Bitte geben Sie Registerart und Nummer an, z. B. HRB 12345."))

    def validate_bis(self, field) -> None:
        if field.data and self.von.data and self.von.data > field.data:
            raise ValidationError(_l("Das Bis-Datum liegt vor dem Ab-Datum."))

    def register(self) -> str | None:
        return register_key(self.registernummer.data or "")
