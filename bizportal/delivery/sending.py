"""Sending one claimed delivery through its chamber's adapter, and classifying the outcome.

No database work happens here except an adapter's progress (``chambers.base.Progress``), which
``claims.save_progress`` writes during the send for the worker holding the lease: ``send`` takes a
``Job`` read at claim time (with the progress of earlier attempts) and returns a ``SendResult``
that ``recording.record`` writes later.

Outcomes:
* the adapter returns a ``DeliveryResult`` → ``delivered``;
* ``PermanentFailure`` or no adapter under the chamber's key → ``dead`` at once;
* ``TemporaryFailure`` (or an unexpected error) → ``pending`` with a backoff, ``dead`` when the
  attempts that were not ``NoAnswer`` reach ``DELIVERY_MAX_ATTEMPTS``; counts towards the
  chamber's circuit breaker;
* ``NoAnswer`` (the request went out, no answer within the answer timeout: a slow receiver may
  have stored it) → ``pending`` with a backoff, and the next attempt waits twice as long, up to
  ``DELIVERY_TIMEOUT_CAP_SECONDS`` (``TimeoutPlan``); it spends no ``DELIVERY_MAX_ATTEMPTS``
  budget. ``dead`` only once ``DELIVERY_TIMEOUT_CAP_ATTEMPTS`` sends at the cap got no answer,
  with a ``last_error`` that says so. Below the cap it tells the circuit breaker nothing
  (``inconclusive``): a slow receiver is not a receiver that is down; at the cap it counts;
* the adapter raises ``Superseded`` (it tried to record its progress after this worker's lease
  was taken over) → nothing is written: the outcome of a lost lease is discarded anyway, and the
  attempt is not counted by the circuit breaker;
* the chamber needs configuration (the adapter raises ``InvalidConfig``) → the delivery waits as
  it would for a disabled chamber: ``pending``, the attempt refunded, not counted by the circuit
  breaker; the worker stops claiming for the chamber for a while and the admin pages show the
  chamber as needing configuration.

A chamber disabled after the claim still gets the sends already claimed (they were read with the
claim); disabling stops further claims.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from chambers.base import (
    Adapter,
    AdapterError,
    DeliveryResult,
    InvalidConfig,
    NoAnswer,
    PermanentFailure,
    Progress,
    Superseded,
)
from chambers.registry import AdapterRegistry, UnknownAdapter

from ..bodies.problems import scrub, short_message
from ..catalog.models import ServiceDefinition
from ..config import DeliverySettings
from .claims import save_progress
from .jobs import Job, message_payload, payload
from .states import DeliveryState

log = logging.getLogger(__name__)

#: ``last_error`` of a delivery waiting for its chamber's configuration starts with this
NEEDS_CONFIGURATION = "chamber needs configuration"


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send, to be written by ``recording.record``."""

    delivery_id: uuid.UUID
    chamber_id: int
    slug: str
    filing_id: int
    attempts: int
    state: DeliveryState
    temporary: bool  #: a temporary failure of the receiver: counts towards the circuit breaker
    last_error: str | None = None
    #: pending: due again this long after the outcome is written (the database's clock, not ours)
    retry_after: timedelta | None = None
    receiver_ref: str | None = None
    waiting: bool = False  #: the chamber needs configuration: attempt refunded
    #: the delivery's attempts without an answer in time (``NoAnswer``), this send included
    timeouts: int = 0
    #: no answer within a timeout below the longest: the circuit breaker learns nothing from it
    inconclusive: bool = False
    answer_timeout: float | None = None  #: the seconds this send waited at most for the answer
    answer_seconds: float | None = None  #: delivered: how long the receiver took to answer
    superseded: bool = False  #: another worker took the delivery over mid-send: says nothing of the receiver
    message_id: int | None = None  #: the delivery carried this company message (not the filing)


@dataclass(frozen=True)
class TimeoutPlan:
    """The answer timeouts of a delivery's attempts: the chamber's configured one, doubled after
    each attempt without an answer, up to the longest (the cap, never below the configured one)."""

    configured: float
    longest: float

    @classmethod
    def of(cls, adapter: Adapter, options: Mapping[str, Any], settings: DeliverySettings) -> TimeoutPlan | None:
        """The plan for a chamber's adapter and options; ``None`` if the adapter has no answer
        timeout. Raises ``InvalidConfig`` for unusable options."""
        configured = adapter.answer_timeout(options)
        if configured is None:
            return None
        longest = adapter.answer_timeout(adapter.with_answer_timeout(options, max(configured, settings.timeout_cap)))
        return cls(configured, max(configured, longest or configured))

    def for_attempt(self, timeouts: int) -> float:
        """The answer timeout of an attempt after ``timeouts`` attempts without an answer."""
        return min(self.longest, self.configured * 2 ** min(timeouts, 32))

    def at_longest(self, timeouts: int) -> int:
        """How many of the first ``timeouts`` attempts without an answer already waited the longest."""
        return sum(1 for i in range(timeouts) if self.for_attempt(i) >= self.longest)


def backoff_delay(attempts: int, settings: DeliverySettings) -> timedelta:
    """Exponential backoff with jitter: between half and all of base·2^(attempts−1), capped."""
    delay = min(settings.backoff_max, settings.backoff_base * (2 ** max(attempts - 1, 0)))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


