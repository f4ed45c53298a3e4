"""Forms of the admin pages for API clients."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError


class ActionForm(FlaskForm):
    """Only the CSRF token (rotate and revoke buttons)."""


class ApiClientForm(FlaskForm):
    """A new client: its chamber, a name the admins recognise, and what it may do."""

    chamber = SelectField(_l("Stelle"), choices=[], validators=[
        InputRequired(message=_l("Bitte wählen Sie die Stelle, für die das System arbeitet."))])
    name = StringField(_l("Bezeichnung"), validators=[
        DataRequired(message=_l("Bitte geben Sie eine Bezeichnung ein.")), Length(max=100)],
        description=_l("Woran Sie das System erkennen, z. B. „Handwerksrolle-Software“."))
    scope_read = BooleanField(_l("Anträge lesen (filings:read)"), default=True)
    scope_write = BooleanField(_l("Eingang bestätigen und Stand setzen (filings:write)"))
    scope_messages = BooleanField(_l("Nachrichten an Unternehmen senden (messages:write)"))

    def scopes(self) -> list[str]:
        chosen = [("filings:read", self.scope_read), ("filings:write", self.scope_write),
                  ("messages:write", self.scope_messages)]
        return [scope for scope, field in chosen if field.data]

    def validate_scope_read(self, field) -> None:
        if not self.scopes():
            raise ValidationError(_l("Bitte wählen Sie mindestens eine Berechtigung."))
