"""Admin re-send: dead or waiting deliveries become due now with a fresh attempt budget (and the
chamber's configured answer timeout again).

The one writer of the re-send move (``dead``/``pending`` → ``pending``): the admin pages (chosen rows,
or every row that matches a filter) and ``flask deliveries resend`` call these functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, update

from ..common import dbclock
from ..extensions import db, rowcount
from .models import Delivery
from .queries import problem_filter
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
    return _requeue(Delivery.id.in_(ids))


def resend_matching(kind: str, chamber_id: int | None = None, since: datetime | None = None) -> int:
    """Re-send every delivery that matches the problem filter now (``queries.problem_filter``: kind
    "dead", "failing" or "all", optionally one chamber, created at or after ``since``); commits.

    One UPDATE statement, so exactly the rows that match when it runs are re-queued, however many
    (no row is loaded into Python); a row a worker claims meanwhile is no longer pending and is left
    alone. Returns how many were re-queued. Raises ``ValueError`` for an unknown kind.
    """
    return _requeue(*problem_filter(kind, chamber_id, since))


def _requeue(*where: ColumnElement[bool]) -> int:
    result = db.session.execute(
        update(Delivery)
        .where(*where, Delivery.state.in_(RESENDABLE))
        .values(state=DeliveryState.PENDING, next_attempt_at=dbclock.now_sql(), attempts=0, timeouts=0)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return rowcount(result)


def resend(delivery_id: uuid.UUID) -> bool:
    """Make a dead or pending delivery due now; any other is left alone (returns False)."""
    return resend_many([delivery_id]) == 1
