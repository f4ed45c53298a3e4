"""WTForms forms built from service definitions, one form per step."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import force_locale, format_date, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import Select, TextInput

from ..bodies.routing import NoCompetentBody, competent_chamber, competent_slug
from ..catalog import wz2008
from ..catalog.models import COUNTRY_PART, Check, FieldDefinition, ServiceDefinition, Text
from ..common import countries
from ..common.formats import number
from ..common.time import local_today
from ..common.validators import Format, Postleitzahl
from ..extensions import db


class StepForm(FlaskForm):
    """Base of every step form (CSRF on). After the fields' own validators it applies the
    definition's checks of this step (``Check``) to the answers given so far and on this page;
    a failed check is an error of its field, in the page's language."""

    step_checks: tuple[Check, ...] = ()
    step_definitions: dict[str, FieldDefinition] = {}
    page_locale = "de"
    #: the service, when its ``location_field`` is on this step (the competent body is checked here)
    located_service: ServiceDefinition | None = None

    def __init__(self, *args: Any, earlier_answers: dict[str, Any] | None = None,
                 more_checks: tuple[Check, ...] = (), **kwargs: Any) -> None:
        self.earlier_answers = dict(earlier_answers or {})  # of this draft: the class is shared
        if more_checks:  # e.g. a bundle's checks on its service's fields (the class is shared)
            self.step_checks = (*type(self).step_checks, *more_checks)
        super().__init__(*args, **kwargs)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not self.step_checks and self.located_service is None:
            return valid
        answers = {**self.earlier_answers, **{name: _convert(fd, self[name].data)
                                              for name, fd in self.step_definitions.items() if fd.type != "file"}}
        if not self._routed(answers):
            valid = False
        for check in self.step_checks:
            if check.field not in self.step_definitions or any(
                    self[name].errors for name in check.inputs if name in self.step_definitions):
                continue  # hidden now, or an answer it compares is wrong already
            problem = check.problem(answers, body_at)
            if problem is not None and check.item and "entry" in problem:
                self._entry_error(check.field, problem["entry"], check.item,
                                  check_message(check.message, {}, self.page_locale))
                valid = False
            elif problem is not None:
                field = self[check.field]
                message = check_message(check.message, problem, self.page_locale)
                if isinstance(field, FormField):  # an address compared by its postcode: said there
                    field["postcode"].errors = [*field["postcode"].errors, message]
                    field.form._errors = None
                else:
                    field.errors = [*field.errors, message]
                valid = False
        self._errors = None
        return valid

    def _entry_error(self, group: str, index: int, item: str, message: str) -> None:
        """A failed check's ``message`` at the field ``item`` of the group's entry ``index`` (the
        error summary links it as "<group> <n> – <field>")."""
        field, fd = self[group], self.step_definitions[group]
        # the answers leave out entries left empty: the index counts the others
        given = [e for e in field.entries if not _is_empty(group_item(fd.fields, e.data))]
        if index >= len(given):  # pragma: no cover - the answers were read from these entries
            field.errors = [*field.errors, message]
            return
        entry = given[index].form
        entry[item].errors = [*entry[item].errors, message]
        entry._errors = None
        field.errors = [*field.errors, entry.errors]

    def _routed(self, answers: dict[str, Any]) -> bool:
        """Whether a connected body of every kind the answers so far route to covers the location's
        postcode, as the submit routes (``services.destinations_of``); if not, the postcode is
        refused at its field with ``unrouted_message``. Not checked while the postcode is wrong."""
        service = self.located_service
        if service is None:
            return True
        field = self[service.location_field]
        postcode_field = field["postcode"] if isinstance(field, FormField) else field
        postcode = service.postcode_from(answers)
        if postcode_field.errors or not postcode:
            return True
        key = service.municipality_key_from(answers)
        for kind, _role in service.destinations(answers):
            try:
                competent_chamber(db.session, kind, postcode, key)
            except NoCompetentBody:
                postcode_field.errors = [*postcode_field.errors, unrouted_message(postcode, self.page_locale)]
                if isinstance(field, FormField):
                    field.form._errors = None
                return False
        return True


