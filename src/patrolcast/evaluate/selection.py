"""Hyperparameters chosen on training data only: nested rolling-origin validation.

For a dataset and horizon, each candidate setting of a method (bandwidth, look-back, time
decay) is backtested on rolling origins that all end before ``before`` (the first origin of
the evaluation, or the start of a forecast window), and the setting with the best mean hit
rate at ``fraction`` of the area is kept. The scoring windows of the evaluation are never seen
(the inner loop of a nested cross-validation, Varma & Simon 2006; for time series, Tashman
2000). The chosen values and the whole validation curve go into the report and the snapshot.

There are no per-city defaults: the grid of candidates is the same for every dataset.

References
----------
Varma, S. & Simon, R. (2006). Bias in error estimation when using cross-validation for model
selection. BMC Bioinformatics 7, 91.
Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy. IJF 16, 437-450.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patrolcast.errors import InputError
from patrolcast.evaluate.splitters import Period, RollingOrigin
from patrolcast.events import EventSet
from patrolcast.geo.support import Support

__all__ = ["CANDIDATES", "Selection", "select_params", "selectable"]

#: Candidate values per method (the same for every dataset and horizon).
CANDIDATES: dict[str, dict[str, list[Any]]] = {
    "kde": {"bandwidth": [150.0, 300.0, 600.0], "lookback_days": [56.0, 182.0, 365.0, 730.0]},
    "prospective": {
        "bandwidth": [250.0, 500.0],
        "lookback_days": [56.0, 182.0, 365.0],
        "time_unit_days": [7.0, 28.0],
    },
    "longrun": {
        "half_life_days": [None, 365.0, 730.0, 1460.0, 2920.0],
        "bandwidth": [250.0, 500.0, 750.0],
        "mix": [0.0, 0.25, 0.5],
    },
}


def selectable(method: str) -> bool:
    return method in CANDIDATES


@dataclass
class Selection:
    """The values chosen for one method, and the validation curve they were chosen on."""

    method: str
    chosen: dict[str, Any]
    curve: list[dict[str, Any]] = field(default_factory=list)
    validation_origins: tuple[str, str] = ("", "")
    n_origins: int = 0
    fraction: float = 0.05

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "chosen": self.chosen,
            "criterion": f"mean hit rate at {100 * self.fraction:g}% of the area",
            "validation_origins": list(self.validation_origins),
            "n_origins": self.n_origins,
            "curve": self.curve,
        }


#: Parameters that do nothing at one value of another: (switch, off value, idle parameter).
#: Such candidates are tried once, with the idle parameter's first value.
_IDLE: dict[str, tuple[str, Any, str]] = {"longrun": ("mix", 0.0, "bandwidth")}


def _grid(method: str) -> list[dict[str, Any]]:
    space = CANDIDATES[method]
    keys = list(space)
    grid = [dict(zip(keys, values, strict=True)) for values in itertools.product(*space.values())]
    if method in _IDLE:
        switch, off, idle = _IDLE[method]
        first = space[idle][0]
        grid = [c for c in grid if not (c[switch] == off and c[idle] != first)]
    return grid


def select_params(
    events: EventSet,
    support: Support,
    method: str,
    *,
    horizon: Period,
    before: float,
    n_origins: int = 8,
    step: Period | None = None,
    fraction: float = 0.05,
    protocol: str = "mask",
    timezone: str | None = None,
) -> Selection:
    """Choose ``method``'s hyperparameters on rolling origins ending at ``before``.

    Only records before ``before`` are passed on: the inner backtest cannot see later data.
    Ties keep the earlier candidate in :data:`CANDIDATES` order (smaller bandwidth, shorter
    look-back first).
    """
    from patrolcast.evaluate.backtest import run_backtest
    from patrolcast.forecast.registry import make_forecaster

    if not selectable(method):
        raise InputError(f"no candidate grid for method {method!r}")
    past = events.before(before)
    if len(past) == 0:
        raise InputError("no records before the evaluation to choose parameters on")
    grid = _grid(method)
    models = {
        f"c{i}": make_forecaster(method, horizon_days=horizon.approx_days, **params)
        for i, params in enumerate(grid)
    }
    splitter = RollingOrigin(
        horizon=horizon, n_origins=n_origins, step=step, last_end=None, timezone=timezone
    )
    result = run_backtest(
        past, support, models, splitter, fractions=(fraction,), protocol=protocol,
        timezone=timezone,
    )
    rows = result.rows
    scores = rows.groupby("method", sort=False)["hit_rate"].mean()
    curve = []
    best_i, best = 0, -np.inf
    for i, params in enumerate(grid):
        value = float(scores.get(f"c{i}", np.nan))
        curve.append({**params, "hit_rate": value})
        if np.isfinite(value) and value > best + 1e-12:
            best_i, best = i, value
    origins = result.meta.get("origins", [""])
    return Selection(
        method=method,
        chosen=dict(grid[best_i]),
        curve=curve,
        validation_origins=(str(origins[0]), str(origins[-1])),
        n_origins=result.n_origins,
        fraction=fraction,
    )
