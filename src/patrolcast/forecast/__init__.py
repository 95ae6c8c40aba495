"""Forecasters of where serious violence is likely: one estimator contract, one module per method."""

from patrolcast.forecast.base import Forecast, Forecaster, NotFittedError

__all__ = ["Forecast", "Forecaster", "NotFittedError"]
