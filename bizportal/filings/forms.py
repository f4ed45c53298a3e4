"""WTForms forms built from service definitions."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp, ValidationError

from ..catalog.models import ServiceDefinition
from ..common.validators import Postleitzahl

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{32,64}$"


class FilingFormBase(FlaskForm):
    #: one-time token of this form instance; the same token never creates a second filing
    submit_token = HiddenField(validators=[DataRequired(), Regexp(TOKEN_PATTERN)])


def new_submit_token() -> str:
    return secrets.token_urlsafe(32)


def _required_message() -> Any:
    return _l("Bitte füllen Sie dieses Feld aus.")


def build_form_class(service: ServiceDefinition, locale: str) -> type[FilingFormBase]:
    """A form class whose fields, labels, hints and validators come from the definition."""

    attrs: dict[str, Any] = {}
    for fd in service.fields:
        label = fd.label.get(locale)
        description = fd.hint.get(locale) if fd.hint else ""
        required = [InputRequired(message=_required_message())] if fd.required else [Optional()]
        kwargs: dict[str, Any] = {"label": label, "description": description}
        if fd.type in ("text", "textarea", "email", "postcode"):
            validators = [*required, Length(max=fd.max_length, message=_l(
                "Bitte kürzen Sie Ihre Angabe auf höchstens %(max)d Zeichen.", max=fd.max_length))]
            if fd.type == "postcode":
                validators.append(Postleitzahl())
            if fd.type == "email":
                validators.append(Email(message=_l("Bitte geben Sie eine gültige E-Mail-Adresse an.")))
            cls = {"text": StringField, "textarea": TextAreaField, "email": EmailField,
                   "postcode": StringField}[fd.type]
            attrs[fd.name] = cls(validators=validators, filters=[_strip], **kwargs)
        elif fd.type == "date":
            attrs[fd.name] = DateField(
                validators=required + [_plausible_date],
                **kwargs,
            )
        elif fd.type == "choice":
            attrs[fd.name] = SelectField(
                choices=[("", _l("Bitte auswählen"))] + [(c.value, c.label.get(locale)) for c in fd.choices],
                validators=[*required, _not_placeholder] if fd.required else [Optional()],
                **kwargs,
            )
        elif fd.type == "yesno":
            attrs[fd.name] = RadioField(
                choices=[("yes", _l("Ja")), ("no", _l("Nein"))],
                validators=[InputRequired(message=_l("Bitte wählen Sie Ja oder Nein."))]
                if fd.required else [Optional()],
                **kwargs,
            )
        else:  # pragma: no cover - the loader refuses unknown types
            raise ValueError(fd.type)
    return type(f"{service.key.title().replace('-', '')}Form", (FilingFormBase,), attrs)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _not_placeholder(form, field) -> None:
    if not field.data:
        raise ValidationError(_l("Bitte wählen Sie einen Eintrag aus."))


def _plausible_date(form, field) -> None:
    if field.data and not date(1900, 1, 1) <= field.data <= date(2100, 12, 31):
        raise ValidationError(_l("Bitte geben Sie ein Datum zwischen 1900 und 2100 an."))


def answers_from_form(service: ServiceDefinition, form: FilingFormBase) -> dict[str, Any]:
    """Plain JSON-able answers: dates as ISO strings, yes/no as booleans, empty optional as None."""
    answers: dict[str, Any] = {}
    for fd in service.fields:
        value = form[fd.name].data
        if fd.type == "yesno":
            value = {"yes": True, "no": False}.get(value)
        elif fd.type == "date":
            value = value.isoformat() if value else None
        elif value == "":
            value = None
        answers[fd.name] = value
    return answers


def prefill_values(service: ServiceDefinition, sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Values known from the company account for fields that declare ``prefill``."""
    values: dict[str, Any] = {}
    for fd in service.fields:
        if fd.prefill:
            scope, _, attr = fd.prefill.partition(".")
            value = sources.get(scope, {}).get(attr)
            if value:
                values[fd.name] = value
    return values
