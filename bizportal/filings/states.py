"""The filing status machine: the one table of allowed moves of ``Filing.status``.

::

    submitted ──all deliveries out──▶ forwarded
        │                                │
        └──────────────┬─────────────────┘
                       ▼   (events of the primary receiving body, forward only)
                   received ──▶ in_progress ──▶ accepted | rejected
                       │             │  ▲
                       ▼             ▼  │
              information_requested ──company answers──▶ answered
                                                           │
                                      (in_progress, a new request, or a decision)
    any open status ──company withdraws──▶ withdrawn

Moves go forward: a body may skip steps (bodies report state, not commands) but never repeats
one (a second "receipt confirmed" is refused, not recorded twice) or goes back to an earlier one.
Only the company's answer leaves ``information_requested`` for ``answered``. A closed filing
(accepted, rejected, withdrawn) takes no event. Only ``filings.lifecycle`` changes the status and
writes the timeline.
"""

from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from ..common.states import StateMachine


class FilingStatus(StrEnum):
    SUBMITTED = "submitted"
    FORWARDED = "forwarded"
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    INFORMATION_REQUESTED = "information_requested"
    ANSWERED = "answered"
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

_DECIDE = {FilingStatus.ACCEPTED, FilingStatus.REJECTED, FilingStatus.WITHDRAWN}
#: the staff's working steps after receipt, in order
_WORK = {FilingStatus.IN_PROGRESS, FilingStatus.INFORMATION_REQUESTED, *_DECIDE}

MACHINE = StateMachine("filing", FilingStatus, {
    FilingStatus.SUBMITTED: {FilingStatus.FORWARDED, FilingStatus.RECEIVED, *_WORK},
    FilingStatus.FORWARDED: {FilingStatus.RECEIVED, *_WORK},
    FilingStatus.RECEIVED: _WORK,
    FilingStatus.IN_PROGRESS: {FilingStatus.INFORMATION_REQUESTED, *_DECIDE},
    FilingStatus.INFORMATION_REQUESTED: {FilingStatus.ANSWERED, FilingStatus.IN_PROGRESS, *_DECIDE},
    FilingStatus.ANSWERED: {FilingStatus.IN_PROGRESS, FilingStatus.INFORMATION_REQUESTED, *_DECIDE},
})

#: the statuses as staff pages name them (inbox list, staff history, audit page; the same words
#: as the company's timeline, where a decision is also named for the service's kind)
STATUS_LABELS = {
    FilingStatus.SUBMITTED: _l("Eingereicht"), FilingStatus.FORWARDED: _l("Weitergeleitet"),
    FilingStatus.RECEIVED: _l("Eingegangen"), FilingStatus.IN_PROGRESS: _l("In Bearbeitung"),
    FilingStatus.INFORMATION_REQUESTED: _l("Nachfrage"), FilingStatus.ANSWERED: _l("Antwort eingegangen"),
    FilingStatus.ACCEPTED: _l("Entschieden: positiv"), FilingStatus.REJECTED: _l("Abgelehnt"),
    FilingStatus.WITHDRAWN: _l("Zurückgezogen"),
}
