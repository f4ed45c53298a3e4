"""Use cases of life-event bundles ("Betrieb gründen"): one questionnaire, one draft per chosen
service with the shared answers filled in, one binding submit that files them all or none.

A bundle's draft is an ordinary ``Draft`` whose ``service_key`` is the bundle's key (its steps are
the bundle's questions, served by the ordinary step pages). Each chosen service gets an ordinary
draft with ``bundle_draft_id`` pointing at it; the company completes what each still needs there.
Each function owns its transaction.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..auth.models import Person
from ..bodies.routing import NoCompetentBody
from ..catalog.models import (
    ADDRESS_PARTS,
    BundleDefinition,
    BundleService,
    Check,
    FieldDefinition,
    ServiceDefinition,
    Text,
    Waiver,
    differs,
)
from ..common.time import utcnow
from ..extensions import db
from ..stats import services as stats
from . import receipts, recheck
from .forms import body_at
from .models import Draft, Filing, FilingBundle
from .services import (
    MAX_REFERENCE_TRIES,
    DraftChanged,
    DraftGone,
    DraftIncomplete,
    NoDestination,
    _check_open_drafts,
    _is_attachment_answer,
    _lock_fresh,
    changed_since_review,
    destinations_of,
    draft_progress,
    file_in_transaction,
    final_answers,
    first_open_step,
    lock_company,
    new_reference,
    visible_fields,
)
from .storage import AttachmentStorage


class NothingChosen(Exception):
    """Every service of the bundle was left out (or none applies): there is nothing to file."""


class ServiceIncomplete(Exception):
    """A chosen service's draft still has an open step; nothing was filed."""

    def __init__(self, service_key: str, draft_id: uuid.UUID, step_key: str):
        super().__init__(service_key, step_key)
        self.service_key = service_key
        self.draft_id = draft_id
        self.step_key = step_key


class ServiceNotRoutable(Exception):
    """A chosen service's filing has no competent body (``cause``); nothing was filed."""

    def __init__(self, service_key: str, cause: Exception):
        super().__init__(service_key, cause)
        self.service_key = service_key
        self.cause = cause


class ServiceContradicts(Exception):
    """A chosen service's draft answers ``field`` other than the bundle's questionnaire (a shared
    answer or a fixed value, e.g. "Neugründung" in "Betrieb übernehmen"); nothing was filed."""

    def __init__(self, service_key: str, field: str):
        super().__init__(service_key, field)
        self.service_key = service_key
        self.field = field


@dataclass(frozen=True)
class CheckFailure:
    """An answer a check of the bundle refuses (``[[checks]]`` or ``distinct``): in ``draft`` (the
    bundle's draft, whose steps ``definition`` has, or a service's), on ``step`` at ``field``;
    ``message`` with the ``values`` it names."""

    draft: Draft
    definition: ServiceDefinition
    step: str
    field: str
    message: Text
    values: dict[str, Any]


class CheckFails(Exception):
    """An answer of the bundle's drafts fails one of its checks (``CheckFailure``); nothing was filed."""

    def __init__(self, failure: CheckFailure):
        super().__init__(failure.definition.key, failure.field)
        self.failure = failure


@dataclass(frozen=True)
class BundleOutcome:
    bundle: FilingBundle
    created: bool  #: False when the same bundle draft was submitted before


@dataclass(frozen=True)
class Part:
    """One service of a bundle draft as the overview shows it."""

    entry: BundleService
    service: ServiceDefinition
    draft: Draft | None
    left_out: bool


def start_bundle_draft(person: Person, bundle: BundleDefinition, prefill: dict[str, Any]) -> Draft:
    """A new bundle draft of the person's company, prefilled from the account. Commits. Raises
    ``TooManyDrafts`` at the company's limit of open drafts."""
    lock_company(person.company_id)
    _check_open_drafts(person.company_id)
    draft = Draft(company_id=person.company_id, created_by_id=person.id, updated_by_id=person.id,
                  service_key=bundle.key, data=dict(prefill), completed_steps=[], pending_input={}, left_out=[])
    db.session.add(draft)
    db.session.commit()
    return draft


