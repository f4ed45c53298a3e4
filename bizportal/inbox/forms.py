"""Forms of the staff inbox: the next step of a filing, messages to the company, internal notes."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..common.time import local_today
from ..common.validators import register_key
from ..filings.forms import OneTimeTokenField
from ..filings.states import STATUS_LABELS as FILING_STATUS_LABELS
from ..filings.states import FilingStatus

#: the longest time a company may be given to answer a request
MAX_ANSWER_DAYS = 366

# Hidden fields get an empty label: without one, WTForms translates a label made from the field's
# name, and Flask-WTF loads WTForms' message catalog from disk for that, once per request.



#: an over-long text's message: how long it may be and how long it is (WTForms fills both in), as the
#: company's form steps say it
TOO_LONG = _l("Dieser Text ist zu lang: höchstens %(max)s Zeichen, eingegeben wurden %(length)s. "
              "Bitte kürzen Sie ihn.")

class ActionForm(FlaskForm):
    """One step of the filing's status machine, chosen from the steps allowed now (``inbox.actions``).

    ``expected_status`` carries the status the page showed: a second press, another tab or a
    colleague's change in between is refused by ``filings.lifecycle.staff_event``.
    """

    action = RadioField(_l("Nächster Schritt"), choices=[],
                        validators=[InputRequired(message=_l("Bitte wählen Sie einen Schritt."))])
    expected_status = HiddenField(label="")
    #: a request or decision message posted twice is stored once
    form_token = OneTimeTokenField(label="")
    detail = TextAreaField(_l("Nachricht an das Unternehmen"), validators=[Length(max=2000, message=TOO_LONG)],
                           description=_l("Bei einer Nachforderung oder Ablehnung ist eine Begründung nötig."))
    # no Optional(): it would end the chain before validate_due_on, which requires it for a request
    due_on = DateField(_l("Antwort erbeten bis"), validators=[],
                       description=_l("Nur bei einer Nachforderung: bis wann das Unternehmen antworten soll."))
    documents = MultipleFileField(_l("Bescheid oder Bestätigung (PDF, freiwillig)"),
                                  description=_l("Nur bei einer Entscheidung: das Unternehmen lädt das Dokument "
                                                 "im Portal herunter."))

    def validate_detail(self, field) -> None:
        if self.action.data in (FilingStatus.INFORMATION_REQUESTED, FilingStatus.REJECTED) \
                and not (field.data or "").strip():
            raise ValidationError(_l("Bitte begründen Sie die Nachforderung oder Ablehnung."))

    def validate_due_on(self, field) -> None:
        if self.action.data != FilingStatus.INFORMATION_REQUESTED:
            field.errors = []  # a date typed for another step is ignored, not an error
            return
        if field.data is None:
            field.errors = []  # the date field's own "not a valid date" is said once, in this form's words
            if field.raw_data and field.raw_data[0]:
                raise ValidationError(_l("Bitte geben Sie ein gültiges Datum an."))
            raise ValidationError(_l("Bitte geben Sie an, bis wann das Unternehmen antworten soll."))
        today = local_today(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        if field.data <= today:
            raise ValidationError(_l("Das Datum muss in der Zukunft liegen."))
        if field.data > today + timedelta(days=MAX_ANSWER_DAYS):
            raise ValidationError(_l("Das Datum darf höchstens ein Jahr in der Zukunft liegen."))


class StaffMessageForm(FlaskForm):
    """A message from the chamber to the company that does not change the status."""

    body = TextAreaField(_l("Nachricht"), validators=[
        DataRequired(message=_l("Bitte schreiben Sie eine Nachricht.")), Length(max=5000, message=TOO_LONG)])
    files = MultipleFileField(_l("Dokumente (freiwillig)"), description=_l("PDF, PNG oder JPEG, je höchstens 10 MB."))
    form_token = OneTimeTokenField(label="")


class AssignForm(FlaskForm):
    """Who in the chamber works the filing; choices: the chamber's staff (``inbox.views``)."""

    assignee = SelectField(_l("Zuständig"), choices=[], validate_choice=True)


class NoteForm(FlaskForm):
    """An internal note: only the chamber's staff see it."""

    note = TextAreaField(_l("Interne Notiz"), validators=[
        DataRequired(message=_l("Bitte schreiben Sie eine Notiz.")), Length(max=5000, message=TOO_LONG)],
        description=_l("Nur für Ihre Kammer sichtbar, nie für das Unternehmen."))
    form_token = OneTimeTokenField(label="")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


#: the filing statuses as the list shows them (the same words as the company's timeline)
STATUS_LABELS = {status.value: label for status, label in FILING_STATUS_LABELS.items()}


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
        #: the services offered (key, title in the page's language), as given
        self.services = tuple(services)
        self.leistung.choices = [("", _l("alle")), *services]

    def validate_registernummer(self, field) -> None:
        if field.data and register_key(field.data) is None:
            raise ValidationError(_l("Bitte geben Sie Registerart und Nummer an, z. B. HRB 12345."))

    def validate_bis(self, field) -> None:
        if field.data and self.von.data and self.von.data > field.data:
            raise ValidationError(_l("Das Bis-Datum liegt vor dem Ab-Datum."))

    def register(self) -> str | None:
        return register_key(self.registernummer.data or "")
