"""The reference webhook receiver with per-key counts and a gate (a receiver that hangs)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import ThreadingHTTPServer

from tests.support.adapters import SECRET
from tests.support.factories import wait_for
from tests.support.receivers.loopback import base_url
from tests.support.receivers.webhook_receiver import WebhookHandler, WebhookState


class CountingWebhookHandler(WebhookHandler):
    """The reference receiver, counting requests per ``Idempotency-Key``; while ``server.gate`` is
    closed, requests wait before they are handled (a hanging receiver)."""

    def do_POST(self) -> None:  # noqa: N802
        server = self.server
        key = self.headers.get("Idempotency-Key") or ""
        with server.counts_lock:
            server.per_key[key] = server.per_key.get(key, 0) + 1
            server.arrived += 1
        if not server.gate.wait(120):
            return self.drop()
        super().do_POST()


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # several workers connect at once


@contextmanager
def counting_receiver(port: int = 0, gate_open: bool = True):
    """Yield (url, server) of a reference receiver on ``port`` (0: any free port).

    ``server.state`` is the ``WebhookState``; ``server.per_key`` counts requests per idempotency
    key; ``server.gate`` (a ``threading.Event``) holds requests while cleared.
    """
    server = _ReceiverServer(("127.0.0.1", port), CountingWebhookHandler)
    server.state = WebhookState(secret=SECRET.encode())
    server.per_key = {}
    server.arrived = 0
    server.counts_lock = threading.Lock()
    server.gate = threading.Event()
    if gate_open:
        server.gate.set()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield base_url(server) + "/filings", server
    finally:
        server.gate.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def settled_arrivals(server, at_least: int = 1) -> int:
    """Requests that reached the (closed) gate once the senders have started all they can: waits
    for ``at_least`` arrivals, then until no more arrive for half a second."""
    wait_for(lambda: server.arrived >= at_least, timeout=60, what=f"{at_least} request(s) at the receiver")
    while True:
        seen = server.arrived
        time.sleep(0.5)
        if server.arrived == seen:
            return seen
