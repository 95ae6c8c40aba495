"""Spatial displacement and diffusion of benefits: the WDQ and the WDD.

Notation: ``A`` treated area, ``B`` buffer (displacement catchment), ``C`` control area, with
``b`` the period before and ``a`` the period after (here: during the deployment window).

Weighted Displacement Quotient (Bowers & Johnson 2003, *Journal of Quantitative Criminology*
19(3)):

    success measure    SM  = A_a / C_a - A_b / C_b        (< 0: the treated area improved)
    buffer measure     BM  = B_a / C_a - B_b / C_b
    WDQ                    = BM / SM

With ``SM < 0``: ``WDQ > 0`` is diffusion of benefits (the buffer improved too), ``WDQ < 0``
displacement, ``WDQ < -1`` displacement larger than the gain (a net loss). Undefined when a
control count is zero or ``SM >= 0`` (no success to weigh against).

Weighted Displacement Difference (Wheeler & Ratcliffe 2018, *Crime Science* 7:7):

    WDD = (T_a - T_b) - (Ct_a - Ct_b) + (D_a - D_b) - (Cd_a - Cd_b)

with a control ``Ct`` for the treated area and ``Cd`` for the displacement area, and, treating
every count as an independent Poisson variable, ``Var(WDD)`` = the sum of the eight counts.
Negative WDD is a net reduction. :func:`weighted_displacement_difference` is exactly the
published statistic (equal-length periods, controls of comparable size). The deployment outcome
uses :func:`scaled_wdd`, which rescales longer before-periods and larger controls to the
treated area's level (``T_b / Ct_b``) and propagates the scaling into the variance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy.stats import norm

from patrolcast.errors import InputError

__all__ = [
    "WDD",
    "WDQ",
    "scaled_wdd",
    "weighted_displacement_difference",
    "weighted_displacement_quotient",
]


@dataclass(frozen=True)
class WDQ:
    """The Weighted Displacement Quotient and its two measures (None when undefined)."""

    success_measure: float | None
    buffer_measure: float | None
    wdq: float | None
    reading: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WDD:
    """The Weighted Displacement Difference with its standard error and interval."""

    wdd: float
    se: float
    low: float
    high: float
    z: float
    p_value: float
    treated_change: float
    displacement_change: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check(*counts: float) -> None:
    for c in counts:
        if not math.isfinite(c) or c < 0:
            raise InputError("displacement counts must be non-negative numbers")


def weighted_displacement_quotient(
    a_before: float, a_after: float, b_before: float, b_after: float,
    c_before: float, c_after: float,
) -> WDQ:  # fmt: skip
    """WDQ of Bowers & Johnson (2003) from treated, buffer and control counts."""
    _check(a_before, a_after, b_before, b_after, c_before, c_after)
    if c_before == 0 or c_after == 0:
        return WDQ(None, None, None, "undefined: a control count is zero")
    sm = a_after / c_after - a_before / c_before
    bm = b_after / c_after - b_before / c_before
    if sm >= 0:
        return WDQ(sm, bm, None, "undefined: no relative reduction in the treated area")
    wdq = bm / sm
    if wdq > 0:
        reading = "diffusion of benefits into the buffer"
    elif wdq == 0:
        reading = "no change in the buffer"
    elif wdq >= -1:
        reading = "displacement smaller than the reduction (net benefit)"
    else:
        reading = "displacement larger than the reduction (net loss)"
    return WDQ(sm, bm, wdq, reading)


def weighted_displacement_difference(
    t_before: float, t_after: float, ct_before: float, ct_after: float,
    d_before: float, d_after: float, cd_before: float, cd_after: float,
    *, level: float = 0.95,
) -> WDD:  # fmt: skip
    """WDD of Wheeler & Ratcliffe (2018) with its Poisson standard error."""
    _check(t_before, t_after, ct_before, ct_after, d_before, d_after, cd_before, cd_after)
    return _wdd(
        t_after - t_before - (ct_after - ct_before),
        d_after - d_before - (cd_after - cd_before),
        t_before + t_after + ct_before + ct_after + d_before + d_after + cd_before + cd_after,
        level,
    )


def scaled_wdd(
    t_before: float, t_after: float, ct_before: float, ct_after: float,
    d_before: float, d_after: float, cd_before: float, cd_after: float,
    *, period_ratio: float = 1.0, level: float = 0.95, dispersion: float = 1.0,
    alpha: float = 0.0,
) -> WDD:  # fmt: skip
    """WDD with a before-period ``1/period_ratio`` times as long as the after-period and
    controls scaled to the treated (and displacement) area's before-count.

    ``period_ratio`` = after length / before length; each before count is multiplied by it.
    The control change is multiplied by ``rho = T_b / Ct_b`` (``D_b / Cd_b`` for the buffer),
    so ``Var`` = ``T_a + s² T_b + rho² (Ct_a + s² Ct_b) + ...``, times ``dispersion`` (>= 1)
    for counts more variable than Poisson. With ``period_ratio = 1`` and controls as large as
    the areas they stand for, this is the published WDD. ``alpha`` (>= 0) adds the
    negative-binomial term ``alpha * mu²`` for the after-count of the treated and displacement
    areas (``mu`` their counterfactual ``rho * C_a``): crime counts vary more than Poisson.
    """
    _check(t_before, t_after, ct_before, ct_after, d_before, d_after, cd_before, cd_after)
    if period_ratio <= 0 or dispersion < 1 or alpha < 0:
        raise InputError("period_ratio must be positive, dispersion at least 1, alpha >= 0")
    s = period_ratio
    rho_t = t_before / ct_before if ct_before > 0 else 0.0
    rho_d = d_before / cd_before if cd_before > 0 else 0.0
    treated = (t_after - s * t_before) - rho_t * (ct_after - s * ct_before)
    displaced = (d_after - s * d_before) - rho_d * (cd_after - s * cd_before)
    var = (
        t_after + s * s * t_before + rho_t**2 * (ct_after + s * s * ct_before)
        + d_after + s * s * d_before + rho_d**2 * (cd_after + s * s * cd_before)
    )  # fmt: skip
    extra = alpha * ((rho_t * ct_after) ** 2 + (rho_d * cd_after) ** 2)
    return _wdd(treated, displaced, dispersion * var + extra, level)


def _wdd(treated: float, displaced: float, var: float, level: float) -> WDD:
    if not 0 < level < 1:
        raise InputError("the interval level must lie between 0 and 1")
    total = treated + displaced
    se = math.sqrt(max(var, 0.0))
    q = float(norm.ppf(0.5 + level / 2))
    z = total / se if se > 0 else 0.0
    p = float(2 * norm.sf(abs(z))) if se > 0 else 1.0
    return WDD(total, se, total - q * se, total + q * se, z, p, treated, displaced)
