"""Deployments as evaluation values, read from governance's public views only.

Governance is read through :func:`patrolcast.governance.service.list_proposals` /
:func:`~patrolcast.governance.service.read_proposal` (audited reads); this module turns each
:class:`~patrolcast.governance.service.ProposalView` into a
:class:`~patrolcast.oversight.outcomes.counts.DeploymentArea`: the authorised area (its WKT, in
the metric CRS the proposal was drawn in) and the window actually authorised, cut short at a
cancellation. Only deployments that were debriefed or reviewed are evaluated: a deployment is
judged after its debrief records what happened, never before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from patrolcast.errors import InputError
from patrolcast.events import to_days
from patrolcast.oversight.outcomes.counts import DeploymentArea

__all__ = ["EVALUABLE_STATES", "deployment_from_view", "evaluable_deployments"]

EVALUABLE_STATES = ("debriefed", "reviewed")


def deployment_from_view(
    view: Any, *, crs: str = "EPSG:27700", buffer_m: float = 500.0,
    forecast_expected: float | None = None,
) -> DeploymentArea:  # fmt: skip
    """The evaluation value of one authorised proposal (a ``ProposalView`` or its dict)."""
    import shapely

    get = view.get if isinstance(view, dict) else lambda k, d=None: getattr(view, k, d)
    start, end = get("authorised_start"), get("authorised_end")
    if start is None or end is None:
        raise InputError(f"proposal #{get('id')} was never authorised: nothing to evaluate")
    cancelled = get("cancelled_at")
    if cancelled is not None and cancelled < end:
        end = cancelled
    wkt = get("area_wkt") or ""
    try:
        area = shapely.from_wkt(wkt)
    except Exception:  # shapely raises GEOSException subclasses
        raise InputError(f"proposal #{get('id')} has no readable area") from None
    crs = get("area_crs") or crs
    return DeploymentArea(
        deployment_id=f"proposal-{get('id')}", treated=area, start=to_days(start),
        end=to_days(end), crs=crs, buffer_m=buffer_m, forecast_expected=forecast_expected,
    )  # fmt: skip


def evaluable_deployments(views: Iterable[Any], **kwargs: Any) -> list[DeploymentArea]:
    """Deployment values of the debriefed or reviewed proposals among ``views``."""
    out = []
    for view in views:
        state = view.get("state") if isinstance(view, dict) else getattr(view, "state", None)
        if str(getattr(state, "value", state)) in EVALUABLE_STATES:
            out.append(deployment_from_view(view, **kwargs))
    return out
