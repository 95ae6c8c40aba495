"""Synthetic events and two toy forecasters with a known ranking, for backtest tests."""

from __future__ import annotations

import numpy as np

from patrolcast.events import EventSet
from patrolcast.forecast.base import FloatArray, Forecaster
from patrolcast.geo.support import Grid, Support

CRS = "EPSG:27700"


def hotspot_events(seed: int = 1, days: int = 200, *, rate: float = 6.0) -> EventSet:
    """Daily events on a 2 km square: 80% in two 250 m hot cells, 20% uniform."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(rate * days)
    t = np.sort(rng.uniform(0, days, n)) + 19_000.0  # days since epoch (2022)
    hot = rng.random(n) < 0.8
    centre = np.where(rng.random(n) < 0.5, 625.0, 1375.0)
    x = np.where(hot, centre + rng.uniform(-125, 125, n), rng.uniform(0, 2000, n))
    y = np.where(hot, centre + rng.uniform(-125, 125, n), rng.uniform(0, 2000, n))
    return EventSet.from_arrays(t, x, y, crs=CRS)


def grid() -> Grid:
    return Grid.covering(0, 0, 1999.9, 1999.9, cell_size=250.0, crs=CRS)


class CountsForecaster(Forecaster):
    """Counts of the last ``days`` days per unit (a good method on stationary hotspots)."""

    name = "counts"

    def __init__(self, *, days: float = 28.0) -> None:
        self.days = days

    def _fit(self, history: EventSet, cutoff: float) -> None:
        self.recent_ = history.between(cutoff - self.days, cutoff)

    def _predict(
        self, support: Support, start: float, end: float
    ) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
        idx = support.assign(self.recent_.x, self.recent_.y)
        ok = idx >= 0
        c = np.bincount(idx[ok], minlength=support.n_units).astype(float)
        c *= (end - start) / self.days
        return c, c.copy(), {}


class FlatForecaster(Forecaster):
    """The same expectation everywhere (no skill: ranks every unit equal)."""

    name = "flat"

    def __init__(self) -> None:
        pass

    def _fit(self, history: EventSet, cutoff: float) -> None:
        self.rate_ = len(history.between(cutoff - 28, cutoff)) / 28.0

    def _predict(
        self, support: Support, start: float, end: float
    ) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
        c = np.full(support.n_units, self.rate_ * (end - start) / support.n_units)
        return c, c.copy(), {}


class SpyForecaster(CountsForecaster):
    """Refuses any training record outside ``[cutoff - window, cutoff)``."""

    name = "spy"

    def __init__(self, *, days: float = 28.0, window: float = 56.0) -> None:
        self.days = days
        self.window = window

    def _fit(self, history: EventSet, cutoff: float) -> None:
        if len(history) and (history.t.max() >= cutoff or history.t.min() < cutoff - self.window):
            raise AssertionError("training data outside the fold's training window")
        super()._fit(history, cutoff)
