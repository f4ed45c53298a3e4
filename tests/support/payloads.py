"""A realistic filing payload for the adapter tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from chambers.base import Attachment, FilingPayload

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
