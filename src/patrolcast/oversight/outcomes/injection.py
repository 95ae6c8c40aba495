"""Validation by injected effects on real events: does the evaluation find what we put in?

For each simulated deployment (a hot block of the real data and a random start date) the real
events are copied and changed in a known way:

- a share ``reduction`` of the treated area's events during the window is removed (each event
  independently), and ``residual_reduction`` of those in the residual window after it;
- a share ``displaced_share`` of the removed events is moved to a uniformly random point of
  the buffer at the same time (displacement).

The truth of each run is therefore known exactly: ``-removed`` events in the window,
``-removed_post`` after it, ``displaced`` in the buffer, and a WDD of
``-removed + displaced``. The same deployment is also evaluated untouched (a placebo): its
intervals should exclude zero in no more than about 5% of runs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.oversight.outcomes.counts import DeploymentArea, Window, count_per_unit
from patrolcast.oversight.outcomes.outcome import evaluate_deployment, ratio_of_sums
from patrolcast.oversight.outcomes.pooling import random_effects

__all__ = [
    "Injection",
    "InjectedTruth",
    "SimulationSpec",
    "inject_effect",
    "random_point_in",
    "TrialSimulation",
    "run_injection_study",
    "run_trial_study",
    "simulated_deployments",
    "summarise_study",
    "summarise_trials",
]


@dataclass(frozen=True)
class Injection:
    """Shares of events removed and displaced (each between 0 and 1)."""

    reduction: float = 0.5
    residual_reduction: float = 0.25
    displaced_share: float = 0.3

    def __post_init__(self) -> None:
        for name in ("reduction", "residual_reduction", "displaced_share"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise InputError(f"{name} must lie between 0 and 1")


@dataclass(frozen=True)
class InjectedTruth:
    removed_during: int
    removed_post: int
    displaced_during: int
    original_during: int


def random_point_in(geometry: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniformly in a polygon, by rejection from its bounding box."""
    import shapely

    xmin, ymin, xmax, ymax = geometry.bounds
    out = np.zeros((0, 2))
    while len(out) < n:
        cand = rng.uniform((xmin, ymin), (xmax, ymax), size=(max(4 * n, 16), 2))
        out = np.vstack([out, cand[shapely.contains_xy(geometry, cand[:, 0], cand[:, 1])]])
    return out[:n]


def inject_effect(
    events: EventSet,
    deployment: DeploymentArea,
    injection: Injection,
    *,
    residual_days: float,
    rng: np.random.Generator,
) -> tuple[EventSet, InjectedTruth]:
    """A copy of ``events`` with the injected effect applied, and what was injected."""
    import shapely

    inside = shapely.contains_xy(deployment.treated, events.x, events.y)
    during = inside & (events.t >= deployment.start) & (events.t < deployment.end)
    post = inside & (events.t >= deployment.end) & (events.t < deployment.end + residual_days)
    drop_d = during & (rng.random(len(events)) < injection.reduction)
    drop_p = post & (rng.random(len(events)) < injection.residual_reduction)
    move = drop_d & (rng.random(len(events)) < injection.displaced_share)
    x, y = events.x.copy(), events.y.copy()
    if move.any():
        pts = random_point_in(deployment.buffer_area, int(move.sum()), rng)
        x[move], y[move] = pts[:, 0], pts[:, 1]
    keep = ~(drop_d | drop_p) | move
    changed = EventSet(
        t=events.t[keep], x=x[keep], y=y[keep], count=events.count[keep],
        harm=events.harm[keep], crs=events.crs, time_precision=events.time_precision,
        mark=events.mark[keep] if len(events.mark) else events.mark,
    )  # fmt: skip
    truth = InjectedTruth(
        removed_during=int(events.count[drop_d].sum()),
        removed_post=int(events.count[drop_p].sum()),
        displaced_during=int(events.count[move].sum()),
        original_during=int(events.count[during].sum()),
    )
    return changed, truth


@dataclass(frozen=True)
class SimulationSpec:
    """Settings of the injected-effect study (defaults: a month of patrols on 500 m blocks)."""

    n_deployments: int = 200
    block_m: float = 500.0
    window_days: float = 28.0
    pre_days: float = 365.0
    residual_days: float = 7.0
    hot_share: float = 0.02
    n_controls: int = 10
    injection: Injection = Injection()
    seed: int = 20031001
    level: float = 0.95
    batch: int = 20

    def __post_init__(self) -> None:
        if self.n_deployments < 1 or self.batch < 2:
            raise InputError("simulate at least one deployment, pooled in batches of 2 or more")
        if not 0 < self.hot_share <= 1:
            raise InputError("hot_share must lie in (0, 1]")


