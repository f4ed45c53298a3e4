"""The admin's configuration check and ``Delivery.last_error`` name the class of a receiver's
problem (unreachable, TLS, 401, 5xx), never the receiver's text of a 401/403 or 5xx answer, URLs
with query strings or a traceback (a 4xx refusal keeps its short reason: test_faults); the check
contacts only hosts the configuration allows."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bizportal.delivery.models import DeliveryState
from bizportal.delivery.worker import Worker
from tests.support.adapters import fit_options, webhook_options
from tests.support.factories import delivery_of, make_filing, set_adapter
from tests.support.http import csrf_token
from tests.support.receivers.fitconnect_receiver import FitConnectState

#: what a receiver writes into its error answers: must never reach an admin page or last_error
RECEIVER_TEXT = "internal-db-host=10.0.0.7 stack: Traceback RECEIVER-SECRET"


@contextmanager
def answering(status: int) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that answers every request with ``status`` and ``RECEIVER_TEXT``; yields its
    base URL and the paths it was asked for."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps({"error": RECEIVER_TEXT, "error_description": RECEIVER_TEXT}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def admin(client, login_as):
    login_as("admin", staff=True)
    return client


def _check(admin, slug: str = "hk-bremen") -> str:
    token = csrf_token(admin.get("/staff/admin/kammern").get_data(as_text=True))
    resp = admin.post(f"/staff/admin/kammern/{slug}/pruefen", data={"csrf_token": token})
    assert resp.status_code == 302
    return admin.get(resp.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(("status", "shown"), [
    (401, "Zugang abgelehnt (Zugangsdaten prüfen) (401)"),
    (503, "Fehler beim Empfänger (503)"),
])
def test_the_check_names_the_class_of_an_http_answer_never_the_receivers_text(app, admin, fit_keys, status, shown):
    with answering(status) as (url, seen):
        set_adapter(app, "hk-bremen", "fitconnect", fit_options(url, FitConnectState(fit_keys)))
        html = _check(admin)
    assert seen  # the receiver was asked
    assert "ist fehlerhaft" in html and shown in html
    assert "RECEIVER-SECRET" not in html and "10.0.0.7" not in html


def test_the_check_names_an_unreachable_receiver_and_a_tls_failure(app, admin, fit_keys):
    state = FitConnectState(fit_keys)
    set_adapter(app, "hk-bremen", "fitconnect", fit_options(f"http://127.0.0.1:{_closed_port()}", state))
    assert "Empfänger nicht erreichbar (keine Verbindung)" in _check(admin)
    with answering(200) as (url, _seen):  # https spoken to a plain HTTP server: the handshake fails
        set_adapter(app, "hk-bremen", "fitconnect", fit_options(url.replace("http://", "https://"), state))
        html = _check(admin)
    assert "TLS-Fehler (Zertifikat oder verschlüsselte Verbindung)" in html


def test_the_check_contacts_only_hosts_the_configuration_allows(make_app, client, login_as, fit_keys):
    app = make_app(RECEIVER_HOSTS="fitconnect.example.de, *.ihk.de")
    client = app.test_client()
    from tests.support.http import login

    login(client, "admin", staff=True)
    with answering(200) as (url, seen):
        set_adapter(app, "hk-bremen", "fitconnect", fit_options(url, FitConnectState(fit_keys)))
        html = _check(client)
    assert seen == []  # nothing was sent to 127.0.0.1
    assert "Host ist nicht freigegeben (BIZPORTAL_RECEIVER_HOSTS)" in html and "127.0.0.1" in html
    # and such options cannot be saved either
    form = client.get("/staff/admin/kammern/hk-hamburg/bearbeiten").get_data(as_text=True)
    resp = client.post("/staff/admin/kammern/hk-hamburg/bearbeiten", data={
        "csrf_token": csrf_token(form), "adapter_key": "webhook",
        "options": json.dumps({"url": "https://evil.example/hook", "secret": "s" * 20})})
    assert resp.status_code == 422 and "host not allowed" in resp.get_data(as_text=True)
    resp = client.post("/staff/admin/kammern/hk-hamburg/bearbeiten", data={
        "csrf_token": csrf_token(form), "adapter_key": "webhook",
        "options": json.dumps({"url": "https://kammer.ihk.de/hook", "secret": "s" * 20})})
    assert resp.status_code == 302


def test_last_error_keeps_the_class_and_a_short_message_the_details_go_to_the_log(app, caplog):
    with answering(500) as (url, _seen):
        set_adapter(app, "hk-bremen", "webhook", webhook_options(url + "/hook?token=abc123"))
        filing_id = make_filing(app)
        with caplog.at_level("INFO"):
            Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.state == DeliveryState.PENDING
    assert d.last_error.startswith("[server_error] TemporaryFailure:") and "HTTP 500" in d.last_error
    assert "\n" not in d.last_error and "Traceback" not in d.last_error
    assert "RECEIVER-SECRET" not in d.last_error and "abc123" not in d.last_error
    assert any("RECEIVER-SECRET" in r.getMessage() for r in caplog.records)  # the details are in the log


def test_an_unreachable_receivers_url_is_kept_without_its_query_string(app):
    url = f"http://127.0.0.1:{_closed_port()}/hook?signature=s3cr3t"
    set_adapter(app, "hk-bremen", "webhook", webhook_options(url))
    filing_id = make_filing(app)
    Worker(app).run_once()
    d = delivery_of(app, filing_id)
    assert d.last_error.startswith("[unreachable] TemporaryFailure: webhook")
    assert "s3cr3t" not in d.last_error
