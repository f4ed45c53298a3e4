"""Structured log lines and the request id that follows a filing from the web request into the worker."""

from __future__ import annotations

import json
import logging

import pytest

from bizportal.common import logs
from bizportal.config import log_format_setting
from bizportal.delivery.worker import Worker
from tests.support.filing import file_service, gewerbe_answers
from tests.support.http import http_login

TRACE = "journey-7f3a9c21-soak"


def json_lines(records: list[logging.LogRecord]) -> list[dict]:
    """The records as the production handler writes them: one JSON object per line."""
    formatter = logs.JsonFormatter()
    lines = []
    for record in records:
        text = formatter.format(record)
        assert "\n" not in text  # one line per record, whatever the message holds
        lines.append(json.loads(text))
    return lines


def test_a_submit_and_the_workers_delivery_of_it_log_the_same_request_id(app, live_server, caplog):
    company = http_login(live_server, "anna.becker")
    with caplog.at_level("INFO"):
        company.session.headers["X-Request-ID"] = TRACE
        reference = file_service(company, "gewerbeanmeldung", gewerbe_answers())
        del company.session.headers["X-Request-ID"]
        echoed = company.session.get(f"{live_server}/antraege/{reference}", timeout=10)
        assert Worker(app).run_once() == 2

    assert echoed.headers["X-Request-ID"] != TRACE  # a later request has an id of its own
    lines = json_lines(caplog.records)
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys()
    submitted = [line for line in lines if "submitted as " + reference in line["message"]]
    assert len(submitted) == 1
    assert submitted[0]["request_id"] == TRACE and submitted[0]["logger"] == "bizportal.filings.services"
    filing_id = submitted[0]["filing_id"]
    sent = [line for line in lines if line["logger"] == "bizportal.delivery.worker"
            and line["message"].startswith("delivery ")]
    assert len(sent) == 2  # Gewerbeamt and the HWK's copy
    for line in sent:
        assert line["request_id"] == TRACE
        assert line["filing_id"] == filing_id
        assert line["delivery_id"] in line["message"] and line["message"].endswith(": delivered")


def test_the_request_id_is_echoed_and_a_made_one_is_new_for_each_request(client):
    given = client.get("/", headers={"X-Request-ID": "abc-123_DEF.45:67"})
    assert given.headers["X-Request-ID"] == "abc-123_DEF.45:67"
    first, second = client.get("/"), client.get("/")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    assert len(first.headers["X-Request-ID"]) == 32


@pytest.mark.parametrize("hostile", [
    '"}, "level": "CRITICAL", "x": "',    # breaks out of a JSON string
    "evil id with spaces and <script>",
    "a" * 65,                               # too long
    "short",                                # too short to be an id
])
def test_a_hostile_request_id_is_replaced_and_never_logged(app, client, caplog, hostile):
    with caplog.at_level("INFO"):
        resp = client.get("/login/callback?code=x&state=y", headers={"X-Request-ID": hostile})
        app.logger.info("a line inside no request")
    assert resp.headers["X-Request-ID"] != hostile
    assert logs.REQUEST_ID.match(resp.headers["X-Request-ID"])
    lines = json_lines(caplog.records)
    assert lines  # the refused callback was logged (audit)
    for record, line in zip(caplog.records, lines, strict=True):
        assert hostile not in logs.JsonFormatter().format(record)
        assert line.get("request_id") in (None, resp.headers["X-Request-ID"])
    assert any(line.get("request_id") == resp.headers["X-Request-ID"] for line in lines)


def test_an_exception_is_a_field_of_its_line(caplog):
    logs.carry_context()  # as every portal process does when its logging is configured (create_app, worker)
    with caplog.at_level("INFO"), logs.context(request_id="trace-0001", delivery_id="d-1"):
        try:
            raise RuntimeError("receiver gone")
        except RuntimeError:
            logging.getLogger("bizportal.delivery.sending").exception("send failed")
    (line,) = json_lines(caplog.records)
    assert line["message"] == "send failed" and line["level"] == "ERROR"
    assert line["request_id"] == "trace-0001" and line["delivery_id"] == "d-1"
    assert "RuntimeError: receiver gone" in line["exception"] and "Traceback" in line["exception"]


def test_production_logs_json_and_development_text_unless_set(monkeypatch):
    monkeypatch.delenv("BIZPORTAL_LOG_FORMAT", raising=False)
    assert log_format_setting("production") == "json"
    assert log_format_setting("development") == "text"
    monkeypatch.setenv("BIZPORTAL_LOG_FORMAT", "text")
    assert log_format_setting("production") == "text"
    monkeypatch.setenv("BIZPORTAL_LOG_FORMAT", "xml")
    with pytest.raises(RuntimeError, match="BIZPORTAL_LOG_FORMAT"):
        log_format_setting("production")


def test_gunicorns_access_line_carries_the_echoed_request_id():
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(r)s" %({x-request-id}o)s',
                               None, None)
    record.args = {"h": "127.0.0.1", "r": "GET / HTTP/1.1", "{x-request-id}o": TRACE}
    (line,) = json_lines([record])
    assert line["request_id"] == TRACE and line["message"] == f'127.0.0.1 "GET / HTTP/1.1" {TRACE}'


def test_the_development_text_line_names_the_request_id_in_brackets():
    logs.carry_context()
    make = logging.getLogRecordFactory()  # as every logger makes its records
    with logs.context(request_id="trace-0002"):
        record = make("bizportal.filings", logging.INFO, __file__, 1, "filing %s submitted", (7,), None)
    plain = make("bizportal.filings", logging.INFO, __file__, 1, "no request", None, None)
    assert logs.formatter("text").format(record).endswith(" INFO bizportal.filings [trace-0002]: filing 7 submitted")
    assert logs.formatter("text").format(plain).endswith(" INFO bizportal.filings: no request")
