"""Guard tests written to kill surviving mutants (issue 15, scripts/mutation.sh
governance-rules): a refusal names its rule in the error and in the audit log, and a rank
refusal says which rank the officer holds."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from patrolcast.errors import PermissionDenied
from patrolcast.governance import audit, service
from patrolcast.governance.guards import GuardContext, propose_rules, rank
from patrolcast.governance.models import Proposal
from patrolcast.governance.profiles import load_profile
from patrolcast.governance.roles import Actor, Rank, Role, load_actor
from patrolcast.governance.states import Action, Refused, State
from patrolcast.governance.values import ConsultationDetails, ExtensionDetails
from tests.governance.helpers import (
    World,
    authorisation,
    details,
    make_world,
    ndm,
    sqlite_url,
    walk_to,
)


def test_refusals_name_their_rule_and_the_officers_rank(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    pid = walk_to(world, State.CONSULTED)
    with world.session() as s, pytest.raises(PermissionDenied) as auditor:
        service.authorise(s, actor="aud", clock=world.clock, proposal_id=pid,
                          details=authorisation(world))  # fmt: skip
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.outcome, last.detail_dict["rule"]) == ("aud", "denied", "read-only")
    assert "aud is an oversight auditor: read-only" in str(auditor.value)

    with world.session() as s, pytest.raises(PermissionDenied) as low:
        service.authorise(s, actor="insp", clock=world.clock, proposal_id=pid,
                          details=authorisation(world))  # fmt: skip
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.outcome, last.detail_dict["rule"]) == ("insp", "denied", "rank")
    assert f"insp is {Rank.INSPECTOR.label}" in str(low.value)
    assert "unranked" not in str(low.value)


def test_a_role_refusal_names_the_roles_needed(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    pid = walk_to(world, State.CONSULTED)
    with world.session() as s, pytest.raises(PermissionDenied) as refused:
        service.authorise(s, actor="ana", clock=world.clock, proposal_id=pid,
                          details=authorisation(world))  # fmt: skip
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.outcome, last.detail_dict["rule"]) == ("ana", "denied", "role")
    assert "authorise needs the role authorising_officer" in str(refused.value)


def test_an_actor_without_a_rank_is_refused_as_unranked(tmp_path: Path) -> None:
    """The rank guard names a missing rank (a person the staff list holds without one)."""
    world = make_world(sqlite_url(tmp_path))
    nora = Actor(person_id=99, username="nora", rank=None,
                 roles=frozenset({Role.AUTHORISING_OFFICER}), boroughs=frozenset())  # fmt: skip
    with world.session() as s:
        ctx = GuardContext(session=s, actor=nora, action=Action.AUTHORISE,
                           state=State.CONSULTED, proposal=None,
                           profile=load_profile("armed-foot-patrol"), details=None,
                           now=world.clock.now())  # fmt: skip
        with pytest.raises(Refused) as refused:
            rank(ctx)
    assert (refused.value.rule, refused.value.reason) == (
        "rank",
        f"authorise under profile armed-foot-patrol needs "
        f"{Rank.ASSISTANT_CHIEF_CONSTABLE.label} or above; nora is unranked",
    )


def _submit_with(world: World, **trigger: Any) -> Refused:
    d = details(world)
    d = replace(d, trigger=replace(d.trigger, **trigger))
    with world.session() as s:
        pid = service.propose(s, actor="ana", clock=world.clock, details=d).proposal_id
        with pytest.raises(Refused) as refused:
            service.submit(s, actor="ana", clock=world.clock, proposal_id=pid)
    return refused.value


def test_an_incident_trigger_refusal_lists_the_profiles_offences(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    offences = ", ".join(sorted(load_profile("armed-foot-patrol").incident_offences))
    refused = _submit_with(world, offence="burglary")
    assert (refused.rule, refused.reason) == (
        "minimum-trigger",
        f"the incident offence is not a trigger under armed-foot-patrol ({offences})",
    )


def test_an_incident_recorded_after_now_is_refused(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    refused = _submit_with(world, occurred_at=world.clock.now() + timedelta(minutes=1))
    assert (refused.rule, refused.reason) == (
        "minimum-trigger",
        "the incident is recorded as after now",
    )


def test_a_window_starting_past_the_grace_is_refused_as_retrospective(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    pid = walk_to(world, State.CONSULTED)
    world.clock.current = world.clock.now() + timedelta(minutes=6)
    late = authorisation(world, start_in=-0.1)  # 6 min before the decision
    with world.session() as s, pytest.raises(Refused) as refused:
        service.authorise(s, actor="acc1", clock=world.clock, proposal_id=pid, details=late)
    assert (refused.value.rule, refused.value.reason) == (
        "no-retrospective",
        f"the authorised window starts {late.start:%Y-%m-%d %H:%M}Z, in the past "
        "(more than 5 min before the decision)",
    )


def test_a_proposal_without_a_forecast_snapshot_is_not_submitted(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    with world.session() as s:
        d = replace(details(world), snapshot_id=None)
        pid = service.propose(s, actor="ana", clock=world.clock, details=d).proposal_id
        with pytest.raises(Refused) as refused:
            service.submit(s, actor="ana", clock=world.clock, proposal_id=pid)
        last = audit.read_entries(s)[-1]
    assert (refused.value.rule, refused.value.reason) == (
        "forecast-snapshot",
        "name the forecast snapshot relied on (record it first)",
    )
    assert (last.outcome, last.detail_dict["rule"]) == ("denied", "forecast-snapshot")


def test_a_proposal_naming_an_unknown_forecast_snapshot_is_refused(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    with world.session() as s, pytest.raises(Refused) as refused:
        service.propose(s, actor="ana", clock=world.clock,
                        details=replace(details(world), snapshot_id=9999))  # fmt: skip
    assert (refused.value.rule, refused.value.reason) == (
        "forecast-snapshot",
        "no forecast snapshot #9999",
    )


def test_proposal_details_under_another_profile_than_the_one_applied_are_refused(
    tmp_path: Path,
) -> None:
    """The propose guard refuses a details/profile mix-up: the rules applied must be the ones
    the proposal names."""
    world = make_world(sqlite_url(tmp_path))
    with world.session() as s:
        ana = load_actor(s, "ana")
        ctx = GuardContext(session=s, actor=ana, action=Action.PROPOSE, state=State.NEW,
                           proposal=None, profile=load_profile("busss-strict"),
                           details=details(world), now=world.clock.now())  # fmt: skip
        with pytest.raises(Refused) as refused:
            propose_rules(ctx)
    assert (refused.value.rule, refused.value.reason) == (
        "policy-profile",
        "the profile is not a shipped or installed policy profile: "
        "a proposer cannot choose their own rules",
    )


def test_only_the_proposer_submits_and_the_refusal_names_the_rule(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    pid = walk_to(world, State.DRAFT, proposer="ana")
    with world.session() as s, pytest.raises(PermissionDenied) as refused:
        service.submit(s, actor="ian", clock=world.clock, proposal_id=pid)
    with world.session() as s:
        last = audit.read_entries(s)[-1]
    assert (last.actor, last.outcome, last.detail_dict["rule"]) == (
        "ian",
        "denied",
        "separation-of-duties",
    )
    assert "only the proposer may submit a proposal" in str(refused.value)


def test_a_borough_responds_once_to_a_proposal_and_again_to_the_next(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    first = walk_to(world, State.ASSESSED)
    second = walk_to(world, State.ASSESSED, offset=3000.0)
    again = ConsultationDetails("E09000001", "support", "Still agreed.")
    with world.session() as s:
        service.consult(s, actor="bob1", clock=world.clock, proposal_id=first, details=again)
    with world.session() as s, pytest.raises(Refused) as refused:
        service.consult(s, actor="bob1", clock=world.clock, proposal_id=first, details=again)
    assert (refused.value.rule, refused.value.reason) == (
        "consultation-recorded",
        "borough E09000001 has already responded",
    )
    with world.session() as s:
        service.consult(s, actor="bob1", clock=world.clock, proposal_id=second, details=again)


def test_an_extension_rank_refusal_names_which_extension(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    pid = walk_to(world, State.ACTIVE)
    with world.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.authorised_end is not None
        end = p.authorised_end
        more = ExtensionDetails(end + timedelta(hours=1), "Further incident.", ndm())
        with pytest.raises(Refused) as refused:
            service.extend(s, actor="insp", clock=world.clock, proposal_id=pid, details=more)
    assert (refused.value.rule, refused.value.reason) == (
        "rank",
        f"extension 1 under profile armed-foot-patrol needs "
        f"{Rank.ASSISTANT_CHIEF_CONSTABLE.label} or above; insp is {Rank.INSPECTOR.label}",
    )


def test_an_authorisation_without_its_public_notice_says_the_profile_requires_it(
    tmp_path: Path,
) -> None:
    world = make_world(sqlite_url(tmp_path))
    pid = walk_to(world, State.CONSULTED)
    bare = replace(authorisation(world), public_notice=None)
    with world.session() as s, pytest.raises(Refused) as refused:
        service.authorise(s, actor="acc1", clock=world.clock, proposal_id=pid, details=bare)
    assert (refused.value.rule, refused.value.reason) == (
        "public-notice",
        "armed-foot-patrol requires the text of the public notice",
    )


# --- each guard called directly on proposals of one world built once per process (fast) -------

_GW: dict[str, Any] = {}


@pytest.fixture()
def gw(tmp_path: Path) -> Any:
    """A world with proposals at several states (far apart: no cool-down between them), copied
    from a database prepared once; ``gw.ids`` maps a name to a proposal id."""
    import sqlite3
    import tempfile

    from patrolcast.governance.clock import FixedClock
    from patrolcast.governance.db import open_database
    from patrolcast.governance.roles import RoleSpec, add_person
    from tests.governance.helpers import T0

    if not _GW:
        tmp = Path(tempfile.mkdtemp(prefix="gov-mut-guards-"))
        world = make_world(sqlite_url(tmp, "template.db"))
        with world.session() as s:
            add_person(s, actor="admin", username="duo", rank=Rank.CHIEF_SUPERINTENDENT,
                       roles=[RoleSpec(Role.TACTICAL_FIREARMS_COMMANDER),
                              RoleSpec(Role.STRATEGIC_FIREARMS_COMMANDER)],
                       clock=world.clock)  # fmt: skip
        ids = {
            "submitted": walk_to(world, State.SUBMITTED, offset=0.0),
            "assessed": walk_to(world, State.ASSESSED, offset=5000.0),
            "consulted": walk_to(world, State.CONSULTED, offset=10000.0),
            "active": walk_to(world, State.ACTIVE, offset=15000.0),
            "authorised": walk_to(world, State.AUTHORISED, offset=20000.0),
            "refused": walk_to(world, State.REFUSED, offset=25000.0),
            "objected": walk_to(world, State.ASSESSED, offset=30000.0),
        }
        with world.session() as s:
            for who, b, pos in (("bob1", "E09000001", "support"), ("bob2", "E09000002", "object")):
                service.consult(s, actor=who, clock=world.clock, proposal_id=ids["objected"],
                                details=ConsultationDetails(b, pos, "Tension high."))  # fmt: skip
        world.db.dispose()
        _GW.update(path=tmp / "template.db", ids=ids, snapshot=world.snapshot_id)
    path = tmp_path / "gov.db"
    with sqlite3.connect(_GW["path"]) as a, sqlite3.connect(path) as b:
        a.backup(b)
    db = open_database(f"sqlite:///{path}", create=False, sqlite_synchronous="OFF")
    w = World(db=db, clock=FixedClock(T0), snapshot_id=_GW["snapshot"])
    w.ids = _GW["ids"]  # type: ignore[attr-defined]
    yield w
    db.dispose()


AFP = load_profile("armed-foot-patrol")


def _ctx(
    s: Any,
    who: str,
    action: Action,
    pid: int | None,
    d: Any = None,
    *,
    profile: Any = AFP,
    now: Any = None,
    actor: Actor | None = None,
) -> GuardContext:
    from tests.governance.helpers import T0

    p = s.get(Proposal, pid) if pid is not None else None
    return GuardContext(session=s, actor=actor or load_actor(s, who), action=action,
                        state=State.NEW, proposal=p, profile=profile, details=d,
                        now=now or T0)  # fmt: skip


def _refusal(guard: Any, ctx: GuardContext) -> tuple[str, str]:
    with pytest.raises(Refused) as refused:
        guard(ctx)
    return refused.value.rule, refused.value.reason


def test_the_guard_tables_name_each_actions_rules() -> None:
    """Permission guards run in a fixed order; each action has its own policy guards and the
    others none."""
    from patrolcast.governance import guards as g

    assert g.permission_guards() == (g.read_only, g.role, g.separation_of_duties,
                                     g.borough_scope, g.rank)  # fmt: skip
    assert {a: g.policy_guards(a) for a in Action} == {
        Action.PROPOSE: (g.propose_rules,), Action.SUBMIT: (g.submit_rules,),
        Action.ASSESS: (g.assessment_complete,), Action.AUTHORISE: (g.authorisation_rules,),
        Action.EXTEND: (g.extension_rules,), Action.CONSULT: (), Action.REFUSE: (),
        Action.CANCEL: (), Action.DEBRIEF: (), Action.REVIEW: (),
    }  # fmt: skip


def test_involvement_labels_a_refusing_officer(gw: Any) -> None:
    """The officer who refused a proposal took part in it as its refusing officer."""
    from patrolcast.governance.guards import involvement

    with gw.session() as s:
        p = s.get(Proposal, gw.ids["refused"])
        ids = {n: load_actor(s, n).person_id for n in ("ana", "acc1", "cat", "bob1", "bob2")}
        assert involvement(s, p) == {
            ids["ana"]: {"proposer"}, ids["acc1"]: {"refusing officer"},
            ids["cat"]: {"community impact assessor"},
            ids["bob1"]: {"consulted borough commander"},
            ids["bob2"]: {"consulted borough commander"},
        }  # fmt: skip


def test_a_consultation_is_scoped_to_the_area_and_the_commanders_boroughs(gw: Any) -> None:
    """A borough the area does not touch, and a borough the commander does not command, are
    refused by name (the commander's boroughs listed, sorted, or 'no borough')."""
    from patrolcast.governance.guards import borough_scope

    pid = gw.ids["assessed"]
    with gw.session() as s:
        far = ConsultationDetails("E09000033", "support", "x")
        assert _refusal(borough_scope, _ctx(s, "bob1", Action.CONSULT, pid, far)) == (
            "borough-scope", "borough E09000033 is not touched by the area "
            "(E09000001, E09000002)")  # fmt: skip
        other = ConsultationDetails("E09000002", "support", "x")
        assert _refusal(borough_scope, _ctx(s, "bob1", Action.CONSULT, pid, other)) == (
            "borough-scope",
            "bob1 commands E09000001, not E09000002",
        )
        two = Actor(
            person_id=77,
            username="bea",
            rank=None,
            roles=frozenset({Role.BOROUGH_COMMANDER}),
            boroughs=frozenset({"E09000033", "E09000001"}),
        )
        assert _refusal(borough_scope, _ctx(s, "", Action.CONSULT, pid, other, actor=two)) == (
            "borough-scope",
            "bea commands E09000001, E09000033, not E09000002",
        )
        none = replace(two, boroughs=frozenset())
        assert _refusal(borough_scope, _ctx(s, "", Action.CONSULT, pid, other, actor=none)) == (
            "borough-scope",
            "bea commands no borough, not E09000002",
        )
        borough_scope(_ctx(s, "bob2", Action.CONSULT, pid, other))  # allowed
        borough_scope(_ctx(s, "bob1", Action.AUTHORISE, pid, other))  # not a consultation


def test_the_extension_limit_is_counted_against_the_profile(gw: Any) -> None:
    from patrolcast.governance.guards import rank as rank_guard

    pid = gw.ids["active"]
    with gw.session() as s:
        ctx = _ctx(s, "acc2", Action.EXTEND, pid)
        rank_guard(ctx)
        assert ctx.proposal is not None
        ctx.proposal.extensions_used = 1
        assert _refusal(rank_guard, ctx) == (
            "extension-limit",
            "profile armed-foot-patrol allows 1 extension(s); 1 used",
        )
        rank_guard(_ctx(s, "ana", Action.SUBMIT, pid))  # no rank needed to submit


def test_an_intelligence_trigger_is_checked_against_its_item(gw: Any) -> None:
    """The grade must meet the profile, the item must exist and its grade be the one cited."""
    from patrolcast.governance.guards import submit_rules
    from patrolcast.oversight.intel_store import record_item
    from patrolcast.oversight.intelligence import Place

    now = gw.clock.now()
    with gw.session() as s:
        item = record_item(
            s,
            actor="ian",
            clock=gw.clock,
            place=Place(x=530200.0, y=180200.0, radius_m=200.0),
            start=now,
            end=now + timedelta(hours=12),
            grading="1B P",
            owner="Unit",
            retain_until=now + timedelta(hours=12),
            summary="Violence likely",
        )
    with gw.session() as s:
        ctx = _ctx(s, "ana", Action.SUBMIT, gw.ids["submitted"])
        p = ctx.proposal
        assert p is not None
        p.trigger_type, p.intelligence_grade, p.intelligence_item_id = "intelligence", "3C", item
        assert _refusal(submit_rules, ctx) == (
            "minimum-trigger",
            ("intelligence graded 3C is below the minimum for armed-foot-patrol (1A, 1B, 2B)"),
        )
        p.intelligence_grade = None
        assert _refusal(submit_rules, ctx)[1].startswith("intelligence graded  is below")
        p.intelligence_grade = "2B"
        assert _refusal(submit_rules, ctx) == (
            "minimum-trigger",
            (f"the proposal cites intelligence item #{item} as 2B, but it is graded 1B"),
        )
        p.intelligence_item_id = item + 1000
        assert _refusal(submit_rules, ctx) == (
            "minimum-trigger",
            (f"intelligence item #{item + 1000} does not exist (unknown, or purged at retention)"),
        )
        p.intelligence_grade, p.intelligence_item_id = "1B", item
        submit_rules(ctx)  # the item's own grade, retained: allowed


def test_an_incident_is_too_old_from_just_past_the_profiles_limit(gw: Any) -> None:
    """The incident's age at the decision: exactly the limit passes, a second more is refused
    and the refusal says how old it was."""
    from patrolcast.governance.guards import submit_rules

    with gw.session() as s:
        p = s.get(Proposal, gw.ids["submitted"])
        assert p is not None and p.incident_at is not None
        at = p.incident_at
        limit = at + timedelta(hours=24)
        p.requested_start = limit  # the requested start must not be later than now here
        p.requested_end = limit + timedelta(hours=6)
        submit_rules(_ctx(s, "ana", Action.SUBMIT, p.id, now=limit))
        late = _ctx(s, "ana", Action.SUBMIT, p.id, now=limit + timedelta(minutes=6))
        assert _refusal(submit_rules, late) == (
            "minimum-trigger",
            ("the incident was 24.1 h ago; armed-foot-patrol accepts incidents within 24 h"),
        )


def test_a_requested_window_longer_than_the_profile_is_refused_at_submission(gw: Any) -> None:
    from patrolcast.governance.guards import submit_rules

    with gw.session() as s:
        ctx = _ctx(s, "ana", Action.SUBMIT, gw.ids["submitted"])
        p = ctx.proposal
        assert p is not None
        p.requested_end = p.requested_start + timedelta(hours=8)
        submit_rules(ctx)
        p.requested_end = p.requested_start + timedelta(hours=8.5)
        assert _refusal(submit_rules, ctx) == (
            "max-duration",
            "8.5 h requested; armed-foot-patrol allows 8 h before any extension",
        )


def test_an_assessment_must_be_complete(gw: Any) -> None:
    from patrolcast.governance.guards import assessment_complete

    with gw.session() as s:
        assessment_complete(_ctx(s, "cat", Action.ASSESS, gw.ids["assessed"]))
        assert _refusal(
            assessment_complete, _ctx(s, "cat", Action.ASSESS, gw.ids["submitted"])
        ) == (
            "community-impact-assessment",
            "no completed community impact assessment is attached to this proposal",
        )


def test_an_authorisation_needs_every_borough_and_an_answer_to_objections(gw: Any) -> None:
    from patrolcast.governance.guards import authorisation_rules

    d = authorisation(gw)
    with gw.session() as s:
        assert _refusal(
            authorisation_rules, _ctx(s, "acc1", Action.AUTHORISE, gw.ids["assessed"], d)
        ) == ("consultation", "no response yet from borough(s) E09000001, E09000002")
        lax = replace(AFP, require_every_borough=False)
        authorisation_rules(_ctx(s, "acc1", Action.AUTHORISE, gw.ids["assessed"], d,
                                 profile=lax))  # fmt: skip
        objected = _ctx(s, "acc1", Action.AUTHORISE, gw.ids["objected"], d)
        assert _refusal(authorisation_rules, objected) == (
            "consultation-objection",
            ("borough(s) E09000002 objected: the decision must answer the objection"),
        )
        blank = replace(objected, details=replace(d, objection_response="   "))
        assert _refusal(authorisation_rules, blank)[0] == "consultation-objection"
        authorisation_rules(replace(objected, details=replace(d, objection_response="We will.")))
        authorisation_rules(replace(objected, profile=replace(AFP, objection_needs_response=False)))


def test_the_firearms_commanders_must_be_named_real_and_independent(gw: Any) -> None:
    from patrolcast.governance.guards import authorisation_rules

    d = authorisation(gw)
    pid = gw.ids["consulted"]
    with gw.session() as s:
        ctx = _ctx(s, "acc1", Action.AUTHORISE, pid, d)
        authorisation_rules(ctx)

        def reason(**change: Any) -> tuple[str, str]:
            return _refusal(authorisation_rules, replace(ctx, details=replace(d, **change)))

        assert reason(tactical_commander=None) == (
            "firearms-command",
            "armed-foot-patrol requires a tactical firearms commander",
        )
        assert reason(strategic_commander="") == (
            "firearms-command",
            "armed-foot-patrol requires a strategic firearms commander",
        )
        assert reason(tactical_commander="ana") == (
            "firearms-command",
            "ana is not a tactical firearms commander",
        )
        assert reason(strategic_commander="nobody") == (
            "firearms-command",
            "nobody is not a strategic firearms commander",
        )
        assert reason(tactical_commander="duo", strategic_commander="duo") == (
            "independent-command",
            "the tactical and strategic firearms commanders must be two different people",
        )
        authorisation_rules(replace(ctx, details=replace(d, tactical_commander="duo")))
        own = replace(ctx, actor=load_actor(s, "tfc"))
        assert _refusal(authorisation_rules, own) == (
            "independent-command",
            ("the tactical firearms commander must be independent of the authorising officer"),
        )
        assert ctx.proposal is not None
        ctx.proposal.proposer_id = load_actor(s, "sfc").person_id
        assert _refusal(authorisation_rules, ctx) == (
            "independent-command",
            ("the strategic firearms commander must be independent of the proposer"),
        )
        ctx.proposal.proposer_id = load_actor(s, "ana").person_id
        optional = replace(AFP, require_tactical_commander=False, require_strategic_commander=False)
        authorisation_rules(
            replace(
                ctx,
                profile=optional,
                details=replace(d, tactical_commander=None, strategic_commander=None),
            )
        )


def test_an_authorisation_keeps_the_cooldown_and_the_cap_from_their_edges(gw: Any) -> None:
    """Another deployment in the same place: a window starting exactly the cool-down after its
    end is allowed, a second earlier is refused; the cap counts deployments in the place."""
    from patrolcast.governance.guards import authorisation_rules

    with gw.session() as s:
        active = s.get(Proposal, gw.ids["active"])
        assert active is not None and active.authorised_end is not None
        ctx = _ctx(s, "acc1", Action.AUTHORISE, gw.ids["consulted"])
        p = ctx.proposal
        assert p is not None
        p.area_wkt = active.area_wkt
        end = active.authorised_end
        p.requested_start, p.requested_end = end, end + timedelta(hours=20)
        prof = replace(AFP, cooldown_hours=1.0, max_lead_hours=100.0, cap_per_area=0)
        start = end + timedelta(hours=1)
        ok = replace(
            ctx,
            profile=prof,
            details=replace(authorisation(gw), start=start, end=start + timedelta(hours=2)),
        )
        authorisation_rules(ok)
        early = replace(ok, details=replace(ok.details, start=start - timedelta(seconds=1)))
        assert _refusal(authorisation_rules, early) == (
            "cooldown",
            (
                f"the area overlaps or lies within 200 m of deployment #{active.id} "
                f"({active.authorised_start:%Y-%m-%d %H:%M}Z to {end:%Y-%m-%d %H:%M}Z); "
                "armed-foot-patrol requires 1 h between deployments in an area"
            ),
        )
        capped = replace(ok, profile=replace(prof, cap_per_area=1))
        assert _refusal(authorisation_rules, capped) == (
            "cap-per-area",
            (
                f"1 deployment(s) in this area (or within 200 m) within 28 days (#{active.id}); "
                "armed-foot-patrol allows 1"
            ),
        )
        authorisation_rules(replace(ok, profile=replace(prof, cap_per_area=2)))


def test_an_extension_is_refused_past_the_total_and_before_a_later_deployment(gw: Any) -> None:
    from patrolcast.governance.guards import extension_rules

    with gw.session() as s:
        ctx = _ctx(s, "acc2", Action.EXTEND, gw.ids["active"])
        p = ctx.proposal
        assert p is not None and p.authorised_end is not None and p.authorised_start is not None
        end = p.authorised_end
        one_more = ExtensionDetails(end + timedelta(hours=1), "Further incident.", ndm())
        extension_rules(replace(ctx, details=one_more, profile=replace(AFP, max_hours=3.0)))
        assert _refusal(
            extension_rules, replace(ctx, details=one_more, profile=replace(AFP, max_hours=2.5))
        ) == ("max-total-duration", "7 h in all; armed-foot-patrol allows 6.5 h")
        later = s.get(Proposal, gw.ids["authorised"])
        assert later is not None and later.authorised_start is not None
        later.area_wkt = p.area_wkt  # a later deployment in the same place, 3 h after
        later.authorised_start, later.authorised_end = (
            end + timedelta(hours=3),
            end + timedelta(hours=9),
        )
        gap = timedelta(hours=3)
        prof = replace(
            AFP, cooldown_hours=0.0, extensions=(replace(AFP.extensions[0], max_hours=24.0),)
        )
        up_to = ExtensionDetails(end + gap, "Further incident.", ndm())
        extension_rules(replace(ctx, details=up_to, profile=prof))
        past = replace(up_to, new_end=up_to.new_end + timedelta(seconds=1))
        assert _refusal(extension_rules, replace(ctx, details=past, profile=prof)) == (
            "cooldown",
            f"extending would run within 0 h of deployment #{later.id} starting "
            f"{end + gap:%Y-%m-%d %H:%M}Z",
        )


def test_the_cooldown_before_and_the_cap_window_hold_to_their_edges(gw: Any) -> None:
    """A window ending exactly the cool-down before another deployment starts is allowed, a
    second later is refused; the cap counts a deployment starting less than its window away,
    not one exactly the window away."""
    from patrolcast.governance.guards import authorisation_rules

    with gw.session() as s:
        active = s.get(Proposal, gw.ids["active"])
        assert active is not None and active.authorised_start is not None
        o_start = active.authorised_start
        ctx = _ctx(s, "acc1", Action.AUTHORISE, gw.ids["consulted"])
        p = ctx.proposal
        assert p is not None
        p.area_wkt = active.area_wkt
        p.incident_at = o_start - timedelta(hours=12)
        p.requested_start = o_start - timedelta(hours=10)
        p.requested_end = o_start + timedelta(days=60)
        prof = replace(AFP, cooldown_hours=1.0, max_lead_hours=24.0 * 60, cap_per_area=0,
                       incident_max_age_hours=24.0 * 60)  # fmt: skip
        end = o_start - timedelta(hours=1)
        before = replace(ctx, profile=prof, now=o_start - timedelta(hours=10), details=replace(
            authorisation(gw), start=end - timedelta(hours=3), end=end))  # fmt: skip
        authorisation_rules(before)
        late = replace(before, details=replace(before.details, end=end + timedelta(seconds=1)))
        assert _refusal(authorisation_rules, late)[0] == "cooldown"
        window = replace(prof, cooldown_hours=0.0, cap_per_area=1, cap_window_days=28.0)
        far = o_start + timedelta(days=28)
        away = replace(ctx, profile=window, now=far - timedelta(hours=1), details=replace(
            authorisation(gw), start=far, end=far + timedelta(hours=2)))  # fmt: skip
        authorisation_rules(away)
        near = replace(away, details=replace(away.details, start=far - timedelta(seconds=1)))
        assert _refusal(authorisation_rules, near)[0] == "cap-per-area"


def test_the_lead_and_the_area_hold_to_their_edges(gw: Any) -> None:
    """A window may start exactly the profile's lead after the decision, not a minute later;
    an area exactly the profile's maximum passes, a larger one is named with both sizes; a
    stored area that fails validation is refused as invalid."""
    from patrolcast.governance.guards import authorisation_rules

    with gw.session() as s:
        ctx = _ctx(s, "acc1", Action.AUTHORISE, gw.ids["consulted"])
        p = ctx.proposal
        assert p is not None
        now = ctx.now
        p.requested_start, p.requested_end = now, now + timedelta(hours=20)
        at_lead = replace(ctx, details=replace(authorisation(gw), start=now + timedelta(
            hours=12), end=now + timedelta(hours=14)))  # fmt: skip
        authorisation_rules(at_lead)
        late = now + timedelta(hours=12, minutes=1)
        beyond = replace(at_lead, details=replace(at_lead.details, start=late))
        assert _refusal(authorisation_rules, beyond) == ("max-lead", (
            "the authorised window starts 12.0 h after the decision; armed-foot-patrol "
            "allows 12 h"))  # fmt: skip
        authorisation_rules(replace(at_lead, profile=replace(AFP, max_area_km2=0.25)))
        small = replace(at_lead, profile=replace(AFP, max_area_km2=0.2499))
        assert _refusal(authorisation_rules, small) == (
            "max-area",
            "area 0.250 km2 exceeds the 0.2499 km2 allowed by armed-foot-patrol",
        )
        p.area_wkt = "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))"
        rule, reason = _refusal(authorisation_rules, at_lead)
        assert rule == "area-invalid"
        assert reason.startswith("the proposal's area fails validation: ")


def test_the_requested_window_and_the_grace_hold_to_their_edges(gw: Any) -> None:
    """The authorised window lies inside the requested one (its ends may meet it, a second
    beyond either is refused); it may start up to five minutes before the decision."""
    from patrolcast.governance.guards import authorisation_rules

    with gw.session() as s:
        ctx = _ctx(s, "acc1", Action.AUTHORISE, gw.ids["consulted"])
        p = ctx.proposal
        assert p is not None
        rs, re_ = p.requested_start, p.requested_end
        d = replace(authorisation(gw), start=rs, end=re_)
        authorisation_rules(replace(ctx, details=d))
        message = (
            "the authorised window must lie inside the requested window "
            f"({rs:%Y-%m-%d %H:%M}Z to {re_:%Y-%m-%d %H:%M}Z)"
        )
        one = timedelta(seconds=1)
        for change in ({"start": rs - one}, {"end": re_ + one}):
            bad = replace(ctx, details=replace(d, **change))
            assert _refusal(authorisation_rules, bad) == ("requested-window", message)
        grace = replace(ctx, now=rs + timedelta(minutes=5), details=d)
        authorisation_rules(grace)
        late = replace(grace, now=rs + timedelta(minutes=5, seconds=1))
        assert _refusal(authorisation_rules, late)[0] == "no-retrospective"