def children(parent: Draft) -> list[Draft]:
    """The service drafts of a bundle draft (of the same company)."""
    return list(db.session.scalars(select(Draft).where(Draft.bundle_draft_id == parent.id,
                                                       Draft.company_id == parent.company_id)
                                   .order_by(Draft.created_at)))


def drafts_of(parent: Draft) -> list[Draft]:
    """The bundle's draft and its service drafts: what its review shows and its submit files."""
    return [parent, *children(parent)]


def parts(parent: Draft, bundle: BundleDefinition, catalog: Mapping[str, ServiceDefinition]) -> list[Part]:
    """The services the bundle's answers call for, with their drafts and whether left out."""
    drafts = {d.service_key: d for d in children(parent)}
    left_out = set(parent.left_out or [])
    return [Part(entry, catalog[entry.service], drafts.get(entry.service), entry.service in left_out)
            for entry in bundle.chosen(parent.data, body_at) if entry.service in catalog]


def bundle_answers(parent: Draft, bundle: BundleDefinition) -> dict[str, Any]:
    """The bundle draft's answers to the questions its answers show (an answer to a question
    hidden since, e.g. the new address after choosing "aufgeben", is not shared)."""
    visible = visible_fields(bundle.questionnaire, parent.data)
    return {k: v for k, v in parent.data.items() if k in visible}


#: the bundle questions holding the business premises (street, postcode, town): the current (or
#: only) premises, and the new ones of a move
PREMISES_QUESTIONS = {"current": ("street", "postcode", "city"), "new": ("new_street", "new_postcode", "new_city")}


def premises(parent: Draft, bundle: BundleDefinition) -> dict[str, dict[str, Any]]:
    """The business premises the bundle draft's shown answers give (``current``, and ``new`` for
    a move), as ``street``/``postcode``/``city``; a kind the bundle does not ask is left out."""
    answers = bundle_answers(parent, bundle)
    out = {}
    for kind, names in PREMISES_QUESTIONS.items():
        address = {part: answers.get(name) for part, name in zip(("street", "postcode", "city"), names, strict=True)}
        if any(address.values()):
            out[kind] = address
    return out


#: the bundle questions naming the business, with the account's master data they stand for
ACCOUNT_QUESTIONS = {"business_name": "name", "legal_form": "legal_form"}


def other_business(parent: Draft, bundle: BundleDefinition, account: Mapping[str, Any]) -> bool:
    """Whether the bundle's shown answers name another business than the account's master data
    (``Company.master_data``): another name or legal form (compared without case and repeated
    spaces); the receivers see both (the filings' company snapshot and the answers)."""
    answers = bundle_answers(parent, bundle)
    return any(answers.get(q) not in (None, "") and account.get(k) not in (None, "")
               and " ".join(str(answers[q]).split()).casefold() != " ".join(str(account[k]).split()).casefold()
               for q, k in ACCOUNT_QUESTIONS.items())


def filed_services(parent: Draft, bundle: BundleDefinition) -> set[str]:
    """The services the bundle draft would file: those its answers call for, less those left out."""
    return bundle.filed(parent.data, parent.left_out or [], body_at)


def given_answers(parent: Draft, bundle: BundleDefinition, service_key: str) -> dict[str, Any]:
    """What the bundle gives ``service_key``'s fields: shared answers and fixed values (those
    given only while another service is filed with it, while it is)."""
    return bundle.shared_answers(service_key, bundle_answers(parent, bundle), filed_services(parent, bundle))


def preset_notes(parent: Draft, bundle: BundleDefinition, service_key: str) -> dict[str, Text]:
    """The notes of the fixed values the bundle gives ``service_key`` now (by field name): why the
    bundle gives them, shown with the value on the service's step."""
    entry = next((e for e in bundle.services if e.service == service_key), None)
    answers, filed = bundle_answers(parent, bundle), filed_services(parent, bundle)
    return {p.field: p.note for p in (entry.presets if entry else ()) if p.note and p.applies(answers, filed)}


