"""Alert backtest: replay a period and score every serious-assault alert against what followed.

For every serious incident in ``[start, end)`` the alert is issued exactly as ``patrolcast
alert`` would have issued it at that moment: the model (:func:`~patrolcast.forecast.alert.
fit_alert_model`) is fitted only on the events before a refit date (every ``refit_days``),
then conditioned on the events between the refit and the incident
(:meth:`~patrolcast.forecast.etas.ETASForecaster.conditioned_on`), with the near-repeat (Knox)
table of the same history. Four zones are scored for each incident, on the same grid:

- ``issued``: the zone the command gives (the model's cells when its fit is trustworthy, else
  the Knox-derived zone, else none);
- ``model``: the model's cells whether or not the fit is trusted (``min_ratio``; and, as a
  sweep rather than a tuned choice, ``model_10pct`` and ``model_50pct``: cells the incident
  raises by at least 10% or 50% of their background);
- ``knox``: the cells meeting the Knox-derived disc, for the Knox-derived duration;
- ``fixed``: the cells meeting a 400 m disc, for 14 days (the rule analysts use today).

For each zone: events that followed inside it during its window (the trigger's own record and
co-victims are one incident, collapsed first), the km2-days flagged, events caught per km2-day,
*lift* = observed / the model's background expectation in the zone (what the background alone
predicts), and *calibration* = observed / the model's full expectation (background, triggering
by earlier events and by this incident) with an exact Poisson interval (Garwood 1936). Alerts
overlap in space and time, so an event can count for several alerts; the intervals for lift,
events per km2-day and calibration are therefore also given as percentile bootstraps over alerts
(2,000 replicates, seeded): the Poisson interval of calibration treats the counts as independent
and is narrower than the truth when alerts overlap.

Lift by distance and day: the events following each incident within 1 km and 28 days, by
distance band and time band, over the background expectation in the same annulus and days
(background per cell spread over 5 x 5 sub-points of the cell).

References
----------
Garwood, F. (1936). Fiducial limits for the Poisson distribution. *Biometrika* 28, 437-442.
Ratcliffe, J. H., & Rengert, G. F. (2008). Near-repeat patterns in Philadelphia shootings.
*Security Journal* 21(1-2), 58-76.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError
from patrolcast.events import EventSet, from_days
from patrolcast.forecast.alert import (
    CORE_SHARE,
    RELEVEL_DAYS,
    ZONE_SHAPES,
    Alert,
    KnoxZone,
    alert_model,
    fit_alert_model,
    kernel_core,
    knox_zone,
    serious_assault_alert,
)
from patrolcast.forecast.etas import collapse_incidents
from patrolcast.forecast.near_repeat import knox_test
from patrolcast.geo.study_area import StudyArea
from patrolcast.geo.support import Support

FloatArray = npt.NDArray[np.float64]

__all__ = [
    "AlertBacktestSpec",
    "AlertBacktestResult",
    "run_alert_backtest",
    "poisson_interval",
    "plot_lift",
    "plot_lift_arrays",
    "alert_backtest_on_grid",
    "RULES",
]

RULES = ("issued", "model", "model_10pct", "model_50pct", "model_core", "model_dense", "knox",
         "fixed")  # fmt: skip
SWEEP = {"model_10pct": 0.10, "model_50pct": 0.50}
CELL_DAY_RULES = ("model_dense",)  # zones of cell-days, from one wide model alert
# what the command would issue with the dense zone: the model's dense cell-days when its fit is
# trustworthy, else the Knox zone (scored from the same alerts as the other rules)
ISSUED_DENSE = "issued_dense"  # summarised after RULES, with its own seeded bootstrap stream
WIDE_CELLS = 60  # cells of the wide alert the cell-day zones are cut from
DIST_EDGES = (0.0, 100.0, 200.0, 300.0, 400.0, 600.0, 800.0, 1000.0)
DAY_EDGES = (0.0, 3.0, 7.0, 14.0, 28.0)
SUB = 5  # sub-points per cell side for annulus backgrounds


def poisson_interval(observed: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson mean given ``observed`` events."""
    from scipy.stats import chi2

    a = (1.0 - level) / 2.0
    lo = 0.0 if observed <= 0 else float(chi2.ppf(a, 2 * observed) / 2.0)
    hi = float(chi2.ppf(1.0 - a, 2 * observed + 2) / 2.0)
    return lo, hi


