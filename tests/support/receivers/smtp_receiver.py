"""A real SMTP server on loopback (aiosmtpd) that records what it accepts.

``refuse_rcpt`` maps an address to the reply for RCPT TO (e.g. ``"550 5.1.1 mailbox unknown"``);
``data_reply`` replaces the reply to the message data (e.g. a 4xx) without recording.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

from .loopback import closed_port


@dataclass
class SmtpRecorder:
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None

    async def handle_RCPT(  # noqa: N802 - aiosmtpd hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply:
            return self.data_reply
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted for delivery"


@contextmanager
def smtp_receiver() -> Iterator[tuple[int, SmtpRecorder]]:
    """Yield (port, recorder) of a running SMTP server on 127.0.0.1 (no STARTTLS, no AUTH)."""
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=closed_port())
    controller.start()
    try:
        yield controller.port, recorder
    finally:
        controller.stop()
