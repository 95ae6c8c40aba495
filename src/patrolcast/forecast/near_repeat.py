"""Near-repeat analysis: the Knox test over space and time bands with Monte Carlo significance.

For every pair of events the test notes how far apart they are in space and in time, and counts
the pairs in each (space band, time band) cell of a table. It then shuffles the event times
among the event places (``permutations`` times, seeded), which keeps both the spatial pattern and
the time series but breaks any link between them, and recounts. The Knox ratio of a cell is the
observed count over the mean count under shuffling; its p-value is
``(1 + #{shuffles with count >= observed}) / (permutations + 1)``. A ratio well above 1 in the
near-in-space, near-in-time cells is the near-repeat pattern: after an incident, the risk of
another stays raised nearby for a while (Knox 1964; Johnson et al. 2007; Ratcliffe & Rengert
2008 for shootings in Philadelphia, with the Near Repeat Calculator's bands and permutations).

Bands are half-open: ``[0, 100)``, ``[100, 200)``, ``[200, 400)`` metres and ``>= 400`` m
("beyond"); ``[0, 7)``, ``[7, 14)``, ``[14, 28)`` days and ``>= 28`` days. With day-precision
data, time differences are whole days (so "0-7 days" holds 0 to 6 days apart).

Options the Near Repeat Calculator and R's ``NearRepeat`` package offer: Manhattan distance
(``metric="manhattan"``, ``|dx| + |dy|``, for street grids); a *same location* band for pairs
0 m apart (``same_location=True``; the first distance band then starts just above 0);
distance bands read in blocks (``block_length``: the edges are given in blocks and the labels
say so); time bands in hours (``time_unit="hours"``, only for data with times of day). The
table can be written in the Calculator's layout (:meth:`KnoxResult.to_nrc_csv`), with
significance at 0.05 and 0.01 marked.

Speed: only pairs closer than the largest space edge are listed (a KD-tree,
:meth:`scipy.spatial.cKDTree.query_pairs`). Shuffling times changes neither the number of pairs
per space band nor per time band, so the "beyond" row follows by subtraction from the time-band
totals of all ``n (n - 1) / 2`` pairs (counted on sorted times). Each shuffle then recounts only
the close pairs, in a numba kernel; :func:`count_close_pairs_reference` is its plain numpy twin
and :func:`knox_reference` the whole test over all pairs, for tests.

References
----------
Knox, E. G. (1964). The detection of space-time interactions. *Journal of the Royal Statistical
Society C* 13(1), 25-30.
Johnson, S. D., Bernasco, W., Bowers, K. J., et al. (2007). Space-time patterns of risk: a
cross-national assessment of residential burglary victimization. *Journal of Quantitative
Criminology* 23, 201-219.
Ratcliffe, J. H., & Rengert, G. F. (2008). Near-repeat patterns in Philadelphia shootings.
*Security Journal* 21(1-2), 58-76.
Ratcliffe, J. H. (2009). Near Repeat Calculator (version 1.3). Temple University.
Rey, S. J., et al. PySAL ``pointpats.spacetime`` (Knox statistic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from patrolcast.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "KnoxResult",
    "knox_test",
    "knox_reference",
    "count_close_pairs",
    "count_close_pairs_reference",
    "plot_knox",
]

DEFAULT_SPACE_BANDS = (0.0, 100.0, 200.0, 400.0)
DEFAULT_TIME_BANDS = (0.0, 7.0, 14.0, 28.0)


def _check_edges(edges: tuple[float, ...], what: str) -> tuple[float, ...]:
    e = tuple(float(v) for v in edges)
    if len(e) < 2 or e[0] != 0.0 or any(b <= a for a, b in zip(e, e[1:], strict=False)):
        raise InputError(f"{what} bands must start at 0 and increase, e.g. 0,100,200,400; got {e}")
    return e


def _band_labels(edges: tuple[float, ...], unit: str, scale: float = 1.0) -> list[str]:
    def fmt(v: float) -> str:
        return f"{v * scale:.4g}"

    labels = [f"{fmt(a)}-{fmt(b)} {unit}" for a, b in zip(edges, edges[1:], strict=False)]
    return [*labels, f">= {fmt(edges[-1])} {unit}"]


SAME_LOCATION_M = 0.5  # pairs closer than this are "the same location" (snapped coordinates)


def _space_rows(d: FloatArray, edges: tuple[float, ...], same_location: bool) -> IntArray:
    """Row of each pair distance: [same location,] close bands, then the beyond row."""
    rows = np.searchsorted(np.asarray(edges), d, side="right") - 1
    rows = np.minimum(rows, len(edges) - 1)  # beyond the last edge: the beyond row
    if same_location:
        rows = np.where(d < SAME_LOCATION_M, 0, rows + 1)
    return rows.astype(np.int64)


def _distances(xa: FloatArray, ya: FloatArray, i: IntArray, j: IntArray, metric: str) -> FloatArray:
    dx, dy = np.abs(xa[i] - xa[j]), np.abs(ya[i] - ya[j])
    return np.asarray(dx + dy if metric == "manhattan" else np.hypot(dx, dy), dtype=np.float64)


@numba.njit(cache=True)
def _count_close_pairs(
    ti: FloatArray, tj: FloatArray, sband: IntArray, time_edges: FloatArray, n_space: int
) -> IntArray:
    n_time = time_edges.shape[0]  # bands: [e0,e1) ... [e_{k-1}, inf): k bands
    out = np.zeros((n_space, n_time), dtype=np.int64)
    for k in range(ti.shape[0]):
        dt = abs(tj[k] - ti[k])
        b = n_time - 1
        for q in range(1, n_time):
            if dt < time_edges[q]:
                b = q - 1
                break
        out[sband[k], b] += 1
    return out


@numba.njit(cache=True)
def _count_close_pairs_indexed(
    times: FloatArray, i: IntArray, j: IntArray, sband: IntArray, time_edges: FloatArray,
    n_space: int,
) -> IntArray:  # fmt: skip
    n_time = time_edges.shape[0]
    out = np.zeros((n_space, n_time), dtype=np.int64)
    for k in range(i.shape[0]):
        dt = abs(times[j[k]] - times[i[k]])
        b = n_time - 1
        for q in range(1, n_time):
            if dt < time_edges[q]:
                b = q - 1
                break
        out[sband[k], b] += 1
    return out


def count_close_pairs(
    ti: FloatArray, tj: FloatArray, sband: IntArray, time_edges: FloatArray, n_space: int
) -> IntArray:
    """Pairs per (space band, time band) for close pairs with times ``ti``, ``tj`` (numba)."""
    result: IntArray = _count_close_pairs(ti, tj, sband, time_edges, n_space)
    return result


def count_close_pairs_reference(
    ti: FloatArray, tj: FloatArray, sband: IntArray, time_edges: FloatArray, n_space: int
) -> IntArray:
    """Plain numpy twin of :func:`count_close_pairs`."""
    n_time = len(time_edges)
    tband = np.searchsorted(time_edges, np.abs(tj - ti), side="right") - 1
    flat = sband * n_time + np.minimum(tband, n_time - 1)
    return np.bincount(flat, minlength=n_space * n_time).reshape(n_space, n_time).astype(np.int64)


def _time_band_totals(t: FloatArray, time_edges: FloatArray) -> IntArray:
    """Pairs of all ``n (n - 1) / 2`` per time band, from sorted times."""
    ts = np.sort(t)
    n = ts.size
    idx = np.arange(n)
    below = []  # pairs with |dt| < edge, for each edge after the first
    for e in time_edges[1:]:
        below.append(int(np.sum(np.searchsorted(ts, ts + e, side="left") - idx - 1)))
    cum = np.array([0, *below, n * (n - 1) // 2], dtype=np.int64)
    return np.diff(cum)


@dataclass(frozen=True)
class KnoxResult:
    """A Knox table: observed and expected pairs, ratios and p-values per (space, time) band.

    Rows are space bands (the last is "beyond"), columns time bands (the last is "beyond").
    """

    space_edges: tuple[float, ...]
    time_edges: tuple[float, ...]
    observed: IntArray
    expected: FloatArray
    p_value: FloatArray
    n_events: int
    permutations: int
    seed: int
    time_precision: str
    n_duplicates_dropped: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    metric: str = "euclidean"
    same_location: bool = False
    block_length: float | None = None  # metres per block, when bands are read in blocks
    time_unit: str = "days"

    @property
    def row_outer_edges(self) -> list[float]:
        """Outer distance edge (metres) of each close row (0 for the same-location row)."""
        outer = list(self.space_edges[1:])
        return [0.0, *outer] if self.same_location else outer

    @property
    def ratio(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, self.observed / self.expected, np.nan)

    @property
    def space_labels(self) -> list[str]:
        if self.block_length:
            labels = _band_labels(self.space_edges, "blocks", 1.0 / self.block_length)
        else:
            labels = _band_labels(self.space_edges, "m")
        if self.metric == "manhattan":
            labels = [f"{lb} (Manhattan)" for lb in labels]
        return ["same location", *labels] if self.same_location else labels

    @property
    def time_labels(self) -> list[str]:
        if self.time_unit == "hours":
            return _band_labels(self.time_edges, "hours", 24.0)
        return _band_labels(self.time_edges, "days")

    def band_of(self, distance: float, days: float) -> tuple[int, int]:
        """Row and column of the band holding a pair ``distance`` metres and ``days`` apart."""
        s = int(_space_rows(np.array([float(distance)]), self.space_edges, self.same_location)[0])
        k = int(np.searchsorted(self.time_edges, days, side="right")) - 1
        return s, min(k, len(self.time_edges) - 1)

    def significance(self, s: int, k: int) -> str:
        """``**`` if p < 0.01, ``*`` if p < 0.05 (and the ratio above 1), else empty."""
        r, p = self.ratio[s, k], self.p_value[s, k]
        if not np.isfinite(r) or r <= 1.0:
            return ""
        return "**" if p < 0.01 else "*" if p < 0.05 else ""

    def _nrc_distance_labels(self) -> list[str]:
        """Distance rows as the Near Repeat Calculator writes them ("1 to 100", "More than")."""
        scale = 1.0 / self.block_length if self.block_length else 1.0
        unit = "blocks" if self.block_length else "m"
        out = ["Same location"] if self.same_location else []
        for a, b in zip(self.space_edges, self.space_edges[1:], strict=False):
            lo = a * scale if (a > 0 or self.same_location) else 0.0
            out.append(f"{lo:.4g} to {b * scale:.4g} {unit}")
        return [*out, f"More than {self.space_edges[-1] * scale:.4g} {unit}"]

    def _nrc_time_labels(self) -> list[str]:
        scale, unit = (24.0, "hours") if self.time_unit == "hours" else (1.0, "days")
        out = []
        for a, b in zip(self.time_edges, self.time_edges[1:], strict=False):
            if self.time_precision == "day" and unit == "days":  # whole days: inclusive ends
                out.append(f"{a:g} to {b - 1:g} {unit}")
            else:
                out.append(f"{a * scale:g} to {b * scale:g} {unit}")
        return [*out, f"More than {self.time_edges[-1] * scale:g} {unit}"]

    def to_nrc_csv(self) -> str:
        """The table in the Near Repeat Calculator's output layout (CSV).

        Four blocks, each with distance rows and time columns: observed frequencies, mean of
        the Monte Carlo frequencies, Knox ratios (``*`` p < 0.05, ``**`` p < 0.01), and
        p-values; then the settings. Cells are plain numbers or labels, never formulas.
        """
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        rows, cols = self._nrc_distance_labels(), self._nrc_time_labels()
        blocks = [
            ("Observed frequencies", lambda s, k: str(int(self.observed[s, k]))),
            ("Mean of Monte Carlo frequencies", lambda s, k: f"{self.expected[s, k]:.2f}"),
            ("Knox ratios", lambda s, k: "-" if not np.isfinite(self.ratio[s, k])
             else f"{self.ratio[s, k]:.2f}{self.significance(s, k)}"),
            ("Statistical significance (p-values)", lambda s, k: f"{self.p_value[s, k]:.3f}"),
        ]  # fmt: skip
        for title, cell in blocks:
            w.writerow([title])
            w.writerow(["Distance", *cols])
            for s, label in enumerate(rows):
                w.writerow([label, *(cell(s, k) for k in range(len(cols)))])
            w.writerow([])
        w.writerow(["Significance", "* p < 0.05", "** p < 0.01"])
        w.writerow(["Events", self.n_events, "Duplicates dropped", self.n_duplicates_dropped])
        w.writerow(["Iterations", self.permutations, "Seed", self.seed])
        w.writerow(["Distance", self.metric, "Time precision", self.time_precision])
        return buf.getvalue()

    def to_dict(self) -> dict[str, Any]:
        ratio = self.ratio
        cells = []
        for s, sl in enumerate(self.space_labels):
            for k, tl in enumerate(self.time_labels):
                r = ratio[s, k]
                cells.append(
                    {
                        "space_band": sl,
                        "time_band": tl,
                        "observed": int(self.observed[s, k]),
                        "expected": float(self.expected[s, k]),
                        "ratio": None if math.isnan(r) else float(r),
                        "p_value": float(self.p_value[s, k]),
                        "significance": self.significance(s, k),
                    }
                )
        return {
            "test": "knox",
            "n_events": self.n_events,
            "duplicates_dropped": self.n_duplicates_dropped,
            "permutations": self.permutations,
            "seed": self.seed,
            "time_precision": self.time_precision,
            "space_edges_m": list(self.space_edges),
            "time_edges_days": list(self.time_edges),
            "metric": self.metric,
            "same_location": self.same_location,
            "block_length_m": self.block_length,
            "time_unit": self.time_unit,
            "cells": cells,
            **self.meta,
        }

    def to_markdown(self) -> str:
        """Ratio table, one row per space band; ``*`` p < 0.05, ``**`` p < 0.01."""
        head = "| distance | " + " | ".join(self.time_labels) + " |"
        rule = "|---|" + "---|" * len(self.time_labels)
        rows = [head, rule]
        for s, sl in enumerate(self.space_labels):
            cells = [
                _fmt_cell(self.ratio[s, k], self.p_value[s, k])
                for k in range(len(self.time_labels))
            ]
            rows.append(f"| {sl} | " + " | ".join(cells) + " |")
        return "\n".join(rows)


def _fmt_cell(ratio: float, p: float) -> str:
    if math.isnan(ratio):
        return "-"
    star = "**" if p < 0.01 else "*" if p < 0.05 else ""
    return f"{ratio:.2f}{star}"


def _prepare(
    t: npt.ArrayLike, x: npt.ArrayLike, y: npt.ArrayLike, time_precision: str, deduplicate: bool
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    ta = np.asarray(t, dtype=np.float64)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if not (ta.shape == xa.shape == ya.shape) or ta.ndim != 1:
        raise InputError("t, x and y must be one-dimensional arrays of the same length")
    ok = np.isfinite(ta) & np.isfinite(xa) & np.isfinite(ya)
    ta, xa, ya = ta[ok], xa[ok], ya[ok]
    if time_precision == "month":
        raise InputError("the Knox test needs day or minute precision times, not months")
    if time_precision == "day":
        ta = np.round(ta)  # local midnights stored in UTC: whole days apart
    dropped = 0
    if deduplicate and ta.size:
        stacked = np.unique(np.column_stack([ta, xa, ya]), axis=0)
        dropped = ta.size - stacked.shape[0]
        ta, xa, ya = stacked[:, 0].copy(), stacked[:, 1].copy(), stacked[:, 2].copy()
    if ta.size < 3:
        raise InputError(f"the Knox test needs at least 3 events, got {ta.size}")
    return ta, xa, ya, dropped


def knox_test(
    t: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    space_bands: tuple[float, ...] = DEFAULT_SPACE_BANDS,
    time_bands: tuple[float, ...] = DEFAULT_TIME_BANDS,
    permutations: int = 999,
    seed: int = 0,
    time_precision: str = "minute",
    deduplicate: bool = True,
    metric: str = "euclidean",
    same_location: bool = False,
    block_length: float | None = None,
    time_unit: str = "days",
    engine: str = "numba",
) -> KnoxResult:
    """Knox test of space-time interaction with Monte Carlo permutation of times.

    Parameters
    ----------
    t : event times, days (e.g. since the epoch); x, y : metres in one projected CRS.
    space_bands, time_bands : band edges, starting at 0 (metres, days); a "beyond" band follows.
    permutations : number of shuffles of the times (99, 999, ...).
    seed : seed of the shuffles.
    time_precision : ``"day"`` rounds times to whole days; ``"month"`` is refused.
    deduplicate : drop records with identical time and place first (several victims of one
        incident would otherwise look like a perfect near repeat).
    metric : ``"euclidean"`` or ``"manhattan"`` distance.
    same_location : add a first row for pairs at the same place (closer than 0.5 m).
    block_length : metres per block: ``space_bands`` are then given in blocks.
    time_unit : ``"days"`` or ``"hours"`` (the unit of ``time_bands``; hours need times of day).
    engine : ``"numba"`` or ``"reference"`` (plain numpy recount).
    """
    sp, te = _options(space_bands, time_bands, metric, block_length, time_unit, time_precision)
    if not (isinstance(permutations, int) and permutations >= 1):
        raise InputError(f"permutations must be a positive integer, got {permutations!r}")
    if engine not in ("numba", "reference"):
        raise InputError(f"unknown engine {engine!r}: use numba or reference")
    ta, xa, ya, dropped = _prepare(t, x, y, time_precision, deduplicate)
    n_space = len(sp) + (1 if same_location else 0)  # rows, the beyond row included
    tree = cKDTree(np.column_stack([xa, ya]))
    pairs = tree.query_pairs(r=sp[-1], p=1.0 if metric == "manhattan" else 2.0,
                             output_type="ndarray")  # fmt: skip
    i, j = pairs[:, 0], pairs[:, 1]
    d = _distances(xa, ya, i, j, metric)
    keep = d < sp[-1]
    i, j, d = i[keep], j[keep], d[keep]
    sband = _space_rows(d, sp, same_location)
    edges = np.asarray(te, dtype=np.float64)
    totals = _time_band_totals(ta, edges)
    i = np.ascontiguousarray(i, dtype=np.int64)
    j = np.ascontiguousarray(j, dtype=np.int64)

    def table(times: FloatArray) -> IntArray:
        if engine == "numba":  # indexes the shuffled times in place: no per-shuffle copies
            close = _count_close_pairs_indexed(times, i, j, sband, edges, n_space - 1)
        else:
            close = count_close_pairs_reference(times[i], times[j], sband, edges, n_space - 1)
        return np.vstack([close, totals - close.sum(axis=0)])

    observed = table(ta)
    rng = np.random.default_rng(seed)
    total = np.zeros(observed.shape, dtype=np.float64)
    at_least = np.zeros(observed.shape, dtype=np.int64)
    for _ in range(permutations):
        sim = table(ta[rng.permutation(ta.size)])
        total += sim
        at_least += sim >= observed
    return KnoxResult(
        space_edges=sp,
        time_edges=te,
        observed=observed,
        expected=total / permutations,
        p_value=np.asarray((1.0 + at_least) / (permutations + 1.0), dtype=np.float64),
        n_events=int(ta.size),
        permutations=permutations,
        seed=seed,
        time_precision=time_precision,
        n_duplicates_dropped=dropped,
        metric=metric,
        same_location=same_location,
        block_length=block_length,
        time_unit=time_unit,
    )


def _options(
    space_bands: tuple[float, ...],
    time_bands: tuple[float, ...],
    metric: str,
    block_length: float | None,
    time_unit: str,
    time_precision: str,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Checked band edges in metres and days."""
    if metric not in ("euclidean", "manhattan"):
        raise InputError(f"unknown distance {metric!r}: use euclidean or manhattan")
    if time_unit not in ("days", "hours"):
        raise InputError(f"unknown time unit {time_unit!r}: use days or hours")
    if time_unit == "hours" and time_precision == "day":
        raise InputError("time bands in hours need times of day; these data have dates only")
    if block_length is not None and not (math.isfinite(block_length) and block_length > 0):
        raise InputError(f"block length must be a positive number of metres, got {block_length}")
    sp = _check_edges(space_bands, "space")
    te = _check_edges(time_bands, "time")
    if block_length is not None:
        sp = tuple(v * block_length for v in sp)
    if time_unit == "hours":
        te = tuple(v / 24.0 for v in te)
    return sp, te


