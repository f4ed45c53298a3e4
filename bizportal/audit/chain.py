"""The audit log's hash chain: appending under the chain head's lock, and verifying.

Every chained entry has a position ``seq`` (1, 2, …), the hash of the entry before it
(``prev_hash``; 64 zeros for the first) and its own hash, SHA-256 over that previous hash and the
entry's fields (``entry_hash``). Changing, removing or inserting an entry afterwards breaks the
chain at that entry, and ``verify`` names it.

Appends are serialised by the single row of ``audit_chain_head``: each append's first statement
updates it (PostgreSQL: the row lock; SQLite: the database's write lock) and holds it until the
commit, so two writers never take the same position, on any number of processes and machines.

Anonymous noise (an anonymous refusal or failure) is not chained one by one: it is counted in one
row per kind, source address and minute (``count``) that stays open while its minute runs and
joins the chain when a later append finds its minute over (``seal_closed``). More than
``AUDIT_NOISE_SOURCES_PER_MINUTE`` sources of one kind in one minute share a row with the source
``*``, so a burst from many addresses cannot flood the table either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, insert, not_, or_, select, update
from sqlalchemy.orm import Session

from ..extensions import rowcount, table_of
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
#: the source of an aggregated row that counts the sources beyond the per-minute cap
MANY_SOURCES = "*"

_E = AuditEvent
_H = table_of(AuditChainHead)


def _instant(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="microseconds") if value is not None else None


def entry_hash(prev_hash: str, event: AuditEvent) -> str:
    """The hash of ``event`` at its position after an entry with hash ``prev_hash``."""
    fields = [event.seq, _instant(event.occurred_at), event.action, event.actor, event.target, event.remote_addr,
              event.detail, event.outcome, event.filing_id, event.chamber_id, event.count, _instant(event.bucket)]
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


class _Head:
    """The chain's end while this transaction holds it."""

    def __init__(self, session: Session, seq: int, last_hash: str):
        self.session, self.seq, self.hash = session, seq, last_hash

    def link(self, event: AuditEvent) -> None:
        """Give ``event`` the next position and its hashes."""
        self.seq += 1
        event.seq, event.prev_hash = self.seq, self.hash
        event.entry_hash = self.hash = entry_hash(self.hash, event)

    def save(self) -> None:
        self.session.flush()
        self.session.execute(update(_H).where(_H.c.id == 1).values(seq=self.seq, entry_hash=self.hash))


def lock_head(session: Session) -> _Head:
    """Lock the chain head for the rest of ``session``'s transaction (its first write).

    A missing head (a new or emptied database) is made from the last chained entry, or the
    genesis; two transactions making it at once clash on its key (``IntegrityError``: retry).
    """
    row = session.execute(update(_H).where(_H.c.id == 1).values(seq=_H.c.seq)
                          .returning(_H.c.seq, _H.c.entry_hash)).first()
    if row is not None:
        return _Head(session, row.seq, row.entry_hash)
    last = session.execute(select(_E.seq, _E.entry_hash).where(_E.seq.is_not(None))
                           .order_by(_E.seq.desc()).limit(1)).first()
    if last is None:
        before = session.scalar(select(func.max(_E.id))) or 0
        seq, last_hash = 0, GENESIS
    else:
        before = (session.scalar(select(func.min(_E.id)).where(_E.seq.is_not(None))) or 1) - 1
        seq, last_hash = last.seq, last.entry_hash
    session.execute(insert(_H).values(id=1, seq=seq, entry_hash=last_hash, chained_after_id=before))
    return _Head(session, seq, last_hash)


def seal_closed(session: Session, head: _Head, now: datetime) -> int:
    """Chain the aggregated rows whose minute is over, in the order they were opened."""
    # FOR UPDATE: a count added without the head's lock (``count_in_open_row``) by a writer whose
    # clock lags behind must land before the row is hashed, or wait and find it sealed
    closed = list(session.scalars(select(_E).where(_E.seq.is_(None), _E.bucket < minute_of(now), _noise_shaped())
                                  .order_by(_E.id).with_for_update()))
    for event in closed:
        head.link(event)
    return len(closed)


def _noise_shaped():
    """What ``count_noise`` writes: anonymous, not a success. Only such open rows are sealed into the
    chain; any other row outside it (e.g. a staff action inserted with a past minute) is a break."""
    return and_(_E.actor == "anonymous", or_(_E.outcome.is_(None), _E.outcome != "success"))


def _same_source(source: str | None):
    return _E.remote_addr.is_(None) if source is None else _E.remote_addr == source


def count_in_open_row(session: Session, event: AuditEvent) -> bool:
    """Add ``event`` to the open row of its kind, actor, source and minute if there is one,
    without the chain head's lock (a burst of noise does not queue on it); returns whether it did.
    The row lock of the UPDATE orders it against ``seal_closed``."""
    counted = session.execute(
        update(_E).where(_E.seq.is_(None), _E.bucket == minute_of(event.occurred_at), _E.action == event.action,
                         _E.actor == event.actor, _same_source(event.remote_addr))
        .values(count=_E.count + 1), execution_options={"synchronize_session": False})
    return bool(rowcount(counted))


