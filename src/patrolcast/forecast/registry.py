"""Every forecaster the product offers, by name, with defaults suited to a forecast horizon.

:data:`FORECASTERS` maps a method name to a *factory*: a callable taking the forecast horizon in
days (keyword ``horizon_days``) and returning an unfitted forecaster with sensible
hyperparameters for that horizon. Backtests and the CLI build methods only through it, and the
conformance suite (``tests/forecast/test_conformance.py``) runs over every entry.

Adding a forecaster
-------------------
1. Write ``patrolcast/forecast/<method>.py`` with a subclass of
   :class:`~patrolcast.forecast.base.Forecaster` (keyword-only hyperparameters stored as is;
   ``_fit(history, cutoff)`` and ``_predict(support, start, end)``).
2. Add a factory ``def _method(*, horizon_days: float) -> Forecaster`` below and one line in
   :data:`FORECASTERS`. Import the module inside the factory if it is heavy.
3. Run ``pytest tests/forecast/test_conformance.py``: the new entry is picked up automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from patrolcast.errors import InputError
from patrolcast.forecast.base import Forecaster

ForecasterFactory = Callable[..., Forecaster]


def _naive(*, horizon_days: float = 7.0) -> Forecaster:
    """Last period of the window's own length."""
    from patrolcast.forecast.naive import NaiveForecaster

    return NaiveForecaster()


def _kde(*, horizon_days: float = 7.0) -> Forecaster:
    """Gaussian KDE, bandwidth 300 m, of the last 8 weeks or 3 horizons, whichever is longer."""
    from patrolcast.forecast.kde import KDEForecaster

    return KDEForecaster(bandwidth=300.0, lookback_days=max(56.0, 3.0 * float(horizon_days)))


def _prospective(*, horizon_days: float = 7.0) -> Forecaster:
    """Bowers, Johnson & Pease (2004): 400 m and 8 weeks (or 2 horizons), weekly time unit."""
    from patrolcast.forecast.prospective import ProspectiveForecaster

    return ProspectiveForecaster(lookback_days=max(56.0, 2.0 * float(horizon_days)))


def _etas(*, horizon_days: float = 7.0) -> Forecaster:
    """ETAS / SEPP (Mohler et al. 2011) fitted by EM on the last two years (owner: imminent)."""
    from patrolcast.forecast.etas import ETASForecaster

    return ETASForecaster(history_days=730.0)


def _etas_histogram(*, horizon_days: float = 7.0) -> Forecaster:
    """ETAS with a histogram triggering kernel (stochastic declustering; owner: imminent)."""
    from patrolcast.forecast.etas import ETASForecaster

    return ETASForecaster(history_days=730.0, kernel="histogram")


def _naive_365(*, horizon_days: float = 7.0) -> Forecaster:
    """Baseline: the counts of the last 365 days, scaled to the window."""
    from patrolcast.forecast.naive import NaiveForecaster

    return NaiveForecaster(lookback_days=365.0)


def _naive_all(*, horizon_days: float = 7.0) -> Forecaster:
    """Baseline: the counts of all history before the cut-off, scaled to the window."""
    from patrolcast.forecast.naive import NaiveForecaster

    return NaiveForecaster(lookback_days="all")


def _boosted(*, horizon_days: float = 7.0) -> Forecaster:
    """Poisson gradient boosting on background, seasonal and near-repeat features per unit."""
    from patrolcast.forecast.boosted import BoostedForecaster

    return BoostedForecaster()


def _longrun(*, horizon_days: float = 7.0) -> Forecaster:
    """Long-run counts (4-year half-life) mixed 3:1 with their 250 m Gaussian neighbourhood."""
    from patrolcast.forecast.longrun import LongRunForecaster

    return LongRunForecaster()


#: The baselines every backtest includes (a reviewer's first question).
BASELINES: tuple[str, ...] = ("naive-365", "naive-all")

FORECASTERS: dict[str, ForecasterFactory] = {
    "naive": _naive,
    "naive-365": _naive_365,
    "naive-all": _naive_all,
    "boosted": _boosted,
    "longrun": _longrun,
    "kde": _kde,
    "prospective": _prospective,
    "etas": _etas,
    "etas-histogram": _etas_histogram,
}


def make_forecaster(name: str, *, horizon_days: float = 7.0, **params: Any) -> Forecaster:
    """The forecaster ``name`` with horizon defaults, overridden by ``params``.

    Raises
    ------
    InputError
        For an unknown method name or hyperparameter.
    """
    try:
        factory = FORECASTERS[name]
    except KeyError:
        known = ", ".join(sorted(FORECASTERS))
        raise InputError(f"unknown forecasting method {name!r}: choose from {known}") from None
    model = factory(horizon_days=horizon_days)
    if not params:
        return model
    merged = model.get_params()
    unknown = set(params) - set(merged)
    if unknown:
        raise InputError(
            f"method {name!r} has no parameter(s) {', '.join(sorted(unknown))}; "
            f"it takes {', '.join(sorted(merged))}"
        )
    merged.update(params)
    return type(model)(**merged)
