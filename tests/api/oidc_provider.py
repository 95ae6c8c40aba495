"""A small, real OpenID Connect provider for tests, served over HTTP on 127.0.0.1.

Discovery document, JWKS (an RSA key generated at start-up), an authorize endpoint that
auto-approves the configured user and redirects back with a one-time code, and a token endpoint
that checks the client's secret, the redirect URI and PKCE (S256) before returning an ID token
signed with that key. A test can make the provider misbehave: change or delete claims of the next
ID tokens (``changes``), alter a signed token's payload without re-signing (``tamper``), send an
unsigned token (``unsigned``), or answer the authorization request with an error (``deny``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

__all__ = ["TestProvider"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


class TestProvider:
    """Start with :meth:`start`, stop with :meth:`stop`; ``issuer`` is its base URL."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, client_id: str, client_secret: str, redirect_uri: str,
                 now: Callable[[], datetime]) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.now = now
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256",
                                                         "use": "sig"}, private=True)
        self.user: dict[str, Any] = {"sub": "u-ana", "preferred_username": "ana"}
        self.changes: dict[str, Any] = {}  # claim -> value (None deletes it) in next ID tokens
        self.tamper: dict[str, Any] = {}  # payload changes made AFTER signing
        self.unsigned = False
        self.deny: str | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.issued: list[str] = []  # every code and ID token handed out
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> TestProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                provider._get(self)

            def do_POST(self) -> None:  # noqa: N802
                provider._post(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    # -- HTTP -------------------------------------------------------------------------------

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: dict[str, Any] | None = None,
              location: str | None = None) -> None:
        data = json.dumps(body or {}).encode("utf-8")
        h.send_response(status)
        if location:
            h.send_header("Location", location)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        if url.path == "/.well-known/openid-configuration":
            self._send(h, 200, {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            })
        elif url.path == "/jwks":
            self._send(h, 200, {"keys": [self.key.as_dict(private=False)]})
        elif url.path == "/authorize":
            self._authorize(h, {k: v[0] for k, v in parse_qs(url.query).items()})
        else:
            self._send(h, 404, {"error": "not_found"})

    def _authorize(self, h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
        self.authorize_requests.append(q)
        ok = (
            q.get("response_type") == "code"
            and q.get("client_id") == self.client_id
            and q.get("redirect_uri") == self.redirect_uri
            and "openid" in q.get("scope", "").split()
            and q.get("code_challenge_method") == "S256"
            and len(q.get("code_challenge", "")) == 43
            and q.get("state")
            and q.get("nonce")
        )
        if not ok:  # never redirect to an unchecked URI
            self._send(h, 400, {"error": "invalid_request"})
            return
        back = {"state": q["state"]}
        if self.deny:
            back["error"] = self.deny
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"challenge": q["code_challenge"], "nonce": q["nonce"],
                                "redirect_uri": q["redirect_uri"], "user": dict(self.user)}
            self.issued.append(code)
            back["code"] = code
        self._send(h, 302, location=f"{q['redirect_uri']}?{urlencode(back)}")

    def _client_ok(self, h: BaseHTTPRequestHandler) -> bool:
        header = h.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        given = base64.b64decode(header[6:]).decode("utf-8")
        return hmac.compare_digest(given, f"{self.client_id}:{self.client_secret}")

    def _post(self, h: BaseHTTPRequestHandler) -> None:
        if urlsplit(h.path).path != "/token":
            self._send(h, 404, {"error": "not_found"})
            return
        length = int(h.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(h.rfile.read(length).decode("utf-8")).items()}
        if not self._client_ok(h):
            self._send(h, 401, {"error": "invalid_client"})
            return
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        verifier = form.get("code_verifier", "")
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or form.get("redirect_uri") != grant["redirect_uri"]
            or _b64(hashlib.sha256(verifier.encode("ascii")).digest()) != grant["challenge"]
        ):
            self._send(h, 400, {"error": "invalid_grant"})
            return
        id_token = self.id_token(grant["user"], grant["nonce"])
        self.issued.append(id_token)
        self._send(h, 200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                            "expires_in": 300, "id_token": id_token})

    # -- ID tokens --------------------------------------------------------------------------

    def id_token(self, user: dict[str, Any], nonce: str) -> str:
        now = int(self.now().timestamp())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.client_id, "iat": now,
                                  "exp": now + 300, "auth_time": now, "nonce": nonce, **user}
        for name, value in self.changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        if self.unsigned:
            header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            return f"{header}.{_b64(json.dumps(claims).encode())}."
        token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key, algorithms=["RS256"])
        if self.tamper:
            header, _payload, signature = token.split(".")
            payload = _b64(json.dumps({**claims, **self.tamper}).encode())
            token = f"{header}.{payload}.{signature}"
        return token
