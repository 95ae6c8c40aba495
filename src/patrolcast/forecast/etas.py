"""Self-exciting point process (ETAS / SEPP) forecaster, fitted by expectation-maximisation.

The conditional intensity (events per day per square metre) is

.. math::

    \\lambda(x, y, t) = \\mu \\, f(x, y)
        + \\sum_{t_i < t} \\theta_{m_i} \\, \\omega e^{-\\omega (t - t_i)}
          \\, g_\\sigma(x - x_i, y - y_i)

with ``mu`` the background rate (events per day), ``f`` a spatial background density (a
Gaussian kernel density of the events, each weighted by its probability of being a background
event; by default with a variable bandwidth, each event's being the distance to its
``neighbours``-th nearest neighbour rounded to a ladder of 50-800 m, as Mohler et al. (2011)
do, so that tight hot spots are background rather than spurious triggering; evaluated
leave-one-out at the events during the fit), ``theta`` the branching ratio (expected number of
direct offspring of an event, optionally one per mark, e.g. fatal and non-fatal shootings),
``omega`` the time decay (1/days) and ``g_sigma`` an isotropic Gaussian of ``sigma`` metres
(Mohler et al. 2011; the parametric form of Mohler 2014).

Fitting is the EM algorithm over branching probabilities (Veen & Schoenberg 2008; Mohler et al.
2011): the E-step gives each event ``j`` the probability ``p_jj`` of being background and
``p_ij`` of being triggered by an earlier event ``i``; the M-step updates ``mu``, ``f``,
``theta``, ``omega`` and ``sigma`` in closed form. Triggering is cut off beyond ``max_days`` and
``max_distance``; the compensator accounts for both cut-offs and for the end of the observation
window, so ``theta`` estimates the full branching ratio. Pairs within the cut-offs are listed once
with a bucket index (``_etas_kernels.space_time_pairs``) so each iteration is linear in the
number of events at a given density; ``engine="reference"`` runs the plain quadratic numpy E-step
instead (same answer, for tests and the benchmark).

Prediction gives the expected number of events in each unit over the window, given the history
up to the cut-off: background ``mu * L * F(unit)`` (``L = end - start``); plus, for each past
event, ``theta`` times the share of its time kernel falling in the window times the share of its
Gaussian falling in the unit; plus the *cascade*, the offspring (of all generations) of events
that will themselves occur inside the window. For the exponential kernel the cascade has a closed
form in time: with branching ratio ``n`` and ``k = omega (1 - n)``, background events bring
``n mu / (1 - n) * (L - (1 - e^{-kL}) / k)`` more, and a history intensity ``R`` at the window's
start brings ``R (1 - e^{-kL}) / k`` in all instead of ``R (1 - e^{-omega L}) / omega``; in space
the cascade is spread like its sources, widened by ``sigma``.

References
----------
Mohler, G. O., Short, M. B., Brantingham, P. J., Schoenberg, F. P., & Tita, G. E. (2011).
Self-exciting point process modeling of crime. *JASA* 106(493), 100-108.
Mohler, G. (2014). Marked point process hotspot maps for homicide and gun crime prediction in
Chicago. *International Journal of Forecasting* 30(3), 491-497.
Veen, A., & Schoenberg, F. P. (2008). Estimation of space-time branching process models in
seismology using an EM-type algorithm. *JASA* 103(482), 614-624.
Zhuang, J., Ogata, Y., & Vere-Jones, D. (2002). Stochastic declustering of space-time earthquake
occurrences. *JASA* 97(458), 369-380.
"""

from __future__ import annotations

import copy
import math
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from patrolcast.errors import InputError
from patrolcast.events import EventSet, from_days
from patrolcast.forecast._etas_histogram import (
    SPACE_EDGES,
    TIME_EDGES,
    HistogramKernel,
    default_edges,
    estep_histogram,
)
from patrolcast.forecast._etas_kernels import (
    estep_dense,
    estep_dense_mix,
    estep_pairs,
    estep_pairs_mix,
    gaussian_weights_1d,
    loo_kernel_weights,
    space_time_pairs,
    space_time_pairs_dense,
)
from patrolcast.forecast.base import Forecaster
from patrolcast.geo.support import Support

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["ETASForecaster", "Raster", "collapse_incidents"]

ENGINES = ("numba", "reference")
KERNELS = ("gaussian", "histogram")
RELEVEL_PRIOR = 10.0  # events of shrinkage of the background re-levelling toward the fit
# two time scales: a fit whose short scale holds less than this share of the triggering is
# flagged (what it calls triggering is slow clustering at the same places, not near repeats)
MIN_SHORT_SHARE = 0.10