def given_whole(parent: Draft, bundle: BundleDefinition, service_key: str,
                fields: Sequence[FieldDefinition]) -> dict[str, Any]:
    """The fields among ``fields`` whose answer the bundle gives whole (a shared answer or a fixed
    value; an address or person with every part), with that answer: the service draft's step
    shows them read-only and takes no value for them from a form, so only the bundle's
    questionnaire changes them. A group is never among them: the company may add entries of its
    own there (e.g. a Betriebsleitung); ``contradictions`` guards the bundle's entries."""
    given = given_answers(parent, bundle, service_key)
    blanked = bundle.blanked(service_key, bundle_answers(parent, bundle))
    return {fd.name: given[fd.name] for fd in fields
            if fd.type != "group" and (_whole(fd, given.get(fd.name)) or fd.name in blanked)}


def waived(parent: Draft, bundle: BundleDefinition, service_key: str,
           catalog: Mapping[str, ServiceDefinition]) -> dict[str, Waiver]:
    """The required uploads of ``service_key`` the bundle makes unnecessary now (by field name):
    those whose ``filed_with`` service the answers call for and the company did not leave out
    (the Verzeichnis's copy of a Gewerbeanmeldung filed in the same submit). The service's step
    shows the waiver's note in place of the upload and does not ask for the file."""
    filed = {p.service.key for p in parts(parent, bundle, catalog) if not p.left_out}
    entry = next((e for e in bundle.services if e.service == service_key), None)
    if entry is None or service_key not in filed:
        return {}
    return {w.field: w for w in entry.waives if w.filed_with in filed}


def _whole(fd: FieldDefinition, value: Any) -> bool:
    if fd.type in ("address", "person"):  # a person without nationality where the form asks it apart
        return isinstance(value, dict) and all(value.get(p) not in (None, "") for p in fd.parts)
    return value not in (None, "")


def contradictions(parent: Draft, bundle: BundleDefinition, service: ServiceDefinition,
                   answers: dict[str, Any], fields: Any = None) -> list[str]:
    """The visible fields of ``service`` (among ``fields``) whose ``answers`` contradict the
    bundle's answers or fixed values."""
    visible = visible_fields(service, answers)
    return [name for name in bundle.contradictions(service.key, bundle_answers(parent, bundle), answers, fields,
                                                   filed_services(parent, bundle))
            if name in visible]


def failed_check(parent: Draft, bundle: BundleDefinition,
                 catalog: Mapping[str, ServiceDefinition]) -> CheckFailure | None:
    """The first answer the bundle's checks refuse, in the order the company gives them: the
    questionnaire's checks and ``distinct`` rules on its shown answers, then the bundle's checks on
    each chosen, not left-out service draft's shown answers (``service_checks``, reading the
    bundle's answers too). A check applies when its field is shown, as on its step; None when
    every answer passes. The steps refuse such answers; this finds those a draft holds anyway (an
    answer given before the rule, a step saved another way), so a submit cannot file them."""
    answers = bundle_answers(parent, bundle)
    questionnaire = bundle.questionnaire
    for check in questionnaire.checks:
        fd = questionnaire.field(check.field)
        problem = check.problem(answers, body_at) if fd is not None and check.field in answers else None
        if fd is not None and problem is not None:
            return CheckFailure(parent, questionnaire, fd.step, fd.name, check.message, problem)
    for rule in bundle.distinct:
        fd = questionnaire.field(rule.second[0])
        if fd is not None and rule.violated(answers):
            return CheckFailure(parent, questionnaire, fd.step, fd.name, rule.message, {})
    for part in parts(parent, bundle, catalog):
        if part.left_out or part.draft is None:
            continue
        visible = visible_fields(part.service, part.draft.data)
        values = bundle.check_answers({k: v for k, v in part.draft.data.items() if k in visible}, answers)
        for check in bundle.service_checks.get(part.service.key, ()):
            fd = part.service.field(check.field)
            problem = check.problem(values) if fd is not None and fd.name in visible else None
            if fd is not None and problem is not None:
                return CheckFailure(part.draft, part.service, fd.step, fd.name, check.message, problem)
    return None


