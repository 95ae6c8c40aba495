"""Use cases of the deployment lifecycle and its reads: inputs -> domain values -> service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from patrolcast.app.context import AppContext, Principal
from patrolcast.app.inputs import (
    AreaInput,
    AssessInput,
    AuthoriseInput,
    CancelInput,
    ConsultInput,
    DebriefInput,
    ExtendInput,
    NDMInput,
    ProposalListInput,
    ProposeInput,
    RefuseInput,
    ReviewInput,
    VersionInput,
)
from patrolcast.errors import InputError
from patrolcast.governance import service
from patrolcast.governance.clock import LONDON, parse_time
from patrolcast.governance.lifecycle import TransitionResult
from patrolcast.governance.states import State
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

__all__ = [
    "assess",
    "authorise",
    "cancel",
    "consult",
    "debrief",
    "extend",
    "list_proposals",
    "propose",
    "refuse",
    "review",
    "show_proposal",
    "submit",
]


def _time(text: str, what: str) -> datetime:
    try:
        return parse_time(text, zone=LONDON)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None


def _ndm(n: NDMInput) -> NDMRationale:
    return NDMRationale(**n.model_dump())


def _window(
    start: str | None, end: str | None, hours: float | None, now: datetime
) -> tuple[datetime, datetime]:
    begin = _time(start, "start") if start else now
    if (end is None) == (hours is None):
        raise InputError("give either an end or a number of hours")
    finish = _time(end, "end") if end else begin + timedelta(hours=float(hours or 0))
    return begin, finish


def _area(ctx: AppContext, a: AreaInput) -> Area:
    """The area validated (geometry, CRS, area of use) and every borough it touches added
    (given codes add to the computed ones and can never leave one out: the proposer does not
    choose whose commander is asked)."""
    if (a.wkt is None) == (a.bbox is None):
        raise InputError("give the area as a polygon (wkt) or a box (bbox), not both")
    given = tuple(sorted({b.strip().upper() for b in a.boroughs}))
    within = ctx.borough_list()
    if a.bbox is not None:
        xmin, ymin, xmax, ymax = a.bbox
        return Area.from_bbox(xmin, ymin, xmax, ymax, given, crs=a.crs, within=within)
    return Area(wkt=a.wkt or "", boroughs=given, crs=a.crs, within=within)


def _act(
    ctx: AppContext,
    who: Principal,
    action: Callable[..., TransitionResult],
    pid: int,
    body: VersionInput,
    **details: Any,
) -> dict[str, Any]:
    """One lifecycle action on proposal ``pid`` as the signed-in person, in its own session."""
    with ctx.db.session() as s:
        return action(
            s, actor=who.username, clock=ctx.clock, proposal_id=pid,
            expected_version=body.expected_version, **details,
        ).to_dict()


def propose(ctx: AppContext, who: Principal, _t: Any, body: ProposeInput) -> dict[str, Any]:
    now = ctx.clock.now()
    t = body.trigger
    if t.kind == "intelligence":
        trigger = Trigger(kind="intelligence", intelligence_item_id=t.intelligence_item_id,
                          grade=t.grade)
    else:
        trigger = Trigger(
            kind="incident",
            offence=t.offence,
            place=t.place,
            occurred_at=_time(t.occurred_at, "incident time") if t.occurred_at else None,
        )
    begin, finish = _window(body.start, body.end, body.hours, now)
    details = ProposalDetails(
        trigger=trigger,
        area=_area(ctx, body.area),
        start=begin,
        end=finish,
        ndm=_ndm(body.ndm),
        snapshot_id=body.snapshot_id,
        profile=body.profile,
    )
    with ctx.db.session() as s:
        result = service.propose(
            s, actor=who.username, clock=ctx.clock, details=details, submit_now=not body.draft
        )
    return result.to_dict()


def submit(ctx: AppContext, who: Principal, pid: int, body: VersionInput) -> dict[str, Any]:
    return _act(ctx, who, service.submit, pid, body)


def assess(ctx: AppContext, who: Principal, pid: int, body: AssessInput) -> dict[str, Any]:
    if body.assessment is None:
        return _act(ctx, who, service.assess, pid, body)
    with ctx.db.session() as s:
        from patrolcast.oversight.cia import AssessmentContent
        from patrolcast.oversight.cia_service import assessment_payload

        content = AssessmentContent.from_dict(body.assessment)
        payload = assessment_payload(content, today=ctx.clock.now().date())
        return service.assess_with(
            s, actor=who.username, clock=ctx.clock, proposal_id=pid, payload=payload,
            expected_version=body.expected_version,
        ).to_dict()


def consult(ctx: AppContext, who: Principal, pid: int, body: ConsultInput) -> dict[str, Any]:
    d = ConsultationDetails(borough=body.borough, position=body.position, reasons=body.reasons)
    return _act(ctx, who, service.consult, pid, body, details=d)


def authorise(ctx: AppContext, who: Principal, pid: int, body: AuthoriseInput) -> dict[str, Any]:
    begin, finish = _window(body.start, body.end, body.hours, ctx.clock.now())
    d = AuthorisationDetails(
        start=begin,
        end=finish,
        reasons=body.reasons,
        ndm=_ndm(body.ndm),
        tactical_commander=body.tactical_commander,
        strategic_commander=body.strategic_commander,
        public_notice=body.public_notice,
        objection_response=body.objection_response,
    )
    return _act(ctx, who, service.authorise, pid, body, details=d)


def refuse(ctx: AppContext, who: Principal, pid: int, body: RefuseInput) -> dict[str, Any]:
    return _act(ctx, who, service.refuse, pid, body, details=RefusalDetails(body.reasons))


def extend(ctx: AppContext, who: Principal, pid: int, body: ExtendInput) -> dict[str, Any]:
    if (body.hours is None) == (body.until is None):
        raise InputError("give either hours or until")
    with ctx.db.session() as s:
        if body.until is not None:
            new_end = _time(body.until, "until")
        else:
            view = service.read_proposal(s, actor=who.username, clock=ctx.clock, proposal_id=pid)
            if view.authorised_end is None:
                raise InputError(f"proposal #{pid} is not authorised")
            new_end = view.authorised_end + timedelta(hours=float(body.hours or 0))
        d = ExtensionDetails(
            new_end=new_end, reasons=body.reasons, ndm=_ndm(body.ndm) if body.ndm else None
        )
        return service.extend(
            s, actor=who.username, clock=ctx.clock, proposal_id=pid, details=d,
            expected_version=body.expected_version,
        ).to_dict()


def cancel(ctx: AppContext, who: Principal, pid: int, body: CancelInput) -> dict[str, Any]:
    return _act(ctx, who, service.cancel, pid, body, details=CancellationDetails(body.reasons))


def debrief(ctx: AppContext, who: Principal, pid: int, body: DebriefInput) -> dict[str, Any]:
    details = DebriefDetails(body.summary, body.sign_off)
    return _act(ctx, who, service.debrief, pid, body, details=details)


def review(ctx: AppContext, who: Principal, pid: int, body: ReviewInput) -> dict[str, Any]:
    return _act(ctx, who, service.review, pid, body, details=ReviewDetails(body.findings))


def list_proposals(
    ctx: AppContext, who: Principal, _t: Any, body: ProposalListInput
) -> list[dict[str, Any]]:
    wanted = State(body.state) if body.state else None
    with ctx.db.session() as s:
        views = service.list_proposals(s, actor=who.username, clock=ctx.clock, state=wanted)
    return [v.to_dict() for v in views]


def show_proposal(ctx: AppContext, who: Principal, pid: int, _b: Any) -> dict[str, Any]:
    with ctx.db.session() as s:
        return service.read_proposal(
            s, actor=who.username, clock=ctx.clock, proposal_id=pid
        ).to_dict()