@dataclass(frozen=True)
class Raster:
    """A fine raster used internally to smooth point masses with a Gaussian filter."""

    x0: float
    y0: float
    res: float
    nx: int
    ny: int

    @classmethod
    def around(cls, xmin: float, ymin: float, xmax: float, ymax: float, res: float) -> Raster:
        x0 = math.floor(xmin / res) * res
        y0 = math.floor(ymin / res) * res
        nx = max(1, math.ceil((xmax - x0) / res) + 1)
        ny = max(1, math.ceil((ymax - y0) / res) + 1)
        return cls(x0, y0, res, nx, ny)

    def pixel_of(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Flat pixel index of each point, -1 outside."""
        c = np.floor((x - self.x0) / self.res)
        r = np.floor((y - self.y0) / self.res)
        ok = (c >= 0) & (c < self.nx) & (r >= 0) & (r < self.ny)
        out = np.full(x.shape, -1, dtype=np.int64)
        out[ok] = (r[ok] * self.nx + c[ok]).astype(np.int64)
        return out

    def centres(self) -> tuple[FloatArray, FloatArray]:
        cx = self.x0 + (np.arange(self.nx) + 0.5) * self.res
        cy = self.y0 + (np.arange(self.ny) + 0.5) * self.res
        gx, gy = np.meshgrid(cx, cy)
        return gx.ravel(), gy.ravel()

    def smooth(self, x: FloatArray, y: FloatArray, w: FloatArray, sigma: float) -> FloatArray:
        """Mass per pixel (flat) of point masses ``w`` spread by a Gaussian of ``sigma`` metres.

        Mass carried outside the raster is lost (it lies outside the area of interest). A wide
        kernel is applied on a raster coarsened by a whole factor (about 3 coarse pixels per
        ``sigma``) and the result spread evenly over the fine pixels: the filter's cost then
        does not grow with the kernel's width, and the positional error stays below
        ``sigma / 6``.
        """
        factor = max(1, int(sigma / (3.0 * self.res)))
        res = self.res * factor
        cnx, cny = -(-self.nx // factor), -(-self.ny // factor)
        c = np.floor((x - self.x0) / res)
        r = np.floor((y - self.y0) / res)
        ok = (c >= 0) & (c < cnx) & (r >= 0) & (r < cny)
        pix = (r[ok] * cnx + c[ok]).astype(np.int64)
        raw = np.bincount(pix, weights=w[ok], minlength=cnx * cny).reshape(cny, cnx)
        out = gaussian_filter(raw, sigma / res, mode="constant", truncate=4.0)
        if factor > 1:
            out = np.repeat(np.repeat(out, factor, axis=0), factor, axis=1)[: self.ny, : self.nx]
            out = out / (factor * factor)
        return np.asarray(out, dtype=np.float64).ravel()

    def kernel_cover(self, inside: npt.NDArray[np.bool_], sigma: float) -> FloatArray:
        """Per pixel (flat), the share of a Gaussian of ``sigma`` metres centred there that
        falls on the ``inside`` pixels (the study area): the mask smoothed by the same kernel
        (it is symmetric), on the same coarsened raster as :meth:`smooth`."""
        factor = max(1, int(sigma / (3.0 * self.res)))
        cnx, cny = -(-self.nx // factor), -(-self.ny // factor)
        img = np.zeros((cny * factor, cnx * factor))
        img[: self.ny, : self.nx] = inside.reshape(self.ny, self.nx)
        coarse = img.reshape(cny, factor, cnx, factor).mean(axis=(1, 3))
        out = gaussian_filter(coarse, sigma / (self.res * factor), mode="constant", truncate=4.0)
        if factor > 1:
            out = np.repeat(np.repeat(out, factor, axis=0), factor, axis=1)
        return np.asarray(np.clip(out[: self.ny, : self.nx], 0.0, 1.0), dtype=np.float64).ravel()


def _support_bounds(support: Support) -> tuple[float, float, float, float]:
    if all(hasattr(support, a) for a in ("x0", "y0", "nx", "ny", "cell_size")):
        s: Any = support
        return (s.x0, s.y0, s.x0 + s.nx * s.cell_size, s.y0 + s.ny * s.cell_size)
    geoms = getattr(support, "geometries", None)
    if geoms is not None:
        import shapely

        b = shapely.total_bounds(np.asarray(geoms, dtype=object))
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
    c = support.centroids
    half = float(np.sqrt(np.max(support.unit_area))) if support.n_units else 0.0
    return (c[:, 0].min() - half, c[:, 1].min() - half, c[:, 0].max() + half, c[:, 1].max() + half)


_FRAME_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[float, float], tuple[Raster, IntArray]]]
_FRAME_CACHE = weakref.WeakKeyDictionary()


def support_frame(support: Support, res: float, pad: float) -> tuple[Raster, IntArray]:
    """A fine raster over ``support`` (padded) and the support unit of each pixel (-1: none).

    On a square grid the pixels subdivide the grid's cells exactly. Cached per support object.
    """
    cell = getattr(support, "cell_size", None)
    if cell is not None:
        sub = max(1, math.ceil(float(cell) / res))
        res = float(cell) / sub
    pad = math.ceil(pad / res) * res
    key = (res, pad)
    try:
        per_support = _FRAME_CACHE.setdefault(support, {})
    except TypeError:  # unhashable or not weak-referenceable support: no cache
        per_support = {}
    if key not in per_support:
        xmin, ymin, xmax, ymax = _support_bounds(support)
        if cell is not None:  # align pixels to the grid's cell edges
            s: Any = support
            raster = Raster(
                s.x0 - pad,
                s.y0 - pad,
                res,
                round((xmax - xmin + 2 * pad) / res),
                round((ymax - ymin + 2 * pad) / res),
            )
        else:
            raster = Raster.around(xmin - pad, ymin - pad, xmax + pad, ymax + pad, res)
        cx, cy = raster.centres()
        per_support[key] = (raster, np.asarray(support.assign(cx, cy), dtype=np.int64))
    return per_support[key]


def _impulse_centre(sigma_px: float) -> float:
    """Weight a unit mass keeps at its own pixel after the Gaussian filter."""
    half = int(math.ceil(4.0 * sigma_px)) + 1
    impulse = np.zeros((2 * half + 1, 2 * half + 1))
    impulse[half, half] = 1.0
    return float(gaussian_filter(impulse, sigma_px, mode="constant", truncate=4.0)[half, half])


BANDWIDTH_LADDER = np.array([25.0, 50.0, 100.0, 200.0, 400.0, 800.0])


def adaptive_bandwidths(
    x: FloatArray, y: FloatArray, neighbours: int, smallest: float = 50.0
) -> FloatArray:
    """Each event's bandwidth: distance to its ``neighbours``-th nearest neighbour, on a ladder.

    The distance is clipped to ``smallest``-800 m and rounded (in log scale) to a rung of
    25, 50, 100, 200, 400 or 800 m, so that each rung can be smoothed with one Gaussian filter.
    """
    ladder = BANDWIDTH_LADDER[smallest - 1e-9 <= BANDWIDTH_LADDER]
    from scipy.spatial import cKDTree

    n = len(x)
    if n <= 1:
        return np.full(n, ladder[-1])
    k = min(neighbours, n - 1)
    dist, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=k + 1)
    d = np.clip(dist[:, -1], ladder[0], ladder[-1])
    rung = np.abs(np.log(d[:, None]) - np.log(ladder[None, :])).argmin(axis=1)
    return np.asarray(ladder[rung], dtype=np.float64)


class LeaveOut:
    """Neighbours left out of each event's background density: all those within ``gap_days``
    in time (both directions; in space, as far as their kernel reaches, so that numerator and
    normaliser leave out the same events), with the raster-exact weight of each one's kernel on
    the other's pixel; plus the time order used for the time-window sums."""

    def __init__(self, density: BackgroundDensity, t: FloatArray, gap_days: float) -> None:
        self.t, self.gap = t, gap_days
        reach = 4.0 * float(density.h.max()) + 2.0 * max(r.res for r in density.rasters)
        parent, child = space_time_pairs(
            t, density.x, density.y, max_days=gap_days, max_distance=reach
        )
        src = np.concatenate([parent, child])
        dst = np.concatenate([child, parent])
        self.src, self.dst = src, dst
        kw = np.zeros(src.size)
        for lv, m, r, pix in zip(
            density.levels, density.members, density.rasters, density.pixels, strict=True
        ):
            sel = m[src]
            w1d = gaussian_weights_1d(lv / r.res)
            kw[sel] = loo_kernel_weights(pix[src[sel]], pix[dst[sel]], r.nx, w1d) / (r.res**2)
        self.kernel = kw
        # window of each event among the time-sorted events (t is sorted ascending)
        self.lo = np.searchsorted(t, t - gap_days, side="left")
        self.hi = np.searchsorted(t, t + gap_days, side="right")

    def near_mass(self, w: FloatArray) -> FloatArray:
        """Kernel mass at each event from its left-out neighbours."""
        mass = np.bincount(self.dst, weights=w[self.src] * self.kernel, minlength=self.t.size)
        return np.asarray(mass, dtype=np.float64)

    def window_weight(self, w: FloatArray) -> FloatArray:
        """Total weight of the events within ``gap_days`` of each event (itself included)."""
        cs = np.concatenate([[0.0], np.cumsum(w)])
        return np.asarray(cs[self.hi] - cs[self.lo], dtype=np.float64)


class BackgroundDensity:
    """Weighted Gaussian KDE with one bandwidth per event (a few rungs), on fine rasters.

    ``at_events(w)`` is the leave-one-out density (per square metre) at every event, the
    weights ``w`` normalised to sum to one over the other events. With a :class:`LeaveOut`,
    the events near in time (and space) are left out too, and the weights normalised over the
    events outside the time window: a *time-stable* background, estimated at each event only
    from what happened there at other times, so that a cluster in time cannot explain itself
    as background and a place hit all year round cannot pass for triggering.
    """

    def __init__(self, x: FloatArray, y: FloatArray, h: FloatArray) -> None:
        self.x, self.y, self.h = x, y, h
        self.levels = [float(v) for v in np.unique(h)]
        self.members = [h == lv for lv in self.levels]
        self.rasters: list[Raster] = []
        self.pixels: list[IntArray] = []
        self.self_weight: list[float] = []
        for lv in self.levels:
            pad = 4.0 * lv
            r = Raster.around(
                x.min() - pad, y.min() - pad, x.max() + pad, y.max() + pad, max(lv / 3.0, 25.0)
            )
            self.rasters.append(r)
            self.pixels.append(r.pixel_of(x, y))
            self.self_weight.append(_impulse_centre(lv / r.res))

    def at_events(self, w: FloatArray, leave_out: LeaveOut | None = None) -> FloatArray:
        out = np.zeros(len(self.x))
        for lv, m, r, pix, sw in zip(
            self.levels, self.members, self.rasters, self.pixels, self.self_weight, strict=True
        ):
            area = r.res * r.res
            out += r.smooth(self.x[m], self.y[m], w[m], lv)[pix] / area
            out[m] -= w[m] * sw / area  # leave one out: an event's own kernel, exactly
        if leave_out is None:
            return np.maximum(out, 0.0) / np.maximum(w.sum() - w, 1e-12)
        out -= leave_out.near_mass(w)
        rest = w.sum() - leave_out.window_weight(w)
        return np.maximum(out, 0.0) / np.maximum(rest, 1e-12)

    def mass_on(
        self,
        raster: Raster,
        w: FloatArray,
        widen: float = 0.0,
        inside: npt.NDArray[np.bool_] | None = None,
    ) -> FloatArray:
        """Mass per pixel of ``raster`` (weights normalised to sum to one), optionally widened.

        With ``inside`` (the raster's pixels in the study area), each event's kernel is
        *edge-corrected*: divided by its own mass inside the area (Diggle 1985; Jones 1993's
        renormalisation), so that the background's mass stays in the area where events can
        occur instead of leaking over a coast or a city limit (that leak made the background
        near the edge, and the alert's expectation, too low). Kernels keep at least a tenth of
        their mass (an event right on a sliver of the area).
        """
        total = np.zeros(raster.nx * raster.ny)
        for lv, m in zip(self.levels, self.members, strict=True):
            scale = math.hypot(lv, widen)
            wm = w[m]
            if inside is not None:
                cover = raster.kernel_cover(inside, scale)
                pix = raster.pixel_of(self.x[m], self.y[m])
                c = np.where(pix >= 0, cover[np.maximum(pix, 0)], 1.0)
                wm = wm / np.maximum(c, 0.1)
            total += raster.smooth(self.x[m], self.y[m], wm, scale)
        return total / w.sum()


def _opt(values: list[float] | None) -> FloatArray | None:
    """A stored list as an array, or None when absent (a fit of one time scale)."""
    return None if values is None else np.asarray(values, dtype=np.float64)


def _quantised_resolution(scale: float) -> float:
    """Pixel size for smoothing: 50 m, or 25 m for kernels narrower than 100 m.

    Never finer than 25 m: ``min_sigma`` keeps the triggering kernel at least as wide, and a
    fixed ladder lets backtests reuse the cached raster of a support across origins.
    """
    return 50.0 if scale >= 100.0 else 25.0


def _tied_pairs(
    t: FloatArray, x: FloatArray, y: FloatArray, metres: float
) -> tuple[IntArray, IntArray]:
    """Pairs ``(i, j)``, ``i < j``, of time-sorted records with the *same* time within
    ``metres``: every pair of a run of equal times, not only neighbours in the sort order (a
    record of the same minute elsewhere may sit between two victims of one shooting)."""
    starts = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    ends = np.r_[starts[1:], t.size]
    parents: list[IntArray] = []
    children: list[IntArray] = []
    runs = ends - starts > 1
    for s, e in zip(starts[runs].tolist(), ends[runs].tolist(), strict=True):
        if e - s <= 64:
            a, b = np.triu_indices(e - s, 1)
        else:  # a long run (day-precision records of one day): a tree, not every pair
            found = cKDTree(np.column_stack([x[s:e], y[s:e]])).query_pairs(
                metres * (1.0 + 1e-9), output_type="ndarray"  # the exact test below decides
            )
            a, b = found.min(axis=1), found.max(axis=1)
        close = np.hypot(x[s + b] - x[s + a], y[s + b] - y[s + a]) <= metres
        parents.append(s + a[close])
        children.append(s + b[close])
    if not parents:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return (
        np.concatenate(parents).astype(np.int64),
        np.concatenate(children).astype(np.int64),
    )


def collapse_incidents(
    events: EventSet, minutes: float = 60.0, metres: float = 30.0
) -> tuple[EventSet, int]:
    """One record per incident: records within ``minutes`` and ``metres`` of each other (several
    victims of one shooting, recorded with slightly different times or block points; chains
    included) become one, the earliest, carrying the highest mark (fatal if any victim died).

    The groups are the connected components of the "within reach" pairs, so the result does not
    depend on the input order. Records with a date only (``time_precision == "day"``) are merged
    only at the same point on the same day: a day says nothing of ``minutes``, and two shootings
    at one building on one day are not one incident.

    Returns the collapsed events and the number of records merged away.
    """
    n = len(events)
    if n < 2:
        return events, 0
    order = np.argsort(events.t, kind="stable")
    t, x, y = events.t[order], events.x[order], events.y[order]
    parent, child = space_time_pairs(t, x, y, max_days=minutes / 1440.0, max_distance=metres)
    tied_reach = 0.0 if events.time_precision == "day" else metres
    tied_parent, tied_child = _tied_pairs(t, x, y, tied_reach)  # the pair index needs dt > 0
    if tied_parent.size:
        parent = np.concatenate([parent, tied_parent])
        child = np.concatenate([child, tied_child])
    if parent.size == 0:
        return events, 0
    links = coo_matrix((np.ones(parent.size, dtype=np.int8), (parent, child)), shape=(n, n))
    _, label = connected_components(links, directed=False)
    first = np.full(int(label.max()) + 1, n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))  # the earliest record of each group (time order)
    root = first[label]
    keep_sorted = root == np.arange(n)
    keep = np.zeros(n, dtype=bool)
    keep[order[keep_sorted]] = True
    out = events.select(keep)
    if len(events.mark):
        top = np.full(n, np.iinfo(np.int64).min)
        np.maximum.at(top, root, events.mark[order])
        mark_of_kept = np.empty(n, dtype=np.int64)
        mark_of_kept[order] = top
        out = EventSet(
            t=out.t, x=out.x, y=out.y, count=out.count, harm=out.harm, crs=out.crs,
            time_precision=out.time_precision, mark=mark_of_kept[keep],
        )  # fmt: skip
    return out, int(n - keep.sum())


