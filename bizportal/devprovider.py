"""The development login provider: ``oidc-provider-mock`` with the demo users, in a thread."""

from __future__ import annotations

import os
import threading

import oidc_provider_mock
from werkzeug.serving import BaseWSGIServer

from .demo import DEMO_USERS
from .web.devserver import dev_server


def start_provider(port: int = 0, host: str = "127.0.0.1") -> BaseWSGIServer:
    """Start the provider on ``host:port`` (0 = a free port) and return the running server."""
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on loopback only
    users = [oidc_provider_mock.User(sub=sub, claims=claims) for sub, claims in DEMO_USERS.items()]
    provider_app = oidc_provider_mock.app(require_nonce=True, user_claims=users)
    server = dev_server(host, port, provider_app)
    threading.Thread(target=server.serve_forever, daemon=True, name="oidc-provider").start()
    return server


def main(argv: list[str] | None = None) -> None:
    """``python -m bizportal.devprovider --port N``: the provider alone, in the foreground (bin/cluster --demo)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m bizportal.devprovider", description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    server = start_provider(args.port, args.host)
    print(f"development login provider on http://{args.host}:{server.server_port}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
