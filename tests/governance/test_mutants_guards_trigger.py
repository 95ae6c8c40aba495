"""Policy guards written to kill surviving mutants (issue 15, scripts/mutation.sh
governance-guards): the intelligence trigger's item checks (retention ends at its instant; a
database without intelligence items refuses the trigger) and the cool-down an extension keeps
before a later deployment in the same place."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from patrolcast.governance import audit, service
from patrolcast.governance.guards import involvement
from patrolcast.governance.models import Proposal
from patrolcast.governance.roles import find_actor
from patrolcast.governance.states import Refused, State
from patrolcast.governance.values import (
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    ExtensionDetails,
    ReviewDetails,
    Trigger,
)
from patrolcast.oversight.intel_store import record_item
from patrolcast.oversight.intelligence import Place
from tests.governance.helpers import PEOPLE, World, authorisation, details, ndm, walk_to


def _item(world: World, hours: float = 12.0) -> int:
    """A 1B item valid for ``hours`` and kept until it lapses."""
    now, lapse = world.clock.now(), world.clock.now() + timedelta(hours=hours)
    with world.session() as s:
        return record_item(
            s, actor="ian", clock=world.clock,
            place=Place(x=530200.0, y=175200.0, radius_m=200.0),
            start=now, end=lapse, grading="1B P",
            owner="Borough intelligence unit", retain_until=lapse,
            summary="Serious violence likely near the market tonight",
        )  # fmt: skip


def _submit(world: World, item_id: int) -> State:
    trigger = Trigger(kind="intelligence", intelligence_item_id=item_id, grade="1B")
    d = replace(details(world), trigger=trigger)
    with world.session() as s:
        pid = service.propose(s, actor="ana", clock=world.clock, details=d).proposal_id
        return service.submit(s, actor="ana", clock=world.clock, proposal_id=pid).to_state


def test_an_item_is_past_its_retention_from_its_instant_on(world: World) -> None:
    start = world.clock.now()
    item = _item(world, hours=1.0)
    world.clock.current = start + timedelta(hours=1) - timedelta(seconds=1)
    assert _submit(world, item) is State.SUBMITTED
    world.clock.current = start + timedelta(hours=1)
    with pytest.raises(Refused) as past:
        _submit(world, item)
    assert (past.value.rule, past.value.reason) == (
        "minimum-trigger",
        f"intelligence item #{item} is past its retention",
    )


def test_no_intelligence_items_table_refuses_an_intelligence_trigger(world: World) -> None:
    item = _item(world)
    with world.session() as s:
        s.execute(text("DROP TABLE intelligence_items"))
        s.commit()
    with pytest.raises(Refused) as none:
        _submit(world, item)
    assert (none.value.rule, none.value.reason) == (
        "minimum-trigger",
        "no intelligence items are held in this database",
    )
    assert str(none.value) == (
        "refused (minimum-trigger): no intelligence items are held in this database"
    )


def _end(world: World, pid: int) -> datetime:
    with world.session() as s:
        end = service.read_proposal(
            s, actor="aud", clock=world.clock, proposal_id=pid
        ).authorised_end
    assert end is not None
    return end


def _extend(world: World, pid: int, until: datetime) -> None:
    with world.session() as s:
        service.extend(s, actor="acc2", clock=world.clock, proposal_id=pid,
                       details=ExtensionDetails(until, "Further incident.", ndm()))  # fmt: skip


def test_an_extension_keeps_the_cooldown_before_a_later_deployment(world: World) -> None:
    """Mutants of ``_cooldown_and_cap_ok_extension``: a later deployment in the same place
    (authorised under a profile without a cool-down) stops an extension that would run into
    the extended deployment's own 24 h cool-down before it."""
    a = walk_to(world, State.ACTIVE, hours=6, profile="busss-strict")
    b = walk_to(world, State.AUTHORISED, hours=2, start_in=20.0, profile="s60-statutory")
    end = _end(world, a)
    with pytest.raises(Refused) as refused:
        _extend(world, a, end + timedelta(hours=3))
    assert refused.value.rule == "cooldown" and f"deployment #{b}" in refused.value.reason
    assert _end(world, a) == end


