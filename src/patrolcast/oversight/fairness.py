"""Fairness monitoring: deployment exposure per area against harm per area.

Exposure of an area unit ``u`` (an LSOA, ward or borough) over a period is the patrol burden
it carried::

    exposure(u) = sum over deployments d of  hours(d) * area(polygon(d) ∩ u)      [km² · h]

An area is *flagged* when its share of all exposure exceeds its share of all harm by more than
``factor`` (default 2)::

    exposure_share(u) > factor * harm_share(u)

Areas with exposure but no recorded harm are always flagged (their ratio is infinite). This is
the monitoring Ensign et al. (2018) and Lum & Isaac (2016) call for: a place patrolled far beyond
its share of harm is where a feedback loop, or disproportion, shows first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from patrolcast.errors import InputError

__all__ = [
    "DEFAULT_FACTOR",
    "Exposure",
    "exposure_by_area",
    "exposure_vs_harm",
    "harm_to_areas",
]

DEFAULT_FACTOR = 2.0


@dataclass(frozen=True)
class Exposure:
    """One deployment's footprint: its polygon (shapely, metric CRS) and its hours on the ground."""

    geometry: Any
    hours: float


def exposure_by_area(deployments: Sequence[Exposure], support: Any) -> pd.Series:
    """Exposure (km² · h) per area of an :class:`~patrolcast.geo.support.AreaSupport`."""
    import shapely

    geoms = np.asarray(support.geometries, dtype=object)
    tree = shapely.STRtree(geoms)
    out = np.zeros(len(geoms))
    for dep in deployments:
        if dep.hours < 0 or not np.isfinite(dep.hours):
            raise InputError("deployment hours must be a non-negative number")
        hit = tree.query(dep.geometry, predicate="intersects")
        if hit.size:
            overlap = shapely.area(shapely.intersection(geoms[hit], dep.geometry)) / 1e6
            out[hit] += dep.hours * overlap
    return pd.Series(out, index=pd.Index(list(support.ids), name="area"), name="exposure_km2h")


def exposure_vs_harm(
    exposure: pd.Series,
    harm: pd.Series,
    *,
    factor: float = DEFAULT_FACTOR,
    names: pd.Series | None = None,
) -> pd.DataFrame:
    """Exposure share against harm share per area, with the over-exposure flag.

    Parameters
    ----------
    exposure : exposure per area code (km² · h), e.g. from :func:`exposure_by_area`.
    harm : harm per area code over the same period (areas missing here count as 0 harm).
    factor : flag when ``exposure_share > factor * harm_share``.
    names : optional area names by code.

    Returns
    -------
    DataFrame indexed by area: ``exposure_km2h, exposure_share, harm, harm_share, ratio,
    flagged`` (``ratio`` = exposure share / harm share, inf where harm is 0), sorted by ratio.
    """
    if factor <= 0 or not np.isfinite(factor):
        raise InputError("the fairness factor must be a positive number")
    areas = exposure.index.union(harm.index)
    exp = exposure.reindex(areas, fill_value=0.0).astype(float)
    hrm = harm.reindex(areas, fill_value=0.0).astype(float)
    if (exp < 0).any() or (hrm < 0).any():
        raise InputError("exposure and harm must not be negative")
    total_exp, total_harm = exp.sum(), hrm.sum()
    frame = pd.DataFrame({"exposure_km2h": exp, "harm": hrm})
    frame["exposure_share"] = exp / total_exp if total_exp > 0 else 0.0
    frame["harm_share"] = hrm / total_harm if total_harm > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            frame["exposure_share"] > 0,
            frame["exposure_share"] / frame["harm_share"],
            0.0,
        )
    frame["ratio"] = ratio
    frame["flagged"] = frame["exposure_share"] > factor * frame["harm_share"]
    if names is not None:
        frame.insert(0, "name", names.reindex(areas))
    frame.index.name = "area"
    cols = [c for c in ("name",) if c in frame.columns] + [
        "exposure_km2h",
        "exposure_share",
        "harm",
        "harm_share",
        "ratio",
        "flagged",
    ]
    return frame[cols].sort_values("ratio", ascending=False)


def harm_to_areas(harm: pd.Series, sources: Any, target: Any) -> pd.Series:
    """Re-aggregate harm per source area (e.g. LSOA) to target areas (e.g. wards): each source
    area's harm goes to the target area containing its representative point (a point inside
    the polygon). Source areas missing from ``sources`` or outside every target are dropped.
    """
    index = sources.index_of(list(harm.index))
    known = index >= 0
    points = np.asarray(sources.centroids)[index[known]]
    where = target.assign(points[:, 0], points[:, 1]) if len(points) else np.zeros(0, int)
    values = harm.to_numpy(dtype=float)[known]
    ok = where >= 0
    sums = np.bincount(where[ok], weights=values[ok], minlength=target.n_units)
    return pd.Series(sums, index=pd.Index(list(target.ids), name="area"), name="harm")
