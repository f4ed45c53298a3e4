"""The notification state machine: the one table of allowed moves of ``Notification.state``.

::

    pending ──claim──▶ sending ──the SMTP server accepted it──▶ sent
       ▲                 │ │ ▲
       │                 │ └─┘ lease ran out, another worker takes it over
       └──retry later────┤
                         └──refused for good / attempt cap──▶ dead

Only ``notify.services`` changes the state.
"""

from __future__ import annotations

from enum import StrEnum

from ..common.states import StateMachine


class NotificationState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class NotificationKind(StrEnum):
    """What a mail announces; also the name of its template ``templates/mail/<kind>.txt``."""

    FILING_RECEIVED = "filing_received"  #: acknowledgement with the receipt PDF, after submit
    STATUS_CHANGED = "status_changed"  #: a chamber asked for information or decided
    REQUEST_REMINDER = "request_reminder"  #: an information request is due soon and not answered
    CHAMBER_MESSAGE = "chamber_message"  #: a chamber wrote to the company without a change of status
    DRAFT_EXPIRING = "draft_expiring"  #: an untouched draft will be deleted (retention); no filing


MACHINE = StateMachine("notification", NotificationState, {
    NotificationState.PENDING: {NotificationState.SENDING},
    NotificationState.SENDING: {NotificationState.SENDING, NotificationState.SENT, NotificationState.PENDING,
                                NotificationState.DEAD},
})
