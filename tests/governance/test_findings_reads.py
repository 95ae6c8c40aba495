"""Finding: any user could read every proposal. The read rule (guards.read_basis) as a matrix,
then through read_proposal / list_proposals with audited denials."""

from __future__ import annotations

import itertools

import pytest

from patrolcast.governance import audit, service
from patrolcast.governance.guards import (
    PART_STATES,
    READ_ALL_ROLES,
    WHO,
    ReadFacts,
    may_read,
    read_basis,
)
from patrolcast.governance.lifecycle import TRANSITIONS
from patrolcast.governance.roles import Actor, Role, RoleSpec, add_person
from patrolcast.governance.states import Refused, State
from tests.governance.helpers import World, walk_to

ME = 7
STATES = [s for s in State if s is not State.NEW]
MINE = "E09000007"


def _actor(role: Role) -> Actor:
    return Actor(
        person_id=ME,
        username="me",
        rank=None,
        roles=frozenset({role}),
        boroughs=frozenset({MINE}) if role is Role.BOROUGH_COMMANDER else frozenset(),
    )


def _facts(state: State, relation: str) -> ReadFacts:
    return ReadFacts(
        state=state,
        boroughs=frozenset({MINE if relation == "my-borough" else "E09000099"}),
        proposer_id=ME if relation == "proposer" else 1,
        involved=frozenset({ME} if relation == "involved" else {2, 3}),
    )


def _expected(role: Role, state: State, relation: str) -> bool:
    """The read rule written out as a table, independently of guards.read_basis."""
    if role in (Role.ADMINISTRATOR, Role.OVERSIGHT_AUDITOR):
        return True
    if relation in ("proposer", "involved"):
        return True
    if role is Role.BOROUGH_COMMANDER:
        return relation == "my-borough"
    parts = {
        Role.COMMUNITY_LEAD: {State.SUBMITTED},
        Role.AUTHORISING_OFFICER: {
            State.CONSULTED,
            State.AUTHORISED,
            State.ACTIVE,
            State.EXPIRED,
            State.CANCELLED,
            State.DEBRIEFED,
        },
        Role.TACTICAL_FIREARMS_COMMANDER: {
            State.AUTHORISED,
            State.ACTIVE,
            State.EXPIRED,
            State.CANCELLED,
        },
        Role.STRATEGIC_FIREARMS_COMMANDER: {State.AUTHORISED, State.ACTIVE, State.DEBRIEFED},
    }
    return state in parts.get(role, set())


@pytest.mark.parametrize(
    ("role", "state", "relation"),
    list(itertools.product(list(Role), STATES, ["proposer", "involved", "my-borough", "stranger"])),
)
def test_read_rule_matrix(role: Role, state: State, relation: str) -> None:
    actor, facts = _actor(role), _facts(state, relation)
    assert may_read(actor, facts) is _expected(role, state, relation)
    assert (read_basis(actor, facts) is not None) is may_read(actor, facts)


def test_analysts_and_intelligence_officers_read_only_their_own_or_what_they_acted_on() -> None:
    for role in (Role.ANALYST, Role.INTELLIGENCE_OFFICER):
        for state in STATES:
            assert not may_read(_actor(role), _facts(state, "stranger"))
            assert not may_read(_actor(role), _facts(state, "my-borough"))
            assert read_basis(_actor(role), _facts(state, "proposer")) == "proposer"


def test_part_states_follow_the_transition_table() -> None:
    """A role's part-to-play states are exactly the states from which it may take an action
    (borough commanders are scoped by borough instead; proposers read their own)."""
    for role in Role:
        acting = {s for (s, a) in TRANSITIONS if role in WHO[a]} - {State.NEW}
        if role in PART_STATES:
            assert PART_STATES[role] == acting, role
        else:
            assert role in READ_ALL_ROLES or role in {
                Role.ANALYST,
                Role.INTELLIGENCE_OFFICER,
                Role.BOROUGH_COMMANDER,
            }


def test_reads_through_the_service_are_scoped_and_denials_audited(world: World) -> None:
    with world.session() as s:
        add_person(
            s,
            actor="admin",
            username="bob9",
            roles=[RoleSpec(Role.BOROUGH_COMMANDER, "E09000009")],
            clock=world.clock,
        )
        add_person(
            s, actor="admin", username="ana2", roles=[RoleSpec(Role.ANALYST)], clock=world.clock
        )
    draft = walk_to(world, State.DRAFT)
    consulted = walk_to(world, State.CONSULTED, offset=3000.0)
    c = world.clock
    allowed = {
        ("ana", draft),  # proposer
        ("aud", draft),
        ("admin", draft),
        ("bob1", draft),  # the area touches E09000001
        ("acc1", consulted),  # an authorising officer decides on consulted proposals
        ("cat", consulted),  # cat assessed it (involved)
        ("bob2", consulted),
    }
    refused = {
        ("ana2", draft),  # another analyst
        ("ian", draft),
        ("cat", draft),  # not submitted yet: no part to play
        ("acc1", draft),
        ("tfc", consulted),  # not yet authorised
        ("bob9", draft),  # commands a borough the area does not touch
    }
    with world.session() as s:
        for who, pid in sorted(allowed):
            view = service.read_proposal(s, actor=who, clock=c, proposal_id=pid)
            assert view.id == pid
        for who, pid in sorted(refused):
            with pytest.raises(Refused) as err:
                service.read_proposal(s, actor=who, clock=c, proposal_id=pid)
            assert err.value.rule == "read-scope"
            last = audit.read_entries(s)[-1]
            assert (last.actor, last.action, last.outcome) == (who, "read", "denied")
            assert last.detail_dict["rule"] == "read-scope"
        # lists are filtered by the same rule
        ids = lambda who: [  # noqa: E731
            v.id for v in service.list_proposals(s, actor=who, clock=c)
        ]
        assert ids("aud") == [draft, consulted]
        assert ids("ana") == [draft, consulted]  # ana proposed both
        assert ids("ana2") == []
        assert ids("acc1") == [consulted]
        assert ids("bob9") == []
        assert ids("tfc") == []
        last = audit.read_entries(s)[-1]
        assert last.outcome == "read" and last.detail_dict["count"] == 0


def test_read_of_a_missing_proposal_is_audited_and_unknown_actor_not_echoed(
    world: World,
) -> None:
    with world.session() as s:
        with pytest.raises(Exception, match="no proposal #999"):
            service.read_proposal(s, actor="aud", clock=world.clock, proposal_id=999)
        last = audit.read_entries(s)[-1]
        assert (last.outcome, last.detail_dict["rule"]) == ("denied", "not-found")
        long_actor = "m" * 3000
        with pytest.raises(Refused) as err:
            service.read_proposal(s, actor=long_actor, clock=world.clock, proposal_id=1)
        assert long_actor not in str(err.value)
        last = audit.read_entries(s)[-1]
        assert last.actor == "(invalid username)" and last.outcome == "denied"


def test_a_user_with_no_role_reads_nothing(world: World) -> None:
    from patrolcast.governance.roles import remove_role

    walk_to(world, State.DRAFT)
    with world.session() as s:
        remove_role(
            s,
            actor="admin",
            username="ian",
            role=RoleSpec(Role.INTELLIGENCE_OFFICER),
            clock=world.clock,
        )
        with pytest.raises(Refused) as err:
            service.list_proposals(s, actor="ian", clock=world.clock)
        assert err.value.rule == "read-scope"
