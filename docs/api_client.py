"""A small example client of the bizportal chamber API (Python 3.11+, ``requests``).

It does what a chamber's case-management system does in a loop: get a token, pull the filings
that arrived since the last run, confirm receipt of each, and decide one with a PDF.

    BIZPORTAL_CLIENT_SECRET=SECRET python docs/api_client.py --base-url https://portal.example \\
        --client-id ID [--cursor-file cursor.txt] [--accept-with Bescheid.pdf]

The secret comes from the environment (BIZPORTAL_CLIENT_SECRET) so that it does not show in the
process list; ``--client-secret=SECRET`` works too.

Keep the cursor between runs (here: a file): the feed hands out every filing exactly once, in
the order it reached your chamber. The whole API is described at ``<base-url>/api/v1/docs``.
"""

from __future__ import annotations

import argparse
import base64
import os
import time
from pathlib import Path
from typing import Any

import requests


class ChamberApi:
    """Token handling and the calls this example needs."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, timeout: float = 30.0):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.auth = (client_id, client_secret)
        self.timeout = timeout
        self.session = requests.Session()
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        """A bearer token, fetched again shortly before the old one runs out."""
        if self._token is None or time.monotonic() > self._expires - 30:
            resp = self.session.post(f"{self.base}/oauth/token", data={"grant_type": "client_credentials"},
                                     auth=self.auth, timeout=self.timeout)
            resp.raise_for_status()
            body = resp.json()
            self._token, self._expires = body["access_token"], time.monotonic() + body["expires_in"]
        return self._token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for _ in range(3):
            resp = self.session.request(method, self.base + path, timeout=self.timeout,
                                        headers={"Authorization": f"Bearer {self.token()}"}, **kwargs)
            if resp.status_code == 401:  # expired or revoked meanwhile: one fresh token
                self._token = None
                continue
            if resp.status_code == 429:  # rate limit: wait as told
                time.sleep(int(resp.headers.get("Retry-After", "1")))
                continue
            return resp
        return resp

    def pull(self, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Every filing behind ``cursor``, and the cursor to keep."""
        filings: list[dict[str, Any]] = []
        while True:
            params = {"limit": 100, **({"after": cursor} if cursor else {})}
            page = self.call("GET", "/filings", params=params)
            page.raise_for_status()
            body = page.json()
            filings += body["filings"]
            cursor = body["next_cursor"]
            if not body["has_more"]:
                return filings, cursor

    def filing(self, reference: str) -> dict[str, Any]:
        resp = self.call("GET", f"/filings/{reference}")
        resp.raise_for_status()
        return resp.json()

    def acknowledge(self, reference: str) -> dict[str, Any]:
        resp = self.call("POST", f"/filings/{reference}/acknowledge")
        resp.raise_for_status()
        return resp.json()

    def decide(self, reference: str, accepted: bool, reason: str, pdf: bytes | None = None,
               filename: str = "Bescheid.pdf") -> dict[str, Any]:
        """Accept or reject, with the status the filing has now as ``expected_status`` (409 if it moves)."""
        current = self.filing(reference)["status"]
        body: dict[str, Any] = {"to": "accepted" if accepted else "rejected", "expected_status": current,
                                "reason": reason}
        if pdf is not None:
            body["documents"] = [{"filename": filename, "content_base64": base64.b64encode(pdf).decode()}]
        resp = self.call("POST", f"/filings/{reference}/transitions", json=body)
        if resp.status_code >= 400:  # a problem document (RFC 9457) says why
            raise RuntimeError(f"{reference}: {resp.status_code} {resp.json().get('detail')}")
        return resp.json()


def run(api: ChamberApi, cursor: str | None, decision_pdf: bytes | None,
        filename: str = "Bescheid.pdf") -> tuple[list[str], str | None]:
    """Pull, confirm receipt of each new filing that still waits for it, and accept the first one
    your chamber may still decide (with the PDF, if given). Steps a filing no longer allows (it was
    worked in the portal meanwhile, or decided) are skipped: ``allowed_transitions`` says which are
    open. Returns the references handled and the cursor to keep."""
    filings, cursor = api.pull(cursor)
    handled = []
    decided = False
    for entry in filings:
        reference = entry["reference"]
        allowed = api.filing(reference)["allowed_transitions"]
        if "received" in allowed:
            api.acknowledge(reference)
        handled.append(reference)
        if decision_pdf is not None and not decided and "accepted" in api.filing(reference)["allowed_transitions"]:
            api.decide(reference, accepted=True, reason="Die Anzeige ist eingetragen.", pdf=decision_pdf,
                       filename=filename)
            decided = True
    return handled, cursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", default=os.environ.get("BIZPORTAL_CLIENT_SECRET"),
                        help="default: the environment variable BIZPORTAL_CLIENT_SECRET")
    parser.add_argument("--cursor-file", default="bizportal-cursor.txt")
    parser.add_argument("--accept-with", help="a PDF: accept the first filing your chamber decides with it")
    args = parser.parse_args()
    if not args.client_secret:
        parser.error("no client secret: set BIZPORTAL_CLIENT_SECRET or pass --client-secret=SECRET")
    cursor_file = Path(args.cursor_file)
    cursor = cursor_file.read_text().strip() or None if cursor_file.exists() else None
    pdf = Path(args.accept_with).read_bytes() if args.accept_with else None
    filename = Path(args.accept_with).name if args.accept_with else "Bescheid.pdf"
    handled, cursor = run(ChamberApi(args.base_url, args.client_id, args.client_secret), cursor, pdf, filename)
    if cursor:
        cursor_file.write_text(cursor)
    for reference in handled:
        print(reference)


if __name__ == "__main__":
    main()
