"""Which policy profiles exist, and the one a proposal is pinned to.

Profiles come from two places only: the files shipped inside the package, and profiles an
administrator installs through the server (stored with their exact text, name, version and
SHA-256, the installation audited). No environment variable, user config or file path chooses
one. A proposal stores the name, version and SHA-256 of the profile it was made under; every
later step resolves the same name and version and refuses if the text differs
(:func:`pinned_profile`), so a profile edited on disk or in the database after a proposal cannot
change the rules that proposal is decided by.

Public API
----------
``ProfileEntry`` (profile + where it came from), ``list_profiles(session)``,
``resolve_profile(session, name, version=None) -> PolicyProfile`` (latest version by default),
``pinned_profile(session, name, version, sha256) -> PolicyProfile`` (raises ``Refused``),
``install_profile(session, *, actor, clock, text) -> PolicyProfile`` (administrators only).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import Clock, as_utc
from patrolcast.governance.db import KeptRefusal, run_keeping_refusals
from patrolcast.governance.models import InstalledProfile
from patrolcast.governance.profiles import (
    PolicyProfile,
    available_profiles,
    check_profile_name,
    load_profile,
    parse_profile,
)
from patrolcast.governance.roles import Role, find_actor
from patrolcast.governance.states import Refused

__all__ = [
    "ProfileEntry",
    "install_profile",
    "list_profiles",
    "pinned_profile",
    "resolve_profile",
]

MAX_PROFILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class ProfileEntry:
    profile: PolicyProfile
    source: str  # "shipped" | "installed by <user> at <time>"

    def to_dict(self) -> dict[str, object]:
        return {**self.profile.to_dict(), "source": self.source}


def _installed(session: Session, name: str | None = None) -> list[InstalledProfile]:
    query = select(InstalledProfile).order_by(InstalledProfile.name, InstalledProfile.version)
    if name is not None:
        query = query.where(InstalledProfile.name == name)
    return list(session.execute(query).scalars())


def _parse_row(row: InstalledProfile) -> PolicyProfile:
    where = f"installed profile {row.name} v{row.version}"
    if hashlib.sha256(row.content.encode("utf-8")).hexdigest() != row.sha256:
        raise Refused("policy-tampered", f"{where} was changed in the database after installation")
    try:
        profile = parse_profile(row.content, where=where)
    except InputError as exc:
        raise Refused("policy-tampered", f"{where} no longer parses: {exc}") from None
    if (profile.name, profile.version) != (row.name, row.version):
        raise Refused("policy-tampered", f"{where} does not declare that name and version")
    return profile


def list_profiles(session: Session) -> list[ProfileEntry]:
    """Every profile version available: shipped ones, then installed ones."""
    entries = [ProfileEntry(load_profile(n), "shipped") for n in available_profiles()]
    for row in _installed(session):
        entries.append(
            ProfileEntry(
                _parse_row(row),
                f"installed by {row.installed_by} at {row.installed_at.isoformat()}",
            )
        )
    return entries


def _candidates(session: Session, name: str) -> list[PolicyProfile]:
    found: list[PolicyProfile] = []
    if name in available_profiles():
        found.append(load_profile(name))
    found.extend(_parse_row(r) for r in _installed(session, name))
    return found


def resolve_profile(session: Session, name: str, version: int | None = None) -> PolicyProfile:
    """The profile ``name`` at ``version`` (the highest version when None)."""
    check_profile_name(name)
    found = _candidates(session, name)
    if version is not None:
        found = [p for p in found if p.version == version]
    if not found:
        known = sorted({e.profile.name for e in list_profiles(session)})
        what = f"{name} v{version}" if version is not None else name
        raise InputError(f"unknown policy profile {what}: one of {', '.join(known)}")
    return max(found, key=lambda p: p.version)


def pinned_profile(session: Session, name: str, version: int | None, sha256: str | None) -> (
    PolicyProfile
):
    """The profile a proposal was made under, refusing if its text is no longer the same."""
    if version is None or sha256 is None:
        raise Refused(
            "policy-not-pinned",
            "this proposal predates policy pinning: withdraw it and propose again",
        )
    profile = resolve_profile(session, name, version)
    if profile.sha256 != sha256:
        raise Refused(
            "policy-changed",
            f"the text of policy profile {name} v{version} changed after this proposal was made "
            f"(pinned {sha256[:12]}, now {profile.sha256[:12]}): decisions are refused",
        )
    return profile


def install_profile(session: Session, *, actor: str, clock: Clock, text: str) -> PolicyProfile:
    """Install a new profile version (administrators only; audited; never overwrites)."""
    if len(text.encode("utf-8")) > MAX_PROFILE_BYTES:
        raise InputError("a policy profile is at most 64 KiB of TOML")
    profile = parse_profile(text, where="profile to install")
    check_profile_name(profile.name)

    def work() -> PolicyProfile:
        now = as_utc(clock.now())
        acting = find_actor(session, actor)
        if acting is None or not acting.has(Role.ADMINISTRATOR):
            audit.append(
                session,
                actor=actor,
                action="profile_install",
                target_type="policy_profile",
                target_id=profile.name,
                outcome="denied",
                detail={"rule": "administrator-only", "reason": "only an administrator installs"},
                now=now,
            )
            raise KeptRefusal(PermissionDenied("only an administrator installs policy profiles"))
        taken = {p.version for p in _candidates(session, profile.name)}
        if profile.version in taken or (taken and profile.version < max(taken)):
            raise InputError(
                f"policy profile {profile.name} v{profile.version} exists or is older than the "
                f"newest (v{max(taken)}): install a new version number"
            )
        session.add(
            InstalledProfile(
                name=profile.name,
                version=profile.version,
                sha256=profile.sha256,
                content=text,
                installed_by=actor,
                installed_at=now,
            )
        )
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="profile_install",
            target_type="policy_profile",
            target_id=profile.name,
            outcome="done",
            detail={"version": profile.version, "sha256": profile.sha256},
            now=now,
        )
        return profile

    return run_keeping_refusals(session, work)
