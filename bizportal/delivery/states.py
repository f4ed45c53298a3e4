"""The delivery state machine: the one table of allowed moves of ``Delivery.state``.

::

    pending ──claim──▶ sending ──sent──▶ delivered ──decision──▶ accepted | rejected
       ▲  │               │ │ ▲
       │  │               │ └─┘ lease ran out, another worker takes it over
       │  │               ├──temporary failure / released / abandoned──▶ pending
       │  │               └──permanent failure / attempt cap──▶ dead ──re-send──▶ pending
       │  └──company withdraws before sending──▶ cancelled
       └── re-send (fresh attempt budget)

Only modules of ``bizportal/delivery`` change the state, through the functions of
``claims``, ``recording``, ``resend`` and ``services``; other packages call those.
"""

from __future__ import annotations

from enum import StrEnum

from ..common.states import StateMachine


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DEAD = "dead"
    CANCELLED = "cancelled"  #: the company withdrew the filing before it was sent


#: delivered to the receiver (and possibly decided there)
DONE = (DeliveryState.DELIVERED, DeliveryState.ACCEPTED, DeliveryState.REJECTED)

MACHINE = StateMachine("delivery", DeliveryState, {
    DeliveryState.PENDING: {DeliveryState.SENDING, DeliveryState.CANCELLED, DeliveryState.PENDING},
    DeliveryState.SENDING: {DeliveryState.SENDING, DeliveryState.DELIVERED, DeliveryState.PENDING,
                            DeliveryState.DEAD},
    DeliveryState.DELIVERED: {DeliveryState.ACCEPTED, DeliveryState.REJECTED},
    DeliveryState.DEAD: {DeliveryState.PENDING},
})
