"""People, roles and ranks: who may act in the governance workflow.

Roles are functions, not ranks: an authorising officer also carries the person's *rank*, which a
policy profile compares against the rank it demands. Ranks are ordered (constable lowest, chief
constable highest); the Metropolitan Police's *commander* ranks with assistant chief constable.
Borough commanders are scoped: each grant names one borough code.

Public API
----------
``Role``, ``Rank`` (ordered, ``Rank.parse(text)``), ``Actor`` (a frozen value: username, rank,
roles, boroughs), ``RoleSpec``, ``add_person(session, *, actor, username, roles, rank,
display_name, clock)``, ``remove_role(session, *, actor, username, role, clock) -> Actor``,
``find_actor(session, username)``, ``load_actor(session, username)``, ``list_people(session)``,
``normalise_username(text) -> str`` (casefolded; fullmatch ``[a-z][a-z0-9._-]{1,31}``),
``log_name(text) -> str`` (the username, or a placeholder, for logs).

Usernames are stored casefolded: ``ACC`` and ``acc`` are one person, and a user whose name
differs from an existing (legacy) one only in case is refused. Borough codes are GSS codes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import total_ordering

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.clock import Clock
from patrolcast.governance.db import run_transaction
from patrolcast.governance.models import Person, RoleGrant
from patrolcast.governance.places import borough_code

__all__ = [
    "Actor",
    "Rank",
    "Role",
    "RoleSpec",
    "add_person",
    "find_actor",
    "list_people",
    "load_actor",
    "log_name",
    "normalise_username",
    "remove_role",
]


class Role(StrEnum):
    ANALYST = "analyst"
    INTELLIGENCE_OFFICER = "intelligence_officer"
    COMMUNITY_LEAD = "community_lead"
    BOROUGH_COMMANDER = "borough_commander"
    AUTHORISING_OFFICER = "authorising_officer"
    STRATEGIC_FIREARMS_COMMANDER = "strategic_firearms_commander"
    TACTICAL_FIREARMS_COMMANDER = "tactical_firearms_commander"
    OVERSIGHT_AUDITOR = "oversight_auditor"
    ADMINISTRATOR = "administrator"

    @classmethod
    def parse(cls, text: str) -> Role:
        key = re.sub(r"[\s-]+", "_", text.strip().lower())
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(r.value for r in cls)
            raise InputError(f"unknown role {text!r}: one of {names}") from None


_RANK_ORDER = (
    "constable",
    "sergeant",
    "inspector",
    "chief_inspector",
    "superintendent",
    "chief_superintendent",
    "assistant_chief_constable",
    "deputy_chief_constable",
    "chief_constable",
)
_RANK_ALIASES = {
    "pc": "constable",
    "ps": "sergeant",
    "insp": "inspector",
    "ci": "chief_inspector",
    "supt": "superintendent",
    "ch_supt": "chief_superintendent",
    "acc": "assistant_chief_constable",
    "commander": "assistant_chief_constable",
    "dcc": "deputy_chief_constable",
    "cc": "chief_constable",
}


@total_ordering
class Rank(StrEnum):
    CONSTABLE = "constable"
    SERGEANT = "sergeant"
    INSPECTOR = "inspector"
    CHIEF_INSPECTOR = "chief_inspector"
    SUPERINTENDENT = "superintendent"
    CHIEF_SUPERINTENDENT = "chief_superintendent"
    ASSISTANT_CHIEF_CONSTABLE = "assistant_chief_constable"
    DEPUTY_CHIEF_CONSTABLE = "deputy_chief_constable"
    CHIEF_CONSTABLE = "chief_constable"

    @property
    def level(self) -> int:
        return _RANK_ORDER.index(self.value)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Rank):
            return NotImplemented
        return self.level < other.level

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Rank):
            return NotImplemented
        return self.level <= other.level

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Rank):
            return NotImplemented
        return self.level > other.level

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Rank):
            return NotImplemented
        return self.level >= other.level

    __hash__ = StrEnum.__hash__

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @classmethod
    def parse(cls, text: str) -> Rank:
        key = re.sub(r"[\s/-]+", "_", text.strip().lower())
        key = _RANK_ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            raise InputError(
                f"unknown rank {text!r}: one of {', '.join(_RANK_ORDER)} (or commander)"
            ) from None


@dataclass(frozen=True)
class RoleSpec:
    """A role to grant; ``borough`` is required for (and only for) borough commanders."""

    role: Role
    borough: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            raise InputError("give a role")
        if self.role is Role.BOROUGH_COMMANDER and not self.borough:
            raise InputError("a borough commander role needs a borough code")
        if self.role is not Role.BOROUGH_COMMANDER and self.borough:
            raise InputError(f"role {self.role} is not scoped to a borough")
        if self.borough:
            object.__setattr__(
                self, "borough", borough_code(self.borough, what="borough commander's borough")
            )

    @classmethod
    def parse(cls, text: str) -> RoleSpec:
        """``"analyst"`` or ``"borough_commander:E09000033"``."""
        name, _, borough = text.partition(":")
        return cls(Role.parse(name), borough.strip().upper() or None)


@dataclass(frozen=True)
class Actor:
    """The acting person as a value: what the guards need to decide."""

    person_id: int
    username: str
    rank: Rank | None
    roles: frozenset[Role]
    boroughs: frozenset[str]

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def read_only(self) -> bool:
        """An oversight auditor (with no other role) may read but never write."""
        return self.roles <= {Role.OVERSIGHT_AUDITOR}

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.person_id,
            "username": self.username,
            "rank": self.rank.value if self.rank else None,
            "roles": sorted(r.value for r in self.roles),
            "boroughs": sorted(self.boroughs),
        }


def _actor_of(person: Person) -> Actor:
    roles = frozenset(Role(g.role) for g in person.grants)
    boroughs = frozenset(
        g.borough for g in person.grants if g.role == Role.BOROUGH_COMMANDER and g.borough
    )
    return Actor(
        person_id=person.id,
        username=person.username,
        rank=Rank(person.rank) if person.rank else None,
        roles=roles,
        boroughs=boroughs,
    )


#: A username, after casefolding: a lower-case letter then 1-31 of letters, digits, '.', '_', '-'.
USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,31}", re.ASCII)
MAX_DISPLAY_NAME = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def normalise_username(text: object, *, what: str = "username") -> str:
    """The casefolded username, if it fullmatches ``USERNAME``; an InputError otherwise.

    ``"ACC1"`` and ``"acc1"`` are one user (stored as ``acc1``); ``"acc\\n"`` (a trailing line
    break) and non-ASCII look-alikes are refused. The message does not echo the text.
    """
    name = text.casefold() if isinstance(text, str) and text.isascii() else ""
    if not USERNAME.fullmatch(name):
        raise InputError(
            f"{what} must be a lower-case letter then 1 to 31 letters, digits, '.', '_' or '-'"
        )
    return name


def log_name(text: object) -> str:
    """How an acting-user string is written to a log: the casefolded username when it is one,
    otherwise a fixed placeholder (a 3,000-character or multi-line string never reaches a log)."""
    try:
        return normalise_username(text)
    except InputError:
        return "(invalid username)"


def _find_person(session: Session, username: object) -> Person | None:
    """The person ``username`` names: an exact match, else its casefolded form (never a guess)."""
    if not isinstance(username, str) or not username or len(username) > 64:
        return None
    person = session.execute(
        select(Person).where(Person.username == username)
    ).scalar_one_or_none()
    if person is not None:
        return person
    try:
        name = normalise_username(username)
    except InputError:
        return None
    if name == username:
        return None
    return session.execute(select(Person).where(Person.username == name)).scalar_one_or_none()


def find_actor(session: Session, username: str) -> Actor | None:
    person = _find_person(session, username)
    return None if person is None else _actor_of(person)


def load_actor(session: Session, username: str) -> Actor:
    """The actor for ``username``; an unknown user is refused (PermissionDenied)."""
    actor = find_actor(session, username)
    if actor is None:
        raise PermissionDenied(
            f"unknown user {log_name(username)}: ask an administrator to add you"
        )
    return actor


def add_person(
    session: Session,
    *,
    actor: str | None,
    username: str,
    roles: Sequence[RoleSpec],
    clock: Clock,
    rank: Rank | None = None,
    display_name: str = "",
) -> Actor:
    """Add a person (or grant more roles to an existing one) and commit.

    The very first person may be added without an acting user, and must be an administrator;
    afterwards only an administrator may add people. Authorising officers and firearms
    commanders need a rank. The change and any denied attempt are audited.
    """
    username = normalise_username(username)
    display_name = _display_name(display_name)
    if not roles:
        raise InputError("give at least one role")
    if not all(isinstance(s, RoleSpec) for s in roles):
        raise InputError("roles must be RoleSpec values")
    if rank is not None and not isinstance(rank, Rank):
        raise InputError("rank must be a Rank")
    needs_rank = {
        Role.AUTHORISING_OFFICER,
        Role.STRATEGIC_FIREARMS_COMMANDER,
        Role.TACTICAL_FIREARMS_COMMANDER,
    }

    def work() -> Actor:
        now = clock.now()
        count = session.execute(select(func.count(Person.id))).scalar_one()
        by = log_name(actor) if actor else "(bootstrap)"
        if count == 0:
            if Role.ADMINISTRATOR not in {s.role for s in roles}:
                raise InputError("the first user must be an administrator")
        else:
            acting = find_actor(session, actor) if actor else None
            if acting is None or not acting.has(Role.ADMINISTRATOR):
                audit.append(
                    session,
                    actor=log_name(actor) if actor else "(anonymous)",
                    action="user_add",
                    target_type="person",
                    target_id=username,
                    outcome="denied",
                    detail={
                        "rule": "administrator-only",
                        "reason": "only an administrator adds users",
                    },
                    now=now,
                )
                raise PermissionDenied(
                    f"{log_name(actor) if actor else 'nobody'} may not add users: "
                    "only an administrator may"
                )
        person = session.execute(
            select(Person).where(Person.username == username)
        ).scalar_one_or_none()
        if person is None:
            twin = session.execute(
                select(Person.username).where(func.lower(Person.username) == username)
            ).first()
            if twin is not None:
                audit.append(
                    session,
                    actor=by,
                    action="user_add",
                    target_type="person",
                    target_id=username,
                    outcome="denied",
                    detail={
                        "rule": "unique-username",
                        "reason": "a user whose name differs only in case already exists",
                    },
                    now=now,
                )
                raise PermissionDenied(
                    f"{username}: a user whose name differs only in case already exists"
                )
        # Separation of duties: an administrator manages accounts and an oversight auditor
        # oversees; neither acts in the workflow, so each role is held alone (which also stops
        # an administrator granting themselves an operational role or rank, and keeps the
        # auditor read-only).
        combined = {s.role for s in roles} | (
            {Role(g.role) for g in person.grants} if person is not None else set()
        )
        exclusive = combined & {Role.ADMINISTRATOR, Role.OVERSIGHT_AUDITOR}
        if exclusive and len(combined) > 1:
            audit.append(
                session,
                actor=by,
                action="user_add",
                target_type="person",
                target_id=username,
                outcome="denied",
                detail={
                    "rule": "separation-of-duties",
                    "reason": f"the role {min(exclusive)} cannot be combined with another role",
                },
                now=now,
            )
            raise PermissionDenied(
                f"{username}: an {min(exclusive).value.replace('_', ' ')} cannot also hold "
                "another role"
            )
        if person is None:
            person = Person(username=username, display_name=display_name, rank=None, created_at=now)
            session.add(person)
        if rank is not None:
            person.rank = rank.value
        have = {(g.role, g.borough) for g in person.grants}
        for spec in roles:
            if (spec.role.value, spec.borough) not in have:
                person.grants.append(
                    RoleGrant(
                        role=spec.role.value, borough=spec.borough, granted_at=now, granted_by=by
                    )
                )
        if person.rank is None and any(s.role in needs_rank for s in roles):
            raise InputError(
                f"{username}: an authorising officer or firearms commander needs --rank"
            )
        session.flush()
        audit.append(
            session,
            actor=by,
            action="user_add",
            target_type="person",
            target_id=username,
            outcome="done",
            detail={
                "roles": [
                    f"{s.role.value}:{s.borough}" if s.borough else s.role.value for s in roles
                ],
                "rank": person.rank,
            },
            now=now,
        )
        return _actor_of(person)

    return run_transaction(session, work, commit_on=(PermissionDenied,))


def _display_name(text: object) -> str:
    """A person's own name as they wish it shown: bounded, no control characters."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InputError("display name must be text")
    name = text.strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise InputError(f"display name is longer than {MAX_DISPLAY_NAME} characters")
    if _CONTROL.search(name):
        raise InputError("display name contains control characters")
    return name