def knox_reference(
    t: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    space_bands: tuple[float, ...] = DEFAULT_SPACE_BANDS,
    time_bands: tuple[float, ...] = DEFAULT_TIME_BANDS,
    permutations: int = 99,
    seed: int = 0,
    time_precision: str = "minute",
    deduplicate: bool = True,
    metric: str = "euclidean",
    same_location: bool = False,
    block_length: float | None = None,
    time_unit: str = "days",
) -> KnoxResult:
    """The whole Knox test over all ``n (n - 1) / 2`` pairs in plain numpy (small inputs only).

    Uses the same seeded shuffles as :func:`knox_test`, so both give identical tables.
    """
    sp, te = _options(space_bands, time_bands, metric, block_length, time_unit, time_precision)
    ta, xa, ya, dropped = _prepare(t, x, y, time_precision, deduplicate)
    iu, ju = np.triu_indices(ta.size, k=1)
    d = _distances(xa, ya, iu, ju, metric)
    n_rows = len(sp) + (1 if same_location else 0)
    srow = np.where(d >= sp[-1], n_rows - 1, _space_rows(d, sp, same_location))

    def table(times: FloatArray) -> IntArray:
        dt = np.abs(times[iu] - times[ju])
        tcol = np.searchsorted(np.asarray(te), dt, side="right") - 1
        flat = srow * len(te) + tcol
        return np.bincount(flat, minlength=n_rows * len(te)).reshape(n_rows, len(te))

    observed = table(ta)
    rng = np.random.default_rng(seed)
    total = np.zeros(observed.shape)
    at_least = np.zeros(observed.shape, dtype=np.int64)
    for _ in range(permutations):
        sim = table(ta[rng.permutation(ta.size)])
        total += sim
        at_least += sim >= observed
    return KnoxResult(
        space_edges=sp,
        time_edges=te,
        observed=observed.astype(np.int64),
        expected=total / permutations,
        p_value=np.asarray((1.0 + at_least) / (permutations + 1.0), dtype=np.float64),
        n_events=int(ta.size),
        permutations=permutations,
        seed=seed,
        time_precision=time_precision,
        n_duplicates_dropped=dropped,
        metric=metric,
        same_location=same_location,
        block_length=block_length,
        time_unit=time_unit,
    )


