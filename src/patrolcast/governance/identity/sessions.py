"""Browser sessions and personal API tokens: issue, resolve, re-authenticate, revoke.

A secret is handed to the client once (a cookie for a browser, a bearer token for the CLI);
the table keeps only its HMAC under the server key. Browser sessions end after
``BROWSER_IDLE`` without a request or ``BROWSER_ABSOLUTE`` after sign-in, whichever is first,
and carry a CSRF token (double-submit: the page sends it back in a header). Personal tokens
expire (``TOKEN_DEFAULT``, at most ``TOKEN_MAX``) and can be revoked. A successful
re-authentication opens a ``REAUTH_WINDOW`` that the next sensitive action consumes.

Public API
----------
``Issued``, ``issue(session, key, *, actor, kind, now, label="", ttl=None) -> Issued`` (no
commit), ``resolve(session, key, *, secret, now) -> tuple[AuthSession, Actor]``,
``csrf_ok(key, row, csrf)``, ``grant_reauth(row, now)``, ``consume_reauth(row, now) -> bool``,
``revoke(row, now)``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrolcast.errors import AuthenticationError, InputError
from patrolcast.governance.clock import as_utc
from patrolcast.governance.identity.keys import ServerKey
from patrolcast.governance.models import AuthSession, Credential, Person
from patrolcast.governance.roles import Actor, find_actor

__all__ = [
    "BROWSER_ABSOLUTE",
    "BROWSER_IDLE",
    "REAUTH_WINDOW",
    "TOKEN_DEFAULT",
    "TOKEN_MAX",
    "Issued",
    "consume_reauth",
    "csrf_ok",
    "grant_reauth",
    "issue",
    "resolve",
    "revoke",
]

BROWSER_IDLE = timedelta(minutes=30)
BROWSER_ABSOLUTE = timedelta(hours=12)
TOKEN_DEFAULT = timedelta(hours=12)
TOKEN_MAX = timedelta(days=30)
TOKEN_IDLE = timedelta(days=7)
REAUTH_WINDOW = timedelta(minutes=5)
_EXPIRED = "not signed in, or the session has expired or was revoked: sign in again"


@dataclass(frozen=True)
class Issued:
    """A new session or token: the secret is shown once and never stored."""

    id: int
    kind: str
    secret: str
    csrf: str | None
    expires_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "token": self.secret,
            "csrf_token": self.csrf,
            "expires_at": self.expires_at.isoformat(),
        }


def issue(
    session: Session,
    key: ServerKey,
    *,
    actor: Actor,
    kind: str,
    now: datetime,
    label: str = "",
    ttl: timedelta | None = None,
) -> Issued:
    """Add a browser session (``kind="browser"``) or a personal token (``"token"``)."""
    now = as_utc(now)
    if kind == "browser":
        lifetime, idle, csrf = BROWSER_ABSOLUTE, BROWSER_IDLE, secrets.token_urlsafe(24)
    elif kind == "token":
        lifetime = ttl or TOKEN_DEFAULT
        if not timedelta(minutes=1) <= lifetime <= TOKEN_MAX:
            raise InputError(f"a token lasts between 1 minute and {TOKEN_MAX.days} days")
        idle, csrf = min(TOKEN_IDLE, lifetime), None
    else:
        raise InputError("session kind is browser or token")
    if len(label) > 64 or any(not ch.isprintable() for ch in label):
        raise InputError("token label: at most 64 printable characters")
    prefix = "pcs_" if kind == "browser" else "pct_"
    secret = prefix + secrets.token_urlsafe(32)
    row = AuthSession(
        kind=kind,
        person_id=actor.person_id,
        secret_mac=key.mac("session", secret),
        csrf_mac=key.mac("csrf", csrf) if csrf else None,
        label=label,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        idle_seconds=int(idle.total_seconds()),
    )
    session.add(row)
    session.flush()
    return Issued(id=row.id, kind=kind, secret=secret, csrf=csrf, expires_at=row.expires_at)


def resolve(
    session: Session, key: ServerKey, *, secret: str, now: datetime
) -> tuple[AuthSession, Actor]:
    """The live session for ``secret`` and its person (touches ``last_seen_at``, no commit)."""
    now = as_utc(now)
    if not secret or len(secret) > 200:
        raise AuthenticationError(_EXPIRED)
    row = session.execute(
        select(AuthSession).where(AuthSession.secret_mac == key.mac("session", secret))
    ).scalar_one_or_none()
    if (
        row is None
        or row.revoked_at is not None
        or now >= row.expires_at
        or now - row.last_seen_at > timedelta(seconds=row.idle_seconds)
    ):
        raise AuthenticationError(_EXPIRED)
    person = session.get(Person, row.person_id)
    cred = session.get(Credential, row.person_id)
    if person is None or cred is None or cred.disabled_at is not None:
        raise AuthenticationError(_EXPIRED)
    actor = find_actor(session, person.username)
    if actor is None:
        raise AuthenticationError(_EXPIRED)
    row.last_seen_at = now
    return row, actor


def csrf_ok(key: ServerKey, row: AuthSession, csrf: str | None) -> bool:
    """The double-submitted CSRF token matches the session's (browser sessions only)."""
    if row.csrf_mac is None or not csrf:
        return False
    return hmac.compare_digest(row.csrf_mac, key.mac("csrf", csrf))


def grant_reauth(row: AuthSession, now: datetime) -> datetime:
    row.reauth_until = as_utc(now) + REAUTH_WINDOW
    return row.reauth_until


def consume_reauth(row: AuthSession, now: datetime) -> bool:
    """True (and the window closed) if a re-authentication is still fresh."""
    fresh = row.reauth_until is not None and as_utc(now) < row.reauth_until
    row.reauth_until = None
    return fresh


def revoke(row: AuthSession, now: datetime) -> None:
    row.revoked_at = as_utc(now)
