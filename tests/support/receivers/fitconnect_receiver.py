"""A reference FIT-Connect delivery service plus subscriber, on loopback HTTP.

It behaves as the Submission API does for a sender and checks what a subscriber checks: issues
bearer tokens for client credentials, serves the destination and its public encryption key,
decrypts every JWE with the destination's private key (refusing other alg/enc/kid), validates the
metadata against schema 1.0.0 and the sha512 hashes of data and attachments, records submissions,
deduplicates ``POST /submissions`` on ``Idempotency-Key`` (200 with the earlier submission), and
signs its event log (PS512 SETs) as FIT-Connect does: create/submit/notify/forward/delete with the
delivery service's key and ``iss`` = its URL, accept/reject with the destination's signature key
and ``iss`` = the destination id; a submit event names the ``authenticationTags`` of what arrived.
``faults`` switches misbehaviour on per operation: an HTTP status (answered once),
``"drop-after-store"`` (do the work, then close the line without an answer), a float (do the
work, then answer only after that many seconds, every time) or ``"hang"`` (wait until ``release``
is set, then do the work and answer: a sender that stalls meanwhile). With
``honour_idempotency_key`` off it behaves like the public Submission API, which documents no
idempotency key: every ``POST /submissions`` creates a new submission. ``expire`` deletes an
incomplete submission as the delivery service does when nobody submits it in time.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from joserfc import jwe, jws
from joserfc.jwe import JWERegistry
from joserfc.jwk import RSAKey
from jsonschema import Draft202012Validator

from .loopback import QuietHandler, base_url, serve

EVENT_PREFIX = "https://schema.fitko.de/fit-connect/events/"
_SCHEMA = json.loads(
    resources.files("chambers.fitconnect")
    .joinpath("metadata.schema.v1.0.0.json")
    .read_text(encoding="utf-8")
)
_REGISTRY = JWERegistry(algorithms=["RSA-OAEP-256", "A256GCM"])
_REGISTRY.max_ciphertext_length = 64 * 1024 * 1024


@dataclass
class Keys:
    encryption: RSAKey  # the destination's key pair (4096 bit)
    signing: RSAKey  # the delivery service's SET signing key
    forger: RSAKey  # a key nobody trusts
    destination_signing: RSAKey  # the destination's SET signing key (accept/reject)


#: events the destination (the receiving system) issues; the delivery service issues the others
DESTINATION_EVENTS = ("accept-submission", "reject-submission")


@dataclass
class FitConnectState:
    keys: Keys
    client_id: str = "portal-sender"
    client_secret: str = "portal-sender-secret"
    destination_id: str = "7d6f8c1a-5b2e-4f3d-9a8b-1c2d3e4f5a6b"
    faults: dict[str, Any] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    submissions: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    events: dict[str, list[str]] = field(default_factory=dict)
    creates: int = 0
    uploads: int = 0  #: attachment uploads stored
    submits: int = 0  #: submissions submitted (accepted PUT /submissions/{id})
    honour_idempotency_key: bool = True
    release: threading.Event = field(default_factory=threading.Event)  #: ends a "hang" fault
    issuer: str = ""  # the delivery service's iss; set to the base URL when serving
    lock: threading.RLock = field(default_factory=threading.RLock)
    gone_cases: set[str] = field(default_factory=set)

    @property
    def kid(self) -> str:
        return self.keys.encryption.kid

    def public_jwk(self) -> dict[str, Any]:
        return {
            **self.keys.encryption.as_dict(private=False),
            "alg": "RSA-OAEP-256",
            "use": "enc",
            "key_ops": ["wrapKey"],
        }

    def signing_jwks(self) -> str:
        """The delivery service's JWKS (its /.well-known/jwks.json)."""
        return json.dumps({"keys": [{**self.keys.signing.as_dict(private=False), "alg": "PS512"}]})

    def destination_jwks(self) -> str:
        """The destination's signature keys."""
        key = self.keys.destination_signing
        return json.dumps({"keys": [{**key.as_dict(private=False), "alg": "PS512"}]})

    def submitted(self) -> list[dict[str, Any]]:
        return [s for s in self.submissions.values() if s["status"] == "submitted"]

    def issue(
        self,
        sid: str,
        name: str,
        payload: dict[str, Any] | None = None,
        key: RSAKey | None = None,
        **claims_override: Any,
    ) -> str:
        """Append a signed SET about submission ``sid`` to its case's event log.

        By default signed by whoever issues ``name`` in FIT-Connect, with that party's ``iss``;
        ``key`` and ``claims_override`` (e.g. ``iss``, ``iat``, ``jti``) forge the rest.
        """
        by_destination = name in DESTINATION_EVENTS
        if key is None:
            key = self.keys.destination_signing if by_destination else self.keys.signing
        sub = self.submissions[sid]
        claims = {
            "jti": str(uuid.uuid4()),
            "iss": self.destination_id if by_destination else self.issuer,
            "iat": int(time.time()),
            "sub": f"submission:{sid}",
            "txn": f"case:{sub['caseId']}",
            "events": {EVENT_PREFIX + name: payload or {}},
            **claims_override,
        }
        token = jws.serialize_compact(
            {"typ": "secevent+jwt", "alg": "PS512", "kid": key.kid},
            json.dumps(claims).encode(),
            key,
            algorithms=["PS512"],
        )
        self.append(sid, token)
        return token

    def append(self, sid: str, token: str) -> None:
        """Put ``token`` (again) into the event log of submission ``sid``'s case."""
        with self.lock:
            self.events.setdefault(self.submissions[sid]["caseId"], []).append(token)

    def expire(self, sid: str, *, log_event: bool = True) -> None:
        """Delete the incomplete submission ``sid`` (with a ``delete-submission`` event in its
        case's log if ``log_event``, else the whole log is gone too)."""
        with self.lock:
            case_id = self.submissions[sid]["caseId"]
            if log_event:
                self.issue(sid, "delete-submission")
            else:
                self.events.pop(case_id, None)
                self.gone_cases.add(case_id)
            del self.submissions[sid]
            for key in [k for k, v in self.by_key.items() if v == sid]:
                del self.by_key[key]

    def authentication_tags(self, sid: str) -> dict[str, Any]:
        """The tags of what arrived, as the delivery service names them in submit-submission."""
        return dict(self.submissions[sid]["tags"])

    def decrypt(self, value: str) -> bytes:
        obj = jwe.decrypt_compact(value, self.keys.encryption, registry=_REGISTRY)
        header = obj.protected
        assert (header["alg"], header["enc"], header["kid"]) == (
            "RSA-OAEP-256",
            "A256GCM",
            self.kid,
        )
        assert "zip" not in header
        return obj.plaintext


