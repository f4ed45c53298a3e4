"""A realistic filing payload for the adapter tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from chambers.base import Attachment, FilingPayload, MessagePayload

DELIVERY_ID = UUID("6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f")


def make_attachment(filename: str, content: bytes, media_type: str, **extra: Any) -> Attachment:
    return Attachment(
        **extra,
        filename=filename,
        media_type=media_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )


def build_payload(**overrides: Any) -> FilingPayload:
    values: dict[str, Any] = dict(
        delivery_id=DELIVERY_ID,
        reference="BP-2025-000123",
        service_key="gewerbe_anmelden",
        service_title="Gewerbe anmelden",
        leika="99050012104000",
        company={
            "name": "Bäckerei Müller & Söhne GmbH",
            "legal_form": "GmbH",
            "street": "Hauptstraße 5",
            "postcode": "28195",
            "city": "Bremen",
            "tax_number": "1234567890",
        },
        submitted_at=datetime(2025, 11, 28, 11, 30, 0, tzinfo=UTC),
        data={
            "taetigkeit": "Herstellung von Backwaren „Brötchen“",
            "beginn": "2025-12-01",
            "stammkapital_eur": "25.000 €",
            "inhaber": "Şahin Yılmaz",
            "filialen": 2,
        },
        destination_role="primary",
        attachments=(
            make_attachment(
                "Handwerkskarte.pdf",
                b"%PDF-1.4\n% test document\n",
                "application/pdf",
                field="handwerkskarte",
            ),
            make_attachment(
                "notiz.txt", "Öffnungszeiten: 6–18 Uhr\n".encode(), "text/plain; charset=utf-8"
            ),
        ),
    )
    values.update(overrides)
    return FilingPayload(**values)


MESSAGE_DELIVERY_ID = UUID("6b0f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4")


def build_message_payload(**overrides: Any) -> MessagePayload:
    """A company's answer about the filing of ``build_payload`` (its receiver ref must be given
    for FIT-Connect: the case the filing's submission opened)."""
    values: dict[str, Any] = dict(
        delivery_id=MESSAGE_DELIVERY_ID,
        message_id="17",
        kind="answer",
        reference="BP-2025-000123",
        filing_delivery_id=DELIVERY_ID,
        filing_receiver_ref=None,
        service_key="gewerbe_anmelden",
        service_title="Gewerbe anmelden",
        leika="99050012104000",
        company={"name": "Bäckerei Müller & Söhne GmbH"},
        author={"name": "Anna Becker", "email": "anna@becker.example"},
        sent_at=datetime(2025, 12, 2, 9, 15, 0, tzinfo=UTC),
        body="Die Handwerkskarte liegt bei.",
        in_reply_to={"id": "12", "body": "Bitte Handwerkskarte nachreichen.", "sent_at": None, "due_on": None},
        attachments=(make_attachment("Handwerkskarte.pdf", b"%PDF-1.4\n% card\n", "application/pdf"),),
    )
    values.update(overrides)
    return MessagePayload(**values)
