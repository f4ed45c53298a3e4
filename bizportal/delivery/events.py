"""Status events from receivers: signed webhook callbacks and polled back channels (FIT-Connect).

Both paths end in ``record_event``, which applies an event to the filing at most once
(``filings.lifecycle.apply_chamber_event(once=True)``: an entry with the same filing, chamber,
kind and time on the timeline counts as applied). Receivers report state, not commands: a replayed
callback or a re-read event log changes nothing.

Polled events carry the receiver's own id (``ChamberEvent.event_id``, FIT-Connect: the SET's
``jti``). An id is applied at most once per poll (the adapter returns it once, ``apply_events``
skips a repeat); across polls the once-check above covers it, since a repeated token repeats its
kind and time. Event ids are not stored: a token that reuses a ``jti`` with another time would
need the issuer's signing key.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, text
from werkzeug.datastructures import Headers

from chambers.base import Adapter, AdapterError, ChamberEvent, InvalidConfig
from chambers.webhook import MalformedCallback, SignatureError, parse_status_callback

from ..bodies.models import Chamber
from ..common.states import Refused
from ..common.time import utcnow
from ..extensions import db
from ..filings import lifecycle
from ..filings.models import Filing
from ..filings.states import CHAMBER_EVENTS, CLOSED, FilingStatus
from .models import Delivery
from .states import DeliveryState

log = logging.getLogger(__name__)

#: what a receiver may report about a filing (others, such as FIT-Connect's "forwarded", are skipped)
APPLICABLE = frozenset(CHAMBER_EVENTS)
#: detail recorded for a rejection or request that arrived without a reason
NO_REASON = "Die Stelle hat keine Begründung übermittelt."
#: how far a receiver's clock may run ahead of ours: a later event time is refused
CLOCK_TOLERANCE = timedelta(minutes=5)
#: the largest status callback body read at all (a report is one short JSON object; its detail
#: is cut to 2000 characters): a longer or unannounced body is refused before it is read
CALLBACK_MAX_BODY = 16 * 1024


class EventTimeRefused(lifecycle.EventRefused):
    """The event's time lies before the filing's submission or too far in the future."""


# --- applying one event -------------------------------------------------------------------------

def record_event(delivery_id: uuid.UUID, kind: str, detail: str | None,
                 occurred_at: datetime) -> tuple[str, Filing | None]:
    """Apply a receiver's event once. Returns ("applied", filing) or ("duplicate", None); commits.

    Raises ``Refused`` (``TransitionRefused``, ``EventRefused``) when the event does not fit the
    filing: ``EventTimeRefused`` for a time more than ``CLOCK_TOLERANCE`` before the filing's
    submission or ahead of the portal's clock; ``TransitionRefused`` for an event older than
    the filing's current status (a status never moves back). A rejection or request without a
    reason gets ``NO_REASON`` as its detail.
    """
    if kind in (FilingStatus.REJECTED, FilingStatus.INFORMATION_REQUESTED) and not (detail or "").strip():
        detail = NO_REASON
    _check_time(delivery_id, occurred_at)
    filing = lifecycle.apply_chamber_event(delivery_id, kind, detail, occurred_at=occurred_at, once=True)
    return ("applied", filing) if filing is not None else ("duplicate", None)


def _check_time(delivery_id: uuid.UUID, occurred_at: datetime) -> None:
    submitted_at = db.session.scalar(select(Filing.submitted_at).join(Delivery, Delivery.filing_id == Filing.id)
                                     .where(Delivery.id == delivery_id))
    # The receiver's clock may be behind ours, and FIT-Connect's event times are whole seconds:
    # an event of the same second as the submit would otherwise lie "before" it.
    if submitted_at is not None and occurred_at < submitted_at - CLOCK_TOLERANCE:
        raise EventTimeRefused(f"the event's time ({occurred_at.isoformat()}) lies before the filing was submitted "
                               f"({submitted_at.isoformat()})")
    if occurred_at > utcnow() + CLOCK_TOLERANCE:
        raise EventTimeRefused(f"the event's time ({occurred_at.isoformat()}) lies in the future")


# --- webhook callbacks --------------------------------------------------------------------------

class CallbackRefused(Exception):
    """A status callback is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class CallbackResult:
    result: str  #: "applied" or "duplicate"
    delivery_id: uuid.UUID
    kind: str
    filing_status: str | None = None
    filing_id: int | None = None
    chamber_id: int | None = None


