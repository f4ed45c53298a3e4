"""The e-mail adapter against a real SMTP server on loopback."""

from __future__ import annotations

import email
import io
import json
import uuid
from email import policy
from email.message import EmailMessage

import pytest
from pypdf import PdfReader

from chambers.base import InvalidConfig, PermanentFailure, TemporaryFailure
from chambers.email import EmailAdapter
from chambers.email import pdf as pdf_module
from tests.support.receivers.loopback import closed_port
from tests.support.receivers.smtp_receiver import smtp_receiver

CHAMBER = "antraege@hwk-bremen.example"


@pytest.fixture
def smtp():
    with smtp_receiver() as pair:
        yield pair


def opts(port: int, **extra):
    return {
        "host": "127.0.0.1",
        "port": port,
        "from_address": "bizportal <noreply@portal.example>",
        "to_address": CHAMBER,
        "starttls": False,
        "timeout_seconds": 5,
        **extra,
    }


def received(recorder, index: int = -1) -> EmailMessage:
    return email.message_from_bytes(recorder.messages[index][2], policy=policy.default)


def parts(msg: EmailMessage) -> dict[str, EmailMessage]:
    return {p.get_filename(): p for p in msg.iter_attachments()}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_chamber_receives_text_pdf_json_and_attachments(smtp, make_payload):
    port, recorder = smtp
    payload = make_payload()
    result = EmailAdapter().deliver(payload, opts(port))

    ((mail_from, rcpts, _raw),) = recorder.messages
    assert (mail_from, rcpts) == ("noreply@portal.example", [CHAMBER])
    msg = received(recorder)
    assert msg["Message-ID"] == f"<{payload.delivery_id}@bizportal>" == result.receiver_ref
    assert msg["Subject"] == (
        f"Antrag BP-2025-000123: Gewerbe anmelden [Zustellungs-ID {payload.delivery_id}]"
    )
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "BP-2025-000123" in text and "Bäckerei Müller & Söhne GmbH" in text

    attached = parts(msg)
    pdf = attached["antrag-BP-2025-000123.pdf"].get_content()
    assert pdf.startswith(b"%PDF-")
    shown = pdf_text(pdf)
    for expected in (
        "BP-2025-000123",
        "Gewerbe anmelden",
        "Bäckerei Müller & Söhne GmbH",
        "Hauptstraße 5",
        "„Brötchen“",
        "25.000 €",
        "Şahin Yılmaz",
        "28.11.2025, 12:30 Uhr",
    ):
        assert expected in shown

    doc = json.loads(attached["filing.json"].get_content())
    assert attached["filing.json"].get_content_type() == "application/json"
    assert doc["delivery_id"] == str(payload.delivery_id)
    assert doc["reference"] == payload.reference
    assert doc["company"] == dict(payload.company)
    assert doc["data"] == dict(payload.data)
    assert doc["submitted_at"] == "2025-11-28T11:30:00Z"

    for att in payload.attachments:
        part = attached[att.filename]
        assert part.get_content_type() == att.media_type.split(";")[0]
        assert part.get_payload(decode=True) == att.content
    assert attached["notiz.txt"].get_content() == "Öffnungszeiten: 6–18 Uhr\n"  # charset kept


def test_message_id_is_the_same_on_every_attempt(smtp, make_payload):
    port, recorder = smtp
    adapter = EmailAdapter()
    adapter.deliver(make_payload(), opts(port))
    adapter.deliver(make_payload(), opts(port))
    first, second = received(recorder, 0), received(recorder, 1)
    assert (
        first["Message-ID"]
        == second["Message-ID"]
        == "<6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f@bizportal>"
    )
    other = make_payload(delivery_id=uuid.uuid4())
    adapter.deliver(other, opts(port))
    assert received(recorder)["Message-ID"] == f"<{other.delivery_id}@bizportal>"


