"""The reference webhook receiver (tests/chambers/webhook_receiver.py) as a process for the benchmark.

It checks every signature, deduplicates on ``Idempotency-Key`` and answers at once. ``GET /stats``
returns {"stored", "requests", "max_per_key"}; ``POST /reset`` forgets everything.
Usage: python bench/receiver.py PORT SECRET
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.receivers.webhook_receiver import WebhookHandler, WebhookState  # noqa: E402


class BenchHandler(WebhookHandler):
    def do_GET(self) -> None:  # noqa: N802
        state = self.server.state
        with self.server.counts_lock:
            body = {"stored": len(state.stored), "requests": state.requests,
                    "max_per_key": max(self.server.per_key.values(), default=0)}
        self.answer(200, json.dumps(body).encode())

    def do_POST(self) -> None:  # noqa: N802
        if self.path == "/reset":
            self.read_body()
            with self.server.counts_lock:
                self.server.state.stored.clear()
                self.server.state.requests = 0
                self.server.per_key.clear()
            return self.answer(204)
        key = self.headers.get("Idempotency-Key") or ""
        with self.server.counts_lock:
            self.server.per_key[key] = self.server.per_key.get(key, 0) + 1
        super().do_POST()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main() -> None:
    port, secret = int(sys.argv[1]), sys.argv[2]
    server = Server(("127.0.0.1", port), BenchHandler)
    server.state = WebhookState(secret=secret.encode())
    server.per_key = {}
    server.counts_lock = threading.Lock()
    print(f"receiver listening on {server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