def _problem(status: int, title: str) -> tuple[int, bytes]:
    return status, json.dumps({"type": "about:blank", "title": title, "status": status}).encode()


class FitConnectHandler(QuietHandler):
    ROUTES = [
        ("POST", re.compile(r"/token"), "token"),
        ("GET", re.compile(r"/v1/destinations/([^/]+)"), "destination"),
        ("GET", re.compile(r"/v1/destinations/([^/]+)/keys/([^/]+)"), "key"),
        ("POST", re.compile(r"/v1/submissions"), "create"),
        ("PUT", re.compile(r"/v1/submissions/([^/]+)/attachments/([^/]+)"), "upload"),
        ("PUT", re.compile(r"/v1/submissions/([^/]+)"), "submit"),
        ("GET", re.compile(r"/v1/cases/([^/]+)/events"), "events"),
    ]

    def do_GET(self) -> None:  # noqa: N802
        self.route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self.route("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self.route("PUT")

    def route(self, method: str) -> None:
        state: FitConnectState = self.server.state
        body = self.read_body()
        found = [
            (op, m)
            for verb, pattern, op in self.ROUTES
            if verb == method and (m := pattern.fullmatch(self.path))
        ]
        if not found:
            return self.answer(*_problem(404, "no such endpoint"))
        ((op, match),) = found
        fault = state.faults.get(op)
        if isinstance(fault, int):
            del state.faults[op]
            return self.answer(*_problem(fault, f"injected fault on {op}"))
        if fault == "hang":
            del state.faults[op]
            state.release.wait(60)
        if op != "token" and self.headers.get("Authorization", "")[7:] not in state.tokens:
            return self.answer(*_problem(401, "missing or unknown bearer token"))
        try:
            status, answer, content_type = getattr(self, "op_" + op)(state, body, *match.groups())
        except Exception as exc:  # a check failed: tell the sender why, as a real server would
            status, answer = _problem(
                400, f"receiver refused the request: {type(exc).__name__}: {exc}"
            )
            content_type = "application/problem+json"
        if fault == "drop-after-store":
            del state.faults[op]
            return self.drop()
        if isinstance(fault, float):
            time.sleep(fault)
        self.answer(status, answer, content_type)

    def op_token(self, state: FitConnectState, body: bytes):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) != (
            "client_credentials",
            state.client_id,
            state.client_secret,
        ):
            return 401, b'{"error":"invalid_client"}', "application/json"
        token = secrets.token_urlsafe(24)
        state.tokens.add(token)
        return (
            200,
            json.dumps(
                {"access_token": token, "token_type": "Bearer", "expires_in": 1800}
            ).encode(),
            "application/json",
        )

    def op_destination(self, state: FitConnectState, body: bytes, dest: str):
        if dest != state.destination_id:
            return *_problem(404, "destination not found"), "application/problem+json"
        doc = {
            "destinationId": dest,
            "status": "active",
            "encryptionKid": state.kid,
            "metadataVersions": ["1.0.0"],
            "services": [{"identifier": "urn:de:fim:leika:leistung:99050012104000"}],
        }
        return 200, json.dumps(doc).encode(), "application/json"

    def op_key(self, state: FitConnectState, body: bytes, dest: str, kid: str):
        if dest != state.destination_id or kid != state.kid:
            return *_problem(404, "key not found"), "application/problem+json"
        return 200, json.dumps(state.public_jwk()).encode(), "application/json"

    def op_create(self, state: FitConnectState, body: bytes):
        doc = json.loads(body)
        if doc.get("destinationId") != state.destination_id:
            return *_problem(422, "destination unknown"), "application/problem+json"
        ident = doc.get("serviceType", {}).get("identifier", "")
        if not ident.startswith("urn:") or not all(
            uuid.UUID(a).version == 4 for a in doc["announcedAttachments"]
        ):
            return *_problem(
                422, "invalid serviceType or attachment ids"
            ), "application/problem+json"
        key = self.headers.get("Idempotency-Key")
        with state.lock:
            state.creates += 1
            if not state.honour_idempotency_key:
                key = None
            case_id = doc.get("caseId")
            if case_id is not None and not any(
                s["caseId"] == case_id for s in state.submissions.values()
            ):
                return *_problem(404, "case unknown"), "application/problem+json"
            if key and key in state.by_key:
                sid, status = state.by_key[key], 200
            else:
                sid, status = str(uuid.uuid4()), 201
                state.submissions[sid] = {
                    "submissionId": sid,
                    "caseId": case_id or str(uuid.uuid4()),
                    "announced": list(doc["announcedAttachments"]),
                    "serviceType": doc["serviceType"],
                    "attachments": {},
                    "status": "incomplete",
                }
                if key:
                    state.by_key[key] = sid
        sub = state.submissions[sid]
        if status == 201:
            state.issue(sid, "create-submission")
        answer = {
            "destinationId": state.destination_id,
            "submissionId": sid,
            "caseId": sub["caseId"],
        }
        return status, json.dumps(answer).encode(), "application/json"

    def op_upload(self, state: FitConnectState, body: bytes, sid: str, aid: str):
        sub = state.submissions.get(sid)
        if sub is None or aid not in sub["announced"]:
            return *_problem(404, "submission or attachment unknown"), "application/problem+json"
        if sub["status"] != "incomplete":
            return *_problem(409, "submission already submitted"), "application/problem+json"
        if self.headers.get("Content-Type") != "application/jose":
            return *_problem(
                415, "attachments must be application/jose"
            ), "application/problem+json"
        sub["attachments"][aid] = state.decrypt(body.decode("ascii"))
        sub.setdefault("attachment_tags", {})[aid] = body.decode("ascii").rsplit(".", 1)[-1]
        with state.lock:
            state.uploads += 1
        return 204, b"", "application/json"

    def op_submit(self, state: FitConnectState, body: bytes, sid: str):
        sub = state.submissions.get(sid)
        if sub is None:
            return *_problem(404, "submission unknown"), "application/problem+json"
        if sub["status"] != "incomplete":
            return *_problem(409, "submission already submitted"), "application/problem+json"
        doc = json.loads(body)
        metadata = json.loads(state.decrypt(doc["encryptedMetadata"]))
        data = state.decrypt(doc["encryptedData"])
        errors = list(Draft202012Validator(_SCHEMA).iter_errors(metadata))
        if errors:
            return *_problem(
                422, f"metadata invalid: {errors[0].message}"
            ), "application/problem+json"
        structure = metadata["contentStructure"]
        if structure["data"]["hash"]["content"] != hashlib.sha512(data).hexdigest():
            return *_problem(422, "data hash does not match"), "application/problem+json"
        listed = {a["attachmentId"]: a for a in structure["attachments"]}
        if set(listed) != set(sub["announced"]) or set(sub["attachments"]) != set(sub["announced"]):
            return *_problem(
                422, "attachments missing or not announced"
            ), "application/problem+json"
        for aid, content in sub["attachments"].items():
            if listed[aid]["hash"]["content"] != hashlib.sha512(content).hexdigest():
                return *_problem(422, f"attachment {aid} hash mismatch"), "application/problem+json"
        tags = {
            "metadata": doc["encryptedMetadata"].rsplit(".", 1)[-1],
            "data": doc["encryptedData"].rsplit(".", 1)[-1],
            "attachments": dict(sub.get("attachment_tags", {})),
        }
        with state.lock:
            if sub["status"] != "incomplete":
                return *_problem(409, "submission already submitted"), "application/problem+json"
            xml = structure["data"]["submissionSchema"]["mimeType"] == "application/xml"
            sub.update(status="submitted", metadata=metadata, data=data if xml else json.loads(data),
                       raw_data=data, tags=tags)
            state.submits += 1
        state.issue(sid, "submit-submission", {"authenticationTags": tags})
        answer = {
            "destinationId": state.destination_id,
            "submissionId": sid,
            "caseId": sub["caseId"],
        }
        return 202, json.dumps(answer).encode(), "application/json"

    def op_events(self, state: FitConnectState, body: bytes, case_id: str):
        if case_id in state.gone_cases:
            return *_problem(404, "case unknown"), "application/problem+json"
        with state.lock:
            log = list(state.events.get(case_id, []))
        return 200, json.dumps({"eventLog": log}).encode(), "application/json"


@contextmanager
def fitconnect_receiver(keys: Keys) -> Iterator[tuple[str, FitConnectState]]:
    """Yield (base URL, state) of a running reference delivery service."""
    state = FitConnectState(keys=keys)
    with serve(FitConnectHandler, state=state) as server:
        state.issuer = base_url(server)
        yield base_url(server), state


def fit_options(url: str, state: FitConnectState, timeout_seconds: int = 5, **extra) -> dict:
    """Adapter options that point the fitconnect adapter at this reference receiver."""
    return {
        "submission_api_url": url + "/v1",
        "token_url": url + "/token",
        "client_id": state.client_id,
        "client_secret": state.client_secret,
        "destination_id": state.destination_id,
        "delivery_service_jwks": state.signing_jwks(),
        "destination_signing_jwks": state.destination_jwks(),
        "allow_insecure_http": True,
        "timeout_seconds": timeout_seconds,
        **extra,
    }