def count_noise(session: Session, event: AuditEvent, sources_per_minute: int) -> None:
    """Count ``event`` in the open row of its kind, actor, source and minute (made if missing)."""
    minute = minute_of(event.occurred_at)

    def open_row(source: str | None) -> AuditEvent | None:
        return session.scalar(select(_E).where(_E.seq.is_(None), _E.bucket == minute, _E.action == event.action,
                                               _E.actor == event.actor, _same_source(source)).limit(1))

    row = open_row(event.remote_addr)
    if row is None:
        sources = session.scalar(select(func.count()).select_from(_E).where(
            _E.seq.is_(None), _E.bucket == minute, _E.action == event.action, _E.actor == event.actor)) or 0
        if sources >= sources_per_minute:
            event.remote_addr = MANY_SOURCES
            row = open_row(MANY_SOURCES)
    if row is not None:
        session.execute(update(_E).where(_E.id == row.id).values(count=_E.count + 1))
        return
    event.bucket, event.count = minute, 1
    session.add(event)


# --- verifying -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Break:
    """The first entry where the chain does not hold."""

    event_id: int | None
    seq: int | None
    occurred_at: datetime | None
    action: str | None
    reason: str
    #: found by comparing with a head pinned outside the database (where the rewriting began is unknown)
    pinned: bool = False

    def describe(self) -> str:
        if self.event_id is None:
            return self.reason
        when = _instant(self.occurred_at) or "?"
        return f"entry {self.event_id} (position {self.seq}, {when}, {self.action}): {self.reason}"


@dataclass(frozen=True)
class Verdict:
    checked: int
    #: entries written before the chain began (not covered)
    before_chain: int
    #: aggregated rows still counting (they join the chain when their minute is over)
    still_open: int
    broken: Break | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _walk(session: Session, batch: int) -> Iterator[AuditEvent]:
    stmt = select(_E).where(_E.seq.is_not(None)).order_by(_E.seq).execution_options(yield_per=batch)
    yield from session.scalars(stmt)


def verify(session: Session, batch: int = 2000) -> Verdict:
    """Walk the chain from its first position and report the first entry that breaks it: a
    position missing before it, a ``prev_hash`` that is not its predecessor's hash, fields that
    do not give its hash, entries missing after the last one (the head says more were written),
    or an entry written outside the chain after it began. Reads only."""
    head = session.get(AuditChainHead, 1)
    expected_seq, prev = 1, GENESIS
    checked = 0
    broken: Break | None = None
    for event in _walk(session, batch):
        reason = None
        if event.seq != expected_seq:
            reason = f"position {expected_seq} is missing before this entry"
        elif event.prev_hash != prev:
            reason = "does not follow the entry before it (prev_hash differs)"
        elif event.entry_hash != entry_hash(prev, event):
            reason = "changed after it was written (its hash does not match its fields)"
        if reason:
            broken = Break(event.id, event.seq, event.occurred_at, event.action, reason)
            break
        checked += 1
        expected_seq, prev = expected_seq + 1, event.entry_hash or ""
    session.expunge_all()
    if broken is None and head is None and checked:
        broken = Break(None, None, None, None, "the chain head (table audit_chain_head) is missing")
    if broken is None and head is not None and (head.seq != checked or head.entry_hash != prev):
        broken = Break(None, head.seq, None, None,
                       f"the chain ends at position {checked} but {head.seq} entries were written "
                       "(entries at its end were removed or changed)")
    after = head.chained_after_id if head is not None else 0
    first_chained = session.scalar(select(func.min(_E.id)).where(_E.seq.is_not(None)))
    if first_chained is not None:  # the head row is writable: entries before the chain precede its first entry
        after = min(after, first_chained - 1)
    if broken is None:
        outside = or_(_E.bucket.is_(None), not_(_noise_shaped()))
        stray = session.scalar(select(_E).where(_E.seq.is_(None), outside, _E.id > after)
                               .order_by(_E.id).limit(1))
        if stray is not None:
            broken = Break(stray.id, None, stray.occurred_at, stray.action, "written outside the chain")
    before_chain = session.scalar(select(func.count()).select_from(_E).where(
        _E.seq.is_(None), _E.bucket.is_(None), _E.id <= after)) or 0
    still_open = session.scalar(select(func.count()).select_from(_E).where(
        _E.seq.is_(None), _E.bucket.is_not(None))) or 0
    return Verdict(checked=checked, before_chain=before_chain, still_open=still_open, broken=broken)


# --- the head pinned outside the database ----------------------------------------------------------

@dataclass(frozen=True)
class Head:
    """The chain's last entry: its position (how many entries were chained) and its hash."""

    count: int
    entry_hash: str


def head_of(session: Session) -> Head:
    """The chain's end as the chained entries give it (not the head row, which could be rewritten
    with them)."""
    last = session.execute(select(_E.seq, _E.entry_hash).where(_E.seq.is_not(None))
                           .order_by(_E.seq.desc()).limit(1)).first()
    return Head(last.seq, last.entry_hash) if last is not None else Head(0, GENESIS)


def check_pinned(session: Session, pinned: Head) -> Break | None:
    """Whether the chain still holds the entry an operator pinned outside the database (``flask
    audit head``): an entry at position ``pinned.count`` with hash ``pinned.entry_hash``. A chain
    cut back before it, or rewritten from before it (hashes recomputed, head row updated — what
    ``verify`` alone cannot see), does not. Reads only."""
    if pinned.count == 0:
        return None
    entry = session.scalar(select(_E).where(_E.seq == pinned.count))
    if entry is None:
        return Break(None, pinned.count, None, None,
                     f"the pinned entry at position {pinned.count} is missing: the chain was cut back", pinned=True)
    found = None
    if entry.entry_hash != pinned.entry_hash:
        found = Break(entry.id, entry.seq, entry.occurred_at, entry.action,
                      f"is not the pinned entry (hash {entry.entry_hash} instead of {pinned.entry_hash}): "
                      "the chain was rewritten at or before it", pinned=True)
    session.expunge_all()
    return found
