"""The chamber's ``format`` option: the XGewerbeanzeige message of a trade notification reaches
webhook, e-mail and FIT-Connect receivers as JSON, XML or both, and reads back to the same answers."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
from datetime import UTC, datetime
from email import policy

import pytest

from bizportal.filings.xgewerbeanzeige import NS, Authority, build_message, read_message
from chambers.base import XGEWERBEANZEIGE, Document, InvalidConfig
from chambers.email import EmailAdapter
from chambers.fitconnect import FitConnectAdapter
from chambers.webhook import WebhookAdapter
from tests.support.receivers.fitconnect_receiver import fit_options, fitconnect_receiver
from tests.support.receivers.smtp_receiver import smtp_receiver
from tests.support.receivers.webhook_receiver import webhook_receiver

SECRET = "s3cr3t-shared-with-the-chamber"
ANSWERS = {
    "inhaber_art": "juristische_person", "business_name": "Becker Elektrotechnik GmbH", "legal_form": "GmbH",
    "handelsregisternummer": "Bremen HRB 12345", "street": "Am Wall 120", "postcode": "28195", "city": "Bremen",
    "niederlassung": "hauptniederlassung", "activity": "Elektroinstallation", "nebenerwerb": False,
    "start_date": "2027-01-01", "wz2008": "43.21.0", "handwerk": True, "industrie": False, "handel": False,
    "sonstiges": False, "vollzeit": 3, "teilzeit": 1, "grund": "neugruendung",
}
WHEN = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
XML = build_message("gewerbeanmeldung", ANSWERS, WHEN,
                    Authority("bizportal", "gewerbeamt-bremen", "Gewerbeamt Bremen (Stadtamt)"),
                    Authority("bizportal", "hwk-bremen", "Handwerkskammer Bremen"))
DOCUMENT = Document(media_type="application/xml", content=XML, schema_uri=NS, filename="xgewerbeanzeige.xml")


@pytest.fixture
def trade_notification(make_payload):
    return make_payload(service_key="gewerbeanmeldung", service_title="Gewerbeanmeldung", data=ANSWERS,
                        documents={XGEWERBEANZEIGE: DOCUMENT})


def _reads_back(content: bytes) -> None:
    answers = read_message(content)
    assert answers["kind"] == "anmeldung" and answers["business_name"] == "Becker Elektrotechnik GmbH"
    assert answers["wz2008_key"] == "43210" and answers["grund"] == "neugruendung"
    assert answers["activity"] == "Elektroinstallation" and answers["postcode"] == "28195"
    assert (answers["handwerk"], answers["vollzeit"], answers["teilzeit"]) == (True, 3, 1)


def _signed(headers: dict[str, str], raw: bytes) -> bool:
    ts, sig = headers["X-Bizportal-Timestamp"], headers["X-Bizportal-Signature"]
    return hmac.compare_digest(sig, "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + raw,
                                                         hashlib.sha256).hexdigest())


def _webhook(url: str, **extra) -> dict:
    return {"url": url, "secret": SECRET, "allow_insecure_http": True, **extra}


# --- webhook


def test_webhook_xml_posts_the_message_itself_signed_and_keyed(trade_notification):
    with webhook_receiver(SECRET) as (url, state):
        result = WebhookAdapter().deliver(trade_notification, _webhook(url, format="xml"))
    assert result.receiver_ref == "rcv-1" and state.refused_signatures == 0
    (record,) = state.stored.values()
    assert record["headers"]["Content-Type"] == "application/xml"
    assert record["headers"]["Idempotency-Key"] == str(trade_notification.delivery_id)
    assert record["headers"]["X-Bizportal-Event"] == "filing"
    assert record["raw"] == XML and _signed(record["headers"], record["raw"])
    _reads_back(record["raw"])


def test_webhook_both_carries_the_message_as_a_string_in_the_json(trade_notification):
    with webhook_receiver(SECRET) as (url, state):
        WebhookAdapter().deliver(trade_notification, _webhook(url, format="both"))
    (record,) = state.stored.values()
    assert record["headers"]["Content-Type"].startswith("application/json")
    body = record["body"]
    assert body["reference"] == trade_notification.reference and body["data"]["wz2008"] == "43.21.0"
    assert body["xgewerbeanzeige"].encode("utf-8") == XML
    _reads_back(body["xgewerbeanzeige"].encode("utf-8"))


def test_webhook_json_by_default_leaves_the_message_out(trade_notification):
    with webhook_receiver(SECRET) as (url, state):
        WebhookAdapter().deliver(trade_notification, _webhook(url))
    (record,) = state.stored.values()
    assert "xgewerbeanzeige" not in record["body"] and record["body"]["service_key"] == "gewerbeanmeldung"


def test_webhook_xml_for_a_filing_without_a_message_sends_json_and_says_so(make_payload):
    payload = make_payload()  # another service: no XGewerbeanzeige message
    with webhook_receiver(SECRET) as (url, state):
        result = WebhookAdapter().deliver(payload, _webhook(url, format="xml"))
    (record,) = state.stored.values()
    assert record["body"]["reference"] == payload.reference
    assert "no XGewerbeanzeige message" in result.detail and "sent as JSON" in result.detail


@pytest.mark.parametrize("adapter, base", [
    (WebhookAdapter(), {"url": "https://hwk.example/in", "secret": SECRET}),
    (EmailAdapter(), {"host": "smtp.example", "from_address": "a@portal.example", "to_address": "b@hwk.example"}),
])
def test_a_format_outside_the_choices_is_refused_naming_the_option(adapter, base):
    with pytest.raises(InvalidConfig, match="option 'format' must be one of 'json', 'xml', 'both'"):
        adapter.parse_options({**base, "format": "XML"})
    assert adapter.parse_options(base)["format"] == "json"


# --- e-mail


def _mail(payload, fmt: str):
    with smtp_receiver() as (port, recorder):
        EmailAdapter().deliver(payload, {"host": "127.0.0.1", "port": port, "starttls": False,
                                         "from_address": "portal@bizportal.example",
                                         "to_address": "antraege@hwk-bremen.example", "format": fmt})
    msg = email.message_from_bytes(recorder.messages[-1][2], policy=policy.default)
    return msg, {p.get_filename(): p for p in msg.iter_attachments()}


def test_email_both_attaches_the_message_beside_the_json(trade_notification):
    msg, parts = _mail(trade_notification, "both")
    assert parts["xgewerbeanzeige.xml"].get_content_type() == "application/xml"
    content = parts["xgewerbeanzeige.xml"].get_payload(decode=True)
    assert content == XML
    _reads_back(content)
    assert json.loads(parts["filing.json"].get_content())["reference"] == trade_notification.reference
    assert "filing.json und xgewerbeanzeige.xml" in " ".join(msg.get_body(("plain",)).get_content().split())


def test_email_xml_attaches_the_message_instead_of_the_json(trade_notification):
    msg, parts = _mail(trade_notification, "xml")
    assert "filing.json" not in parts
    _reads_back(parts["xgewerbeanzeige.xml"].get_payload(decode=True))
    assert any(name.endswith(".pdf") for name in parts)  # the people's copy stays
    text = " ".join(msg.get_body(("plain",)).get_content().split())
    assert "maschinenlesbar in xgewerbeanzeige.xml." in text


def test_email_xml_for_a_filing_without_a_message_attaches_the_json(make_payload):
    _msg, parts = _mail(make_payload(), "xml")
    assert "filing.json" in parts and "xgewerbeanzeige.xml" not in parts


# --- FIT-Connect


def test_fitconnect_xml_sends_the_message_as_the_submission_data(keys, trade_notification):
    with fitconnect_receiver(keys) as (url, state):
        FitConnectAdapter().deliver(trade_notification, fit_options(url, state, format="xml"))
    (sub,) = state.submitted()
    assert sub["data"] == XML
    _reads_back(sub["data"])
    schema = sub["metadata"]["contentStructure"]["data"]["submissionSchema"]
    assert schema == {"mimeType": "application/xml", "schemaUri": NS}
    assert len(sub["attachments"]) == len(trade_notification.attachments)  # the company's files only


def test_fitconnect_xml_names_the_schema_uri_the_destination_lists(keys, trade_notification):
    uri = "urn:xoev-de:xgewerbeanzeige:standard:xgewerbeanzeige_2.2"
    with fitconnect_receiver(keys) as (url, state):
        FitConnectAdapter().deliver(trade_notification, fit_options(url, state, format="xml", xml_schema_uri=uri))
    (sub,) = state.submitted()
    assert sub["metadata"]["contentStructure"]["data"]["submissionSchema"]["schemaUri"] == uri


def test_fitconnect_both_keeps_json_data_and_attaches_the_message(keys, trade_notification):
    with fitconnect_receiver(keys) as (url, state):
        FitConnectAdapter().deliver(trade_notification, fit_options(url, state, format="both"))
    (sub,) = state.submitted()
    assert sub["data"]["reference"] == trade_notification.reference
    structure = sub["metadata"]["contentStructure"]
    assert structure["data"]["submissionSchema"]["mimeType"] == "application/json"
    (entry,) = [a for a in structure["attachments"] if a["filename"] == "xgewerbeanzeige.xml"]
    assert (entry["mimeType"], entry["purpose"]) == ("application/xml", "attachment")
    assert sub["attachments"][entry["attachmentId"]] == XML
    assert len(sub["attachments"]) == len(trade_notification.attachments) + 1


def test_fitconnect_xml_for_a_filing_without_a_message_sends_json(keys, make_payload):
    with fitconnect_receiver(keys) as (url, state):
        result = FitConnectAdapter().deliver(make_payload(), fit_options(url, state, format="xml"))
    (sub,) = state.submitted()
    assert sub["data"]["reference"] == "BP-2025-000123"
    assert sub["metadata"]["contentStructure"]["data"]["submissionSchema"]["mimeType"] == "application/json"
    assert "sent as JSON" in result.detail
