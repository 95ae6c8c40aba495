"""The outcome of one deployment: events and harm during and after the window against the
forecast it relied on and against matched control areas; displacement into a buffer.

Controls are chosen by nearest-neighbour matching from a pool of candidate units (grid cells or
areas that do not touch the treated area or its buffer) on two pre-period features: the density
of events (per km²) over the pre period and its trend (second half minus first half), each
standardised by its spread over the pool. Matching on density lets a large buffer be matched to
units of its own level rather than to the few extreme units whose counts happen to equal its
total (which would regress to the mean and bias the displacement estimate). The ``k`` nearest
are summed into one control. The counterfactual count of the treated area in a target window
(the deployment window, or the residual window after it) is the treated pre-period count scaled
by the controls' change (a ratio, or difference-in-differences on the log scale)::

    mu = T_pre * C_target / C_pre,    effect = T_target - mu,   rate ratio = T_target / mu

Variance of ``T_target - mu`` under no effect::

    Var = phi * mu + alpha * mu² + phi * mu² * (1/T_pre + 1/C_pre + 1/C_target)

``phi`` is 1 for counts and ``E[w²]/E[w]`` for harm (a compound Poisson sum of weights ``w``);
``alpha`` is the extra-Poisson variation of a unit's count around its own pre-period rate,
estimated by moments over the whole pool (a negative-binomial NB2 term). Without ``alpha`` the
interval would assume crime counts are Poisson from one month to the next, which they are not.

The interval for the effect is ``T_target`` minus the central quantiles of a negative binomial
with that mean and variance (discrete, so it covers at least its level even for the one or two
events a small area has in a week, where a normal approximation is too liberal).

The forecast comparison puts the observed count in the forecast's predictive interval (the
negative-binomial quantiles of the expected count with the same ``alpha``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import nbinom, norm, poisson

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.oversight.outcomes.counts import (
    DeploymentArea,
    Periods,
    count_in_geometry,
    count_per_unit,
    unit_polygons,
)
from patrolcast.oversight.outcomes.displacement import (
    WDD,
    WDQ,
    scaled_wdd,
    weighted_displacement_quotient,
)
from patrolcast.oversight.outcomes.pooling import PooledEffect, random_effects

__all__ = [
    "DeploymentOutcome",
    "Effect",
    "ForecastCheck",
    "estimate_effect",
    "evaluate_deployment",
    "forecast_check",
    "match_controls",
    "pool_outcomes",
    "pooled_ratio",
    "PooledRatio",
    "ratio_of_sums",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Effect:
    """Observed against counterfactual in one window, with intervals."""

    observed: float
    expected: float
    difference: float
    low: float
    high: float
    log_rr: float
    log_rr_se: float
    p_value: float
    level: float = 0.95
    se: float = 0.0  # standard deviation of the counterfactual count (normal approximation)

    @property
    def rate_ratio(self) -> tuple[float, float, float]:
        """(estimate, low, high) of ``observed / expected`` (log-scale interval)."""
        z = _z(self.level)
        lo = self.log_rr - z * self.log_rr_se
        hi = self.log_rr + z * self.log_rr_se
        return math.exp(self.log_rr), math.exp(lo), math.exp(hi)

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rate_ratio"] = list(self.rate_ratio)
        return out


@dataclass(frozen=True)
class ForecastCheck:
    """The observed count against the forecast's expected count and predictive interval."""

    observed: float
    expected: float
    low: float
    high: float
    difference: float
    within: bool
    alpha: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DeploymentOutcome:
    """Everything the outcome report shows for one deployment."""

    deployment_id: str
    measure: str
    periods: Periods
    treated: dict[str, float]
    buffer: dict[str, float]
    control: dict[str, float]
    buffer_control: dict[str, float]
    control_ids: tuple[str, ...]
    alpha_during: float
    alpha_post: float
    during: Effect
    residual: Effect
    forecast: ForecastCheck | None
    wdq: WDQ
    wdd: WDD
    wdd_poisson: WDD
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "measure": self.measure,
            "periods": {k: asdict(v) for k, v in
                        (("pre", self.periods.pre), ("during", self.periods.during),
                         ("post", self.periods.post))},
            "treated": self.treated,
            "buffer": self.buffer,
            "control": self.control,
            "buffer_control": self.buffer_control,
            "control_ids": list(self.control_ids),
            "alpha_during": self.alpha_during,
            "alpha_post": self.alpha_post,
            "during": self.during.as_dict(),
            "residual": self.residual.as_dict(),
            "forecast": None if self.forecast is None else self.forecast.as_dict(),
            "wdq": self.wdq.as_dict(),
            "wdd": self.wdd.as_dict(),
            "wdd_poisson": self.wdd_poisson.as_dict(),
            "notes": list(self.notes),
        }  # fmt: skip


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise InputError("the interval level must lie between 0 and 1")
    return float(norm.ppf(0.5 + level / 2))