def remove_role(
    session: Session, *, actor: str, username: str, role: RoleSpec, clock: Clock
) -> Actor:
    """Remove one role grant from a person and commit; administrators only, audited.

    Refused (audited as denied): a non-administrator or unknown actor, and removing the
    administrator role from the last administrator (the system would have nobody to manage it).
    An unknown user or a role the person does not hold is an InputError.
    """
    username = normalise_username(username)
    if not isinstance(role, RoleSpec):
        raise InputError("give the role to remove (e.g. analyst or borough_commander:E09000033)")
    label = f"{role.role.value}:{role.borough}" if role.borough else role.role.value

    def deny(by: str, rule: str, reason: str) -> PermissionDenied:
        audit.append(
            session,
            actor=by,
            action="role_remove",
            target_type="person",
            target_id=username,
            outcome="denied",
            detail={"rule": rule, "reason": reason, "role": label},
            now=clock.now(),
        )
        return PermissionDenied(f"refused ({rule}): {reason}")

    def work() -> Actor:
        now = clock.now()
        by = log_name(actor)
        acting = find_actor(session, actor)
        if acting is None or not acting.has(Role.ADMINISTRATOR):
            raise deny(by, "administrator-only", "only an administrator removes roles")
        person = session.execute(
            select(Person).where(Person.username == username)
        ).scalar_one_or_none()
        if person is None:
            raise InputError(f"no user {username}")
        grant = next(
            (g for g in person.grants if g.role == role.role.value and g.borough == role.borough),
            None,
        )
        if grant is None:
            raise InputError(f"{username} does not hold the role {label}")
        if role.role is Role.ADMINISTRATOR:
            admins = session.execute(
                select(func.count(func.distinct(RoleGrant.person_id))).where(
                    RoleGrant.role == Role.ADMINISTRATOR.value
                )
            ).scalar_one()
            if admins <= 1:
                raise deny(
                    by,
                    "last-administrator",
                    "the last administrator's administrator role cannot be removed",
                )
        person.grants.remove(grant)
        session.flush()
        audit.append(
            session,
            actor=by,
            action="role_remove",
            target_type="person",
            target_id=username,
            outcome="done",
            detail={"role": label},
            now=now,
        )
        return _actor_of(person)

    return run_transaction(session, work, commit_on=(PermissionDenied,))


def list_people(session: Session) -> list[Actor]:
    """Every local user with roles (not audited: this is the product's own staff list)."""
    people = session.execute(select(Person).order_by(Person.username)).scalars()
    return [_actor_of(p) for p in people]
