"""Passwords (argon2id), TOTP second factor (RFC 6238), and the HMAC that seals a credential row.

Password hashes use argon2id (RFC 9106) through argon2-cffi with its default parameters; tests
may lower the cost with :func:`configure_hasher` (still argon2id). TOTP codes are six digits,
30-second steps, one step of clock drift either side, and a code (time step) once accepted is
never accepted again for that person (replay protection, RFC 6238 section 5.2).

Public API
----------
``TOTP_ROLES``, ``needs_totp(roles)``, ``check_new_password(password, username)``,
``hash_password``, ``password_matches``, ``new_totp_secret()``, ``totp_uri(secret, username)``,
``accept_totp(secret, code, last_step, now) -> int | None``, ``seal(key, cred, username)``,
``is_sealed(key, cred, username)``, ``configure_hasher(time_cost, memory_cost, parallelism)``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from patrolcast.errors import InputError
from patrolcast.governance.identity.keys import ServerKey
from patrolcast.governance.models import Credential
from patrolcast.governance.roles import Role

__all__ = [
    "ISSUER",
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "TOTP_ROLES",
    "accept_totp",
    "check_new_password",
    "configure_hasher",
    "hash_password",
    "is_sealed",
    "needs_totp",
    "new_totp_secret",
    "password_matches",
    "seal",
    "totp_uri",
]

PASSWORD_MIN = 12
PASSWORD_MAX = 256
ISSUER = "patrolcast"
STEP_SECONDS = 30

#: Roles whose holders must prove a second factor at every sign-in and re-authentication.
TOTP_ROLES: frozenset[Role] = frozenset(
    {
        Role.ADMINISTRATOR,
        Role.AUTHORISING_OFFICER,
        Role.TACTICAL_FIREARMS_COMMANDER,
        Role.STRATEGIC_FIREARMS_COMMANDER,
    }
)

_hasher = PasswordHasher()


def configure_hasher(time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4) -> None:
    """Set argon2id's cost (memory in KiB). Production keeps the defaults."""
    global _hasher
    _hasher = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
    )


def needs_totp(roles: Iterable[Role]) -> bool:
    return any(r in TOTP_ROLES for r in roles)


def check_new_password(password: str, username: str) -> None:
    """Refuse a password that is too short, too long, or contains the username."""
    if len(password) < PASSWORD_MIN:
        raise InputError(f"the password must have at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise InputError(f"the password must have at most {PASSWORD_MAX} characters")
    if username.casefold() in password.casefold():
        raise InputError("the password must not contain the username")
    if len(set(password)) < 5:
        raise InputError("the password must use at least 5 different characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored: str | None, password: str) -> bool:
    """True when ``password`` matches the stored argon2 hash (False for no hash)."""
    if not stored or len(password) > PASSWORD_MAX:
        return False
    try:
        return bool(_hasher.verify(stored, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    """``otpauth://`` URI an authenticator app reads (as text or a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def accept_totp(secret: str, code: str, last_step: int, now: datetime) -> int | None:
    """The time step ``code`` is valid for (one step of drift allowed), or None.

    A step at or before ``last_step`` (a code already used) is refused: the caller stores the
    returned step as the new ``last_step``.
    """
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step_now = int(now.timestamp()) // STEP_SECONDS
    for step in (step_now - 1, step_now, step_now + 1):
        if step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _material(cred: Credential, username: str) -> tuple[str | int, ...]:
    def stamp(when: datetime | None) -> str:
        return when.isoformat() if when else ""

    return (
        cred.person_id,
        username,
        cred.password_hash or "",
        cred.totp_secret or "",
        cred.enrolment_code_hash or "",
        stamp(cred.enrolment_expires_at),
        stamp(cred.disabled_at),
    )


def seal(key: ServerKey, cred: Credential, username: str) -> None:
    """Set ``cred.mac`` over the row's secret material (call after every change to it)."""
    cred.mac = key.mac("credential", *_material(cred, username))


def is_sealed(key: ServerKey, cred: Credential, username: str) -> bool:
    """False when the row was written by someone without the server's key."""
    return hmac.compare_digest(cred.mac or "", key.mac("credential", *_material(cred, username)))