def _space_mass(sigmas: FloatArray, weights: FloatArray, d2max: float) -> float:
    """Share of the Gaussian space kernel (a mixture of scales) within ``max_distance``."""
    return float(np.sum(weights * (1.0 - np.exp(-d2max / (2.0 * sigmas**2)))))


def _density_floor(bg: BackgroundDensity, x: FloatArray, y: FloatArray) -> float:
    """A tiny uniform floor that keeps isolated events' background density positive."""
    h_max = float(bg.h.max())
    return 1e-6 / ((np.ptp(x) + 8 * h_max) * (np.ptp(y) + 8 * h_max))


@dataclass
class _EMRun:
    """One EM run from one starting point."""

    start: dict[str, float]
    mu_rate: float
    theta: FloatArray
    omega: float
    sigmas: FloatArray
    weights: FloatArray
    p_bg: FloatArray
    loglik: float
    n_iter: int
    converged: bool
    hist: FloatArray | None = None  # histogram kernel weights (time bins, rings), if used
    omegas: FloatArray | None = None  # two time scales: short and long decay (1/days)
    time_weights: FloatArray | None = None  # two time scales: the share of each

    def summary(self) -> dict[str, Any]:
        out = {
            "start": self.start,
            "loglik": round(self.loglik, 3),
            "n_iter": self.n_iter,
            "converged": self.converged,
            "branching_ratio_by_mark": [round(float(v), 4) for v in self.theta],
            "mean_trigger_delay_days": round(1.0 / self.omega, 3),
            "sigma_m": [round(float(v), 1) for v in self.sigmas],
            "scale_weights": [round(float(v), 3) for v in self.weights],
        }
        if self.omegas is not None and self.time_weights is not None:
            out["mean_trigger_delays_days"] = [round(1.0 / float(v), 3) for v in self.omegas]
            out["time_weights"] = [round(float(v), 3) for v in self.time_weights]
        return out