def test_an_earlier_deployment_does_not_stop_an_extension(world: World) -> None:
    """An extension looks ahead only: a deployment before this one in the same place does not
    count (the cool-down after it was checked when this one was authorised)."""
    t0 = world.clock.now()
    walk_to(world, State.ACTIVE, hours=1, profile="s60-statutory")
    world.clock.current = t0 + timedelta(hours=2)
    a = walk_to(world, State.ACTIVE, hours=4, profile="s60-statutory")
    end = _end(world, a)
    _extend(world, a, end + timedelta(hours=3))
    assert _end(world, a) == end + timedelta(hours=3)


def test_an_extension_without_its_rationale_says_what_is_missing(world: World) -> None:
    a = walk_to(world, State.ACTIVE, hours=6)
    bare = ExtensionDetails(_end(world, a) + timedelta(hours=1), "Further incident.")
    with world.session() as s, pytest.raises(Refused) as refused:
        service.extend(s, actor="acc2", clock=world.clock, proposal_id=a, details=bare)
    assert (refused.value.rule, refused.value.reason) == (
        "ndm-rationale",
        "an extension is a new decision: armed-foot-patrol requires its rationale under the "
        "six National Decision Model headings",
    )


def test_an_extension_must_move_the_end_later_and_within_its_hours(world: World) -> None:
    a = walk_to(world, State.ACTIVE, hours=6)
    end = _end(world, a)
    cases = (
        (end, "extension-window", "an extension must move the end later"),
        (end - timedelta(hours=1), "extension-window", "an extension must move the end later"),
        (end + timedelta(hours=5), "extension-duration",
         "extension 1 adds 5 h; armed-foot-patrol allows 4 h"),
    )  # fmt: skip
    for until, rule, reason in cases:
        with pytest.raises(Refused) as refused:
            _extend(world, a, until)
        assert (refused.value.rule, refused.value.reason) == (rule, reason), until
    _extend(world, a, end + timedelta(hours=4))  # exactly the hours allowed
    assert _end(world, a) == end + timedelta(hours=4)


def test_an_extension_is_decided_no_further_ahead_than_an_authorisation(world: World) -> None:
    """The added time starts at the old end: 17 h ahead is more than the 12 h lead allowed."""
    a = walk_to(world, State.AUTHORISED, hours=6, start_in=11.0)
    with pytest.raises(Refused) as refused:
        _extend(world, a, _end(world, a) + timedelta(hours=1))
    assert (refused.value.rule, refused.value.reason) == (
        "max-lead",
        "the extended time starts 17.0 h after the decision; armed-foot-patrol allows 12 h",
    )


def _authorised_on_intelligence(world: World, item: int, offset: float) -> int:
    trigger = Trigger(kind="intelligence", intelligence_item_id=item, grade="1B")
    c, d = world.clock, replace(details(world, offset=offset), trigger=trigger)
    with world.session() as s:
        pid = service.propose(s, actor="ana", clock=c, details=d).proposal_id
        service.submit(s, actor="ana", clock=c, proposal_id=pid)
        service.record_assessment(s, actor="cat", clock=c, proposal_id=pid, payload={"ok": 1})
        service.assess(s, actor="cat", clock=c, proposal_id=pid)
        for who, borough in (("bob1", "E09000001"), ("bob2", "E09000002")):
            service.consult(s, actor=who, clock=c, proposal_id=pid,
                            details=ConsultationDetails(borough, "support", "Agreed."))  # fmt: skip
        service.authorise(s, actor="acc1", clock=c, proposal_id=pid, details=authorisation(world))
    return pid


def test_an_extension_needs_its_intelligence_still_held(world: World) -> None:
    """An intelligence-triggered deployment is extended only while its item is held: not once
    the item is past its retention, nor when no items are held at all."""
    start = world.clock.now()
    lapsing = _item(world, hours=1.0)
    first = _authorised_on_intelligence(world, lapsing, offset=0.0)
    second = _authorised_on_intelligence(world, _item(world), offset=20_000.0)
    world.clock.current = start + timedelta(hours=1)
    with pytest.raises(Refused) as lapsed:
        _extend(world, first, _end(world, first) + timedelta(hours=1))
    assert (lapsed.value.rule, lapsed.value.reason) == (
        "minimum-trigger",
        f"intelligence item #{lapsing} is past its retention",
    )
    with world.session() as s:
        s.execute(text("DROP TABLE intelligence_items"))
        s.commit()
    with pytest.raises(Refused) as none:
        _extend(world, second, _end(world, second) + timedelta(hours=1))
    assert (none.value.rule, none.value.reason) == (
        "minimum-trigger",
        "no intelligence items are held in this database",
    )


