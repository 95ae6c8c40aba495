"""Role and rank tests written to kill surviving mutants (issue 15, scripts/mutation.sh
governance-roles): rank order, parsing, loading an actor, and what a role removal audits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit, service
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import open_database
from patrolcast.governance.expiry import is_active
from patrolcast.governance.models import Person, RoleGrant
from patrolcast.governance.roles import (
    Rank,
    Role,
    RoleSpec,
    add_person,
    find_actor,
    list_people,
    load_actor,
    remove_role,
)
from patrolcast.governance.states import Action, InvalidTransition, State
from tests.governance.helpers import PEOPLE, T0, World, sqlite_url, walk_to
from tests.governance.test_findings_users import detail

# the order of ranks written out again (constable lowest)
ORDER = [
    Rank.CONSTABLE,
    Rank.SERGEANT,
    Rank.INSPECTOR,
    Rank.CHIEF_INSPECTOR,
    Rank.SUPERINTENDENT,
    Rank.CHIEF_SUPERINTENDENT,
    Rank.ASSISTANT_CHIEF_CONSTABLE,
    Rank.DEPUTY_CHIEF_CONSTABLE,
    Rank.CHIEF_CONSTABLE,
]


def test_ranks_compare_by_seniority_and_only_with_ranks() -> None:
    for (i, a), (j, b) in itertools.product(enumerate(ORDER), repeat=2):
        assert (a < b, a <= b, a > b, a >= b) == (i < j, i <= j, i > j, i >= j), (a, b)
    for op in ("__lt__", "__le__", "__gt__", "__ge__"):
        assert getattr(Rank.INSPECTOR, op)(3) is NotImplemented
    with pytest.raises(TypeError):
        assert Rank.INSPECTOR >= 3


def test_roles_and_role_specs_parse_from_text() -> None:
    assert Role.parse(" Borough Commander ") is Role.BOROUGH_COMMANDER
    assert Role.parse("authorising-officer") is Role.AUTHORISING_OFFICER
    with pytest.raises(InputError, match="^unknown role 'chief': one of analyst, "):
        Role.parse("chief")
    assert RoleSpec.parse("analyst") == RoleSpec(Role.ANALYST)
    assert RoleSpec.parse("borough_commander: e09000033") == RoleSpec(
        Role.BOROUGH_COMMANDER, "E09000033"
    )
    with pytest.raises(InputError, match="^a borough commander role needs a borough code$"):
        RoleSpec.parse("borough_commander")
    with pytest.raises(InputError, match="^role analyst is not scoped to a borough$"):
        RoleSpec(Role.ANALYST, "E09000033")
    assert RoleSpec(Role.BOROUGH_COMMANDER, " e09000033").borough == "E09000033"
    with pytest.raises(InputError, match="^borough commander's borough must be a GSS code"):
        RoleSpec(Role.BOROUGH_COMMANDER, "Camden")


def test_load_actor_and_the_staff_list(world: World) -> None:
    with world.session() as s:
        ana = load_actor(s, "ANA")
        assert (ana.username, ana.roles) == ("ana", frozenset({Role.ANALYST}))
        with pytest.raises(PermissionDenied) as unknown:
            load_actor(s, "zed")
        assert str(unknown.value) == "unknown user zed: ask an administrator to add you"
        people = list_people(s)
    assert [p.username for p in people] == sorted(PEOPLE)
    bob1 = next(p for p in people if p.username == "bob1")
    assert bob1.to_dict() == {
        "id": bob1.person_id,
        "username": "bob1",
        "rank": "chief_superintendent",
        "roles": ["borough_commander"],
        "boroughs": ["E09000001"],
    }
    assert next(p for p in people if p.username == "ana").to_dict()["rank"] is None


def test_a_role_removal_audits_who_what_and_why(world: World) -> None:
    bob1 = RoleSpec(Role.BOROUGH_COMMANDER, "E09000001")
    with world.session() as s:
        with pytest.raises(InputError) as not_a_spec:
            remove_role(s, actor="admin", username="ana", role="analyst",  # type: ignore[arg-type]
                        clock=world.clock)  # fmt: skip
        assert str(not_a_spec.value) == (
            "give the role to remove (e.g. analyst or borough_commander:E09000033)"
        )
        with pytest.raises(PermissionDenied) as not_admin:
            remove_role(s, actor="ACC1", username="bob1", role=bob1, clock=world.clock)
        assert str(not_admin.value) == (
            "refused (administrator-only): only an administrator removes roles"
        )
        with pytest.raises(PermissionDenied) as last:
            remove_role(s, actor="admin", username="admin", role=RoleSpec(Role.ADMINISTRATOR),
                        clock=world.clock)  # fmt: skip
        assert str(last.value) == (
            "refused (last-administrator): the last administrator's administrator role "
            "cannot be removed"
        )
        remove_role(s, actor="admin", username="BOB1", role=bob1, clock=world.clock)
        entries = [e for e in audit.export_entries(s) if e["action"] == "role_remove"]
    assert [(e["actor"], e["target_type"], e["target_id"], e["outcome"]) for e in entries] == [
        ("acc1", "person", "bob1", "denied"),
        ("admin", "person", "admin", "denied"),
        ("admin", "person", "bob1", "done"),
    ]
    assert detail(entries[0]) == {
        "rule": "administrator-only",
        "reason": "only an administrator removes roles",
        "role": "borough_commander:E09000001",
    }
    assert detail(entries[1])["role"] == "administrator"
    assert detail(entries[2])["role"] == "borough_commander:E09000001"


def test_active_only_inside_an_authorised_window() -> None:
    start = datetime(2026, 6, 1, 18, tzinfo=UTC)
    end = start + timedelta(hours=6)
    inside = start + timedelta(hours=1)
    assert is_active(State.AUTHORISED, start, end, inside)
    assert is_active("authorised", start, end, start)
    assert not is_active(State.AUTHORISED, start, end, end)
    assert not is_active(State.AUTHORISED, start, end, start - timedelta(seconds=1))
    assert not is_active(State.CANCELLED, start, end, inside)
    assert not is_active(State.AUTHORISED, None, end, inside)


def test_ranks_parse_from_text_and_aliases() -> None:
    assert Rank.parse("Ch Supt") is Rank.CHIEF_SUPERINTENDENT
    assert Rank.parse("commander") is Rank.ASSISTANT_CHIEF_CONSTABLE
    assert Rank.parse("chief-inspector") is Rank.CHIEF_INSPECTOR
    with pytest.raises(InputError) as unknown:
        Rank.parse("general")
    assert str(unknown.value) == (
        "unknown rank 'general': one of " + ", ".join(r.value for r in ORDER) + " (or commander)"
    )
    with pytest.raises(InputError, match="^give a role$"):
        RoleSpec("analyst")  # type: ignore[arg-type]


def test_an_invalid_transition_names_its_rule_and_reason(world: World) -> None:
    pid = walk_to(world, State.SUBMITTED)
    with world.session() as s, pytest.raises(InvalidTransition) as again:
        service.submit(s, actor="ana", clock=world.clock, proposal_id=pid)
    err = again.value
    assert err.rule and err.reason
    assert str(err) == f"conflict ({err.rule}): {err.reason}"
    assert "submit" in str(err)


def test_adding_a_person_is_audited_with_the_roles_and_rank_granted(world: World) -> None:
    with world.session() as s:
        add_person(s, actor="admin", username="Dee", clock=world.clock,
                   roles=[RoleSpec(Role.AUTHORISING_OFFICER),
                          RoleSpec(Role.BOROUGH_COMMANDER, "E09000003")],
                   rank=Rank.SUPERINTENDENT)  # fmt: skip
        last = audit.read_entries(s)[-1]
        person = s.execute(select(Person).where(Person.username == "dee")).scalar_one()
        assert person.display_name == ""  # none given
    assert (last.actor, last.action, last.target_type, last.target_id, last.outcome) == (
        "admin",
        "user_add",
        "person",
        "dee",
        "done",
    )
    granted = {k: v for k, v in last.detail_dict.items() if k != "rows"}  # + row digests
    assert granted == {
        "roles": ["authorising_officer", "borough_commander:E09000003"],
        "rank": "superintendent",
    }


def test_a_display_name_must_be_text(world: World) -> None:
    with world.session() as s, pytest.raises(InputError) as bad:
        add_person(s, actor="admin", username="dee", roles=[RoleSpec(Role.ANALYST)],
                   clock=world.clock, display_name=7)  # type: ignore[arg-type]  # fmt: skip
    assert str(bad.value) == "display name must be text"


def test_add_person_refuses_bad_arguments_with_exact_messages(world: World) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"roles": []}, "give at least one role"),
        ({"roles": ["analyst"]}, "roles must be RoleSpec values"),
        ({"roles": [RoleSpec(Role.ANALYST)], "rank": "acc"}, "rank must be a Rank"),
        ({"roles": [RoleSpec(Role.TACTICAL_FIREARMS_COMMANDER)]},
         "dee: an authorising officer or firearms commander needs --rank"),
    ]  # fmt: skip
    for kwargs, message in cases:
        with world.session() as s, pytest.raises(InputError) as bad:
            add_person(s, actor="admin", username="dee", clock=world.clock, **kwargs)  # type: ignore[arg-type]
        assert str(bad.value) == message
    with world.session() as s:
        assert find_actor(s, "dee") is None


def test_the_first_user_is_an_administrator_added_by_the_bootstrap(tmp_path: Path) -> None:
    db = open_database(sqlite_url(tmp_path, "empty.db"))
    with db.session() as s:
        with pytest.raises(InputError) as first:
            add_person(s, actor=None, username="ana", roles=[RoleSpec(Role.ANALYST)],
                       clock=FixedClock(T0))  # fmt: skip
        assert str(first.value) == "the first user must be an administrator"
        add_person(s, actor=None, username="root", roles=[RoleSpec(Role.ADMINISTRATOR)],
                   clock=FixedClock(T0))  # fmt: skip
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.action, last.target_id, last.outcome) == (
        "(bootstrap)",
        "user_add",
        "root",
        "done",
    )
    db.dispose()


def test_only_an_administrator_adds_users_and_each_refusal_is_audited(world: World) -> None:
    for actor, shown, logged in ((None, "nobody", "(anonymous)"), ("ana", "ana", "ana")):
        with world.session() as s, pytest.raises(PermissionDenied) as refused:
            add_person(s, actor=actor, username="dee", roles=[RoleSpec(Role.ANALYST)],
                       clock=world.clock)  # fmt: skip
        assert str(refused.value) == f"{shown} may not add users: only an administrator may"
        with world.session() as s:
            last = audit.read_entries(s)[-1]
            assert find_actor(s, "dee") is None
        assert (last.actor, last.action, last.target_type, last.target_id, last.outcome) == (
            logged,
            "user_add",
            "person",
            "dee",
            "denied",
        )
        assert last.detail_dict == {
            "rule": "administrator-only",
            "reason": "only an administrator adds users",
        }


def test_an_exclusive_role_refusal_names_the_role_in_words_and_in_the_audit(
    world: World,
) -> None:
    for username, roles, words, value in (
        ("mix", [RoleSpec(Role.ADMINISTRATOR), RoleSpec(Role.ANALYST)], "administrator",
         "administrator"),
        ("ana", [RoleSpec(Role.OVERSIGHT_AUDITOR)], "oversight auditor", "oversight_auditor"),
    ):  # fmt: skip
        with world.session() as s, pytest.raises(PermissionDenied) as refused:
            add_person(s, actor="admin", username=username, roles=roles, clock=world.clock)
        assert str(refused.value) == f"{username}: an {words} cannot also hold another role"
        with world.session() as s:
            last = audit.read_entries(s)[-1]
        assert (last.actor, last.action, last.target_type, last.target_id, last.outcome) == (
            "admin", "user_add", "person", username, "denied"
        )  # fmt: skip
        assert last.detail_dict == {
            "rule": "separation-of-duties",
            "reason": f"the role {value} cannot be combined with another role",
        }
    with world.session() as s:
        ana = find_actor(s, "ana")
        assert ana is not None and ana.roles == {Role.ANALYST}


def test_granting_more_roles_keeps_the_person_and_adds_only_new_grants(world: World) -> None:
    with world.session() as s:
        before = load_actor(s, "bob1")
        after = add_person(s, actor="admin", username="bob1", clock=world.clock,
                           roles=[RoleSpec(Role.BOROUGH_COMMANDER, "E09000001"),
                                  RoleSpec(Role.BOROUGH_COMMANDER, "E09000003")])  # fmt: skip
        grants = (
            s.execute(select(RoleGrant).join(Person).where(Person.username == "bob1"))
            .scalars()
            .all()
        )
    assert after.person_id == before.person_id and after.rank is Rank.CHIEF_SUPERINTENDENT
    assert after.boroughs == {"E09000001", "E09000003"}
    assert sorted((g.role, g.borough) for g in grants) == [
        ("borough_commander", "E09000001"),
        ("borough_commander", "E09000003"),
    ]
    assert all(g.granted_at is not None and g.granted_by == "admin" for g in grants)


# --- behaviour classes: names, ranks, usernames, display names, effective states -----------------


def test_every_rank_has_a_level_a_label_and_its_aliases() -> None:
    """Ranks are levelled 0 (constable) to 8 (chief constable), labelled in words, and parsed
    from their names, spaced, hyphenated or slashed, and from the usual abbreviations."""
    assert [r.level for r in ORDER] == list(range(9))
    assert Rank.CHIEF_SUPERINTENDENT.label == "chief superintendent"
    assert Rank.CONSTABLE.label == "constable"
    aliases = {
        "pc": Rank.CONSTABLE, "PS": Rank.SERGEANT, "insp": Rank.INSPECTOR,
        "ci": Rank.CHIEF_INSPECTOR, "Supt": Rank.SUPERINTENDENT,
        "ch supt": Rank.CHIEF_SUPERINTENDENT, "Ch/Supt": Rank.CHIEF_SUPERINTENDENT,
        "ACC": Rank.ASSISTANT_CHIEF_CONSTABLE, "Commander": Rank.ASSISTANT_CHIEF_CONSTABLE,
        "dcc": Rank.DEPUTY_CHIEF_CONSTABLE, "CC": Rank.CHIEF_CONSTABLE,
        " Deputy  Chief - Constable ": Rank.DEPUTY_CHIEF_CONSTABLE,
    }  # fmt: skip
    for text, want in aliases.items():
        assert Rank.parse(text) is want, text
    for r in ORDER:
        assert Rank.parse(r.label.upper()) is r and Rank.parse(r.value) is r
    assert len({Rank.INSPECTOR, Rank.INSPECTOR, Rank.SERGEANT}) == 2  # hashable as a value


def test_every_role_parses_from_its_words() -> None:
    for r in Role:
        assert Role.parse(r.value.replace("_", " ").title()) is r
        assert Role.parse(f"  {r.value.replace('_', '-')}\t") is r
    assert Role.parse("strategic - firearms   commander") is Role.STRATEGIC_FIREARMS_COMMANDER
    with pytest.raises(InputError) as unknown:
        Role.parse("chief")
    assert str(unknown.value) == "unknown role 'chief': one of " + ", ".join(r.value for r in Role)


def test_only_an_auditor_alone_is_read_only() -> None:
    from patrolcast.governance.roles import Actor

    def actor(*roles: Role) -> Actor:
        return Actor(person_id=1, username="x", rank=None, roles=frozenset(roles),
                     boroughs=frozenset())  # fmt: skip

    assert actor(Role.OVERSIGHT_AUDITOR).read_only
    assert not actor(Role.OVERSIGHT_AUDITOR, Role.ANALYST).read_only
    assert not actor(Role.ANALYST).read_only and not actor(Role.ADMINISTRATOR).read_only
    assert actor(Role.ANALYST).has(Role.ANALYST) and not actor(Role.ANALYST).has(Role.ADMINISTRATOR)


def test_usernames_are_a_letter_then_1_to_31_allowed_characters() -> None:
    from patrolcast.governance.roles import log_name, normalise_username

    for good in ("ab", "a" + "b" * 31, "a.b_c-1", "Z9", "ACC1"):
        assert normalise_username(good) == good.casefold()
    message = "username must be a lower-case letter then 1 to 31 letters, digits, '.', '_' or '-'"
    for bad in ("a", "a" + "b" * 32, "1ab", ".ab", "ab!", "ab\n", None, 7, b"ab", "ａb"):
        with pytest.raises(InputError) as err:
            normalise_username(bad)
        assert str(err.value) == message
        assert log_name(bad) == "(invalid username)"
    with pytest.raises(InputError) as err:
        normalise_username("1", what="actor")
    assert str(err.value).startswith("actor must be a lower-case letter then")
    assert log_name("Ana") == "ana"


def test_a_display_name_is_trimmed_bounded_and_free_of_control_characters() -> None:
    from patrolcast.governance.roles import _display_name

    assert _display_name(None) == "" and _display_name("  Dee Jay  ") == "Dee Jay"
    assert _display_name("D" * 200) == "D" * 200
    assert _display_name(" " + "D" * 200 + " ") == "D" * 200  # trimmed first
    with pytest.raises(InputError) as long:
        _display_name("D" * 201)
    assert str(long.value) == "display name is longer than 200 characters"
    for ch in ("\x00", "\x1f", "\x7f", "\x80", "\x9f", "\u2028", "\u2029", "\u202a", "\u202e",
               "\u2066", "\u2069"):  # fmt: skip
        with pytest.raises(InputError) as bad:
            _display_name(f"Dee{ch}Jay")
        assert str(bad.value) == "display name contains control characters", repr(ch)
    for ok in ("Dee\u00a0Jay", "Zoë", "Dee \u2030", "O'Neil-Smith"):
        assert _display_name(ok) == ok


def test_a_person_is_found_by_exact_name_then_casefolded_never_guessed(world: World) -> None:
    from datetime import datetime

    with world.session() as s:
        now = datetime.now(UTC)
        s.add(Person(username="Legacy", display_name="", rank=None, created_at=now))
        s.flush()
        audit.append(s, actor="admin", action="user_add", target_type="person",
                     target_id="Legacy", outcome="done", detail={}, now=now)  # fmt: skip
        s.commit()
        legacy = find_actor(s, "Legacy")
        assert legacy is not None and legacy.username == "Legacy"
        assert find_actor(s, "legacy") is None  # its casefolded form names nobody
        assert find_actor(s, "ANA") == find_actor(s, "ana") != None  # noqa: E711
        for nobody in ("", None, 5, "a" * 65, "ANA\n", "zed"):
            assert find_actor(s, nobody) is None  # type: ignore[arg-type]
        with pytest.raises(PermissionDenied) as err:
            load_actor(s, "bad name")
        assert str(err.value) == (
            "unknown user (invalid username): ask an administrator to add you"
        )


def test_removing_a_role_names_a_missing_user_or_grant_and_keeps_two_admins(
    world: World,
) -> None:
    with world.session() as s:
        with pytest.raises(InputError) as nobody:
            remove_role(s, actor="admin", username="zed", role=RoleSpec(Role.ANALYST),
                        clock=world.clock)  # fmt: skip
        assert str(nobody.value) == "no user zed"
        with pytest.raises(InputError) as none:
            remove_role(s, actor="admin", username="bob1",
                        role=RoleSpec(Role.BOROUGH_COMMANDER, "E09000002"),
                        clock=world.clock)  # fmt: skip
        assert str(none.value) == "bob1 does not hold the role borough_commander:E09000002"
        with pytest.raises(InputError) as plain:
            remove_role(s, actor="admin", username="ana", role=RoleSpec(Role.COMMUNITY_LEAD),
                        clock=world.clock)  # fmt: skip
        assert str(plain.value) == "ana does not hold the role community_lead"
        add_person(s, actor="admin", username="root2", roles=[RoleSpec(Role.ADMINISTRATOR)],
                   clock=world.clock)  # fmt: skip
        after = remove_role(s, actor="root2", username="admin",
                            role=RoleSpec(Role.ADMINISTRATOR), clock=world.clock)  # fmt: skip
        assert after.roles == frozenset()
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.action, last.target_id, last.outcome) == (
        "root2",
        "role_remove",
        "admin",
        "done",
    )
    assert {k: v for k, v in last.detail_dict.items() if k != "rows"} == {"role": "administrator"}


def test_a_case_twin_refusal_is_audited_with_its_reason(world: World) -> None:
    from datetime import datetime

    with world.session() as s:
        now = datetime.now(UTC)
        s.add(Person(username="Twin", display_name="", rank=None, created_at=now))
        s.flush()
        audit.append(s, actor="admin", action="user_add", target_type="person",
                     target_id="Twin", outcome="done", detail={}, now=now)  # fmt: skip
        s.commit()
        with pytest.raises(PermissionDenied) as err:
            add_person(s, actor="Admin", username="twin", roles=[RoleSpec(Role.ANALYST)],
                       clock=world.clock)  # fmt: skip
        last = audit.read_entries(s)[-1]
    assert str(err.value) == "twin: a user whose name differs only in case already exists"
    assert (last.actor, last.target_type, last.target_id, last.outcome) == (
        "admin",
        "person",
        "twin",
        "denied",
    )
    assert last.detail_dict == {
        "rule": "unique-username",
        "reason": "a user whose name differs only in case already exists",
    }


def test_the_effective_state_of_every_stored_state() -> None:
    """Only an authorised proposal with both ends is moved by the clock: authorised before its
    start, active from it, expired from its end (times in any zone compared as instants)."""
    from datetime import timezone

    from patrolcast.governance.expiry import effective_state

    start = datetime(2026, 6, 1, 18, tzinfo=UTC)
    end = start + timedelta(hours=6)
    plus2 = timezone(timedelta(hours=2))
    for stored in State:
        if stored is State.AUTHORISED:
            continue
        assert effective_state(stored, start, end, start) is stored
        assert effective_state(stored.value, start, end, end) is stored
    assert effective_state("authorised", None, end, end) is State.AUTHORISED
    assert effective_state("authorised", start, None, end) is State.AUTHORISED
    assert effective_state("authorised", start, end, start - timedelta(microseconds=1)) is (
        State.AUTHORISED
    )
    assert effective_state("authorised", start, end, start.astimezone(plus2)) is State.ACTIVE
    assert effective_state("authorised", start, end, end - timedelta(microseconds=1)) is (
        State.ACTIVE
    )
    assert effective_state("authorised", start, end, end.astimezone(plus2)) is State.EXPIRED
    assert effective_state("authorised", start.astimezone(plus2), end.astimezone(plus2),
                           start) is State.ACTIVE  # fmt: skip
    assert not is_active(State.AUTHORISED, start, end, end + timedelta(days=1))
    with pytest.raises(ValueError):
        effective_state("bogus", start, end, start)


def test_refusals_and_conflicts_carry_their_rule_and_reason() -> None:
    from patrolcast.errors import ConflictError
    from patrolcast.governance.states import Refused, StaleProposal

    r = Refused("cooldown", "too soon")
    assert (r.rule, r.reason, str(r)) == ("cooldown", "too soon", "refused (cooldown): too soon")
    assert isinstance(r, PermissionDenied)
    c = StaleProposal("stale", "it changed")
    assert (c.rule, c.reason, str(c)) == ("stale", "it changed", "conflict (stale): it changed")
    assert isinstance(c, InvalidTransition) and isinstance(c, ConflictError)
    assert [s.value for s in State] == [
        "new", "draft", "submitted", "assessed", "consulted", "authorised", "refused", "active",
        "expired", "cancelled", "debriefed", "reviewed",
    ]  # fmt: skip
    assert [a.value for a in Action] == [
        "propose", "submit", "assess", "consult", "authorise", "refuse", "extend", "cancel",
        "debrief", "review",
    ]  # fmt: skip
