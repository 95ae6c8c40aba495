"""Deployment outcome evaluation: what was delivered, what happened, and was it displaced.

Modules
-------
traces          GPS/AVL traces (GPX, CSV) and patrol logs, call signs pseudonymised on import
dosage          delivered patrol per cell per hour, visits, dwell, gaps, patrol outside the area
counts          windows, deployment areas and counting of events in areas and units
outcome         one deployment against its forecast and matched controls; pooling over many
displacement    the Weighted Displacement Quotient and Weighted Displacement Difference
pooling         DerSimonian-Laird random-effects pooling
trial           randomised crossover allocation (with its SHA-256 digest) and its analysis
sources         deployment values from governance's proposal views (debriefed or reviewed)
injection       injected-effect, placebo and simulated-trial validation on real events
report          deployment outcome and quarterly evaluation reports (HTML, PDF)
jobs            the services behind the ``outcomes`` and ``fairness-audit`` commands

The fairness audit of place-based forecasts is :mod:`patrolcast.oversight.fairness_audit`.
"""

from __future__ import annotations

from patrolcast.oversight.outcomes.counts import (
    DeploymentArea,
    Periods,
    Window,
    expected_in_area,
)
from patrolcast.oversight.outcomes.displacement import (
    scaled_wdd,
    weighted_displacement_difference,
    weighted_displacement_quotient,
)
from patrolcast.oversight.outcomes.dosage import Dosage, Visit, compute_dosage
from patrolcast.oversight.outcomes.outcome import (
    DeploymentOutcome,
    Effect,
    ForecastCheck,
    estimate_effect,
    evaluate_deployment,
    forecast_check,
    pool_outcomes,
    pooled_ratio,
)
from patrolcast.oversight.outcomes.pooling import PooledEffect, random_effects
from patrolcast.oversight.outcomes.traces import (
    PatrolLogEntry,
    Trace,
    pseudonymise,
    read_gpx,
    read_patrol_log,
    read_trace,
    read_trace_csv,
    write_trace,
)

__all__ = [
    "DeploymentArea",
    "DeploymentOutcome",
    "Dosage",
    "Effect",
    "PatrolLogEntry",
    "ForecastCheck",
    "Periods",
    "PooledEffect",
    "Trace",
    "Visit",
    "Window",
    "compute_dosage",
    "estimate_effect",
    "expected_in_area",
    "evaluate_deployment",
    "forecast_check",
    "pool_outcomes",
    "pooled_ratio",
    "pseudonymise",
    "random_effects",
    "read_gpx",
    "read_patrol_log",
    "read_trace",
    "read_trace_csv",
    "scaled_wdd",
    "weighted_displacement_difference",
    "weighted_displacement_quotient",
    "write_trace",
]
