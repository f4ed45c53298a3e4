"""A draft's answers checked again right before the binding submit, as its steps check them.

A step is marked done when its page accepted the answers. The answers can fail afterwards without
that page being asked again (a rule or check added to the definition since, a row changed behind
the steps' back, an answer a bundle's check reads), so the submit does not trust the marks: the
form of each completed step is built again from the stored answers and validated with the step's
checks (``forms.StepForm``: the fields' own rules, then the definition's ``[[checks]]`` and those
given with ``more_checks``), and each required upload must be there.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..catalog.models import Check, ServiceDefinition
from .forms import build_step_form, formdata_from_answers, visible_step_fields
from .models import Draft


@dataclass(frozen=True)
class InvalidAnswer:
    """An answer of ``draft`` that its step refuses: on ``step`` of ``definition`` (the service's,
    or a bundle's questionnaire), at ``field``, with the step's ``message`` (in the page's language)."""

    draft: Draft
    definition: ServiceDefinition
    step: str
    field: str
    message: str


class AnswerRefused(Exception):
    """A step of a draft to be filed refuses one of its stored answers (``InvalidAnswer``); nothing
    was filed."""

    def __init__(self, failure: InvalidAnswer):
        super().__init__(failure.definition.key, failure.step, failure.field)
        self.failure = failure


def invalid_answer(definition: ServiceDefinition, draft: Draft, locale: str, *,
                   given: Mapping[str, Any] | None = None, not_needed: Collection[str] = (),
                   more_checks: Sequence[Check] = (),
                   bundle_says: Mapping[str, Any] | None = None) -> InvalidAnswer | None:
    """The first stored answer of ``draft`` that the step asking it refuses now, in the order of
    the steps and of their fields; None when every completed step accepts its answers. Steps not
    completed are left to their pages (the submit refuses an open step anyway).

    For a service draft of a bundle, as on its steps: ``given`` holds the answers the bundle gives
    whole (no inputs there, checked as the bundle's questions), ``not_needed`` the uploads it
    waives, ``more_checks`` the bundle's checks on the service's fields and ``bundle_says`` the
    bundle's answers they read. The message is in ``locale``. Reads only; raises nothing of its own."""
    with force_locale(locale):  # also outside a request (the messages are made here, in ``locale``)
        return _first_refused(definition, draft, locale, dict(given or {}), frozenset(not_needed),
                              tuple(more_checks), dict(bundle_says or {}))


def _first_refused(definition: ServiceDefinition, draft: Draft, locale: str, given: dict[str, Any],
                   not_needed: frozenset[str], more_checks: tuple[Check, ...],
                   bundle_says: dict[str, Any]) -> InvalidAnswer | None:
    leave_out = frozenset(given) | not_needed
    stored = {a.field_name for a in draft.attachments}
    earlier = {**draft.data, **given, **bundle_says}
    for step in definition.visible_steps(draft.data):
        if step.key not in draft.completed_steps:
            continue
        fields = [fd for fd in visible_step_fields(definition, step.key, draft.data) if fd.name not in leave_out]
        form_cls = build_step_form(definition, step.key, draft.data, locale, leave_out=leave_out)
        form = form_cls(formdata=formdata_from_answers(fields, draft.data), earlier_answers=earlier,
                        more_checks=more_checks, meta={"csrf": False})
        form.validate()
        for fd in fields:
            if fd.type == "file":
                message = _l("Bitte laden Sie die Datei hoch.") if fd.required and fd.name not in stored else None
            else:
                message = _first_message(form[fd.name].errors)
            if message:
                return InvalidAnswer(draft, definition, step.key, fd.name, str(message))
    return None


def _first_message(errors: Any) -> Any:
    """The first message among a field's errors (a compound field's are a mapping of its parts, a
    group's a list of its entries' mappings)."""
    if isinstance(errors, Mapping):
        errors = list(errors.values())
    if isinstance(errors, list | tuple):
        return next((m for m in map(_first_message, errors) if m), None)
    return errors or None