def invalid_answer(parent: Draft, bundle: BundleDefinition, catalog: Mapping[str, ServiceDefinition],
                   locale: str) -> recheck.InvalidAnswer | None:
    """The first stored answer a step of the bundle's drafts refuses now (``recheck.invalid_answer``):
    the questionnaire's steps, then each chosen, not left-out service draft's, checked as its steps
    check them (the answers the bundle gives whole are no inputs there, the uploads it waives are
    not asked, the bundle's checks on the service's fields apply); None when all pass."""
    refused = recheck.invalid_answer(bundle.questionnaire, parent, locale)
    if refused is not None:
        return refused
    says = bundle.check_answers({}, bundle_answers(parent, bundle))
    for part in parts(parent, bundle, catalog):
        if part.left_out or part.draft is None:
            continue
        refused = recheck.invalid_answer(
            part.service, part.draft, locale, given=given_whole(parent, bundle, part.service.key, part.service.fields),
            not_needed=set(waived(parent, bundle, part.service.key, catalog)),
            more_checks=bundle.service_checks.get(part.service.key, ()), bundle_says=says)
        if refused is not None:
            return refused
    return None


def set_left_out(parent: Draft, person: Person, bundle: BundleDefinition, service_key: str,
                 leave_out: bool) -> None:
    """Leave a service of the bundle out (or take it back in). Leaving it out withdraws the fixed
    values the bundle gives other services only while this one is filed with them
    (``Preset.filed_with``, e.g. the Gewerbeanmeldung's "Liegt eine Handwerkskarte vor?" while the
    Handwerksrolle entry is filed): their drafts lose that answer, so their step asks it again
    (``prepare_services`` opens it and the overview names it). Commits. The drafts are changed as
    the last save left them (under the company's lock), so no colleague's save is written over."""
    lock_company(parent.company_id)
    db.session.refresh(parent)
    current = [k for k in (parent.left_out or []) if k != service_key]
    parent.left_out = [*current, service_key] if leave_out else current
    parent.updated_by_id = person.id
    if leave_out:
        withdrawn = {e.service: {p.field: p.value for p in e.presets if p.filed_with == service_key}
                     for e in bundle.services}
        for draft in children(parent):
            db.session.refresh(draft)
            given = withdrawn.get(draft.service_key) or {}
            if any(name in draft.data and draft.data[name] == value for name, value in given.items()):
                draft.data = {name: value for name, value in draft.data.items()
                              if not (name in given and given[name] == value)}
                draft.updated_by_id = person.id
    db.session.commit()


def prepare_services(parent: Draft, person: Person, bundle: BundleDefinition,
                     catalog: Mapping[str, ServiceDefinition],
                     prefill_of: Callable[[ServiceDefinition], dict[str, Any]]) -> list[Part]:
    """Give every chosen, not left-out service a draft holding the bundle's shared answers (a new
    one prefilled from the account, or the existing one with the shared answers written over),
    and work out again which of its steps are done (``_answered_steps``: a step the bundle answers
    whole is done, a step whose shared answers changed or that now lacks a required answer is
    open again). A service no longer called for keeps its draft, but it is neither shown nor
    filed (``parts``, ``submit_bundle``). Commits. Raises ``TooManyDrafts`` when the new drafts
    would pass the company's limit."""
    lock_company(parent.company_id)
    db.session.refresh(parent)
    existing = {d.service_key: d for d in children(parent)}
    for child in existing.values():  # as the last save left them, not as read before the lock
        db.session.refresh(child)
    for part in parts(parent, bundle, catalog):
        if part.left_out:
            continue
        shared = given_answers(parent, bundle, part.service.key)
        draft = existing.get(part.service.key)
        before: dict[str, Any] = {}
        if draft is None:
            _check_open_drafts(parent.company_id)
            start = {**prefill_of(part.service), **prefill_of(bundle_prefill(bundle, part.service)), **shared}
            draft = Draft(company_id=parent.company_id, created_by_id=person.id, updated_by_id=person.id,
                          service_key=part.service.key, data=start,
                          completed_steps=[], pending_input={}, bundle_draft_id=parent.id)
            db.session.add(draft)
            stats.draft_started(part.service.key, utcnow())
        else:
            before = dict(draft.data)
            draft.data = _with_shared(draft.data, shared, bundle, part.service.key)
            draft.updated_by_id = person.id
        done = _answered_steps(shared, part.service, draft, before,
                               set(waived(parent, bundle, part.service.key, catalog)),
                               bundle.service_checks.get(part.service.key, ()),
                               bundle.check_answers({}, bundle_answers(parent, bundle)))
        # the overview says which steps the bundle's change opened again, until they are saved
        reopened = [k for k in draft.completed_steps if k not in done]
        draft.reopened_steps = [*(k for k in draft.reopened_steps or [] if k not in done and k not in reopened),
                                *reopened] or None
        draft.completed_steps = done
    db.session.commit()
    return parts(parent, bundle, catalog)


