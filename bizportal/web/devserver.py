"""The development servers' request log (``flask dev``: the portal and its login provider).

werkzeug's request log prints each request line, and the login callback's line carries the
OIDC ``code`` and ``state`` (``/login/callback?code=…&state=…``); the provider's carries
``state`` and ``nonce``. The handler here logs the path without its query string, as the
production access log does (``gunicorn.conf.py``: ``%(U)s``).
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

_QUERY = re.compile(r"\?[^\s\"']*")


class PathOnlyRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler; every line it logs (requests, errors) has query strings removed."""

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        super().log(type, "%s", _QUERY.sub("", message % args if args else message))


def dev_server(host: str, port: int, app: Any) -> BaseWSGIServer:
    """A threaded development server for ``app`` whose log carries no query strings."""
    return make_server(host, port, app, threaded=True, request_handler=PathOnlyRequestHandler)
