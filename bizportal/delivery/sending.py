"""Sending one claimed delivery through its chamber's adapter, and classifying the outcome.

No database work happens here except an adapter's progress (``chambers.base.Progress``), which
``claims.save_progress`` writes during the send for the worker holding the lease: ``send`` takes a
``Job`` read at claim time (with the progress of earlier attempts) and returns a ``SendResult``
that ``recording.record`` writes later.

Outcomes:
* the adapter returns a ``DeliveryResult`` → ``delivered``;
* ``PermanentFailure`` or no adapter under the chamber's key → ``dead`` at once;
* ``TemporaryFailure`` (or an unexpected error) → ``pending`` with a backoff, ``dead`` at the
  attempt cap; counts towards the chamber's circuit breaker;
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
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from chambers.base import AdapterError, DeliveryResult, InvalidConfig, PermanentFailure, Progress, Superseded
from chambers.registry import AdapterRegistry, UnknownAdapter

from ..catalog.models import ServiceDefinition
from ..config import DeliverySettings
from .claims import save_progress
from .jobs import Job, payload
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
    superseded: bool = False  #: another worker took the delivery over mid-send: says nothing of the receiver


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
    try:
        progress = Progress(job.progress, store=partial(save_progress, job.delivery_id, job.holder))
        data = payload(job, catalog, adapter_services.get("storage"), progress)
        adapter = registry.create(target.adapter_key, services=adapter_services)
        outcome = adapter.deliver(data, target.options)
    except Exception as exc:  # a row that cannot be sent must not block the others
        outcome = exc
        if not isinstance(exc, AdapterError | UnknownAdapter):
            log.exception("delivery %s to %s failed unexpectedly", job.delivery_id, target.slug)
    common: dict[str, Any] = dict(delivery_id=job.delivery_id, chamber_id=target.chamber_id, slug=target.slug,
                                  filing_id=job.filing_id, attempts=job.attempts)
    if isinstance(outcome, DeliveryResult):
        return SendResult(state=DeliveryState.DELIVERED, temporary=False, receiver_ref=outcome.receiver_ref,
                          **common)
    if isinstance(outcome, PermanentFailure | UnknownAdapter):
        return SendResult(state=DeliveryState.DEAD, temporary=False, last_error=describe(outcome), **common)
    if isinstance(outcome, Superseded):
        log.info("delivery %s: another worker has taken over: %s", job.delivery_id, outcome)
        return SendResult(state=DeliveryState.PENDING, temporary=False, superseded=True,
                          last_error=describe(outcome), retry_after=timedelta(0), **common)
    if isinstance(outcome, InvalidConfig):
        log.warning("delivery %s waits: %s: %s", job.delivery_id, NEEDS_CONFIGURATION, outcome)
        return SendResult(state=DeliveryState.PENDING, temporary=False, waiting=True,
                          last_error=f"{NEEDS_CONFIGURATION} ({target.slug}): {outcome}",
                          retry_after=timedelta(seconds=settings.config_recheck_seconds),
                          **{**common, "attempts": job.attempts - 1})
    if job.attempts >= settings.max_attempts:
        return SendResult(state=DeliveryState.DEAD, temporary=True, last_error=describe(outcome), **common)
    return SendResult(state=DeliveryState.PENDING, temporary=True, last_error=describe(outcome),
                      retry_after=backoff_delay(job.attempts, settings), **common)


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(exc))
    return text[-8000:]