def bundle_prefill(bundle: BundleDefinition, service: ServiceDefinition) -> ServiceDefinition:
    """``service`` with only the fields the bundle prefills (``BundleService.prefill``), each
    declaring the bundle's account path: what the ``prefill_of`` of ``prepare_services`` reads to
    start the service's draft in the bundle (and the step reads to mark the value as the account's)."""
    entry = next((e for e in bundle.services if e.service == service.key), None)
    paths = dict(entry.prefill) if entry else {}
    return dataclasses.replace(service, fields=tuple(dataclasses.replace(fd, prefill=paths[fd.name])
                                                     for fd in service.fields if fd.name in paths))


def _with_shared(data: dict[str, Any], shared: dict[str, Any], bundle: BundleDefinition,
                 service_key: str) -> dict[str, Any]:
    """``data`` with the bundle's answers written over. An entry of a shared group that is still
    the same (it agrees with the bundle's entry in everything the bundle gives) keeps what the
    company added there (an optional sub-field the bundle does not ask, e.g. a telephone); the
    entries that are the company's own (a role the bundle does not ask for, e.g. the
    Betriebsleitung added in the Gewerbeanmeldung) stay after the bundle's."""
    out = {**data, **shared}
    for name, given in shared.items():
        mine = data.get(name)
        if not isinstance(given, list) or not isinstance(mine, list):
            continue
        from_bundle = bundle.bundle_entries(service_key, name, mine)
        own = [e for e in mine if e not in from_bundle]
        out[name] = [{**from_bundle[i], **{k: v for k, v in entry.items() if v not in (None, "")}}
                     if i < len(from_bundle) and isinstance(from_bundle[i], dict)
                     and not differs(entry, from_bundle[i]) else entry
                     for i, entry in enumerate(given)] + own
    return out


def _complete(fd: FieldDefinition, value: Any) -> bool:
    """Whether ``value`` answers the required field ``fd`` (a group: enough entries, each with its
    required sub-fields that its answers show; an address or person: its required parts)."""
    if fd.type == "group":
        return isinstance(value, list) and len(value) >= fd.min_items and all(
            isinstance(entry, dict) and all(_complete(sub, entry.get(sub.name)) for sub in fd.fields
                                            if sub.required and sub.visible(entry))
            for entry in value)
    if fd.type in ("address", "person"):
        parts = ADDRESS_PARTS if fd.type == "address" else ("family_name", "given_names", "birth_date")
        return isinstance(value, dict) and all(value.get(p) not in (None, "") for p in parts)
    return value not in (None, "")


