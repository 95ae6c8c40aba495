"""Findings: neighbouring tiles escaped the cool-down; firearms commanders and reviewers were
not independent of the people who decided."""

from __future__ import annotations

from dataclasses import replace

import pytest

from patrolcast.governance import audit, service
from patrolcast.governance.profiles import load_profile
from patrolcast.governance.roles import Rank, Role, RoleSpec, add_person
from patrolcast.governance.states import Refused, State
from patrolcast.governance.values import (
    CancellationDetails,
    DebriefDetails,
    ReviewDetails,
)
from tests.governance.helpers import World, authorisation, walk_to

SIZE = 500.0  # helpers.area() squares are 500 m wide


@pytest.mark.parametrize(
    ("offset", "refused"),
    [
        (SIZE, True),  # shares an edge: tiles side by side
        (SIZE + 150.0, True),  # a street apart, within the 200 m buffer
        (SIZE + 250.0, False),  # beyond the buffer: another place
    ],
)
def test_touching_and_nearby_tiles_are_the_same_place(
    world: World, offset: float, refused: bool
) -> None:
    assert load_profile("armed-foot-patrol").neighbour_buffer_m == 200
    first = walk_to(world, State.ACTIVE, hours=6)
    second = walk_to(world, State.CONSULTED, offset=offset)
    with world.session() as s:
        if refused:
            with pytest.raises(Refused) as err:
                service.authorise(
                    s,
                    actor="acc2",
                    clock=world.clock,
                    proposal_id=second,
                    details=authorisation(world),
                )
            assert err.value.rule == "cooldown" and f"#{first}" in err.value.reason
        else:
            r = service.authorise(
                s, actor="acc2", clock=world.clock, proposal_id=second, details=authorisation(world)
            )
            assert r.to_state is State.AUTHORISED


def _refused(world: World, pid: int, actor: str, d: object) -> Refused:
    with world.session() as s, pytest.raises(Refused) as err:
        service.authorise(s, actor=actor, clock=world.clock, proposal_id=pid, details=d)  # type: ignore[arg-type]
    return err.value


def test_firearms_commanders_must_exist_hold_the_role_and_be_independent(world: World) -> None:
    with world.session() as s:
        # a person who is both analyst (the proposer) and tactical firearms commander
        add_person(
            s,
            actor="admin",
            username="ana",
            roles=[RoleSpec(Role.TACTICAL_FIREARMS_COMMANDER)],
            rank=Rank.INSPECTOR,
            clock=world.clock,
        )
        # the authorising officer also holds the strategic commander role
        add_person(
            s,
            actor="admin",
            username="acc1",
            roles=[RoleSpec(Role.STRATEGIC_FIREARMS_COMMANDER)],
            clock=world.clock,
        )
        add_person(
            s,
            actor="admin",
            username="tfc",
            roles=[RoleSpec(Role.STRATEGIC_FIREARMS_COMMANDER)],
            clock=world.clock,
        )
    pid = walk_to(world, State.CONSULTED)
    base = authorisation(world)
    cases = [
        (replace(base, tactical_commander="nobody"), "firearms-command", "not a tactical"),
        (replace(base, tactical_commander="cat"), "firearms-command", "not a tactical"),
        (replace(base, tactical_commander="ana"), "independent-command", "of the proposer"),
        (
            replace(base, strategic_commander="acc1"),
            "independent-command",
            "of the authorising officer",
        ),
        (replace(base, strategic_commander="tfc"), "independent-command", "two different"),
    ]
    for d, rule, words in cases:
        err = _refused(world, pid, "acc1", d)
        assert err.rule == rule and words in err.reason, (d, err)
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert last.outcome == "denied" and last.detail_dict["rule"] == "independent-command"
    with world.session() as s:
        r = service.authorise(s, actor="acc1", clock=world.clock, proposal_id=pid, details=base)
    assert r.to_state is State.AUTHORISED


def _to_debriefed(world: World) -> int:
    """Authorised by acc1 (tfc, sfc named), cancelled by acc2, debriefed by tfc."""
    pid = walk_to(world, State.ACTIVE)
    c = world.clock
    with world.session() as s:
        service.cancel(
            s, actor="acc2", clock=c, proposal_id=pid, details=CancellationDetails("Lapsed.")
        )
        service.debrief(
            s,
            actor="tfc",
            clock=c,
            proposal_id=pid,
            details=DebriefDetails("Quiet patrol.", "Signed: tfc"),
        )
    return pid


@pytest.mark.parametrize(
    ("reviewer", "part"),
    [
        ("acc1", "authorising officer"),
        ("acc2", "cancelling officer"),
        ("sfc", "strategic firearms commander"),
    ],
)
def test_review_is_independent_of_everyone_who_decided(
    world: World, reviewer: str, part: str
) -> None:
    pid = _to_debriefed(world)
    with world.session() as s:
        with pytest.raises(Refused) as err:
            service.review(
                s,
                actor=reviewer,
                clock=world.clock,
                proposal_id=pid,
                details=ReviewDetails("Proportionate."),
            )
        assert err.value.rule == "independent-review" and part in err.value.reason
        assert "independent of everyone who decided" in err.value.reason
        last = audit.read_entries(s)[-1]
        assert last.detail_dict["rule"] == "independent-review"
        r = service.review(
            s, actor="sfc2", clock=world.clock, proposal_id=pid, details=ReviewDetails("Fine.")
        )
    assert r.to_state is State.REVIEWED


def test_review_independent_of_consulted_commanders_debriefer_and_extender(world: World) -> None:
    with world.session() as s:
        # a borough commander and the debriefer who are also authorising officers
        for name in ("bob1", "tfc"):
            add_person(
                s,
                actor="admin",
                username=name,
                roles=[RoleSpec(Role.AUTHORISING_OFFICER)],
                rank=Rank.ASSISTANT_CHIEF_CONSTABLE,
                clock=world.clock,
            )
    pid = _to_debriefed(world)
    for reviewer, part in (("bob1", "consulted borough commander"), ("tfc", "debriefer")):
        with world.session() as s, pytest.raises(Refused) as err:
            service.review(
                s,
                actor=reviewer,
                clock=world.clock,
                proposal_id=pid,
                details=ReviewDetails("Proportionate."),
            )
        assert err.value.rule == "independent-review" and part in err.value.reason
