"""Forms of the staff inbox: the next step of a filing, messages to the company, internal notes."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, MultipleFileField, RadioField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..common.time import local_today
from ..filings.states import FilingStatus

#: the longest time a company may be given to answer a request
MAX_ANSWER_DAYS = 366


class ActionForm(FlaskForm):
    """One step of the filing's status machine, chosen from the steps allowed now (``inbox.actions``).

    ``expected_status`` carries the status the page showed: a second press, another tab or a
    colleague's change in between is refused by ``filings.lifecycle.staff_event``.
    """

    action = RadioField(_l("Nächster Schritt"), choices=[],
                        validators=[InputRequired(message=_l("Bitte wählen Sie einen Schritt."))])
    expected_status = HiddenField()
    detail = TextAreaField(_l("Nachricht an das Unternehmen"), validators=[Length(max=2000)],
                           description=_l("Bei einer Nachforderung oder Ablehnung ist eine Begründung nötig."))
    due_on = DateField(_l("Antwort erbeten bis"), validators=[Optional()],
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
            return
        if field.data is None:
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
        DataRequired(message=_l("Bitte schreiben Sie eine Nachricht.")), Length(max=5000)])
    files = MultipleFileField(_l("Dokumente (freiwillig)"), description=_l("PDF, PNG oder JPEG, je höchstens 10 MB."))


class NoteForm(FlaskForm):
    """An internal note: only the chamber's staff see it."""

    note = TextAreaField(_l("Interne Notiz"), validators=[
        DataRequired(message=_l("Bitte schreiben Sie eine Notiz.")), Length(max=5000)],
        description=_l("Nur für Ihre Kammer sichtbar, nie für das Unternehmen."))