def _answered_steps(shared: dict[str, Any], service: ServiceDefinition, draft: Draft,
                    before: dict[str, Any], not_needed: set[str], bundle_checks: Sequence[Check] = (),
                    bundle_says: Mapping[str, Any] | None = None) -> list[str]:
    """The visible steps of the draft that need nothing more, now that the bundle's answers
    (``shared``: its answers and fixed values for the service) are written in (``before``: the
    draft's answers until then):

    - a step the bundle answers whole (it fills at least one of its fields and every required
      one completely; optional fields left open there keep their prefill or stay empty);
    - a step completed before, unless one of its visible required fields has no answer now (a
      changed answer shows a field or a step whose answers were dropped while it was hidden),
      one of its answers from the bundle changed (the company looks at the step again), or one
      of its checks reads a changed answer.

    A step is not done while one of its checks fails (a field a check requires is left open), nor
    while one of the bundle's checks on its fields fails (``bundle_checks``, reading the bundle's
    answers ``bundle_says``: e.g. the training now starting before the business).
    A required upload the bundle waives (``not_needed``) needs no file; once it is no longer waived
    (the service it was filed with left out), a step done without it is open again.
    """
    changed = {name for name in shared if before.get(name) != draft.data.get(name)}
    rechecked = {fd.step for c in service.checks if c.inputs & changed and (fd := service.field(c.field))}
    visible = visible_fields(service, draft.data)
    shown = service.visible_steps(draft.data)
    # a hidden step keeps its mark; it is judged again here once the answers show it again
    done = [key for key in draft.completed_steps if key not in {s.key for s in shown}]
    for step in shown:
        fields = [fd for fd in service.step_fields(step.key) if fd.name in visible]
        names = {fd.name for fd in fields}
        # an optional field a check requires (GewA field 23 unless only an itinerant trade) counts
        # as required: the step is not done while one of its checks fails
        checked = {**draft.data, **(bundle_says or {})}
        answered = all(_complete(fd, draft.data.get(fd.name)) for fd in fields
                       if fd.required and fd.name not in not_needed) and not any(
            c.field in names and c.problem(draft.data) is not None for c in service.checks) and not any(
            c.field in names and c.problem(checked) is not None for c in bundle_checks)
        by_bundle = any(fd.name in shared for fd in fields) and all(
            fd.name in shared and _complete(fd, shared[fd.name]) for fd in fields if fd.required)
        kept = (step.key in draft.completed_steps and step.key not in rechecked
                and not any(fd.name in changed for fd in fields))
        if answered and (by_bundle or kept):
            done.append(step.key)
    return done


def bundle_context(record: FilingBundle, bundle: BundleDefinition, filing: Filing,
                   filings: Sequence[tuple[Filing, Sequence[tuple[Any, str]]]],
                   catalog: Mapping[str, ServiceDefinition]) -> dict[str, Any]:
    """What the receivers of ``filing`` learn of its bundle (``Filing.bundle_context``): the
    bundle's reference, kind and title, and each other filing of the bundle with its service,
    reference and the kind of its competent (primary) body."""
    others = []
    for other, targets in filings:
        if other is filing:
            continue
        primary = next((chamber for chamber, role in targets if role == "primary"), None)
        service = catalog.get(other.service_key)
        others.append({"service_key": other.service_key,
                       "service_title": service.title.de if service else other.service_key,
                       "reference": other.reference, "body_kind": primary.kind if primary else ""})
    return {"reference": record.reference, "kind": bundle.key, "title": bundle.title.de, "filings": others}


@dataclass(frozen=True)
class BundleProgress:
    """Where a bundle draft stands, counted over its visible questions' steps and then one unit
    per chosen, not left-out service (complete when its draft has no open step); ``step`` is the
    first open unit (``total + 1`` when all are done). ``nothing_chosen``: the questions are
    answered but every service was left out, so nothing would be filed. The pages name the two
    parts apart (a service is no step): ``question_steps`` (of which ``questions_done``), then
    ``services`` (of which ``services_done`` complete), 0 while questions are open."""

    step: int
    total: int
    done: int
    nothing_chosen: bool = False
    question_steps: int = 0
    questions_done: int = 0
    services: int = 0
    services_done: int = 0

    @property
    def ready(self) -> bool:
        return self.done == self.total and not self.nothing_chosen


def progress(parent: Draft, bundle: BundleDefinition, catalog: Mapping[str, ServiceDefinition]) -> BundleProgress:
    """The real progress of a bundle draft: its questionnaire and each chosen service's draft."""
    questions = draft_progress(bundle.questionnaire, parent)
    if not questions.ready:
        return BundleProgress(step=questions.step, total=questions.total, done=questions.done,
                              question_steps=questions.total, questions_done=questions.done)
    chosen = [p for p in parts(parent, bundle, catalog) if not p.left_out]
    complete = [p.draft is not None and first_open_step(p.service, p.draft) is None for p in chosen]
    first_open = next((i for i, ok in enumerate(complete, 1) if not ok), len(chosen) + 1)
    return BundleProgress(step=questions.total + first_open, total=questions.total + len(chosen),
                          done=questions.done + sum(complete), nothing_chosen=not chosen,
                          question_steps=questions.total, questions_done=questions.done, services=len(chosen),
                          services_done=sum(complete))