def unrouted_message(postcode: str, locale: str) -> str:
    """Said of a postcode no connected body covers: no choice of the company makes that filing possible."""
    with force_locale(locale):
        return gettext("Für die Postleitzahl %(postcode)s ist im Portal noch keine zuständige Stelle "
                       "angeschlossen. Bitte prüfen Sie die Postleitzahl; stimmt sie, kann dieser Antrag bzw. "
                       "diese Anzeige noch nicht über das Portal eingereicht werden.", postcode=postcode)


def body_at(kind: str, postcode: str) -> str | None:
    """The competent body of ``kind`` for ``postcode`` as the submit would route to it (its slug;
    None: no body of the portal covers it), for the checks that compare bodies (``Check.problem``)."""
    return competent_slug(db.session, kind, postcode)


def check_message(message: Text, problem: dict[str, Any], locale: str) -> str:
    """The ``message`` of a failed check in ``locale``, with the values of its ``problem`` written
    as the page writes them (an amount, a date). A postcode no connected body covers (a body
    rule's ``unrouted``) is said so instead: no choice of the company makes that filing possible."""
    if "unrouted" in problem:
        return unrouted_message(problem["unrouted"], locale)
    shown = {k: number(v) if k in ("minimum", "limit") else format_date(date.fromisoformat(v), "medium")
             if k == "date" else v for k, v in problem.items()}
    text = message.get(locale).format(**shown)
    if "applied_year" in problem:  # the start's own year has no published row: say whose was applied
        with force_locale(locale):
            text += " " + _minimum_note(problem["year"], problem["applied_year"])
    return text


def _minimum_note(year: int, applied: int) -> str:
    return gettext("Für %(year)s ist die Mindestvergütung noch nicht veröffentlicht; geprüft wurde mit der "
             "Mindestvergütung für %(applied)s. Die Vergütung muss die für %(year)s veröffentlichte "
             "Mindestvergütung erreichen.", year=str(year), applied=str(applied))


def minimum_notes(checks, answers: dict[str, Any], shown: Collection[str]) -> list[str]:
    """A note for each statutory minimum on the page (``shown``: its fields' names) whose start year
    has no published row: which year's minimum the page checks against (``MinimumTable.applied_year``)."""
    notes = []
    for check in checks:
        if check.rule != "statutory_minimum" or check.field not in shown or check.table is None or \
                any(c.holds(answers) for c in check.unless):
            continue
        start = str(answers.get(check.other) or "")[:4]
        if not start.isdigit():
            continue
        applied = check.table.applied_year(int(start))
        note = _minimum_note(int(start), applied) if applied is not None and applied != int(start) else None
        if note and note not in notes:
            notes.append(note)
    return notes


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _not_placeholder(form, field) -> None:
    if not field.data:
        raise ValidationError(_l("Bitte wählen Sie einen Eintrag aus."))


class _DateField(DateField):
    """A date as a date input sends it (2025-12-31) or as typed in German (31.12.2025); anything
    else gets a message in the page's language that names the form (inside a repeating group too,
    where WTForms' own message stayed English)."""

    def __init__(self, label: Any = None, validators: Any = None, birth: bool = False, **kwargs: Any) -> None:
        kwargs["format"] = ["%Y-%m-%d", "%d.%m.%Y"]
        super().__init__(label, validators, **kwargs)
        #: a birth date: its example is a plausible one (new-user trial, issue 16: "z. B. 31.12.2026")
        self.birth = birth

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Bitte geben Sie ein gültiges Geburtsdatum an, z. B. 14.03.1985.") if self.birth
                                 else _l("Bitte geben Sie ein gültiges Datum an, z. B. 31.12.2026."))) from None


def _plausible_date(form, field) -> None:
    if field.data and not date(1900, 1, 1) <= field.data <= date(2100, 12, 31):
        raise ValidationError(_l("Bitte geben Sie ein Datum zwischen 1900 und 2100 an."))


