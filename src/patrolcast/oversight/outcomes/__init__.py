"""Deployment outcome evaluation: what was delivered, what happened, and was it displaced.

Modules
-------
counts          windows, deployment areas and counting of events in areas and units
outcome         one deployment against its forecast and matched controls; pooling over many
displacement    the Weighted Displacement Quotient and Weighted Displacement Difference
pooling         DerSimonian-Laird random-effects pooling of log rate ratios
injection       injected-effect and placebo validation on real events
"""

from __future__ import annotations

from patrolcast.oversight.outcomes.counts import DeploymentArea, Periods, Window
from patrolcast.oversight.outcomes.displacement import (
    scaled_wdd,
    weighted_displacement_difference,
    weighted_displacement_quotient,
)
from patrolcast.oversight.outcomes.outcome import (
    DeploymentOutcome,
    Effect,
    ForecastCheck,
    estimate_effect,
    evaluate_deployment,
    forecast_check,
    pool_outcomes,
)
from patrolcast.oversight.outcomes.pooling import PooledEffect, random_effects

__all__ = [
    "DeploymentArea",
    "DeploymentOutcome",
    "Effect",
    "ForecastCheck",
    "Periods",
    "PooledEffect",
    "Window",
    "estimate_effect",
    "evaluate_deployment",
    "forecast_check",
    "pool_outcomes",
    "random_effects",
    "scaled_wdd",
    "weighted_displacement_difference",
    "weighted_displacement_quotient",
]