def estimate_effect(
    t_pre: float, t_target: float, c_pre: float, c_target: float,
    *, alpha: float = 0.0, phi: float = 1.0, length_ratio: float = 1.0, level: float = 0.95,
) -> Effect:  # fmt: skip
    """Observed ``t_target`` against ``mu = t_pre * c_target / c_pre`` (module docstring).

    With no control events before (``c_pre == 0``) the controls say nothing and ``mu`` falls
    back to the treated pre-period rate times ``length_ratio`` (target length / pre length).
    Controls silent in the target window (``c_target == 0``) count as half an event, so that
    a zero in a short window never makes a single event look impossible.
    """
    for v in (t_pre, t_target, c_pre, c_target):
        if not math.isfinite(v) or v < 0:
            raise InputError("counts must be non-negative numbers")
    if alpha < 0 or phi <= 0:
        raise InputError("alpha must be >= 0 and phi > 0")
    ratio = max(c_target, 0.5) / c_pre if c_pre > 0 else length_ratio
    mu = t_pre * ratio
    noise = 1.0 / max(t_pre, 0.5) + (
        1.0 / max(c_pre, 0.5) + 1.0 / max(c_target, 0.5) if c_pre > 0 else 0.0
    )
    var = phi * mu + alpha * mu * mu + phi * mu * mu * noise
    # an empty pre-period (or silent controls) still leaves Poisson doubt
    var = max(var, phi * 0.5 * max(ratio, length_ratio))
    lo_q, hi_q, p = _predictive(t_target, mu, var, phi, level)
    diff = t_target - mu
    log_rr = math.log((t_target + 0.5 * phi) / (mu + 0.5 * phi))
    log_se = math.sqrt(var) / (mu + 0.5 * phi)
    return Effect(t_target, mu, diff, t_target - hi_q, t_target - lo_q, log_rr, log_se, p, level,
                  math.sqrt(var))


def _predictive(
    observed: float, mu: float, var: float, phi: float, level: float
) -> tuple[float, float, float]:
    """Central ``level`` interval of the counterfactual count and the two-sided p-value of
    ``observed``: a negative binomial with mean ``mu`` and variance ``var`` on the scale of
    ``Y / phi`` (Poisson when ``var <= phi * mu``). Discrete, so coverage is at least
    ``level``; a normal approximation is too liberal for the one or two events a small area
    has in a week."""
    _z(level)
    tail = (1 - level) / 2
    m, v, y = mu / phi, var / (phi * phi), observed / phi
    if m <= 0:
        return 0.0, 0.0, 1.0 if y == 0 else 0.0
    if v > m * (1 + 1e-9):
        n = m * m / (v - m)
        dist: Any = nbinom(n, n / (n + m))
    else:
        dist = poisson(m)
    lo, hi = float(dist.ppf(tail)), float(dist.ppf(1 - tail))
    k = math.floor(y)
    p = min(1.0, 2 * min(float(dist.cdf(k)), float(dist.sf(math.ceil(y) - 1))))
    return lo * phi, hi * phi, p


