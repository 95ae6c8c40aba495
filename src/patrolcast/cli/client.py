"""The CLI's side of the API: a personal token kept 0600, and calls to declared actions.

``patrolcast login`` stores a personal token per server in
``$XDG_CONFIG_HOME/patrolcast/credentials.json`` (default ``~/.config``), created with mode 0600
in a 0700 folder; a file others can read is refused. Governance commands find the server from
``--server``, then ``PATROLCAST_SERVER_URL``/settings, then the server of the last login.
Errors from the server come back as the same one-line errors the services raise.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import httpx

from patrolcast.app.actions import action
from patrolcast.config import load_settings
from patrolcast.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    PatrolcastError,
    PermissionDenied,
    ReauthenticationRequired,
)

__all__ = ["ApiClient", "credentials_path", "forget_token", "load_token", "save_token"]


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "patrolcast" / "credentials.json"


def _read() -> dict[str, Any]:
    path = credentials_path()
    if not path.exists():
        return {"servers": {}, "default": None}
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(f"{path} is readable by other users: chmod 600 {path} (then log in again)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path} is not readable JSON: delete it and log in again") from None
    if not isinstance(data, dict) or not isinstance(data.get("servers"), dict):
        raise InputError(f"{path} is not a patrolcast credentials file")
    return data


def _write(data: dict[str, Any]) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _norm(server: str) -> str:
    server = server.strip().rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise InputError(f"server {server!r}: give a URL such as http://127.0.0.1:8787")
    return server


def save_token(server: str, token: str, username: str, expires_at: str, token_id: int) -> Path:
    data = _read()
    server = _norm(server)
    data["servers"][server] = {
        "token": token, "username": username, "expires_at": expires_at, "id": token_id,
    }
    data["default"] = server
    _write(data)
    return credentials_path()


def load_token(server: str) -> str | None:
    entry = _read()["servers"].get(_norm(server))
    return str(entry["token"]) if entry else None


def forget_token(server: str) -> None:
    data = _read()
    data["servers"].pop(_norm(server), None)
    if data.get("default") == _norm(server):
        data["default"] = None
    _write(data)


def resolve_server(server: str | None) -> str:
    """``--server``, else settings (``PATROLCAST_SERVER_URL``), else the last login's server."""
    if server:
        return _norm(server)
    configured = load_settings().server_url
    if configured:
        return _norm(configured)
    default = _read().get("default")
    if default:
        return str(default)
    raise InputError(
        "no server: give --server URL (or log in first: patrolcast login --server URL)"
    )


_ERRORS: dict[str, type[PatrolcastError]] = {
    "not-authenticated": AuthenticationError,
    "reauth-required": ReauthenticationRequired,
    "refused": PermissionDenied,
    "conflict": ConflictError,
    "bad-input": InputError,
    "invalid": InputError,
}


class ApiClient:
    """Calls the server as the person whose token this is."""

    def __init__(self, server: str, token: str | None = None, *, timeout: float = 120.0) -> None:
        self.server = _norm(server)
        self.token = token if token is not None else load_token(self.server)
        self.timeout = timeout

    @classmethod
    def signed_in(cls, server: str | None) -> ApiClient:
        url = resolve_server(server)
        client = cls(url)
        if not client.token:
            raise AuthenticationError(f"not signed in to {url}: patrolcast login --server {url}")
        return client

    def request(self, method: str, path: str, *, json_body: Any = None,
                params: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = httpx.request(
                method, self.server + path, json=json_body, params=params, headers=headers,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise InputError(f"cannot reach the server at {self.server}: {exc}") from None
        if response.status_code < 400 and response.headers.get("content-type", "").startswith(
            "text/plain"
        ):
            return response.text
        if response.status_code < 400 and response.headers.get("content-type") == "application/pdf":
            return response.content  # a document (e.g. a briefing pack), as bytes
        try:
            payload = response.json()
        except ValueError:
            payload = {"error": response.text[:200]}
        if response.status_code >= 400:
            message = payload.get("error") if isinstance(payload, dict) else None
            kind = _ERRORS.get(str(payload.get("code")) if isinstance(payload, dict) else "",
                               PatrolcastError)
            raise kind(str(message or f"server error {response.status_code}"))
        return payload

    def call(self, name: str, target: Any = None, body: dict[str, Any] | None = None) -> Any:
        """Run a declared action on the server (method and path from its declaration)."""
        spec = action(name)
        path = spec.path.format(**{spec.target: target}) if spec.target else spec.path
        clean = {k: v for k, v in (body or {}).items() if v is not None}
        if spec.method == "GET":
            return self.request("GET", path, params=clean)
        return self.request(spec.method, path, json_body=clean)
