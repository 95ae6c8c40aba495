"""Use cases of graded intelligence: record, list (audited reads), purge past retention."""

from __future__ import annotations

from typing import Any

from patrolcast.app.context import AppContext, Principal
from patrolcast.app.inputs import IntelAddInput, IntelListInput, OutcomeInput
from patrolcast.errors import PermissionDenied
from patrolcast.governance.clock import LONDON, parse_time
from patrolcast.governance.db import run_transaction
from patrolcast.governance.roles import Role

__all__ = ["deployment_outcome", "intel_add", "intel_list", "intel_purge"]


def intel_add(ctx: AppContext, who: Principal, _t: Any, body: IntelAddInput) -> dict[str, Any]:
    from patrolcast.oversight.intel_store import record_item
    from patrolcast.oversight.intelligence import Place

    place = Place(
        x=body.x,
        y=body.y,
        radius_m=body.radius,
        cells=tuple(c.strip() for c in body.cells if c.strip()),
        polygon_wkt=body.polygon,
    )
    with ctx.db.session() as s:
        item_id = record_item(
            s,
            actor=who.username,
            clock=ctx.clock,
            place=place,
            start=parse_time(body.start, zone=LONDON),
            end=parse_time(body.end, zone=LONDON),
            grading=body.grading,
            owner=body.owner,
            retain_until=parse_time(body.retain_until, zone=LONDON),
            summary=body.summary,
        )
    return {"id": item_id}


def intel_list(
    ctx: AppContext, who: Principal, _t: Any, body: IntelListInput
) -> list[dict[str, Any]]:
    from patrolcast.oversight.intel_store import item_summary, list_items

    with ctx.db.session() as s:
        items = list_items(
            s,
            actor=who.username,
            clock=ctx.clock,
            active_at=parse_time(body.active_at, zone=LONDON) if body.active_at else None,
        )
    return [item_summary(i) for i in items]


def intel_purge(ctx: AppContext, who: Principal, _t: Any, _b: Any) -> dict[str, Any]:
    from patrolcast.oversight.intel_store import purge_expired

    if not who.actor.has(Role.INTELLIGENCE_OFFICER) and not who.actor.has(Role.ADMINISTRATOR):
        raise PermissionDenied("purging needs the role intelligence_officer or administrator")
    with ctx.db.session() as s:
        ids = run_transaction(s, lambda: purge_expired(s, now=ctx.clock.now(), actor=who.username))
    return {"purged": ids}


def deployment_outcome(
    ctx: AppContext, who: Principal, pid: int, body: OutcomeInput
) -> dict[str, Any]:
    """One ended deployment against its forecast and matched controls, with displacement
    (the proposal is read as the caller: an audited read within their scope)."""
    import json
    import tempfile
    from pathlib import Path

    from patrolcast.errors import InputError
    from patrolcast.evaluate.jobs import open_store
    from patrolcast.governance import service
    from patrolcast.oversight.outcomes.jobs import evaluate_job

    if ctx.home is None:
        raise InputError("this server has no analytical store configured")
    with ctx.db.session() as s:
        view = service.read_proposal(s, actor=who.username, clock=ctx.clock, proposal_id=pid)
    if view.authorised_start is None:
        raise InputError(f"proposal #{pid} was never authorised: there is no deployment")
    if view.state.value not in ("expired", "cancelled", "debriefed", "reviewed"):
        raise InputError(f"proposal #{pid} is {view.state.value}: evaluate it once it has ended")
    with tempfile.TemporaryDirectory(prefix="patrolcast-outcome-") as tmp:
        path = Path(tmp) / "proposal.json"
        path.write_text(json.dumps(view.to_dict()), encoding="utf-8")
        result = evaluate_job(
            open_store(ctx.home), body.dataset, proposal=path,
            groups=tuple(body.groups) or None, measure=body.measure, buffer_m=body.buffer_m,
            pre_days=body.pre_days, residual_days=body.residual_days,
        )
    return dict(result.as_dict())