@dataclass(frozen=True)
class AlertBacktestSpec:
    """What to replay: the period, which incidents trigger an alert, and the rules' settings."""

    start: float
    end: float
    days: int = 14
    refit_days: float = 28.0
    history_days: float = 730.0
    min_ratio: float = 0.02
    fixed_radius_m: float = 400.0
    fixed_days: int = 14
    permutations: int = 99
    serious_marks: tuple[int, ...] | None = None  # None: every incident is serious
    space_bands: tuple[float, ...] = (0.0, 100.0, 200.0, 400.0)
    time_bands: tuple[float, ...] = (0.0, 7.0, 14.0, 28.0)
    alpha: float = 0.05
    seed: int = 0
    relevel_days: float | None = RELEVEL_DAYS  # background level from the last 4 weeks
    zone: str = "core"  # shape of the issued model zone, as ``patrolcast alert --zone``

    def check(self) -> None:
        if not self.end > self.start:
            raise InputError("the backtest period must end after it starts")
        if not (isinstance(self.days, int) and 1 <= self.days <= 60):
            raise InputError(f"days must be 1 to 60, got {self.days!r}")
        if not self.refit_days > 0 or not self.history_days > 0:
            raise InputError("refit_days and history_days must be positive")
        if self.zone not in ZONE_SHAPES:
            raise InputError(f"unknown zone shape {self.zone!r}: use {' or '.join(ZONE_SHAPES)}")


@dataclass
class _Tally:
    """Per-alert scores of one rule (arrays over alerts)."""

    observed: list[float] = field(default_factory=list)
    background: list[float] = field(default_factory=list)
    expected: list[float] = field(default_factory=list)
    cells: list[int] = field(default_factory=list)
    km2_days: list[float] = field(default_factory=list)

    def add(self, o: float, bg: float, ex: float, cells: int, km2_days: float) -> None:
        self.observed.append(o)
        self.background.append(bg)
        self.expected.append(ex)
        self.cells.append(cells)
        self.km2_days.append(km2_days)

    def last(self) -> tuple[float, float, float, int, float]:
        """The scores of the last alert added (to score it under another rule too)."""
        return (self.observed[-1], self.background[-1], self.expected[-1], self.cells[-1],
                self.km2_days[-1])  # fmt: skip

    def summary(self, rng: np.random.Generator, replicates: int = 2000) -> dict[str, Any]:
        o = np.asarray(self.observed)
        bg = np.asarray(self.background)
        ex = np.asarray(self.expected)
        area = np.asarray(self.km2_days)
        n = o.size
        issued = int(np.sum(np.asarray(self.cells) > 0))
        total_o, total_bg, total_ex, total_a = o.sum(), bg.sum(), ex.sum(), area.sum()
        out: dict[str, Any] = {
            "alerts": n,
            "alerts_with_zone": issued,
            "cells_flagged": int(np.sum(self.cells)),
            "km2_days": float(total_a),
            "events_caught": int(total_o),
            "background_expected": float(total_bg),
            "model_expected": float(total_ex),
            "caught_per_km2_day": float(total_o / total_a) if total_a > 0 else None,
            "lift": float(total_o / total_bg) if total_bg > 0 else None,
            "calibration": float(total_o / total_ex) if total_ex > 0 else None,
            "excess_calibration": (
                float((total_o - total_bg) / (total_ex - total_bg))
                if total_ex - total_bg > 0 else None
            ),
        }
        if total_ex > 0:
            lo, hi = poisson_interval(float(total_o))
            out["calibration_poisson_95"] = [lo / total_ex, hi / total_ex]
            out["calibrated"] = bool(lo / total_ex <= 1.0 <= hi / total_ex)
        if n >= 2 and total_a > 0:
            idx = rng.integers(0, n, size=(replicates, n))
            so, sb, sa = o[idx].sum(axis=1), bg[idx].sum(axis=1), area[idx].sum(axis=1)
            se = ex[idx].sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                exc = np.where(se - sb > 0, (so - sb) / (se - sb), np.nan)
                lift = np.where(sb > 0, so / sb, np.nan)
                dens = np.where(sa > 0, so / sa, np.nan)
                cal = np.where(se > 0, so / se, np.nan)
            out["calibration_bootstrap_95"] = [float(v) for v in np.nanpercentile(cal, [2.5, 97.5])]
            if np.isfinite(exc).any():
                out["excess_calibration_bootstrap_95"] = [
                    float(v) for v in np.nanpercentile(exc, [2.5, 97.5])
                ]
            out["lift_bootstrap_95"] = [float(v) for v in np.nanpercentile(lift, [2.5, 97.5])]
            out["caught_per_km2_day_bootstrap_95"] = [
                float(v) for v in np.nanpercentile(dens, [2.5, 97.5])
            ]
        return out


