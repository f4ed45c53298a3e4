"""What other packages ask of deliveries: open them with a filing, cancel the unsent, record a
decision, and an admin's change of a chamber's settings.

Each function checks the move against ``states.MACHINE``. Those called by ``filings.lifecycle``
join the caller's transaction (they do not commit): the filing's owner commits the filing's change
and the deliveries' together. ``reconfigure_chamber`` is a use case of its own and commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from chambers.base import AdapterError
from chambers.registry import AdapterRegistry, UnknownAdapter

from ..bodies import settings as body_settings
from ..bodies.models import Chamber
from ..common import dbclock, logs
from ..extensions import db, rowcount
from .models import Delivery
from .sending import NEEDS_CONFIGURATION
from .states import DONE, MACHINE, DeliveryState

#: a withdrawal cancels what has not been sent
_CANCELLABLE = MACHINE.edges((DeliveryState.PENDING,), DeliveryState.CANCELLED)


@dataclass(frozen=True)
class DeliveryRef:
    """A delivery as other packages see it (plain data)."""

    id: uuid.UUID
    filing_id: int
    chamber_id: int
    role: str
    state: DeliveryState

    @property
    def delivered(self) -> bool:
        """The receiver has the filing (delivered, or decided there)."""
        return self.state in DONE

    @property
    def primary(self) -> bool:
        return self.role == "primary"


def open_deliveries(filing_id: int, targets: Iterable[tuple[Chamber, str]], at: datetime) -> None:
    """Add one pending delivery per (chamber, role) of a new filing, due at ``at`` (the outbox).

    Joins the caller's transaction: nothing is sent for a filing that did not commit.
    """
    for chamber, role in targets:
        db.session.add(Delivery(filing_id=filing_id, chamber_id=chamber.id, role=role, next_attempt_at=at,
                                state=DeliveryState.PENDING, request_id=logs.current()))


def open_message_delivery(filing_id: int, chamber_id: int, message_id: int) -> None:
    """Add one pending delivery of a company's message to the body it is addressed to, due now
    (the outbox). The role is that of the filing's delivery to the body. Joins the caller's
    transaction: nothing is sent for a message that did not commit."""
    role = db.session.scalar(select(Delivery.role).where(
        Delivery.filing_id == filing_id, Delivery.chamber_id == chamber_id, Delivery.message_id.is_(None)))
    db.session.add(Delivery(filing_id=filing_id, chamber_id=chamber_id, message_id=message_id,
                            role=role or "primary", state=DeliveryState.PENDING,
                            next_attempt_at=dbclock.now(), request_id=logs.current()))


#: how the company's messages reach a body
BY_INBOX, BY_ADAPTER, NOT_AT_ALL = "inbox", "adapter", "none"


def message_route(chamber: Chamber) -> str:
    """How a company's message reaches ``chamber``: its staff read it in the portal's inbox
    (``BY_INBOX``), its adapter forwards it through the outbox (``BY_ADAPTER``), or the body's
    adapter cannot carry messages (``NOT_AT_ALL``: the company is told to use another way)."""
    if chamber.adapter_key == "inbox":
        return BY_INBOX
    try:
        adapter_class = current_app.extensions["bizportal"].registry.get_class(chamber.adapter_key)
    except (KeyError, UnknownAdapter):
        return NOT_AT_ALL
    return BY_ADAPTER if getattr(adapter_class, "forwards_messages", False) else NOT_AT_ALL


def delivers_messages(chamber: Chamber) -> bool:
    """Whether a company's message to ``chamber`` gets a delivery of its own (the outbox): always
    for an adapter that forwards messages; for the portal inbox only when its options push a
    notification to the chamber's system (``Adapter.sends_messages``)."""
    try:
        adapter = current_app.extensions["bizportal"].registry.create(chamber.adapter_key)
        return bool(adapter.sends_messages(dict(chamber.options or {})))
    except (KeyError, UnknownAdapter, AdapterError):
        return False


def get(delivery_id: uuid.UUID) -> DeliveryRef | None:
    """A delivery of a filing (a delivery of a company's message is not one: ``None``)."""
    row = db.session.execute(
        select(Delivery.id, Delivery.filing_id, Delivery.chamber_id, Delivery.role, Delivery.state)
        .where(Delivery.id == delivery_id, Delivery.message_id.is_(None))
    ).first()
    return DeliveryRef(row.id, row.filing_id, row.chamber_id, row.role, DeliveryState(row.state)) if row else None


def primary_chamber_id(filing_id: int) -> int | None:
    """The chamber that works and decides the filing (its primary destination)."""
    return db.session.scalar(select(Delivery.chamber_id).where(Delivery.filing_id == filing_id,
                                                               Delivery.message_id.is_(None),
                                                               Delivery.role == "primary").limit(1))


def cancel_unsent(filing_id: int, reason: str) -> int:
    """Cancel the filing's deliveries that have not been sent (pending); returns how many.

    A delivery being sent right now is not cancelled: the body gets the filing and sees it
    withdrawn in its status. Joins the caller's transaction.
    """
    result = db.session.execute(
        update(Delivery).where(Delivery.filing_id == filing_id, Delivery.state.in_(_CANCELLABLE))
        .values(state=DeliveryState.CANCELLED, last_error=reason)
        .execution_options(synchronize_session=False))
    return rowcount(result)


def mark_decided(delivery_id: uuid.UUID, kind: str) -> None:
    """The receiving body decided (``accepted``/``rejected``): close its delivery.

    Raises ``TransitionRefused`` unless the delivery is ``delivered``. Joins the caller's transaction.
    """
    target = DeliveryState(kind) if kind in DeliveryState.__members__.values() else None
    if target not in (DeliveryState.ACCEPTED, DeliveryState.REJECTED):
        raise ValueError(f"{kind!r} is not a decision")
    result = db.session.execute(
        update(Delivery).where(Delivery.id == delivery_id, Delivery.state.in_(MACHINE.sources(target)))
        .values(state=target).execution_options(synchronize_session=False))
    if rowcount(result) != 1:
        current = db.session.scalar(select(Delivery.state).where(Delivery.id == delivery_id))
        if current is None:
            raise LookupError(delivery_id)
        MACHINE.check(current, target, subject=str(delivery_id))  # raises TransitionRefused


def reconfigure_chamber(registry: AdapterRegistry, adapter_services: dict[str, Any], chamber: Chamber,
                        adapter_key: str, options: dict[str, Any], enabled: bool,
                        allowed_hosts: tuple[str, ...] | None = None) -> int:
    """An admin changes a chamber's adapter settings: store them and, in the same commit, make the
    deliveries that waited for a usable configuration due now (their error is cleared; a worker
    that paused the chamber tries again within ``DELIVERY_CONFIG_RECHECK_SECONDS``). Returns how
    many deliveries were waiting. Options naming a host outside ``allowed_hosts`` are refused.
    Raises ``InvalidConfig``/``UnknownAdapter`` (nothing stored).
    """
    try:
        body_settings.apply_settings(registry, adapter_services, chamber, adapter_key, options, enabled,
                                     allowed_hosts)
    except Exception:
        db.session.rollback()
        raise
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.chamber_id == chamber.id, Delivery.state == DeliveryState.PENDING,
               Delivery.last_error.startswith(NEEDS_CONFIGURATION))
        .values(next_attempt_at=dbclock.now_sql(), last_error=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return rowcount(result)
