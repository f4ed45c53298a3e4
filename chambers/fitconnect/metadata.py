"""FIT-Connect metadata 1.0.0: built from a filing, validated against the published schema."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from ..base import Attachment, FilingPayload, PermanentFailure

__all__ = ["METADATA_SCHEMA_ID", "service_identifier", "build_metadata", "validate_metadata"]

METADATA_SCHEMA_FILE = "metadata.schema.v1.0.0.json"
METADATA_SCHEMA_ID = "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json"
LEIKA_URN_PREFIX = "urn:de:fim:leika:leistung:"


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    text = resources.files(__package__).joinpath(METADATA_SCHEMA_FILE).read_text(encoding="utf-8")
    schema = json.loads(text)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def service_identifier(payload: FilingPayload) -> str:
    """``urn:de:fim:leika:leistung:<leika>``; ``PermanentFailure`` if the service has no LeiKa key.

    FIT-Connect addresses a destination's services by this URN, so a service without a key cannot
    be sent until the catalog names one.
    """
    if not payload.leika:
        raise PermanentFailure(
            f"fitconnect: service '{payload.service_key}' has no LeiKa key; FIT-Connect needs "
            f"{LEIKA_URN_PREFIX}<14 digits>"
        )
    return LEIKA_URN_PREFIX + payload.leika


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def build_metadata(
    payload: FilingPayload,
    data: bytes,
    attachment_ids: Sequence[str],
    submission_schema_uri: str,
    data_media_type: str = "application/json",
) -> dict[str, Any]:
    """The metadata document for one submission (not yet validated).

    ``data`` are the exact bytes sent as ``encryptedData`` (their sha512 goes into the metadata),
    of ``data_media_type`` (``application/json`` or ``application/xml``, as the schema allows);
    ``attachment_ids`` pairs up with ``payload.attachments``. The portal reference travels as
    ``additionalReferenceInfo.senderReference``, the submission date as ``applicationDate``.
    """
    attachments: list[dict[str, Any]] = []
    for att, att_id in zip(payload.attachments, attachment_ids, strict=True):
        attachments.append(_attachment_entry(att, att_id))
    return {
        "$schema": METADATA_SCHEMA_ID,
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": hashlib.sha512(data).hexdigest()},
                "submissionSchema": {
                    "schemaUri": submission_schema_uri,
                    "mimeType": _media_type(data_media_type),
                },
            },
            "attachments": attachments,
        },
        "publicServiceType": {
            "identifier": service_identifier(payload),
            "name": payload.service_title,
        },
        "additionalReferenceInfo": {
            "senderReference": payload.reference,
            "applicationDate": payload.submitted_at.date().isoformat(),
        },
    }


def _attachment_entry(att: Attachment, att_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "attachmentId": att_id,
        "hash": {"type": "sha512", "content": hashlib.sha512(att.content).hexdigest()},
        "purpose": "attachment",
        "mimeType": _media_type(att.media_type),
        "filename": att.filename,
    }
    if getattr(att, "field", ""):
        entry["description"] = f"Formularfeld: {att.field}"
    return entry


def validate_metadata(metadata: dict[str, Any]) -> None:
    """Raise ``PermanentFailure`` naming the first violation if ``metadata`` breaks schema 1.0.0.

    Checked formats: uuid, date, email (``jsonschema``'s built-in checkers); ``uri`` and
    ``date-time`` are checked only if the optional format packages are installed.
    """
    errors = sorted(_validator().iter_errors(metadata), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise PermanentFailure(
            f"fitconnect: metadata violates schema 1.0.0 at {where}: {first.message}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        )
