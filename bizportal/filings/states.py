"""The filing status machine: the one table of allowed moves of ``Filing.status``.

::

    submitted ──all deliveries out──▶ forwarded
        │                                │
        └──────────────┬─────────────────┘
                       ▼   (events of the primary receiving body)
      received · in_progress · information_requested ──▶ accepted | rejected
                       │
    any open status ──company withdraws──▶ withdrawn

An open filing takes any event its primary body reports (bodies report state, not commands, and
may skip steps); a closed one (accepted, rejected, withdrawn) takes none. Only
``filings.lifecycle`` changes the status and writes the timeline.
"""

from __future__ import annotations

from enum import StrEnum

from ..common.states import StateMachine


class FilingStatus(StrEnum):
    SUBMITTED = "submitted"
    FORWARDED = "forwarded"
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    INFORMATION_REQUESTED = "information_requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


DECIDED = (FilingStatus.ACCEPTED, FilingStatus.REJECTED)
CLOSED = (FilingStatus.ACCEPTED, FilingStatus.REJECTED, FilingStatus.WITHDRAWN)
#: what a receiving body may report about a filing
CHAMBER_EVENTS = (FilingStatus.RECEIVED, FilingStatus.IN_PROGRESS, FilingStatus.INFORMATION_REQUESTED,
                  FilingStatus.ACCEPTED, FilingStatus.REJECTED)
#: events only the primary destination may report (a copy recipient does not decide)
PRIMARY_ONLY = (FilingStatus.IN_PROGRESS, FilingStatus.INFORMATION_REQUESTED, FilingStatus.ACCEPTED,
                FilingStatus.REJECTED)

_FROM_OPEN = {*CHAMBER_EVENTS, FilingStatus.WITHDRAWN}

MACHINE = StateMachine("filing", FilingStatus, {
    FilingStatus.SUBMITTED: {FilingStatus.FORWARDED, *_FROM_OPEN},
    FilingStatus.FORWARDED: _FROM_OPEN,
    FilingStatus.RECEIVED: _FROM_OPEN,
    FilingStatus.IN_PROGRESS: _FROM_OPEN,
    FilingStatus.INFORMATION_REQUESTED: _FROM_OPEN,
})
