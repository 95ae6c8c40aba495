"""Nonparametric (histogram) triggering kernel of the ETAS model (private).

The triggering density of an event is piecewise constant in time lag and distance: a weight
``w[k, l]`` per time bin ``k`` and distance ring ``l`` (the weights sum to one), spread evenly
over the bin's days and the ring's area,

.. math::

    g(\\Delta t, d) = \\frac{w_{kl}}{(t_{k+1} - t_k) \\, \\pi (r_{l+1}^2 - r_l^2)}.

It is estimated together with the background by expectation-maximisation over the branching
structure: model-independent stochastic declustering (Marsan & Lengliné 2008; MISD, Mohler et
al. 2011, section 3): each E-step gives every pair within the cut-offs its probability of being
parent and child, and the M-step sets each bin's weight to the expected number of offspring
falling in it over the expected exposure of the parents to that time bin (parents near the end
of the data have seen only part of their kernel), the branching ratio to the expected number of
offspring per parent. The E-step is plain numpy over the listed pairs (no accelerated path).

References
----------
Marsan, D., & Lengliné, O. (2008). Extending earthquakes' reach through cascading. *Science*
319(5866), 1076-1079.
Mohler, G. O., Short, M. B., Brantingham, P. J., Schoenberg, F. P., & Tita, G. E. (2011).
Self-exciting point process modeling of crime. *JASA* 106(493), 100-108.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["HistogramKernel", "default_edges", "estep_histogram", "ring_cell_mass"]

TIME_EDGES = (0.0, 1.0, 3.0, 7.0, 14.0, 28.0)  # days; the cut-off closes the last bin
SPACE_EDGES = (0.0, 50.0, 100.0, 200.0, 400.0, 700.0)  # metres; the cut-off closes the last


def default_edges(
    edges: tuple[float, ...] | None, defaults: tuple[float, ...], cutoff: float, what: str
) -> FloatArray:
    """Bin edges from 0 to ``cutoff``: the given ones, or the defaults below the cut-off."""
    base = np.asarray(defaults if edges is None else edges, dtype=np.float64)
    if edges is not None:
        if base.size < 2 or base[0] != 0.0 or np.any(np.diff(base) <= 0):
            raise ValueError(f"{what} edges must start at 0 and increase, got {edges!r}")
        if base[-1] > cutoff + 1e-9:
            raise ValueError(f"{what} edges must end at or before the cut-off {cutoff:g}")
    base = base[base < cutoff - 1e-9]
    return np.concatenate([base, [float(cutoff)]])


@dataclass(frozen=True)
class HistogramKernel:
    """Weights per time bin and distance ring (summing to one), with the bins' edges."""

    time_edges: FloatArray
    space_edges: FloatArray
    weights: FloatArray  # (time bins, rings)

    @property
    def time_width(self) -> FloatArray:
        return np.diff(self.time_edges)

    @property
    def ring_area(self) -> FloatArray:
        r = self.space_edges
        return np.asarray(np.pi * (r[1:] ** 2 - r[:-1] ** 2), dtype=np.float64)

    @property
    def density(self) -> FloatArray:
        """Triggering density per day per square metre in each bin (time bins, rings)."""
        return np.asarray(
            self.weights / (self.time_width[:, None] * self.ring_area[None, :]), dtype=np.float64
        )

    def bin_of(self, dt: FloatArray, d: FloatArray) -> IntArray:
        """Flat bin index (time bin * rings + ring) of each lag and distance; -1 outside."""
        k = np.searchsorted(self.time_edges, dt, side="right") - 1
        ring = np.searchsorted(self.space_edges, d, side="right") - 1
        nt, ns = self.weights.shape
        k = np.where(dt == self.time_edges[-1], nt - 1, k)  # the cut-off itself is inside
        ring = np.where(d == self.space_edges[-1], ns - 1, ring)
        ok = (k >= 0) & (k < nt) & (ring >= 0) & (ring < ns) & (dt > 0)
        return np.where(ok, k * ns + ring, -1).astype(np.int64)

    def time_fraction(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Share of each time bin's days inside the lag interval ``[a_i, b_i]`` (n, bins)."""
        lo, hi = self.time_edges[:-1][None, :], self.time_edges[1:][None, :]
        a2, b2 = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[:, None]
        overlap = np.clip(np.minimum(hi, b2) - np.maximum(lo, a2), 0.0, None)
        return np.asarray(overlap / (hi - lo), dtype=np.float64)

    @property
    def time_marginal(self) -> FloatArray:
        return np.asarray(self.weights.sum(axis=1), dtype=np.float64)

    @property
    def space_marginal(self) -> FloatArray:
        return np.asarray(self.weights.sum(axis=0), dtype=np.float64)

    def mean_delay(self) -> float:
        mids = (self.time_edges[:-1] + self.time_edges[1:]) / 2.0
        total = float(self.time_marginal.sum())
        return float(self.time_marginal @ mids) / total if total > 0 else float(mids.mean())

    def mean_square_distance(self) -> float:
        """E[d^2] under the kernel (uniform over each ring's area: (r1^2 + r2^2) / 2)."""
        r = self.space_edges
        per_ring = (r[:-1] ** 2 + r[1:] ** 2) / 2.0
        total = float(self.space_marginal.sum())
        return float(self.space_marginal @ per_ring) / total if total > 0 else float(
            per_ring.mean()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_edges_days": [float(v) for v in self.time_edges],
            "space_edges_m": [float(v) for v in self.space_edges],
            "weights": [[round(float(v), 6) for v in row] for row in self.weights],
        }


def estep_histogram(
    parent: IntArray,
    child: IntArray,
    pair_bin: IntArray,
    parent_mark: IntArray,
    theta: FloatArray,
    density: FloatArray,
    mu: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    """One E-step over the listed pairs with a histogram kernel.

    Returns the background probability of each event, the expected offspring per bin (flat),
    per parent mark, and ``sum(log lambda_j)``.
    """
    n = mu.size
    trig = theta[parent_mark] * density.ravel()[pair_bin]
    total = mu + np.bincount(child, weights=trig, minlength=n)
    total = np.maximum(total, 1e-300)
    p_bg = mu / total
    p_pair = trig / total[child]
    s_bin = np.bincount(pair_bin, weights=p_pair, minlength=density.size)
    s_mark = np.bincount(parent_mark, weights=p_pair, minlength=theta.size)
    return p_bg, s_bin.astype(np.float64), s_mark.astype(np.float64), float(np.log(total).sum())


def ring_cell_mass(
    kernel: HistogramKernel,
    cx: FloatArray,
    cy: FloatArray,
    half: FloatArray,
    px: FloatArray,
    py: FloatArray,
    sub: int = 10,
) -> FloatArray:
    """Share of each ring's mass (uniform over the ring) in square cells, by sub-points.

    Cells ``(c,)``, points ``(p,)``: returns ``(c, p, rings)``. Each cell is sampled at
    ``sub x sub`` points; a ring narrower than a sub-cell is then approximate.
    """
    off = (np.arange(sub) + 0.5) / sub * 2.0 - 1.0
    ox, oy = np.meshgrid(off, off)
    sx = np.asarray(cx, np.float64).reshape(-1)[:, None] + np.asarray(half, np.float64).reshape(
        -1
    )[:, None] * ox.ravel()[None, :]
    sy = np.asarray(cy, np.float64).reshape(-1)[:, None] + np.asarray(half, np.float64).reshape(
        -1
    )[:, None] * oy.ravel()[None, :]
    area = (2.0 * np.asarray(half, np.float64).reshape(-1)) ** 2 / (sub * sub)  # per sub-point
    pxa, pya = np.asarray(px, np.float64).reshape(-1), np.asarray(py, np.float64).reshape(-1)
    d = np.hypot(sx[:, None, :] - pxa[None, :, None], sy[:, None, :] - pya[None, :, None])
    ring = np.searchsorted(kernel.space_edges, d, side="right") - 1
    ns = kernel.ring_area.size
    out = np.zeros((sx.shape[0], pxa.size, ns))
    for lv in range(ns):
        count = (ring == lv).sum(axis=2)
        out[:, :, lv] = count * area[:, None] / kernel.ring_area[lv]
    return out
