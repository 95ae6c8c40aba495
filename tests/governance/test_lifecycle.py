"""The lifecycle end to end, its table, and the refusals that name their rule."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from patrolcast.errors import ConflictError
from patrolcast.governance import audit, service
from patrolcast.governance.lifecycle import TRANSITIONS
from patrolcast.governance.states import Action, Refused, State
from patrolcast.governance.values import (
    Area,
    CancellationDetails,
    DebriefDetails,
    ExtensionDetails,
    ReviewDetails,
)
from tests.governance.helpers import World, authorisation, ndm, walk_to


def test_full_lifecycle_with_expiry_debrief_review(world: World) -> None:
    pid = walk_to(world, State.ACTIVE, hours=6)
    c = world.clock
    with world.session() as s:
        view = service.read_proposal(s, actor="aud", clock=c, proposal_id=pid)
        assert view.state is State.ACTIVE
        end = view.authorised_end
        assert end is not None
        service.extend(
            s,
            actor="acc2",
            clock=c,
            proposal_id=pid,
            details=ExtensionDetails(end + timedelta(hours=2), "Further stabbing.", ndm()),
        )
        c.current = end + timedelta(hours=2)  # exactly the new end: expired, no job needed
        view = service.read_proposal(s, actor="aud", clock=c, proposal_id=pid)
        assert view.state is State.EXPIRED and not view.active
        service.debrief(
            s,
            actor="tfc",
            clock=c,
            proposal_id=pid,
            details=DebriefDetails("Two stops, no weapons found.", "Signed tfc"),
        )
        # sfc was the named strategic commander: the review is by an independent one
        r = service.review(
            s, actor="sfc2", clock=c, proposal_id=pid, details=ReviewDetails("Proportionate.")
        )
        assert r.to_state is State.REVIEWED
        report = audit.verify(s)
        assert report.ok, report.problems


def test_transition_table_reaches_every_state() -> None:
    reachable = {State.NEW}
    changed = True
    while changed:
        changed = False
        for (src, _a), dst in TRANSITIONS.items():
            if src in reachable and dst not in reachable:
                reachable.add(dst)
                changed = True
    # active and expired are reached by time from authorised (expiry.effective_state)
    assert reachable | {State.ACTIVE, State.EXPIRED} == set(State)


def test_refusals_name_rule(world: World) -> None:
    pid = walk_to(world, State.CONSULTED)
    with world.session() as s:
        with pytest.raises(Refused) as err:
            service.authorise(
                s, actor="insp", clock=world.clock, proposal_id=pid, details=authorisation(world)
            )
        assert err.value.rule == "rank"
        with pytest.raises(Refused) as err:
            service.authorise(
                s,
                actor="acc1",
                clock=world.clock,
                proposal_id=pid,
                details=authorisation(world, hours=9),
            )
        assert err.value.rule == "max-duration"
        last = audit.read_entries(s)[-1]
        assert last.outcome == "denied" and last.detail_dict["rule"] == "max-duration"


def test_cooldown_and_cap(world: World) -> None:
    c = world.clock
    first = walk_to(world, State.ACTIVE, hours=6)
    c.advance(timedelta(hours=2))
    with world.session() as s:
        service.cancel(
            s,
            actor="acc1",
            clock=c,
            proposal_id=first,
            details=CancellationDetails("Grounds lapsed."),
        )
    c.advance(timedelta(hours=1))
    second = walk_to(world, State.CONSULTED, offset=100.0)  # overlaps the first area
    with world.session() as s, pytest.raises(Refused) as err:
        service.authorise(
            s, actor="acc1", clock=c, proposal_id=second, details=authorisation(world)
        )
    assert err.value.rule == "cooldown"


def test_race_loser_gets_conflict(world: World) -> None:
    pid = walk_to(world, State.CONSULTED)
    with world.session() as s:
        version = service.read_proposal(s, actor="acc1", clock=world.clock, proposal_id=pid).version
        service.authorise(
            s,
            actor="acc1",
            clock=world.clock,
            proposal_id=pid,
            details=authorisation(world),
            expected_version=version,
        )
        with pytest.raises(ConflictError):
            service.authorise(
                s,
                actor="acc2",
                clock=world.clock,
                proposal_id=pid,
                details=authorisation(world),
                expected_version=version,
            )
        with pytest.raises(ConflictError):
            service.authorise(
                s, actor="acc2", clock=world.clock, proposal_id=pid, details=authorisation(world)
            )


def test_actions_enum_covered_by_table() -> None:
    assert {a for (_s, a) in TRANSITIONS} == set(Action)


def test_cooldown_holds_for_the_same_place_given_in_another_crs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same streets given in UTM 30N instead of the British National Grid still overlap."""
    import shapely
    from pyproj import Transformer

    from tests.governance import helpers

    first = walk_to(world, State.ACTIVE, hours=6)
    to_utm = Transformer.from_crs("EPSG:27700", "EPSG:32630", always_xy=True)
    bng = helpers.area(100.0)
    utm = shapely.transform(
        shapely.from_wkt(bng.wkt), lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1]))
    )
    same_place = Area(wkt=utm.wkt, boroughs=bng.boroughs, crs="EPSG:32630")
    monkeypatch.setattr(helpers, "area", lambda *a, **k: same_place)
    second = walk_to(world, State.CONSULTED)
    with world.session() as s, pytest.raises(Refused) as err:
        service.authorise(
            s, actor="acc2", clock=world.clock, proposal_id=second, details=authorisation(world)
        )
    assert err.value.rule == "cooldown" and f"#{first}" in err.value.reason


