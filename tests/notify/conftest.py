"""Fixtures for the mail queue: a real SMTP server on loopback and an app that sends through it.

Tests marked ``postgres_only`` are skipped on SQLite (run with ``BIZPORTAL_TEST_DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.support.mailqueue import PUBLIC_BASE_URL, QUEUE
from tests.support.receivers.loopback import closed_port
from tests.support.receivers.smtp_receiver import SmtpRecorder


class HookedRecorder(SmtpRecorder):
    """The recording SMTP server; ``on_data(raw)`` runs when a message arrives, before it is accepted."""

    on_data: Callable[[bytes], None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.on_data is not None:
            self.on_data(envelope.original_content)
        return await super().handle_DATA(server, session, envelope)


class SmtpServer:
    """A real SMTP server (aiosmtpd) on one loopback port that can go down and come back."""

    def __init__(self) -> None:
        self.port = closed_port()
        self.recorder = HookedRecorder()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mails(self) -> list[EmailMessage]:
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(raw) for _from, _to, raw in self.recorder.messages]  # type: ignore[misc]

    def recipients(self) -> list[list[str]]:
        return [to for _from, to, _raw in self.recorder.messages]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(app_factory, smtp):
    return app_factory(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_TIMEOUT=5,
                       PUBLIC_BASE_URL=PUBLIC_BASE_URL, MAIL_MAX_ATTEMPTS=QUEUE["max_attempts"],
                       MAIL_BACKOFF_BASE_SECONDS=QUEUE["backoff_base"], MAIL_BACKOFF_MAX_SECONDS=QUEUE["backoff_max"],
                       MAIL_LEASE_SECONDS=QUEUE["lease_seconds"])
