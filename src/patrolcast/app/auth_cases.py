"""Signing in and out: browser sessions, personal tokens, re-authentication, activation.

Also :func:`principal_for`, which turns a presented secret (cookie or bearer token) into the
authenticated :class:`Principal`, checking the CSRF token for browser sessions on every request
that changes anything.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from patrolcast.app.context import AppContext, Principal
from patrolcast.app.inputs import ActivateInput, LoginInput, ReauthInput, TokenInput
from patrolcast.errors import AuthenticationError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import as_utc
from patrolcast.governance.db import run_transaction
from patrolcast.governance.identity import sessions
from patrolcast.governance.identity.sign_in import activate, authenticate, reauthenticate
from patrolcast.governance.models import AuthSession
from patrolcast.governance.roles import Role

__all__ = [
    "activate_account",
    "list_tokens",
    "login",
    "logout",
    "me",
    "principal_for",
    "reauth",
    "revoke_token",
    "token",
]

_TOUCH_EVERY = timedelta(seconds=60)


def _open(ctx: AppContext, body: LoginInput, kind: str, label: str = "",
          ttl: timedelta | None = None) -> dict[str, Any]:
    with ctx.db.session() as s:
        actor = authenticate(
            s, ctx.key, ctx.clock, username=body.username, password=body.password,
            totp=body.totp,
        )

        def work() -> dict[str, Any]:
            now = as_utc(ctx.clock.now())
            issued = sessions.issue(s, ctx.key, actor=actor, kind=kind, now=now, label=label,
                                    ttl=ttl)
            audit.append(
                s,
                actor=actor.username,
                action="session_open" if kind == "browser" else "token_issue",
                target_type="session",
                target_id=issued.id,
                outcome="done",
                detail={"kind": kind, "expires_at": issued.expires_at.isoformat(),
                        "label": label},
                now=now,
            )
            return {**issued.to_dict(), "user": actor.to_dict()}

        return run_transaction(s, work)


def login(ctx: AppContext, body: LoginInput) -> dict[str, Any]:
    """A browser session (the secret goes into an HttpOnly cookie, the CSRF token to the page)."""
    return _open(ctx, body, "browser")


def token(ctx: AppContext, body: TokenInput) -> dict[str, Any]:
    """A personal API token for the CLI (expiring, revocable)."""
    return _open(ctx, body, "token", label=body.label, ttl=timedelta(hours=body.hours))


def principal_for(
    ctx: AppContext, secret: str | None, *, csrf: str | None, changes: bool, via_cookie: bool
) -> Principal:
    """The person behind ``secret``; browser sessions must echo their CSRF token on writes."""
    if not secret:
        raise AuthenticationError("not signed in: sign in first")
    with ctx.db.session() as s:

        def work() -> Principal:
            now = as_utc(ctx.clock.now())
            before = s.execute(
                select(AuthSession.last_seen_at).where(
                    AuthSession.secret_mac == ctx.key.mac("session", secret)
                )
            ).scalar_one_or_none()
            found, actor = sessions.resolve(s, ctx.key, secret=secret, now=now)
            if via_cookie != (found.kind == "browser"):
                raise AuthenticationError("not signed in: sign in first")
            if found.kind == "browser" and changes and not sessions.csrf_ok(ctx.key, found, csrf):
                raise PermissionDenied("refused: missing or wrong CSRF token")
            if before is not None and now - before < _TOUCH_EVERY:
                found.last_seen_at = before  # no write for every request
            return Principal(actor=actor, session_id=found.id, kind=found.kind)

        return run_transaction(s, work)


def _own_session(ctx: AppContext, who: Principal, action: str, change: Any) -> dict[str, Any]:
    with ctx.db.session() as s:

        def work() -> dict[str, Any]:
            now = as_utc(ctx.clock.now())
            row = s.get(AuthSession, who.session_id)
            if row is None:
                raise AuthenticationError("not signed in: sign in first")
            out = change(row, now)
            audit.append(
                s,
                actor=who.username,
                action=action,
                target_type="session",
                target_id=row.id,
                outcome="done",
                detail={"kind": row.kind},
                now=now,
            )
            return out

        return run_transaction(s, work)


def reauth(ctx: AppContext, who: Principal, body: ReauthInput) -> dict[str, Any]:
    """Prove it again; opens a 5-minute window that the next sensitive action consumes."""
    with ctx.db.session() as s:
        reauthenticate(s, ctx.key, ctx.clock, username=who.username, password=body.password,
                       totp=body.totp)
    return _own_session(
        ctx, who, "reauth_window",
        lambda row, now: {"reauth_until": sessions.grant_reauth(row, now).isoformat()},
    )


def logout(ctx: AppContext, who: Principal) -> dict[str, Any]:
    def change(row: AuthSession, now: Any) -> dict[str, Any]:
        sessions.revoke(row, now)
        return {"signed_out": True}

    return _own_session(ctx, who, "logout", change)


def me(ctx: AppContext, who: Principal) -> dict[str, Any]:
    return {**who.actor.to_dict(), "via": who.kind}


def list_tokens(ctx: AppContext, who: Principal) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        rows = s.execute(
            select(AuthSession)
            .where(AuthSession.person_id == who.actor.person_id, AuthSession.kind == "token")
            .order_by(AuthSession.id)
        ).scalars()
        return [
            {"id": r.id, "label": r.label, "created_at": r.created_at.isoformat(),
             "expires_at": r.expires_at.isoformat(),
             "revoked": r.revoked_at is not None}
            for r in rows
        ]


def revoke_token(ctx: AppContext, who: Principal, token_id: int) -> dict[str, Any]:
    """Revoke one of your tokens (an administrator may revoke anyone's); audited."""
    with ctx.db.session() as s:

        def work() -> dict[str, Any]:
            now = as_utc(ctx.clock.now())
            row = s.get(AuthSession, token_id)
            mine = row is not None and row.person_id == who.actor.person_id
            if row is None or not (mine or who.actor.has(Role.ADMINISTRATOR)):
                raise PermissionDenied(f"refused: no token #{token_id} of yours")
            sessions.revoke(row, now)
            audit.append(s, actor=who.username, action="token_revoke", target_type="session",
                         target_id=row.id, outcome="done", detail={"kind": row.kind}, now=now)
            return {"revoked": row.id}

        return run_transaction(s, work)


def activate_account(ctx: AppContext, body: ActivateInput) -> dict[str, Any]:
    with ctx.db.session() as s:
        provisioning = activate(
            s, ctx.key, ctx.clock, username=body.username, code=body.code,
            new_password=body.password,
        )
    return {"activated": True, **(provisioning.to_dict() if provisioning else {})}