def test_a_repeated_delivery_carries_its_delivery_id_in_subject_and_header(smtp, make_payload):
    """At least once: the chamber's mail rules can recognise the second copy of an attempt."""
    port, recorder = smtp
    adapter = EmailAdapter()
    adapter.deliver(make_payload(), opts(port))
    adapter.deliver(make_payload(), opts(port))  # e.g. after a worker stalled past its lease
    other = make_payload(delivery_id=uuid.uuid4(), reference="BP-2025-000124")
    adapter.deliver(other, opts(port))
    first, repeat, third = (received(recorder, i) for i in range(3))
    delivery_id = "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f"
    for msg in (first, repeat):
        assert msg["X-Bizportal-Delivery-Id"] == delivery_id
        assert msg["Subject"].endswith(f"[Zustellungs-ID {delivery_id}]")
    assert first["Subject"] == repeat["Subject"]
    assert third["X-Bizportal-Delivery-Id"] == str(other.delivery_id)
    assert third["Subject"].endswith(f"[Zustellungs-ID {other.delivery_id}]")


def test_copy_is_marked_as_such(smtp, make_payload):
    port, recorder = smtp
    EmailAdapter().deliver(make_payload(destination_role="copy"), opts(port))
    msg = received(recorder)
    assert "(Kopie)" in msg["Subject"]
    assert "Kopie zur Kenntnis" in msg.get_body(preferencelist=("plain",)).get_content()


def test_unknown_mailbox_is_permanent(smtp, make_payload):
    port, recorder = smtp
    recorder.refuse_rcpt[CHAMBER] = "550 5.1.1 mailbox unknown"
    with pytest.raises(PermanentFailure, match="550 5.1.1 mailbox unknown"):
        EmailAdapter().deliver(make_payload(), opts(port))
    assert recorder.messages == []


def test_greylisting_4xx_is_temporary(smtp, make_payload):
    port, recorder = smtp
    recorder.data_reply = "451 4.7.1 greylisted, try again later"
    with pytest.raises(TemporaryFailure, match="451"):
        EmailAdapter().deliver(make_payload(), opts(port))


def test_server_down_is_temporary(make_payload):
    with pytest.raises(TemporaryFailure, match="cannot connect"):
        EmailAdapter().deliver(make_payload(), opts(closed_port()))


def test_required_starttls_missing_sends_nothing(smtp, make_payload):
    port, recorder = smtp
    with pytest.raises(InvalidConfig, match="does not offer STARTTLS"):
        EmailAdapter().deliver(make_payload(), opts(port, starttls=True))
    assert recorder.messages == []


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"username": "portal", "password": "pw"}, "needs 'starttls'"),
        ({"username": "portal"}, "go together"),
        ({"to_address": "a@b.example\r\nBcc: x@evil.example"}, "not an e-mail address"),
        ({"to_address": "Handwerkskammer"}, "not an e-mail address"),
    ],
)
def test_unusable_options_are_named(bad, message):
    with pytest.raises(InvalidConfig, match=message):
        EmailAdapter().parse_options(opts(25, **bad))


def test_check_config_pings_the_server(smtp):
    port, recorder = smtp
    EmailAdapter().check_config(opts(port))
    with pytest.raises(InvalidConfig, match="cannot connect"):
        EmailAdapter().check_config(opts(closed_port()))
    assert recorder.messages == []


def test_pdf_keeps_german_text_without_the_font_package(monkeypatch, make_payload):
    monkeypatch.setattr(pdf_module, "bundled_font", lambda: None)
    shown = pdf_text(pdf_module.render_pdf(make_payload()))
    for expected in ("Bäckerei Müller & Söhne GmbH", "Hauptstraße 5", "„Brötchen“", "25.000 €"):
        assert expected in shown
    assert "Sahin Yilmaz" in shown  # outside Windows-1252: reduced to the base letters, not dropped


def test_sign_or_encrypt_hook_shapes_what_is_sent(smtp, make_payload):
    port, recorder = smtp

    class SealingAdapter(EmailAdapter):
        def sign_or_encrypt(self, message, options):
            message["X-Sealed-By"] = "test-seal"
            return message

    SealingAdapter().deliver(make_payload(), opts(port))
    assert received(recorder)["X-Sealed-By"] == "test-seal"
