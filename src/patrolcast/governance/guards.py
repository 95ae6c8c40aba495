"""Guards: who may take each action, and the profile's non-routine rules.

Each guard takes a :class:`GuardContext` and either returns or raises
:class:`~patrolcast.governance.states.Refused` naming the rule and why. Permission guards
(read-only auditor, role, separation of duties, borough scope, rank) run before the policy
guards (minimum trigger, maximum area, duration, cool-down per area, cap per area in a rolling
window, firearms commanders, consultation, public notice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import shapely
from sqlalchemy import String, column, inspect, select, text
from sqlalchemy.orm import Session

from patrolcast.errors import InputError
from patrolcast.governance.clock import as_utc, elapsed_hours
from patrolcast.governance.db import UTCDateTime
from patrolcast.governance.expiry import effective_state
from patrolcast.governance.models import (
    CommunityImpactAssessment,
    Consultation,
    Debrief,
    Decision,
    ForecastSnapshot,
    Person,
    Proposal,
    Review,
)
from patrolcast.governance.profiles import PolicyProfile
from patrolcast.governance.roles import Actor, Rank, Role, find_actor
from patrolcast.governance.states import Action, Refused, State
from patrolcast.governance.values import (
    Area,
    AuthorisationDetails,
    ConsultationDetails,
    ExtensionDetails,
    ProposalDetails,
)

__all__ = [
    "OWN_RULE",
    "PART_STATES",
    "READ_ALL_ROLES",
    "RETROSPECTIVE_GRACE",
    "WHO",
    "GuardContext",
    "ReadFacts",
    "involvement",
    "may_read",
    "permission_guards",
    "policy_guards",
    "proposal_read_basis",
    "read_basis",
    "read_facts",
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
    if ctx.action is Action.REVIEW:
        parts = involvement(ctx.session, ctx.proposal).get(ctx.actor.person_id)
        if parts:
            raise Refused(
                "independent-review",
                "the review must be independent of everyone who decided on the proposal; "
                f"{ctx.actor.username} was its {' and '.join(sorted(parts))}",
            )


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


def involvement(session: Session, proposal: Proposal) -> dict[int, set[str]]:
    """Everyone who took part in deciding on ``proposal``, by person id, with their parts:
    proposer, authorising/refusing/extending/cancelling officer, the tactical and strategic
    firearms commanders named on the authorisation, consulted borough commanders, the community
    impact assessor, the debriefer and the reviewer."""
    parts: dict[int, set[str]] = defaultdict(set)
    parts[proposal.proposer_id].add("proposer")
    if proposal.authorised_by_id is not None:
        parts[proposal.authorised_by_id].add("authorising officer")
    kinds = {
        "authorise": "authorising officer",
        "refuse": "refusing officer",
        "extend": "extending officer",
        "cancel": "cancelling officer",
    }
    named: dict[str, str] = {}
    for d in session.execute(select(Decision).where(Decision.proposal_id == proposal.id)).scalars():
        parts[d.decided_by_id].add(kinds.get(d.kind, f"{d.kind} officer"))
        if d.kind == "authorise" and isinstance(d.details, dict):
            for key, label in (
                ("tactical_commander", "tactical firearms commander"),
                ("strategic_commander", "strategic firearms commander"),
            ):
                if isinstance(d.details.get(key), str):
                    named[d.details[key]] = label
    for (who,) in session.execute(
        select(Consultation.commander_id).where(Consultation.proposal_id == proposal.id)
    ):
        parts[who].add("consulted borough commander")
    for (who,) in session.execute(
        select(Debrief.signed_off_by_id).where(Debrief.proposal_id == proposal.id)
    ):
        parts[who].add("debriefer")
    for (who,) in session.execute(
        select(Review.reviewed_by_id).where(Review.proposal_id == proposal.id)
    ):
        parts[who].add("reviewer")
    for (name,) in session.execute(
        select(CommunityImpactAssessment.completed_by).where(
            CommunityImpactAssessment.proposal_id == proposal.id,
            CommunityImpactAssessment.completed_by.is_not(None),
        )
    ):
        if name:
            named.setdefault(name, "community impact assessor")
    if named:
        for pid, username in session.execute(
            select(Person.id, Person.username).where(Person.username.in_(list(named)))
        ):
            parts[pid].add(named[username])
    return dict(parts)


def permission_guards() -> tuple[Guard, ...]:
    return (read_only, role, separation_of_duties, borough_scope, rank)


# --- policy guards (non-routine rules from the profile) -----------------------------------------


def _trigger_ok(
    profile: PolicyProfile, proposal: Proposal, now: datetime, session: Session
) -> None:
    if proposal.trigger_type == "incident":
        offence = proposal.incident_offence or ""
        if offence not in profile.incident_offences:
            # the offence is typed text: the refusal lists the rule's offences, not the text
            raise Refused(
                "minimum-trigger",
                f"the incident offence is not a trigger under {profile.name} "
                f"({', '.join(sorted(profile.incident_offences))})",
            )
        _incident_age_ok(profile, proposal, now, "now")
    else:
        grade = proposal.intelligence_grade or ""
        if grade not in profile.intelligence_grades:
            raise Refused(
                "minimum-trigger",
                f"intelligence graded {grade} is below the minimum for {profile.name} "
                f"({', '.join(sorted(profile.intelligence_grades))})",
            )
        _intelligence_item_ok(session, proposal, now)


def _incident_age_ok(
    profile: PolicyProfile,
    proposal: Proposal,
    at: datetime,
    when: str,
    *,
    limit_hours: float | None = None,
) -> None:
    """The incident's age at ``at`` is between 0 and the profile's limit (default: its
    ``incident_max_age_hours``). Intelligence triggers have no age here (their retention is
    checked against the item)."""
    if proposal.trigger_type != "incident":
        return
    assert proposal.incident_at is not None
    limit = profile.incident_max_age_hours if limit_hours is None else limit_hours
    age = elapsed_hours(proposal.incident_at, at)
    if age < 0:
        raise Refused("minimum-trigger", f"the incident is recorded as after {when}")
    if age > limit + 1e-9:
        aged = f"was {age:.1f} h ago" if when == "now" else f"is {age:.1f} h old at {when}"
        raise Refused(
            "minimum-trigger",
            f"the incident {aged}; {profile.name} accepts incidents within {limit:g} h",
        )


def _lead_ok(profile: PolicyProfile, now: datetime, start: datetime, what: str) -> None:
    lead = elapsed_hours(now, start)
    if lead > profile.max_lead_hours + 1e-9:
        raise Refused(
            "max-lead",
            f"{what} starts {lead:.1f} h after the decision; {profile.name} allows "
            f"{profile.max_lead_hours:g} h",
        )


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


def _stored_area_ok(profile: PolicyProfile, p: Proposal) -> None:
    """The stored area is validated again (a row written before the area rules, e.g. degrees
    read as metres, cannot pass) and its size is computed from the polygon, not trusted."""
    try:
        area = Area(wkt=p.area_wkt, boroughs=tuple(p.boroughs or ()), crs=p.area_crs)
    except InputError as exc:
        raise Refused("area-invalid", f"the proposal's area fails validation: {exc}") from None
    _area_ok(profile, area.area_km2)


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


def _nearby_deployments(
    session: Session, proposal: Proposal, buffer_m: float
) -> list[tuple[Proposal, tuple[datetime, datetime]]]:
    """Other deployments in the same place: areas that overlap, touch, or lie within
    ``buffer_m`` metres (so tiles side by side, or a street apart, are one place)."""
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
        if shapely.dwithin(geom, other_geom, max(buffer_m, 0.0)):
            found.append((other, window))
    return found


def _cooldown_and_cap_ok(ctx: GuardContext, start: datetime, end: datetime) -> None:
    assert ctx.proposal is not None
    profile = ctx.profile
    cool = timedelta(hours=profile.cooldown_hours)
    others = _nearby_deployments(ctx.session, ctx.proposal, profile.neighbour_buffer_m)
    for other, (o_start, o_end) in others:
        if start < o_end + cool and end > o_start - cool:
            raise Refused(
                "cooldown",
                f"the area overlaps or lies within {profile.neighbour_buffer_m:g} m of "
                f"deployment #{other.id} ({o_start:%Y-%m-%d %H:%M}Z to "
                f"{o_end:%Y-%m-%d %H:%M}Z); {profile.name} requires "
                f"{profile.cooldown_hours:g} h between deployments in an area",
            )
    if profile.cap_per_area > 0:
        window = timedelta(days=profile.cap_window_days)
        near = [o for o, (o_start, _) in others if abs(o_start - start) < window]
        if len(near) + 1 > profile.cap_per_area:
            raise Refused(
                "cap-per-area",
                f"{len(near)} deployment(s) in this area (or within "
                f"{profile.neighbour_buffer_m:g} m) within {profile.cap_window_days:g} "
                f"days (#{', #'.join(str(o.id) for o in near)}); {profile.name} allows "
                f"{profile.cap_per_area}",
            )


def submit_rules(ctx: GuardContext) -> None:
    p = ctx.proposal
    assert p is not None
    if p.snapshot_id is None or ctx.session.get(ForecastSnapshot, p.snapshot_id) is None:
        raise Refused("forecast-snapshot", "name the forecast snapshot relied on (record it first)")
    _stored_area_ok(ctx.profile, p)
    _trigger_ok(ctx.profile, p, ctx.now, ctx.session)
    # a requested window whose start is already beyond the trigger's age limit can never be
    # authorised: say so now
    _incident_age_ok(ctx.profile, p, max(p.requested_start, ctx.now), "the requested start")
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
    _duration_ok(profile, d.start, d.end)
    _stored_area_ok(profile, p)
    _trigger_ok(profile, p, ctx.now, ctx.session)
    if d.start < as_utc(p.requested_start) or d.end > as_utc(p.requested_end):
        raise Refused(
            "requested-window",
            f"the authorised window must lie inside the requested window "
            f"({as_utc(p.requested_start):%Y-%m-%d %H:%M}Z to "
            f"{as_utc(p.requested_end):%Y-%m-%d %H:%M}Z)",
        )
    if d.start < ctx.now - RETROSPECTIVE_GRACE:
        raise Refused(
            "no-retrospective",
            f"the authorised window starts {d.start:%Y-%m-%d %H:%M}Z, in the past "
            f"(more than {RETROSPECTIVE_GRACE.total_seconds() / 60:g} min before the decision)",
        )
    _lead_ok(profile, ctx.now, d.start, "the authorised window")
    _incident_age_ok(profile, p, d.start, "the authorised start")
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
    named: dict[str, int] = {}
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
        assert ctx.proposal is not None
        if person.person_id == ctx.proposal.proposer_id:
            raise Refused(
                "independent-command",
                f"the {label} firearms commander must be independent of the proposer",
            )
        if person.person_id == ctx.actor.person_id:
            raise Refused(
                "independent-command",
                f"the {label} firearms commander must be independent of the authorising officer",
            )
        named[label] = person.person_id
    if len(named) == 2 and named["tactical"] == named["strategic"]:
        raise Refused(
            "independent-command",
            "the tactical and strategic firearms commanders must be two different people",
        )


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
    # An extension is a new decision about the time it adds (from the old end): decided no
    # further ahead of it than an authorisation may be, on a trigger that is still held and
    # was fresh at the authorised start; the new end is at most the profile's longest
    # deployment after the latest start the trigger allowed.
    _lead_ok(profile, ctx.now, as_utc(p.authorised_end), "the extended time")
    if p.trigger_type == "intelligence":
        _intelligence_item_ok(ctx.session, p, ctx.now)
    _incident_age_ok(profile, p, as_utc(p.authorised_start), "the authorised start")
    _incident_age_ok(
        profile,
        p,
        d.new_end,
        "the new end",
        limit_hours=profile.incident_max_age_hours + profile.max_total_hours,
    )
    _cooldown_and_cap_ok_extension(ctx, p.authorised_start, d.new_end)


def _cooldown_and_cap_ok_extension(ctx: GuardContext, start: datetime, end: datetime) -> None:
    """An extension must not run into the cool-down of a later deployment in the area."""
    assert ctx.proposal is not None
    cool = timedelta(hours=ctx.profile.cooldown_hours)
    nearby = _nearby_deployments(ctx.session, ctx.proposal, ctx.profile.neighbour_buffer_m)
    for other, (o_start, _o_end) in nearby:
        if o_start >= start and end > o_start - cool:
            raise Refused(
                "cooldown",
                f"extending would run within {ctx.profile.cooldown_hours:g} h of deployment "
                f"#{other.id} starting {o_start:%Y-%m-%d %H:%M}Z",
            )


def propose_rules(ctx: GuardContext) -> None:
    d: ProposalDetails = ctx.details
    # The lifecycle resolved the name among the shipped and administrator-installed profiles
    # only (never a file); this guards against a details/profile mix-up.
    if ctx.profile.name != d.profile:
        raise Refused(
            "policy-profile",
            "the profile is not a shipped or installed policy profile: "
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


# --- reads: who may see a proposal -------------------------------------------------------------

#: Roles that read every proposal (oversight and administration).
READ_ALL_ROLES: frozenset[Role] = frozenset({Role.ADMINISTRATOR, Role.OVERSIGHT_AUDITOR})

#: The (effective) states in which a role has a part to play, from ``WHO`` and the lifecycle's
#: transition table (a test checks the two agree): a community lead assesses submitted
#: proposals; an authorising officer decides on consulted ones, extends or cancels authorised
#: and active ones, debriefs expired or cancelled ones and reviews debriefed ones; the firearms
#: commanders cancel authorised or active ones, the tactical commander debriefs and the
#: strategic commander reviews.
PART_STATES: Mapping[Role, frozenset[State]] = {
    Role.COMMUNITY_LEAD: frozenset({State.SUBMITTED}),
    Role.AUTHORISING_OFFICER: frozenset(
        {
            State.CONSULTED,
            State.AUTHORISED,
            State.ACTIVE,
            State.EXPIRED,
            State.CANCELLED,
            State.DEBRIEFED,
        }
    ),
    Role.TACTICAL_FIREARMS_COMMANDER: frozenset(
        {State.AUTHORISED, State.ACTIVE, State.EXPIRED, State.CANCELLED}
    ),
    Role.STRATEGIC_FIREARMS_COMMANDER: frozenset(
        {State.AUTHORISED, State.ACTIVE, State.DEBRIEFED}
    ),
}


@dataclass(frozen=True)
class ReadFacts:
    """What the read rule looks at: the effective state, the boroughs the area touches, the
    proposer and everyone who took part in deciding on it (person ids)."""

    state: State
    boroughs: frozenset[str]
    proposer_id: int
    involved: frozenset[int]


def read_basis(actor: Actor, facts: ReadFacts) -> str | None:
    """Why ``actor`` may read a proposal (``"oversight"``, ``"proposer"``, ``"involved"``,
    ``"borough"``, ``"part"``), or None: THE read rule, used for one proposal and for lists.

    Administrators and oversight auditors read every proposal; the proposer reads their own;
    anyone who took part in deciding on it reads it; a borough commander reads proposals whose
    area touches a borough they command; a community lead, an authorising officer or a firearms
    commander reads proposals in a state where their role has a part to play
    (:data:`PART_STATES`). Nobody else.
    """
    if actor.roles & READ_ALL_ROLES:
        return "oversight"
    if facts.proposer_id == actor.person_id:
        return "proposer"
    if actor.person_id in facts.involved:
        return "involved"
    if actor.has(Role.BOROUGH_COMMANDER) and actor.boroughs & facts.boroughs:
        return "borough"
    if any(facts.state in PART_STATES.get(r, frozenset()) for r in actor.roles):
        return "part"
    return None


def may_read(actor: Actor, facts: ReadFacts) -> bool:
    return read_basis(actor, facts) is not None


def read_facts(
    session: Session, proposal: Proposal, now: datetime, *, with_involvement: bool = True
) -> ReadFacts:
    """The :class:`ReadFacts` of a stored proposal at ``now`` (``with_involvement=False``
    leaves ``involved`` empty: cheaper, and enough when another basis already allows)."""
    return ReadFacts(
        state=effective_state(
            proposal.state, proposal.authorised_start, proposal.authorised_end, now
        ),
        boroughs=frozenset(proposal.boroughs or ()),
        proposer_id=proposal.proposer_id,
        involved=(
            frozenset(involvement(session, proposal)) if with_involvement else frozenset()
        ),
    )


def proposal_read_basis(
    session: Session, actor: Actor, proposal: Proposal, now: datetime
) -> tuple[str | None, ReadFacts]:
    """:func:`read_basis` for a stored proposal, reading who took part only when no cheaper
    basis allows (taking part only ever adds access, so the answer is the same)."""
    facts = read_facts(session, proposal, now, with_involvement=False)
    basis = read_basis(actor, facts)
    if basis is None:
        facts = read_facts(session, proposal, now)
        basis = read_basis(actor, facts)
    return basis, facts