def simulated_deployments(events: EventSet, spec: SimulationSpec) -> tuple[list[DeploymentArea],
                                                                           Any]:
    """Random deployments on hot blocks of a ``block_m`` grid; returns them and the grid (the
    control pool). Blocks are ranked by their events in the year before each start date."""
    import shapely

    from patrolcast.geo.support import Grid

    if len(events) == 0:
        raise InputError("no events to simulate deployments on")
    grid = Grid.covering(float(events.x.min()), float(events.y.min()), float(events.x.max()),
                         float(events.y.max()), cell_size=spec.block_m, crs=events.crs)
    polys = grid.cell_polygons()
    rng = np.random.default_rng(spec.seed)
    first = float(events.t.min()) + max(365.0, spec.pre_days)
    last = float(events.t.max()) - spec.window_days - spec.residual_days
    if last <= first:
        raise InputError("the events span too short a time for the simulated windows")
    out = []
    for i in range(spec.n_deployments):
        start = float(np.floor(rng.uniform(first, last)))
        year = count_per_unit(events, grid, Window(start - 365.0, start))
        busy = np.flatnonzero(year > 0)
        top = busy[np.argsort(-year[busy], kind="stable")][: max(1, int(spec.hot_share *
                                                                      busy.size))]
        cell = int(rng.choice(top))
        out.append(DeploymentArea(
            deployment_id=f"sim-{i:04d}", treated=shapely.normalize(polys[cell]), start=start,
            end=start + spec.window_days, crs=events.crs, buffer_m=spec.block_m,
            forecast_expected=float(year[cell]) * spec.window_days / 365.0,
        ))  # fmt: skip
    return out, grid


def run_injection_study(events: EventSet, spec: SimulationSpec) -> pd.DataFrame:
    """One row per simulated deployment: the injected truth and the estimates, injected and
    placebo. See :func:`summarise_study` for bias, coverage and false-positive rates."""
    deployments, grid = simulated_deployments(events, spec)
    rng = np.random.default_rng(spec.seed + 1)
    kw = dict(pre_days=spec.pre_days, residual_days=spec.residual_days,
              n_controls=spec.n_controls, level=spec.level)  # fmt: skip
    rows = []
    for dep in deployments:
        span = events.between(dep.start - spec.pre_days, dep.end + spec.residual_days)
        changed, truth = inject_effect(span, dep, spec.injection,
                                       residual_days=spec.residual_days, rng=rng)
        hit = evaluate_deployment(changed, dep, grid, **kw)  # type: ignore[arg-type]
        none = evaluate_deployment(span, dep, grid, **kw)  # type: ignore[arg-type]
        wdd_truth = -truth.removed_during + truth.displaced_during
        rows.append({
            "deployment": dep.deployment_id, "start": dep.start,
            **{f"truth_{k}": v for k, v in asdict(truth).items()},
            "pre": hit.treated["pre"], "observed": hit.during.observed,
            "expected": hit.during.expected,
            "diff": hit.during.difference, "diff_low": hit.during.low,
            "diff_high": hit.during.high,
            "covered": hit.during.low <= -truth.removed_during <= hit.during.high,
            "significant": hit.during.significant,
            "log_rr": hit.during.log_rr, "log_rr_se": hit.during.log_rr_se,
            "diff_se": hit.during.se, "placebo_diff_se": none.during.se,
            "residual_diff": hit.residual.difference,
            "residual_covered": hit.residual.low <= -truth.removed_post <= hit.residual.high,
            "residual_log_rr": hit.residual.log_rr, "residual_log_rr_se": hit.residual.log_rr_se,
            "wdd": hit.wdd.wdd, "wdd_covered": hit.wdd.low <= wdd_truth <= hit.wdd.high,
            "wdd_truth": wdd_truth, "wdq": hit.wdq.wdq,
            "wdd_poisson_covered": hit.wdd_poisson.low <= wdd_truth <= hit.wdd_poisson.high,
            "placebo_wdd_poisson_significant": none.wdd_poisson.low > 0
            or none.wdd_poisson.high < 0,
            "placebo_diff": none.during.difference,
            "placebo_significant": none.during.significant,
            "placebo_residual_significant": none.residual.significant,
            "placebo_wdd_significant": none.wdd.low > 0 or none.wdd.high < 0,
            "placebo_log_rr": none.during.log_rr, "placebo_log_rr_se": none.during.log_rr_se,
            "placebo_forecast_within": None if none.forecast is None else none.forecast.within,
            "alpha": hit.alpha_during,
        })  # fmt: skip
    return pd.DataFrame(rows)


