"""Profiles and the non-routine guards: each refusal names its rule and says why."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import audit, service
from patrolcast.governance.models import Proposal
from patrolcast.governance.profiles import (
    available_profiles,
    load_profile,
    parse_profile,
    shipped_profile_text,
)
from patrolcast.governance.roles import Rank
from patrolcast.governance.states import Refused, State
from patrolcast.governance.values import (
    Area,
    ConsultationDetails,
    ExtensionDetails,
    NDMRationale,
    ProposalDetails,
    Trigger,
)
from tests.governance.helpers import World, authorisation, details, ndm, walk_to


def test_armed_profile_is_stricter_than_both_statutory_profiles() -> None:
    armed = load_profile("armed-foot-patrol")
    for name in ("s60-statutory", "busss-strict"):
        other = load_profile(name)
        assert armed.authorise_rank >= other.authorise_rank
        assert armed.max_hours <= other.max_hours
        assert armed.max_total_hours <= other.max_total_hours
        assert armed.cooldown_hours >= other.cooldown_hours
        assert armed.cap_per_area > 0 and (
            other.cap_per_area == 0 or armed.cap_per_area <= other.cap_per_area
        )
        assert armed.max_area_km2 <= other.max_area_km2
        assert armed.incident_max_age_hours <= other.incident_max_age_hours
        assert armed.intelligence_grades <= other.intelligence_grades
    assert armed.require_tactical_commander and armed.require_strategic_commander
    s60 = load_profile("s60-statutory")
    assert (s60.authorise_rank, s60.max_hours) == (Rank.INSPECTOR, 24)
    assert [(e.rank, e.max_hours) for e in s60.extensions] == [(Rank.SUPERINTENDENT, 24)]
    busss = load_profile("busss-strict")
    assert [e.max_hours for e in busss.extensions] == [9, 15] and busss.public_notice
    assert set(available_profiles()) >= {"s60-statutory", "busss-strict", "armed-foot-patrol"}


def test_profile_from_text_and_bad_profiles(tmp_path: Path) -> None:
    text = shipped_profile_text("armed-foot-patrol")
    assert parse_profile(text.replace("max_hours = 8", "max_hours = 6"), where="x").max_hours == 6
    with pytest.raises(InputError, match="unknown policy profile"):
        load_profile("no-such-profile")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = 'broken'\nversion = 1\n[authorisation]\nrank = 'inspector'\n")
    with pytest.raises(InputError, match="missing"):
        parse_profile(broken.read_text(), where="broken.toml")
    with pytest.raises(InputError, match="unknown policy profile"):
        load_profile(str(broken))


def test_ranks_are_ordered() -> None:
    order = [
        Rank.parse(x)
        for x in (
            "constable",
            "sergeant",
            "inspector",
            "chief inspector",
            "superintendent",
            "chief superintendent",
            "commander",
            "deputy chief constable",
            "chief constable",
        )
    ]
    assert order == sorted(order) and len(set(order)) == 9
    assert Rank.parse("ACC") == Rank.parse("commander")


def test_ndm_requires_all_six_headings() -> None:
    full = ndm().to_dict()
    del full["powers_and_policy"]
    with pytest.raises(InputError, match="powers_and_policy"):
        NDMRationale.from_mapping(full)
    with pytest.raises(InputError, match="mandatory"):
        NDMRationale.from_mapping({**ndm().to_dict(), "code_of_ethics": "  "})


def _ext(end: datetime, hours: float) -> ExtensionDetails:
    return ExtensionDetails(end + timedelta(hours=hours), "x", ndm())


def _refusal(world: World, pid: int, actor: str, call: str, d: object) -> Refused:
    with world.session() as s, pytest.raises(Refused) as err:
        getattr(service, call)(s, actor=actor, clock=world.clock, proposal_id=pid, details=d)
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert last.outcome == "denied" and last.detail_dict["rule"] == err.value.rule
    assert err.value.reason and err.value.reason in last.detail_dict["reason"]
    return err.value


def test_minimum_trigger_stale_incident_and_weak_intelligence(world: World) -> None:
    stale = details(world)
    stale = ProposalDetails(
        trigger=Trigger(
            kind="incident",
            offence="serious_assault",
            occurred_at=world.clock.now() - timedelta(hours=30),
            place="x",
        ),
        area=stale.area,
        start=stale.start,
        end=stale.end,
        ndm=stale.ndm,
        snapshot_id=stale.snapshot_id,
    )
    weak = ProposalDetails(
        trigger=Trigger(kind="intelligence", intelligence_item_id=42, grade="2/C"),
        area=stale.area,
        start=stale.start,
        end=stale.end,
        ndm=stale.ndm,
        snapshot_id=stale.snapshot_id,
    )
    for d, words in ((stale, "30.0 h ago"), (weak, "graded 2C")):
        with world.session() as s:
            pid = service.propose(s, actor="ana", clock=world.clock, details=d).proposal_id
            with pytest.raises(Refused, match=words) as err:
                service.submit(s, actor="ana", clock=world.clock, proposal_id=pid)
        assert err.value.rule == "minimum-trigger"


def test_max_area(world: World) -> None:
    big = details(world)
    big = ProposalDetails(
        trigger=big.trigger,
        area=Area.from_bbox(530000, 180000, 532000, 182000, ("E09000001",)),
        start=big.start,
        end=big.end,
        ndm=big.ndm,
        snapshot_id=big.snapshot_id,
    )
    with world.session() as s:
        pid = service.propose(s, actor="ana", clock=world.clock, details=big).proposal_id
        with pytest.raises(Refused, match="4.000 km2 exceeds the 1 km2") as err:
            service.submit(s, actor="ana", clock=world.clock, proposal_id=pid)
    assert err.value.rule == "max-area"


def test_consultation_scope_and_objection_needs_an_answer(world: World) -> None:
    pid = walk_to(world, State.ASSESSED)
    err = _refusal(world, pid, "bob1", "consult", ConsultationDetails("E09000002", "support", "x"))
    assert err.rule == "borough-scope"
    with world.session() as s:
        r = service.consult(
            s,
            actor="bob1",
            clock=world.clock,
            proposal_id=pid,
            details=ConsultationDetails("E09000001", "object", "Tension high."),
        )
        assert r.to_state is State.ASSESSED  # the other borough has not responded yet
        r = service.consult(
            s,
            actor="bob2",
            clock=world.clock,
            proposal_id=pid,
            details=ConsultationDetails("E09000002", "support", "Fine."),
        )
        assert r.to_state is State.CONSULTED
    d = authorisation(world)
    err = _refusal(world, pid, "acc1", "authorise", d)
    assert err.rule == "consultation-objection" and "E09000001" in err.reason


def test_firearms_commanders_and_public_notice_required(world: World) -> None:
    from dataclasses import replace

    pid = walk_to(world, State.CONSULTED)
    assert (
        _refusal(
            world, pid, "acc1", "authorise", replace(authorisation(world), tactical_commander=None)
        ).rule
        == "firearms-command"
    )
    assert (
        _refusal(
            world,
            pid,
            "acc1",
            "authorise",
            replace(authorisation(world), strategic_commander="tfc"),
        ).rule
        == "firearms-command"
    )
    assert (
        _refusal(
            world, pid, "acc1", "authorise", replace(authorisation(world), public_notice=None)
        ).rule
        == "public-notice"
    )


def test_extension_limits(world: World) -> None:
    pid = walk_to(world, State.ACTIVE, hours=8)
    with world.session() as s:
        end = service.read_proposal(
            s, actor="aud", clock=world.clock, proposal_id=pid
        ).authorised_end
    assert end is not None
    assert (
        _refusal(world, pid, "insp", "extend", _ext(end, 1)).rule
        == "rank"
    )
    # An extension is a new decision: without its NDM rationale it is refused (profile rule).
    assert (
        _refusal(world, pid, "acc2", "extend", ExtensionDetails(end + timedelta(hours=1), "x")).rule
        == "ndm-rationale"
    )
    assert (
        _refusal(world, pid, "acc2", "extend", _ext(end, 5)).rule
        == "extension-duration"
    )
    with world.session() as s:
        service.extend(
            s,
            actor="acc2",
            clock=world.clock,
            proposal_id=pid,
            details=ExtensionDetails(end + timedelta(hours=4), "Another stabbing.", ndm()),
        )
    assert (
        _refusal(world, pid, "acc2", "extend", _ext(end, 5)).rule
        == "extension-limit"
    )
    world.clock.current = end + timedelta(hours=4)
    with world.session() as s:
        view = service.read_proposal(s, actor="aud", clock=world.clock, proposal_id=pid)
    assert view.state is State.EXPIRED
    assert (view.authorised_end - view.authorised_start) == timedelta(hours=12)  # type: ignore[operator]


def test_cap_per_area_in_rolling_window(world: World) -> None:
    c = world.clock
    for _ in range(2):
        pid = walk_to(world, State.ACTIVE, hours=2)
        c.advance(timedelta(hours=2 + 72))  # past the end and the 72 h cool-down
    pid = walk_to(world, State.CONSULTED)
    err = _refusal(world, pid, "acc1", "authorise", authorisation(world))
    assert err.rule == "cap-per-area" and "allows 2" in err.reason
    c.advance(timedelta(days=28))
    # a month later the window has rolled on, but the incident is now stale
    with world.session() as s, pytest.raises(Refused, match="minimum-trigger"):
        service.authorise(s, actor="acc1", clock=c, proposal_id=pid, details=authorisation(world))


def test_unknown_user_and_reads_are_audited(world: World) -> None:
    pid = walk_to(world, State.DRAFT)
    with world.session() as s:
        with pytest.raises(PermissionDenied, match="unknown-user"):
            service.read_proposal(s, actor="mallory", clock=world.clock, proposal_id=pid)
        service.read_proposal(s, actor="aud", clock=world.clock, proposal_id=pid)
        service.list_proposals(s, actor="aud", clock=world.clock)
        tail = audit.read_entries(s)[-3:]
    assert [(e.actor, e.action, e.outcome) for e in tail] == [
        ("mallory", "read", "denied"),
        ("aud", "read", "read"),
        ("aud", "read", "read"),
    ]


def test_only_administrators_add_users(world: World) -> None:
    from patrolcast.governance.roles import Role, RoleSpec, add_person

    with world.session() as s:
        with pytest.raises(PermissionDenied):
            add_person(
                s,
                actor="ana",
                username="eve",
                roles=[RoleSpec(Role.ADMINISTRATOR)],
                clock=world.clock,
            )
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.action, last.outcome) == ("ana", "user_add", "denied")


def test_s60_inspector_authorises_superintendent_extends_once(world: World) -> None:
    from patrolcast.governance.roles import Role, RoleSpec, add_person

    with world.session() as s:
        add_person(
            s,
            actor="admin",
            username="supt",
            roles=[RoleSpec(Role.AUTHORISING_OFFICER)],
            rank=Rank.SUPERINTENDENT,
            clock=world.clock,
        )
    pid = walk_to(world, State.ACTIVE, hours=24, profile="s60-statutory", authoriser="insp")
    with world.session() as s:
        end = service.read_proposal(
            s, actor="aud", clock=world.clock, proposal_id=pid
        ).authorised_end
    assert end is not None
    err = _refusal(world, pid, "insp", "extend", _ext(end, 24))
    assert err.rule == "rank" and "superintendent" in err.reason
    with world.session() as s:
        service.extend(
            s,
            actor="supt",
            clock=world.clock,
            proposal_id=pid,
            details=ExtensionDetails(end + timedelta(hours=24), "Continuing threat.", ndm()),
        )
    assert (
        _refusal(
            world, pid, "acc2", "extend", _ext(end, 25)
        ).rule
        == "extension-limit"
    )


def test_busss_extensions_nine_then_fifteen_hours(world: World) -> None:
    pid = walk_to(world, State.ACTIVE, hours=15, profile="busss-strict")
    with world.session() as s:
        end = service.read_proposal(
            s, actor="aud", clock=world.clock, proposal_id=pid
        ).authorised_end
    assert end is not None
    assert (
        _refusal(
            world, pid, "acc2", "extend", _ext(end, 10)
        ).rule
        == "extension-duration"
    )
    with world.session() as s:
        service.extend(
            s,
            actor="acc2",
            clock=world.clock,
            proposal_id=pid,
            details=ExtensionDetails(end + timedelta(hours=9), "First extension.", ndm()),
        )
        service.extend(
            s,
            actor="acc2",
            clock=world.clock,
            proposal_id=pid,
            details=ExtensionDetails(end + timedelta(hours=24), "Second extension.", ndm()),
        )
        view = service.read_proposal(s, actor="aud", clock=world.clock, proposal_id=pid)
    assert view.authorised_end is not None and view.authorised_start is not None
    assert view.authorised_end - view.authorised_start == timedelta(hours=39)


def test_area_must_be_projected_metres() -> None:
    with pytest.raises(InputError, match="not projected"):
        Area(
            wkt="POLYGON((0 0,0.01 0,0.01 0.01,0 0.01,0 0))",
            boroughs=("E09000001",),
            crs="EPSG:4326",
        )
    assert Area.from_bbox(0, 0, 1000, 500, ("e09000001",)).boroughs == ("E09000001",)
    assert Area.from_bbox(0, 0, 1000, 500, ("E09000001",)).area_km2 == pytest.approx(0.5)


def test_intelligence_trigger_grade_is_the_items_own_grade(world: World) -> None:
    """A proposer cannot meet the minimum trigger by declaring a better grade than the item's,
    nor by citing an unknown item."""
    from dataclasses import replace

    from patrolcast.oversight.intel_store import record_item
    from patrolcast.oversight.intelligence import Place

    now = world.clock.now()

    def item(grading: str) -> int:
        with world.session() as s:
            return record_item(
                s, actor="ian", clock=world.clock,
                place=Place(x=530200.0, y=175200.0, radius_m=200.0),
                start=now, end=now + timedelta(hours=12), grading=grading,
                owner="Borough intelligence unit", retain_until=now + timedelta(days=30),
                summary="Serious violence likely near the market tonight",
            )

    weak, strong = item("3C P"), item("1B P")
    base = details(world)
    cases = (
        (weak, "1B", "graded 3C"),  # the item is 3C: claiming 1B is refused
        (strong + 1000, "1B", "does not exist"),
    )
    for item_id, grade, words in cases:
        d = replace(
            base, trigger=Trigger(kind="intelligence", intelligence_item_id=item_id, grade=grade)
        )
        with world.session() as s:
            pid = service.propose(s, actor="ana", clock=world.clock, details=d).proposal_id
            with pytest.raises(Refused, match=words) as err:
                service.submit(s, actor="ana", clock=world.clock, proposal_id=pid)
        assert err.value.rule == "minimum-trigger"
    good = Trigger(kind="intelligence", intelligence_item_id=strong, grade="1B")
    ok = replace(base, trigger=good)
    with world.session() as s:
        pid = service.propose(s, actor="ana", clock=world.clock, details=ok).proposal_id
        assert service.submit(s, actor="ana", clock=world.clock, proposal_id=pid).to_state is (
            State.SUBMITTED
        )


def test_a_proposer_cannot_bring_their_own_policy_profile(world: World, tmp_path: Path) -> None:
    text = shipped_profile_text("armed-foot-patrol")
    lax = tmp_path / "lax.toml"
    lax.write_text(text.replace('rank = "assistant_chief_constable"', 'rank = "constable"'))
    # A profile is chosen by shipped name only: a path is refused before anything is written.
    with pytest.raises(InputError, match="never by file or path"):
        details(world, profile=str(lax))
    with world.session() as s:
        assert s.query(Proposal).count() == 0