def test_an_independent_review_names_each_part_a_reviewer_played(world: World) -> None:
    """Mutants of ``involvement``'s labels: the refusal names the parts exactly (acc1
    authorised and cancelled, acc2 extended, sfc was named the strategic commander)."""
    a = walk_to(world, State.ACTIVE, hours=6)
    _extend(world, a, _end(world, a) + timedelta(hours=1))
    c = world.clock
    with world.session() as s:
        service.cancel(s, actor="acc1", clock=c, proposal_id=a,
                       details=CancellationDetails("Grounds lapsed."))  # fmt: skip
        service.debrief(s, actor="tfc", clock=c, proposal_id=a,
                        details=DebriefDetails("Quiet.", "Signed: tfc"))  # fmt: skip
    reasons = {}
    for who in ("acc1", "acc2", "sfc"):
        with world.session() as s, pytest.raises(Refused) as refused:
            service.review(s, actor=who, clock=c, proposal_id=a,
                           details=ReviewDetails("Proportionate."))  # fmt: skip
        assert refused.value.rule == "independent-review"
        reasons[who] = refused.value.reason
    head = "the review must be independent of everyone who decided on the proposal; "
    assert reasons == {
        "acc1": head + "acc1 was its authorising officer and cancelling officer",
        "acc2": head + "acc2 was its extending officer",
        "sfc": head + "sfc was its strategic firearms commander",
    }


def test_the_named_tactical_commander_took_part_and_reads_it_afterwards(world: World) -> None:
    """The tactical commander named on the authorisation took part in it even when someone
    else debriefs: they still read the deployment once debriefed (no part left to play)."""
    a = walk_to(world, State.CANCELLED)
    c = world.clock
    with world.session() as s:
        service.debrief(s, actor="acc1", clock=c, proposal_id=a,
                        details=DebriefDetails("Quiet.", "Signed: acc1"))  # fmt: skip
        p = s.get(Proposal, a)
        tfc = find_actor(s, "tfc")
        assert p is not None and tfc is not None
        assert involvement(s, p)[tfc.person_id] == {"tactical firearms commander"}
        assert service.read_proposal(s, actor="tfc", clock=c, proposal_id=a).id == a
        last = audit.read_entries(s)[-1]
        assert (last.actor, last.outcome, last.detail_dict) == (
            "tfc",
            "read",
            {"basis": "involved"},
        )


def test_an_extension_may_run_up_to_a_later_deployment_without_a_cooldown(world: World) -> None:
    """Under a profile without a cool-down an extension may end exactly when a later
    deployment in the same place starts, not a minute later."""
    a = walk_to(world, State.ACTIVE, hours=6, profile="s60-statutory")
    end = _end(world, a)
    b = walk_to(world, State.AUTHORISED, hours=2, start_in=8.0, profile="s60-statutory")
    with pytest.raises(Refused) as refused:
        _extend(world, a, end + timedelta(hours=2, minutes=1))
    assert refused.value.rule == "cooldown" and f"deployment #{b} " in refused.value.reason
    _extend(world, a, end + timedelta(hours=2))
    assert _end(world, a) == end + timedelta(hours=2)


def test_involvement_names_every_part_exactly_and_only_for_this_proposal(world: World) -> None:
    """Who took part in a reviewed deployment, with each part's label exactly as a refusal
    shows it; a second, unreviewed deployment has no reviewer."""
    reviewed = walk_to(world, State.REVIEWED)
    other = walk_to(world, State.DEBRIEFED, offset=3000.0)
    with world.session() as s:
        ids = {n: a.person_id for n in PEOPLE if (a := find_actor(s, n)) is not None}
        p, q = s.get(Proposal, reviewed), s.get(Proposal, other)
        assert p is not None and q is not None
        assert involvement(s, p) == {
            ids["ana"]: {"proposer"},
            ids["cat"]: {"community impact assessor"},
            ids["bob1"]: {"consulted borough commander"},
            ids["bob2"]: {"consulted borough commander"},
            ids["acc1"]: {"authorising officer", "cancelling officer"},
            ids["tfc"]: {"tactical firearms commander", "debriefer"},
            ids["sfc"]: {"strategic firearms commander"},
            ids["acc2"]: {"reviewer"},
        }
        assert ids["acc2"] not in involvement(s, q)