def plot_knox(result: KnoxResult, path: Path, title: str = "Knox ratios") -> Path:
    """Heatmap of Knox ratios (observed / expected), p-values marked; saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    ratio = result.ratio
    finite = ratio[np.isfinite(ratio)]
    vmax = max(2.0, float(finite.max()) if finite.size else 2.0)
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    im = ax.imshow(
        np.nan_to_num(ratio, nan=1.0),
        cmap="RdBu_r",
        norm=TwoSlopeNorm(vcenter=1.0, vmin=0.0, vmax=vmax),
        aspect="auto",
    )
    for s in range(ratio.shape[0]):
        for k in range(ratio.shape[1]):
            ax.text(
                k,
                s,
                _fmt_cell(ratio[s, k], result.p_value[s, k]),
                ha="center",
                va="center",
                fontsize=9,
            )
    ax.set_xticks(range(len(result.time_labels)), result.time_labels, fontsize=8)
    ax.set_yticks(range(len(result.space_labels)), result.space_labels, fontsize=8)
    ax.set_xlabel("time between events")
    ax.set_ylabel("distance between events")
    ax.set_title(
        f"{title}\n{result.n_events} events, {result.permutations} permutations; "
        "* p<0.05 ** p<0.01",
        fontsize=9,
    )
    fig.colorbar(im, ax=ax, label="observed / expected")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