def receive_status_callback(slug: str, headers: Mapping[str, str] | Headers, body: bytes) -> CallbackResult:
    """Verify a chamber's signed status callback and apply it once; commits.

    Raises ``CallbackRefused`` with 404 (unknown chamber, chamber without a webhook secret, or a
    delivery that is not this chamber's; the first three answer alike, so the answer does not
    tell which slugs exist or which chambers use webhooks), 401 (missing, forged or stale
    signature), 400 (signed but malformed, or a time before the submission or in the future) or
    409 (the event does not fit the filing, or is older than its status). Nothing is changed when
    refused. The body's size is the caller's to limit (``CALLBACK_MAX_BODY``) before reading it.
    """
    chamber = db.session.scalar(select(Chamber).where(Chamber.slug == slug))
    secret = None
    if chamber is not None and chamber.adapter_key == "webhook":
        secret = (chamber.options or {}).get("secret")
    if chamber is None or not isinstance(secret, str) or not secret:
        db.session.rollback()
        raise CallbackRefused(404, "unknown chamber")
    chamber_id = chamber.id
    db.session.rollback()  # nothing is read for writing before the signature is checked
    try:
        event = parse_status_callback(secret, headers, body)  # type: ignore[arg-type]  # Headers: a case-insensitive str mapping
    except MalformedCallback as exc:
        log.warning("status callback for %s refused: %s", slug, exc)
        raise CallbackRefused(400, str(exc)) from None
    except (SignatureError, ValueError) as exc:
        log.warning("status callback for %s refused: %s", slug, exc)
        raise CallbackRefused(401, "invalid signature") from None
    # a body reports on filings: the delivery of a company's message is not one
    owner = db.session.scalar(select(Delivery.chamber_id).where(Delivery.id == event.delivery_id,
                                                                Delivery.message_id.is_(None)))
    if owner != chamber_id:
        db.session.rollback()
        log.warning("status callback for %s names a delivery it does not hold: %s", slug, event.delivery_id)
        raise CallbackRefused(404, "unknown delivery")
    try:
        result, filing = record_event(event.delivery_id, event.kind, event.detail, event.occurred_at)
    except EventTimeRefused as exc:
        log.warning("status callback for %s refused: %s", slug, exc)
        raise CallbackRefused(400, str(exc)) from None
    except Refused as exc:
        raise CallbackRefused(409, str(exc)) from None
    filing_id = filing.id if filing is not None else db.session.scalar(
        select(Delivery.filing_id).where(Delivery.id == event.delivery_id))
    return CallbackResult(result, event.delivery_id, event.kind, filing.status if filing is not None else None,
                          filing_id=filing_id, chamber_id=chamber_id)


# --- polling ------------------------------------------------------------------------------------

@dataclass
class PollReport:
    deliveries: int = 0  #: deliveries whose receiver was asked
    applied: int = 0  #: events applied to filings
    refused: int = 0  #: events that did not fit the filing (logged)
    errors: list[str] = field(default_factory=list)  #: receivers that could not be asked
    skipped: bool = False  #: another worker holds the poll lock


def has_back_channel(adapter_class: type[Adapter]) -> bool:
    """Whether the adapter implements ``poll`` (the base class returns nothing)."""
    return getattr(adapter_class, "poll", Adapter.poll) is not Adapter.poll


POLL_LOCK_KEY = 0x62697A706F6C6C  # "bizpoll": one poller at a time across all workers (PostgreSQL)