def summarise_study(runs: pd.DataFrame, spec: SimulationSpec) -> dict[str, Any]:
    """Bias, interval coverage, pooled estimates and placebo false-positive rates."""
    inj = spec.injection
    n = len(runs)
    truth = -runs["truth_removed_during"]
    out: dict[str, Any] = {
        "n_deployments": n,
        "injected": asdict(inj),
        "window_days": spec.window_days,
        "block_m": spec.block_m,
        "mean_events_in_window_before_injection": float(runs["truth_original_during"].mean()),
        "difference_bias": float((runs["diff"] - truth).mean()),
        "difference_bias_se": float((runs["diff"] - truth).std(ddof=1) / math.sqrt(n)),
        "difference_coverage": float(runs["covered"].mean()),
        "power_single_deployment": float(runs["significant"].mean()),
        "residual_coverage": float(runs["residual_covered"].mean()),
        "wdd_bias": float((runs["wdd"] - runs["wdd_truth"]).mean()),
        "wdd_coverage": float(runs["wdd_covered"].mean()),
        "wdd_poisson_se_coverage": float(runs["wdd_poisson_covered"].mean()),
        "placebo_false_positive_rate": float(runs["placebo_significant"].mean()),
        "placebo_residual_false_positive_rate": float(runs["placebo_residual_significant"].mean()),
        "placebo_wdd_false_positive_rate": float(runs["placebo_wdd_significant"].mean()),
        "placebo_wdd_poisson_se_false_positive_rate": float(
            runs["placebo_wdd_poisson_significant"].mean()
        ),
        "placebo_difference_mean": float(runs["placebo_diff"].mean()),
    }
    within = runs["placebo_forecast_within"].dropna()
    if len(within):
        out["placebo_forecast_interval_coverage"] = float(within.astype(bool).mean())
    target = math.log(1 - inj.reduction) if inj.reduction < 1 else float("-inf")
    pooled = random_effects(runs["log_rr"], runs["log_rr_se"], level=spec.level)
    placebo = random_effects(runs["placebo_log_rr"], runs["placebo_log_rr_se"], level=spec.level)
    batches = [runs.iloc[i: i + spec.batch] for i in range(0, n - spec.batch + 1, spec.batch)]
    ratio_cov, ratio_fp, diff_cov, diff_fp = [], [], [], []
    for b in batches:
        r = _ratio(b["observed"], b["expected"], spec.level)
        ratio_cov.append(r[1] <= 1 - inj.reduction <= r[2])
        pr = _ratio(b["observed"] - b["diff"] + b["placebo_diff"], b["expected"], spec.level)
        ratio_fp.append(not pr[1] <= 1.0 <= pr[2])
        d = random_effects(b["diff"], b["diff_se"], level=spec.level)
        diff_cov.append(d.low <= float(-b["truth_removed_during"].mean()) <= d.high)
        pd_ = random_effects(b["placebo_diff"], b["placebo_diff_se"], level=spec.level)
        diff_fp.append(not pd_.low <= 0 <= pd_.high)
    whole = _ratio(runs["observed"], runs["expected"], spec.level)
    placebo_whole = _ratio(runs["observed"] - runs["diff"] + runs["placebo_diff"],
                           runs["expected"], spec.level)
    diff_all = random_effects(runs["diff"], runs["diff_se"], level=spec.level)
    out.update({
        "pooled_ratio_of_sums": list(whole),
        "pooled_ratio_batch_coverage": float(np.mean(ratio_cov)) if ratio_cov else None,
        "placebo_pooled_ratio_of_sums": list(placebo_whole),
        "placebo_pooled_ratio_batch_false_positive_rate": float(np.mean(ratio_fp))
        if ratio_fp else None,
        "pooled_difference": [diff_all.estimate, diff_all.low, diff_all.high],
        "injected_mean_difference": float(-runs["truth_removed_during"].mean()),
        "pooled_difference_batch_coverage": float(np.mean(diff_cov)) if diff_cov else None,
        "placebo_pooled_difference_batch_false_positive_rate": float(np.mean(diff_fp))
        if diff_fp else None,
    })  # fmt: skip
    covered = [
        (p := random_effects(b["log_rr"], b["log_rr_se"], level=spec.level)).low <= target
        <= p.high for b in batches
    ]  # fmt: skip
    placebo_hits = [
        not ((p := random_effects(b["placebo_log_rr"], b["placebo_log_rr_se"],
                                  level=spec.level)).low <= 0 <= p.high) for b in batches
    ]  # fmt: skip
    out.update({
        "injected_rate_ratio": 1 - inj.reduction,
        "pooled_rate_ratio": list(pooled.rate_ratio),
        "pooled_tau2": pooled.tau2,
        "pooled_batches": len(batches),
        "pooled_batch_coverage": float(np.mean(covered)) if covered else None,
        "placebo_pooled_rate_ratio": list(placebo.rate_ratio),
        "placebo_pooled_batch_false_positive_rate": float(np.mean(placebo_hits))
        if placebo_hits else None,
    })  # fmt: skip
    return out