def _not_future(form, field) -> None:
    """A birth date (a date field marked ``autocomplete = "bday"``, a person's birth date) lies
    today or before (the portal's calendar day)."""
    if field.data and field.data > local_today(current_app.config["BABEL_DEFAULT_TIMEZONE"]):
        raise ValidationError(_l("Ein Geburtsdatum kann nicht in der Zukunft liegen."))


def _happened(form, field) -> None:
    """A date of something that has already happened (a date field marked ``past = true``: an
    examination, a decision, the issue of a permit) lies today or before (the portal's calendar day)."""
    if field.data and field.data > local_today(current_app.config["BABEL_DEFAULT_TIMEZONE"]):
        raise ValidationError(_l("Dieses Datum kann nicht in der Zukunft liegen. Bitte geben Sie einen Tag "
                                 "bis heute an."))


class _FileRequired:
    """Flags a required upload ``required``, so the page marks it "(Pflichtfeld)" as it marks a
    required text field. Validates nothing: whether the step has its file is checked against the
    files stored with the draft (``views._missing_files``), since a file uploaded before is not
    sent again."""

    field_flags = {"required": True}

    def __call__(self, form: Any, field: Any) -> None:
        return None


class _Given(InputRequired):
    """A required answer: an input of only spaces counts as none (it is stored stripped, as
    nothing), so the step refuses it at the field, not the review later."""

    def __call__(self, form: Any, field: Any) -> None:
        raw = field.raw_data[0] if field.raw_data else None
        if isinstance(raw, str) and raw and not raw.strip():
            field.errors[:] = []
            raise StopValidation(str(self.message))
        super().__call__(form, field)


def _required(required: bool) -> list:
    return [_Given(message=_l("Bitte füllen Sie dieses Feld aus."))] if required else [Optional()]


def _text(label: str, required: bool, max_length: int = 200, extra: list | None = None, cls=StringField,
          description: str = "") -> Any:
    return cls(label, description=description, filters=[_strip], validators=[
        *_required(required),
        Length(max=max_length,
               message=_l("Bitte kürzen Sie Ihre Angabe auf höchstens %(max)d Zeichen.", max=max_length)),
        *(extra or []),
    ])


def _address_form(required: bool) -> type[Form]:
    class AddressForm(Form):
        street = _text(_l("Straße und Hausnummer"), required, 150)
        postcode = _text(_l("Postleitzahl"), required, 5, [Postleitzahl()])
        city = _text(_l("Ort"), required, 100)

    return AddressForm


def _abroad_address_form(required: bool, locale: str) -> type[Form]:
    """An address that may lie in another state (``FieldDefinition.abroad``): its state (Germany
    chosen at first; a stored answer without one is German) and a postcode in that state's format:
    five digits in Germany, elsewhere up to ten letters, digits, spaces or hyphens."""
    class AbroadAddressForm(Form):
        street = _text(_l("Straße und Hausnummer"), required, 150)
        postcode = _text(_l("Postleitzahl"), required, FOREIGN_POSTCODE_MAX)
        city = _text(_l("Ort"), required, 100)
        country = SelectField(_l("Staat"), choices=list(countries.choices(locale)), default="DE")

        def validate_postcode(self, field: Any) -> None:
            if not field.data:
                return
            if (self.country.data or "DE") == "DE":
                Postleitzahl()(self, field)
            elif not FOREIGN_POSTCODE_RE.match(field.data):
                raise ValidationError(_l("Bitte geben Sie die Postleitzahl so an, wie sie in diesem Staat geschrieben "
                                         "wird: höchstens 10 Buchstaben, Ziffern, Leerzeichen oder Bindestriche, "
                                         "z. B. 1010 oder 1012 AB."))

    return AbroadAddressForm


#: a postcode outside Germany: letters, digits, spaces and hyphens, beginning with a letter or digit
FOREIGN_POSTCODE_MAX = 10
FOREIGN_POSTCODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{0,9}$")


