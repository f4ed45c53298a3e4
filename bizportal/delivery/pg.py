"""The PostgreSQL statements of the hot path, each one round trip.

Constant statements, so PostgreSQL parses and plans them once per connection; states are bound
as parameters (``STATE_PARAMS``), never spelled in the SQL. Every instant comes from the
database's clock (``statement_timestamp()``, see ``common.dbclock``), never from the worker's: only
durations (lease, backoff) are bound. Other databases use the portable
statements in ``claims`` and ``recording`` (SQLite runs one worker).
"""

from __future__ import annotations

from sqlalchemy import text

from ..bodies.models import Chamber
from ..common import dbclock
from ..config import DeliverySettings
from ..extensions import db
from ..filings.models import Filing
from .models import Delivery
from .states import DeliveryState

#: the state parameters every statement here binds
STATE_PARAMS = {"pending": DeliveryState.PENDING.value, "sending": DeliveryState.SENDING.value,
                "delivered": DeliveryState.DELIVERED.value}

#: Claims and reads: per enabled chamber the oldest due rows (at most ``k`` of each: the override
#: from ``:chamber_ids``/``:ks``, else ``:default_k``), skipping rows other workers are claiming
#: right now; leases them; returns what the sends need. For the chambers in ``:probe_ids`` (a
#: half-open circuit breaker) the most-tried due rows come first, then the oldest.
CLAIM = text("""
    WITH slots AS (
        SELECT c.id AS chamber_id, COALESCE(o.k, :default_k) AS k,
               c.id = ANY(CAST(:probe_ids AS INTEGER[])) AS probe
        FROM chamber AS c
        LEFT JOIN unnest(CAST(:chamber_ids AS INTEGER[]), CAST(:ks AS INTEGER[])) AS o(chamber_id, k)
               ON o.chamber_id = c.id
        WHERE c.enabled
    ), picked AS (
        -- Per chamber: ordered probes of due pending rows and of rows whose lease ran out, each
        -- an index range scan on (chamber_id, state, next_attempt_at) that stops after k rows,
        -- then at most k of all together, so a chamber never gets more than its free slots. A
        -- probing chamber (one row, rarely) reads its due pending rows by attempts instead; the
        -- one-time filters on slots.probe pick the branch per chamber.
        SELECT u.id, u.next_attempt_at
        FROM slots
        CROSS JOIN LATERAL (
            SELECT x.id, x.next_attempt_at FROM (
                SELECT a.id, a.next_attempt_at, a.attempts FROM (
                    SELECT d.id, d.next_attempt_at, d.attempts
                    FROM delivery AS d
                    WHERE d.chamber_id = slots.chamber_id AND d.state = :pending
                      AND d.next_attempt_at <= statement_timestamp()
                      AND NOT slots.probe
                    ORDER BY d.next_attempt_at
                    LIMIT GREATEST(slots.k, 0)
                    FOR UPDATE SKIP LOCKED
                ) AS a
                UNION ALL
                SELECT p.id, p.next_attempt_at, p.attempts FROM (
                    SELECT d.id, d.next_attempt_at, d.attempts
                    FROM delivery AS d
                    WHERE d.chamber_id = slots.chamber_id AND d.state = :pending
                      AND d.next_attempt_at <= statement_timestamp()
                      AND slots.probe
                    ORDER BY d.attempts DESC, d.next_attempt_at
                    LIMIT GREATEST(slots.k, 0)
                    FOR UPDATE SKIP LOCKED
                ) AS p
                UNION ALL
                SELECT b.id, b.next_attempt_at, b.attempts FROM (
                    SELECT d.id, d.next_attempt_at, d.attempts
                    FROM delivery AS d
                    WHERE d.chamber_id = slots.chamber_id AND d.state = :sending
                      AND d.locked_until < statement_timestamp()
                    ORDER BY CASE WHEN slots.probe THEN -d.attempts ELSE 0 END, d.next_attempt_at
                    LIMIT GREATEST(slots.k, 0)
                    FOR UPDATE SKIP LOCKED
                ) AS b
            ) AS x
            ORDER BY CASE WHEN slots.probe THEN -x.attempts ELSE 0 END, x.next_attempt_at
            LIMIT GREATEST(slots.k, 0)
        ) AS u
        ORDER BY u.next_attempt_at
        LIMIT :capacity
    ), claimed AS (
        UPDATE delivery AS d
        SET state = :sending, locked_by = :worker, locked_until = statement_timestamp() + CAST(:lease AS INTERVAL),
            attempts = d.attempts + 1
        FROM picked
        WHERE d.id = picked.id
        RETURNING d.id, d.attempts, d.timeouts, d.role, d.filing_id, d.chamber_id, d.locked_by, d.progress,
                  d.message_id, d.request_id, picked.next_attempt_at AS due_at
    )
    SELECT claimed.id, claimed.attempts, claimed.timeouts, claimed.role, claimed.filing_id, claimed.locked_by,
           claimed.progress, claimed.message_id, claimed.request_id, f.reference, f.service_key,
           f.company_snapshot, f.submitted_at, f.data, f.filed_by, f.receivers, f.bundle_context,
           ch.id AS chamber_id, ch.slug,
           ch.adapter_key, ch.options, EXISTS (SELECT 1 FROM attachment AS a WHERE a.filing_id = f.id) AS has_files,
           ch.name AS chamber_name, ch.authority_prefix, ch.authority_id, pb.slug AS primary_slug,
           pb.name AS primary_name, pb.authority_prefix AS primary_authority_prefix,
           pb.authority_id AS primary_authority_id
    FROM claimed
    JOIN filing AS f ON f.id = claimed.filing_id
    JOIN chamber AS ch ON ch.id = claimed.chamber_id
    -- the filing's primary receiving body: the author of its XGewerbeanzeige message
    LEFT JOIN LATERAL (
        SELECT pc.slug, pc.name, pc.authority_prefix, pc.authority_id
        FROM delivery AS pd JOIN chamber AS pc ON pc.id = pd.chamber_id
        WHERE pd.filing_id = f.id AND pd.role = 'primary' AND pd.message_id IS NULL
        LIMIT 1
    ) AS pb ON TRUE
    ORDER BY claimed.due_at
""").columns(
    id=Delivery.__table__.c.id.type,
    progress=Delivery.__table__.c.progress.type,
    company_snapshot=Filing.__table__.c.company_snapshot.type,
    submitted_at=Filing.__table__.c.submitted_at.type,
    data=Filing.__table__.c.data.type,
    filed_by=Filing.__table__.c.filed_by.type,
    receivers=Filing.__table__.c.receivers.type,
    bundle_context=Filing.__table__.c.bundle_context.type,
    options=Chamber.__table__.c.options.type,
)