def forecast_check(
    observed: float, expected: float, *, alpha: float = 0.0, level: float = 0.95
) -> ForecastCheck:
    """``observed`` against the negative-binomial (Poisson if ``alpha == 0``) predictive
    interval of a forecast's ``expected`` count: the central ``level`` quantiles."""
    if expected < 0 or observed < 0 or alpha < 0:
        raise InputError("counts and alpha must be non-negative")
    tail = (1 - level) / 2
    if expected == 0:
        lo = hi = 0.0
    elif alpha > 0:
        n = 1.0 / alpha
        p = n / (n + expected)
        lo, hi = float(nbinom.ppf(tail, n, p)), float(nbinom.ppf(1 - tail, n, p))
    else:
        lo, hi = float(poisson.ppf(tail, expected)), float(poisson.ppf(1 - tail, expected))
    return ForecastCheck(observed, expected, lo, hi, observed - expected,
                         bool(lo <= observed <= hi), alpha)


def match_controls(
    target_halves: tuple[float, float], pool_halves: FloatArray, eligible: npt.NDArray[np.bool_],
    k: int,
) -> npt.NDArray[np.int64]:  # fmt: skip
    """Indices of the ``k`` eligible pool units nearest the target on (pre level, pre trend),
    each feature divided by its standard deviation over the eligible pool. Ties are broken by
    unit order, so the choice is deterministic."""
    if k < 1:
        raise InputError("match at least one control")
    halves = np.asarray(pool_halves, dtype=float)
    idx = np.flatnonzero(eligible)
    if idx.size == 0:
        raise InputError("no eligible control units: the pool is empty outside the buffer")
    feats = np.column_stack([halves.sum(axis=1), halves[:, 1] - halves[:, 0]])[idx]
    target = np.array([sum(target_halves), target_halves[1] - target_halves[0]])
    spread = feats.std(axis=0)
    spread[spread <= 0] = 1.0
    dist = np.sqrt((((feats - target) / spread) ** 2).sum(axis=1))
    order = np.argsort(dist, kind="stable")[: min(k, idx.size)]
    return idx[order]


def _alpha(pre: FloatArray, target: FloatArray, eligible: npt.NDArray[np.bool_],
           phi: float) -> float:  # fmt: skip
    """Moment estimate of the NB2 term: ``sum[(y - mu)² - phi*mu - phi*mu²/pre] / sum mu²``."""
    ok = eligible & (pre > 0)
    if ok.sum() < 10 or pre[ok].sum() == 0:
        return 0.0
    ratio = target[ok].sum() / pre[ok].sum()
    mu = pre[ok] * ratio
    y = target[ok]
    excess = ((y - mu) ** 2 - phi * mu - phi * mu * mu / pre[ok]).sum()
    denominator = float((mu * mu).sum())
    if denominator <= 0.0:  # no events in the target period anywhere: no extra variance seen
        return 0.0
    return float(max(0.0, excess / denominator))


def _phi(events: EventSet, measure: str) -> float:
    if measure == "count" or len(events) == 0:
        return 1.0
    w = events.harm / np.where(events.count > 0, events.count, 1.0)
    return float(max((w * w).sum() / max(w.sum(), 1e-12), 1e-12))


