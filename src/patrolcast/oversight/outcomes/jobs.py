"""The jobs behind the ``outcomes`` and ``fairness-audit`` commands: read inputs, run, write.

Each job composes readers (``io``, ``geo``) with the pure functions of this package; commands
only parse options and print. Deployments come as values (an area file and a window, or the
proposal views governance exports), so the same jobs serve the CLI now and the API later.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.events import EventSet, from_days, to_days
from patrolcast.oversight.outcomes.counts import DeploymentArea, Window
from patrolcast.oversight.outcomes.dosage import Dosage, compute_dosage
from patrolcast.oversight.outcomes.outcome import (
    DeploymentOutcome,
    evaluate_deployment,
    pool_outcomes,
)
from patrolcast.oversight.outcomes.sources import evaluable_deployments
from patrolcast.oversight.outcomes.traces import Trace, read_patrol_log, read_trace

__all__ = [
    "KEY_ENV",
    "DosageOutcome",
    "audit_job",
    "dosage_job",
    "evaluate_job",
    "pseudonym_key",
    "quarter_bounds",
    "quarterly_job",
    "read_area",
]

KEY_ENV = "PATROLCAST_PSEUDONYM_KEY"


def pseudonym_key(env: dict[str, str] | None = None) -> bytes:
    """The force's pseudonymisation key from ``PATROLCAST_PSEUDONYM_KEY`` (never an option,
    so it stays out of shell history and process lists)."""
    value = (env if env is not None else dict(os.environ)).get(KEY_ENV, "")
    key = value.encode()
    if len(key) < 16:
        raise InputError(f"set {KEY_ENV} to the force's secret (at least 16 characters)")
    return key


def read_area(path: Path, *, crs: str) -> Any:
    """The union of the polygons of an area file (GeoJSON, GeoPackage, shapefile) in ``crs``."""
    import shapely

    from patrolcast.geo.boundaries import read_polygons

    geoms, _ = read_polygons(Path(path), crs=crs)
    return shapely.union_all(geoms)


def _time(text: str) -> float:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise InputError(f"{text!r} has no time zone (give Z or an offset)")
    return to_days(when)


def _pool(events: EventSet, cell_size: float) -> Any:
    from patrolcast.geo.support import Grid

    return Grid.covering(float(events.x.min()), float(events.y.min()), float(events.x.max()),
                         float(events.y.max()), cell_size=cell_size, crs=events.crs)


def _events(store: Any, dataset: str, groups: tuple[str, ...] | None) -> EventSet:
    events = store.events(dataset, groups=list(groups) if groups else None)
    if len(events) == 0:
        raise InputError(f"dataset {dataset!r} has no events in the chosen groups")
    if events.time_precision == "month":
        raise InputError(
            f"dataset {dataset!r} has month-precision times: a deployment of hours or days "
            "cannot be evaluated on monthly records (use timestamped incidents)"
        )
    return events


def evaluate_job(
    store: Any, dataset: str, *, area: Any = None, start: str | None = None,
    end: str | None = None, proposal: Path | None = None,
    groups: tuple[str, ...] | None = None, pool_cell_m: float = 250.0, pre_days: float = 365.0,
    residual_days: float = 7.0, forecast_expected: float | None = None, measure: str = "count",
    buffer_m: float = 500.0, deployment_id: str = "deployment",
) -> DeploymentOutcome:  # fmt: skip
    """Evaluate one deployment on a dataset: an area polygon (in the dataset's CRS) with an ISO
    window, or a proposal view exported from governance (JSON, as ``read_proposal`` returns)."""
    events = _events(store, dataset, groups)
    if proposal is not None:
        from patrolcast.oversight.outcomes.sources import deployment_from_view

        try:
            view = _view_dict(json.loads(Path(proposal).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, AttributeError) as exc:
            raise InputError(f"cannot read the proposal from {proposal}: {exc}") from None
        dep = deployment_from_view(view, crs=events.crs, buffer_m=buffer_m,
                                   forecast_expected=forecast_expected)  # fmt: skip
    else:
        if area is None or start is None or end is None:
            raise InputError("give the area with --start and --end, or a --proposal export")
        dep = DeploymentArea(deployment_id, area, _time(start), _time(end), events.crs,
                             buffer_m=buffer_m, forecast_expected=forecast_expected)  # fmt: skip
    _covers(events, dep, pre_days, residual_days)
    return evaluate_deployment(events, dep, _pool(events, pool_cell_m), pre_days=pre_days,
                               residual_days=residual_days, measure=measure)  # fmt: skip


@dataclass(frozen=True)
class DosageOutcome:
    dosage: Dosage
    trace: Trace | None
    grid: Any


def dosage_job(
    traces: list[Path], *, area: Any, start: str, end: str, crs: str, key: bytes,
    call_sign: str | None = None, log: Path | None = None, cell_size: float = 50.0,
    max_gap_minutes: float = 5.0,
) -> DosageOutcome:  # fmt: skip
    """Import traces (all-or-nothing) and patrol logs and compute the dosage over ``area``."""
    from patrolcast.geo.support import Grid

    loaded = [read_trace(p, key=key, crs=crs, call_sign=call_sign) for p in traces]
    trace = Trace.concat(loaded) if loaded else None
    entries = read_patrol_log(log, key=key, crs=crs) if log else []
    grid = Grid.clipped_to(area, cell_size=cell_size, crs=crs)
    dosage = compute_dosage(trace, area, Window(_time(start), _time(end)), grid, log=entries,
                            max_gap_minutes=max_gap_minutes)  # fmt: skip
    return DosageOutcome(dosage, trace, grid)


def _covers(events: EventSet, dep: DeploymentArea, pre_days: float, residual_days: float) -> None:
    """Refuse a deployment the data do not cover: missing data would look like a reduction."""
    first, last = float(events.t.min()), float(events.t.max())
    if dep.start - pre_days < first - 1.0 or dep.end + residual_days > last + 1.0:
        raise InputError(
            f"{dep.deployment_id}: the data ({from_days(first):%Y-%m-%d} to "
            f"{from_days(last):%Y-%m-%d}) do not cover its {pre_days:g} days before and "
            f"{residual_days:g} days after; missing data would look like an effect"
        )


def quarter_bounds(quarter: str) -> tuple[float, float]:
    """``YYYYQn`` as days since epoch ``[start, end)`` (UTC)."""
    text = quarter.strip().upper()
    try:
        year, q = int(text[:4]), int(text[-1])
        if text[4] != "Q" or not 1 <= q <= 4 or len(text) != 6:
            raise ValueError
    except (ValueError, IndexError):
        raise InputError(f"quarter {quarter!r} is not YYYYQn, e.g. 2025Q1") from None
    start = datetime(year, 3 * q - 2, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) if q == 4 else datetime(year, 3 * q + 1, 1,
                                                                         tzinfo=UTC)
    return to_days(start), to_days(end)


def quarterly_job(
    store: Any, dataset: str, proposals: Path, *, quarter: str, out: Path,
    groups: tuple[str, ...] | None = None, crs: str | None = None, pool_cell_m: float = 250.0,
    residual_days: float = 7.0, pdf: bool = False, audit: Any | None = None,
) -> tuple[list[DeploymentOutcome], list[Path]]:  # fmt: skip
    """The quarterly evaluation report over the debriefed deployments of ``quarter`` in a
    governance export (a JSON list of proposal views, as ``list_proposals`` returns them)."""
    from patrolcast.oversight.outcomes.report import write_quarterly_report

    lo, hi = quarter_bounds(quarter)
    try:
        raw = json.loads(Path(proposals).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read proposals from {proposals}: {exc}") from None
    views = [_view_dict(v) for v in (raw if isinstance(raw, list) else raw.get("proposals", []))]
    events = _events(store, dataset, groups)
    deps = [d for d in evaluable_deployments(views, crs=crs or events.crs) if lo <= d.start < hi]
    for d in deps:
        _covers(events, d, 365.0, residual_days)
    pool = _pool(events, pool_cell_m)
    outcomes = [evaluate_deployment(events, d, pool, residual_days=residual_days) for d in deps]
    pooled = pool_outcomes(outcomes) if outcomes else None
    paths = write_quarterly_report(outcomes, Path(out), quarter=quarter,
                                   generated_at=datetime.now(UTC), pooled=pooled, audit=audit,
                                   pdf=pdf)  # fmt: skip
    return outcomes, paths


def _view_dict(v: dict[str, Any]) -> dict[str, Any]:
    out = dict(v)
    for k in ("authorised_start", "authorised_end", "cancelled_at"):
        if out.get(k):
            out[k] = datetime.fromisoformat(str(out[k]).replace("Z", "+00:00"))
    return out


def audit_job(
    areas: Path, *, count: str | None, groups: tuple[str, ...], area_id: str | None = None,
    total: str | None = None, moe: dict[str, str] | None = None, income: str | None = None,
    points: Path | None = None, points_crs: str = "EPSG:4326", window_share: float = 0.05,
) -> Any:  # fmt: skip
    """Audit a forecast given as areas with a count column, or as prediction points (a CSV of
    ``lon, lat`` in ``points_crs``, or ``x, y``) counted into the areas."""
    from patrolcast.oversight.fairness_audit import audit_forecast, read_audit_areas

    frame = read_audit_areas(areas)
    column = count
    if points is not None:
        import geopandas as gpd
        import shapely

        pts = pd.read_csv(points)
        cols = ("lon", "lat") if {"lon", "lat"} <= set(pts.columns) else ("x", "y")
        if not set(cols) <= set(pts.columns):
            raise InputError("prediction points need lon,lat or x,y columns")
        gdf = gpd.GeoDataFrame(frame, geometry="geometry")
        if gdf.crs is None:
            raise InputError("the areas file has no CRS")
        xy = gpd.GeoSeries(shapely.points(pts[cols[0]].to_numpy(float),
                                          pts[cols[1]].to_numpy(float)),
                           crs=points_crs).to_crs(gdf.crs)  # fmt: skip
        hit = gpd.sjoin(gpd.GeoDataFrame(geometry=xy), gdf[["geometry"]], predicate="within")
        counts = np.bincount(hit["index_right"].to_numpy(int), minlength=len(gdf))
        column = "_predictions"
        frame = frame.assign(_predictions=counts.astype(float))
    if column is None:
        raise InputError("give the count column, or prediction points")
    return audit_forecast(frame.drop(columns="geometry", errors="ignore"), count=column,
                          groups=list(groups), area_id=area_id, total=total, moe=moe,
                          income=income, window_share=window_share)  # fmt: skip
