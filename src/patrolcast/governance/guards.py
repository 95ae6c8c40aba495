"""Guards: who may take each action, and the profile's non-routine rules.

Each guard takes a :class:`GuardContext` and either returns or raises
:class:`~patrolcast.governance.states.Refused` naming the rule and why. Permission guards
(read-only auditor, role, separation of duties, borough scope, rank) run before the policy
guards (minimum trigger, maximum area, duration, cool-down per area, cap per area in a rolling
window, firearms commanders, consultation, public notice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import String, column, inspect, select, text
from sqlalchemy.orm import Session

from patrolcast.governance.clock import as_utc, elapsed_hours
from patrolcast.governance.db import UTCDateTime
from patrolcast.governance.models import (
    CommunityImpactAssessment,
    Consultation,
    ForecastSnapshot,
    Proposal,
)
from patrolcast.governance.profiles import PolicyProfile, available_profiles
from patrolcast.governance.roles import Actor, Rank, Role, find_actor
from patrolcast.governance.states import Action, Refused, State
from patrolcast.governance.values import (
    AuthorisationDetails,
    ConsultationDetails,
    ExtensionDetails,
    ProposalDetails,
)

__all__ = [
    "OWN_RULE",
    "RETROSPECTIVE_GRACE",
    "WHO",
    "GuardContext",
    "permission_guards",
    "policy_guards",
]

# A window may start this long before the decision (the time it takes to record it), no more.
RETROSPECTIVE_GRACE = timedelta(minutes=5)

# Which roles may take each action.
WHO: dict[Action, frozenset[Role]] = {
    Action.PROPOSE: frozenset({Role.ANALYST, Role.INTELLIGENCE_OFFICER}),
    Action.SUBMIT: frozenset({Role.ANALYST, Role.INTELLIGENCE_OFFICER}),
    Action.ASSESS: frozenset({Role.COMMUNITY_LEAD}),
    Action.CONSULT: frozenset({Role.BOROUGH_COMMANDER}),
    Action.AUTHORISE: frozenset({Role.AUTHORISING_OFFICER}),
    Action.REFUSE: frozenset({Role.AUTHORISING_OFFICER}),
    Action.EXTEND: frozenset({Role.AUTHORISING_OFFICER}),
    Action.CANCEL: frozenset(
        {
            Role.AUTHORISING_OFFICER,
            Role.STRATEGIC_FIREARMS_COMMANDER,
            Role.TACTICAL_FIREARMS_COMMANDER,
        }
    ),
    Action.DEBRIEF: frozenset({Role.TACTICAL_FIREARMS_COMMANDER, Role.AUTHORISING_OFFICER}),
    Action.REVIEW: frozenset({Role.AUTHORISING_OFFICER, Role.STRATEGIC_FIREARMS_COMMANDER}),
}

# Separation of duties: "must" (only the proposer), "never" (anyone but the proposer), "any".
OWN_RULE: dict[Action, str] = {
    Action.PROPOSE: "any",
    Action.SUBMIT: "must",
    Action.ASSESS: "never",
    Action.CONSULT: "never",
    Action.AUTHORISE: "never",
    Action.REFUSE: "never",
    Action.EXTEND: "never",
    Action.CANCEL: "any",
    Action.DEBRIEF: "any",
    Action.REVIEW: "never",
}


@dataclass(frozen=True)
class GuardContext:
    """What a guard may look at (``proposal`` is None only for ``propose``)."""

    session: Session
    actor: Actor
    action: Action
    state: State
    proposal: Proposal | None
    profile: PolicyProfile
    details: Any
    now: datetime


Guard = Callable[[GuardContext], None]


# --- permission guards -----------------------------------------------------------------------


def read_only(ctx: GuardContext) -> None:
    if ctx.actor.read_only:
        raise Refused("read-only", f"{ctx.actor.username} is an oversight auditor: read-only")


def role(ctx: GuardContext) -> None:
    allowed = WHO[ctx.action]
    if not (ctx.actor.roles & allowed):
        names = " or ".join(sorted(r.value for r in allowed))
        raise Refused("role", f"{ctx.action} needs the role {names}")


def separation_of_duties(ctx: GuardContext) -> None:
    rule = OWN_RULE[ctx.action]
    if ctx.proposal is None or rule == "any":
        return
    own = ctx.proposal.proposer_id == ctx.actor.person_id
    if rule == "never" and own:
        raise Refused("separation-of-duties", f"nobody may {ctx.action} their own proposal")
    if rule == "must" and not own:
        raise Refused("separation-of-duties", f"only the proposer may {ctx.action} a proposal")
    if ctx.action is Action.REVIEW and ctx.proposal.authorised_by_id == ctx.actor.person_id:
        raise Refused("independent-review", "the officer who authorised cannot review it")


def borough_scope(ctx: GuardContext) -> None:
    if ctx.action is not Action.CONSULT or ctx.proposal is None:
        return
    details: ConsultationDetails = ctx.details
    if details.borough not in set(ctx.proposal.boroughs):
        raise Refused(
            "borough-scope",
            f"borough {details.borough} is not touched by the area "
            f"({', '.join(ctx.proposal.boroughs)})",
        )
    if details.borough not in ctx.actor.boroughs:
        raise Refused(
            "borough-scope",
            f"{ctx.actor.username} commands {', '.join(sorted(ctx.actor.boroughs)) or 'no borough'}"
            f", not {details.borough}",
        )
    done = ctx.session.execute(
        select(Consultation.id).where(
            Consultation.proposal_id == ctx.proposal.id, Consultation.borough == details.borough
        )
    ).first()
    if done is not None:
        raise Refused("consultation-recorded", f"borough {details.borough} has already responded")


def _need_rank(ctx: GuardContext, needed: Rank, what: str) -> None:
    have = ctx.actor.rank
    if have is None or have < needed:
        raise Refused(
            "rank",
            f"{what} under profile {ctx.profile.name} needs {needed.label} or above; "
            f"{ctx.actor.username} is {have.label if have else 'unranked'}",
        )


def rank(ctx: GuardContext) -> None:
    if ctx.action in (Action.AUTHORISE, Action.REFUSE):
        _need_rank(ctx, ctx.profile.authorise_rank, str(ctx.action))
    elif ctx.action is Action.EXTEND and ctx.proposal is not None:
        used = ctx.proposal.extensions_used
        if used >= len(ctx.profile.extensions):
            raise Refused(
                "extension-limit",
                f"profile {ctx.profile.name} allows {len(ctx.profile.extensions)} extension(s); "
                f"{used} used",
            )
        _need_rank(ctx, ctx.profile.extensions[used].rank, f"extension {used + 1}")


def permission_guards() -> tuple[Guard, ...]:
    return (read_only, role, separation_of_duties, borough_scope, rank)


# --- policy guards (non-routine rules from the profile) -----------------------------------------


def _trigger_ok(
    profile: PolicyProfile, proposal: Proposal, now: datetime, session: Session
) -> None:
    if proposal.trigger_type == "incident":
        offence = proposal.incident_offence or ""
        if offence not in profile.incident_offences:
            raise Refused(
                "minimum-trigger",
                f"incident offence {offence!r} is not a trigger under {profile.name} "
                f"({', '.join(sorted(profile.incident_offences))})",
            )
        assert proposal.incident_at is not None
        age = elapsed_hours(proposal.incident_at, now)
        if age < 0:
            raise Refused("minimum-trigger", "the incident is recorded as in the future")
        if age > profile.incident_max_age_hours:
            raise Refused(
                "minimum-trigger",
                f"the incident was {age:.1f} h ago; {profile.name} accepts incidents within "
                f"{profile.incident_max_age_hours:g} h",
            )
    else:
        grade = proposal.intelligence_grade or ""
        if grade not in profile.intelligence_grades:
            raise Refused(
                "minimum-trigger",
                f"intelligence graded {grade} is below the minimum for {profile.name} "
                f"({', '.join(sorted(profile.intelligence_grades))})",
            )
        _intelligence_item_ok(session, proposal, now)


def _intelligence_item_ok(session: Session, proposal: Proposal, now: datetime) -> None:
    """The grade a proposer declares must be the grade of a retained item (never trusted).

    Items live in the oversight domain's ``intelligence_items`` table of the same database;
    governance reads it by name (no import), so the minimum trigger cannot be met by typing a
    better grade than the item has, nor by citing an unknown or purged item.
    """
    item_id = proposal.intelligence_item_id
    if not inspect(session.connection()).has_table("intelligence_items"):
        raise Refused("minimum-trigger", "no intelligence items are held in this database")
    query = text(
        "SELECT source_evaluation, assessment, retain_until FROM intelligence_items "
        "WHERE id = :id"
    ).columns(
        column("source_evaluation", String),
        column("assessment", String),
        column("retain_until", UTCDateTime),
    )
    row = session.execute(query, {"id": item_id}).first()
    if row is None:
        raise Refused(
            "minimum-trigger",
            f"intelligence item #{item_id} does not exist (unknown, or purged at retention)",
        )
    if row[2] <= now:
        raise Refused("minimum-trigger", f"intelligence item #{item_id} is past its retention")
    actual = f"{row[0]}{row[1]}"
    if actual != proposal.intelligence_grade:
        raise Refused(
            "minimum-trigger",
            f"the proposal cites intelligence item #{item_id} as {proposal.intelligence_grade},"
            f" but it is graded {actual}",
        )


def _area_ok(profile: PolicyProfile, area_km2: float) -> None:
    if area_km2 > profile.max_area_km2:
        raise Refused(
            "max-area",
            f"area {area_km2:.3f} km2 exceeds the {profile.max_area_km2:g} km2 allowed by "
            f"{profile.name}",
        )


def _duration_ok(profile: PolicyProfile, start: datetime, end: datetime) -> None:
    hours = elapsed_hours(start, end)
    if hours > profile.max_hours + 1e-9:
        raise Refused(
            "max-duration",
            f"{hours:g} h requested; {profile.name} allows {profile.max_hours:g} h "
            "before any extension",
        )


def effective_window(p: Proposal) -> tuple[datetime, datetime] | None:
    """The span a proposal was (or will be) authorised for, cut short by a cancellation."""
    if p.authorised_start is None or p.authorised_end is None:
        return None
    end = p.authorised_end
    if p.cancelled_at is not None:
        end = min(end, p.cancelled_at)
    if end <= p.authorised_start:
        return None
    return p.authorised_start, end


def _in_crs(wkt: str, crs: str, target: str) -> Any:
    """An area's polygon in another CRS: areas given in different projected CRSs are compared
    in one (otherwise the same place in two CRSs would never overlap, escaping the cool-down)."""
    geom = shapely.from_wkt(wkt)
    if crs == target:
        return geom
    from pyproj import Transformer

    to = Transformer.from_crs(crs, target, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))


def _overlapping_deployments(
    session: Session, proposal: Proposal
) -> list[tuple[Proposal, tuple[datetime, datetime]]]:
    geom = shapely.from_wkt(proposal.area_wkt)
    rows = session.execute(
        select(Proposal).where(Proposal.id != proposal.id, Proposal.authorised_start.is_not(None))
    ).scalars()
    found = []
    for other in rows:
        window = effective_window(other)
        if window is None:
            continue
        other_geom = _in_crs(other.area_wkt, other.area_crs, proposal.area_crs)
        if other_geom.intersection(geom).area > 0:
            found.append((other, window))
    return found


def _cooldown_and_cap_ok(ctx: GuardContext, start: datetime, end: datetime) -> None:
    assert ctx.proposal is not None
    profile = ctx.profile
    cool = timedelta(hours=profile.cooldown_hours)
    others = _overlapping_deployments(ctx.session, ctx.proposal)
    for other, (o_start, o_end) in others:
        if start < o_end + cool and end > o_start - cool:
            raise Refused(
                "cooldown",
                f"the area overlaps deployment #{other.id} ({o_start:%Y-%m-%d %H:%M}Z to "
                f"{o_end:%Y-%m-%d %H:%M}Z); {profile.name} requires "
                f"{profile.cooldown_hours:g} h between deployments in an area",
            )
    if profile.cap_per_area > 0:
        window = timedelta(days=profile.cap_window_days)
        near = [o for o, (o_start, _) in others if abs(o_start - start) < window]
        if len(near) + 1 > profile.cap_per_area:
            raise Refused(
                "cap-per-area",
                f"{len(near)} deployment(s) in this area within {profile.cap_window_days:g} "
                f"days (#{', #'.join(str(o.id) for o in near)}); {profile.name} allows "
                f"{profile.cap_per_area}",
            )


def submit_rules(ctx: GuardContext) -> None:
    p = ctx.proposal
    assert p is not None
    if p.snapshot_id is None or ctx.session.get(ForecastSnapshot, p.snapshot_id) is None:
        raise Refused("forecast-snapshot", "name the forecast snapshot relied on (record it first)")
    _area_ok(ctx.profile, p.area_km2)
    _trigger_ok(ctx.profile, p, ctx.now, ctx.session)
    _duration_ok(ctx.profile, p.requested_start, p.requested_end)


def assessment_complete(ctx: GuardContext) -> None:
    p = ctx.proposal
    assert p is not None
    done = ctx.session.execute(
        select(CommunityImpactAssessment.id).where(
            CommunityImpactAssessment.proposal_id == p.id,
            CommunityImpactAssessment.completed_at.is_not(None),
        )
    ).first()
    if done is None:
        raise Refused(
            "community-impact-assessment",
            "no completed community impact assessment is attached to this proposal",
        )


def authorisation_rules(ctx: GuardContext) -> None:
    p = ctx.proposal
    assert p is not None
    d: AuthorisationDetails = ctx.details
    profile = ctx.profile
    if d.start < ctx.now - RETROSPECTIVE_GRACE:
        raise Refused(
            "no-retrospective",
            f"the authorised window starts {d.start:%Y-%m-%d %H:%M}Z, in the past "
            f"(more than {RETROSPECTIVE_GRACE.total_seconds() / 60:g} min before the decision)",
        )
    _duration_ok(profile, d.start, d.end)
    _area_ok(profile, p.area_km2)
    _trigger_ok(profile, p, ctx.now, ctx.session)
    consulted = {
        b
        for (b, _pos) in ctx.session.execute(
            select(Consultation.borough, Consultation.position).where(
                Consultation.proposal_id == p.id
            )
        ).all()
    }
    missing = sorted(set(p.boroughs) - consulted)
    if profile.require_every_borough and missing:
        raise Refused("consultation", f"no response yet from borough(s) {', '.join(missing)}")
    objections = (
        ctx.session.execute(
            select(Consultation.borough).where(
                Consultation.proposal_id == p.id, Consultation.position == "object"
            )
        )
        .scalars()
        .all()
    )
    if objections and profile.objection_needs_response and not (d.objection_response or "").strip():
        raise Refused(
            "consultation-objection",
            f"borough(s) {', '.join(objections)} objected: the decision must answer the objection",
        )
    _commanders_ok(ctx, d)
    if profile.public_notice and not (d.public_notice or "").strip():
        raise Refused("public-notice", f"{profile.name} requires the text of the public notice")
    _cooldown_and_cap_ok(ctx, d.start, d.end)


def _commanders_ok(ctx: GuardContext, d: AuthorisationDetails) -> None:
    needs = (
        (
            ctx.profile.require_tactical_commander,
            d.tactical_commander,
            Role.TACTICAL_FIREARMS_COMMANDER,
            "tactical",
        ),
        (
            ctx.profile.require_strategic_commander,
            d.strategic_commander,
            Role.STRATEGIC_FIREARMS_COMMANDER,
            "strategic",
        ),
    )
    for required, username, needed_role, label in needs:
        if not username:
            if required:
                raise Refused(
                    "firearms-command", f"{ctx.profile.name} requires a {label} firearms commander"
                )
            continue
        person = find_actor(ctx.session, username)
        if person is None or not person.has(needed_role):
            raise Refused("firearms-command", f"{username} is not a {label} firearms commander")


def extension_rules(ctx: GuardContext) -> None:
    p = ctx.proposal
    assert p is not None and p.authorised_start is not None and p.authorised_end is not None
    d: ExtensionDetails = ctx.details
    profile = ctx.profile
    rule = profile.extensions[p.extensions_used]
    if profile.ndm_required and d.ndm is None:
        raise Refused(
            "ndm-rationale",
            f"an extension is a new decision: {profile.name} requires its rationale under the "
            "six National Decision Model headings",
        )
    if d.new_end <= as_utc(p.authorised_end):
        raise Refused("extension-window", "an extension must move the end later")
    added = elapsed_hours(p.authorised_end, d.new_end)
    if added > rule.max_hours + 1e-9:
        raise Refused(
            "extension-duration",
            f"extension {p.extensions_used + 1} adds {added:g} h; {profile.name} allows "
            f"{rule.max_hours:g} h",
        )
    total = elapsed_hours(p.authorised_start, d.new_end)
    if total > profile.max_total_hours + 1e-9:
        raise Refused(
            "max-total-duration",
            f"{total:g} h in all; {profile.name} allows {profile.max_total_hours:g} h",
        )
    _cooldown_and_cap_ok_extension(ctx, p.authorised_start, d.new_end)


def _cooldown_and_cap_ok_extension(ctx: GuardContext, start: datetime, end: datetime) -> None:
    """An extension must not run into the cool-down of a later deployment in the area."""
    assert ctx.proposal is not None
    cool = timedelta(hours=ctx.profile.cooldown_hours)
    for other, (o_start, _o_end) in _overlapping_deployments(ctx.session, ctx.proposal):
        if o_start >= start and end > o_start - cool:
            raise Refused(
                "cooldown",
                f"extending would run within {ctx.profile.cooldown_hours:g} h of deployment "
                f"#{other.id} starting {o_start:%Y-%m-%d %H:%M}Z",
            )


def propose_rules(ctx: GuardContext) -> None:
    d: ProposalDetails = ctx.details
    allowed = available_profiles()
    if d.profile not in allowed:
        raise Refused(
            "policy-profile",
            f"the profile is not an installed policy profile ({', '.join(allowed)}): "
            "a proposer cannot choose their own rules",
        )
    if d.snapshot_id is not None and ctx.session.get(ForecastSnapshot, d.snapshot_id) is None:
        raise Refused("forecast-snapshot", f"no forecast snapshot #{d.snapshot_id}")


def policy_guards(action: Action) -> tuple[Guard, ...]:
    table: dict[Action, tuple[Guard, ...]] = {
        Action.PROPOSE: (propose_rules,),
        Action.SUBMIT: (submit_rules,),
        Action.ASSESS: (assessment_complete,),
        Action.AUTHORISE: (authorisation_rules,),
        Action.EXTEND: (extension_rules,),
    }
    return table.get(action, ())
