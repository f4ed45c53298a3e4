"""The ``inbox`` adapter: the filing appears in the chamber's staff inbox inside the portal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..base import (
    Adapter,
    DeliveryResult,
    FilingPayload,
    InvalidConfig,
    MessagePayload,
    OptionField,
    TemporaryFailure,
)


class InboxStore(Protocol):
    """Where inbox deliveries are kept; the host application provides it as ``services['inbox_store']``."""

    def put(self, chamber_slug: str, payload: FilingPayload) -> str:
        """Store the payload for the chamber once per ``delivery_id``; return the inbox item id."""


class InboxAdapter(Adapter):
    """Delivers into the portal's own staff inbox, for chambers without a system of their own."""

    key = "inbox"
    label = "Posteingang im Portal"
    forwards_messages = True
    options_schema = (
        OptionField("chamber_slug", str, help="Slug of the chamber whose staff inbox receives filings"),
    )

    def _store(self) -> InboxStore:
        store: InboxStore | None = self.services.get("inbox_store")
        if store is None:
            raise InvalidConfig("inbox: the host application provides no inbox store")
        return store

    def check_config(self, options: Mapping[str, Any] | None) -> None:
        """Raise ``InvalidConfig`` for unusable options or when the host provides no inbox store."""
        self.parse_options(options)
        self._store()

    def check_destination(self, options: Mapping[str, Any], destination: str) -> None:
        """The options must name the chamber they are set on: otherwise its filings would land in
        another chamber's inbox."""
        slug = self.parse_options(options)["chamber_slug"]
        if slug != destination:
            raise InvalidConfig(f"inbox: option 'chamber_slug' names {slug!r}, not this chamber ({destination})")

    def deliver(self, payload: FilingPayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Put the filing into the chamber's inbox; a repeated delivery id yields the same item.

        Raises ``TemporaryFailure`` when the store cannot be written (e.g. database unavailable).
        """
        opts = self.parse_options(options)
        if payload.destination:
            # A mistyped option must never put a filing into another chamber's inbox.
            self.check_destination(opts, payload.destination)
        try:
            item_id = self._store().put(opts["chamber_slug"], payload)
        except InvalidConfig:
            raise
        except Exception as exc:  # the store is the portal's database: any error is worth a retry
            raise TemporaryFailure(f"inbox store failed: {exc}") from exc
        return DeliveryResult(receiver_ref=item_id, detail="in staff inbox")

    def deliver_message(self, payload: MessagePayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Nothing to carry: the chamber's staff read the company's messages in the portal, where
        they are from the moment they are written. (The portal sends no message deliveries to an
        inbox chamber; one made while the chamber used another adapter ends here.)"""
        self.parse_options(options)
        return DeliveryResult(receiver_ref=None, detail="in the portal inbox")
