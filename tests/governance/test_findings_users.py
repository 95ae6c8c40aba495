"""Findings on users: usernames fullmatch and casefold, display names, role removal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit
from patrolcast.governance.models import Person
from patrolcast.governance.roles import (
    Rank,
    Role,
    RoleSpec,
    add_person,
    find_actor,
    load_actor,
    log_name,
    normalise_username,
    remove_role,
)
from tests.governance.helpers import World, make_world, sqlite_url


def detail(entry: dict[str, Any]) -> dict[str, Any]:
    raw = entry["detail"]
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


@pytest.mark.parametrize(
    "name",
    ["acc\n", "acc\r\n", "a", "1acc", "_acc", "acc smith", "a" * 33, "ącc", "\u212acc", "", "acc;"],
)
def test_bad_usernames_are_refused_without_echo(world: World, name: str) -> None:
    with world.session() as s, pytest.raises(InputError, match="username must be") as err:
        add_person(
            s, actor="admin", username=name, roles=[RoleSpec(Role.ANALYST)], clock=world.clock
        )
    if name.strip():
        assert repr(name) not in str(err.value)


def test_usernames_are_stored_casefolded_and_case_twins_are_one_person(world: World) -> None:
    with world.session() as s:
        actor = add_person(
            s,
            actor="admin",
            username="Dave.Jones",
            roles=[RoleSpec(Role.ANALYST)],
            clock=world.clock,
        )
        assert actor.username == "dave.jones"
        # "DAVE.JONES" is the same person: the role is added to them, not to a second user
        again = add_person(
            s,
            actor="ADMIN",
            username="DAVE.JONES",
            roles=[RoleSpec(Role.INTELLIGENCE_OFFICER)],
            clock=world.clock,
        )
        assert again.person_id == actor.person_id
        assert s.query(Person).filter(Person.username.ilike("dave.jones")).count() == 1
        assert find_actor(s, "Dave.Jones") == find_actor(s, "dave.jones")


def test_a_legacy_mixed_case_user_blocks_a_case_twin(world: World) -> None:
    """A row stored before casefolding ("ACC9") and a new "acc9" would be two people."""
    from datetime import UTC, datetime

    with world.session() as s:
        now = datetime.now(UTC)
        s.add(Person(username="ACC9", display_name="", rank=None, created_at=now))
        s.flush()
        audit.append(
            s,
            actor="admin",
            action="user_add",
            target_type="person",
            target_id="ACC9",
            outcome="done",
            detail={"legacy": True},
            now=now,
        )
        s.commit()
        with pytest.raises(PermissionDenied, match="differs only in case"):
            add_person(
                s, actor="admin", username="acc9", roles=[RoleSpec(Role.ANALYST)], clock=world.clock
            )
        denied = [e for e in audit.export_entries(s) if e["outcome"] == "denied"]
        assert denied[-1]["action"] == "user_add"
        assert detail(denied[-1])["rule"] == "unique-username"


def test_display_name_limits(world: World) -> None:
    with world.session() as s:
        for bad, words in (("Dave\x1b[2J", "control"), ("D" * 201, "longer than 200")):
            with pytest.raises(InputError, match=words):
                add_person(
                    s,
                    actor="admin",
                    username="dave",
                    roles=[RoleSpec(Role.ANALYST)],
                    clock=world.clock,
                    display_name=bad,
                )
        add_person(
            s,
            actor="admin",
            username="dave",
            roles=[RoleSpec(Role.ANALYST)],
            clock=world.clock,
            display_name="Dave Jones",
        )


def test_long_actor_strings_never_reach_the_log(world: World) -> None:
    long_actor = "x" * 3000
    with world.session() as s:
        with pytest.raises(PermissionDenied) as err:
            add_person(
                s,
                actor=long_actor,
                username="eve",
                roles=[RoleSpec(Role.ANALYST)],
                clock=world.clock,
            )
        assert long_actor not in str(err.value)
        with pytest.raises(PermissionDenied) as err2:
            load_actor(s, long_actor)
        assert long_actor not in str(err2.value)
        entries = audit.export_entries(s)
    assert all(len(e["actor"]) <= 64 for e in entries)
    assert log_name("Acc1") == "acc1" and log_name("a\nb") == "(invalid username)"
    assert normalise_username(" Acc1 ".strip()) == "acc1"


def test_remove_role_by_an_administrator_is_audited(world: World) -> None:
    with world.session() as s:
        actor = remove_role(
            s, actor="admin", username="ana", role=RoleSpec(Role.ANALYST), clock=world.clock
        )
        assert Role.ANALYST not in actor.roles
        assert find_actor(s, "ana") is not None and not find_actor(s, "ana").roles  # type: ignore[union-attr]
        done = [e for e in audit.export_entries(s) if e["action"] == "role_remove"]
        assert done[-1]["outcome"] == "done" and detail(done[-1])["role"] == "analyst"
        # a borough commander's grant is removed by its borough
        after = remove_role(
            s,
            actor="admin",
            username="bob1",
            role=RoleSpec(Role.BOROUGH_COMMANDER, "E09000001"),
            clock=world.clock,
        )
        assert not after.boroughs


def test_remove_role_refusals(world: World) -> None:
    with world.session() as s:
        with pytest.raises(PermissionDenied, match="administrator-only"):
            remove_role(
                s, actor="acc1", username="ana", role=RoleSpec(Role.ANALYST), clock=world.clock
            )
        with pytest.raises(PermissionDenied, match="administrator-only"):
            remove_role(
                s, actor="nobody", username="ana", role=RoleSpec(Role.ANALYST), clock=world.clock
            )
        with pytest.raises(InputError, match="does not hold"):
            remove_role(
                s,
                actor="admin",
                username="ana",
                role=RoleSpec(Role.COMMUNITY_LEAD),
                clock=world.clock,
            )
        with pytest.raises(InputError, match="no user"):
            remove_role(
                s, actor="admin", username="zed", role=RoleSpec(Role.ANALYST), clock=world.clock
            )
        # the last administrator cannot remove their own administrator role
        with pytest.raises(PermissionDenied, match="last-administrator"):
            remove_role(
                s,
                actor="admin",
                username="admin",
                role=RoleSpec(Role.ADMINISTRATOR),
                clock=world.clock,
            )
        assert find_actor(s, "admin").has(Role.ADMINISTRATOR)  # type: ignore[union-attr]
        denied = [
            detail(e)["rule"]
            for e in audit.export_entries(s)
            if e["action"] == "role_remove" and e["outcome"] == "denied"
        ]
        assert denied == ["administrator-only", "administrator-only", "last-administrator"]
        # with a second administrator, the first may step down
        add_person(
            s,
            actor="admin",
            username="admin2",
            roles=[RoleSpec(Role.ADMINISTRATOR)],
            clock=world.clock,
        )
        remove_role(
            s, actor="admin", username="admin", role=RoleSpec(Role.ADMINISTRATOR), clock=world.clock
        )
        assert not find_actor(s, "admin").roles  # type: ignore[union-attr]


def test_first_user_is_casefolded_too(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path, "other.db"))
    with world.session() as s:
        assert find_actor(s, "ADMIN") is not None
        add_person(
            s,
            actor="admin",
            username="Supt.Ray",
            roles=[RoleSpec(Role.AUTHORISING_OFFICER)],
            rank=Rank.SUPERINTENDENT,
            clock=world.clock,
        )
        assert find_actor(s, "supt.ray") is not None