def send(job: Job, registry: AdapterRegistry, adapter_services: Mapping[str, Any],
         catalog: Mapping[str, ServiceDefinition], settings: DeliverySettings) -> SendResult:
    """Send one claimed delivery through its chamber's adapter; touches no database.

    Never raises for adapter or data errors: see the module docstring for the outcomes.
    """
    target = job.target
    outcome: BaseException | DeliveryResult
    plan: TimeoutPlan | None = None
    timeout: float | None = None
    took: float | None = None
    try:
        adapter = registry.create(target.adapter_key, services=adapter_services)
        options = target.options
        plan = TimeoutPlan.of(adapter, options, settings)
        if plan is not None:
            timeout = plan.for_attempt(job.timeouts)
            options = adapter.with_answer_timeout(options, timeout)
        if job.message_id is None:
            progress = Progress(job.progress, store=partial(save_progress, job.delivery_id, job.holder))
            data = payload(job, catalog, adapter_services.get("storage"), progress)
            started = time.monotonic()
            outcome = adapter.deliver(data, options)
        else:
            message = _message_payload(job, adapter, catalog, adapter_services)
            started = time.monotonic()
            outcome = adapter.deliver_message(message, options)
        took = time.monotonic() - started
    except Exception as exc:  # a row that cannot be sent must not block the others
        outcome = exc
        if not isinstance(exc, AdapterError | UnknownAdapter):
            log.exception("delivery %s to %s failed unexpectedly", job.delivery_id, target.slug)
    common: dict[str, Any] = dict(delivery_id=job.delivery_id, chamber_id=target.chamber_id, slug=target.slug,
                                  filing_id=job.filing_id, attempts=job.attempts, timeouts=job.timeouts,
                                  answer_timeout=timeout, message_id=job.message_id)
    if isinstance(outcome, DeliveryResult):
        return SendResult(state=DeliveryState.DELIVERED, temporary=False, receiver_ref=outcome.receiver_ref,
                          answer_seconds=took, **common)
    if isinstance(outcome, PermanentFailure | UnknownAdapter):
        return SendResult(state=DeliveryState.DEAD, temporary=False, last_error=describe(outcome), **common)
    if isinstance(outcome, Superseded):
        log.info("delivery %s: another worker has taken over: %s", job.delivery_id, outcome)
        return SendResult(state=DeliveryState.PENDING, temporary=False, superseded=True,
                          last_error=describe(outcome), retry_after=timedelta(0), **common)
    if isinstance(outcome, InvalidConfig):
        log.warning("delivery %s waits: %s: %s", job.delivery_id, NEEDS_CONFIGURATION, outcome)
        return SendResult(state=DeliveryState.PENDING, temporary=False, waiting=True,
                          last_error=f"{NEEDS_CONFIGURATION} ({target.slug}): {short_message(outcome)}",
                          retry_after=timedelta(seconds=settings.config_recheck_seconds),
                          **{**common, "attempts": job.attempts - 1})
    if isinstance(outcome, NoAnswer):
        return _no_answer(job, outcome, plan or TimeoutPlan(outcome.timeout, outcome.timeout), settings, common)
    if job.attempts - job.timeouts >= settings.max_attempts:
        return SendResult(state=DeliveryState.DEAD, temporary=True, last_error=describe(outcome), **common)
    return SendResult(state=DeliveryState.PENDING, temporary=True, last_error=describe(outcome),
                      retry_after=backoff_delay(job.attempts, settings), **common)


def _message_payload(job: Job, adapter: Adapter, catalog: Mapping[str, ServiceDefinition],
                     adapter_services: Mapping[str, Any]) -> Any:
    """The payload of a company's message; ``PermanentFailure`` if the adapter cannot carry one
    (the chamber changed to such an adapter after the message was written) or the delivery of the
    filing it refers to is gone."""
    if not adapter.forwards_messages:
        raise PermanentFailure(f"{adapter.key}: this adapter does not forward the company's messages")
    if job.message is None:
        raise PermanentFailure(f"message {job.message_id}: the filing's delivery to this body is missing")
    progress = Progress(job.progress, store=partial(save_progress, job.delivery_id, job.holder))
    return message_payload(job, catalog, adapter_services.get("storage"), progress)


def _no_answer(job: Job, exc: NoAnswer, plan: TimeoutPlan, settings: DeliverySettings,
               common: dict[str, Any]) -> SendResult:
    """The outcome of a send that went out and got no answer in time (see the module docstring)."""
    timeouts = job.timeouts + 1
    common = {**common, "timeouts": timeouts, "answer_timeout": exc.timeout}
    at_longest = plan.at_longest(timeouts)
    if at_longest >= settings.timeout_cap_attempts:
        reason = (f"; {at_longest} sends got no answer within the longest timeout ({plan.longest:g} s, "
                  "DELIVERY_TIMEOUT_CAP_SECONDS): given up; the receiver may hold the filing "
                  "(a re-send carries the same idempotency key)")
        return SendResult(state=DeliveryState.DEAD, temporary=True, last_error=describe(exc, reason), **common)
    waited_longest = plan.for_attempt(job.timeouts) >= plan.longest
    note = f"; the next attempt waits up to {plan.for_attempt(timeouts):g} s"
    return SendResult(state=DeliveryState.PENDING, temporary=waited_longest, inconclusive=not waited_longest,
                      last_error=describe(exc, note), retry_after=backoff_delay(job.attempts, settings), **common)


def describe(exc: BaseException, note: str = "") -> str:
    """``last_error``: one line with the class of the problem and a short message
    (``bodies.problems.short_message``: no receiver text for network, TLS and HTTP problems, URLs
    without query strings) and ``note``. The full text and the traceback go to the log."""
    log.info("send failed: %s", scrub(f"{type(exc).__name__}: {exc}", 2000), exc_info=exc)
    return (short_message(exc) + note)[:1000]
