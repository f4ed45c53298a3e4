"""The ``inbox`` adapter: the filing appears in the chamber's staff inbox inside the portal.

Optionally the chamber's own system is told (a push for the chamber API's clients): with
``notify_url`` and ``notify_secret`` each new filing, and each company message, is announced by a
signed POST (signed like webhook deliveries, ``chambers.webhook.post_signed``) carrying the
reference and what arrived, never the content; the system then pulls it through the API. The
notification is part of the delivery: it is retried, ends dead and is re-sent like any delivery,
and the inbox item is stored once however often it is repeated.
"""

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
from ..webhook.adapter import post_signed
from ..wire import iso_utc, to_json_bytes


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
        OptionField(
            "notify_url",
            str,
            required=False,
            format="https_url",
            http_allowed_by="allow_insecure_http",
            help="Optional: HTTPS endpoint of the chamber's system, told of each new filing and answer",
        ),
        OptionField(
            "notify_secret",
            str,
            required=False,
            secret=True,
            min_length=16,
            help="Shared secret for the notifications' signature (at least 16 characters)",
        ),
        OptionField(
            "timeout_seconds",
            int,
            required=False,
            default=10,
            min=1,
            max=120,
            help="Seconds to wait for the notification's answer (1-120)",
        ),
        OptionField(
            "allow_insecure_http",
            bool,
            required=False,
            default=False,
            help="Allow a plain http notify_url (only for tests and local networks)",
        ),
    )
    answer_timeout_option = "timeout_seconds"

    def parse_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The schema's checks, plus: ``notify_url`` and ``notify_secret`` go together."""
        opts = super().parse_options(options)
        if bool(opts["notify_url"]) != bool(opts["notify_secret"]):
            raise InvalidConfig("inbox: options 'notify_url' and 'notify_secret' go together")
        return opts

    def sends_messages(self, options: Mapping[str, Any]) -> bool:
        """Only with a push: the staff read messages in the portal anyway."""
        return bool(self.parse_options(options)["notify_url"])

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
        if opts["notify_url"]:
            self._notify(opts, str(payload.delivery_id), "filing", {
                "type": "filing", "reference": payload.reference, "service_key": payload.service_key,
                "destination_role": payload.destination_role, "submitted_at": iso_utc(payload.submitted_at)})
            return DeliveryResult(receiver_ref=item_id, detail="in staff inbox; the chamber's system was told")
        return DeliveryResult(receiver_ref=item_id, detail="in staff inbox")

    @staticmethod
    def _notify(opts: Mapping[str, Any], key: str, event: str, doc: Mapping[str, Any]) -> None:
        post_signed(opts["notify_url"], opts["notify_secret"], opts["timeout_seconds"], to_json_bytes(doc), key,
                    event)

    def deliver_message(self, payload: MessagePayload, options: Mapping[str, Any]) -> DeliveryResult:
        """The chamber's staff read the company's messages in the portal, where they are from the
        moment they are written: with a push configured the chamber's system is told (the portal
        makes message deliveries for an inbox chamber only then, see ``sends_messages``); without
        one there is nothing to carry (a delivery made while the chamber used another adapter)."""
        opts = self.parse_options(options)
        if opts["notify_url"]:
            self._notify(opts, str(payload.delivery_id), "message", {
                "type": "message", "kind": payload.kind, "reference": payload.reference,
                "message_id": payload.message_id, "sent_at": iso_utc(payload.sent_at)})
            return DeliveryResult(receiver_ref=None, detail="in the portal inbox; the chamber's system was told")
        return DeliveryResult(receiver_ref=None, detail="in the portal inbox")
