"""A small client for the FIT-Connect Submission API with the adapter's error mapping.

Error mapping for every call: connection errors, connect timeouts, 5xx, 408/425/429 →
``TemporaryFailure``; no answer within the timeout after the request went out → ``NoAnswer``;
a refused token request, 401/403 and an unknown destination (404 on ``/destinations``) →
``InvalidConfig`` (the chamber's settings need fixing; the worker retries meanwhile); any other 4xx
→ ``PermanentFailure`` carrying the RFC 7807 problem ``title``/``detail`` when the answer has one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

import requests

from ..base import InvalidConfig, NoAnswer, PermanentFailure, TemporaryFailure
from ..webhook.httputil import RETRYABLE_4XX, excerpt, is_read_timeout

__all__ = ["SubmissionApi"]

USER_AGENT = "bizportal-fitconnect/1"


def _problem(response: requests.Response) -> str:
    """'title: detail' of an RFC 7807 answer, else a short excerpt of the body."""
    try:
        doc = response.json()
    except ValueError:
        return excerpt(response.text)
    if isinstance(doc, dict):
        parts = [
            str(doc[k]) for k in ("title", "detail", "error", "error_description") if doc.get(k)
        ]
        if parts:
            return excerpt(": ".join(parts))
    return excerpt(response.text)


class SubmissionApi:
    """One authenticated conversation with a Submission API (one token, one HTTP session)."""

    def __init__(self, opts: Mapping[str, Any]) -> None:
        self.base = opts["submission_api_url"].rstrip("/")
        self.opts = opts
        self.timeout = opts["timeout_seconds"]
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        self.session.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except requests.ConnectTimeout as exc:  # nothing was sent
            raise TemporaryFailure(
                f"fitconnect: {method} {url}: could not connect within {self.timeout} s"
            ) from exc
        except requests.RequestException as exc:
            if is_read_timeout(exc):
                raise NoAnswer(
                    f"fitconnect: {method} {url}: no answer within {self.timeout} s", self.timeout
                ) from exc
            raise TemporaryFailure(
                f"fitconnect: {method} {url}: connection failed: {type(exc).__name__}"
            ) from exc

    def authenticate(self) -> None:
        """OAuth2 client credentials at ``token_url``; keeps the bearer token for the session."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self.opts["client_id"],
            "client_secret": self.opts["client_secret"],
        }
        if self.opts.get("scope"):
            form["scope"] = self.opts["scope"]
        response = self._send(
            "POST", self.opts["token_url"], data=form, headers={"Accept": "application/json"}
        )
        if response.status_code in (400, 401, 403):
            raise InvalidConfig(
                f"fitconnect: token endpoint refused the client credentials "
                f"(HTTP {response.status_code}: {_problem(response)})"
            )
        if response.status_code != 200:
            self.fail(response, "token request")
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError):
            raise TemporaryFailure(
                "fitconnect: token endpoint answered without an access_token"
            ) from None
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(
        self,
        method: str,
        path: str,
        expected: Iterable[int],
        *,
        what: str,
        **kwargs: Any,
    ) -> requests.Response:
        """Send ``method path``; return the response if its status is ``expected`` or 409."""
        response = self._send(method, self.base + path, **kwargs)
        if response.status_code in set(expected) | {409}:
            return response
        self.fail(response, what)

    def get_json(self, path: str, *, what: str) -> Any:
        """GET ``path`` expecting 200 and a JSON body (anything else: see the module's mapping)."""
        response = self.call("GET", path, (200,), what=what, headers={"Accept": "application/json"})
        if response.status_code != 200:
            self.fail(response, what)
        try:
            return response.json()
        except ValueError:
            raise TemporaryFailure(f"fitconnect: {what}: answer is not JSON") from None

    def fail(self, response: requests.Response, what: str) -> NoReturn:
        """Raise the error that matches ``response`` (see the module docstring)."""
        status = response.status_code
        message = f"fitconnect: {what}: HTTP {status}: {_problem(response)}"
        if status >= 500 or status in RETRYABLE_4XX:
            raise TemporaryFailure(message)
        if status in (401, 403) or (status == 404 and what.startswith("destination")):
            raise InvalidConfig(message)
        raise PermanentFailure(message)

    @staticmethod
    def json_body(doc: Any) -> dict[str, Any]:
        """Keyword arguments that send ``doc`` as a JSON body."""
        return {
            "data": json.dumps(doc).encode("utf-8"),
            "headers": {"Content-Type": "application/json", "Accept": "application/json"},
        }
