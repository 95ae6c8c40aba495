"""Play the seeded month (:mod:`patrolcast.oversight.scenario`) through the governance lifecycle.

Every proposal goes through the real service functions, in time order on a controlled clock:
an intelligence item is recorded when the trigger is intelligence; the analyst proposes and
submits; the community lead records a complete impact assessment and moves it on; each borough
commander is consulted; an authorising officer of the planned rank refuses or authorises;
extensions and cancellations happen during the deployment; debriefs (by the authorising
officer) and independent reviews (by a strategic firearms commander) follow. Profile
``s60-statutory`` (inspector authorises up to 24 h, one extension by a superintendent) is used
so that several ranks decide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from patrolcast.governance import service
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import Database
from patrolcast.governance.roles import Rank, Role, RoleSpec, add_person, find_actor
from patrolcast.governance.snapshots import record_snapshot
from patrolcast.governance.values import (
    Area,
    AuthorisationDetails,
    CancellationDetails,
    ConsultationDetails,
    DebriefDetails,
    ExtensionDetails,
    NDMRationale,
    ProposalDetails,
    RefusalDetails,
    ReviewDetails,
    Trigger,
)
from patrolcast.oversight.cia import AssessmentContent
from patrolcast.oversight.cia_service import record_cia
from patrolcast.oversight.intel_store import record_item
from patrolcast.oversight.intelligence import Place
from patrolcast.oversight.scenario import BOROUGH_POINTS, PlannedProposal, plan_month

__all__ = ["AUDITOR", "run_month"]

PROFILE = "s60-statutory"
AUDITOR = "scenario-auditor"
_AUTHORISERS = {
    "superintendent": "scenario-supt",
    "chief superintendent": "scenario-chsupt",
    "assistant chief constable": "scenario-acc",
}


def _ndm() -> NDMRationale:
    return NDMRationale(
        code_of_ethics="Lawful, proportionate and fair; least intrusive option considered.",
        information_and_intelligence="Recent serious violence nearby and the picture for tonight.",
        threat_risk_and_strategy="Risk of further serious violence in the next hours.",
        powers_and_policy="Section 60 statutory profile.",
        options_and_contingencies="No action; neighbourhood patrol; targeted patrol.",
        action_and_review="Short patrol with a review point and debrief.",
    )


def _content(review: date) -> AssessmentContent:
    return AssessmentContent(
        description="Short targeted patrol after recent serious violence",
        geography="A few streets around the location of the trigger",
        likely_effect="Some residents may feel targeted; most expect visible reassurance",
        proportionality="Limited in space and time to the assessed risk",
        tension_indicators="No protest planned; tension after the trigger incident",
        objectives=("reduce harm", "reduce fear of crime"),
        equality_eliminate_discrimination="Searches by the patrol reviewed for disproportion",
        equality_advance_opportunity="Youth provision kept open during the patrol",
        equality_good_relations="Community lead briefs local groups before and after",
        consultation_group="Borough Independent Advisory Group",
        consultation_response="Content if the patrol is short and explained afterwards",
        mitigations="Engagement officers lead; body-worn video on",
        communication_plan="Notice after the patrol with its purpose and result",
        owner="Borough community engagement lead",
        review_date=review,
    )


def _ensure_people(session: Session, clock: FixedClock, boroughs: set[str]) -> None:
    people: list[tuple[str, tuple[RoleSpec, ...], Rank | None]] = [
        ("scenario-admin", (RoleSpec(Role.ADMINISTRATOR),), None),
        ("scenario-analyst", (RoleSpec(Role.ANALYST),), None),
        ("scenario-intel", (RoleSpec(Role.INTELLIGENCE_OFFICER),), None),
        ("scenario-community", (RoleSpec(Role.COMMUNITY_LEAD),), None),
        (AUDITOR, (RoleSpec(Role.OVERSIGHT_AUDITOR),), None),
        ("scenario-sfc", (RoleSpec(Role.STRATEGIC_FIREARMS_COMMANDER),),
         Rank.CHIEF_SUPERINTENDENT),
    ]
    people += [
        (user, (RoleSpec(Role.AUTHORISING_OFFICER),), Rank.parse(rank))
        for rank, user in _AUTHORISERS.items()
    ]
    people += [
        (f"scenario-bc-{code.lower()}", (RoleSpec(Role.BOROUGH_COMMANDER, code),),
         Rank.CHIEF_SUPERINTENDENT)
        for code in sorted(boroughs)
    ]
    for username, roles, rank in people:
        if find_actor(session, username) is not None:
            continue
        admin = "scenario-admin" if find_actor(session, "scenario-admin") else None
        add_person(session, actor=admin, username=username, roles=roles, rank=rank, clock=clock)


@dataclass
class _Event:
    at: datetime
    order: int
    run: Callable[[], Any]


def run_month(
    db: Database, month: str = "2025-06", *, seed: int = 20250601, n_proposals: int = 30
) -> tuple[list[PlannedProposal], datetime]:
    """Play the plan into ``db`` up to the report time; returns the plan and the report time.
    The database should hold no earlier scenario proposals."""
    plans, report_time = plan_month(month, seed=seed, n_proposals=n_proposals)
    first_event = min(p.start for p in plans) - timedelta(hours=4)
    clock = FixedClock(first_event)
    session = db.session()
    _ensure_people(session, clock, {b for p in plans for b in p.boroughs})
    ids: dict[int, int] = {}
    events: list[_Event] = []
    snapshot = record_snapshot(
        session, method="kde", params={"bandwidth_m": 250, "weeks": 8},
        created_at=first_event, digest=hashlib.sha256(f"{month}:{seed}".encode()).hexdigest(),
        uri=f"scenario://{month}", actor="scenario-analyst", clock=clock,
    ).id

    def add(at: datetime, run: Callable[[], Any]) -> None:
        events.append(_Event(at, len(events), run))

    for plan in sorted(plans, key=lambda p: p.start):
        _schedule(plan, add, session, clock, ids, snapshot)
    for event in sorted(events, key=lambda e: (e.at, e.order)):
        if event.at > report_time:
            break  # the database as it stands when the report is written
        if event.at > clock.now():
            clock.advance(event.at - clock.now())
        event.run()
    session.close()
    return plans, report_time


def _schedule(
    plan: PlannedProposal,
    add: Callable[[datetime, Callable[[], Any]], None],
    session: Session,
    clock: FixedClock,
    ids: dict[int, int],
    snapshot: int,
) -> None:
    s = plan.start
    authoriser = _AUTHORISERS.get(plan.rank or "", "scenario-supt")
    x, y = BOROUGH_POINTS[plan.boroughs[0]]
    x += (plan.proposal_id % 5) * 700.0 - 1400.0
    y += (plan.proposal_id // 5 % 5) * 500.0 - 1000.0

    def propose() -> None:
        now = clock.now()
        if plan.trigger == "intelligence":
            item = record_item(
                session, actor="scenario-intel", clock=clock,
                place=Place(x=x + plan.side_m / 2, y=y + plan.side_m / 2, radius_m=300.0),
                start=now, end=s + timedelta(hours=24), grading="2B P",
                owner="Borough intelligence unit", retain_until=now + timedelta(days=60),
                summary="Serious violence likely around this location tonight",
            )
            trigger = Trigger(kind="intelligence", intelligence_item_id=item, grade="2B")
        else:
            trigger = Trigger(kind="incident", offence="serious_assault",
                              occurred_at=now - timedelta(hours=2), place="a nearby street")
        details = ProposalDetails(
            trigger=trigger,
            area=Area.from_bbox(x, y, x + plan.side_m, y + plan.side_m, plan.boroughs),
            start=s, end=s + timedelta(hours=plan.base_hours or 6.0), ndm=_ndm(),
            profile=PROFILE, snapshot_id=snapshot,
        )
        result = service.propose(session, actor="scenario-analyst", clock=clock,
                                 details=details, submit_now=True)
        ids[plan.proposal_id] = result.proposal_id

    add(s - timedelta(hours=3), propose)
    if plan.decision is None:
        return

    def assess() -> None:
        pid = ids[plan.proposal_id]
        record_cia(session, actor="scenario-community", clock=clock, proposal_id=pid,
                   content=_content((s + timedelta(days=14)).date()))
        service.assess(session, actor="scenario-community", clock=clock, proposal_id=pid)

    def consult() -> None:
        for code in plan.boroughs:
            service.consult(
                session, actor=f"scenario-bc-{code.lower()}", clock=clock,
                proposal_id=ids[plan.proposal_id],
                details=ConsultationDetails(borough=code, position="support",
                                            reasons="Supports a short, targeted patrol"),
            )

    def decide() -> None:
        pid = ids[plan.proposal_id]
        if plan.decision == "refuse":
            service.refuse(session, actor=authoriser, clock=clock, proposal_id=pid,
                           details=RefusalDetails(reasons="Grounds not strong enough"))
            return
        service.authorise(
            session, actor=authoriser, clock=clock, proposal_id=pid,
            details=AuthorisationDetails(
                start=s, end=s + timedelta(hours=plan.base_hours),
                reasons="Reasonable belief of further serious violence", ndm=_ndm(),
            ),
        )

    add(s - timedelta(hours=2.5), assess)
    add(s - timedelta(hours=2), consult)
    add(s - timedelta(hours=1), decide)
    if plan.decision != "authorise":
        return
    if plan.extension_hours > 0:
        add(
            s + timedelta(hours=plan.base_hours - 0.5),
            lambda: service.extend(
                session, actor="scenario-supt" if plan.rank != "assistant chief constable"
                else authoriser, clock=clock, proposal_id=ids[plan.proposal_id],
                details=ExtensionDetails(new_end=plan.end, reasons="Risk remains high",
                                         ndm=_ndm()),
            ),
        )
    if plan.cancel_after_hours is not None:
        add(
            s + timedelta(hours=plan.cancel_after_hours),
            lambda: service.cancel(
                session, actor=authoriser, clock=clock, proposal_id=ids[plan.proposal_id],
                details=CancellationDetails(reasons="Grounds lapsed: suspects arrested"),
            ),
        )
    if plan.debrief_after_hours is not None:
        debriefed = plan.stood_down + timedelta(hours=plan.debrief_after_hours)
        add(
            debriefed,
            lambda: service.debrief(
                session, actor=authoriser, clock=clock, proposal_id=ids[plan.proposal_id],
                details=DebriefDetails(summary="Patrol completed without incident",
                                       sign_off="Signed off by the authorising officer"),
            ),
        )
        if plan.review_after_hours is not None:
            add(
                debriefed + timedelta(hours=plan.review_after_hours),
                lambda: service.review(
                    session, actor="scenario-sfc", clock=clock,
                    proposal_id=ids[plan.proposal_id],
                    details=ReviewDetails(findings="Decision proportionate; notice published"),
                ),
            )
