"""Forms of the delivery admin pages."""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
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


class BodyForm(FlaskForm):
    """A receiving body's master data. The values are checked by ``bodies.services`` (one place for
    the rules); its errors are put on these fields."""

    slug = StringField(_l("Kennung"), description=_l(
        "Kleinbuchstaben, Ziffern und Bindestriche, z. B. „hwk-bremen“. Sie bleibt für immer gleich: "
        "Anmeldedienst und Adapter nennen die Stelle so."), render_kw={"spellcheck": "false"})
    name = StringField(_l("Name"), description=_l("So sehen Unternehmen und Mitarbeitende die Stelle."))
    kind = SelectField(_l("Art"), validate_choice=False, choices=[("HWK", _l("Handwerkskammer (HWK)")),
                                           ("IHK", _l("Industrie- und Handelskammer (IHK)")),
                                           ("GEWERBEAMT", _l("Gewerbeamt"))])
    region = StringField(_l("Region"))
    postcode_prefixes = TextAreaField(_l("Postleitzahlen (Anfänge)"), description=_l(
        "Die Anfänge der Postleitzahlen des Gebiets, getrennt durch Leerzeichen oder Kommas, z. B. „28 2756“. "
        "Der längste passende Anfang entscheidet."), render_kw={"rows": 3, "spellcheck": "false"})
    municipality_keys = TextAreaField(_l("Amtliche Gemeindeschlüssel"), description=_l(
        "8 Ziffern je Gemeinde, getrennt durch Leerzeichen oder Kommas, z. B. „04011000“. Ein passender "
        "Gemeindeschlüssel geht den Postleitzahlen vor."), render_kw={"rows": 3, "spellcheck": "false"})
    enabled = BooleanField(_l("Stelle empfängt Anträge (aktiv)"))
    authority_prefix = StringField(_l("Behördenkennung: Präfix"), description=_l(
        "Aus dem DVDV bzw. dem Behördenverzeichnis übernehmen, z. B. „MELDID“; 2 bis 10 Buchstaben oder Ziffern. "
        "Leer lassen, solange die Stelle keine Behördenkennung hat."), render_kw={"spellcheck": "false"})
    authority_id = StringField(_l("Behördenkennung: Kennung"), description=_l(
        "Die Kennung der Stelle unter diesem Präfix, z. B. „12052000“; 1 bis 20 Buchstaben oder Ziffern. "
        "XGewerbeanzeige-Nachrichten nennen die Stelle damit als Absender und Empfänger."),
        render_kw={"spellcheck": "false"})

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("slug", "name", "kind", "region", "postcode_prefixes", "municipality_keys", "enabled",
                 "authority_prefix", "authority_id")}

    def show_errors(self, errors: dict[str, list[str]]) -> None:
        for name, messages in errors.items():
            getattr(self, name).errors = [*getattr(self, name).errors, *messages]


class BodyImportForm(FlaskForm):
    """A CSV or JSON file with receiving bodies."""

    file = FileField(_l("Datei (CSV oder JSON)"), validators=[
        FileRequired(message=_l("Bitte wählen Sie eine Datei aus.")),
        FileAllowed(["csv", "json"], message=_l("Bitte wählen Sie eine CSV- oder JSON-Datei."))])