def _person_form(required: bool, nationality: bool = True, place_required: bool = False) -> type[Form]:
    """A person's parts; without ``nationality`` where the definition asks it as a coded field;
    the birth place required with ``place_required`` (and a required person)."""
    class PersonForm(Form):
        family_name = _text(_l("Familienname"), required, 100)
        given_names = _text(_l("Vornamen"), required, 100)
        birth_date = _DateField(_l("Geburtsdatum"), validators=[*_required(required), _plausible_date, _not_future],
                                birth=True)
        birth_place = _text(_l("Geburtsort"), required and place_required, 100)

    if nationality:
        PersonForm.nationality = _text(_l("Staatsangehörigkeit"), False, 100)
    return PersonForm


class ListSelect(Select):
    """WTForms' select with its options written directly: the same markup (``selected`` before
    ``value``, both escaped), without an ``html_params`` call per option. A step with the WZ 2008
    list (839 entries) or the country list renders its options several times faster."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""
        return Markup(f'<option {selected}value="{escape(value)}">{escape(choice.label or choice.value)}</option>')

    @classmethod
    def _dispatch_render_option(cls):
        """``render_option`` as it is: WTForms 3.3 inspects its signature on every render of a select
        (for overrides of the older one), and this one has the current ``(choice, **kwargs)``."""
        return cls.render_option


class WholeNumberField(IntegerField):
    """A whole number as typed: a text input with a numeric keyboard, not ``type=number`` (whose value
    a browser sends in its own notation, so "12.500" could be 12.5). Digits, optionally grouped in
    thousands with the page language's separator (12.500 in German, 12,500 in English) or spaces;
    anything else gets one message and no other (the range and "required" are not checked then)."""

    widget = TextInput()

    def __init__(self, label: Any = None, validators: Any = None, *, locale: str = "de", **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "numeric", "data-whole-number": ""})
        super().__init__(label, validators, **kwargs)
        group = re.escape("," if locale == "en" else ".")
        self.pattern = re.compile(rf"^-?(?:\d{{1,3}}(?:(?:{group}|[ \u00a0\u202f])\d{{3}})+|\d+)$")

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        if not text:
            self.data = None
            return
        if not self.pattern.match(text):
            self.data = None
            raise ValueError(str(_l("Bitte geben Sie eine ganze Zahl an, z. B. 12500 oder 12.500.")))
        self.data = int(re.sub(r"[^0-9-]", "", text))

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()


class MultiChoiceField(SelectMultipleField):
    """Several of a list of choices, as checkboxes in a fieldset (``macros/forms.html``). A value
    not on offer (a retired or made-up one) is refused by WTForms' own pre-validation."""


class _AtLeastOne:
    """A required multichoice: at least one box ticked (flags the field "(Pflichtfeld)")."""

    field_flags = {"required": True}

    def __call__(self, form: Any, field: Any) -> None:
        if not field.data:
            raise ValidationError(_l("Bitte wählen Sie mindestens einen Eintrag aus."))


class GroupItemForm(Form):
    """One entry of a repeating group. A field with ``show_if`` depends on an earlier field of the
    same entry: it is validated only when its condition holds for what was entered (otherwise its
    errors are dropped and ``answers_from_form`` stores no answer for it)."""

    definitions: dict[str, FieldDefinition] = {}

    def validate(self, extra_validators=None):
        super().validate(extra_validators)
        answers = group_item(tuple(self.definitions.values()), {name: self[name].data for name in self.definitions})
        for name, fd in self.definitions.items():
            if not fd.visible(answers):
                self[name].errors = []
        self._errors = None
        return not self.errors


