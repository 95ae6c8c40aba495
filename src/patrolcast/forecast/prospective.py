"""Prospective hotspot forecast (Bowers, Johnson & Pease 2004).

Burglary (and, since, other crime) risk is raised near recent events and the raise decays with
distance and with time. Bowers, Johnson & Pease (2004) score each cell by summing, over the
events of the last few weeks within a radius,

.. math:: r_i = \\sum_j \\frac{1}{1 + d_{ij} / h} \\cdot \\frac{1}{1 + a_j}

where ``d_ij`` is the distance from the cell to the event, ``h`` the distance unit (they used
cells of 50 m and a 400 m radius), and ``a_j`` the event's age in whole time units (weeks) at
the cut-off: ``floor((cutoff - t_j) / time_unit_days)``, so this week's events weigh 1, last
week's 1/2, and so on, up to ``lookback_days`` (they used two months).

The score is not a count. It is turned into expected counts by rescaling so that it sums, over
the support, to the recent rate times the window: ``E_i = r_i / sum(r) * N * W / L`` with ``N``
the weight of lookback events inside the support (harm alike, with harm weights). The spatial sum
runs as an FFT convolution on a grid (events weighted by their time weight and binned to cell
centres, the inverse-distance kernel evaluated at cell-centre offsets); the plain twin
:func:`prospective_score_reference` loops over events and units. On areas the score surface is
integrated over each polygon (:func:`~patrolcast.forecast.kernels.area_kernel_integral`), so
``r_i`` is the risk summed over the area's ground rather than read at one point.

References
----------
Bowers, K. J., Johnson, S. D. & Pease, K. (2004). Prospective hot-spotting: the future of crime
mapping? *British Journal of Criminology* 44(5), 641-658.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from patrolcast.events import EventSet
from patrolcast.forecast.base import FloatArray, Forecaster
from patrolcast.forecast.kernels import (
    BINNINGS,
    SpatialKernel,
    area_kernel_integral,
    grid_kernel_sum,
    point_kernel_sum,
)
from patrolcast.forecast.naive import counts_per_unit, recent
from patrolcast.geo.support import AreaSupport, Grid, Support


def time_weights(t: npt.ArrayLike, cutoff: float, time_unit_days: float) -> FloatArray:
    """``1 / (1 + floor((cutoff - t) / time_unit_days))``: this period 1, the last 1/2, ..."""
    age = np.floor((cutoff - np.asarray(t, dtype=np.float64)) / time_unit_days)
    return 1.0 / (1.0 + np.maximum(age, 0.0))


def prospective_score_reference(
    points: npt.ArrayLike,
    events: EventSet,
    cutoff: float,
    *,
    bandwidth: float,
    radius: float,
    time_unit_days: float,
    weight: str = "count",
) -> FloatArray:
    """Plain double loop of the Bowers-Johnson-Pease score at ``points`` ``(m, 2)``."""
    q = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    w = events.count if weight == "count" else events.harm
    out = np.zeros(q.shape[0], dtype=np.float64)
    for j in range(len(events)):
        tw = 1.0 / (1.0 + max(np.floor((cutoff - events.t[j]) / time_unit_days), 0.0))
        for i in range(q.shape[0]):
            d = float(np.hypot(q[i, 0] - events.x[j], q[i, 1] - events.y[j]))
            if d <= radius:
                out[i] += w[j] * tw / (1.0 + d / bandwidth)
    return out


class ProspectiveForecaster(Forecaster):
    """Risk decaying in space and time from recent events, as expected counts and harm.

    Parameters
    ----------
    bandwidth : distance unit ``h`` in metres: an event ``h`` away weighs 1/2, ``2h`` away 1/3.
    radius : events farther than this (metres) do not count.
    time_unit_days : the time unit (7: weeks).
    lookback_days : events older than this at the cut-off do not count.
    binning : how events are placed on a grid (see :mod:`patrolcast.forecast.kernels`).
    area_resolution : on areas, the risk surface is integrated over each polygon on a grid of
        this spacing (metres), so that an area's share grows with the risky ground it covers.
    """

    name = "prospective"

    def __init__(
        self,
        *,
        bandwidth: float = 250.0,
        radius: float = 400.0,
        time_unit_days: float = 7.0,
        lookback_days: float = 56.0,
        binning: str = "nearest",
        area_resolution: float = 100.0,
    ) -> None:
        self.bandwidth = bandwidth
        self.radius = radius
        self.time_unit_days = time_unit_days
        self.lookback_days = lookback_days
        self.binning = binning
        self.area_resolution = area_resolution

    def _validate_params(self) -> None:
        for name in ("time_unit_days", "lookback_days"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.binning not in BINNINGS:
            raise ValueError(f"binning must be one of {', '.join(BINNINGS)}, got {self.binning!r}")
        if not float(self.area_resolution) > 0:
            raise ValueError(f"area_resolution must be positive, got {self.area_resolution}")
        SpatialKernel("inverse_distance", float(self.bandwidth), float(self.radius))

    def _fit(self, history: EventSet, cutoff: float) -> None:
        self.recent_, self.lookback_length_ = recent(history, cutoff, float(self.lookback_days))
        self.kernel_ = SpatialKernel("inverse_distance", float(self.bandwidth), float(self.radius))
        self.time_weight_ = time_weights(self.recent_.t, cutoff, float(self.time_unit_days))

    def _predict(
        self, support: Support, start: float, end: float
    ) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
        ev = self.recent_
        weights = np.vstack([ev.count, ev.harm]) * self.time_weight_[None, :]
        if isinstance(support, Grid):
            score = grid_kernel_sum(
                support, ev.x, ev.y, weights, self.kernel_, binning=self.binning
            )
        elif isinstance(support, AreaSupport):
            score = area_kernel_integral(
                support,
                ev.x,
                ev.y,
                weights,
                self.kernel_,
                resolution=float(self.area_resolution),
                binning=self.binning,
            )
        else:
            score = point_kernel_sum(support.centroids, ev.x, ev.y, weights, self.kernel_)
        scale = (end - start) / self.lookback_length_
        inside_count, inside_harm = counts_per_unit(support, ev)
        targets = np.array([inside_count.sum(), inside_harm.sum()]) * scale
        totals = score.sum(axis=1)
        expected = np.zeros_like(score)
        for row in range(2):
            if totals[row] > 0:
                expected[row] = score[row] * (targets[row] / totals[row])
        return expected[0], expected[1], {}