def evaluate_deployment(
    events: EventSet,
    deployment: DeploymentArea,
    pool: Any,
    *,
    pre_days: float = 365.0,
    residual_days: float = 7.0,
    n_controls: int = 10,
    measure: str = "count",
    level: float = 0.95,
    pool_ids: Sequence[str] | None = None,
) -> DeploymentOutcome:
    """Outcome of one deployment (module docstring). A pure function of its arguments.

    ``pool`` is a :class:`~patrolcast.geo.support.Grid` or
    :class:`~patrolcast.geo.support.AreaSupport` of candidate control units in the events' CRS;
    units touching the treated area or its buffer are never controls.
    """
    if events.crs != deployment.crs or pool.crs != deployment.crs:
        raise InputError(
            f"events ({events.crs}), pool ({pool.crs}) and deployment ({deployment.crs}) "
            "must share one metric CRS"
        )
    import shapely

    periods = Periods.around(
        deployment.start, deployment.end, pre_days=pre_days, residual_days=residual_days
    )
    near = events.between(periods.pre.start, periods.post.end)
    h1, h2 = periods.pre_halves()
    windows = {"pre_1": h1, "pre_2": h2, "during": periods.during, "post": periods.post}
    areas = {"treated": deployment.treated, "buffer": deployment.buffer_area}
    counted = {
        name: {w: count_in_geometry(near, geom, win, measure=measure) for w, win in
               windows.items()}
        for name, geom in areas.items()
    }  # fmt: skip
    for c in counted.values():
        c["pre"] = c["pre_1"] + c["pre_2"]
    per_unit = {w: count_per_unit(near, pool, win, measure=measure) for w, win in windows.items()}
    polys = unit_polygons(pool)
    eligible = ~shapely.intersects(polys, deployment.footprint)
    halves = np.column_stack([per_unit["pre_1"], per_unit["pre_2"]])
    pre_all = halves.sum(axis=1)
    density = halves / (np.asarray(pool.unit_area, dtype=float)[:, None] / 1e6)
    ids = list(pool_ids) if pool_ids is not None else list(pool.unit_ids)

    def control(
        target: dict[str, float], area_m2: float
    ) -> tuple[dict[str, float], npt.NDArray[np.int64]]:
        km2 = area_m2 / 1e6
        chosen = match_controls(
            (target["pre_1"] / km2, target["pre_2"] / km2), density, eligible, n_controls
        )
        sums = {w: float(per_unit[w][chosen].sum()) for w in windows}
        sums["pre"] = sums["pre_1"] + sums["pre_2"]
        return sums, chosen

    t, b = counted["treated"], counted["buffer"]
    c, chosen = control(t, deployment.treated.area)
    cb, _ = control(b, deployment.buffer_area.area)
    phi = _phi(near, measure)
    alpha_d = _alpha(pre_all, per_unit["during"], eligible, phi)
    alpha_p = _alpha(pre_all, per_unit["post"], eligible, phi)
    pre_len = periods.pre.days
    during = estimate_effect(t["pre"], t["during"], c["pre"], c["during"], alpha=alpha_d,
                             phi=phi, length_ratio=periods.during.days / pre_len, level=level)
    residual = estimate_effect(t["pre"], t["post"], c["pre"], c["post"], alpha=alpha_p,
                               phi=phi, length_ratio=periods.post.days / pre_len, level=level)
    notes: list[str] = []
    check = None
    if deployment.forecast_expected is not None:
        if measure == "count":
            check = forecast_check(t["during"], deployment.forecast_expected, alpha=alpha_d,
                                   level=level)
        else:
            notes.append("the forecast check is made on counts only (harm is not a count)")
    wdq = weighted_displacement_quotient(t["pre"], t["during"], b["pre"], b["during"],
                                         c["pre"], c["during"])
    wdd_counts = (t["pre"], t["during"], c["pre"], c["during"], b["pre"], b["during"],
                  cb["pre"], cb["during"])
    ratio = periods.during.days / pre_len
    wdd = scaled_wdd(*wdd_counts, period_ratio=ratio, level=level, dispersion=phi, alpha=alpha_d)
    wdd_poisson = scaled_wdd(*wdd_counts, period_ratio=ratio, level=level, dispersion=phi)
    if c["pre"] == 0:
        notes.append("the matched controls had no events before: no control adjustment")
    if t["pre"] == 0:
        notes.append("no events in the treated area before: the counterfactual is near zero")
    return DeploymentOutcome(
        deployment_id=deployment.deployment_id,
        measure=measure,
        periods=periods,
        treated=t,
        buffer=b,
        control=c,
        buffer_control=cb,
        control_ids=tuple(ids[i] for i in chosen),
        alpha_during=alpha_d,
        alpha_post=alpha_p,
        during=during,
        residual=residual,
        forecast=check,
        wdq=wdq,
        wdd=wdd,
        wdd_poisson=wdd_poisson,
        notes=tuple(notes),
    )