def poll_pass(app: Flask, should_stop: Callable[[], bool] = lambda: False) -> PollReport:
    """Ask every receiver with a back channel about its delivered filings; apply new events once.

    Only deliveries in state ``delivered`` within ``DELIVERY_EVENTS_MAX_AGE_DAYS`` whose filing is
    not closed are asked, at most ``DELIVERY_EVENTS_POLL_LIMIT`` per pass, least recently delivered
    first. On PostgreSQL a session advisory lock makes sure
    only one worker polls at a time. No transaction is open while a receiver is asked.
    """
    if db.engine.dialect.name != "postgresql":
        return _poll(app, should_stop)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": POLL_LOCK_KEY}):
            return PollReport(skipped=True)
        try:
            return _poll(app, should_stop)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": POLL_LOCK_KEY})


def _poll(app: Flask, should_stop: Callable[[], bool]) -> PollReport:
    ext = app.extensions["bizportal"]
    registry, services = ext.registry, ext.adapter_services
    settings = app.config["SETTINGS"].delivery
    since = utcnow() - timedelta(days=settings.events_max_age_days)
    limit = settings.events_poll_limit
    report = PollReport()
    chambers = []
    for chamber in db.session.scalars(select(Chamber).where(Chamber.enabled.is_(True)).order_by(Chamber.id)):
        try:
            if has_back_channel(registry.get_class(chamber.adapter_key)):
                chambers.append((chamber.id, chamber.slug, chamber.adapter_key, dict(chamber.options or {})))
        except KeyError:
            continue
    for chamber_id, slug, key, options in chambers:
        rows = db.session.execute(
            select(Delivery.id, Delivery.receiver_ref)
            .join(Filing, Filing.id == Delivery.filing_id)
            .where(Delivery.chamber_id == chamber_id, Delivery.state == DeliveryState.DELIVERED,
                   Delivery.message_id.is_(None),
                   Delivery.receiver_ref.isnot(None), Delivery.delivered_at >= since,
                   Filing.status.not_in(CLOSED))
            .order_by(Delivery.delivered_at)
            .limit(limit)
        ).all()
        db.session.rollback()
        adapter = registry.create(key, services=services)
        for delivery_id, receiver_ref in rows:
            if should_stop():
                return report
            try:
                found = adapter.poll(receiver_ref, options)
            except InvalidConfig as exc:
                report.errors.append(f"{slug}: {exc}")
                log.warning("cannot poll %s: %s", slug, exc)
                break  # the chamber's settings are broken: the other deliveries would fail alike
            except (AdapterError, Exception) as exc:  # noqa: BLE001 - one receiver must not stop the pass
                report.errors.append(f"{slug}/{delivery_id}: {exc}")
                log.warning("cannot poll delivery %s at %s: %s", delivery_id, slug, exc)
                continue
            report.deliveries += 1
            apply_events(delivery_id, found, report)
    return report


def apply_events(delivery_id: uuid.UUID, found: list[ChamberEvent],
                 report: PollReport | None = None) -> int:
    """Apply the events of one delivery (oldest first) that were not applied before.

    An event whose ``event_id`` came earlier in ``found`` is skipped (counted as refused).
    """
    report = report or PollReport()
    applied = 0
    seen: set[str] = set()
    for event in found:
        if event.event_id:
            if event.event_id in seen:
                report.refused += 1
                log.warning("event %s of delivery %s repeated; skipped", event.event_id, delivery_id)
                continue
            seen.add(event.event_id)
        if event.kind not in APPLICABLE:
            continue
        try:
            result, filing = record_event(delivery_id, event.kind, event.detail, event.occurred_at)
        except Refused as exc:
            report.refused += 1
            log.info("event %s of delivery %s not applied: %s", event.kind, delivery_id, exc)
            continue
        if filing is not None:  # applied, not a duplicate
            applied += 1
            report.applied += 1
    return applied
