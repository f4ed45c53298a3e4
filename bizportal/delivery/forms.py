"""Forms of the delivery admin pages."""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, TextAreaField
from wtforms.validators import InputRequired, ValidationError


class ActionForm(FlaskForm):
    """A form that only carries the CSRF token (check configuration, re-send buttons)."""


class ChamberForm(FlaskForm):
    """A chamber's adapter, its options as JSON, and whether it receives filings."""

    adapter_key = SelectField(_l("Adapter"), validators=[InputRequired(message=_l("Bitte wählen Sie einen Adapter."))])
    options = TextAreaField(
        _l("Optionen (JSON)"),
        description=_l("Ein JSON-Objekt mit den Einstellungen des Adapters. Geheime Werte werden als ******** "
                       "angezeigt; bleiben sie so stehen, gilt der gespeicherte Wert weiter."),
        render_kw={"rows": 10, "spellcheck": "false"},
    )
    enabled = BooleanField(_l("Stelle empfängt Anträge (aktiv)"))

    def parsed_options(self) -> dict:
        return json.loads(self.options.data or "{}")

    def validate_options(self, field) -> None:
        try:
            value = json.loads(field.data or "{}")
        except json.JSONDecodeError as exc:
            raise ValidationError(_l("Kein gültiges JSON (Zeile %(line)s, Spalte %(col)s): %(msg)s",
                                     line=exc.lineno, col=exc.colno, msg=exc.msg)) from None
        if not isinstance(value, dict):
            raise ValidationError(_l("Die Optionen müssen ein JSON-Objekt sein, z. B. {\"url\": \"…\"}."))
