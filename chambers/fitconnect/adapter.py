"""The ``fitconnect`` adapter: a sender for the FIT-Connect Submission API.

Flow of one ``deliver``: OAuth2 client credentials → ``GET /destinations/{id}`` (its
``encryptionKid``) → ``GET /destinations/{id}/keys/{kid}`` → ``POST /submissions`` →
``PUT /submissions/{id}/attachments/{attachmentId}`` per attachment (JWE, ``application/jose``) →
``PUT /submissions/{id}`` with ``encryptedMetadata`` and ``encryptedData``. The metadata is built
and validated against the published schema 1.0.0 before the first request.

Idempotency — how a retry or a takeover avoids a second submission:

* Everything the sender chooses is derived from the delivery id and therefore identical on every
  attempt: the announced attachment ids (UUIDv4 layout, ``crypto.derived_uuid4``), the data
  document (it carries ``delivery_id``) and ``additionalReferenceInfo.senderReference``.
* Right after ``POST /submissions`` the adapter records the submission and case id as the
  delivery's progress (``payload.progress``, kept by the portal under the worker's lease), and
  after each attachment upload the attachment's id and authentication tag. A later attempt — a
  retry, or another worker taking over after this one died or stalled past its lease — finds
  them and continues that submission: it reads the case's event log (a verified
  ``submit-submission`` means it was submitted: delivered, nothing sent), uploads only the
  attachments not recorded, and submits. The public Submission API documents no idempotency key,
  so this is what keeps a delivery service that ignores ``Idempotency-Key`` at one submission.
  If the recorded submission is gone (404/410, or deleted unsubmitted, e.g. expired), a new one
  is created and recorded. An attempt that lost its lease cannot record (``Superseded``) and
  stops before it uploads or submits anything more.
* ``POST /submissions`` also carries ``Idempotency-Key: <delivery_id>``. A delivery service that
  deduplicates answers a repeated key with the submission it already created (our reference
  receiver answers 200 instead of 201); this covers a ``POST`` answer lost before the id could
  be recorded. The adapter then checks the event log as above.
* A 409 on an upload or the final ``PUT`` means "already submitted" and counts as delivered.

What remains: with a service that ignores ``Idempotency-Key``, a ``POST`` whose answer was lost
(or whose id could not be recorded) leaves an incomplete submission behind that no attempt
submits; the service deletes it later and the subscriber never sees it.

Apart from that progress the adapter keeps no state between calls; ``receiver_ref`` is
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

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import RSAKey

from ..base import (
    Adapter,
    ChamberEvent,
    DeliveryResult,
    FilingPayload,
    InvalidConfig,
    MessagePayload,
    OptionField,
    PermanentFailure,
    Progress,
    TemporaryFailure,
)
from ..wire import (
    check_attachments,
    document_attachment,
    format_option,
    message_to_dict,
    payload_to_dict,
    to_json_bytes,
    xml_document,
)
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

log = logging.getLogger(__name__)

DEFAULT_SCHEMA_URI = "urn:bizportal:schema:filing:1.0"
DEFAULT_MESSAGE_SCHEMA_URI = "urn:bizportal:schema:message:1.0"
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


#: event kinds that show a submission was submitted (decisions come only after the submit)
_SUBMITTED = frozenset(k for k in EVENT_KINDS.values() if k and k not in ("notified", "deleted"))
_TAG_RE = re.compile(r"[A-Za-z0-9_-]{22}")  # base64url of a 128-bit AES-GCM tag


class _SubmissionGone(Exception):
    """The submission an earlier attempt recorded no longer exists at the delivery service."""


@dataclass(frozen=True)
class _Document:
    """What every attempt of one delivery sends: the same data, metadata and attachment ids."""

    data: bytes
    metadata: Mapping[str, Any]
    attachment_ids: list[str]


@dataclass
class _Submission:
    """The submission of a delivery and what has been uploaded into it (attachment id → tag).

    Recorded as the delivery's progress: ``{"submission_id", "case_id", "uploaded"}``.
    """

    submission_id: str
    case_id: str
    uploaded: dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"case:{self.case_id}/submission:{self.submission_id}"

    def record(self, progress: Progress) -> None:
        """Keep this state as the delivery's progress (raises what ``Progress.record`` raises)."""
        progress.record(
            {
                "submission_id": self.submission_id,
                "case_id": self.case_id,
                "uploaded": dict(self.uploaded),
            }
        )

    @classmethod
    def recorded(cls, progress: Mapping[str, Any], attachment_ids: list[str]) -> _Submission | None:
        """The submission an earlier attempt recorded, or ``None`` (nothing, or not ours: a
        progress this adapter did not write is ignored, and a new submission is created)."""
        if not progress:
            return None
        try:
            sub = cls(
                str(uuid.UUID(progress["submission_id"])),
                str(uuid.UUID(progress["case_id"])),
                {
                    str(a): t
                    for a, t in dict(progress.get("uploaded") or {}).items()
                    if a in attachment_ids and isinstance(t, str) and _TAG_RE.fullmatch(t)
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("fitconnect: ignoring unusable recorded progress %r", dict(progress))
            return None
        return sub


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
            "xml_schema_uri",
            str,
            required=False,
            help="Schema URI of the XGewerbeanzeige data (format 'xml'); default: the "
            "XGewerbeanzeige 2.2 namespace http://www.xgewerbeanzeige.de/spezifikation/2.2",
        ),
        format_option(),
        OptionField(
            "message_schema_uri",
            str,
            required=False,
            default=DEFAULT_MESSAGE_SCHEMA_URI,
            help="Schema URI of the JSON data of the company's answers (follow-up submissions)",
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
    forwards_messages = True

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

        Guarantees: nothing is sent unless the metadata validates against schema 1.0.0; the
        submission id is recorded in ``payload.progress`` right after the submission is created,
        and each attachment once it is uploaded, so a later attempt (retry or takeover) continues
        that submission, uploads only what is missing and never creates or submits a second one;
        a retry with the same delivery id also reuses the submission a deduplicating delivery
        service already holds. A recorded submission the service no longer knows (404/410, or
        deleted without having been submitted) is replaced by a new one, which is recorded.
        Raises ``PermanentFailure`` for invalid metadata, a service without LeiKa key,
        attachments that do not match their checksum and other 4xx; ``TemporaryFailure`` for
        network errors, connect timeouts, 5xx/429 and progress that could not be recorded
        (``NoAnswer`` when a request went out and got no answer within ``timeout_seconds``);
        ``InvalidConfig`` for refused credentials, an unknown or inactive destination, or an
        unusable destination key; ``Superseded`` when another attempt has taken the delivery over.

        The option ``format``: ``"json"`` (default) sends ``payload_to_dict`` as the data under
        ``submission_schema_uri``; ``"xml"`` sends the filing's XGewerbeanzeige 2.2 message as the
        data (metadata ``submissionSchema``: ``mimeType`` ``application/xml``, ``schemaUri``
        ``xml_schema_uri`` or the XGewerbeanzeige 2.2 namespace); ``"both"`` sends the JSON data
        and the message as one more attachment (``xgewerbeanzeige.xml``, purpose
        ``attachment``). A filing without such a message (another service) is sent as JSON and
        the result's detail says so.
        """
        opts = self.parse_options(options)
        check_attachments(payload)
        xml, note = xml_document(payload, opts["format"])
        if xml is not None and opts["format"] == "xml":
            schema_uri = opts["xml_schema_uri"] or xml.schema_uri
            result = self._submit(payload, opts, xml.content, schema_uri, None, xml.media_type)
        else:
            if xml is not None:  # "both": the message goes along as an attachment
                payload = replace(
                    payload, attachments=(*payload.attachments, document_attachment(xml))
                )
            data = to_json_bytes(
                {
                    "$schema": opts["submission_schema_uri"],
                    **payload_to_dict(payload, include_content=False),
                }
            )
            result = self._submit(payload, opts, data, opts["submission_schema_uri"], None)
        return replace(result, detail=f"{result.detail}; {note}") if note else result

    def deliver_message(self, payload: MessagePayload, options: Mapping[str, Any]) -> DeliveryResult:
        """Send the company's message as a follow-up submission in the filing's case.

        The case is the one the filing's submission opened (from ``filing_receiver_ref``); the
        request names it as ``caseId``, so the destination sees the answer in the same case. The
        data document is ``message_to_dict`` (without file content) under
        ``message_schema_uri``; the files are the submission's attachments. Same flow, progress
        and errors as ``deliver``; ``PermanentFailure`` if the filing's case is not known.
        """
        opts = self.parse_options(options)
        match = _REF_RE.fullmatch(payload.filing_receiver_ref or "")
        if match is None:
            raise PermanentFailure(
                f"fitconnect: the filing {payload.reference} has no FIT-Connect case to answer in "
                f"(receiver reference {payload.filing_receiver_ref!r})"
            )
        check_attachments(payload)
        data = to_json_bytes(
            {"$schema": opts["message_schema_uri"], **message_to_dict(payload, include_content=False)}
        )
        sendable = FilingPayload(
            delivery_id=payload.delivery_id,
            reference=payload.reference,
            service_key=payload.service_key,
            service_title=payload.service_title,
            leika=payload.leika,
            company=payload.company,
            submitted_at=payload.sent_at,
            data={},
            destination_role=payload.destination_role,
            destination=payload.destination,
            attachments=payload.attachments,
            progress=payload.progress,
        )
        return self._submit(sendable, opts, data, opts["message_schema_uri"], match.group(1).lower())

    def _submit(
        self,
        payload: FilingPayload,
        opts: Mapping[str, Any],
        data: bytes,
        schema_uri: str,
        case_id: str | None,
        data_media_type: str = "application/json",
    ) -> DeliveryResult:
        """One submission of ``data`` (of ``data_media_type``) and the payload's attachments (in
        the case ``case_id``, or a new one): create or continue, upload, submit (see ``deliver``)."""
        attachment_ids = [
            derived_uuid4(payload.delivery_id, f"attachment/{i}")
            for i in range(len(payload.attachments))
        ]
        metadata = build_metadata(payload, data, attachment_ids, schema_uri, data_media_type)
        validate_metadata(metadata)
        doc = _Document(data, metadata, attachment_ids)

        api = SubmissionApi(opts)
        try:
            api.authenticate()
            key = self._destination_key(api, opts)
            recorded = _Submission.recorded(payload.progress.recorded, attachment_ids)
            if recorded is not None:
                try:
                    return self._continue(api, opts, payload, key, doc, recorded)
                except _SubmissionGone as gone:
                    log.warning(
                        "fitconnect: delivery %s: submission %s is gone (%s); creating a new one",
                        payload.delivery_id,
                        recorded.submission_id,
                        gone,
                    )
            submission_id, new_case_id, replayed = self._create(
                api, opts, payload, attachment_ids, case_id
            )
            sub = _Submission(submission_id, new_case_id)
            sub.record(payload.progress)
            if replayed and self._status(api, opts, sub) == "submitted":
                return DeliveryResult(
                    receiver_ref=sub.ref, detail="already submitted (earlier attempt)"
                )
            return self._finish(api, payload, key, doc, sub, continuing=False)
        finally:
            api.close()

    def _continue(
        self,
        api: SubmissionApi,
        opts: Mapping[str, Any],
        payload: FilingPayload,
        key: tuple[RSAKey, str],
        doc: _Document,
        sub: _Submission,
    ) -> DeliveryResult:
        """Finish the submission an earlier attempt recorded; raises ``_SubmissionGone``."""
        status = self._status(api, opts, sub, gone_ok=True)
        if status == "submitted":
            return DeliveryResult(receiver_ref=sub.ref, detail="already submitted (earlier attempt)")
        if status == "gone":
            raise _SubmissionGone("deleted before it was submitted")
        return self._finish(api, payload, key, doc, sub, continuing=True)

    def _finish(
        self,
        api: SubmissionApi,
        payload: FilingPayload,
        key: tuple[RSAKey, str],
        doc: _Document,
        sub: _Submission,
        continuing: bool,
    ) -> DeliveryResult:
        """Upload the attachments ``sub`` lacks (recording each), then submit.

        A 404/410 raises ``_SubmissionGone`` when ``continuing`` a recorded submission (else it is
        a ``PermanentFailure``, as any other 4xx); a 409 means the submission was submitted.
        """
        gone = (404, 410) if continuing else ()
        already = DeliveryResult(receiver_ref=sub.ref, detail="already submitted (HTTP 409)")
        for att, att_id in zip(payload.attachments, doc.attachment_ids, strict=True):
            if att_id in sub.uploaded:  # an earlier attempt uploaded it (recorded after the 2xx)
                continue
            encrypted = encrypt(key[0], key[1], att.content)
            response = api.call(
                "PUT",
                f"/submissions/{sub.submission_id}/attachments/{att_id}",
                (200, 204, *gone),
                what=f"attachment upload {att.filename!r}",
                data=encrypted.encode("ascii"),
                headers={"Content-Type": "application/jose"},
            )
            if response.status_code in gone:
                raise _SubmissionGone(f"attachment upload answered HTTP {response.status_code}")
            if response.status_code == 409:
                return already
            sub.uploaded[att_id] = _tag(encrypted)
            sub.record(payload.progress)
        body = {
            "encryptedMetadata": encrypt(key[0], key[1], to_json_bytes(doc.metadata)),
            "encryptedData": encrypt(key[0], key[1], doc.data),
        }
        sent = tags_digest(
            {
                "metadata": _tag(body["encryptedMetadata"]),
                "data": _tag(body["encryptedData"]),
                "attachments": {a: sub.uploaded[a] for a in doc.attachment_ids},
            }
        )
        response = api.call(
            "PUT",
            f"/submissions/{sub.submission_id}",
            (200, 202, *gone),
            what="submit",
            **api.json_body(body),
        )
        if response.status_code in gone:
            raise _SubmissionGone(f"submit answered HTTP {response.status_code}")
        if response.status_code == 409:
            return already
        return DeliveryResult(receiver_ref=f"{sub.ref}/tags:{sent}", detail="submitted to FIT-Connect")

    def _create(
        self,
        api: SubmissionApi,
        opts: Mapping[str, Any],
        payload: FilingPayload,
        attachment_ids: list[str],
        case_id: str | None = None,
    ) -> tuple[str, str, bool]:
        """POST /submissions → (submissionId, caseId, whether the server replayed an old one).
        With ``case_id`` the submission joins that case (a follow-up to an earlier one)."""
        request: dict[str, Any] = {
            "destinationId": opts["destination_id"],
            "announcedAttachments": attachment_ids,
            "serviceType": {
                "identifier": service_identifier(payload),
                "name": payload.service_title,
            },
        }
        if case_id is not None:
            request["caseId"] = case_id
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

    def _status(
        self,
        api: SubmissionApi,
        opts: Mapping[str, Any],
        sub: _Submission,
        gone_ok: bool = False,
    ) -> str:
        """What the verified event log says of ``sub``: ``"submitted"`` (submitted, or decided
        since), ``"gone"`` (deleted without having been submitted) or ``"open"``. With ``gone_ok``
        an event log the service no longer has (404/410) raises ``_SubmissionGone``."""
        kinds = {e.kind for e in self._events(api, opts, sub.submission_id, sub.case_id, gone_ok=gone_ok)}
        if kinds & _SUBMITTED:
            return "submitted"
        return "gone" if "deleted" in kinds else "open"

    def _events(
        self,
        api: SubmissionApi,
        opts: Mapping[str, Any],
        submission_id: str,
        case_id: str,
        sent_tags: str | None = None,
        gone_ok: bool = False,
    ) -> list[ChamberEvent]:
        if gone_ok:
            response = api.call(
                "GET",
                f"/cases/{case_id}/events",
                (200, 404, 410),
                what="event log",
                headers={"Accept": "application/json"},
            )
            if response.status_code in (404, 410):
                raise _SubmissionGone(f"event log answered HTTP {response.status_code}")
            if response.status_code != 200:
                api.fail(response, "event log")
            try:
                doc = response.json()
            except ValueError:
                raise TemporaryFailure("fitconnect: event log: answer is not JSON") from None
        else:
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
