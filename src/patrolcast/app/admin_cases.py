"""Use cases of account administration, policy profiles, forecast snapshots and the audit log."""

from __future__ import annotations

import re
from typing import Any

from patrolcast.app.context import AppContext, Principal
from patrolcast.app.inputs import ProfileInstallInput, RoleInput, SnapshotInput, UserAddInput
from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit, service
from patrolcast.governance.clock import LONDON, as_utc, parse_time
from patrolcast.governance.db import run_transaction
from patrolcast.governance.identity.sign_in import issue_enrolment
from patrolcast.governance.models import Person
from patrolcast.governance.policy_registry import install_profile, list_profiles, resolve_profile
from patrolcast.governance.roles import (
    Rank,
    Role,
    RoleSpec,
    add_person,
    list_people,
    normalise_username,
    remove_role,
)
from patrolcast.governance.snapshots import record_snapshot

__all__ = [
    "audit_export",
    "profile_install",
    "profile_list",
    "profile_show",
    "snapshot_record",
    "user_add",
    "user_enrol",
    "user_grant",
    "user_list",
    "user_revoke",
]

_SHA256 = re.compile(r"(sha256:)?[0-9a-f]{64}")


def _enrol(ctx: AppContext, who: Principal, username: str) -> dict[str, Any]:
    """Issue a one-time enrolment code for ``username`` (administrators only; audited)."""
    name = normalise_username(username)

    def work() -> dict[str, Any]:
        now = as_utc(ctx.clock.now())
        if not who.actor.has(Role.ADMINISTRATOR):
            raise PermissionDenied("only an administrator issues enrolment codes")
        person = s.query(Person).filter(Person.username == name).one_or_none()
        if person is None:
            raise InputError(f"no user {name}")
        enrolment = issue_enrolment(s, ctx.key, person_id=person.id, username=name, now=now)
        audit.append(
            s,
            actor=who.username,
            action="enrolment_issue",
            target_type="person",
            target_id=name,
            outcome="done",
            detail={"expires_at": enrolment.expires_at.isoformat()},
            now=now,
        )
        return enrolment.to_dict()

    with ctx.db.session() as s:
        return run_transaction(s, work)


def user_add(ctx: AppContext, who: Principal, _t: Any, body: UserAddInput) -> dict[str, Any]:
    """Add an account and issue its one-time enrolment code (shown once to the administrator)."""
    specs = [RoleSpec.parse(r) for r in body.roles]
    with ctx.db.session() as s:
        person = add_person(
            s,
            actor=who.username,
            username=body.username,
            roles=specs,
            rank=Rank.parse(body.rank) if body.rank else None,
            display_name=body.display_name,
            clock=ctx.clock,
        )
    return {**person.to_dict(), **_enrol(ctx, who, person.username)}


def user_enrol(ctx: AppContext, who: Principal, username: str, _b: Any) -> dict[str, Any]:
    """Re-issue an enrolment code (a forgotten password or a lost authenticator)."""
    return _enrol(ctx, who, username)


def user_grant(ctx: AppContext, who: Principal, username: str, body: RoleInput) -> dict[str, Any]:
    with ctx.db.session() as s:
        person = add_person(
            s, actor=who.username, username=username, roles=[RoleSpec.parse(body.role)],
            clock=ctx.clock,
        )
    return person.to_dict()


def user_revoke(ctx: AppContext, who: Principal, username: str, body: RoleInput) -> dict[str, Any]:
    with ctx.db.session() as s:
        person = remove_role(
            s, actor=who.username, username=username, role=RoleSpec.parse(body.role),
            clock=ctx.clock,
        )
    return person.to_dict()


def user_list(ctx: AppContext, who: Principal, _t: Any, _b: Any) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        return [p.to_dict() for p in list_people(s)]


def profile_list(ctx: AppContext, who: Principal, _t: Any, _b: Any) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        return [e.to_dict() for e in list_profiles(s)]


def profile_show(ctx: AppContext, who: Principal, name: str, _b: Any) -> dict[str, Any]:
    with ctx.db.session() as s:
        return resolve_profile(s, name).to_dict()


def profile_install(
    ctx: AppContext, who: Principal, _t: Any, body: ProfileInstallInput
) -> dict[str, Any]:
    with ctx.db.session() as s:
        return install_profile(s, actor=who.username, clock=ctx.clock, text=body.toml).to_dict()


def snapshot_record(
    ctx: AppContext, who: Principal, _t: Any, body: SnapshotInput
) -> dict[str, Any]:
    """Record a forecast snapshot; its digest must be a full SHA-256 (64 hex characters)."""
    digest = body.digest.strip().lower()
    if not _SHA256.fullmatch(digest):
        raise InputError("snapshot digest must be a SHA-256: 64 hex characters")
    with ctx.db.session() as s:
        rec = record_snapshot(
            s,
            method=body.method,
            params=dict(body.params),
            created_at=parse_time(body.created_at, zone=LONDON),
            digest=digest.removeprefix("sha256:"),
            uri=body.uri,
            actor=who.username,
            clock=ctx.clock,
        )
    return rec.to_dict()


def audit_export(ctx: AppContext, who: Principal, _t: Any, _b: Any) -> dict[str, Any]:
    """The whole log and a checkpoint covering the export's own entry (auditors, admins)."""
    with ctx.db.session() as s:
        result = service.export_audit(s, actor=who.username, clock=ctx.clock)
    if isinstance(result, tuple):
        entries, cp = result
        return {"entries": entries, "checkpoint": cp.__dict__}
    to_dict = getattr(result, "to_dict", None)
    return to_dict() if callable(to_dict) else {"export": result}
