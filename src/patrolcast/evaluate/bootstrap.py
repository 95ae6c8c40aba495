"""Bootstrap confidence intervals over backtest origins (Efron & Tibshirani 1993, ch. 13).

Origins are the resampling unit: each replicate draws ``n_origins`` origins with replacement
and averages the per-origin metric. The percentile interval is the ``(1 - level) / 2`` and
``(1 + level) / 2`` quantiles of the replicate means. The same draws are used for every method
and area fraction (a paired bootstrap), so differences between methods are compared on the same
resampled origins; the generator is seeded, so a report is reproducible.

References
----------
Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from patrolcast.evaluate.backtest import BacktestResult

__all__ = ["summarise", "paired_differences", "METRICS"]

METRICS: tuple[str, ...] = ("hit_rate", "pai", "pei_star")


def _draws(n_origins: int, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_origins, size=(n_boot, n_origins))


def _ci(values: np.ndarray, draws: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean over origins and percentile CI; origins with NaN (no events) are left out."""
    ok = np.isfinite(values)
    if not ok.any():
        return (float("nan"),) * 3
    mean = float(values[ok].mean())
    sampled = values[draws]
    with np.errstate(invalid="ignore"):
        reps = np.nanmean(np.where(np.isfinite(sampled), sampled, np.nan), axis=1)
    reps = reps[np.isfinite(reps)]
    lo, hi = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2])
    return mean, float(lo), float(hi)


def _matrix(result: BacktestResult, metric: str, method: str, fraction: float) -> np.ndarray:
    rows = result.rows
    sel = rows[(rows["method"] == method) & np.isclose(rows["fraction"], fraction)]
    return sel.sort_values("origin_days")[metric].to_numpy(dtype=np.float64)


def summarise(
    result: BacktestResult,
    *,
    metrics: Sequence[str] = METRICS,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 20080101,
) -> pd.DataFrame:
    """Mean of each metric over origins with a percentile bootstrap CI.

    Returns a DataFrame with one row per (method, fraction) and, per metric, the columns
    ``<metric>``, ``<metric>_lo``, ``<metric>_hi``; plus ``n_origins``.
    """
    draws = _draws(result.n_origins, n_boot, seed)
    out = []
    for method in result.methods:
        for f in result.fractions:
            row: dict[str, object] = {"method": method, "fraction": f}
            for metric in metrics:
                mean, lo, hi = _ci(_matrix(result, metric, method, f), draws, level)
                row.update({metric: mean, f"{metric}_lo": lo, f"{metric}_hi": hi})
            row["n_origins"] = result.n_origins
            out.append(row)
    return pd.DataFrame(out)


def paired_differences(
    result: BacktestResult,
    baseline: str,
    *,
    metric: str = "hit_rate",
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 20080101,
) -> pd.DataFrame:
    """Mean per-origin difference ``method - baseline`` with a paired bootstrap CI.

    An interval excluding 0 means the method beat (or lost to) the baseline on these origins.
    """
    if baseline not in result.methods:
        return pd.DataFrame(columns=["method", "fraction", "diff", "diff_lo", "diff_hi"])
    draws = _draws(result.n_origins, n_boot, seed)
    out = []
    for method in result.methods:
        if method == baseline:
            continue
        for f in result.fractions:
            d = _matrix(result, metric, method, f) - _matrix(result, metric, baseline, f)
            mean, lo, hi = _ci(d, draws, level)
            out.append({"method": method, "fraction": f, "diff": mean, "diff_lo": lo,
                        "diff_hi": hi})
    return pd.DataFrame(out)