#: Writes a batch of outcomes, only for rows this worker still holds; returns what was written and
#: the database's time it was written at (``delivered_at``; a retry is due that time + its delay).
RECORD = text("""
    WITH v AS (
        SELECT * FROM unnest(CAST(:ids AS UUID[]), CAST(:states AS VARCHAR[]), CAST(:attempts AS INTEGER[]),
                             CAST(:timeouts AS INTEGER[]), CAST(:errors AS TEXT[]), CAST(:delays AS INTERVAL[]),
                             CAST(:refs AS VARCHAR[]))
            AS v(id, state, attempts, timeouts, last_error, retry_after, receiver_ref)
    )
    UPDATE delivery AS d
    SET state = v.state, attempts = v.attempts, timeouts = v.timeouts, locked_by = NULL, locked_until = NULL,
        last_error = v.last_error,
        next_attempt_at = COALESCE(statement_timestamp() + v.retry_after, d.next_attempt_at),
        receiver_ref = CASE WHEN v.state = :delivered THEN v.receiver_ref ELSE d.receiver_ref END,
        delivered_at = CASE WHEN v.state = :delivered THEN statement_timestamp() ELSE d.delivered_at END
    FROM v
    WHERE d.id = v.id AND d.locked_by = :worker AND d.state = :sending
    RETURNING d.id, statement_timestamp() AS at
""").columns(id=Delivery.__table__.c.id.type, at=Delivery.__table__.c.delivered_at.type)


def is_postgres() -> bool:
    return dbclock.is_postgres()


def relax_commit(settings: DeliverySettings) -> None:
    """On PostgreSQL, let this transaction commit without waiting for the WAL flush (opt-in).

    With ``DELIVERY_ASYNC_COMMIT`` a crash of the database server's machine can forget the last
    fraction of a second of claims and outcomes. Nothing is lost for good: a forgotten claim or
    outcome makes the row due again and the retry carries the same idempotency key.
    """
    if settings.async_commit and is_postgres():
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
