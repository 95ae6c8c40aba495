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
