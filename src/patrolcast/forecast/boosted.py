"""A Poisson gradient-boosted forecast on per-unit features: background, season and near repeat.

Each method of the field gets one thing right: a long-run count finds the places where violence
recurs year after year (the strongest single signal at 250 m), kernel smoothing borrows strength
from neighbouring cells, seasonality moves the level through the year and the day, and
near-repeat models catch the short-lived rise after an incident. This forecaster lets a Poisson
regression learn, from the training history only, how much each of these matters for the
dataset and the horizon at hand.

How it is fitted
----------------
For a window of length ``W`` the model is trained on ``n_samples`` past windows ending at or
before the cut-off (origins ``cutoff - W - k * step``, ``step`` at least two weeks, whole days so
that a shift starts at the same time of day). For every unit and past origin it computes, from
the events before that origin only:

- *long-run background*: the unit's event rate over the last 365 days and over all history, and
  the same rates summed over neighbours within 500 m, 1 km and 2 km (several spatial scales);
- *recent / near repeat*: counts of the last 1, 7, 28 and 91 days in the unit and within 500 m
  and 1 km, and the days since the unit's last event;
- *seasonality*: events in the same weeks of earlier years (unit and 500 m), the share of the
  unit's past year that fell on the window's day of week and time of day (for horizons under a
  week or a day, where the data carry times), and the window's week of year;

and the target is the count in the window that followed. scikit-learn's
``HistGradientBoostingRegressor`` with Poisson loss (Friedman 2001; Ke et al. 2017) maps the
features to an expected count. Units with no event within 2 km in all history get the training
rate of such units (they are almost always zero). With too little history for a model (no
event in any training window) the forecast is the last year's rate per unit. Harm is the
expected count times the unit's long-run harm per event (shrunk to the overall mean).

Explanations (``terms``): for each group of features (``long_run``, ``recent``, ``seasonal``) the
drop in a unit's expected count when that group is set to what an empty history would give; a
large value says that group raised the unit. They explain and do not sum to the forecast.

The model is fitted lazily at the first ``predict`` for a support and window length (it needs
both), from the history kept by ``fit``; nothing after the cut-off is ever seen.

References
----------
Friedman, J. H. (2001). Greedy function approximation: a gradient boosting machine. Annals of
Statistics 29, 1189-1232.
Mohler, G. (2014). Marked point process hotspot maps for homicide and gun crime prediction in
Chicago. International Journal of Forecasting 30, 491-497 (long-run plus short-term terms).
Wheeler, A. P. & Steenbeek, W. (2021). Mapping the risk terrain for crime using machine
learning. Journal of Quantitative Criminology 37, 445-480.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from patrolcast.events import EventSet
from patrolcast.forecast.base import FloatArray, Forecaster
from patrolcast.geo.support import Support

__all__ = ["BoostedForecaster", "FEATURE_GROUPS"]

RECENT_DAYS = (1.0, 7.0, 28.0, 91.0)
RADII = (500.0, 1000.0, 2000.0)
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "long_run": (
        "rate365", "rate_all", "rate365_500m", "rate365_1km", "rate365_2km", "rate_all_500m",
        "rate_all_1km", "rate_all_2km",
    ),
    "recent": (
        "n1", "n7", "n28", "n91", "n7_500m", "n28_500m", "n7_1km", "n28_1km", "days_since",
    ),
    "seasonal": ("same_weeks", "same_weeks_500m", "dow_share", "tod_share", "woy_sin",
                 "woy_cos", "city_rate28"),
}
FEATURES: tuple[str, ...] = tuple(f for g in FEATURE_GROUPS.values() for f in g)
NO_EVENT_DAYS = 3650.0  # "days since the last event" for a unit that never had one


def _neighbours(centroids: FloatArray, radius: float) -> Any:
    """Sparse 0/1 matrix: units whose representative points are within ``radius`` metres."""
    from scipy.sparse import csr_matrix
    from scipy.spatial import cKDTree

    tree = cKDTree(centroids)
    pairs = tree.query_pairs(radius, output_type="ndarray")
    n = centroids.shape[0]
    rows = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    return csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))


class _Features:
    """Per-unit features at any origin, from events with known units (sorted by time)."""

    def __init__(self, history: EventSet, support: Support) -> None:
        unit = support.assign(history.x, history.y)
        ok = unit >= 0
        self.t = history.t[ok]
        self.w = history.count[ok]
        self.unit = unit[ok]
        self.n = support.n_units
        self.t_min = float(history.t.min()) if len(history) else math.nan
        self.nb = {r: _neighbours(support.centroids, r) for r in RADII}
        day = np.floor(self.t)
        self.dow = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
        self.tod = self.t - day

    def _count(self, lo: float, hi: float, sel: npt.NDArray[np.bool_] | None = None) -> FloatArray:
        i0, i1 = np.searchsorted(self.t, [lo, hi], side="left")
        w = self.w[i0:i1]
        if sel is not None:
            w = w * sel[i0:i1]
        return np.bincount(self.unit[i0:i1], weights=w, minlength=self.n).astype(np.float64)

    def at(self, origin: float, start: float, end: float) -> FloatArray:
        """Feature matrix (units x FEATURES) at ``origin`` for the window ``[start, end)``."""
        width = end - start
        cols: dict[str, FloatArray] = {}
        span = max(origin - self.t_min, 1.0) if math.isfinite(self.t_min) else 1.0
        n365 = self._count(origin - 365.0, origin)
        n_all = self._count(-math.inf, origin)
        cols["rate365"] = n365 / 365.0
        cols["rate_all"] = n_all / span
        for r, tag in zip(RADII, ("500m", "1km", "2km"), strict=True):
            cols[f"rate365_{tag}"] = self.nb[r] @ cols["rate365"]
            cols[f"rate_all_{tag}"] = self.nb[r] @ cols["rate_all"]
        for d in RECENT_DAYS:
            cols[f"n{d:g}"] = self._count(origin - d, origin)
        for d in (7.0, 28.0):
            cols[f"n{d:g}_500m"] = self.nb[500.0] @ cols[f"n{d:g}"]
            cols[f"n{d:g}_1km"] = self.nb[1000.0] @ cols[f"n{d:g}"]
        last = np.full(self.n, -math.inf)
        i1 = int(np.searchsorted(self.t, origin, side="left"))
        np.maximum.at(last, self.unit[:i1], self.t[:i1])
        cols["days_since"] = np.where(np.isfinite(last), origin - last, NO_EVENT_DAYS)
        same = np.zeros(self.n)
        years = 0
        for y in range(1, 11):
            lo = start - 365.25 * y - 14.0
            if lo < self.t_min:
                break
            same += self._count(lo, min(end - 365.25 * y + 14.0, origin))
            years += 1
        cols["same_weeks"] = same / max(years, 1)
        cols["same_weeks_500m"] = self.nb[500.0] @ cols["same_weeks"]
        i0 = int(np.searchsorted(self.t, origin - 365.0, side="left"))
        base = np.maximum(n365, 1.0)
        if width < 7.0:
            days = {int((math.floor(start) + 3 + k) % 7) for k in range(max(1, math.ceil(width)))}
            sel = np.isin(self.dow, list(days))
            cols["dow_share"] = self._count(origin - 365.0, origin, sel) / base
        else:
            cols["dow_share"] = np.zeros(self.n)
        if width < 1.0:
            a, b = start % 1.0, end % 1.0
            tod = self.tod
            sel = (tod >= a) & (tod < b) if a < b else (tod >= a) | (tod < b)
            cols["tod_share"] = self._count(origin - 365.0, origin, sel) / base
        else:
            cols["tod_share"] = np.zeros(self.n)
        del i0
        angle = 2.0 * math.pi * ((start / 365.25) % 1.0)
        cols["woy_sin"] = np.full(self.n, math.sin(angle))
        cols["woy_cos"] = np.full(self.n, math.cos(angle))
        cols["city_rate28"] = np.full(self.n, cols["n28"].sum() / 28.0)
        return np.column_stack([cols[f] for f in FEATURES])

    def target(self, start: float, end: float) -> FloatArray:
        return self._count(start, end)


class BoostedForecaster(Forecaster):
    """Poisson gradient boosting over background, seasonal and near-repeat features per unit.

    Parameters
    ----------
    n_samples : past windows the model is trained on.
    min_step_days : least spacing of the training windows (whole days are used).
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization :
        passed to scikit-learn's ``HistGradientBoostingRegressor(loss="poisson")``.
    zero_share : share of (unit, window) rows without an event kept for training (weighted
        by its inverse); rows with events are all kept.
    n_threads : OpenMP threads for the fit (1: shares a busy machine well, and is exact).
    random_state : seed, for identical fits.
    """

    name = "boosted"

    def __init__(
        self,
        *,
        n_samples: int = 26,
        min_step_days: float = 14.0,
        max_iter: int = 150,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        zero_share: float = 0.2,
        n_threads: int = 1,
        random_state: int = 0,
    ) -> None:
        self.n_samples = n_samples
        self.min_step_days = min_step_days
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.zero_share = zero_share
        self.n_threads = n_threads
        self.random_state = random_state

    def _validate_params(self) -> None:
        if int(self.n_samples) < 2:
            raise ValueError(f"n_samples must be at least 2, got {self.n_samples}")
        for name in ("min_step_days", "learning_rate", "l2_regularization"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"{name} must be zero or more")
        if not 0.0 < float(self.zero_share) <= 1.0:
            raise ValueError(f"zero_share must be in (0, 1], got {self.zero_share}")
        if int(self.n_threads) < 1:
            raise ValueError("n_threads must be at least 1")
        if int(self.max_iter) < 1 or int(self.max_leaf_nodes) < 2:
            raise ValueError("max_iter must be >= 1 and max_leaf_nodes >= 2")

    def lookback_used(self, window_days: float) -> float:
        return float("inf")  # long-run background: all the history before the cut-off

    def _fit(self, history: EventSet, cutoff: float) -> None:
        self.history_ = history
        self.fit_cutoff_ = cutoff
        self.models_: dict[tuple[int, float], Any] = {}

    def _model_for(self, support: Support, width: float) -> tuple[_Features, Any, float, Any]:
        key = (id(support), round(width, 6))
        if key in self.models_:
            feats, model, quiet, ratio = self.models_[key]
            return feats, model, quiet, ratio
        from sklearn.ensemble import HistGradientBoostingRegressor

        feats = _Features(self.history_, support)
        step = max(float(math.ceil(max(width, float(self.min_step_days)))), 1.0)
        xs, ys = [], []
        for k in range(int(self.n_samples)):
            origin = self.fit_cutoff_ - width - k * step
            if not math.isfinite(feats.t_min) or origin - 28.0 < feats.t_min:
                break
            xs.append(feats.at(origin, origin, origin + width))
            ys.append(feats.target(origin, origin + width))
        model = None
        quiet_rate = 0.0
        if xs:
            x = np.vstack(xs)
            y = np.concatenate(ys)
            active = x[:, FEATURES.index("rate_all_2km")] > 0
            quiet_rate = float(y[~active].mean()) if (~active).any() else 0.0
            # Windows without an event in a unit are most rows: keep a fixed share of them,
            # weighted up so the Poisson fit stays unbiased (Horvitz-Thompson weights).
            rng = np.random.default_rng(int(self.random_state))
            keep_zero = rng.random(y.size) < float(self.zero_share)
            use = active & ((y > 0) | keep_zero)
            weight = np.where(y > 0, 1.0, 1.0 / float(self.zero_share))
            # few units (areas) or a short history: smaller leaves rather than no model
            leaf = min(int(self.min_samples_leaf), max(5, int(use.sum()) // 20))
            if use.sum() >= 2 * leaf and y[use].sum() > 0:
                model = HistGradientBoostingRegressor(
                    loss="poisson",
                    max_iter=int(self.max_iter),
                    learning_rate=float(self.learning_rate),
                    max_leaf_nodes=int(self.max_leaf_nodes),
                    min_samples_leaf=leaf,
                    l2_regularization=float(self.l2_regularization),
                    early_stopping=False,
                    random_state=int(self.random_state),
                )
                from threadpoolctl import threadpool_limits

                with threadpool_limits(limits=int(self.n_threads)):
                    model.fit(x[use], y[use], sample_weight=weight[use])
        harm_ratio = self._harm_ratio(support)
        self.models_[key] = (feats, model, quiet_rate, harm_ratio)
        return feats, model, quiet_rate, harm_ratio

    def _harm_ratio(self, support: Support) -> FloatArray:
        """Harm per event per unit, shrunk toward the overall mean (ten events' weight)."""
        ev = self.history_
        unit = support.assign(ev.x, ev.y)
        ok = unit >= 0
        n = support.n_units
        count = np.bincount(unit[ok], weights=ev.count[ok], minlength=n)
        harm = np.bincount(unit[ok], weights=ev.harm[ok], minlength=n)
        overall = float(harm.sum() / count.sum()) if count.sum() > 0 else 1.0
        prior = 10.0
        return np.asarray((harm + prior * overall) / (count + prior), dtype=np.float64)

    def _predict(
        self, support: Support, start: float, end: float
    ) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
        width = end - start
        feats, model, quiet_rate, harm_ratio = self._model_for(support, width)
        x = feats.at(self.fit_cutoff_, start, end)
        expected = np.full(support.n_units, quiet_rate, dtype=np.float64)
        terms: dict[str, FloatArray] = {}
        if model is None:  # too little history to learn from: the last year's rate
            expected = x[:, FEATURES.index("rate365")] * width
        else:
            active = x[:, FEATURES.index("rate_all_2km")] > 0
            full = np.asarray(model.predict(x), dtype=np.float64)
            expected[active] = full[active]
            empty = feats.at(self.fit_cutoff_, start, end)
            for group, names in FEATURE_GROUPS.items():
                idx = [FEATURES.index(f) for f in names]
                blank = x.copy()
                blank[:, idx] = _empty_values(names, empty[:, idx])
                without = np.asarray(model.predict(blank), dtype=np.float64)
                terms[f"raised_by_{group}"] = np.where(active, full - without, 0.0)
        return expected, expected * harm_ratio, terms


def _empty_values(names: tuple[str, ...], current: FloatArray) -> FloatArray:
    """What each feature would be for a unit with no history (calendar features kept)."""
    out = np.zeros_like(current)
    for j, name in enumerate(names):
        if name == "days_since":
            out[:, j] = NO_EVENT_DAYS
        elif name in ("woy_sin", "woy_cos", "city_rate28"):
            out[:, j] = current[:, j]
    return out
