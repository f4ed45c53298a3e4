"""The ``fitconnect`` adapter: a sender for the FIT-Connect Submission API.

Flow of one ``deliver``: OAuth2 client credentials → ``GET /destinations/{id}`` (its
``encryptionKid``) → ``GET /destinations/{id}/keys/{kid}`` → ``POST /submissions`` →
``PUT /submissions/{id}/attachments/{attachmentId}`` per attachment (JWE, ``application/jose``) →
``PUT /submissions/{id}`` with ``encryptedMetadata`` and ``encryptedData``. The metadata is built
and validated against the published schema 1.0.0 before the first request.

Idempotency — how a retry avoids a second submission:

* Everything the sender chooses is derived from the delivery id and therefore identical on every
  attempt: the announced attachment ids (UUIDv4 layout, ``crypto.derived_uuid4``), the data
  document (it carries ``delivery_id``) and ``additionalReferenceInfo.senderReference``.
* ``POST /submissions`` carries ``Idempotency-Key: <delivery_id>``. A delivery service that
  deduplicates answers a repeated key with the submission it already created (our reference
  receiver answers 200 instead of 201). The adapter then reads the case's event log; if a verified
  ``submit-submission`` for that submission exists, the earlier attempt completed and the adapter
  returns without sending anything. Otherwise it finishes the same submission (re-uploading an
  attachment replaces it; the submission id stays the same).
* A 409 on the final ``PUT`` means "already submitted" and counts as delivered.

The public FIT-Connect API documents no idempotency key for ``POST /submissions``: a delivery
service that ignores the header creates a new submission when a ``POST`` answer was lost. The
subscriber can still drop the copy, since both carry the same delivery id and attachment ids.

The adapter keeps no state between calls; ``receiver_ref`` is
``case:<caseId>/submission:<id>/tags:<digest>``, which ``poll`` reads back. ``digest``
(``events.tags_digest``) fingerprints the AES-GCM authentication tags of the encrypted metadata,
data and attachments this attempt sent; ``poll`` refuses a ``submit-submission`` (and an accept or
reject carrying tags) whose ``authenticationTags`` differ. A submission completed by an earlier
attempt whose answer was lost has no digest (``case:…/submission:…``, tags not compared).

Event-log trust (see ``events``): ``delivery_service_jwks`` and ``delivery_service_issuer`` for
create/submit/notify/forward/delete (and a reject of an undeliverable submission),
``destination_signing_jwks`` and ``iss`` = ``destination_id`` for accept/reject. The former single
option ``event_signing_jwks`` could not tell the two apart and is refused with a message saying so.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import RSAKey

from ..base import (
    Adapter,
    ChamberEvent,
    DeliveryResult,
    FilingPayload,
    InvalidConfig,
    OptionField,
    PermanentFailure,
    TemporaryFailure,
)
from ..wire import check_attachments, payload_to_dict, to_json_bytes
from .api import SubmissionApi
from .crypto import derived_uuid4, destination_key, encrypt
from .events import (
    DELIVERY_SERVICE,
    DESTINATION,
    EVENT_KINDS,
    Issuer,
    Trust,
    chamber_events,
    parse_jwks,
    tags_digest,
)
from .metadata import build_metadata, service_identifier, validate_metadata

__all__ = ["FitConnectAdapter"]

DEFAULT_SCHEMA_URI = "urn:bizportal:schema:filing:1.0"
_REF_RE = re.compile(
    r"case:([0-9a-fA-F-]{36})/submission:([0-9a-fA-F-]{36})(?:/tags:([A-Za-z0-9_-]{43}))?"
)
#: the option that held both parties' keys before they were separated
LEGACY_JWKS_OPTION = "event_signing_jwks"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _tag(jwe_compact: str) -> str:
    """The authentication tag of a JWE compact serialisation (its fifth part)."""
    return jwe_compact.rsplit(".", 1)[-1]


class FitConnectAdapter(Adapter):
    """Sends filings end-to-end encrypted through FIT-Connect and reads the signed event log."""

    key = "fitconnect"
    label = "FIT-Connect"
    options_schema = (
        OptionField(
            "submission_api_url",
            str,
            format="https_url",
            http_allowed_by="allow_insecure_http",
            help="Base URL of the Submission API, including /v1",
        ),
        OptionField(
            "token_url",
            str,
            format="https_url",
            http_allowed_by="allow_insecure_http",
            help="OAuth2 token endpoint of the FIT-Connect auth server",
        ),
        OptionField("client_id", str, help="Sender client id"),
        OptionField("client_secret", str, secret=True, help="Sender client secret"),
        OptionField(
            "destination_id",
            str,
            format="uuid",
            help="Destination (Zustellpunkt) UUID of the chamber",
        ),
        OptionField(
            "delivery_service_jwks",
            str,
            check=parse_jwks,
            help="JWKS (JSON) of the delivery service's event signing keys (its "
            "/.well-known/jwks.json); they sign create, submit, notify, forward, delete",
        ),
        OptionField(
            "destination_signing_jwks",
            str,
            check=parse_jwks,
            help="JWKS (JSON) of the destination's signature keys; only they may sign "
            "accept-submission and reject-submission",
        ),
        OptionField(
            "delivery_service_issuer",
            str,
            required=False,
            help="The 'iss' of the delivery service's event tokens; default: scheme and host "
            "of submission_api_url",
        ),
        OptionField(
            "submission_schema_uri",
            str,
            required=False,
            default=DEFAULT_SCHEMA_URI,
            help="Schema URI of the JSON data, as the destination lists it",
        ),
        OptionField(
            "scope", str, required=False, help="OAuth2 scope, if the auth server wants one"
        ),
        OptionField(
            "timeout_seconds",
            int,
            required=False,
            default=30,
            min=1,
            max=120,
            help="Seconds to wait for each request (1-120)",
        ),
        OptionField(
            "allow_insecure_http",
            bool,
            required=False,
            default=False,
            help="Allow plain http URLs (only for tests)",
        ),
    )
    answer_timeout_option = "timeout_seconds"

    def parse_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The schema's checks, plus: the former ``event_signing_jwks`` is refused with a message
        naming its replacements, and ``delivery_service_issuer`` defaults to the origin of
        ``submission_api_url``. Raises ``InvalidConfig``."""
        if isinstance(options, Mapping) and LEGACY_JWKS_OPTION in options:
            raise InvalidConfig(
                f"fitconnect: option '{LEGACY_JWKS_OPTION}' is no longer used: put the delivery "
                "service's keys into 'delivery_service_jwks' and the destination's signature keys "
                "into 'destination_signing_jwks' (an accept or reject must be signed by the "
                "destination, which one key set for both cannot ensure)"
            )
        opts = super().parse_options(options)
        if not opts.get("delivery_service_issuer"):
            opts["delivery_service_issuer"] = _origin(opts["submission_api_url"])
        return opts

    def check_config(self, options: Mapping[str, Any] | None) -> None:
        """Validate the options, then ping: get a token and fetch the destination and its key.

        Raises ``InvalidConfig`` for anything that would stop a delivery, including an unreachable
        or failing server (with the underlying reason).
        """
        opts = self.parse_options(options)
        api = SubmissionApi(opts)
        try:
            api.authenticate()
            self._destination_key(api, opts)
        except (TemporaryFailure, PermanentFailure) as exc:  # report to the admin as config
            raise InvalidConfig(f"fitconnect: check failed: {exc}") from exc
        finally:
            api.close()

    def _destination_key(self, api: SubmissionApi, opts: Mapping[str, Any]) -> tuple[RSAKey, str]:
        dest_id = opts["destination_id"]
        destination = api.get_json(f"/destinations/{dest_id}", what="destination")
        if not isinstance(destination, dict) or not isinstance(
            destination.get("encryptionKid"), str
        ):
            raise InvalidConfig("fitconnect: destination has no encryptionKid")
        if destination.get("status", "active") != "active":
            raise InvalidConfig(
                f"fitconnect: destination is {destination.get('status')}, not active"
            )
        kid = destination["encryptionKid"]
        jwk = api.get_json(f"/destinations/{dest_id}/keys/{kid}", what="destination key")
        return destination_key(jwk, kid), kid

    def deliver(self, payload: FilingPayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Send the filing as one FIT-Connect submission (see the module docstring for the flow).

        Guarantees: nothing is sent unless the metadata validates against schema 1.0.0; a retry
        with the same delivery id reuses the submission a deduplicating delivery service already
        holds and never submits it twice. Raises ``PermanentFailure`` for invalid metadata, a
        service without LeiKa key, attachments that do not match their checksum and other 4xx;
        ``TemporaryFailure`` for network errors, connect timeouts, 5xx/429 (``NoAnswer`` when a
        request went out and got no answer within ``timeout_seconds``); ``InvalidConfig`` for refused
        credentials, an unknown or inactive destination, or an unusable destination key.
        """
        opts = self.parse_options(options)
        check_attachments(payload)
        data = to_json_bytes(
            {
                "$schema": opts["submission_schema_uri"],
                **payload_to_dict(payload, include_content=False),
            }
        )
        attachment_ids = [
            derived_uuid4(payload.delivery_id, f"attachment/{i}")
            for i in range(len(payload.attachments))
        ]
        metadata = build_metadata(payload, data, attachment_ids, opts["submission_schema_uri"])
        validate_metadata(metadata)

        api = SubmissionApi(opts)
        try:
            api.authenticate()
            key, kid = self._destination_key(api, opts)
            submission_id, case_id, replayed = self._create(api, opts, payload, attachment_ids)
            ref = f"case:{case_id}/submission:{submission_id}"
            if replayed and self._already_submitted(api, opts, submission_id, case_id):
                return DeliveryResult(
                    receiver_ref=ref, detail="already submitted (earlier attempt)"
                )
            attachment_tags = {}
            for att, att_id in zip(payload.attachments, attachment_ids, strict=True):
                encrypted = encrypt(key, kid, att.content)
                attachment_tags[att_id] = _tag(encrypted)
                api.call(
                    "PUT",
                    f"/submissions/{submission_id}/attachments/{att_id}",
                    (200, 204),
                    what=f"attachment upload {att.filename!r}",
                    data=encrypted.encode("ascii"),
                    headers={"Content-Type": "application/jose"},
                )
            body = {
                "encryptedMetadata": encrypt(key, kid, to_json_bytes(metadata)),
                "encryptedData": encrypt(key, kid, data),
            }
            sent = tags_digest(
                {
                    "metadata": _tag(body["encryptedMetadata"]),
                    "data": _tag(body["encryptedData"]),
                    "attachments": attachment_tags,
                }
            )
            response = api.call(
                "PUT",
                f"/submissions/{submission_id}",
                (200, 202),
                what="submit",
                **api.json_body(body),
            )
        finally:
            api.close()
        if response.status_code == 409:
            return DeliveryResult(receiver_ref=ref, detail="already submitted (HTTP 409)")
        return DeliveryResult(receiver_ref=f"{ref}/tags:{sent}", detail="submitted to FIT-Connect")

    def _create(
        self,
        api: SubmissionApi,
        opts: Mapping[str, Any],
        payload: FilingPayload,
        attachment_ids: list[str],
    ) -> tuple[str, str, bool]:
        """POST /submissions → (submissionId, caseId, whether the server replayed an old one)."""
        request = {
            "destinationId": opts["destination_id"],
            "announcedAttachments": attachment_ids,
            "serviceType": {
                "identifier": service_identifier(payload),
                "name": payload.service_title,
            },
        }
        kwargs = api.json_body(request)
        kwargs["headers"]["Idempotency-Key"] = str(payload.delivery_id)
        response = api.call("POST", "/submissions", (200, 201), what="create submission", **kwargs)
        if response.status_code == 409:
            api.fail(response, "create submission")
        try:
            doc = response.json()
            submission_id = str(uuid.UUID(doc["submissionId"]))
            case_id = str(uuid.UUID(doc["caseId"]))
        except (ValueError, KeyError, TypeError):
            raise PermanentFailure(
                "fitconnect: create submission: answer lacks submissionId/caseId"
            ) from None
        return submission_id, case_id, response.status_code == 200

    def _already_submitted(
        self, api: SubmissionApi, opts: Mapping[str, Any], submission_id: str, case_id: str
    ) -> bool:
        events = self._events(api, opts, submission_id, case_id)
        done = {k for k in EVENT_KINDS.values() if k and k != "notified"}
        return any(e.kind in done for e in events)

    def _events(
        self,
        api: SubmissionApi,
        opts: Mapping[str, Any],
        submission_id: str,
        case_id: str,
        sent_tags: str | None = None,
    ) -> list[ChamberEvent]:
        doc = api.get_json(f"/cases/{case_id}/events", what="event log")
        tokens = doc.get("eventLog") if isinstance(doc, dict) else None
        if not isinstance(tokens, list):
            raise PermanentFailure("fitconnect: event log answer has no eventLog list")
        return chamber_events(tokens, self._trust(opts), submission_id, case_id, sent_tags)

    @staticmethod
    def _trust(opts: Mapping[str, Any]) -> Trust:
        return Trust(
            delivery_service=Issuer(
                DELIVERY_SERVICE,
                opts["delivery_service_issuer"],
                parse_jwks(opts["delivery_service_jwks"]),
            ),
            destination=Issuer(
                DESTINATION, opts["destination_id"], parse_jwks(opts["destination_signing_jwks"])
            ),
        )

    def poll(self, receiver_ref: str, options: Mapping[str, Any]) -> list[ChamberEvent]:
        """Verified status events of the submission named by ``receiver_ref``, oldest first.

        Reads ``GET /cases/{caseId}/events``; maps submit → received, forward → forwarded,
        notify → notified, accept → accepted, reject → rejected (detail from the RFC 7807
        problems), delete → deleted; the sender's own create event is left out. Each event's
        ``event_id`` is its ``jti``, returned at most once. Tokens that fail verification
        (``events.verify_set``: issuer bound to the event type, ``iss``, ``iat``), repeat a
        ``jti``, or carry ``authenticationTags`` other than the ones ``receiver_ref`` records are
        logged and ignored. Raises ``PermanentFailure`` for a malformed ``receiver_ref``,
        otherwise as ``deliver`` does.
        """
        match = _REF_RE.fullmatch(receiver_ref or "")
        if match is None:
            raise PermanentFailure(
                f"fitconnect: receiver_ref {receiver_ref!r} is not case:<id>/submission:<id>"
            )
        case_id, submission_id = match.group(1).lower(), match.group(2).lower()
        opts = self.parse_options(options)
        api = SubmissionApi(opts)
        try:
            api.authenticate()
            return self._events(api, opts, submission_id, case_id, match.group(3))
        finally:
            api.close()
