"""Retrospective kernel-density hotspot forecast (Chainey, Tompson & Uhlig 2008).

The events of the last ``lookback_days`` before the cut-off are smoothed with a spatial kernel
of ``bandwidth`` metres; the smoothed surface, read as a rate, is the forecast for the window.

What is computed, exactly
-------------------------
Let the lookback period be ``[cutoff - L, cutoff)`` (moved to a month start for month-precision
data, see :func:`patrolcast.forecast.naive.lookback_start`), ``W = end - start`` the window
length, ``w_j`` the count (or harm) of event ``j`` and ``K`` the kernel
(:class:`~patrolcast.forecast.kernels.SpatialKernel`, a density integrating to 1). The surface is
``D(u) = sum_j w_j K(|u - p_j|)`` (events per m² over the lookback) and the expected count of a
unit is its integral over the unit, per day of lookback, times the window:
``E_i = W / L * integral over unit i of D(u) du``.

- On a :class:`~patrolcast.geo.support.Grid` the integral is ``D(c_i) * A_i`` with ``c_i`` the
  cell centre and ``A_i`` the cell's area, and the events binned to cell centres (``binning``);
  the sum runs as a convolution (:func:`~patrolcast.forecast.kernels.grid_kernel_sum`).
- On an :class:`~patrolcast.geo.support.AreaSupport` (LSOAs, wards...) the surface is integrated
  over each polygon by the midpoint rule on a grid of ``area_resolution`` metres
  (:func:`~patrolcast.forecast.kernels.area_kernel_integral`). Evaluating the surface at one
  point and multiplying by the area would be badly wrong for areas larger than the bandwidth:
  area counts sit at the area's representative point, so the surface peaks there.

With ``normalise=True`` (default) ``E`` is then rescaled so that its sum equals ``W / L`` times
the weight of the lookback events that fall inside the support: the kernel's mass that spills
outside the study area (an edge effect) is spread back over the units in proportion to the
surface. Harm is the same with harm weights.

References
----------
Chainey, S., Tompson, L. & Uhlig, S. (2008). The utility of hotspot mapping for predicting
spatial patterns of crime. *Security Journal* 21, 4-28.
Silverman, B. W. (1986). *Density Estimation for Statistics and Data Analysis*. Chapman & Hall.
"""

from __future__ import annotations

import math

import numpy as np

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


class KDEForecaster(Forecaster):
    """Kernel density of the last ``lookback_days``, as expected counts and harm per unit.

    Parameters
    ----------
    bandwidth : kernel bandwidth ``h`` in metres (the Gaussian's standard deviation, or the
        quartic kernel's radius). Chainey et al. (2008) found results fairly robust to it;
        one to two grid cells is usual.
    lookback_days : how far back events are smoothed (``L``).
    kernel : ``"gaussian"`` or ``"quartic"``.
    truncate : cut the kernel off beyond ``truncate * bandwidth`` metres; ``None`` means no
        cut-off for the Gaussian (the quartic ends at ``h`` anyway).
    binning : how events are placed on a grid before the FFT: ``"nearest"`` cell centre or
        ``"linear"`` (bilinear split between four centres).
    normalise : rescale so the forecast's total equals the recent rate times the window.
    area_resolution : on areas, the spacing in metres of the grid used to integrate the
        surface over each area (see :func:`~patrolcast.forecast.kernels.area_kernel_integral`).
    """

    name = "kde"

    def __init__(
        self,
        *,
        bandwidth: float = 300.0,
        lookback_days: float = 56.0,
        kernel: str = "gaussian",
        truncate: float | None = None,
        binning: str = "nearest",
        normalise: bool = True,
        area_resolution: float = 100.0,
    ) -> None:
        self.bandwidth = bandwidth
        self.lookback_days = lookback_days
        self.kernel = kernel
        self.truncate = truncate
        self.binning = binning
        self.normalise = normalise
        self.area_resolution = area_resolution

    def _validate_params(self) -> None:
        if self.kernel not in ("gaussian", "quartic"):
            raise ValueError(f"kde kernel must be 'gaussian' or 'quartic', got {self.kernel!r}")
        if not float(self.lookback_days) > 0:
            raise ValueError(f"lookback_days must be positive, got {self.lookback_days}")
        if self.truncate is not None and not float(self.truncate) > 0:
            raise ValueError(f"truncate must be positive or None, got {self.truncate}")
        if self.binning not in BINNINGS:
            raise ValueError(f"binning must be one of {', '.join(BINNINGS)}, got {self.binning!r}")
        if not float(self.area_resolution) > 0:
            raise ValueError(f"area_resolution must be positive, got {self.area_resolution}")
        self.spatial_kernel()  # checks the bandwidth

    def spatial_kernel(self) -> SpatialKernel:
        """The kernel these hyperparameters describe."""
        radius = math.inf if self.truncate is None else float(self.truncate) * float(self.bandwidth)
        return SpatialKernel(self.kernel, float(self.bandwidth), radius)

    def _fit(self, history: EventSet, cutoff: float) -> None:
        self.recent_, self.lookback_length_ = recent(history, cutoff, float(self.lookback_days))
        self.kernel_ = self.spatial_kernel()

    def _predict(
        self, support: Support, start: float, end: float
    ) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
        ev = self.recent_
        weights = np.vstack([ev.count, ev.harm])
        if isinstance(support, Grid):
            density = grid_kernel_sum(
                support, ev.x, ev.y, weights, self.kernel_, binning=self.binning
            )
            mass = density * support.unit_area[None, :]
        elif isinstance(support, AreaSupport):
            mass = area_kernel_integral(
                support,
                ev.x,
                ev.y,
                weights,
                self.kernel_,
                resolution=float(self.area_resolution),
                binning=self.binning,
            )
        else:
            density = point_kernel_sum(support.centroids, ev.x, ev.y, weights, self.kernel_)
            mass = density * support.unit_area[None, :]
        scale = (end - start) / self.lookback_length_
        expected = mass * scale
        if self.normalise:
            inside_count, inside_harm = counts_per_unit(support, ev)
            targets = np.array([inside_count.sum(), inside_harm.sum()]) * scale
            totals = expected.sum(axis=1)
            for row in range(2):
                expected[row] = (
                    expected[row] * (targets[row] / totals[row]) if totals[row] > 0 else 0.0
                )
        return expected[0], expected[1], {}
