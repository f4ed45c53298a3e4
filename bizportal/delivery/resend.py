"""Admin re-send: dead or waiting deliveries become due now with a fresh attempt budget."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import update

from ..common.time import utcnow
from ..extensions import db, rowcount
from .models import Delivery
from .states import MACHINE, DeliveryState

#: what an admin may re-send (delivered, decided, cancelled and in-flight deliveries are left alone)
RESENDABLE = MACHINE.edges((DeliveryState.DEAD, DeliveryState.PENDING), DeliveryState.PENDING)


def resend_many(delivery_ids: Iterable[uuid.UUID]) -> int:
    """Make dead or pending deliveries due now with a fresh attempt budget; commits.

    Other deliveries are left alone: re-sending them is a no-op. Returns how many were re-queued.
    """
    ids = list(delivery_ids)
    if not ids:
        return 0
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.state.in_(RESENDABLE))
        .values(state=DeliveryState.PENDING, next_attempt_at=utcnow(), attempts=0)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rowcount(result)


def resend(delivery_id: uuid.UUID) -> bool:
    """Make a dead or pending delivery due now; any other is left alone (returns False)."""
    return resend_many([delivery_id]) == 1
