"""Signing in, the server, and the first administrator.

``patrolcast serve`` runs the server (the only writer of the governance and intelligence
tables). ``patrolcast admin bootstrap`` creates the database and its first administrator, and is
refused on a database that has any user. Both use the one data home (``--home``): the database
is ``<home>/patrolcast.db`` and the keys ``<home>/keys`` (a PostgreSQL database is named by the
``database_url`` setting, ``PATROLCAST_DATABASE_URL``; the keys stay in the home).
``patrolcast login`` exchanges a password (and one-time code) for a personal token, stored with
0600 permissions; ``logout`` revokes it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from patrolcast.cli.client import (
    ApiClient,
    credentials_path,
    forget_token,
    resolve_server,
    save_token,
)
from patrolcast.cli.options import HOME, JSON, note
from patrolcast.errors import InputError

admin_app = typer.Typer(help="Setting up a new server.", no_args_is_help=True)
account_app = typer.Typer(help="Your own account.", no_args_is_help=True)
token_app = typer.Typer(help="Your personal API tokens.", no_args_is_help=True)

SERVER = typer.Option(None, "--server", help="Server URL (default: the last login's server).")
STDIN = typer.Option(
    False, "--password-stdin", help="Read the password (and the one-time code) from stdin lines."
)


def _emit(payload: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


def _shown(url: str) -> str:
    """A database URL safe to print (never its password)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('@', 1)[1]}"


def _lines(password_stdin: bool, *, code: bool, confirm: bool = False) -> tuple[str, str]:
    if password_stdin:
        lines = sys.stdin.read().splitlines()
        password = lines[0] if lines else ""
        otp = lines[1].strip() if code and len(lines) > 1 else ""
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
        otp = (typer.prompt("One-time code (blank if none)", default="", show_default=False)
               if code else "")
    if not password:
        raise InputError("no password given")
    return password, otp


@admin_app.command("bootstrap")
def bootstrap(
    username: str = typer.Option(..., help="The first administrator's username."),
    name: str = typer.Option("", help="Display name."),
    home: Path | None = HOME,
    password_stdin: bool = STDIN,
    as_json: bool = JSON,
) -> None:
    """Create the database and its first administrator (refused if it has any user)."""
    from patrolcast.app.runtime import bootstrap as run_bootstrap
    from patrolcast.cli.options import writing_home

    settings = writing_home(home, quiet=as_json)
    password, _ = _lines(password_stdin, code=False, confirm=not password_stdin)
    prov = run_bootstrap(settings, username=username, password=password, display_name=name)
    out = {"username": username.casefold(), **prov.to_dict(), "home": str(settings.home),
           "database": _shown(settings.effective_database_url), "keys": str(settings.keys_dir)}
    _emit(out, as_json,
          f"administrator {out['username']} created in {out['database']}\n"
          f"add this one-time-code secret to an authenticator app now (shown once):\n"
          f"  {prov.secret}\n  {prov.uri}\n"
          f"keys (keep private, back up): {settings.keys_dir}\n"
          f"start the server: patrolcast serve"
          + (f" --home {settings.home}" if home else "")
          + f"\nthen sign in:     patrolcast login --server http://127.0.0.1:8787 "
          f"--username {out['username']}")


