"""Rolling-origin backtests: every method fitted and scored on the same origins.

For each origin (see :mod:`patrolcast.evaluate.splitters`) and each method, a fresh clone of
the forecaster is fitted on the events of ``[origin - lookback, origin)`` and predicts the
scoring window ``[origin, origin + horizon)`` on the support; the forecast is ranked and scored
against the events of the window (:mod:`patrolcast.evaluate.metrics`). One self-contained task
per origin goes through an :class:`~patrolcast.evaluate.executors.Executor`, so origins run in
local processes or, later, on a cluster, with identical results.

The result is a tidy table, one row per (origin, method, area fraction), plus per-origin
calibration figures; :func:`summarise` adds bootstrap confidence intervals over origins.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.evaluate.executors import Executor, SerialExecutor
from patrolcast.evaluate.metrics import (
    DEFAULT_FRACTIONS,
    flag_area,
    flag_top,
    flagged_overlap,
    hit_rate,
    interval_coverage,
    pai,
    pei_star,
    poisson_deviance,
    recapture_rate_index,
    reliability_table,
    tiebreak_key,
)
from patrolcast.evaluate.splitters import Fold, RollingOrigin, local_data_end, short_folds
from patrolcast.events import EventSet, from_days
from patrolcast.forecast.base import Forecaster
from patrolcast.geo.support import Support

FloatArray = npt.NDArray[np.float64]

__all__ = ["OriginTask", "BacktestResult", "run_backtest", "score_origin", "observed_per_unit"]


def observed_per_unit(events: EventSet, support: Support, target: str = "count") -> FloatArray:
    """Events (``count``) or harm (``harm``) per unit; records outside every unit are dropped."""
    idx = support.assign(events.x, events.y)
    ok = idx >= 0
    weights = events.count if target == "count" else events.harm
    return np.bincount(idx[ok], weights=weights[ok], minlength=support.n_units).astype(np.float64)


@dataclass(frozen=True)
class OriginTask:
    """Everything one origin needs, picklable: history, scoring windows, support, methods."""

    fold: Fold
    history: EventSet
    scoring: EventSet
    next_scoring: EventSet | None
    support: Support
    methods: tuple[tuple[str, Forecaster], ...]
    fractions: tuple[float, ...]
    target: str = "count"
    protocol: str = "mask"  # "mask": units with an event before the origin; "area": all
    timezone: str | None = None  # for the origin's local date


@dataclass
class OriginResult:
    rows: list[dict[str, Any]]
    reliability: list[dict[str, Any]]
    # (method, fraction) -> (unit indices, weights) of the flagged set, for overlap.
    flagged: dict[tuple[str, float], tuple[npt.NDArray[np.int64], FloatArray]]


PROTOCOLS = ("mask", "area")


def _local_date(t: float, timezone: str | None) -> str:
    """The date of instant ``t`` where the data are (an origin at local midnight)."""
    when = from_days(t + 1e-6)
    if timezone and timezone != "UTC":
        from zoneinfo import ZoneInfo

        when = when.astimezone(ZoneInfo(timezone))
    return when.date().isoformat()


def score_origin(task: OriginTask) -> OriginResult:
    """Fit every method on the task's history and score it on the scoring window.

    Protocol ``"mask"`` (the field's, as in open_cp): only units that held at least one event
    in the history before the origin are ranked and scored, the top units by score (ties
    broken by a fixed key); events in other units are counted in ``n_outside_mask``.
    Protocol ``"area"``: every unit of the study area, tied blocks shared pro rata.
    """
    support = task.support
    full_area = np.asarray(support.unit_area, dtype=np.float64)
    if task.protocol == "mask":
        seen = observed_per_unit(task.history, support, "count") > 0
    else:
        seen = np.ones(support.n_units, dtype=bool)
    if not seen.any():
        seen = np.ones(support.n_units, dtype=bool)
    keep = np.flatnonzero(seen)
    area = full_area[keep]
    key = tiebreak_key(support.n_units)[keep]
    observed_all = observed_per_unit(task.scoring, support, task.target)
    n_outside_mask = float(observed_all[~seen].sum())
    observed = observed_all[keep]
    count_all = observed_per_unit(task.scoring, support, "count")
    observed_next = (
        observed_per_unit(task.next_scoring, support, task.target)[keep]
        if task.next_scoring is not None
        else None
    )
    rows: list[dict[str, Any]] = []
    reliability: list[dict[str, Any]] = []
    flagged_sets: dict[tuple[str, float], tuple[npt.NDArray[np.int64], FloatArray]] = {}
    fold = task.fold
    for name, prototype in task.methods:
        model = prototype.clone().fit(task.history, cutoff=fold.origin)
        forecast = model.predict(support, fold.origin, fold.score_end)
        score = forecast.ranking_score(task.target)[keep]
        counts = forecast.expected_count
        predicted = (counts if task.target == "count" else forecast.expected_harm)
        deviance = poisson_deviance(counts, count_all)
        coverage = interval_coverage(counts, count_all)
        lookback = model.lookback_used(fold.score_end - fold.origin)
        recent = task.history.between(fold.origin - lookback, fold.origin)
        n_lookback = float(observed_per_unit(recent, support, "count").sum())
        for f in task.fractions:
            if task.protocol == "mask":
                w = flag_top(score, area, f, key)
            else:
                w = flag_area(score, area, f)
            h = hit_rate(w, observed)
            nz = np.flatnonzero(w > 0)
            flagged_sets[(name, f)] = (keep[nz].astype(np.int64), w[nz])
            rows.append(
                {
                    "origin": _local_date(fold.origin, task.timezone),
                    "origin_days": fold.origin,
                    "method": name,
                    "fraction": f,
                    "hit_rate": h,
                    "pai": pai(h, f),
                    "pei_star": pei_star(w, observed, area),
                    "caught": float((w * observed).sum()),
                    "n_events": float(observed.sum()),
                    "predicted_total": float(predicted.sum()),
                    "observed_total": float(count_all.sum()),
                    "n_outside_mask": n_outside_mask,
                    "n_units_scored": int(keep.size),
                    "events_in_lookback": n_lookback,
                    "lookback_days": lookback,
                    "poisson_deviance": deviance,
                    "cover80_units": coverage["units_0.8"],
                    "cover95_units": coverage["units_0.95"],
                    "cover80_total": coverage["total_0.8"],
                    "cover95_total": coverage["total_0.95"],
                    "rri": (
                        recapture_rate_index(w, observed, observed_next)
                        if observed_next is not None
                        else math.nan
                    ),
                }
            )
        table = reliability_table(counts, count_all)
        table.insert(0, "method", name)
        table.insert(0, "origin_days", fold.origin)
        reliability.extend({str(k): v for k, v in r.items()} for r in table.to_dict("records"))
    return OriginResult(rows=rows, reliability=reliability, flagged=flagged_sets)


@dataclass
class BacktestResult:
    """Tidy results: ``rows`` (origin x method x fraction), ``reliability``, and ``meta``."""

    rows: pd.DataFrame
    reliability: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.rows["method"]))

    @property
    def fractions(self) -> list[float]:
        return sorted(set(self.rows["fraction"].astype(float)))

    @property
    def n_origins(self) -> int:
        return int(self.rows["origin_days"].nunique())


def _tasks(
    events: EventSet,
    support: Support,
    folds: Sequence[Fold],
    methods: Mapping[str, Forecaster],
    fractions: Sequence[float],
    target: str,
    protocol: str = "mask",
    timezone: str | None = None,
) -> list[OriginTask]:
    tasks = []
    method_items = tuple((name, m.clone()) for name, m in methods.items())
    for i, fold in enumerate(folds):
        nxt = folds[i + 1] if i + 1 < len(folds) else None
        next_scoring = (
            events.between(nxt.origin, nxt.score_end)
            if nxt is not None and nxt.origin >= fold.score_end - 1e-9
            else None
        )
        tasks.append(
            OriginTask(
                fold=fold,
                history=events.between(fold.train_start, fold.origin),
                scoring=events.between(fold.origin, fold.score_end),
                next_scoring=next_scoring,
                support=support,
                methods=method_items,
                fractions=tuple(float(f) for f in fractions),
                target=target,
                protocol=protocol,
                timezone=timezone,
            )
        )
    return tasks


def _outside(events: EventSet, support: Support, folds: Sequence[Fold]) -> float:
    """Events in the scoring windows that fall in no unit (not scored)."""
    total = 0.0
    for fold in folds:
        window = events.between(fold.origin, fold.score_end)
        total += float(window.count[support.assign(window.x, window.y) < 0].sum())
    return total


def run_backtest(
    events: EventSet,
    support: Support,
    methods: Mapping[str, Forecaster],
    splitter: RollingOrigin,
    *,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    target: str = "count",
    executor: Executor | None = None,
    on_origin_done: Callable[[int], None] | None = None,
    meta: Mapping[str, Any] | None = None,
    protocol: str = "mask",
    timezone: str | None = None,
) -> BacktestResult:
    """Backtest ``methods`` on the same rolling origins.

    Parameters
    ----------
    events : all the events (their CRS must be the support's).
    support : the units forecasts are made for and scored on.
    methods : name -> unfitted forecaster (cloned for every origin).
    splitter : the rolling origins; the data end is taken from ``events``.
    fractions : area fractions to score at.
    target : ``"count"`` (events) or ``"harm"``: what is ranked and what is counted.
    executor : where origins run (default serial).
    on_origin_done : called with the number of origins finished so far.
    meta : extra descriptive fields stored with the result (dataset, level...).
    protocol : ``"mask"`` (default, the field's protocol and that of ``patrolcast backtest``:
        only the units with an event before each origin are ranked and scored, top units by
        score) or ``"area"`` (every unit of ``support``, which then must be a real place, not
        the extent of the data); see :func:`score_origin`.
    timezone : origins at local midnight in this zone (``None``: the splitter's own).
    """
    if target not in ("count", "harm"):
        raise ValueError(f"unknown target {target!r}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}: use mask or area")
    if len(events) == 0:
        raise ValueError("no events to backtest on")
    if not methods:
        raise ValueError("no methods to backtest")
    step = splitter.step or splitter.horizon
    if events.time_precision == "month" and (splitter.horizon.unit != "M" or step.unit != "M"):
        raise InputError(
            "these records give the month only: use a month horizon and step (e.g. 1M), "
            f"not {splitter.horizon} every {step}"
        )
    tz = None if events.time_precision == "month" else (timezone or splitter.timezone)
    if tz != splitter.timezone:
        splitter = dataclasses.replace(splitter, timezone=tz)
    end = local_data_end(float(events.t.max()), events.time_precision, tz)
    folds = splitter.folds(float(events.t.min()), end)
    tasks = _tasks(events, support, folds, methods, fractions, target, protocol, tz)
    runner = executor or SerialExecutor()
    results: list[OriginResult] = []
    for done, result in enumerate(runner.map(score_origin, tasks), start=1):
        results.append(result)
        if on_origin_done is not None:
            on_origin_done(done)
    rows = pd.DataFrame([r for res in results for r in res.rows])
    rows["overlap_next"] = math.nan
    area = np.asarray(support.unit_area, dtype=np.float64)
    for k in range(len(results) - 1):
        for (name, f), (idx_a, w_a) in results[k].flagged.items():
            idx_b, w_b = results[k + 1].flagged[(name, f)]
            wa = np.zeros(support.n_units)
            wb = np.zeros(support.n_units)
            wa[idx_a], wb[idx_b] = w_a, w_b
            mask = (
                (rows["origin_days"] == folds[k].origin)
                & (rows["method"] == name)
                & (rows["fraction"] == f)
            )
            rows.loc[mask, "overlap_next"] = flagged_overlap(wa, wb, area)
    reliability = pd.DataFrame([r for res in results for r in res.reliability])
    info: dict[str, Any] = {
        "methods": list(methods),
        "method_params": {name: m.get_params() for name, m in methods.items()},
        "fractions": [float(f) for f in fractions],
        "target": target,
        "protocol": protocol,
        "protocol_note": (
            "scored on the units with at least one event before each origin (study mask), "
            "top units by score, ties broken by a fixed key"
            if protocol == "mask"
            else "scored on every unit of the study area, tied units shared pro rata"
        ),
        "timezone": tz or "UTC",
        "history_used_days": {
            name: m.lookback_used(splitter.horizon.approx_days) for name, m in methods.items()
        },
        "n_events_outside_mask": float(
            rows.drop_duplicates("origin_days")["n_outside_mask"].sum()
        ),
        "empty_lookback": {
            name: int(
                (rows[(rows["method"] == name)].drop_duplicates("origin_days")[
                    "events_in_lookback"] <= 0).sum()
            )
            for name in methods
        },
        "horizon": str(splitter.horizon),
        "step": str(splitter.step or splitter.horizon),
        "lookback": str(splitter.lookback) if splitter.lookback else "all",
        "n_origins": len(folds),
        "origins": [_local_date(f.origin, tz) for f in folds],
        "origin_times_utc": [from_days(f.origin).isoformat() for f in folds],
        "short_training_folds": short_folds(folds, float(events.t.min())),
        "n_units": support.n_units,
        "crs": support.crs,
        "n_events_scored": float(rows.drop_duplicates("origin_days")["n_events"].sum()),
        # Origins whose scoring window holds no event (a gap in the data?): not scored.
        "empty_windows": int((rows.drop_duplicates("origin_days")["n_events"] <= 0).sum()),
        "n_events_outside_support": _outside(events, support, folds),
        "deviance_floor": 1e-6,
    }
    info.update(meta or {})
    return BacktestResult(rows=rows, reliability=reliability, meta=info)