class WzField(SelectField):
    """A WZ 2008 subclass. ``query`` (a search typed on the page) narrows the choices shown; any
    subclass is accepted, so an answer chosen before a search stays valid."""

    widget = ListSelect()

    def __init__(self, label: Any = None, validators: Any = None, *, query: str = "",
                 choices: list[tuple[str, str]] | None = None, corrected: str = "", **kwargs: Any) -> None:
        super().__init__(label, validators, choices=choices, **kwargs)
        self.query = query
        #: the query with its misspelt words corrected, when only that found entries (they are shown)
        self.corrected = corrected
        #: how many entries the search found (not counting a chosen entry kept in the list)
        self.matches = len(choices or []) - 1 if query else 0

    def process(self, formdata, data=unset_value, extra_filters=None):
        super().process(formdata, data, extra_filters)
        # the entry chosen before stays in a narrowed list (and selected), as with the script
        sub = wz2008.classification().subclasses.get(self.data) if isinstance(self.data, str) else None
        if sub is not None and all(value != sub.code for value, _label in self.choices):
            self.choices = [self.choices[0], (sub.code, f"{sub.code} {sub.title}"), *self.choices[1:]]

    def pre_validate(self, form):
        if self.data and self.data not in wz2008.classification().subclasses:
            raise ValidationError(_l("Bitte wählen Sie eine Tätigkeit aus der Liste."))


def _wz_choices(query: str) -> tuple[list[tuple[str, str]], str]:
    """The entries a search for ``query`` lists (all without one), and the corrected query when
    the words typed found nothing and their spelling correction did (then its entries are listed)."""
    classification = wz2008.classification()
    subs = classification.search(query, limit=200) if query else list(classification.subclasses.values())
    corrected = ""
    if query and not subs:
        corrected = classification.correction(query) or ""
        subs = classification.search(corrected, limit=200) if corrected else []
        corrected = corrected if subs else ""
    return [("", _l("Bitte auswählen"))] + [(s.code, f"{s.code} {s.title}") for s in subs], corrected


