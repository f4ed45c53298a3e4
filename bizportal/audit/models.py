"""The audit log: who did what, when, from where. Never a token or a secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common.time import utcnow
from ..common.types import UTCDateTime
from ..extensions import Model

#: what an entry's ``outcome`` can be
OUTCOMES = ("success", "refused", "failed")


class AuditEvent(Model):
    """One audited action. See the package docstring for what goes in which column."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_occurred_at", "occurred_at"),
        # the admin page filters by kind or by person, newest first
        Index("ix_audit_event_action_occurred_at", "action", "occurred_at"),
        Index("ix_audit_event_actor_occurred_at", "actor", "occurred_at"),
        # the chain, walked in order by ``flask audit verify``
        Index("ix_audit_event_seq", "seq", unique=True),
        # aggregated rows still counting (seq IS NULL): the one of a kind and minute, the closed ones
        Index("ix_audit_event_open", "seq", "bucket", "action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: what happened: a key of ``audit.kinds.KINDS`` (login_success, filing.transition, …)
    action: Mapped[str] = mapped_column(String(40))
    #: the acting user ("company:3", "staff:7") or "anonymous", "cli", "provider:<name>"
    actor: Mapped[str] = mapped_column(String(100))
    #: what the action was about, as text ("GET /staff/statistik", "company:4", "chamber:hwk-bremen")
    target: Mapped[str | None] = mapped_column(String(300))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    #: success, refused (access or transition not allowed) or failed (e.g. a login that did not succeed)
    outcome: Mapped[str] = mapped_column(String(16), default="success", server_default="success")
    #: the filing the action was about; no foreign key: the audit log outlives deleted filings
    filing_id: Mapped[int | None] = mapped_column(index=True)
    #: the receiving body the action was done for (a staff member's chamber); no foreign key either
    chamber_id: Mapped[int | None] = mapped_column()
    #: how many events the row stands for: 1, or more for anonymous noise aggregated per kind,
    #: source and minute (``services.record``)
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: an aggregated row: the minute it counts (None for a single event)
    bucket: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the position in the hash chain (1, 2, …); None while an aggregated row still counts, and
    #: for entries written before the chain (migration 0025)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    #: the ``entry_hash`` of the entry at ``seq - 1`` (64 zeros for the first)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 over ``prev_hash`` and this entry's fields (``chain.entry_hash``)
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Model):
    """The end of the hash chain: one row (id 1) with the last position and its hash.

    Every append locks this row first (an UPDATE: a row lock on PostgreSQL, the write lock on
    SQLite) and holds it until its commit, so appends are serialised and the chain never forks.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))
    #: entries with an id up to this one were written before the chain began (not verified)
    chained_after_id: Mapped[int] = mapped_column(BigInteger, default=0)
