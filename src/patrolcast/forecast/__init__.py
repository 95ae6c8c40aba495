"""Forecasters of where serious violence is likely.

One estimator contract (:mod:`patrolcast.forecast.base`), one module per method.
"""

from patrolcast.forecast.base import Forecast, Forecaster, NotFittedError

__all__ = ["Forecast", "Forecaster", "NotFittedError"]
