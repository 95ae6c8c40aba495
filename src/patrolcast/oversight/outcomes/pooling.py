"""Pooling deployment effects: the DerSimonian-Laird random-effects estimate.

Each deployment contributes an effect ``y_i`` (a log rate ratio) with standard error ``s_i``.
With inverse-variance weights ``w_i = 1 / s_i²``, the fixed-effect mean and Cochran's Q are::

    ybar_F = sum w_i y_i / sum w_i,     Q = sum w_i (y_i - ybar_F)²

and the between-deployment variance (DerSimonian & Laird 1986, *Controlled Clinical Trials*
7:177)::

    tau² = max(0, (Q - (k - 1)) / (sum w - sum w² / sum w))

The random-effects estimate weighs by ``1 / (s_i² + tau²)``; ``I² = max(0, (Q - (k-1)) / Q)``
(Higgins & Thompson 2002). Hot-spot meta-analyses pool this way (Braga et al. 2019).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2, norm

from patrolcast.errors import InputError

__all__ = ["PooledEffect", "random_effects"]


@dataclass(frozen=True)
class PooledEffect:
    """A pooled log rate ratio and its reading as a percentage change."""

    k: int
    estimate: float
    se: float
    low: float
    high: float
    tau2: float
    q: float
    q_p_value: float
    i2: float
    fixed_estimate: float

    @property
    def rate_ratio(self) -> tuple[float, float, float]:
        """(estimate, low, high) as rate ratios (exp of the log scale)."""
        return math.exp(self.estimate), math.exp(self.low), math.exp(self.high)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rate_ratio"] = list(self.rate_ratio)
        return out


def random_effects(
    effects: npt.ArrayLike, ses: npt.ArrayLike, *, level: float = 0.95
) -> PooledEffect:
    """DerSimonian-Laird random-effects pooling of ``effects`` with standard errors ``ses``."""
    y = np.asarray(effects, dtype=float)
    s = np.asarray(ses, dtype=float)
    if y.shape != s.shape or y.ndim != 1 or y.size == 0:
        raise InputError("give one standard error per effect, and at least one effect")
    if not (np.isfinite(y).all() and np.isfinite(s).all()) or (s <= 0).any():
        raise InputError("effects must be finite and standard errors positive")
    if not 0 < level < 1:
        raise InputError("the interval level must lie between 0 and 1")
    w = 1.0 / s**2
    fixed = float((w * y).sum() / w.sum())
    k = int(y.size)
    q = float((w * (y - fixed) ** 2).sum())
    denom = float(w.sum() - (w**2).sum() / w.sum())
    tau2 = max(0.0, (q - (k - 1)) / denom) if k > 1 and denom > 0 else 0.0
    wr = 1.0 / (s**2 + tau2)
    est = float((wr * y).sum() / wr.sum())
    se = math.sqrt(1.0 / float(wr.sum()))
    z = float(norm.ppf(0.5 + level / 2))
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    q_p = float(chi2.sf(q, k - 1)) if k > 1 else 1.0
    return PooledEffect(k, est, se, est - z * se, est + z * se, tau2, q, q_p, i2, fixed)