class ETASForecaster(Forecaster):
    """ETAS / SEPP forecaster (Mohler et al. 2011), fitted by EM with space-time cut-offs.

    Parameters
    ----------
    bandwidth : metres, fixed bandwidth of the Gaussian background density; ``None`` (default)
        for the variable bandwidth (``neighbours``-th nearest neighbour, 50-800 m).
    neighbours : the ``k`` of the variable bandwidth.
    min_bandwidth : smallest variable bandwidth, 25 or 50 m (or more). At 25 m, a place hit
        again and again (snapped to one block point) can be as sharp in the background as the
        triggering kernel, so its repeats need not be read as triggering.
    min_sigma : lower bound of the triggering kernel's scales (metres). Publishers snap
        incidents to block midpoints or round coordinates, so many repeats share one point; without
        a floor, sigma collapses towards zero and triggering means "the same address" only.
    scales : number of Gaussian scales in the triggering kernel (1 or 2): with 2, a mixture
        ``w g_s1 + (1 - w) g_s2`` (``s1 <= s2``) can hold both same-point repeats and the
        100-250 m excess the Knox tables show.
    max_days : time cut-off of triggering (days).
    max_distance : space cut-off of triggering (metres).
    max_mean_delay : upper bound (days) of the mean trigger delay ``1 / omega``. Without it,
        places hit all year round are read as triggering with a delay of months; a fit that
        ends at the bound is reported as not trustworthy. ``None``: ``10 * max_days``.
    time_scales : number of exponential time scales of the triggering kernel (1 or 2). With 2,
        a mixture ``v w_1 e^{-w_1 t} + (1 - v) w_2 e^{-w_2 t}`` of a *short* scale, its mean
        delay bounded by ``max_mean_delay`` as with one, and a *long* one, its mean delay
        between ``max_mean_delay`` and ``max_long_delay``: clustering at the same place that
        lasts one to two months (NYPD) then has a term of its own instead of pulling the only
        delay to its bound. Use a ``max_days`` cut-off beyond ``max_long_delay``.
    max_long_delay : upper bound (days) of the long scale's mean delay (``time_scales=2``).
    stable_background : estimate each event's background density without the events within
        ``background_gap_days`` and ``max_distance`` of it (see :class:`BackgroundDensity`).
    background_gap_days : the half-width of that time window (at most a sixth of the window).
    restarts : EM runs from this many starting points (1-3); the highest likelihood is kept,
        and all are reported.
    history_days : fit on this many days before the cut-off (``None``: all history). The
        background is constant in time, so a window of a year or two follows trends.
    marked : one branching ratio per event mark (``EventSet.mark``) instead of one for all.
    deduplicate : collapse records with the same time and place (victims of one incident).
    background_days : the background may vary slowly in time (trends, seasons): its level is a
        Gaussian smoothing, of ``background_days`` standard deviation, of the daily counts of
        background-weighted events, edge-corrected and scaled to mean 1 over the fit window
        (after Mohler et al. 2011, whose background is also a space-time density). Forecasts use
        the level at the cut-off. ``None``: constant in time. Without it, a surge lasting months
        is mistaken for slow triggering.
    seasonal : the background level also follows an annual cycle: a Poisson regression of the
        daily background-weighted counts of the fit window (at least 365 days) on a log-linear
        trend and one annual harmonic, kept only when a likelihood-ratio test of the harmonic
        gives p < 0.05 (see :meth:`seasonal_shape`). A forecast's level is then the recent level
        times the season's shape over the forecast window relative to its shape over the days
        the recent level was measured on, instead of the recent level held flat: in a rising
        season a held level is weeks behind.
    edge_correction : in forecasts, each event's background kernel is divided by its mass
        inside the support's area (see :meth:`BackgroundDensity.mass_on`), so the background map
        keeps its whole mass in the area instead of losing it over the edges.
    max_iter, tol : EM stops after ``max_iter`` iterations or when no parameter changes by more
        than ``tol`` relative.
    engine : ``"numba"`` (indexed pairs, linear) or ``"reference"`` (plain numpy, quadratic).
    jitter_days : for day-precision data, spread each event uniformly over its day (over the
        part of it before the cut-off; seeded by ``seed``) so same-day events can be ordered,
        as is usual for daily crime data.
    seed : random seed for the jitter.
    """

    name = "etas"
    accepts_month_records = False
    level_scale_: float = 1.0  # background re-levelling after a fit (conditioned_on)
    level_ref_: tuple[float, float] | None = None  # days the re-levelled level was measured on
    season_: FloatArray = np.zeros(2)  # log-scale cos / sin coefficients of the annual cycle

    def __init__(
        self,
        *,
        bandwidth: float | None = None,
        neighbours: int = 15,
        min_bandwidth: float = 50.0,
        min_sigma: float = 30.0,
        scales: int = 1,
        max_days: float = 60.0,
        max_distance: float = 1000.0,
        max_mean_delay: float | None = 30.0,
        stable_background: bool = True,
        background_gap_days: float = 21.0,
        restarts: int = 2,
        history_days: float | None = 730.0,
        marked: bool = False,
        deduplicate: bool = True,
        background_days: float | None = 30.0,
        max_iter: int = 200,
        tol: float = 1e-4,
        engine: str = "numba",
        jitter_days: bool = True,
        seed: int = 0,
        kernel: str = "gaussian",
        time_edges: tuple[float, ...] | None = None,
        space_edges: tuple[float, ...] | None = None,
        edge_correction: bool = True,
        seasonal: bool = True,
        time_scales: int = 1,
        max_long_delay: float = 120.0,
    ) -> None:
        self.bandwidth = bandwidth
        self.neighbours = neighbours
        self.min_bandwidth = min_bandwidth
        self.min_sigma = min_sigma
        self.scales = scales
        self.max_days = max_days
        self.max_distance = max_distance
        self.max_mean_delay = max_mean_delay
        self.stable_background = stable_background
        self.background_gap_days = background_gap_days
        self.restarts = restarts
        self.history_days = history_days
        self.marked = marked
        self.deduplicate = deduplicate
        self.max_iter = max_iter
        self.tol = tol
        self.engine = engine
        self.jitter_days = jitter_days
        self.seed = seed
        self.background_days = background_days
        self.kernel = kernel
        self.time_edges = time_edges
        self.space_edges = space_edges
        self.edge_correction = edge_correction
        self.seasonal = seasonal
        self.time_scales = time_scales
        self.max_long_delay = max_long_delay

    # -- validation ----------------------------------------------------------------------------
    def _validate_params(self) -> None:
        names = ["max_days", "max_distance", "min_sigma", "background_gap_days", "min_bandwidth"]
        names += [] if self.bandwidth is None else ["bandwidth"]
        names += [] if self.max_mean_delay is None else ["max_mean_delay"]
        for name in names:
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if self.background_days is not None and not self.background_days > 0:
            raise ValueError(
                f"background_days must be positive or None, got {self.background_days!r}"
            )
        if self.history_days is not None and not self.history_days > 0:
            raise ValueError(f"history_days must be positive or None, got {self.history_days!r}")
        if not (isinstance(self.neighbours, int) and self.neighbours >= 1):
            raise ValueError(f"neighbours must be a positive integer, got {self.neighbours!r}")
        if self.scales not in (1, 2):
            raise ValueError(f"scales must be 1 or 2, got {self.scales!r}")
        if self.time_scales not in (1, 2):
            raise ValueError(f"time_scales must be 1 or 2, got {self.time_scales!r}")
        if self.time_scales == 2:
            if self.kernel != "gaussian":
                raise ValueError("two time scales need the gaussian (parametric) kernel")
            if self.max_mean_delay is None:
                raise ValueError("two time scales need a bound on the short scale "
                                 "(max_mean_delay)")  # fmt: skip
            if not (math.isfinite(self.max_long_delay)
                    and self.max_long_delay > self.max_mean_delay):  # fmt: skip
                raise ValueError(
                    f"max_long_delay must exceed max_mean_delay ({self.max_mean_delay:g} days), "
                    f"got {self.max_long_delay!r}"
                )
            if self.max_days < self.max_long_delay:
                raise ValueError(
                    f"two time scales need the triggering cut-off max_days ({self.max_days:g}) "
                    f"at least max_long_delay ({self.max_long_delay:g} days): a shorter cut-off "
                    "truncates the long scale"
                )
        if self.restarts not in (1, 2, 3):
            raise ValueError(f"restarts must be 1, 2 or 3, got {self.restarts!r}")
        if not (isinstance(self.max_iter, int) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be a positive integer, got {self.max_iter!r}")
        if not self.tol > 0:
            raise ValueError(f"tol must be positive, got {self.tol!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}: use one of {', '.join(ENGINES)}")
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}: use one of {', '.join(KERNELS)}")
        if self.kernel == "histogram":
            self._edges()

    # -- fitting -------------------------------------------------------------------------------
    def _prepare(self, history: EventSet, cutoff: float) -> tuple[FloatArray, ...]:
        ev = history
        if self.history_days is not None:
            ev = ev.select(ev.t >= cutoff - self.history_days)
        self.n_collapsed_ = 0
        if self.deduplicate:
            ev, self.n_collapsed_ = collapse_incidents(ev)
        t = ev.t.copy()
        if ev.time_precision == "day" and self.jitter_days and len(t):
            rng = np.random.default_rng(self.seed)
            # over the part of each day before the cut-off (a day stored at local midnight in
            # UTC may straddle it), so that no events pile up at the cut-off itself
            span = np.clip(cutoff - t, 0.0, 1.0)
            t = np.minimum(t + rng.uniform(0.0, 1.0, len(t)) * span, np.nextafter(cutoff, -np.inf))
        order = np.argsort(t, kind="stable")
        marks = ev.mark[order] if (self.marked and len(ev.mark)) else np.full(len(t), -1)
        return t[order], ev.x[order], ev.y[order], marks.astype(np.float64), ev.harm[order]

    @property
    def _omega_bounds(self) -> tuple[float, float]:
        longest = self.max_mean_delay if self.max_mean_delay is not None else 10.0 * self.max_days
        return 1.0 / longest, 1000.0

    def _starts(self) -> list[dict[str, float]]:
        lo, _ = self._omega_bounds
        d = self.max_distance
        starts = [
            {"theta": 0.3, "omega": max(6.0 / self.max_days, lo), "sigma": d / 8.0},
            {"theta": 0.1, "omega": max(1.0 / 3.0, lo), "sigma": 3.0 * self.min_sigma},
            {"theta": 0.5, "omega": max(2.0 * lo, 1.5 / self.max_days), "sigma": d / 4.0},
        ]
        if self.time_scales == 2:  # the long scale starts at 2, 1.5 and 3 times the short bound
            for st, f in zip(starts, (2.0, 1.5, 3.0), strict=True):
                st["omega_long"] = max(lo / f, 1.0 / self.max_long_delay)
        return starts[: self.restarts]

    def _fit(self, history: EventSet, cutoff: float) -> None:
        if history.time_precision == "month":
            raise InputError(
                "ETAS needs timestamped events (day or minute precision), not month records"
            )
        if len(history) and np.any(history.count != 1.0):
            raise InputError(
                "ETAS models single events: these records carry counts of several offences"
            )
        t, x, y, marks_f, harm = self._prepare(history, cutoff)
        marks = marks_f.astype(np.int64)
        n = len(t)
        start = cutoff - self.history_days if self.history_days is not None else None
        if n:
            start = t[0] if start is None else max(start, float(t[0]))
        window = max(cutoff - (start if start is not None else cutoff), 1.0)
        self.window_days_ = float(window)
        self.window_start_ = float(cutoff - window)
        self.fit_cutoff_ = float(cutoff)
        n_days = max(1, math.ceil(window))
        day = np.clip(np.floor(t - self.window_start_), 0, n_days - 1).astype(np.int64)
        self.marks_ = np.unique(marks) if n else np.array([-1], dtype=np.int64)
        mark_index = np.searchsorted(self.marks_, marks).astype(np.int64)
        self.t_, self.x_, self.y_, self.mark_index_ = t, x, y, mark_index
        self.mean_harm_ = float(harm.mean()) if n else 1.0
        self.n_pairs_ = 0
        self.runs_: list[_EMRun] = []
        self.season_ = np.zeros(2)
        if n == 0:
            self.time_profile_ = np.ones(1)
            self.background_ = None
            sig = np.full(self.scales, self.max_distance / 8.0)
            wts = np.full(self.scales, 1.0 / self.scales)
            zero = np.zeros(len(self.marks_))
            run = _EMRun({}, 0.0, zero, 6.0 / self.max_days, sig, wts, np.ones(0), 0.0, 0, True)
            self._store(run)
            return

        if self.bandwidth is None:
            h = adaptive_bandwidths(x, y, self.neighbours, self.min_bandwidth)
        else:
            h = np.full(n, float(self.bandwidth))
        self.background_ = BackgroundDensity(x, y, h)
        leave_out = None
        if self.stable_background:
            gap = min(self.background_gap_days, window / 6.0)
            leave_out = LeaveOut(self.background_, t, gap)
        pairs = None
        if self.engine == "numba" or self.kernel == "histogram":
            find = space_time_pairs if self.engine == "numba" else space_time_pairs_dense
            pairs = find(t, x, y, max_days=self.max_days, max_distance=self.max_distance)
            self.n_pairs_ = int(pairs[0].size)
        ctx = (t, x, y, mark_index, day, n_days, window, cutoff, leave_out, pairs)
        em = self._em_histogram if self.kernel == "histogram" else self._em
        if self.time_scales == 2:
            em = self._em_mix
        self.runs_ = [em(s, *ctx) for s in self._starts()]
        best = max(self.runs_, key=lambda r: r.loglik)
        self.time_profile_ = self._time_profile(best.p_bg, day, n_days)
        if self.seasonal:
            self.season_ = self._season(best.p_bg, day, n_days)
        self._store(best)

    def _start_space(self, start: dict[str, float]) -> tuple[FloatArray, FloatArray]:
        """The space kernel's scales and weights at a starting point (one scale, or a third of
        the start's scale, at least the floor, beside it)."""
        if self.scales == 1:
            sigmas = np.array([start["sigma"]])
        else:
            sigmas = np.array([max(start["sigma"] / 3.0, self.min_sigma), start["sigma"]])
        return sigmas, np.full(self.scales, 1.0 / self.scales)

    def _space_m_step(
        self, s_scale: FloatArray, s_d2: FloatArray, sigmas: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Closed-form M-step of the space scales and weights (a scale holding no mass keeps
        its value; two scales kept in order, s1 <= s2, so that labels do not switch)."""
        live = s_scale > 1e-12
        sigmas = np.where(
            live,
            np.maximum(self.min_sigma, np.sqrt(s_d2 / (2.0 * np.maximum(s_scale, 1e-300)))),
            sigmas,
        )
        weights = s_scale / float(s_scale.sum())
        if self.scales == 2 and sigmas[0] > sigmas[1]:
            sigmas, weights = sigmas[::-1].copy(), weights[::-1].copy()
        return sigmas, weights

    def _em(
        self,
        start: dict[str, float],
        t: FloatArray,
        x: FloatArray,
        y: FloatArray,
        mark_index: IntArray,
        day: IntArray,
        n_days: int,
        window: float,
        cutoff: float,
        leave_out: LeaveOut | None,
        pairs: tuple[IntArray, IntArray] | None,
    ) -> _EMRun:
        n = len(t)
        n_marks = len(self.marks_)
        bg = self.background_
        assert bg is not None
        omega_lo, omega_hi = self._omega_bounds
        theta = np.full(n_marks, start["theta"])
        omega = start["omega"]
        sigmas, weights = self._start_space(start)
        mu_rate = 0.7 * n / window
        p_bg = np.ones(n)
        tau = np.minimum(cutoff - t, self.max_days)  # how much of each kernel lies before cutoff
        counts_per_mark = np.bincount(mark_index, minlength=n_marks)
        floor = _density_floor(bg, x, y)
        d2max = self.max_distance**2
        loglik, converged, n_iter = -math.inf, False, 0
        for it in range(1, self.max_iter + 1):
            n_iter = it
            profile = self._time_profile(p_bg, day, n_days)
            mu = mu_rate * np.maximum(bg.at_events(p_bg, leave_out), floor) * profile[day]
            if pairs is not None:
                p_bg, s_mark, s_dt, s_scale, s_d2, ll = estep_pairs(
                    pairs[0], pairs[1], t, x, y, mark_index, theta, omega, sigmas, mu, weights
                )
            else:
                p_bg, s_mark, s_dt, s_scale, s_d2, ll = estep_dense(
                    t, x, y, mark_index, theta, omega, sigmas, mu,
                    max_days=self.max_days, max_distance=self.max_distance, weights=weights,
                )  # fmt: skip
            # log-likelihood at the parameters of this E-step (mu integrates to mu_rate*window)
            space_mass = _space_mass(sigmas, weights, d2max)
            time_mass = 1.0 - np.exp(-omega * tau)
            loglik = float(ll) - mu_rate * window
            loglik -= float(np.sum(theta[mark_index] * time_mass)) * space_mass
            s_all = float(s_scale.sum())
            old = np.concatenate([[mu_rate, omega], sigmas, weights, theta])
            mu_rate = float(p_bg.sum()) / window
            if s_all > 0:
                sigmas, weights = self._space_m_step(s_scale, s_d2, sigmas)
            space_mass = _space_mass(sigmas, weights, d2max)
            denom = space_mass * np.bincount(mark_index, weights=time_mass, minlength=n_marks)
            theta = np.where(counts_per_mark > 0, s_mark / np.maximum(denom, 1e-300), 0.0)
            theta = np.minimum(theta, 0.99)
            if s_all > 0:
                edge = space_mass * float(np.sum(theta[mark_index] * tau * np.exp(-omega * tau)))
                omega = float(min(max(s_all / (s_dt + edge), omega_lo), omega_hi))
            new = np.concatenate([[mu_rate, omega], sigmas, weights, theta])
            change = np.abs(new - old) / np.maximum(np.abs(old), 1e-12)
            if np.all(change[np.abs(new) > 1e-9] < self.tol):
                converged = True
                break
        return _EMRun(dict(start), mu_rate, theta, omega, sigmas, weights, p_bg, loglik, n_iter,
                      converged)  # fmt: skip

    def _em_mix(
        self,
        start: dict[str, float],
        t: FloatArray,
        x: FloatArray,
        y: FloatArray,
        mark_index: IntArray,
        day: IntArray,
        n_days: int,
        window: float,
        cutoff: float,
        leave_out: LeaveOut | None,
        pairs: tuple[IntArray, IntArray] | None,
    ) -> _EMRun:
        """EM with two exponential time scales (``time_scales=2``), all M-steps closed-form.

        The E-step splits each pair's triggered probability over the (time, space) components;
        the M-step then sets, with ``F_a(tau) = 1 - e^{-omega_a tau}`` the share of component
        ``a`` seen before the cut-off by an event ``tau`` days before it (``max_days`` at most),
        and ``S`` the space kernel's mass within ``max_distance``:

        - the time weights ``v_a`` proportional to ``s_a / sum_i theta_i S F_a(tau_i)`` (the
          mass of component ``a`` over its exposure; exact with one branching ratio, where
          ``theta v_a`` is then the maximiser of each component's own branching ratio);
        - ``theta_m = s_m / (S sum_{i in m} sum_a v_a F_a(tau_i))``;
        - ``omega_a = s_a / (sum p_a dt + S v_a sum_i theta_i tau_i e^{-omega_a tau_i})`` (the
          end-of-window term as for one scale), the short one kept in ``[1/max_mean_delay,
          1000]``, the long one in ``[1/max_long_delay, 1/max_mean_delay]``;
        - the space scales and weights as for one time scale.
        """
        n = len(t)
        n_marks = len(self.marks_)
        bg = self.background_
        assert bg is not None and self.max_mean_delay is not None
        short_lo, omega_hi = self._omega_bounds
        lo = np.array([short_lo, 1.0 / self.max_long_delay])
        hi = np.array([omega_hi, 1.0 / self.max_mean_delay])
        theta = np.full(n_marks, start["theta"])
        omegas = np.clip(np.array([start["omega"], start["omega_long"]]), lo, hi)
        tw = np.array([0.5, 0.5])
        sigmas, weights = self._start_space(start)
        mu_rate = 0.7 * n / window
        p_bg = np.ones(n)
        tau = np.minimum(cutoff - t, self.max_days)
        counts_per_mark = np.bincount(mark_index, minlength=n_marks)
        floor = _density_floor(bg, x, y)
        d2max = self.max_distance**2
        loglik, converged, n_iter = -math.inf, False, 0
        for it in range(1, self.max_iter + 1):
            n_iter = it
            profile = self._time_profile(p_bg, day, n_days)
            mu = mu_rate * np.maximum(bg.at_events(p_bg, leave_out), floor) * profile[day]
            if pairs is not None:
                p_bg, s_mark, s_time, s_dt, s_scale, s_d2, ll = estep_pairs_mix(
                    pairs[0], pairs[1], t, x, y, mark_index, theta, omegas, tw, sigmas, mu,
                    weights,
                )  # fmt: skip
            else:
                p_bg, s_mark, s_time, s_dt, s_scale, s_d2, ll = estep_dense_mix(
                    t, x, y, mark_index, theta, omegas, tw, sigmas, mu, weights,
                    max_days=self.max_days, max_distance=self.max_distance,
                )  # fmt: skip
            seen = 1.0 - np.exp(-omegas[None, :] * tau[:, None])  # (events, time scales)
            space_mass = _space_mass(sigmas, weights, d2max)
            loglik = float(ll) - mu_rate * window
            loglik -= float(np.sum(theta[mark_index] * (seen @ tw))) * space_mass
            s_all = float(s_scale.sum())
            old = np.concatenate([[mu_rate], omegas, tw, sigmas, weights, theta])
            mu_rate = float(p_bg.sum()) / window
            if s_all > 0:
                sigmas, weights = self._space_m_step(s_scale, s_d2, sigmas)
                space_mass = _space_mass(sigmas, weights, d2max)
                exposure = space_mass * (theta[mark_index] @ seen)  # (time scales,)
                rate = s_time / np.maximum(exposure, 1e-300)
                if rate.sum() > 0:
                    tw = rate / rate.sum()
            denom = space_mass * np.bincount(mark_index, weights=seen @ tw, minlength=n_marks)
            theta = np.where(counts_per_mark > 0, s_mark / np.maximum(denom, 1e-300), 0.0)
            theta = np.minimum(theta, 0.99)
            if s_all > 0:
                th = theta[mark_index]
                for a in range(2):
                    if s_time[a] <= 1e-12:
                        continue
                    back = float(np.sum(th * tau * np.exp(-omegas[a] * tau)))
                    edge = space_mass * tw[a] * back
                    omegas[a] = float(np.clip(s_time[a] / (s_dt[a] + edge), lo[a], hi[a]))
            new = np.concatenate([[mu_rate], omegas, tw, sigmas, weights, theta])
            change = np.abs(new - old) / np.maximum(np.abs(old), 1e-12)
            if np.all(change[np.abs(new) > 1e-9] < self.tol):
                converged = True
                break
        mean_delay = float(np.sum(tw / omegas))
        return _EMRun(dict(start), mu_rate, theta, 1.0 / mean_delay, sigmas, weights, p_bg,
                      loglik, n_iter, converged, None, omegas.copy(), tw.copy())  # fmt: skip

    def _edges(self) -> tuple[FloatArray, FloatArray]:
        return (
            default_edges(self.time_edges, TIME_EDGES, self.max_days, "time"),
            default_edges(self.space_edges, SPACE_EDGES, self.max_distance, "space"),
        )

    def _em_histogram(
        self,
        start: dict[str, float],
        t: FloatArray,
        x: FloatArray,
        y: FloatArray,
        mark_index: IntArray,
        day: IntArray,
        n_days: int,
        window: float,
        cutoff: float,
        leave_out: LeaveOut | None,
        pairs: tuple[IntArray, IntArray] | None,
    ) -> _EMRun:
        """EM with a histogram kernel (stochastic declustering, Marsan & Lengliné 2008)."""
        assert pairs is not None and self.background_ is not None
        n, n_marks, bg = len(t), len(self.marks_), self.background_
        t_edges, s_edges = self._edges()
        # start: the exponential x Gaussian of this starting point, binned
        t_mid = (t_edges[:-1] + t_edges[1:]) / 2.0
        s_mid = (s_edges[:-1] + s_edges[1:]) / 2.0
        w0 = np.exp(-start["omega"] * t_mid)[:, None] * np.diff(t_edges)[:, None] * (
            np.exp(-(s_mid**2) / (2.0 * start["sigma"] ** 2)) * np.diff(s_edges**2)
        )[None, :]
        kern = HistogramKernel(t_edges, s_edges, w0 / w0.sum())
        parent, child = pairs
        dt = t[child] - t[parent]
        pair_bin = kern.bin_of(dt, np.hypot(x[child] - x[parent], y[child] - y[parent]))
        ok = pair_bin >= 0
        parent, child, pair_bin = parent[ok], child[ok], pair_bin[ok]
        parent_mark = mark_index[parent]
        tau = np.minimum(cutoff - t, self.max_days)
        exposure = kern.time_fraction(np.zeros(n), tau)  # (n, time bins) seen before cut-off
        c_mark = np.stack(
            [exposure[mark_index == m].sum(axis=0) for m in range(n_marks)]
        )  # (marks, time bins)
        counts_per_mark = np.bincount(mark_index, minlength=n_marks)
        theta = np.full(n_marks, start["theta"])
        weights = kern.weights.copy()
        mu_rate = 0.7 * n / window
        p_bg = np.ones(n)
        floor = _density_floor(bg, x, y)
        loglik, converged, n_iter = -math.inf, False, 0
        for it in range(1, self.max_iter + 1):
            n_iter = it
            kern = HistogramKernel(t_edges, s_edges, weights)
            profile = self._time_profile(p_bg, day, n_days)
            mu = mu_rate * np.maximum(bg.at_events(p_bg, leave_out), floor) * profile[day]
            p_bg, s_bin, s_mark, ll = estep_histogram(
                parent, child, pair_bin, parent_mark, theta, kern.density, mu
            )
            exp_trig = float(theta @ (c_mark @ kern.time_marginal))
            loglik = ll - mu_rate * window - exp_trig
            old = np.concatenate([[mu_rate], theta, weights.ravel()])
            mu_rate = float(p_bg.sum()) / window
            s_kl = s_bin.reshape(weights.shape)
            if s_kl.sum() > 0:
                exposure_k = theta @ c_mark  # (time bins,) parents' exposure, theta-weighted
                lam = s_kl / np.maximum(exposure_k, 1e-300)[:, None]
                total = float(lam.sum())
                weights = lam / total
                w_k = weights.sum(axis=1)
                denom = c_mark @ w_k
                theta = np.where(counts_per_mark > 0, s_mark / np.maximum(denom, 1e-300), 0.0)
                theta = np.minimum(theta, 0.99)
            else:
                theta = np.zeros(n_marks)
            new = np.concatenate([[mu_rate], theta, weights.ravel()])
            # rates relative, the kernel's shares (summing to one) absolute
            change = np.abs(new - old) / np.concatenate(
                [np.maximum(np.abs(old[: 1 + n_marks]), 1e-12), np.ones(weights.size)]
            )
            if np.all(change < self.tol):
                converged = True
                break
        kern = HistogramKernel(t_edges, s_edges, weights)
        omega = 1.0 / max(kern.mean_delay(), 1e-6)
        sigma = max(math.sqrt(kern.mean_square_distance() / 2.0), self.min_sigma)
        return _EMRun(dict(start), mu_rate, theta, omega, np.array([sigma]), np.ones(1), p_bg,
                      loglik, n_iter, converged, weights)  # fmt: skip

    def _time_profile(self, w: FloatArray, day: IntArray, n_days: int) -> FloatArray:
        """Background level per day of the fit window (mean 1); all ones if constant."""
        if self.background_days is None or n_days < 2:
            return np.ones(n_days)
        from scipy.ndimage import gaussian_filter1d

        counts = np.bincount(day, weights=w, minlength=n_days)
        smooth = gaussian_filter1d(counts, self.background_days, mode="constant", truncate=4.0)
        cover = gaussian_filter1d(np.ones(n_days), self.background_days, mode="constant",
                                  truncate=4.0)  # fmt: skip
        rate = smooth / cover
        mean = rate.mean()
        return np.asarray(rate / mean if mean > 0 else np.ones(n_days), dtype=np.float64)

    def _season(self, w: FloatArray, day: IntArray, n_days: int) -> FloatArray:
        """Annual cycle of the background (log-scale cos and sin coefficients), or zeros.

        Poisson regression (IRLS) of the daily background-weighted counts on a constant, a
        linear trend and ``cos``/``sin`` of the calendar day (period 365.25 days), against the
        same without the harmonic; the harmonic is kept when the likelihood-ratio test (2 df)
        gives p < 0.05. Needs a fit window of at least 365 days.
        """
        if n_days < 365:
            return np.zeros(2)
        from scipy.stats import chi2

        counts = np.bincount(day, weights=w, minlength=n_days)[:n_days]
        phase = 2.0 * np.pi * (self.window_start_ + np.arange(n_days) + 0.5) / 365.25
        trend = (np.arange(n_days) - n_days / 2.0) / 365.25
        full = np.column_stack([np.ones(n_days), trend, np.cos(phase), np.sin(phase)])

        def poisson_fit(design: FloatArray) -> tuple[FloatArray, float]:
            beta = np.zeros(design.shape[1])
            beta[0] = math.log(max(float(counts.mean()), 1e-9))
            for _ in range(50):
                rate = np.exp(np.clip(design @ beta, -30.0, 30.0))
                hess = design.T @ (design * rate[:, None])
                step = np.linalg.solve(hess + 1e-9 * np.eye(len(beta)), design.T @ (counts - rate))
                beta = beta + step
                if np.max(np.abs(step)) < 1e-8:
                    break
            rate = np.exp(np.clip(design @ beta, -30.0, 30.0))
            return beta, float(np.sum(counts * np.log(np.maximum(rate, 1e-300)) - rate))

        beta, ll_full = poisson_fit(full)
        _, ll_trend = poisson_fit(full[:, :2])
        if chi2.sf(max(2.0 * (ll_full - ll_trend), 0.0), 2) >= 0.05:
            return np.zeros(2)
        return np.asarray(beta[2:], dtype=np.float64)

    def seasonal_shape(self, t: FloatArray) -> FloatArray:
        """The annual cycle's multiplier of the background at absolute days ``t`` (1: none)."""
        t = np.asarray(t, dtype=np.float64)
        phase = 2.0 * np.pi * t / 365.25
        season = getattr(self, "season_", np.zeros(2))
        return np.asarray(np.exp(season[0] * np.cos(phase) + season[1] * np.sin(phase)),
                          dtype=np.float64)  # fmt: skip

    def _mean_shape(self, start: float, end: float) -> float:
        """Mean of :meth:`seasonal_shape` over ``[start, end)`` (days)."""
        n = max(2, math.ceil(2.0 * (end - start)))
        return float(self.seasonal_shape(start + (np.arange(n) + 0.5) * (end - start) / n).mean())

    def _reference_shape(self) -> float:
        """Mean seasonal shape over the days the current level was measured on: the last
        ``relevel_days`` of a re-levelled model, else the fit's smoothing of its last days (the
        Gaussian weights of :meth:`_time_profile` at the cut-off; the whole window if the
        level is constant in time)."""
        if self.level_ref_ is not None:
            return self._mean_shape(*self.level_ref_)
        n_days = len(self.time_profile_)
        if self.background_days is None or n_days < 2:
            return self._mean_shape(self.window_start_, self.window_start_ + n_days)
        radius = int(4.0 * self.background_days + 0.5)
        back = np.arange(min(radius, n_days - 1) + 1, dtype=np.float64)
        weight = np.exp(-(back**2) / (2.0 * self.background_days**2))
        days = self.window_start_ + (n_days - 1 - back) + 0.5
        return float(np.sum(weight * self.seasonal_shape(days)) / weight.sum())

    def background_level(self, start: float, end: float) -> float:
        """Background level (relative to the fit window's mean) for a forecast of
        ``[start, end)``: the recent level (:attr:`level_at_cutoff_`), times the seasonal shape
        over the window relative to its shape over the days that level was measured on."""
        self._check_fitted()
        if not np.any(getattr(self, "season_", np.zeros(2))):
            return self.level_at_cutoff_
        return self.level_at_cutoff_ * self._mean_shape(start, end) / self._reference_shape()

    @property
    def level_at_cutoff_(self) -> float:
        """Background level (relative to the fit window's mean) used for forecasts: the level
        at the fit's cut-off, times the re-levelling of :meth:`conditioned_on` if any."""
        return float(self.time_profile_[-1]) * self.level_scale_

    def _store(self, run: _EMRun) -> None:
        self.mu_ = float(run.mu_rate)
        self.theta_ = np.asarray(run.theta, dtype=np.float64)
        self.omega_ = float(run.omega)  # with two time scales: 1 / the mixture's mean delay
        if run.omegas is not None and run.time_weights is not None:
            self.omegas_ = np.asarray(run.omegas, dtype=np.float64)
            self.time_mix_ = np.asarray(run.time_weights, dtype=np.float64)
        else:
            self.omegas_ = np.array([self.omega_])
            self.time_mix_ = np.ones(1)
        self.sigmas_ = np.asarray(run.sigmas, dtype=np.float64)
        self.scale_weights_ = np.asarray(run.weights, dtype=np.float64)
        self.sigma_ = float(self.sigmas_[0])  # the (smallest) triggering scale
        self.p_background_ = run.p_bg
        self.kernel_ = (
            HistogramKernel(*self._edges(), np.asarray(run.hist, dtype=np.float64))
            if run.hist is not None else None
        )  # fmt: skip
        self.n_iter_ = run.n_iter
        self.converged_ = bool(run.converged)
        self.loglik_ = float(run.loglik)
        n = len(run.p_bg)
        self.n_fit_events_ = n
        # branching ratio: mean number of direct offspring per event
        self.branching_ratio_ = float(self.theta_[self.mark_index_].mean()) if n else 0.0
        self.truncated_mass_ = {
            "time": float(np.sum(self.time_mix_ * np.exp(-self.omegas_ * self.max_days))),
            "space": float(
                np.sum(
                    self.scale_weights_ * np.exp(-(self.max_distance**2) / (2 * self.sigmas_**2))
                )
            ),
        }
        self.trust_reasons_ = self._assess(n)
        self.trustworthy_ = not self.trust_reasons_

    def _assess(self, n: int) -> list[str]:
        """Why the fit should not be relied on (empty list: no reason found)."""
        reasons: list[str] = []
        if n < 50:
            reasons.append(f"only {n} events to fit on")
            return reasons
        if not self.converged_:
            reasons.append(f"EM did not converge in {self.n_iter_} iterations")
        lo, _ = self._omega_bounds
        short = float(self.omegas_[0])  # one time scale: the only one
        if short <= lo * 1.01:
            what = "mean trigger delay" if self.omegas_.size == 1 else "short scale's mean delay"
            reasons.append(
                f"{what} at its bound ({1.0 / short:.0f} days): the triggering "
                "term is absorbing persistent hot spots, not near repeats"
            )
        if self.omegas_.size == 2 and self.time_mix_[0] < MIN_SHORT_SHARE:
            reasons.append(
                f"the short time scale holds {self.time_mix_[0]:.1%} of the triggering (below "
                f"{MIN_SHORT_SHARE:.0%}): no near repeats in the first weeks beyond slow "
                "clustering at the same places"
            )
        if np.all(self.sigmas_ <= self.min_sigma * 1.01):
            reasons.append(
                f"triggering scale at its {self.min_sigma:g} m floor: only same-point repeats"
            )
        if self.branching_ratio_ < 0.005:
            reasons.append(f"branching ratio {self.branching_ratio_:.4f}: no triggering found")
        ok = [r for r in self.runs_ if r.converged]
        if len(ok) >= 2:
            top = sorted(ok, key=lambda r: -r.loglik)
            a, b = top[0], top[1]
            da, db = (1.0 / float(r.omega if r.omegas is None else r.omegas[0]) for r in (a, b))
            if abs(a.loglik - b.loglik) < 2.0 and abs(da - db) > 0.5 * da:
                reasons.append("restarts reach different delays with the same likelihood")
        return reasons

    def conditioned_on(
        self, events: EventSet, until: float, *, relevel_days: float | None = None
    ) -> ETASForecaster:
        """The fitted model with the events in ``[fit cut-off, until)`` added to its history.

        Parameters and background stay as fitted; the new events trigger like the old (so a
        forecast after them costs no EM refit). Returns a new model whose ``cutoff_`` is
        ``until``.

        ``relevel_days``: also move the background level to what the last ``relevel_days``
        before ``until`` show: the level is scaled by ``(n + 10) / (e + 10)``, ``n`` the
        incidents in those days and ``e`` the count the fitted model expects there in a steady
        state, ``mu * level / (1 - n_bar) * relevel_days`` (10 events of shrinkage toward the
        fit). A surge between refits (NYC shootings doubled from May 2020) then raises the
        expectation instead of leaving every alert under-predicted.
        """
        self._check_fitted()
        if until < self.cutoff_ - 1e-9:
            raise ValueError("cannot condition on a time before the model's cut-off")
        if events.crs != self.crs_:
            raise ValueError(f"events CRS {events.crs} differs from the model's {self.crs_}")
        new = events.select((events.t >= self.cutoff_) & (events.t < until))
        if self.deduplicate:
            new, _ = collapse_incidents(new)
        out = copy.copy(self)
        marks = new.mark if (self.marked and len(new.mark)) else np.full(len(new), -1)
        where = np.searchsorted(self.marks_, marks)
        known = (where < len(self.marks_)) & (
            self.marks_[np.minimum(where, len(self.marks_) - 1)] == marks
        )
        # an unseen mark gets the pooled branching ratio through its own index
        theta = self.theta_
        if not np.all(known):
            theta = np.concatenate([theta, [self.branching_ratio_]])
            where = np.where(known, where, len(self.theta_))
        order = np.argsort(new.t, kind="stable")
        out.t_ = np.concatenate([self.t_, new.t[order]])
        out.x_ = np.concatenate([self.x_, new.x[order]])
        out.y_ = np.concatenate([self.y_, new.y[order]])
        out.mark_index_ = np.concatenate([self.mark_index_, where[order].astype(np.int64)])
        out.theta_ = theta
        out.cutoff_ = float(until)
        if relevel_days is not None:
            if not relevel_days > 0:
                raise ValueError(f"relevel_days must be positive, got {relevel_days!r}")
            n_recent = int(np.sum((out.t_ >= until - relevel_days) & (out.t_ < until)))
            # the level the model has for those days (with its season, if any)
            recent = self.background_level(until - relevel_days, until)
            steady = self.mu_ * recent / (1.0 - min(self.branching_ratio_, 0.99))
            out.level_scale_ = (
                self.level_scale_
                * (recent / self.level_at_cutoff_ if self.level_at_cutoff_ > 0 else 1.0)
                * (n_recent + RELEVEL_PRIOR)
                / (steady * relevel_days + RELEVEL_PRIOR)
            )
            out.level_ref_ = (until - relevel_days, until)
        return out

    # -- saving and loading a fit ---------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
        """The fitted model as plain JSON and arrays (no pickle): see :meth:`from_state`.

        Only a fresh fit is saved (not one conditioned on later events: those are added again
        when it is loaded, from the data of the day).
        """
        self._check_fitted()
        if abs(self.cutoff_ - self.fit_cutoff_) > 1e-9:
            raise ValueError("save the fit itself, not a model conditioned on later events")
        best = max(range(len(self.runs_)), key=lambda i: self.runs_[i].loglik) if self.runs_ else -1
        meta: dict[str, Any] = {
            "params": self.get_params(),
            "cutoff": self.cutoff_,
            "crs": self.crs_,
            "window_days": self.window_days_,
            "window_start": self.window_start_,
            "mean_harm": self.mean_harm_,
            "n_pairs": self.n_pairs_,
            "n_collapsed": int(getattr(self, "n_collapsed_", 0)),
            "season": [float(v) for v in self.season_],
            "best_run": best,
            "runs": [
                {"start": r.start, "mu_rate": r.mu_rate, "theta": [float(v) for v in r.theta],
                 "omega": r.omega, "sigmas": [float(v) for v in r.sigmas],
                 "weights": [float(v) for v in r.weights], "loglik": r.loglik,
                 "n_iter": r.n_iter, "converged": bool(r.converged),
                 **({} if r.omegas is None or r.time_weights is None else {
                     "omegas": [float(v) for v in r.omegas],
                     "time_weights": [float(v) for v in r.time_weights]})}
                for r in self.runs_
            ],  # fmt: skip
            "stored": {"mu": self.mu_, "theta": [float(v) for v in self.theta_],
                       "omega": self.omega_, "sigmas": [float(v) for v in self.sigmas_],
                       "weights": [float(v) for v in self.scale_weights_],
                       "loglik": self.loglik_, "n_iter": self.n_iter_,
                       "converged": bool(self.converged_),
                       **({} if self.time_scales == 1 else {
                           "omegas": [float(v) for v in self.omegas_],
                           "time_weights": [float(v) for v in self.time_mix_]})},  # fmt: skip
        }
        bg = self.background_
        arrays: dict[str, npt.NDArray[Any]] = {
            "t": self.t_, "x": self.x_, "y": self.y_, "mark_index": self.mark_index_,
            "marks": self.marks_, "time_profile": self.time_profile_,
            "p_background": self.p_background_,
            "bg_x": bg.x if bg is not None else np.zeros(0),
            "bg_y": bg.y if bg is not None else np.zeros(0),
            "bg_h": bg.h if bg is not None else np.zeros(0),
            "kernel_weights": (self.kernel_.weights if self.kernel_ is not None
                               else np.zeros((0, 0))),
        }  # fmt: skip
        return meta, arrays

    @classmethod
    def from_state(
        cls, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]
    ) -> ETASForecaster:
        """The model :meth:`to_state` saved, ready to predict or be conditioned on new events."""
        model = cls(**meta["params"])
        model._validate_params()
        model.cutoff_ = float(meta["cutoff"])
        model.crs_ = str(meta["crs"])
        model.window_days_ = float(meta["window_days"])
        model.window_start_ = float(meta["window_start"])
        model.fit_cutoff_ = model.cutoff_
        model.mean_harm_ = float(meta["mean_harm"])
        model.n_pairs_ = int(meta["n_pairs"])
        model.n_collapsed_ = int(meta["n_collapsed"])
        model.season_ = np.asarray(meta.get("season", [0.0, 0.0]), dtype=np.float64)
        model.t_ = np.asarray(arrays["t"], dtype=np.float64)
        model.x_ = np.asarray(arrays["x"], dtype=np.float64)
        model.y_ = np.asarray(arrays["y"], dtype=np.float64)
        model.mark_index_ = np.asarray(arrays["mark_index"], dtype=np.int64)
        model.marks_ = np.asarray(arrays["marks"], dtype=np.int64)
        model.time_profile_ = np.asarray(arrays["time_profile"], dtype=np.float64)
        p_bg = np.asarray(arrays["p_background"], dtype=np.float64)
        h = np.asarray(arrays["bg_h"], dtype=np.float64)
        model.background_ = (
            BackgroundDensity(np.asarray(arrays["bg_x"], dtype=np.float64),
                              np.asarray(arrays["bg_y"], dtype=np.float64), h)
            if h.size else None
        )  # fmt: skip
        model.runs_ = [
            _EMRun(dict(r["start"]), float(r["mu_rate"]), np.asarray(r["theta"], np.float64),
                   float(r["omega"]), np.asarray(r["sigmas"], np.float64),
                   np.asarray(r["weights"], np.float64), np.zeros(0), float(r["loglik"]),
                   int(r["n_iter"]), bool(r["converged"]), None, _opt(r.get("omegas")),
                   _opt(r.get("time_weights")))
            for r in meta["runs"]
        ]  # fmt: skip
        st = meta["stored"]
        hist = np.asarray(arrays.get("kernel_weights", np.zeros((0, 0))), dtype=np.float64)
        model._store(
            _EMRun({}, float(st["mu"]), np.asarray(st["theta"], np.float64), float(st["omega"]),
                   np.asarray(st["sigmas"], np.float64), np.asarray(st["weights"], np.float64),
                   p_bg, float(st["loglik"]), int(st["n_iter"]), bool(st["converged"]),
                   hist if hist.size else None, _opt(st.get("omegas")),
                   _opt(st.get("time_weights")))
        )  # fmt: skip
        return model

    # -- the fitted model ----------------------------------------------------------------------
    def theta_for(self, mark: int | None) -> float:
        """Branching ratio of an event with ``mark`` (pooled over marks if unknown)."""
        self._check_fitted()
        if mark is not None and self.marked:
            where = np.flatnonzero(self.marks_ == mark)
            if where.size:
                return float(self.theta_[where[0]])
        return self.branching_ratio_

    def params_summary(self) -> dict[str, Any]:
        """Fitted parameters in plain units, with convergence and trust, for reports and JSON."""
        self._check_fitted()
        return {
            "background_per_day": self.mu_,
            "background_level_at_cutoff": self.level_at_cutoff_,
            "seasonal_amplitude": float(np.hypot(*self.season_)),
            "seasonal_peak_day_of_year": (
                float((math.atan2(self.season_[1], self.season_[0]) / (2 * np.pi) * 365.25)
                      % 365.25) if np.any(self.season_) else None
            ),  # fmt: skip
            "branching_ratio": self.branching_ratio_,
            "theta_by_mark": {
                int(m): float(v)
                for m, v in zip(self.marks_, self.theta_[: len(self.marks_)], strict=True)
            },
            "omega_per_day": self.omega_,
            "mean_trigger_delay_days": 1.0 / self.omega_,
            "time_scales": int(self.omegas_.size),
            "mean_trigger_delays_days": [float(1.0 / v) for v in self.omegas_],
            "time_weights": [float(v) for v in self.time_mix_],
            "sigma_m": self.sigma_,
            "sigmas_m": [float(v) for v in self.sigmas_],
            "scale_weights": [float(v) for v in self.scale_weights_],
            "n_events": int(self.n_fit_events_),
            "n_history_events": int(len(self.t_)),
            "records_collapsed": int(getattr(self, "n_collapsed_", 0)),
            "n_pairs": self.n_pairs_,
            "n_iter": self.n_iter_,
            "converged": bool(self.converged_),
            "trustworthy": bool(self.trustworthy_),
            "not_trustworthy_because": list(self.trust_reasons_),
            "loglik": self.loglik_,
            "restarts": [r.summary() for r in self.runs_],
            "fit_cutoff": from_days(self.fit_cutoff_).isoformat(timespec="minutes"),
            "truncated_mass": dict(self.truncated_mass_),
            "kernel": self.kernel,
            "histogram": self.kernel_.to_dict() if self.kernel_ is not None else None,
        }

    def time_weights(self, start: float, end: float) -> FloatArray:
        """Expected offspring of each history event inside ``[start, end)`` (theta included)."""
        a = np.maximum(start - self.t_, 0.0)
        b = np.minimum(end - self.t_, self.max_days)
        if self.kernel_ is not None:
            frac = self.kernel_.time_fraction(a, np.maximum(a, b))
            return np.asarray(
                self.theta_[self.mark_index_] * (frac @ self.kernel_.time_marginal),
                dtype=np.float64,
            )
        share = self.time_share(a, b)
        return np.asarray(self.theta_[self.mark_index_] * share, dtype=np.float64)

    def time_share(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Share of the (parametric) time kernel between lags ``a`` and ``b`` days (0 where
        ``b <= a``): ``sum_k v_k (e^{-omega_k a} - e^{-omega_k b})``, one term with one scale."""
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        out = np.zeros(np.broadcast(a, b).shape)
        for om, v in zip(self.omegas_, self.time_mix_, strict=True):
            out = out + float(v) * (np.exp(-om * a) - np.exp(-om * b))
        return np.asarray(np.where(b > a, out, 0.0), dtype=np.float64)

    def time_density(self, lag: FloatArray) -> FloatArray:
        """The time kernel's density (per day) at ``lag`` days: ``sum_k v_k omega_k
        e^{-omega_k lag}``."""
        lag = np.asarray(lag, dtype=np.float64)
        out = np.zeros(lag.shape)
        for om, v in zip(self.omegas_, self.time_mix_, strict=True):
            out = out + float(v) * om * np.exp(-om * lag)
        return np.asarray(out, dtype=np.float64)

    def _ring_mass(
        self, raster: Raster, live: npt.NDArray[np.bool_], start: float, end: float
    ) -> FloatArray:
        """First-generation offspring of the live history events in ``[start, end)`` per pixel,
        spread evenly over each ring of the histogram kernel (a convolution with the ring)."""
        from scipy.signal import fftconvolve

        kern = self.kernel_
        assert kern is not None
        a = np.maximum(start - self.t_[live], 0.0)
        b = np.minimum(end - self.t_[live], self.max_days)
        frac = kern.time_fraction(a, np.maximum(a, b))  # (events, time bins)
        per_ring = (self.theta_[self.mark_index_[live]][:, None] * frac) @ kern.weights
        pix = raster.pixel_of(self.x_[live], self.y_[live])
        ok = pix >= 0
        half = int(math.ceil(kern.space_edges[-1] / raster.res))
        off = (np.arange(-half, half + 1)) * raster.res
        ox, oy = np.meshgrid(off, off)
        dist = np.hypot(ox, oy)
        out = np.zeros((raster.ny, raster.nx))
        for lv in range(per_ring.shape[1]):
            w = per_ring[ok, lv]
            if not np.any(w > 0):
                continue
            lo, hi = kern.space_edges[lv], kern.space_edges[lv + 1]
            stamp = ((dist >= lo) & (dist < hi)).astype(np.float64)
            if stamp.sum() == 0:  # a ring narrower than a pixel: its nearest pixels
                gap = np.abs(dist - (lo + hi) / 2.0)
                stamp = (gap <= gap.min() + 1e-9).astype(np.float64)
            stamp /= stamp.sum()
            raw = np.bincount(pix[ok], weights=w, minlength=raster.nx * raster.ny)
            out += fftconvolve(raw.reshape(raster.ny, raster.nx), stamp, mode="same")
        return np.asarray(np.maximum(out, 0.0).ravel(), dtype=np.float64)

    def _predict(
        self, support: Support, start: float, end: float
    ) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
        n_units = support.n_units
        if len(self.t_) == 0 or self.background_ is None:
            zero = np.zeros(n_units)
            return zero, zero.copy(), {"background": zero.copy(), "triggered": zero.copy()}
        bg = self.background_
        assert bg is not None
        res = _quantised_resolution(min(self.sigma_, min(bg.levels)))
        widest = max(float(self.sigmas_.max()), max(bg.levels))
        raster, unit_of_pixel = support_frame(support, res, 4.0 * widest)
        inside = unit_of_pixel >= 0
        w_bg = self.p_background_
        level = self.background_level(start, end)
        edge = inside if self.edge_correction else None
        bg_mass = bg.mass_on(raster, w_bg, inside=edge)
        units = unit_of_pixel[inside]
        background: FloatArray = np.bincount(
            units, weights=bg_mass[inside], minlength=n_units
        ).astype(np.float64) * (self.mu_ * level * (end - start))
        length = end - start
        n_bar, omega = min(self.branching_ratio_, 0.99), self.omega_
        k = omega * (1.0 - n_bar)
        # cascade of background events occurring inside the window
        bg_cascade = (
            n_bar
            * self.mu_
            * level
            / (1.0 - n_bar)
            * (length - (1.0 - math.exp(-k * length)) / k)
        )
        scales = list(zip(self.sigmas_, self.scale_weights_, strict=True))
        cascade_mass = sum(
            (
                bg.mass_on(raster, w_bg, widen=float(s), inside=edge) * (bg_cascade * float(w))
                for s, w in scales
            ),
            np.zeros(raster.nx * raster.ny),
        )
        # offspring of the history in the window, first generation and their descendants
        w_trig = self.time_weights(start, end)
        live = w_trig > 0
        if live.any():
            if self.kernel_ is not None:
                trig_mass = self._ring_mass(raster, live, start, end)
            else:
                trig_mass = sum(
                    (raster.smooth(self.x_[live], self.y_[live], w_trig[live] * float(w),
                                   float(s)) for s, w in scales),
                    np.zeros(raster.nx * raster.ny),
                )  # fmt: skip
            lag = start - self.t_[live]  # intensity R_i of each live event at the window start
            # later generations use one exponential (with two time scales: matched to the
            # mixture's mean delay, an approximation, as for the histogram kernel)
            rate_now = self.theta_[self.mark_index_[live]] * omega * np.exp(-omega * lag)
            r_total = float(rate_now.sum())
            extra = r_total * (
                (1.0 - math.exp(-k * length)) / k - (1.0 - math.exp(-omega * length)) / omega
            )
            if extra > 0 and r_total > 0:
                for s, w in scales:
                    cascade_mass += raster.smooth(
                        self.x_[live],
                        self.y_[live],
                        rate_now * (extra / r_total) * float(w),
                        float(s) * math.sqrt(2.0),
                    )
            cascade_mass += trig_mass
        triggered: FloatArray = np.bincount(
            units, weights=cascade_mass[inside], minlength=n_units
        ).astype(np.float64)
        count: FloatArray = background + triggered
        return count, count * self.mean_harm_, {"background": background, "triggered": triggered}
