"""An OpenID provider that misbehaves on purpose, for the relying-party conformance tests.

It serves discovery, JWKS, authorize (redirects straight back with code and state, recording the
nonce and the PKCE challenge), token (an ID token built from what the test configured) and
userinfo (or whatever status and body the test sets instead). Everything a test may change is a
plain attribute; ``DROP`` as a value removes a claim, header field, discovery or token response
field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from joserfc import jws
from joserfc.jwk import ECKey, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

DROP = object()  #: as a value in an override: remove the key
CLIENT_ID = "bizportal-company"  #: the portal's default company client id (config.py)


def b64url(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return b64url(digest[:16])


def _apply(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overrides.items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


class FakeProvider:
    """A provider on a free loopback port, in a thread. ``start()`` / ``stop()``."""

    def __init__(self, signing_key: RSAKey | ECKey, alg: str = "RS256"):
        self.signing_key = signing_key  #: signs the ID token (need not be published)
        self.alg = alg
        self.jwks_keys: list[RSAKey | ECKey | dict] = [signing_key]  #: what /jwks publishes
        self.claims: dict[str, Any] = {}  #: ID token claim overrides
        self.header: dict[str, Any] = {}  #: ID token header overrides
        #: None (sign normally), "none" (alg none, empty signature), "tamper" (change the payload
        #: after signing) or "hmac" (HS256 by hand with ``hmac_secret`` as the secret)
        self.forge: str | None = None
        self.hmac_secret = b""
        self.subject = "fiona.fake"
        self.userinfo_sub: Any = None  #: None: the ID token's sub; DROP: no sub
        self.userinfo_claims: dict[str, Any] = {"email": "fiona@fake.example"}
        #: None: userinfo answers with the claims; else (status, content type, body) to answer with
        self.userinfo_answer: tuple[int, str, str] | None = None
        self.token_response: dict[str, Any] = {}  #: token response overrides (after a valid code)
        self.discovery: dict[str, Any] = {}  #: discovery overrides
        self.paths = {"discovery": "/.well-known/openid-configuration", "authorize": "/authorize",
                      "token": "/token", "userinfo": "/userinfo", "jwks": "/jwks"}
        self.authorize_error: str | None = None
        self.delays: dict[str, float] = {}  #: endpoint -> seconds to wait before answering
        self.hits: Counter[str] = Counter()  #: endpoint -> requests served (404s under "unknown")
        self.pending: dict[str, dict[str, str]] = {}  #: code -> authorization request
        self.redeemed: list[dict[str, str]] = []  #: token requests that passed code and PKCE checks
        self.issued: list[str] = []  #: every ID token and access token handed out
        self._stop = threading.Event()
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.base = f"http://127.0.0.1:{self._server.server_port}"
        self.issuer = self.base
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fake-oidc")

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes up handlers that are sleeping to simulate a slow provider
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- what the provider says ---------------------------------------------------------------

    def discovery_document(self) -> dict[str, Any]:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": self.base + self.paths["authorize"],
            "token_endpoint": self.base + self.paths["token"],
            "userinfo_endpoint": self.base + self.paths["userinfo"],
            "jwks_uri": self.base + self.paths["jwks"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            # advertises everything, so the portal must pin its own list
            "id_token_signing_alg_values_supported": ["RS256", "RS384", "ES256", "HS256", "none"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }
        return _apply(doc, self.discovery)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k if isinstance(k, dict) else k.as_dict(private=False) for k in self.jwks_keys]}

    def id_token(self, nonce: str | None, access_token: str) -> str:
        now = int(time.time())
        claims = _apply({
            "iss": self.issuer, "sub": self.subject, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
            "nonce": nonce, "name": "Fiona Fake", "org_id": "fake-org-1", "org_name": "Fake Werkstatt GmbH",
        }, self.claims)
        if claims.get("nonce") is None:
            claims.pop("nonce", None)
        header = _apply({"alg": self.alg, "kid": self.signing_key.kid}, self.header)
        payload = json.dumps(claims)
        if self.forge == "none":
            return f"{b64url(json.dumps(_apply(header, {'alg': 'none'})))}.{b64url(payload)}."
        if self.forge == "hmac":
            signing_input = f"{b64url(json.dumps(_apply(header, {'alg': 'HS256'})))}.{b64url(payload)}"
            mac = hmac.new(self.hmac_secret, signing_input.encode(), hashlib.sha256).digest()
            return f"{signing_input}.{b64url(mac)}"
        token = jws.serialize_compact(header, payload, self.signing_key, algorithms=[header["alg"]])
        if self.forge == "tamper":
            head, _payload, signature = token.split(".")
            token = f"{head}.{b64url(json.dumps({**claims, 'sub': 'somebody.else'}))}.{signature}"
        return token

    # -- the endpoints ------------------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        endpoint = next((name for name, path in self.paths.items() if path == request.path), "unknown")
        self.hits[endpoint] += 1
        if self.delays.get(endpoint):
            self._stop.wait(self.delays[endpoint])
        handler = getattr(self, "_" + endpoint, None)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    @staticmethod
    def _json(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def _discovery(self, request: Request) -> Response:
        return self._json(self.discovery_document())

    def _jwks(self, request: Request) -> Response:
        return self._json(self.jwks())

    def _authorize(self, request: Request) -> Response:
        args = request.args
        redirect_uri = args["redirect_uri"]
        if self.authorize_error:
            query = {"error": self.authorize_error, "state": args.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            self.pending[code] = args.to_dict()
            query = {"code": code, "state": args.get("state", "")}
        return Response(status=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}"})

    def _token(self, request: Request) -> Response:
        form = request.form
        auth = request.authorization
        if not auth or auth.username != CLIENT_ID:
            return self._json({"error": "invalid_client"}, 401)
        started = self.pending.pop(form.get("code", ""), None)
        if started is None or form.get("grant_type") != "authorization_code":
            return self._json({"error": "invalid_grant", "error_description": "unknown code"}, 400)
        verifier = form.get("code_verifier", "")
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        if started.get("code_challenge_method") != "S256" or challenge != started.get("code_challenge") \
                or form.get("redirect_uri") != started.get("redirect_uri"):
            return self._json({"error": "invalid_grant", "error_description": "PKCE or redirect_uri"}, 400)
        self.redeemed.append(started)
        access_token = secrets.token_urlsafe(24)
        id_token = self.id_token(started.get("nonce"), access_token)
        self.issued += [access_token, id_token]
        return self._json(_apply({"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                                  "id_token": id_token}, self.token_response))

    def _userinfo(self, request: Request) -> Response:
        if self.userinfo_answer is not None:
            status, content_type, body = self.userinfo_answer
            return Response(body, status=status, content_type=content_type)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.issued:
            return self._json({"error": "invalid_token"}, 401)
        sub = self.subject if self.userinfo_sub is None else self.userinfo_sub
        return self._json(_apply({**self.userinfo_claims, "sub": sub}, {"sub": DROP} if sub is DROP else {}))