def duplicate_bundle_draft(parent: Draft, person: Person, bundle: BundleDefinition,
                           catalog: Mapping[str, ServiceDefinition]) -> Draft:
    """A copy of the bundle draft: its answers with their completed questions and the services
    left out, and a copy of each service draft (answers without files; a step that held a file
    is open again). Commits. Raises ``TooManyDrafts`` when the copies would pass the limit."""
    lock_company(parent.company_id)
    originals = children(parent)
    _check_open_drafts(parent.company_id)
    copy = Draft(company_id=parent.company_id, created_by_id=person.id, updated_by_id=person.id,
                 service_key=parent.service_key, data=dict(parent.data),
                 completed_steps=list(parent.completed_steps), pending_input={}, left_out=list(parent.left_out or []))
    db.session.add(copy)
    db.session.flush()
    for child in originals:
        service = catalog.get(child.service_key)
        if service is None:
            continue
        _check_open_drafts(parent.company_id)
        data = {k: v for k, v in child.data.items() if not _is_attachment_answer(v)}
        emptied = {fd.step for fd in service.fields if fd.name in child.data and fd.name not in data}
        db.session.add(Draft(company_id=parent.company_id, created_by_id=person.id, updated_by_id=person.id,
                             service_key=child.service_key, data=data, pending_input={}, bundle_draft_id=copy.id,
                             completed_steps=[s for s in child.completed_steps if s not in emptied],
                             reopened_steps=child.reopened_steps))
        stats.draft_started(child.service_key, utcnow())
    db.session.commit()
    return copy


def delete_bundle_draft(parent: Draft, storage: AttachmentStorage) -> None:
    """Delete the bundle draft with its service drafts and their files (each service draft counted
    as abandoned). Commits, then removes the files. Under the company's lock, as the saves
    (``DraftGone`` when the bundle draft was filed or deleted meanwhile)."""
    _lock_fresh(parent)
    db.session.expire_all()  # the service drafts as last committed, too (their revisions)
    keys: list[str] = []
    for child in children(parent):
        keys += [a.storage_key for a in child.attachments]
        stats.draft_deleted(child, utcnow())
        for attachment in list(child.attachments):
            db.session.delete(attachment)
        db.session.delete(child)
    db.session.delete(parent)
    db.session.commit()
    for key in keys:
        storage.delete(key)


def previous_bundle(token: str, company_id: int) -> FilingBundle | None:
    """The bundle an earlier submit of this bundle draft created (double click, retried POST)."""
    return db.session.scalar(select(FilingBundle).where(FilingBundle.submit_token == token,
                                                        FilingBundle.company_id == company_id))