class GroupField(FieldList):
    """A repeating group. Entries left completely empty beyond ``min_items`` are not validated
    (and not stored), so an optional group can stay empty."""

    def __init__(self, *args, min_items: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_items = min_items

    def validate(self, form, extra_validators=()):
        self.errors = []
        valid = True
        for index, entry in enumerate(self.entries):
            if index >= self.min_items and _is_empty(entry.data):
                continue
            if not entry.validate(form):
                valid = False
                self.errors.append(entry.errors)
        return valid and not self.errors


def _field(fd: FieldDefinition, locale: str, searches: dict[str, str] | None = None) -> Any:
    label = fd.label.get(locale)
    description = fd.hint.get(locale) if fd.hint else ""
    if fd.type in ("text", "textarea", "email", "postcode"):
        extra: list = []
        if fd.type == "postcode":
            extra.append(Postleitzahl())
        if fd.format:
            extra.append(Format(fd.format))
        if fd.type == "email":
            from wtforms.validators import Email

            extra.append(Email(message=_l("Bitte geben Sie eine gültige E-Mail-Adresse an.")))
        cls = {"text": StringField, "textarea": TextAreaField, "email": EmailField, "postcode": StringField}[fd.type]
        return _text(label, fd.required, fd.max_length, extra, cls, description)
    if fd.type == "number":
        limits = []
        if fd.minimum is not None or fd.maximum is not None:
            limits.append(NumberRange(min=fd.minimum, max=fd.maximum, message=_l(
                "Bitte geben Sie eine Zahl zwischen %(min)s und %(max)s an.",
                min=number(fd.minimum) if fd.minimum is not None else "–",
                max=number(fd.maximum) if fd.maximum is not None else "–")))
        return WholeNumberField(label, description=description, validators=[*_required(fd.required), *limits],
                                locale=locale)
    if fd.type == "date":
        past = [_not_future] if fd.autocomplete == "bday" else [_happened] if fd.past else []
        return _DateField(label, description=description, birth=fd.autocomplete == "bday",
                          validators=[*_required(fd.required), _plausible_date, *past])
    if fd.type == "choice":
        return SelectField(
            label, description=description, widget=ListSelect(),
            choices=[("", _l("Bitte auswählen")),
                     *((c.value, c.label.get(locale)) for c in fd.choices if not c.retired)],
            validators=[*_required(fd.required), _not_placeholder] if fd.required else [Optional()],
        )
    if fd.type == "multichoice":
        return MultiChoiceField(
            label, description=description,
            choices=[(c.value, c.label.get(locale)) for c in fd.choices if not c.retired],
            validators=[_AtLeastOne()] if fd.required else [Optional()],
        )
    if fd.type == "country":
        return SelectField(
            label, description=description, widget=ListSelect(),
            choices=[("", _l("Bitte auswählen")), *countries.choices(locale)],
            validators=[*_required(fd.required), _not_placeholder] if fd.required else [Optional()],
        )
    if fd.type == "wz2008":
        query = (searches or {}).get(fd.name, "")
        choices, corrected = _wz_choices(query)
        return WzField(label, description=description, query=query, choices=choices, corrected=corrected,
                       validators=[*_required(fd.required), _not_placeholder] if fd.required else [Optional()])
    if fd.type == "yesno":
        return RadioField(
            label, description=description, choices=[("yes", _l("Ja")), ("no", _l("Nein"))],
            validators=[InputRequired(message=_l("Bitte wählen Sie Ja oder Nein."))] if fd.required else [Optional()],
        )
    if fd.type == "address":
        form = _abroad_address_form(fd.required, locale) if fd.abroad else _address_form(fd.required)
        return FormField(form, label=label, description=description)
    if fd.type == "person":
        return FormField(_person_form(fd.required, fd.ask_nationality, fd.birth_place_required), label=label,
                         description=description)
    if fd.type == "group":
        item_cls = type(f"{fd.name.title()}Item", (GroupItemForm,),
                        {"definitions": {sub.name: sub for sub in fd.fields},
                         **{sub.name: _field(sub, locale) for sub in fd.fields}})
        return GroupField(FormField(item_cls), label=label, description=description, min_items=fd.min_items,
                          min_entries=max(fd.min_items, 1), max_entries=fd.max_items)
    if fd.type == "file":
        return FileField(label, description=description, validators=[_FileRequired()] if fd.required else [])
    raise ValueError(fd.type)  # pragma: no cover - the loader refuses unknown types


def build_step_form(service: ServiceDefinition, step_key: str, answers: dict[str, Any], locale: str,
                    searches: dict[str, str] | None = None,
                    leave_out: frozenset[str] = frozenset()) -> type[StepForm]:
    """The form class for one step: its visible fields, labels, hints and validators. ``searches``
    (field name → words typed into a picker's search) narrows the choices of WZ 2008 fields.
    ``leave_out``: fields that are no inputs here (the answers a bundle gives, shown read-only);
    a check of the step reads their answers from the earlier answers.

    Built once per definition, step, language and set of visible fields and then reused (a form
    class holds no request's data; its texts are lazy, its validators read the clock when they
    run; the answers of earlier steps that the step's checks compare are given to each form,
    ``form_cls(earlier_answers=…)``); a search typed into a picker builds its own.
    """
    fields = [fd for fd in visible_step_fields(service, step_key, answers) if fd.name not in leave_out]
    searched = any((searches or {}).values())
    key = (id(service), step_key, locale, tuple(fd.name for fd in fields))
    known = None if searched else _FORM_CLASSES.get(key)
    if known is not None and known[0] is service:  # the same definition object (a reload makes new ones)
        return known[1]
    attrs: dict[str, Any] = {fd.name: _field(fd, locale, searches) for fd in fields}
    attrs.update(step_checks=tuple(service.step_checks(step_key)), step_definitions={fd.name: fd for fd in fields},
                 page_locale=locale,
                 located_service=service if any(fd.name == service.location_field for fd in fields) else None)
    cls = type(f"{service.key.title().replace('-', '')}{step_key.title()}Form", (StepForm,), attrs)
    if not searched:
        if len(_FORM_CLASSES) >= FORM_CLASSES_KEPT:
            _FORM_CLASSES.clear()
        _FORM_CLASSES[key] = (service, cls)
    return cls


#: step form classes built so far: (id of the definition, step, language, visible fields) → (definition, class)
_FORM_CLASSES: dict[tuple[Any, ...], tuple[ServiceDefinition, type[StepForm]]] = {}
FORM_CLASSES_KEPT = 1024


def visible_step_fields(service: ServiceDefinition, step_key: str, answers: dict[str, Any]) -> list[FieldDefinition]:
    return [fd for fd in service.step_fields(step_key) if fd.visible(answers)]


# --- between form data and stored answers ------------------------------------------------------

def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if value == "":
        return None
    return value


def _convert(fd: FieldDefinition, value: Any) -> Any:
    """A field's form data as a JSON-able answer, recursively for compound fields."""
    if fd.type == "yesno":
        return {"yes": True, "no": False}.get(value)
    if fd.type == "multichoice":  # in the definition's order of the choices
        chosen = set(value or [])
        return [c.value for c in fd.choices if c.value in chosen] or None
    if fd.type in ("address", "person"):
        parts = {k: _plain(v) for k, v in (value or {}).items() if k != "csrf_token"}
        return None if _is_empty(parts) else parts
    if fd.type == "group":
        items = []
        for entry in value or []:
            items.append(group_item(fd.fields, entry))
        return [item for item in items if not _is_empty(item)]
    return _plain(value)


def group_item(fields: tuple[FieldDefinition, ...], entry: dict[str, Any]) -> dict[str, Any]:
    """One entry of a group as answers: a field whose condition does not hold (in definition
    order, so a field depending on a hidden one is hidden too) has no answer."""
    item: dict[str, Any] = {}
    for sub in fields:
        item[sub.name] = _convert(sub, entry.get(sub.name)) if sub.visible(item) else None
    return item


def _is_empty(value: Any) -> bool:
    """Nothing entered: a state alone (an address's ``country``, Germany chosen at first) is not an
    answer, so an optional address or an added group entry left blank stays empty."""
    if isinstance(value, dict):
        return all(_is_empty(v) for k, v in value.items() if k != COUNTRY_PART)
    return value in (None, "", [])


def answers_from_form(fields: list[FieldDefinition], form: StepForm) -> dict[str, Any]:
    """JSON-able answers of a validated step (files are handled separately)."""
    return {fd.name: _convert(fd, form[fd.name].data) for fd in fields if fd.type != "file"}


def formdata_from_answers(fields: list[FieldDefinition], answers: dict[str, Any]) -> MultiDict:
    """The inverse of ``answers_from_form``: stored answers as if the person had typed them."""
    data: MultiDict = MultiDict()

    def put(key: str, fd: FieldDefinition | None, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool):
            value = "yes" if value else "no"
        data.add(key, str(value))

    for fd in fields:
        value = answers.get(fd.name)
        if fd.type == "file" or value is None:
            continue
        if fd.type in ("address", "person"):
            for part in fd.parts:
                put(f"{fd.name}-{part}", None, value.get(part))
        elif fd.type == "multichoice":
            for item in value if isinstance(value, list) else [value]:
                put(fd.name, fd, item)
        elif fd.type == "group":
            for i, item in enumerate(value):
                for sub in fd.fields:
                    sub_value = item.get(sub.name)
                    if sub.type in ("address", "person"):
                        for part in sub.parts:
                            put(f"{fd.name}-{i}-{sub.name}-{part}", None, (sub_value or {}).get(part))
                    else:
                        put(f"{fd.name}-{i}-{sub.name}", sub, sub_value)
        else:
            put(fd.name, fd, value)
    return data


def prefill_values(service: ServiceDefinition, sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Answers known from the company account for fields that declare ``prefill``; a group whose
    sub-fields declare it starts with one entry holding those (the signed-in person as the
    first of a bundle's persons). A field that declares ``from_filing`` takes first what the
    source ``gewerbeanzeige`` (``earlier.filing_values``: the company's latest filed
    Gewerbeanzeige) gives it, when that is an answer the field takes."""
    return _prefilled(service.fields, sources)


def _filed_value(fd: FieldDefinition, value: Any) -> Any:
    """``value`` as an answer of ``fd`` (a group's entries with the sub-fields it asks), or None
    when the field would not take it (a choice it does not offer, a text too long)."""
    if value in (None, "", [], {}):
        return None
    if fd.type == "group":
        if not isinstance(value, list):
            return None
        entries = [{sub.name: v for sub in fd.fields
                    if (v := _filed_value(sub, entry.get(sub.name))) is not None}
                   for entry in value if isinstance(entry, dict)]
        return [e for e in entries if e][:fd.max_items] or None
    if fd.type in ("address", "person"):
        if not isinstance(value, dict):
            return None
        kept = {part: value[part] for part in fd.parts if isinstance(value.get(part), str) and value[part]}
        return kept or None
    if fd.type == "choice":
        return value if value in {c.value for c in fd.choices} else None
    if fd.type == "yesno":
        return value if isinstance(value, bool) else None
    if fd.type == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if fd.type in ("text", "textarea"):
        return value if isinstance(value, str) and len(value) <= fd.max_length else None
    return value if isinstance(value, str) else None


def _prefilled(fields: Sequence[FieldDefinition], sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for fd in fields:
        filed = _filed_value(fd, sources.get("gewerbeanzeige", {}).get(fd.from_filing)) if fd.from_filing else None
        if filed is not None:
            values[fd.name] = filed
            continue
        if fd.type == "group":
            first = _prefilled(fd.fields, sources)
            if first:
                values[fd.name] = [first]
            continue
        if not fd.prefill:
            continue
        scope, _, attr = fd.prefill.partition(".")
        if fd.prefill == "company.address":
            company = sources.get("company", {})
            address = {part: company.get(part) for part in fd.parts}
            if any(address.values()):
                values[fd.name] = address
            continue
        value = sources.get(scope, {}).get(attr)
        if value:
            values[fd.name] = value
    return values


class OneTimeTokenField(HiddenField):
    """A UUID made when the form is rendered (kept when the form is shown again after an error), so
    the same form posted twice — a double click, a browser re-post — is recognised and stores one
    message (``filings.lifecycle.AlreadySent``)."""

    def _value(self) -> str:
        if not self.token:
            self.data = str(uuid.uuid4())
        return str(self.data)

    @property
    def token(self) -> str | None:
        """The posted token in canonical form; None if missing or not a UUID."""
        try:
            return str(uuid.UUID(str(self.data))) if self.data else None
        except ValueError:
            return None


class ReviewForm(FlaskForm):
    """The binding submit: the person declares that the answers are true and complete."""

    declaration = BooleanField(
        _l("Ich versichere, dass meine Angaben vollständig sind und der Wahrheit entsprechen."),
        validators=[DataRequired(message=_l("Bitte bestätigen Sie, dass Ihre Angaben vollständig und wahr sind."))],
        description=_l("Falsche oder unvollständige Angaben können eine Ordnungswidrigkeit sein."))
    #: the saves of the drafts the page shows, as it showed them (``services.review_state``): a
    #: submit from a page opened before a colleague's save files nothing
    revision = HiddenField("Revision")  # a label of its own: see MessageForm


class MessageForm(FlaskForm):
    """The company's answer to a request, or its message to the chamber."""

    body = TextAreaField(_l("Ihre Nachricht"), validators=[
        DataRequired(message=_l("Bitte schreiben Sie eine Nachricht.")), Length(max=5000)])
    files = MultipleFileField(_l("Dokumente (freiwillig)"),
                              description=_l("PDF, PNG oder JPEG, je höchstens 10 MB, zusammen höchstens 20 MB."))
    # labels of their own (the ones WTForms makes from the name, never shown): a field without one
    # asks WTForms' translations for it, and Flask-WTF loads that catalog from disk in each request
    request_id = HiddenField("Request Id")
    form_token = OneTimeTokenField("Form Token")
