"""Enrolment, sign-in with lockout, re-authentication, and the first administrator. All audited.

An administrator creates an account; the server issues a one-time *enrolment code* (valid 72 h,
only its HMAC stored) that the administrator hands over. The person activates the account with
the code and a password of their own; holders of the roles in ``TOTP_ROLES`` receive a TOTP
secret at activation and must give a current code at every sign-in and re-authentication.

Sign-in failures are counted per account; ``MAX_FAILURES`` in a row lock it for ``LOCKOUT``.
Every sign-in, failure, lockout, activation and re-authentication is an audit entry (the
password and codes never are). Messages to the caller never say which part was wrong.

Public API
----------
``bootstrap_administrator(session, key, clock, *, username, password, display_name="")``,
``issue_enrolment(session, key, *, person_id, username, now) -> Enrolment`` (inside the
caller's transaction), ``activate(session, key, clock, *, username, code, new_password)``,
``authenticate(session, key, clock, *, username, password, totp) -> Actor``,
``reauthenticate(session, key, clock, *, username, password, totp)``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patrolcast.errors import AuthenticationError, InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import Clock, as_utc
from patrolcast.governance.db import KeptRefusal, run_keeping_refusals, run_transaction
from patrolcast.governance.identity import credentials as cr
from patrolcast.governance.identity.keys import ServerKey
from patrolcast.governance.models import Credential, Person, RoleGrant
from patrolcast.governance.roles import Actor, Role, find_actor

__all__ = [
    "ENROLMENT_TTL",
    "LOCKOUT",
    "MAX_FAILURES",
    "Enrolment",
    "TotpProvisioning",
    "activate",
    "authenticate",
    "bootstrap_administrator",
    "issue_enrolment",
    "reauthenticate",
]

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
ENROLMENT_TTL = timedelta(hours=72)
_REFUSED = "sign-in refused: wrong username, password or code, or the account is locked"
_NAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")


@dataclass(frozen=True)
class Enrolment:
    """A one-time code to hand to the person (shown once; only its HMAC is stored)."""

    username: str
    code: str
    expires_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "username": self.username,
            "enrolment_code": self.code,
            "expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class TotpProvisioning:
    """The TOTP secret for an authenticator app (shown once)."""

    secret: str
    uri: str

    def to_dict(self) -> dict[str, str]:
        return {"totp_secret": self.secret, "totp_uri": self.uri}


def _audit_name(username: str) -> str:
    """A typed username as it may appear in the log: only if it looks like one (a password
    typed into the username field must never be written down)."""
    name = (username or "").strip().casefold()
    return name if _NAME.fullmatch(name) else "(malformed)"


def _credential(session: Session, person_id: int) -> Credential | None:
    return session.execute(
        select(Credential).where(Credential.person_id == person_id).with_for_update()
    ).scalar_one_or_none()


def _person(session: Session, username: str) -> Person | None:
    name = (username or "").strip().casefold()
    if not _NAME.fullmatch(name):
        return None
    return session.execute(select(Person).where(Person.username == name)).scalar_one_or_none()


def bootstrap_administrator(
    session: Session,
    key: ServerKey,
    clock: Clock,
    *,
    username: str,
    password: str,
    display_name: str = "",
) -> TotpProvisioning:
    """Create the first administrator, with password and TOTP, on a database with no users.

    Refused on any database that already has a user: there is no other way to make an account
    without an administrator.
    """
    name = (username or "").strip().casefold()
    if not _NAME.fullmatch(name):
        raise InputError("username: 2-32 characters, a lower-case letter then a-z, 0-9, . _ -")
    cr.check_new_password(password, name)
    secret = cr.new_totp_secret()

    def work() -> TotpProvisioning:
        now = as_utc(clock.now())
        if session.execute(select(func.count(Person.id))).scalar_one():
            raise PermissionDenied(
                "bootstrap is only for an empty database: this one has users "
                "(an administrator adds accounts through the server)"
            )
        person = Person(username=name, display_name=display_name, rank=None, created_at=now)
        person.grants.append(
            RoleGrant(
                role=Role.ADMINISTRATOR.value,
                borough=None,
                granted_at=now,
                granted_by="(bootstrap)",
            )
        )
        session.add(person)
        session.flush()
        cred = Credential(
            person_id=person.id,
            password_hash=cr.hash_password(password),
            totp_secret=key.encrypt(secret),
            totp_last_step=0,
            failed_attempts=0,
            changed_at=now,
        )
        cr.seal(key, cred, name)
        session.add(cred)
        session.flush()
        audit.append(
            session,
            actor="(bootstrap)",
            action="bootstrap_administrator",
            target_type="person",
            target_id=name,
            outcome="done",
            detail={"roles": [Role.ADMINISTRATOR.value], "totp": True},
            now=now,
        )
        return TotpProvisioning(secret=secret, uri=cr.totp_uri(secret, name))

    return run_transaction(session, work)


def issue_enrolment(
    session: Session, key: ServerKey, *, person_id: int, username: str, now: datetime
) -> Enrolment:
    """(Re)issue a one-time enrolment code; clears the password and TOTP secret. No commit."""
    code = secrets.token_urlsafe(18)
    expires = as_utc(now) + ENROLMENT_TTL
    cred = _credential(session, person_id)
    if cred is None:
        cred = Credential(person_id=person_id, totp_last_step=0, failed_attempts=0)
        session.add(cred)
    cred.password_hash = None
    cred.totp_secret = None
    cred.enrolment_code_hash = key.mac("enrolment", username, code)
    cred.enrolment_expires_at = expires
    cred.failed_attempts = 0
    cred.locked_until = None
    cred.changed_at = as_utc(now)
    cr.seal(key, cred, username)
    session.flush()
    return Enrolment(username=username, code=code, expires_at=expires)


def activate(
    session: Session,
    key: ServerKey,
    clock: Clock,
    *,
    username: str,
    code: str,
    new_password: str,
) -> TotpProvisioning | None:
    """Set the password with a one-time enrolment code; returns the TOTP secret if required."""
    name = (username or "").strip().casefold()
    cr.check_new_password(new_password, name)

    def work() -> TotpProvisioning | None:
        now = as_utc(clock.now())
        person = _person(session, name)
        cred = _credential(session, person.id) if person else None
        ok = (
            person is not None
            and cred is not None
            and cr.is_sealed(key, cred, person.username)
            and cred.enrolment_code_hash is not None
            and cred.enrolment_expires_at is not None
            and now < cred.enrolment_expires_at
            and secrets.compare_digest(
                cred.enrolment_code_hash, key.mac("enrolment", person.username, code or "")
            )
        )
        if not ok or person is None or cred is None:
            audit.append(
                session,
                actor=_audit_name(name),
                action="account_activate",
                target_type="person",
                target_id=_audit_name(name),
                outcome="denied",
                detail={"rule": "enrolment-code", "reason": "unknown, used or expired code"},
                now=now,
            )
            refused = AuthenticationError("activation refused: unknown, used or expired code")
            raise KeptRefusal(refused)
        actor = find_actor(session, person.username)
        assert actor is not None
        provisioning: TotpProvisioning | None = None
        cred.password_hash = cr.hash_password(new_password)
        cred.enrolment_code_hash = None
        cred.enrolment_expires_at = None
        if cr.needs_totp(actor.roles):
            secret = cr.new_totp_secret()
            cred.totp_secret = key.encrypt(secret)
            provisioning = TotpProvisioning(secret=secret, uri=cr.totp_uri(secret, actor.username))
        cred.changed_at = now
        cr.seal(key, cred, person.username)
        session.flush()
        audit.append(
            session,
            actor=person.username,
            action="account_activate",
            target_type="person",
            target_id=person.username,
            outcome="done",
            detail={"totp": provisioning is not None},
            now=now,
        )
        return provisioning

    return run_keeping_refusals(session, work)


def _check(
    session: Session,
    key: ServerKey,
    *,
    username: str,
    password: str,
    totp: str | None,
    now: datetime,
    action: str,
) -> Actor:
    """Check password (+ TOTP) for ``username`` inside a transaction; audit the outcome."""
    name = (username or "").strip().casefold()
    person = _person(session, name)
    cred = _credential(session, person.id) if person else None
    actor = find_actor(session, person.username) if person else None

    def refuse(rule: str, *, count: bool = True) -> KeptRefusal:
        detail: dict[str, object] = {"rule": rule}
        if cred is not None and count:
            cred.failed_attempts = (cred.failed_attempts or 0) + 1
            if cred.failed_attempts >= MAX_FAILURES:
                cred.locked_until = now + LOCKOUT
                cred.failed_attempts = 0
                detail["locked_until"] = cred.locked_until.isoformat()
            session.flush()
        audit.append(
            session,
            actor=_audit_name(name),
            action=action,
            target_type="person",
            target_id=_audit_name(name),
            outcome="denied",
            detail=detail,
            now=now,
        )
        if "locked_until" in detail:
            audit.append(
                session,
                actor="(server)",
                action="lockout",
                target_type="person",
                target_id=_audit_name(name),
                outcome="done",
                detail={"until": detail["locked_until"], "failures": MAX_FAILURES},
                now=now,
            )
        return KeptRefusal(AuthenticationError(_REFUSED))

    if person is None or cred is None or actor is None:
        raise refuse("unknown-account")
    if not cr.is_sealed(key, cred, person.username):
        raise refuse("credential-not-sealed", count=False)
    if cred.disabled_at is not None:
        raise refuse("account-disabled", count=False)
    if cred.locked_until is not None and now < cred.locked_until:
        raise refuse("locked", count=False)
    if not cr.password_matches(cred.password_hash, password):
        raise refuse("wrong-password")
    if cr.needs_totp(actor.roles) or cred.totp_secret:
        if not cred.totp_secret:
            raise refuse("totp-not-enrolled", count=False)
        step = cr.accept_totp(key.decrypt(cred.totp_secret), totp or "", cred.totp_last_step, now)
        if step is None:
            raise refuse("wrong-totp")
        cred.totp_last_step = step
    cred.failed_attempts = 0
    cred.locked_until = None
    session.flush()
    audit.append(
        session,
        actor=person.username,
        action=action,
        target_type="person",
        target_id=person.username,
        outcome="done",
        detail={"second_factor": bool(cred.totp_secret)},
        now=now,
    )
    return actor


def authenticate(
    session: Session,
    key: ServerKey,
    clock: Clock,
    *,
    username: str,
    password: str,
    totp: str | None = None,
    action: str = "login",
) -> Actor:
    """The actor whose password (and TOTP code, where required) this is; commits the audit.

    Raises :class:`AuthenticationError` with one message for every kind of failure.
    """

    def work() -> Actor:
        return _check(
            session,
            key,
            username=username,
            password=password,
            totp=totp,
            now=as_utc(clock.now()),
            action=action,
        )

    return run_keeping_refusals(session, work)


def reauthenticate(
    session: Session,
    key: ServerKey,
    clock: Clock,
    *,
    username: str,
    password: str,
    totp: str | None,
) -> Actor:
    """Prove it again (password + TOTP) immediately before a sensitive action; audited."""
    return authenticate(
        session, key, clock, username=username, password=password, totp=totp, action="reauth"
    )
