"""A fairness audit of any place-based forecast (ours or a vendor's): who lives where it points.

Input: areas with a prediction (or patrol) count each and population counts by group each.
Shares are *pooled*: sums over areas, never means of per-area percentages.

Windows of areas. Areas are ranked by count, highest first. A window is ``w`` consecutive rank
positions, ``w = max(1, round(window_share * n))`` (about 5% of areas): the most-targeted
window holds positions ``[0, w)``, the least-targeted ``[n - w, n)``, the median window
``[floor((n - w) / 2), floor((n - w) / 2) + w)``. **Ties** are handled explicitly: areas of
equal count form a block that occupies a run of positions, and a window overlapping ``o`` of a
block's ``m`` positions gives every area of the block weight ``o / m``. The result never depends
on the order of the input rows, and the weights of a window always sum to ``w``.

For a group ``g`` and a window ``W`` with weights ``a_i``::

    share_g(W) = sum a_i pop_gi / sum a_i pop_i        (pop_i: the area's total)
    ratio_g(W) = share_g(W) / share_g(jurisdiction)    (1 = the group's jurisdiction share)

``above_median_g`` = the share of group ``g``'s residents living in areas whose count is
strictly above the median count. Concentration: the Lorenz curve of counts over areas (equal
weight per area, ascending), its Gini coefficient ``1 - sum (x_k - x_{k-1})(L_k + L_{k-1})``
and the share of all counts in the most-targeted window (top 5% of areas, ties as above).

Margins of error (ACS-style 90% MOEs per group, optionally of the total): sums take
``sqrt(sum (a_i moe_i)²)``; a share ``p = G / T`` takes the Census Bureau's proportion formula
``sqrt(MOE_G² - p² MOE_T²) / T`` (with ``+`` where the radicand is negative). The ratio's
interval divides the window share's bounds by the jurisdiction share's opposite bounds, and the
**conservative** figure is the bound nearest 1 (1 itself if the interval holds it), as published
audits report (e.g. The Markup and Gizmodo on PredPol, 2021).

Income groups: given a numeric income column, areas are cut into ``income_groups`` quantile
groups of (nearly) equal numbers of areas by rank of income (ties by row order after sorting on
the area id), and each area's residents count in its group.

The audit describes targeting; it does not by itself show that targeting is unjustified (harm
is unevenly spread too). Read it beside exposure against harm (:mod:`~.fairness`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from patrolcast.errors import InputError

__all__ = [
    "FairnessAudit",
    "audit_forecast",
    "concentration",
    "count_points_in_areas",
    "read_audit_areas",
    "window_weights",
]

FloatArray = npt.NDArray[np.float64]
WINDOWS = ("most", "median", "least")


def window_weights(counts: npt.ArrayLike, start: int, size: int) -> FloatArray:
    """Weight of each area in rank positions ``[start, start + size)`` (highest count first),
    ties sharing the positions of their block equally (module docstring)."""
    c = np.asarray(counts, dtype=float)
    n = c.size
    if not (start >= 0 and size >= 1 and start + size <= n):
        raise InputError(f"window [{start}, {start + size}) does not fit {n} areas")
    values, inverse, sizes = np.unique(-c, return_inverse=True, return_counts=True)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    overlap = np.clip(np.minimum(first + sizes, start + size) - np.maximum(first, start), 0, None)
    return (overlap / sizes)[inverse].astype(float)


def _windows(counts: FloatArray, share: float) -> tuple[int, dict[str, FloatArray]]:
    n = counts.size
    w = max(1, int(round(share * n)))
    return w, {
        "most": window_weights(counts, 0, w),
        "median": window_weights(counts, (n - w) // 2, w),
        "least": window_weights(counts, n - w, w),
    }


def concentration(counts: npt.ArrayLike, *, window_share: float = 0.05) -> dict[str, Any]:
    """Lorenz curve, Gini coefficient and the top-window share of counts over areas."""
    c = np.asarray(counts, dtype=float)
    if c.size == 0 or (c < 0).any() or not np.isfinite(c).all():
        raise InputError("counts must be finite, non-negative, and at least one area")
    total = c.sum()
    asc = np.sort(c)
    x = np.arange(c.size + 1) / c.size
    lorenz = np.concatenate([[0.0], np.cumsum(asc) / total]) if total > 0 else x.copy()
    gini = float(1.0 - np.sum(np.diff(x) * (lorenz[1:] + lorenz[:-1])))
    w, wins = _windows(c, window_share)
    top = float((wins["most"] * c).sum() / total) if total > 0 else 0.0
    return {"gini": gini, "top_window_areas": w, "top_window_share": top,
            "lorenz_x": x.tolist(), "lorenz_y": lorenz.tolist()}  # fmt: skip


@dataclass(frozen=True)
class FairnessAudit:
    """The audit's tables: ``groups`` (one row per population group), ``income`` (one row per
    income group, if given), ``concentration`` and the window sizes, with notes."""

    n_areas: int
    window_areas: int
    groups: pd.DataFrame
    income: pd.DataFrame | None
    concentration: dict[str, Any]
    ties: dict[str, int]
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        def records(df: pd.DataFrame | None) -> list[dict[str, Any]] | None:
            if df is None:
                return None
            return [
                {"group": str(k), **{str(c): _plain(v) for c, v in row.items()}}
                for k, row in df.iterrows()
            ]

        return {
            "n_areas": self.n_areas,
            "window_areas": self.window_areas,
            "groups": records(self.groups),
            "income": records(self.income),
            "concentration": self.concentration,
            "ties": self.ties,
            "notes": list(self.notes),
        }


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _share_moe(g: float, moe_g: float, t: float, moe_t: float) -> float:
    if t <= 0:
        return float("nan")
    p = g / t
    rad = moe_g**2 - p * p * moe_t**2
    if rad < 0:
        rad = moe_g**2 + p * p * moe_t**2
    return math.sqrt(rad) / t


def _group_table(
    counts: FloatArray, pops: pd.DataFrame, total: FloatArray, wins: dict[str, FloatArray],
    moes: pd.DataFrame | None, total_moe: FloatArray | None,
) -> pd.DataFrame:  # fmt: skip
    median = float(np.median(counts))
    above = counts > median
    rows = {}
    for g in pops.columns:
        pg = pops[g].to_numpy(float)
        mg = None if moes is None else moes[g].to_numpy(float)
        jur = pg.sum() / total.sum()
        row: dict[str, float] = {"population": float(pg.sum()), "jurisdiction_share": jur,
                                 "above_median_share": float(pg[above].sum() / pg.sum())
                                 if pg.sum() > 0 else float("nan")}  # fmt: skip
        mt = np.zeros_like(total)
        if mg is not None and moes is not None:
            mt = (np.sqrt((moes.to_numpy(float) ** 2).sum(axis=1)) if total_moe is None
                  else total_moe)  # fmt: skip
            jm = _share_moe(pg.sum(), math.sqrt((mg**2).sum()), total.sum(),
                            math.sqrt((mt**2).sum()))
            row["jurisdiction_low"], row["jurisdiction_high"] = max(jur - jm, 0), min(jur + jm, 1)
        for name, a in wins.items():
            share = float((a * pg).sum() / (a * total).sum()) if (a * total).sum() > 0 else 0.0
            row[f"{name}_share"] = share
            row[f"{name}_ratio"] = share / jur if jur > 0 else float("nan")
            if mg is not None:
                m = _share_moe((a * pg).sum(), math.sqrt(((a * mg) ** 2).sum()),
                               (a * total).sum(), math.sqrt(((a * mt) ** 2).sum()))
                lo, hi = max(share - m, 0.0), min(share + m, 1.0)
                jlo, jhi = row["jurisdiction_low"], row["jurisdiction_high"]
                rlo = lo / jhi if jhi > 0 else float("nan")
                rhi = hi / jlo if jlo > 0 else float("inf")
                row[f"{name}_share_low"], row[f"{name}_share_high"] = lo, hi
                row[f"{name}_ratio_low"], row[f"{name}_ratio_high"] = rlo, rhi
                row[f"{name}_ratio_conservative"] = (
                    1.0 if rlo <= 1.0 <= rhi else (rlo if rlo > 1.0 else rhi)
                )
        rows[g] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def audit_forecast(
    frame: pd.DataFrame,
    *,
    count: str,
    groups: Sequence[str],
    area_id: str | None = None,
    total: str | None = None,
    moe: dict[str, str] | None = None,
    total_moe: str | None = None,
    income: str | None = None,
    income_groups: int = 5,
    window_share: float = 0.05,
) -> FairnessAudit:
    """Audit one forecast (module docstring). Column names are the caller's.

    Parameters
    ----------
    frame : one row per area.
    count : the prediction (or patrol) count per area.
    groups : population columns, one per group (e.g. ``["white", "black", "hispanic"]``).
    area_id : the area id column (sorts the input, so row order never matters).
    total : the total population column; default: the sum of ``groups`` (say so if they do
        not cover everyone).
    moe : margin-of-error column per group (90% MOEs, as the ACS publishes them).
    total_moe : margin of error of ``total``.
    income : a numeric income column, cut into ``income_groups`` quantile groups.
    window_share : the window size as a share of areas (default 5%).
    """
    groups = list(groups)
    needed = [count, *groups] + ([total] if total else []) + ([area_id] if area_id else [])
    needed += list((moe or {}).values()) + ([total_moe] if total_moe else [])
    needed += [income] if income else []
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"the areas lack columns {', '.join(missing)}")
    if not groups:
        raise InputError("give at least one population group column")
    if moe is not None and set(moe) != set(groups):
        raise InputError("give a margin-of-error column for every group, or none")
    if total_moe and not total:
        raise InputError("a total margin of error needs the total column")
    if not 0 < window_share <= 0.5:
        raise InputError("window_share must lie in (0, 0.5]")
    df = frame.sort_values(area_id, kind="stable") if area_id else frame
    numeric = [count, *groups] + ([total] if total else [])
    values = df[numeric].apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any() or (values < 0).any().any():
        raise InputError("counts and populations must be non-negative numbers in every area")
    counts = values[count].to_numpy(float)
    pops = values[groups]
    tot = values[total].to_numpy(float) if total else pops.sum(axis=1).to_numpy(float)
    if tot.sum() <= 0:
        raise InputError("the areas hold no population")
    if ((pops.sum(axis=1).to_numpy(float) - tot) > 1e-9 * max(1.0, tot.max())).any():
        raise InputError("group populations exceed the total in some area")
    w, wins = _windows(counts, window_share)
    moes = (df[[moe[g] for g in groups]].apply(pd.to_numeric, errors="coerce")
            .set_axis(groups, axis=1) if moe else None)  # fmt: skip
    if moes is not None and (moes.isna().any().any() or (moes < 0).any().any()):
        raise InputError("margins of error must be non-negative numbers")
    tmoe = (pd.to_numeric(df[total_moe], errors="coerce").to_numpy(float)
            if total_moe else None)  # fmt: skip
    table = _group_table(counts, pops, tot, wins, moes, tmoe)
    notes = [f"windows of {w} of {counts.size} areas (about {window_share:.0%}); tied counts "
             "share their rank positions equally"]  # fmt: skip
    if not total:
        notes.append("total population = the sum of the group columns")
    income_table = None
    if income:
        inc = pd.to_numeric(df[income], errors="coerce")
        if inc.isna().any():
            raise InputError(f"income column {income!r} has missing or non-numeric values")
        if not 2 <= income_groups <= counts.size:
            raise InputError("income_groups must be between 2 and the number of areas")
        ranks = inc.rank(method="first").to_numpy()
        q = np.minimum((ranks - 1) * income_groups // counts.size, income_groups - 1).astype(int)
        labels = [f"income Q{k + 1}" + (" (lowest)" if k == 0 else " (highest)"
                                        if k == income_groups - 1 else "")
                  for k in range(income_groups)]  # fmt: skip
        by_income = pd.DataFrame({labels[k]: np.where(q == k, tot, 0.0)
                                  for k in range(income_groups)})  # fmt: skip
        income_table = _group_table(counts, by_income, tot, wins, None, None)
    ties = {}
    for name, a in wins.items():
        ties[name] = int(((a > 0) & (a < 1)).sum())
    return FairnessAudit(
        n_areas=int(counts.size), window_areas=w, groups=table, income=income_table,
        concentration=concentration(counts, window_share=window_share), ties=ties,
        notes=tuple(notes),
    )  # fmt: skip


def count_points_in_areas(x: npt.ArrayLike, y: npt.ArrayLike, areas: Any) -> FloatArray:
    """Prediction points per area of an :class:`~patrolcast.geo.support.AreaSupport`."""
    unit = np.asarray(areas.assign(x, y))
    return np.bincount(unit[unit >= 0], minlength=areas.n_units).astype(float)


def read_audit_areas(path: Path, *, layer: str | None = None) -> pd.DataFrame:
    """Attributes of a GeoJSON or GeoPackage of areas (geometry kept as ``geometry``)."""
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if path.suffix.lower() not in (".geojson", ".json", ".gpkg"):
        raise InputError("give areas as GeoJSON (.geojson) or GeoPackage (.gpkg)")
    try:
        frame = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises many kinds
        raise InputError(f"cannot read areas from {path}: {exc}") from None
    return pd.DataFrame(frame)