def pool_outcomes(
    outcomes: Sequence[DeploymentOutcome], *, window: str = "during", scale: str = "log",
    level: float = 0.95,
) -> PooledEffect:  # fmt: skip
    """Random-effects (DerSimonian-Laird) pooling over deployments.

    ``scale="log"``: log rate ratios (observed / expected), the usual scale of hot-spot
    meta-analyses; with a few events per deployment it leans low (the log of a small count is
    biased downwards), so read it beside :func:`pooled_ratio`. ``scale="difference"``: events
    (or harm) prevented per deployment, observed minus expected, which is unbiased at any count.
    ``window``: ``during`` or ``residual``.
    """
    if window not in ("during", "residual"):
        raise InputError("pool the 'during' or the 'residual' window")
    if not outcomes:
        raise InputError("no deployment outcomes to pool")
    effects = [getattr(o, window) for o in outcomes]
    if scale == "log":
        return random_effects([e.log_rr for e in effects], [e.log_rr_se for e in effects],
                              level=level)  # fmt: skip
    if scale == "difference":
        return random_effects([e.difference for e in effects],
                              [max(e.se, 1e-9) for e in effects], level=level)  # fmt: skip
    raise InputError("scale must be 'log' or 'difference'")


@dataclass(frozen=True)
class PooledRatio:
    """Sum of observed over sum of expected, with a robust (sandwich) interval."""

    k: int
    observed: float
    expected: float
    rate_ratio: float
    low: float
    high: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pooled_ratio(
    outcomes: Sequence[DeploymentOutcome], *, window: str = "during", level: float = 0.95
) -> PooledRatio:
    """``RR = sum observed / sum expected`` over deployments, in the manner of Mantel-Haenszel.

    The variance of ``log RR`` is the empirical sandwich ``k/(k-1) * sum (O_i - RR E_i)² /
    (sum O)²``, which absorbs overdispersion and heterogeneity between deployments without a
    model for either; it needs some ten deployments or more. Unlike the mean of log ratios it
    is not biased by deployments with few or no events.
    """
    if window not in ("during", "residual"):
        raise InputError("pool the 'during' or the 'residual' window")
    if len(outcomes) < 2:
        raise InputError("a pooled ratio needs at least two deployments")
    eff = [getattr(o, window) for o in outcomes]
    return ratio_of_sums([e.observed for e in eff], [e.expected for e in eff], level=level)


def ratio_of_sums(
    observed: npt.ArrayLike, expected: npt.ArrayLike, *, level: float = 0.95
) -> PooledRatio:
    """The pooled ratio of :func:`pooled_ratio` from arrays of observed and expected counts."""
    obs = np.asarray(observed, dtype=float)
    exp = np.asarray(expected, dtype=float)
    if obs.shape != exp.shape or obs.size < 2:
        raise InputError("give observed and expected counts of at least two deployments")
    if exp.sum() <= 0 or obs.sum() <= 0:
        raise InputError("no events observed or expected across the deployments")
    rr = float(obs.sum() / exp.sum())
    k = obs.size
    var = k / (k - 1) * float(((obs - rr * exp) ** 2).sum()) / float(obs.sum()) ** 2
    z = _z(level)
    se = math.sqrt(var)
    return PooledRatio(k, float(obs.sum()), float(exp.sum()), rr, rr * math.exp(-z * se),
                       rr * math.exp(z * se))