@account_app.command("activate")
def activate(
    username: str = typer.Option(..., help="Your username."),
    code: str = typer.Option(..., help="The one-time enrolment code from your administrator."),
    password_stdin: bool = STDIN,
    server: str = SERVER,
    as_json: bool = JSON,
) -> None:
    """Set your password with your enrolment code (prints your one-time-code secret once)."""
    password, _ = _lines(password_stdin, code=False, confirm=not password_stdin)
    client = ApiClient(resolve_server(server), token="")
    out = client.request("POST", "/api/accounts/activate",
                         json_body={"username": username, "code": code, "password": password})
    text = "account activated"
    if out.get("totp_secret"):
        text += ("; add this one-time-code secret to an authenticator app now (shown once):\n"
                 f"  {out['totp_secret']}\n  {out['totp_uri']}")
    _emit(out, as_json, text)


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin")
    app.add_typer(account_app, name="account")
    app.add_typer(token_app, name="token")

    @app.command()
    def serve(
        home: Path | None = HOME,
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8787, help="Port."),
        tls_cert: Path = typer.Option(None, help="TLS certificate (PEM): serve HTTPS."),
        tls_key: Path = typer.Option(None, help="TLS private key (PEM)."),
    ) -> None:
        """Run the server (refuses a database that does not exist: bootstrap it first)."""
        import uvicorn

        from patrolcast.api.server import create_app
        from patrolcast.app.runtime import open_context
        from patrolcast.cli.options import reading_home
        from patrolcast.governance.signing import key_fingerprint

        if (tls_cert is None) != (tls_key is None):
            raise InputError("give both --tls-cert and --tls-key, or neither")
        if not 0 < port < 65536:
            raise InputError("--port must be between 1 and 65535")
        settings = reading_home(home)  # bootstrap creates the home; serve never does
        note(f"data home: {settings.home.resolve()}")
        ctx = open_context(settings)
        ctx.secure_cookies = tls_cert is not None
        scheme = "https" if tls_cert else "http"
        typer.echo(f"patrolcast server on {scheme}://{host}:{port} "
                   f"(database {_shown(settings.effective_database_url)}; audit key "
                   f"{key_fingerprint(ctx.signer.public_key_pem())})", err=True)
        uvicorn.run(create_app(ctx), host=host, port=port, log_level="warning",
                    ssl_certfile=str(tls_cert) if tls_cert else None,
                    ssl_keyfile=str(tls_key) if tls_key else None)

    @app.command()
    def login(
        username: str = typer.Option(..., help="Your username."),
        hours: float = typer.Option(12.0, help="Token lifetime in hours (at most 720)."),
        label: str = typer.Option("cli", help="A label to recognise the token by."),
        password_stdin: bool = STDIN,
        server: str = SERVER,
        as_json: bool = JSON,
    ) -> None:
        """Sign in: stores a personal token (0600) for this server."""
        url = resolve_server(server)
        password, otp = _lines(password_stdin, code=True)
        out = ApiClient(url, token="").request(
            "POST", "/api/auth/tokens",
            json_body={"username": username, "password": password, "totp": otp or None,
                       "label": label, "hours": hours},
        )
        path = save_token(url, str(out["token"]), out["user"]["username"],
                          str(out["expires_at"]), int(out["id"]))
        out.pop("token")
        _emit(out, as_json, f"signed in to {url} as {out['user']['username']} until "
              f"{out['expires_at']} (token in {path})")

    @app.command()
    def logout(server: str = SERVER, as_json: bool = JSON) -> None:
        """Revoke this machine's token for the server and forget it."""
        url = resolve_server(server)
        client = ApiClient(url)
        out: dict[str, Any] = {"signed_out": False}
        if client.token:
            try:
                out = client.request("POST", "/api/auth/logout")
            finally:
                forget_token(url)
        _emit(out, as_json, f"signed out of {url}")

    @app.command()
    def whoami(server: str = SERVER, as_json: bool = JSON) -> None:
        """Who the server says you are."""
        me = ApiClient.signed_in(server).request("GET", "/api/auth/me")
        _emit(me, as_json, f"{me['username']}: {', '.join(me['roles'])}"
              + (f" ({me['rank']})" if me.get("rank") else ""))


@token_app.command("list")
def token_list(server: str = SERVER, as_json: bool = JSON) -> None:
    """Your personal tokens."""
    rows = ApiClient.signed_in(server).request("GET", "/api/auth/tokens")
    _emit(rows, as_json, "\n".join(
        f"#{r['id']:<4} {r['label']:<16} expires {r['expires_at']}"
        + (" (revoked)" if r["revoked"] else "") for r in rows) or "no tokens")


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., help="Token id (see `token list`)."),
                 server: str = SERVER, as_json: bool = JSON) -> None:
    """Revoke one of your tokens."""
    out = ApiClient.signed_in(server).request("POST", f"/api/auth/tokens/{token_id}/revoke")
    _emit(out, as_json, f"revoked token #{out['revoked']}")


__all__ = ["credentials_path", "register"]