def submit_bundle(parent: Draft, person: Person, bundle: BundleDefinition, catalog: Mapping[str, ServiceDefinition],
                  storage: AttachmentStorage, *, trust_level: str | None = None,
                  locale: str | None = None, reviewed: str | None = None) -> BundleOutcome:
    """File every chosen, not left-out service of the bundle draft in one transaction: one filing
    per service (each with its receivers, Delivery rows, receipt, statistics and mail, as
    ``submit_draft`` files one), the ``FilingBundle`` with the receipt that lists them all, the
    bundle's statistics; the drafts are consumed (service drafts left out or no longer called for
    are deleted with their files). All or nothing: ``NothingChosen``, ``ServiceIncomplete``,
    ``ServiceContradicts``, ``ServiceNotRoutable`` or any error while writing roll back
    everything, as do ``CheckFails`` (an answer one of the bundle's checks refuses,
    ``failed_check``) and ``recheck.AnswerRefused`` (an answer a step of the questionnaire or of a
    service refuses now: its fields' rules, the service's checks; ``invalid_answer``). Idempotent
    per bundle draft; ``DraftGone`` when it was deleted meanwhile; ``DraftChanged`` when the bundle's
    draft or one of its service drafts was saved after the review page that sent the submit was
    opened (``reviewed``: that page's ``review_state``, of ``drafts_of``; None when there was no page)."""
    token = str(parent.id)
    lock_company(person.company_id)
    existing = previous_bundle(token, person.company_id)
    if existing:
        return BundleOutcome(existing, created=False)
    if db.session.scalar(select(Draft.id).where(Draft.id == parent.id)) is None:
        db.session.rollback()
        raise DraftGone(token)
    db.session.refresh(parent)
    for child in children(parent):  # as the last save left them, not as read before the lock
        db.session.refresh(child)
    changed = changed_since_review(drafts_of(parent), reviewed)
    if changed is not None:  # saved after the submitter's review page was opened
        db.session.rollback()
        raise DraftChanged(changed)
    failure = failed_check(parent, bundle, catalog)
    if failure is not None:
        db.session.rollback()
        raise CheckFails(failure)
    refused = invalid_answer(parent, bundle, catalog, locale or person.locale or "de")
    if refused is not None:  # the steps' marks are not trusted: what they would refuse is not filed
        db.session.rollback()
        raise recheck.AnswerRefused(refused)
    plan = []
    for part in parts(parent, bundle, catalog):
        if part.left_out:
            continue
        if part.draft is None:
            db.session.rollback()
            raise ServiceIncomplete(part.service.key, parent.id, part.service.steps[0].key)
        if first_open_step(part.service, part.draft):
            db.session.rollback()
            raise ServiceIncomplete(part.service.key, part.draft.id, first_open_step(part.service, part.draft) or "")
        clash = contradictions(parent, bundle, part.service, part.draft.data)
        if clash:
            db.session.rollback()
            raise ServiceContradicts(part.service.key, clash[0])
        try:
            answers = final_answers(part.service, part.draft)
            targets = destinations_of(part.service, answers, person)
        except DraftIncomplete as exc:  # pragma: no cover - first_open_step said it is complete
            db.session.rollback()
            raise ServiceIncomplete(part.service.key, part.draft.id, exc.step_key) from exc
        except (NoCompetentBody, NoDestination) as exc:
            db.session.rollback()
            raise ServiceNotRoutable(part.service.key, exc) from exc
        plan.append((part, answers, targets))
    if not plan:
        db.session.rollback()
        raise NothingChosen(bundle.key)
    filed = {part.draft.id for part, _a, _t in plan if part.draft is not None}
    spare = [d for d in children(parent) if d.id not in filed]

    for _attempt in range(MAX_REFERENCE_TRIES):
        now = utcnow()
        try:
            record = FilingBundle(reference=new_reference(now.year), submit_token=token,
                                  company_id=person.company_id, person_id=person.id, bundle_key=bundle.key,
                                  submitted_at=now, locale=locale or person.locale or "de", receipt=b"",
                                  receipt_sha256="")
            db.session.add(record)
            db.session.flush()
            filings = []
            for part, answers, targets in plan:
                assert part.draft is not None
                filings.append((file_in_transaction(
                    part.draft, person, part.service, answers, targets, now, new_reference(now.year),
                    trust_level=trust_level, locale=locale, bundle_id=record.id), targets))
            for filing, _targets in filings:
                filing.bundle_context = bundle_context(record, bundle, filing, filings, catalog)
            record.left_out = [p.service.key for p in parts(parent, bundle, catalog) if p.left_out]
            record.receipt = receipts.render_bundle_receipt(record, bundle, [f for f, _t in filings], catalog,
                                                            record.locale, premises(parent, bundle))
            record.receipt_sha256 = receipts.sha256(record.receipt)
            stats.bundle_submitted(bundle.key, filings, now)
            spare_keys = [a.storage_key for d in spare for a in d.attachments]
            for draft in spare:
                for attachment in list(draft.attachments):
                    db.session.delete(attachment)
                db.session.delete(draft)
            db.session.delete(parent)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            existing = previous_bundle(token, person.company_id)
            if existing:  # a concurrent submit of the same bundle draft won the race
                return BundleOutcome(existing, created=False)
            continue  # a reference clash: every filing gets new references
        except Exception:
            db.session.rollback()
            raise
        for key in spare_keys:
            storage.delete(key)
        return BundleOutcome(record, created=True)
    raise RuntimeError("could not allocate unique references")
