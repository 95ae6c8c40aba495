"""Standard scores of a ranked place-based forecast.

For a forecast over units (grid cells, or areas such as LSOAs) and a fraction ``a`` of the
total area flagged, the field reports:

- **hit rate**: share of the scoring window's events that fall in the flagged area;
- **PAI**, the Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008): hit rate / ``a``;
- **PEI\\***, the Predictive Efficiency Index (Hunt 2016): events caught / the most events any
  selection of the same area could have caught;
- **RRI**, the Recapture Rate Index (Levine 2008): how the events in a flagged set change from
  one period to the next relative to the whole study area;
- calibration of the predicted counts: Poisson deviance and a reliability table.

How the area is flagged (:func:`flag_area`)
-------------------------------------------
Units are ranked by predicted *density* (score per square metre), so that an LSOA of 2 km\\ :sup:`2`
must earn its place against a 0.1 km\\ :sup:`2` one. Units are taken in that order until the
cumulative area reaches ``a`` times the total area. The last unit needed is usually only partly
needed: it is included *fractionally*, with weight ``(area still needed) / (its area)``, and
contributes that share of its events (events are taken as spread evenly over a unit; the
flagged area is then exactly ``a``). Units whose predicted density ties are treated as one
block: a block that fits wholly is taken whole; the block straddling the boundary is included
pro rata, every unit of it with the same weight. The result therefore does not depend on the
order of the units in the support (for example a naive forecast with thousands of zero cells
is not flattered or penalised by the order of cell ids).

This fractional rule also makes PEI\\* exact for unequal unit areas: the most events any
selection of total area ``a`` can hold (with fractional units allowed) is a fractional knapsack,
solved exactly by taking units greedily by *observed* density (Dantzig 1957). Hence
``0 <= PEI* <= 1`` always.

References
----------
Chainey, S., Tompson, L. & Uhlig, S. (2008). The utility of hotspot mapping for predicting
spatial patterns of crime. Security Journal 21, 4-28.
Hunt, J. M. (2016). Do crime hot spots move? Exploring the effects of the modifiable areal unit
problem and modifiable temporal unit problem on crime hot spot stability. PhD thesis, American
University (introduces the Predictive Efficiency Index PEI and its variant PEI\\*).
Levine, N. (2008). The "hottest" part of a hotspot: comments on "The utility of hotspot mapping
for predicting spatial patterns of crime". Security Journal 21, 295-302.
McCullagh, P. & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., section 2.3
(deviance of the Poisson model).
Dantzig, G. B. (1957). Discrete-variable extremum problems. Operations Research 5, 266-288.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "DEFAULT_FRACTIONS",
    "AreaScores",
    "flag_area",
    "hit_rate",
    "pai",
    "pei_star",
    "score_area_fractions",
    "recapture_rate_index",
    "flagged_overlap",
    "poisson_deviance",
    "reliability_table",
    "tiebreak_key",
    "flag_top",
    "interval_coverage",
]

DEFAULT_FRACTIONS: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20)


def _as_inputs(
    score: npt.ArrayLike, unit_area: npt.ArrayLike | None
) -> tuple[FloatArray, FloatArray]:
    s = np.asarray(score, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError("scores must be a one-dimensional array, one value per unit")
    a = np.ones_like(s) if unit_area is None else np.asarray(unit_area, dtype=np.float64)
    if a.shape != s.shape:
        raise ValueError(f"{a.shape[0]} unit areas for {s.shape[0]} scores")
    if np.any(~np.isfinite(s)):
        raise ValueError("scores must be finite")
    if np.any(a <= 0) or np.any(~np.isfinite(a)):
        raise ValueError("every unit area must be positive and finite")
    return s, a


def flag_area(
    score: npt.ArrayLike, unit_area: npt.ArrayLike | None, fraction: float
) -> FloatArray:
    """Weight in [0, 1] of each unit in the top ``fraction`` of the area, ranked by density.

    Parameters
    ----------
    score : expected count (or harm) per unit.
    unit_area : area of each unit (any unit of measure); ``None`` means equal areas.
    fraction : share of the total area to flag, in (0, 1].

    Returns
    -------
    numpy.ndarray
        ``w`` with ``sum(w * unit_area) == fraction * sum(unit_area)``. Units are taken by
        descending ``score / unit_area``; a block of tied densities straddling the boundary
        gets one common partial weight (see the module notes).

    Examples
    --------
    >>> flag_area([5.0, 1.0, 3.0, 0.0], None, 0.5).tolist()
    [1.0, 0.0, 1.0, 0.0]
    >>> flag_area([2.0, 2.0, 1.0, 0.0], None, 0.25).tolist()
    [0.5, 0.5, 0.0, 0.0]
    """
    s, a = _as_inputs(score, unit_area)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"area fraction must be in (0, 1], got {fraction}")
    weights = np.zeros_like(s)
    if s.size == 0:
        return weights
    density = s / a
    # Blocks of equal density, densest first (np.unique sorts ascending).
    levels, block = np.unique(density, return_inverse=True)
    block_area = np.bincount(block, weights=a, minlength=levels.size)[::-1]
    target = fraction * float(a.sum())
    before = np.concatenate([[0.0], np.cumsum(block_area)[:-1]])
    block_weight = np.clip((target - before) / block_area, 0.0, 1.0)
    weights = block_weight[::-1][block]
    return weights.astype(np.float64)


def hit_rate(flagged: npt.ArrayLike, observed: npt.ArrayLike) -> float:
    """Share of observed events inside the flagged area (NaN when there were no events).

    ``flagged`` are the unit weights from :func:`flag_area`; ``observed`` the events per unit
    in the scoring window.
    """
    w = np.asarray(flagged, dtype=np.float64)
    y = np.asarray(observed, dtype=np.float64)
    total = float(y.sum())
    if total <= 0:
        return float("nan")
    return float((w * y).sum() / total)


def pai(hit: float, area_fraction: float) -> float:
    """Predictive Accuracy Index (Chainey, Tompson & Uhlig 2008): hit rate / area share.

    PAI = (n / N) / (a / A): 1 is no better than flagging area at random; 10 at a 1% area
    means the flagged 1% held 10% of the events.
    """
    if area_fraction <= 0:
        raise ValueError("area fraction must be positive")
    return hit / area_fraction


def pei_star(
    flagged: npt.ArrayLike, observed: npt.ArrayLike, unit_area: npt.ArrayLike | None
) -> float:
    """PEI* (Hunt 2016): events caught / the most events any selection of the same area holds.

    The denominator flags the same area fraction by *observed* density (the perfect
    forecast in hindsight); with fractional units that greedy choice is the exact optimum.
    NaN when no events occurred.
    """
    w = np.asarray(flagged, dtype=np.float64)
    y = np.asarray(observed, dtype=np.float64)
    _, a = _as_inputs(y, unit_area)
    frac = float((w * a).sum() / a.sum())
    caught = float((w * y).sum())
    if y.sum() <= 0 or frac <= 0:
        return float("nan")
    best = float((flag_area(y, a, min(frac, 1.0)) * y).sum())
    return caught / best if best > 0 else float("nan")


@dataclass(frozen=True)
class AreaScores:
    """Scores of one forecast at one area fraction."""

    fraction: float
    hit_rate: float
    pai: float
    pei_star: float
    caught: float
    n_events: float


def score_area_fractions(
    score: npt.ArrayLike,
    observed: npt.ArrayLike,
    unit_area: npt.ArrayLike | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> list[AreaScores]:
    """Hit rate, PAI and PEI* of a ranked forecast at each area fraction."""
    s, a = _as_inputs(score, unit_area)
    y = np.asarray(observed, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"{y.shape[0]} observed counts for {s.shape[0]} scores")
    out = []
    for f in fractions:
        w = flag_area(s, a, f)
        h = hit_rate(w, y)
        out.append(
            AreaScores(
                fraction=float(f),
                hit_rate=h,
                pai=pai(h, f),
                pei_star=pei_star(w, y, a),
                caught=float((w * y).sum()),
                n_events=float(y.sum()),
            )
        )
    return out


def recapture_rate_index(
    flagged: npt.ArrayLike, observed_before: npt.ArrayLike, observed_after: npt.ArrayLike
) -> float:
    """Recapture Rate Index (Levine 2008) of one flagged set over two consecutive periods.

    RRI = (n2 / n1) / (N2 / N1), where ``n1, n2`` are the events inside the flagged set in
    the first and second period and ``N1, N2`` the events in the whole study area. 1 means the
    flagged places kept their share of events; above 1 they "recaptured" more than the area as
    a whole. In a backtest the flagged set is that of origin ``k`` and the two periods are the
    scoring windows of origins ``k`` and ``k + 1``. NaN when a ratio is undefined.
    """
    w = np.asarray(flagged, dtype=np.float64)
    y1 = np.asarray(observed_before, dtype=np.float64)
    y2 = np.asarray(observed_after, dtype=np.float64)
    n1, n2 = float((w * y1).sum()), float((w * y2).sum())
    big1, big2 = float(y1.sum()), float(y2.sum())
    if n1 <= 0 or big1 <= 0 or big2 <= 0:
        return float("nan")
    return (n2 / n1) / (big2 / big1)


def flagged_overlap(
    flagged_a: npt.ArrayLike, flagged_b: npt.ArrayLike, unit_area: npt.ArrayLike | None = None
) -> float:
    """Area-weighted Jaccard overlap of two flagged sets (1: the same places were flagged).

    A plain stability companion to the RRI: sum(min(w_a, w_b) * area) / sum(max(w_a, w_b) * area).
    """
    wa, a = _as_inputs(flagged_a, unit_area)
    wb = np.asarray(flagged_b, dtype=np.float64)
    union = float((np.maximum(wa, wb) * a).sum())
    if union <= 0:
        return float("nan")
    return float((np.minimum(wa, wb) * a).sum() / union)


def poisson_deviance(
    predicted: npt.ArrayLike, observed: npt.ArrayLike, *, floor: float = 1e-6
) -> float:
    """Mean Poisson deviance per unit (McCullagh & Nelder 1989), lower is better.

    ``D = 2/n * sum(y log(y / mu) - (y - mu))`` with ``y log(y / mu) = 0`` when ``y = 0``.
    Predictions are floored at ``floor`` events so that a forecast of exactly 0 where events
    happened gives a large finite penalty rather than infinity; the floor is reported with the
    result wherever it matters.
    """
    mu = np.maximum(np.asarray(predicted, dtype=np.float64), floor)
    y = np.asarray(observed, dtype=np.float64)
    if mu.shape != y.shape:
        raise ValueError("predicted and observed must have one value per unit")
    if y.size == 0:
        return float("nan")
    pos = y > 0
    term = np.zeros_like(y)
    term[pos] = y[pos] * np.log(y[pos] / mu[pos])
    return float(2.0 * np.mean(term - (y - mu)))


def reliability_table(
    predicted: npt.ArrayLike, observed: npt.ArrayLike, *, bins: int = 10
) -> pd.DataFrame:
    """Predicted against observed counts by bin of predicted count (deciles by default).

    Units are sorted by predicted value (ties kept in unit order, a stable sort) and split
    into ``bins`` groups of (nearly) equal size, so that many tied zeros cannot collapse the
    bins. A calibrated forecast has ``mean_observed`` close to ``mean_predicted`` in every bin.

    Returns
    -------
    pandas.DataFrame with columns ``bin`` (1 = lowest predictions), ``n_units``,
    ``mean_predicted``, ``mean_observed``, ``sum_predicted``, ``sum_observed``.
    """
    mu = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(observed, dtype=np.float64)
    if mu.shape != y.shape:
        raise ValueError("predicted and observed must have one value per unit")
    if bins < 1:
        raise ValueError("bins must be at least 1")
    order = np.argsort(mu, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, min(bins, max(mu.size, 1))), start=1):
        if idx.size == 0:
            continue
        rows.append(
            {
                "bin": i,
                "n_units": int(idx.size),
                "mean_predicted": float(mu[idx].mean()),
                "mean_observed": float(y[idx].mean()),
                "sum_predicted": float(mu[idx].sum()),
                "sum_observed": float(y[idx].sum()),
            }
        )
    return pd.DataFrame(rows)


def tiebreak_key(n_units: int, seed: int = 0) -> FloatArray:
    """A fixed pseudo-random key per unit, for breaking ties in score the same way every time.

    Ranking ties (thousands of zero cells in a naive forecast) are broken by this key, not by
    unit order, so that no method gains from where cells happen to sit in the raster.
    """
    return np.random.default_rng(seed).permutation(n_units).astype(np.float64)


def flag_top(
    score: npt.ArrayLike,
    unit_area: npt.ArrayLike | None,
    fraction: float,
    tiebreak: npt.ArrayLike,
) -> FloatArray:
    """Weight in [0, 1] of each unit among the top units covering ``fraction`` of the area.

    The field's protocol (open_cp; Adepeju, Rosser & Cheng 2016): units are ranked by score
    density, ties broken by ``tiebreak`` (ascending, see :func:`tiebreak_key`), and taken until
    their area reaches ``fraction`` of the total; the last unit counts in part. On a grid this
    is the top ``k = fraction * n`` cells.
    """
    s, a = _as_inputs(score, unit_area)
    key = np.asarray(tiebreak, dtype=np.float64)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"area fraction must be in (0, 1], got {fraction}")
    weights = np.zeros_like(s)
    if s.size == 0:
        return weights
    order = np.lexsort((key, -(s / a)))
    before = np.concatenate([[0.0], np.cumsum(a[order])[:-1]])
    target = fraction * float(a.sum())
    weights[order] = np.clip((target - before) / a[order], 0.0, 1.0)
    return weights


def interval_coverage(
    predicted: npt.ArrayLike, observed: npt.ArrayLike, levels: Sequence[float] = (0.8, 0.95)
) -> dict[str, float]:
    """Coverage of central Poisson predictive intervals, per unit and for the total.

    For each level ``p`` the interval of a unit is ``[q((1-p)/2), q((1+p)/2)]`` of a Poisson
    law with the predicted mean; ``units_<p>`` is the share of units whose observed count lies
    in it, ``total_<p>`` is 1 when the observed total lies in the interval of the total's
    Poisson law (sum of means), else 0. A calibrated forecast covers about ``p`` (discrete
    intervals cover at least ``p``); over-dispersed data cover less.
    """
    from scipy.stats import poisson

    mu = np.maximum(np.asarray(predicted, dtype=np.float64), 0.0)
    y = np.asarray(observed, dtype=np.float64)
    out: dict[str, float] = {}
    for p in levels:
        lo = poisson.ppf((1 - p) / 2, mu)
        hi = poisson.ppf((1 + p) / 2, mu)
        out[f"units_{p:g}"] = float(np.mean((y >= lo) & (y <= hi))) if y.size else math.nan
        total_mu, total_y = float(mu.sum()), float(y.sum())
        t_lo, t_hi = poisson.ppf((1 - p) / 2, total_mu), poisson.ppf((1 + p) / 2, total_mu)
        out[f"total_{p:g}"] = float(t_lo <= total_y <= t_hi)
    return out
