"""Read-access and place rules written to kill surviving mutants (issue 15, scripts/mutation.sh
governance-guards): the basis an audited read records, the facts a stored proposal is read
by (its effective state, its proposer, who took part only when no cheaper basis allows), the
window a deployment holds its place for, and which other deployments are the same place."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from patrolcast.governance import audit, service
from patrolcast.governance.guards import (
    ReadFacts,
    _nearby_deployments,
    effective_window,
    proposal_read_basis,
    read_basis,
    read_facts,
)
from patrolcast.governance.models import Proposal
from patrolcast.governance.roles import Actor, Role, find_actor
from patrolcast.governance.states import Refused, State
from patrolcast.governance.values import Area, CancellationDetails
from tests.governance import helpers
from tests.governance.helpers import T0, World, authorisation, walk_to


def _read(world: World, who: str, pid: int) -> str:
    """The basis the audit log records for ``who`` reading proposal ``pid``."""
    with world.session() as s:
        assert service.read_proposal(s, actor=who, clock=world.clock, proposal_id=pid).id == pid
        last = audit.read_entries(s)[-1]
        assert (last.actor, last.action, last.outcome) == (who, "read", "read")
        basis = last.detail_dict["basis"]
        assert last.detail_dict == {"basis": basis}
        return str(basis)


def test_read_basis_names_each_basis_in_order() -> None:
    def actor(*roles: Role, boroughs: frozenset[str] = frozenset()) -> Actor:
        return Actor(person_id=7, username="me", rank=None, roles=frozenset(roles),
                     boroughs=boroughs)  # fmt: skip

    def facts(state: State = State.DRAFT, proposer: int = 1, involved: int = 2) -> ReadFacts:
        return ReadFacts(state=state, boroughs=frozenset({"E09000001"}), proposer_id=proposer,
                         involved=frozenset({involved}))  # fmt: skip

    # oversight first, even for the proposer; then proposer, involved, borough, part
    assert read_basis(actor(Role.OVERSIGHT_AUDITOR), facts(proposer=7)) == "oversight"
    assert read_basis(actor(Role.ADMINISTRATOR), facts()) == "oversight"
    assert read_basis(actor(Role.ANALYST), facts(proposer=7, involved=7)) == "proposer"
    bc = actor(Role.BOROUGH_COMMANDER, boroughs=frozenset({"E09000001"}))
    assert read_basis(bc, facts(involved=7)) == "involved"
    assert read_basis(bc, facts()) == "borough"
    assert read_basis(actor(Role.AUTHORISING_OFFICER), facts(State.CONSULTED)) == "part"
    assert read_basis(actor(Role.AUTHORISING_OFFICER), facts(State.DRAFT)) is None


def test_an_audited_read_records_the_basis_that_allowed_it(world: World) -> None:
    draft = walk_to(world, State.DRAFT)
    consulted = walk_to(world, State.CONSULTED, offset=3000.0)
    assert _read(world, "aud", draft) == "oversight"
    assert _read(world, "admin", draft) == "oversight"
    assert _read(world, "ana", draft) == "proposer"
    assert _read(world, "bob1", draft) == "borough"
    assert _read(world, "acc1", consulted) == "part"
    assert _read(world, "cat", consulted) == "involved"  # assessed it; no part once consulted
    # bob1 was consulted on it, but the cheaper borough basis allows: who took part is not read
    assert _read(world, "bob1", consulted) == "borough"


def test_who_took_part_is_read_only_when_no_cheaper_basis_allows(world: World) -> None:
    pid = walk_to(world, State.CONSULTED)
    now = world.clock.now()
    with world.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        bob1, cat = find_actor(s, "bob1"), find_actor(s, "cat")
        assert bob1 is not None and cat is not None
        basis, facts = proposal_read_basis(s, bob1, p, now)
        assert (basis, facts.involved) == ("borough", frozenset())
        basis, facts = proposal_read_basis(s, cat, p, now)
        assert basis == "involved" and {cat.person_id, bob1.person_id} <= facts.involved
        cheap = read_facts(s, p, now, with_involvement=False)
        full = read_facts(s, p, now)
        assert cheap.involved == frozenset() and bob1.person_id in full.involved
        for f in (cheap, full):
            assert (f.state, f.boroughs, f.proposer_id) == (
                State.CONSULTED,
                frozenset(helpers.BOROUGHS),
                p.proposer_id,
            )


def test_reads_follow_the_effective_state_of_an_authorised_deployment(world: World) -> None:
    """A strategic commander with no part in it reads an authorised or active deployment, not
    an expired one; someone who took part still reads it once expired."""
    pid = walk_to(world, State.AUTHORISED)  # starts in 1 h, for 6 h
    assert _read(world, "sfc2", pid) == "part"
    world.clock.current = T0 + timedelta(hours=2)
    assert _read(world, "sfc2", pid) == "part"
    world.clock.current = T0 + timedelta(hours=7)
    with world.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        assert read_facts(s, p, world.clock.now(), with_involvement=False).state is State.EXPIRED
        with pytest.raises(Refused) as err:
            service.read_proposal(s, actor="sfc2", clock=world.clock, proposal_id=pid)
        assert err.value.rule == "read-scope"
    assert _read(world, "cat", pid) == "involved"
    assert _read(world, "tfc", pid) == "part"  # debriefs expired deployments


def test_effective_window_needs_both_ends_and_is_cut_by_a_cancellation() -> None:
    start, end = T0, T0 + timedelta(hours=6)

    def window(s: object, e: object, cancelled: object = None) -> object:
        return effective_window(
            Proposal(authorised_start=s, authorised_end=e, cancelled_at=cancelled)
        )

    assert window(None, None) is None
    assert window(start, None) is None
    assert window(None, end) is None
    assert window(start, end) == (start, end)
    assert window(start, end, end + timedelta(hours=1)) == (start, end)
    mid = start + timedelta(hours=2)
    assert window(start, end, mid) == (start, mid)
    assert window(start, end, start) is None  # cancelled as it began: it held nothing
    assert window(start, end, start - timedelta(hours=1)) is None


def test_a_deployment_cancelled_before_it_began_does_not_hide_a_later_one(
    world: World,
) -> None:
    """Deployments that never held the place are skipped, and the search goes on."""
    never = walk_to(world, State.AUTHORISED, start_in=3.0)  # in the same place, later
    with world.session() as s:
        service.cancel(s, actor="acc1", clock=world.clock, proposal_id=never,
                       details=CancellationDetails("Grounds lapsed before it began."))  # fmt: skip
    held = walk_to(world, State.ACTIVE, offset=100.0)
    third = walk_to(world, State.CONSULTED, offset=150.0)
    with world.session() as s, pytest.raises(Refused) as err:
        service.authorise(s, actor="acc2", clock=world.clock, proposal_id=third,
                          details=authorisation(world))  # fmt: skip
    assert err.value.rule == "cooldown" and f"deployment #{held} " in err.value.reason
    assert f"#{never}" not in err.value.reason


def test_with_no_buffer_only_areas_that_overlap_or_touch_are_the_same_place(
    world: World,
) -> None:
    here = walk_to(world, State.DRAFT)  # x 530000-530500
    touching = walk_to(world, State.ACTIVE, offset=-500.0)  # x 529500-530000
    apart = walk_to(world, State.ACTIVE, offset=500.5)  # half a metre east
    with world.session() as s:
        p = s.get(Proposal, here)
        assert p is not None
        assert {o.id for o, _ in _nearby_deployments(s, p, 0.0)} == {touching}
        assert {o.id for o, _ in _nearby_deployments(s, p, 1.0)} == {touching, apart}


def test_cooldown_holds_for_the_same_place_in_a_crs_with_northing_first(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ETRS89-LAEA (EPSG:3035) lists northing before easting; areas are always x = east, so
    the same streets given in it still overlap a deployment given in the British grid."""
    first = walk_to(world, State.ACTIVE, hours=6)
    to_laea = Transformer.from_crs("EPSG:27700", "EPSG:3035", always_xy=True)
    bng = helpers.area(100.0)
    laea = shapely.transform(
        shapely.from_wkt(bng.wkt),
        lambda xy: np.column_stack(to_laea.transform(xy[:, 0], xy[:, 1])),
    )
    same_place = Area(wkt=laea.wkt, boroughs=bng.boroughs, crs="EPSG:3035")
    monkeypatch.setattr(helpers, "area", lambda *a, **k: same_place)
    second = walk_to(world, State.CONSULTED)
    with world.session() as s, pytest.raises(Refused) as err:
        service.authorise(s, actor="acc2", clock=world.clock, proposal_id=second,
                          details=authorisation(world))  # fmt: skip
    assert err.value.rule == "cooldown" and f"#{first} " in err.value.reason