def _ratio(observed: pd.Series, expected: pd.Series, level: float) -> tuple[float, float, float]:
    r = ratio_of_sums(observed, expected, level=level)
    return r.rate_ratio, r.low, r.high


@dataclass(frozen=True)
class TrialSimulation:
    """A crossover trial on real events: hot blocks, patrol days at random within each block,
    ``reduction`` of the events of patrol days removed (0 for a placebo)."""

    n_places: int = 20
    n_days: int = 90
    block_m: float = 150.0
    reduction: float = 0.5
    n_permutations: int = 500
    seed: int = 2021


def run_trial_study(events: EventSet, sim: TrialSimulation, *, n_trials: int = 20,
                    ) -> pd.DataFrame:  # fmt: skip
    """Simulated crossover trials (Southend-like: 150 m hot spots, one patrol a day on half the
    days); per trial the analysed rate ratio and interval, injected and placebo."""
    from datetime import timedelta

    from patrolcast.events import from_days
    from patrolcast.geo.support import Grid
    from patrolcast.oversight.outcomes.trial import analyse_crossover, crossover_allocation

    grid = Grid.covering(float(events.x.min()), float(events.y.min()), float(events.x.max()),
                         float(events.y.max()), cell_size=sim.block_m, crs=events.crs)
    rng = np.random.default_rng(sim.seed)
    first = float(events.t.min()) + 365.0
    last = float(events.t.max()) - sim.n_days
    rows = []
    for k in range(n_trials):
        start = float(np.floor(rng.uniform(first, last)))
        year = count_per_unit(events, grid, Window(start - 365.0, start))
        places = np.argsort(-year, kind="stable")[: sim.n_places]
        day0 = from_days(start).date()
        alloc = crossover_allocation(f"sim-trial-{k}", [grid.unit_ids[p] for p in places],
                                     [day0 + timedelta(days=i) for i in range(sim.n_days)],
                                     seed=sim.seed + k, created_at="simulated")  # fmt: skip
        span = events.between(start, start + sim.n_days)
        unit = np.asarray(grid.assign(span.x, span.y))
        day = np.floor(span.t - start).astype(int)
        counts = np.zeros((sim.n_places, sim.n_days))
        removed = np.zeros((sim.n_places, sim.n_days))
        patrol = np.array(alloc.patrol, dtype=bool)
        for i, p in enumerate(places):
            mine = unit == p
            np.add.at(counts[i], day[mine], span.count[mine])
        kept = rng.binomial(counts.astype(int), 1 - sim.reduction)
        removed = np.where(patrol, counts - kept, 0)
        for label, values in (("injected", counts - removed), ("placebo", counts)):
            frame = pd.DataFrame([(alloc.places[i], alloc.days[d], values[i, d])
                                  for i in range(sim.n_places) for d in range(sim.n_days)],
                                 columns=["place", "day", "count"])  # fmt: skip
            res = analyse_crossover(alloc, frame, n_permutations=sim.n_permutations,
                                    seed=sim.seed + k)
            rows.append({"trial": k, "arm": label, "rate_ratio": res.rate_ratio,
                         "low": res.low, "high": res.high, "p": res.randomisation_p,
                         "events": float(values.sum())})  # fmt: skip
    return pd.DataFrame(rows)


def summarise_trials(runs: pd.DataFrame, sim: TrialSimulation) -> dict[str, Any]:
    inj = runs[runs["arm"] == "injected"]
    pla = runs[runs["arm"] == "placebo"]
    target = 1 - sim.reduction
    return {
        "trials": int(len(inj)),
        "places": sim.n_places, "days": sim.n_days, "block_m": sim.block_m,
        "injected_rate_ratio": target,
        "mean_events_per_trial": float(pla["events"].mean()),
        "median_rate_ratio": float(inj["rate_ratio"].median()),
        "coverage": float(((inj["low"] <= target) & (target <= inj["high"])).mean()),
        "power_randomisation_p_below_0_05": float((inj["p"] < 0.05).mean()),
        "placebo_false_positive_rate": float((pla["p"] < 0.05).mean()),
        "placebo_interval_excludes_1": float(((pla["low"] > 1) | (pla["high"] < 1)).mean()),
    }  # fmt: skip