def test_record_names_the_stored_username_not_the_callers_spelling(world: World) -> None:
    """A direct caller may spell a username in another case; the audit record, done or
    refused, names the person as stored, so one person never appears under two names."""
    from sqlalchemy import select

    from patrolcast.governance.models import AuditEntry
    from patrolcast.governance.states import InvalidTransition
    from tests.governance.helpers import details

    with world.session() as s:
        done = service.propose(s, actor="ANA", clock=world.clock, details=details(world))
        with pytest.raises(InvalidTransition):  # a draft is not authorised: refused, audited
            service.authorise(
                s,
                actor="Ana",
                clock=world.clock,
                proposal_id=done.proposal_id,
                details=authorisation(world),
            )
        rows = s.execute(
            select(AuditEntry.actor, AuditEntry.outcome)
            .where(AuditEntry.target_type == "proposal")
            .order_by(AuditEntry.seq)
        ).all()
        assert [tuple(r) for r in rows] == [("ana", "done"), ("ana", "denied")]
        assert audit.verify(s).ok


def test_a_refused_atomic_run_names_the_stored_username_or_a_placeholder(world: World) -> None:
    """propose + submit in one transaction: a refusal rolls both back and keeps one denial;
    that entry names the person as stored ("aud" for "AUD"), and an unknown multi-line caller
    string never reaches the log (it is written as a fixed placeholder)."""
    from sqlalchemy import select

    from patrolcast.governance.models import AuditEntry
    from tests.governance.helpers import details

    with world.session() as s:
        for caller in ("AUD", "X\nevil " + "a" * 200):  # an auditor may not propose
            with pytest.raises(Exception):  # noqa: B017 - the refusal's type is not the point
                service.propose(
                    s, actor=caller, clock=world.clock, details=details(world), submit_now=True
                )
        rows = s.execute(
            select(AuditEntry.actor, AuditEntry.outcome)
            .where(AuditEntry.target_type == "proposal")
            .order_by(AuditEntry.seq)
        ).all()
        actors = [r.actor for r in rows]
        assert actors[0] == "aud" and "\n" not in actors[-1] and len(actors[-1]) <= 64
        assert actors[-1] == "(invalid username)"
        assert {r.outcome for r in rows} == {"denied"}
        assert audit.verify(s).ok
