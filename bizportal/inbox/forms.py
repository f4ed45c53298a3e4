"""Forms of the staff inbox."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

STATUS_CHOICES = [("received", _l("Eingang bestätigen")), ("in_progress", _l("In Bearbeitung")),
                  ("information_requested", _l("Angaben oder Unterlagen nachfordern")),
                  ("accepted", _l("Bewilligen / eintragen")), ("rejected", _l("Ablehnen"))]


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
