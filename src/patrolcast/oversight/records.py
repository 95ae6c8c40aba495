"""Oversight's view of governance proposals: public report records, past deployments, exposure.

Reads only :class:`patrolcast.governance.service.ProposalView` values (obtained through the
audited :func:`~patrolcast.governance.service.list_proposals`), never the tables directly.

Outcome of a proposal for the public report, from its effective state at the report time:

- draft, submitted, assessed, consulted: ``pending`` (not decided);
- refused: ``refused``;
- authorised (before its start) or active: ``active`` (authorised, active or upcoming);
- cancelled, or expired/debriefed/reviewed after a cancellation: ``cancelled``;
- expired, debriefed, reviewed: ``expired`` (ran to its end).

Authorised hours are the hours from the authorised start to the end, or to the cancellation if
earlier (never negative), including extensions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import shapely

from patrolcast.governance.clock import as_utc
from patrolcast.governance.states import State
from patrolcast.oversight.cia import PastDeployment
from patrolcast.oversight.fairness import Exposure
from patrolcast.oversight.transparency import DeploymentRecord

__all__ = ["deployment_records", "exposures", "outcome_of", "past_deployments"]

_PENDING = {State.DRAFT, State.SUBMITTED, State.ASSESSED, State.CONSULTED}
_RAN = {State.EXPIRED, State.DEBRIEFED, State.REVIEWED}


def outcome_of(view: Any) -> str:
    """The public outcome of a proposal view (see the module notes)."""
    state = State(view.state)
    if state in _PENDING:
        return "pending"
    if state is State.REFUSED:
        return "refused"
    if state is State.CANCELLED or (state in _RAN and view.cancelled_at is not None):
        return "cancelled"
    if state in (State.AUTHORISED, State.ACTIVE):
        return "active"
    if state in _RAN:
        return "expired"
    return "pending"


def _window(view: Any) -> tuple[datetime, datetime] | None:
    if view.authorised_start is None or view.authorised_end is None:
        return None
    start = as_utc(view.authorised_start)
    end = as_utc(view.authorised_end)
    if view.cancelled_at is not None:
        end = min(end, as_utc(view.cancelled_at))
    return start, max(start, end)


def _deciding_rank(view: Any) -> str | None:
    for decision in view.decisions:
        if decision.get("kind") in ("authorise", "refuse"):
            rank = decision.get("rank")
            return str(rank).replace("_", " ") if rank else None
    return None


def deployment_records(views: Sequence[Any]) -> list[DeploymentRecord]:
    """One :class:`DeploymentRecord` per proposal view."""
    out = []
    for v in views:
        outcome = outcome_of(v)
        window = _window(v) if outcome in ("active", "cancelled", "expired") else None
        hours = None if window is None else (window[1] - window[0]).total_seconds() / 3600
        out.append(
            DeploymentRecord(
                proposal_id=int(v.id),
                requested_start=as_utc(v.requested_start),
                boroughs=tuple(v.boroughs),
                trigger_type=str(v.trigger.get("type", "incident")),
                outcome=outcome,
                authorised_hours=None if hours is None else round(hours, 2),
                extensions=int(v.extensions_used),
                authorising_rank=_deciding_rank(v) if outcome != "pending" else None,
                area_km2=float(v.area_km2),
                follow_up=_follow_up(v, outcome),
                authorised_start=(
                    as_utc(v.authorised_start) if v.authorised_start is not None else None
                ),
                decided_at=_decided_at(v),
            )
        )
    return out


def _decided_at(view: Any) -> datetime | None:
    """When the proposal was authorised or refused (the first such decision), if it was."""
    for d in view.decisions:
        if d.get("kind") in ("authorise", "refuse") and d.get("at"):
            return as_utc(datetime.fromisoformat(str(d["at"])))
    return None


def _follow_up(view: Any, outcome: str) -> str | None:
    if outcome not in ("cancelled", "expired"):
        return None
    state = State(view.state)
    if state is State.REVIEWED:
        return "reviewed"
    if state is State.DEBRIEFED:
        return "debriefed"
    return "awaiting debrief"


def past_deployments(views: Sequence[Any], *, exclude: int | None = None) -> list[PastDeployment]:
    """Authorised deployments (for the cumulative-burden evidence), cancelled ones cut short."""
    out = []
    for v in views:
        if v.id == exclude or outcome_of(v) not in ("active", "cancelled", "expired"):
            continue
        window = _window(v)
        if window is None:
            continue
        out.append(PastDeployment(shapely.from_wkt(v.area_wkt), window[0], window[1]))
    return out


def exposures(views: Sequence[Any], *, now: datetime) -> list[Exposure]:
    """Footprints for fairness monitoring: hours on the ground up to ``now``."""
    now = as_utc(now)
    out = []
    for d in past_deployments(views):
        hours = max(0.0, (min(d.end, now) - d.start).total_seconds() / 3600)
        if hours > 0:
            out.append(Exposure(d.geometry, hours))
    return out