@dataclass(frozen=True)
class AlertBacktestResult:
    """Scores per rule, the fits made, and the lift table by distance and day."""

    spec: AlertBacktestSpec
    rules: dict[str, dict[str, Any]]
    fits: list[dict[str, Any]]
    lift_observed: FloatArray  # (distance bands, day bands)
    lift_background: FloatArray
    n_incidents: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def lift_table(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(
                self.lift_background > 0, self.lift_observed / self.lift_background, np.nan
            )

    def to_dict(self) -> dict[str, Any]:
        lift = self.lift_table
        return {
            "period": [
                from_days(self.spec.start).isoformat(),
                from_days(self.spec.end).isoformat(),
            ],
            "incidents": self.n_incidents,
            "spec": {k: v for k, v in self.spec.__dict__.items() if k not in ("start", "end")},
            "rules": self.rules,
            "fits": self.fits,
            "fits_converged": sum(1 for f in self.fits if f["converged"]),
            "fits_trustworthy": sum(1 for f in self.fits if f["trustworthy"]),
            "lift_by_distance_and_day": {
                "distance_edges_m": list(DIST_EDGES),
                "day_edges": list(DAY_EDGES),
                "observed": self.lift_observed.tolist(),
                "background_expected": self.lift_background.tolist(),
                "lift": [[None if not np.isfinite(v) else float(v) for v in row] for row in lift],
            },
            **self.meta,
        }


def _sub_points(support: Support, bg_per_day: FloatArray) -> tuple[FloatArray, FloatArray]:
    """``SUB x SUB`` sub-points per unit, each carrying its share of the unit's background."""
    cent = support.centroids
    size = getattr(support, "cell_size", None)
    side = np.full(support.n_units, float(size)) if size else np.sqrt(support.unit_area)
    off = (np.arange(SUB) + 0.5) / SUB - 0.5
    ox, oy = np.meshgrid(off, off)
    px = (cent[:, 0:1] + side[:, None] * ox.ravel()[None, :]).ravel()
    py = (cent[:, 1:2] + side[:, None] * oy.ravel()[None, :]).ravel()
    w = np.repeat(bg_per_day / (SUB * SUB), SUB * SUB)
    return np.column_stack([px, py]), w


def _score_cells(
    alert: Alert,
    cell_of_following: npt.NDArray[np.int64],
    dt_following: FloatArray,
    cell_area_km2: float,
) -> tuple[float, float, float, int, float]:
    """Observed, background, model-expected events, cells and km2-days of one alert's zone."""
    if not alert.cells:
        return 0.0, 0.0, 0.0, 0, 0.0
    units = np.array([c.unit_index for c in alert.cells])
    inside = np.isin(cell_of_following, units) & (dt_following <= alert.days)
    bg = sum(c.terms["background"] for c in alert.cells)
    ex = sum(c.expected_total for c in alert.cells)
    return float(inside.sum()), bg, ex, len(units), len(units) * cell_area_km2 * alert.days


def density_ratio(
    zone: _Tally, base: _Tally, rng: np.random.Generator, replicates: int = 2000
) -> dict[str, Any] | None:
    """Events caught per km2-day in ``zone`` over those in ``base``, on the same alerts, with a
    paired percentile bootstrap over alerts (an alert is resampled with both its zones)."""
    o1, a1 = np.asarray(zone.observed), np.asarray(zone.km2_days)
    o2, a2 = np.asarray(base.observed), np.asarray(base.km2_days)
    if o1.size < 2 or a1.sum() <= 0 or a2.sum() <= 0 or o2.sum() <= 0:
        return None
    idx = rng.integers(0, o1.size, size=(replicates, o1.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = (o1[idx].sum(1) / a1[idx].sum(1)) / (o2[idx].sum(1) / a2[idx].sum(1))
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    return {"ratio": float((o1.sum() / a1.sum()) / (o2.sum() / a2.sum())),
            "bootstrap_95": [float(lo), float(hi)], "above_1": bool(lo > 1.0)}  # fmt: skip


def cell_day_zones(
    wide: Alert, fixed: Alert, *, share: float = CORE_SHARE
) -> dict[str, npt.NDArray[np.bool_]]:
    """The zones of cell-days cut from a wide model alert (cells x days booleans).

    - ``model_core``: shaped by the fitted kernel. The cells holding ``share`` of the
      incident's added events (largest first, at least one), for the first days holding
      ``share`` of their added events (at least one day).
    - ``model_dense``: the cell-days the incident raises by at least 2% of their background
      where the model expects more events per km2-day than it expects, on average, in the
      400 m / 14-day disc of the same alert (``fixed``): the densest part of the neighbourhood.
    """
    n, days = len(wide.cells), wide.days
    empty = np.zeros((n, days), dtype=bool)
    if n == 0:
        return {"model_core": empty, "model_dense": empty.copy()}
    added = np.array([c.added_by_day for c in wide.cells])  # (cells, days)
    core_cells, n_days = kernel_core(added, share)
    core = empty.copy()
    core[np.ix_(core_cells, np.arange(n_days))] = True
    expected = np.array([c.expected_by_day for c in wide.cells])
    bg = np.array([c.background_per_day for c in wide.cells])
    fixed_days = max(sum(len(c.added_by_day) for c in fixed.cells), 1)
    fixed_density = sum(c.expected_total for c in fixed.cells) / fixed_days  # per cell-day
    dense = (expected > fixed_density) & (added >= 0.02 * bg[:, None]) if fixed.cells else empty
    return {"model_core": core, "model_dense": dense}


def _shape(rule: str, spec: AlertBacktestSpec) -> str:
    """The model zone's shape under ``rule``: the command's for ``issued``, the kernel core for
    ``model_core`` (the command's own :func:`kernel_core` over every cell in reach)."""
    return {"issued": spec.zone, "model_core": "core"}.get(rule, "ratio")


def _score_cell_days(
    wide: Alert,
    zone: npt.NDArray[np.bool_],
    cell_of_following: npt.NDArray[np.int64],
    dt_following: FloatArray,
    cell_area_km2: float,
) -> tuple[float, float, float, int, float]:
    """Observed, background, model-expected events, cells and km2-days of a cell-day zone."""
    if not zone.any():
        return 0.0, 0.0, 0.0, 0, 0.0
    units = np.array([c.unit_index for c in wide.cells])
    day = np.floor(dt_following).astype(np.int64)
    pos = {int(u): i for i, u in enumerate(units)}
    obs = 0
    for u, d in zip(cell_of_following, day, strict=True):
        i = pos.get(int(u))
        if i is not None and 0 <= d < zone.shape[1] and zone[i, d]:
            obs += 1
    bg = np.array([c.background_per_day for c in wide.cells])[:, None] * np.ones(zone.shape)
    ex = np.array([c.expected_by_day for c in wide.cells])
    cells = int(zone.any(axis=1).sum())
    return float(obs), float(bg[zone].sum()), float(ex[zone].sum()), cells, float(
        zone.sum() * cell_area_km2
    )


def run_alert_backtest(
    events: EventSet,
    support: Support,
    spec: AlertBacktestSpec,
    *,
    progress: Any = None,
    on_alert: Any = None,
    store: Any = None,
    store_key: str = "",
    refit: bool = False,
    **model_params: Any,
) -> AlertBacktestResult:
    """Replay ``spec``'s period over ``events`` (all of a dataset) on ``support`` (a grid).

    Incidents whose follow-up (the longest window scored) would run past the last event of the
    data are left out, and counted in the result's ``meta``. With a
    :class:`~patrolcast.forecast.model_store.ModelStore` (``store``, ``store_key``), each
    scheduled fit is read back when a fit with the same cut-off, settings and events is stored,
    else fitted and stored (``refit``: always fitted anew). ``progress(fit)`` is called after
    each fit, ``on_alert(done, total)`` after each alert scored.
    """
    from scipy.spatial import cKDTree

    spec.check()
    ev, _ = collapse_incidents(events)
    serious = (ev.t >= spec.start) & (ev.t < spec.end)
    if spec.serious_marks is not None:
        if not len(ev.mark):
            raise InputError("these events carry no marks to choose serious incidents by")
        serious &= np.isin(ev.mark, spec.serious_marks)
    unit = np.asarray(support.assign(ev.x, ev.y), dtype=np.int64)
    serious &= unit >= 0
    horizon = max(spec.days, spec.fixed_days, DAY_EDGES[-1], *spec.time_bands[1:])
    data_end = float(ev.t.max()) if len(ev) else spec.end
    cut_short = serious & (ev.t + horizon > data_end)  # follow-up would run past the data
    serious &= ~cut_short
    triggers = np.flatnonzero(serious)
    if triggers.size == 0:
        raise InputError("no serious incidents in the period to issue alerts for")
    cell = getattr(support, "cell_size", None)
    cell_area_km2 = float(cell) ** 2 / 1e6 if cell else float(np.median(support.unit_area)) / 1e6
    fixed = KnoxZone(
        radius_m=spec.fixed_radius_m, days=spec.fixed_days, alpha=1.0,
        basis=f"{spec.fixed_radius_m:g} m for {spec.fixed_days} days",
    )  # fmt: skip
    tallies = {r: _Tally() for r in (*RULES, ISSUED_DENSE)}
    lift_o = np.zeros((len(DIST_EDGES) - 1, len(DAY_EDGES) - 1))
    lift_e = np.zeros_like(lift_o)
    day_width = np.diff(np.asarray(DAY_EDGES))
    tree_ev = cKDTree(np.column_stack([ev.x, ev.y]))
    fits: list[dict[str, Any]] = []
    n_fits = math.ceil((spec.end - spec.start) / spec.refit_days)
    scored = 0
    for f in range(n_fits):
        f_start = spec.start + f * spec.refit_days
        f_end = min(spec.end, f_start + spec.refit_days)
        mine = triggers[(ev.t[triggers] >= f_start) & (ev.t[triggers] < f_end)]
        if mine.size == 0:
            continue
        history = ev.select((ev.t >= f_start - spec.history_days) & (ev.t < f_start))
        if len(history) < 50:
            raise InputError(
                f"only {len(history)} incidents in the {spec.history_days:g} days before "
                f"{from_days(f_start).date()}: too few to fit"
            )
        if store is not None:
            model, choice, used = alert_model(
                ev, f_start, store=store, key=store_key, max_age_days=0.0, refit=refit,
                history_days=spec.history_days, relevel_days=spec.relevel_days, **model_params,
            )  # fmt: skip
        else:
            model, choice = fit_alert_model(
                history, f_start, history_days=spec.history_days, **model_params
            )
            used = {"reused": False, "why": "no model store"}
        knox = knox_test(
            history.t, history.x, history.y, space_bands=spec.space_bands,
            time_bands=spec.time_bands, permutations=spec.permutations, seed=spec.seed,
            time_precision=history.time_precision,
        )  # fmt: skip
        zone = knox_zone(knox, spec.alpha)
        bg_day = model.predict(support, f_start, f_start + 1.0).terms["background"]
        sub_xy, sub_w = _sub_points(support, bg_day)
        sub_tree = cKDTree(sub_xy)
        summary = model.params_summary()
        fits.append(
            {
                "cutoff": from_days(f_start).isoformat(timespec="minutes"),
                "incidents": int(mine.size),
                "events": summary["n_events"],
                "converged": summary["converged"],
                "n_iter": summary["n_iter"],
                "trustworthy": summary["trustworthy"],
                "not_trustworthy_because": summary["not_trustworthy_because"],
                "branching_ratio": summary["branching_ratio"],
                "theta_by_mark": summary["theta_by_mark"],
                "mean_trigger_delay_days": summary["mean_trigger_delay_days"],
                "mean_trigger_delays_days": summary["mean_trigger_delays_days"],
                "time_weights": summary["time_weights"],
                "sigmas_m": summary["sigmas_m"],
                "scale_weights": summary["scale_weights"],
                "selection": choice,
                "fit_used": used,
                "knox_zone": zone.to_dict() if zone else None,
            }
        )
        if progress is not None:
            progress(fits[-1])
        for i in mine:
            t0, x0, y0 = float(ev.t[i]), float(ev.x[i]), float(ev.y[i])
            cond = model.conditioned_on(ev, until=t0, relevel_days=spec.relevel_days)
            mark = int(ev.mark[i]) if (model.marked and len(ev.mark)) else None
            near = np.asarray(tree_ev.query_ball_point([x0, y0], r=DIST_EDGES[-1]), dtype=np.int64)
            near = near[(ev.t[near] > t0) & (ev.t[near] <= t0 + horizon)]
            dt = ev.t[near] - t0
            cells_f = unit[near]
            # re-levelled to the last weeks, and moved along the season over the alert's days
            bg_now = bg_day * (
                cond.background_level(t0, t0 + spec.days)
                / max(model.background_level(f_start, f_start + 1.0), 1e-12)
            )
            kw = dict(x=x0, y=y0, t=t0, mark=mark, knox=knox, background_per_day=bg_now)
            alerts: dict[str, Alert] = {}
            for rule in RULES:
                if rule in CELL_DAY_RULES:
                    continue
                force: str | KnoxZone | None = {"issued": None, "knox": "knox", "fixed": fixed}.get(
                    rule, "model"
                )
                alerts[rule] = serious_assault_alert(
                    cond, support, days=spec.days, min_ratio=SWEEP.get(rule, spec.min_ratio),
                    force=force, top_events=0, shape=_shape(rule, spec), **kw,  # type: ignore[arg-type]
                )  # fmt: skip
                tallies[rule].add(*_score_cells(alerts[rule], cells_f, dt, cell_area_km2))
            wide = serious_assault_alert(
                cond, support, days=spec.days, min_ratio=0.0, max_cells=WIDE_CELLS,
                force="model", top_events=0, **kw,  # type: ignore[arg-type]
            )  # fmt: skip
            for rule, zone_cd in cell_day_zones(wide, alerts["fixed"]).items():
                if rule in CELL_DAY_RULES:
                    tallies[rule].add(*_score_cell_days(wide, zone_cd, cells_f, dt,
                                                        cell_area_km2))  # fmt: skip
            if cond.trustworthy_:
                tallies[ISSUED_DENSE].add(*tallies["model_dense"].last())
            else:
                tallies[ISSUED_DENSE].add(*tallies["knox"].last())
            scored += 1
            if on_alert is not None:
                on_alert(scored, int(triggers.size))
            # lift by distance and day
            dist = np.hypot(ev.x[near] - x0, ev.y[near] - y0)
            obs, _, _ = np.histogram2d(
                dist, dt, bins=[np.asarray(DIST_EDGES), np.asarray(DAY_EDGES)]
            )
            lift_o += obs
            idx = np.asarray(sub_tree.query_ball_point([x0, y0], r=DIST_EDGES[-1]), dtype=np.int64)
            if idx.size:
                d_sub = np.hypot(sub_xy[idx, 0] - x0, sub_xy[idx, 1] - y0)
                per_band = np.histogram(d_sub, bins=np.asarray(DIST_EDGES), weights=sub_w[idx])[0]
                lift_e += per_band[:, None] * day_width[None, :]
    rng = np.random.default_rng(spec.seed)
    rules = {r: tallies[r].summary(rng) for r in RULES}
    for r in RULES:
        rules[r]["per_km2_day_vs_fixed"] = density_ratio(tallies[r], tallies["fixed"], rng)
    # the dense variant of the issued zone: its own bootstrap stream, so that the other rules'
    # intervals are those of a run without it
    rng_dense = np.random.default_rng(spec.seed + 1)
    rules[ISSUED_DENSE] = tallies[ISSUED_DENSE].summary(rng_dense)
    rules[ISSUED_DENSE]["per_km2_day_vs_fixed"] = density_ratio(
        tallies[ISSUED_DENSE], tallies["fixed"], rng_dense
    )
    return AlertBacktestResult(
        spec=spec,
        rules=rules,
        fits=fits,
        lift_observed=lift_o,
        lift_background=lift_e,
        n_incidents=int(triggers.size),
        meta={"cell_size_m": cell, "left_out_follow_up_past_data_end": int(cut_short.sum()),
              "rule_names": {
            "issued": f"what `patrolcast alert` issues: the model's {spec.zone} zone if its fit "
                      "is trustworthy, else the Knox zone",
            "issued_dense": "what `patrolcast alert` would issue with the dense zone: the "
                            "model's dense cell-days if its fit is trustworthy, else the Knox "
                            "zone",
            "model": "the model's cells (min_ratio of background), trusted or not",
            "model_10pct": "the model's cells raised by >= 10% of their background",
            "model_50pct": "the model's cells raised by >= 50% of their background",
            "model_core": "the cells and first days holding half the incident's added events "
                          "(the fitted kernel's core)",
            "model_dense": "cell-days raised >= 2% where the model expects more events per "
                           "km2-day than in the 400 m / 14-day disc",
            "knox": "cells meeting the Knox-derived disc, for its duration",
            "fixed": f"cells meeting a {spec.fixed_radius_m:g} m disc for {spec.fixed_days} days",
        }},
    )  # fmt: skip


def plot_lift(
    result: AlertBacktestResult, path: Path, title: str = "Lift after an incident"
) -> Path:
    """Lift (observed / background expectation) by distance band, one line per day band."""
    return plot_lift_arrays(
        result.lift_observed, result.lift_background, result.n_incidents, path, title
    )


def plot_lift_arrays(
    observed: FloatArray, background: FloatArray, n_incidents: int, path: Path, title: str
) -> Path:
    """:func:`plot_lift` from the arrays (e.g. read back from a result's JSON)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    observed, background = np.asarray(observed, float), np.asarray(background, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(background > 0, observed / background, np.nan)
    mids = [(a + b) / 2 for a, b in zip(DIST_EDGES, DIST_EDGES[1:], strict=False)]
    fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=110)
    for k in range(lift.shape[1]):
        e = np.maximum(background[:, k], 1e-12)
        lo = np.array([poisson_interval(float(v))[0] for v in observed[:, k]]) / e
        hi = np.array([poisson_interval(float(v))[1] for v in observed[:, k]]) / e
        label = f"days {DAY_EDGES[k]:g}-{DAY_EDGES[k + 1]:g}"
        line = ax.plot(mids, lift[:, k], marker="o", label=label)[0]
        ax.fill_between(mids, lo, hi, color=line.get_color(), alpha=0.12)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("distance from the incident (m)")
    ax.set_ylabel("events / background expectation")
    ax.set_title(f"{title}\n{n_incidents} incidents; bands: Poisson 95% (alerts overlap)",
                 fontsize=9)  # fmt: skip
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def alert_backtest_on_grid(
    events: EventSet,
    spec: AlertBacktestSpec,
    *,
    cell_size: float = 250.0,
    progress: Any = None,
    area: StudyArea | None = None,
) -> AlertBacktestResult:
    """Run the alert backtest on a square grid over ``area`` (default: the events' hull).

    Events outside ``area`` are left out (the command loads the study, which counts them).
    """
    from typing import cast

    from patrolcast.geo.study_area import study_area_from_points
    from patrolcast.geo.support import Grid

    if not cell_size > 0:
        raise InputError(f"cell size must be positive, got {cell_size!r}")
    if area is None:
        area = study_area_from_points(events.x, events.y, crs=events.crs)
    else:
        events = events.select(area.contains(events.x, events.y))
    grid = cast(Support, Grid.clipped_to(area, cell_size=cell_size))
    return run_alert_backtest(events, grid, spec, progress=progress)
