"""Serious-assault alert: where, by how much and for how long one new incident raises risk.

Given an ETAS model fitted on the history up to the incident (:mod:`patrolcast.forecast.etas`)
and, optionally, the area's near-repeat (Knox) table (:mod:`patrolcast.forecast.near_repeat`),
the alert lists the cells whose expected count over the coming ``days`` the incident raises by at
least ``min_ratio`` of the background, with, for each cell:

- the daily series of the incident's added expected events: its direct offspring,
  ``theta_m * (e^{-omega k} - e^{-omega (k+1)}) * G(cell)`` for day ``k`` (``G`` the share of the
  triggering kernel over the cell, exact for square cells via the normal CDF), plus their own
  offspring and so on (the closed-form cascade of :mod:`patrolcast.forecast.etas`, spread at
  ``sigma * sqrt(2)``), and its ratio to the cell's background per day. The cell's expectation
  also counts the cascades of earlier events and of background events that will occur during
  the alert, so that observed / expected can be checked (``evaluate.alert_backtest``);
- what else raises the cell: the model terms (background, triggering by earlier events, this
  incident) and the earlier events that contribute most (their time and distance only; the
  product holds places and times, never people);
- the empirical near-repeat row for the cell's distance from the incident: Knox ratios and
  p-values per time band, a model-free cross-check of the ETAS decay.

Which rule produced the zone is always stated. The model's zone is used only when its fit is
trustworthy (EM converged, the trigger delay and scale off their bounds: see
:meth:`ETASForecaster._assess`); otherwise the alert falls back to the *Knox-derived zone*
(:func:`knox_zone`: the distance and time bands, contiguous from the incident, whose Knox ratio
is above 1 at p < 0.05), and says why. Each raised cell carries its explanation: the shares of
its expected events that come from the background, from earlier events and from this incident,
the earlier events contributing most, and the rule.

:func:`fit_alert_model` chooses the model the command uses: one or two triggering scales, and
one branching ratio per mark (fatal / non-fatal) only where a likelihood-ratio test supports
them (Wilks 1938; with a mixture weight on its boundary the test is conservative).

The alert supports a decision by a named person; it decides nothing (domain notes, section 6).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from patrolcast.errors import InputError
from patrolcast.events import EventSet, from_days
from patrolcast.forecast._etas_histogram import ring_cell_mass
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.near_repeat import KnoxResult
from patrolcast.geo.support import Support

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = [
    "CellAlert",
    "Alert",
    "KnoxZone",
    "serious_assault_alert",
    "mark_of_offence",
    "knox_zone",
    "fit_alert_model",
    "alert_model",
    "kernel_cell_mass",
    "kernel_core",
    "time_scale_params",
    "TWO_TIME_SCALES",
]

FATAL_WORDS = ("fatal", "homicide", "murder")


def mark_of_offence(offence: str) -> int:
    """Mark of an offence description: 1 for a fatal shooting / homicide, else 0."""
    text = offence.strip().lower()
    if not text:
        raise InputError("give the offence of the new incident, e.g. 'shooting'")
    return 1 if any(w in text for w in FATAL_WORDS) else 0


ZONE_SHAPES = ("ratio", "core")
RELEVEL_DAYS = 28.0  # the alert's background level follows the last four weeks
CORE_SHARE = 0.5  # the kernel core holds half of the incident's added events
# the two-time-scale variant (``--time-scales 2``): a short scale bounded at 30 days as with one,
# a long one of 30-120 days, and triggering cut off at 180 days so the long one is mostly seen;
# the time-stable background leaves out 120 days either side (two long delays; at most a sixth
# of a two-year window) and is smoother (30th neighbour): with the one-scale defaults (21 days,
# 15th neighbour) the background absorbs part of the long scale's clusters and its delay is
# recovered 20-35% short on simulated data
TWO_TIME_SCALES: dict[str, Any] = {"time_scales": 2, "max_days": 180.0, "max_long_delay": 120.0,
                                   "background_gap_days": 120.0, "neighbours": 30}  # fmt: skip


def time_scale_params(time_scales: int) -> dict[str, Any]:
    """The ETAS settings of the alert's model with ``time_scales`` (1 or 2) time scales."""
    if time_scales not in (1, 2):
        raise InputError(f"time scales must be 1 or 2, got {time_scales!r}")
    return dict(TWO_TIME_SCALES) if time_scales == 2 else {}


def kernel_core(added: FloatArray, share: float = CORE_SHARE) -> tuple[IntArray, int]:
    """The cells and days holding ``share`` of an incident's added events (cells x days).

    Cells are taken largest first until they hold ``share`` of the total (at least one), then
    the first days until they hold ``share`` of those cells' total (at least one day). Returns
    the cells (row indices) and the number of days.
    """
    total = added.sum(axis=1)
    order = np.argsort(-total, kind="stable")
    cum = np.cumsum(total[order]) / max(float(total.sum()), 1e-300)
    cells = order[: min(int(np.searchsorted(cum, share) + 1), total.size)]
    by_day = np.cumsum(added[cells].sum(axis=0))
    n_days = int(np.searchsorted(by_day / max(float(by_day[-1]), 1e-300), share) + 1)
    return cells.astype(np.int64), min(n_days, added.shape[1])


def gaussian_cell_mass(
    cx: FloatArray, cy: FloatArray, half: FloatArray, px: FloatArray, py: FloatArray, sigma: float
) -> FloatArray:
    """Share of an isotropic Gaussian at each ``(px, py)`` falling in square cells.

    Shapes broadcast: cells ``(c, 1)`` against points ``(1, p)`` give ``(c, p)``.
    """
    mx = ndtr((cx + half - px) / sigma) - ndtr((cx - half - px) / sigma)
    my = ndtr((cy + half - py) / sigma) - ndtr((cy - half - py) / sigma)
    return np.asarray(mx * my, dtype=np.float64)


def kernel_cell_mass(
    model: ETASForecaster,
    cx: FloatArray,
    cy: FloatArray,
    half: FloatArray,
    px: FloatArray,
    py: FloatArray,
    widen: float = 1.0,
) -> FloatArray:
    """Share of the model's triggering kernel (a mixture of Gaussian scales) in square cells.

    ``widen`` multiplies the scales (``sqrt(2)`` for the later generations of a cascade).
    """
    total: FloatArray | None = None
    for sig, w in zip(model.sigmas_, model.scale_weights_, strict=True):
        part = float(w) * gaussian_cell_mass(cx, cy, half, px, py, float(sig) * widen)
        total = part if total is None else total + part
    assert total is not None
    return total


@dataclass(frozen=True)
class KnoxZone:
    """The zone a Knox table supports: ``radius_m`` around an incident for ``days`` days."""

    radius_m: float
    days: int
    alpha: float
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def knox_zone(knox: KnoxResult, alpha: float = 0.05) -> KnoxZone | None:
    """Distance and time reach of significant near repeats (ratio > 1, p < ``alpha``).

    The radius is the outer edge of the distance bands significant in the first time band,
    contiguous from 0; the duration the outer edge of the time bands significant in the first
    distance band, contiguous from 0. ``None`` when the first cell is not significant. The
    "beyond" bands never count (they have no outer edge).
    """
    ratio, p = knox.ratio, knox.p_value
    sig = np.isfinite(ratio) & (ratio > 1.0) & (p < alpha)
    outer = knox.row_outer_edges
    n_s, n_t = len(outer), len(knox.time_edges) - 1
    if n_s < 1 or n_t < 1 or not sig[0, 0]:
        return None
    s = 0
    while s + 1 < n_s and sig[s + 1, 0]:
        s += 1
    k = 0
    while k + 1 < n_t and sig[0, k + 1]:
        k += 1
    radius = float(outer[s])
    days = max(1, int(math.ceil(knox.time_edges[k + 1])))
    basis = (
        f"Knox ratio {ratio[0, 0]:.2f} (p = {p[0, 0]:.3f}) in {knox.space_labels[0]}, "
        f"{knox.time_labels[0]}; significant to {radius:g} m and {days} days"
    )
    return KnoxZone(radius_m=radius, days=days, alpha=alpha, basis=basis)


def fit_alert_model(
    history: EventSet,
    cutoff: float,
    *,
    history_days: float = 730.0,
    alpha: float = 0.05,
    try_marks: bool = True,
    **params: Any,
) -> tuple[ETASForecaster, dict[str, Any]]:
    """Fit the alert's ETAS model, choosing its form by likelihood-ratio tests.

    One triggering scale against two (2 more parameters); then, if the events carry marks, one
    branching ratio per mark against one for all (``n_marks - 1`` more). The richer form is kept
    only when its test gives p < ``alpha``. Returns the model and the record of the choice.
    """
    from scipy.stats import chi2

    base = ETASForecaster(history_days=history_days, **params).fit(history, cutoff=cutoff)
    model, tests = base, []
    if params.get("kernel", "gaussian") == "gaussian":  # a histogram has no scales to test
        two = ETASForecaster(history_days=history_days, scales=2, **params).fit(
            history, cutoff=cutoff
        )
        lr = 2.0 * (two.loglik_ - base.loglik_)
        p_scales = float(chi2.sf(max(lr, 0.0), 2))
        model = two if p_scales < alpha else base
        tests.append(
            {"test": "two triggering scales vs one", "lr": round(lr, 3), "df": 2,
             "p_value": p_scales, "kept": bool(p_scales < alpha)}
        )  # fmt: skip
    marks = np.unique(history.mark[history.mark >= 0]) if len(history.mark) else np.zeros(0)
    if try_marks and marks.size > 1:
        marked = ETASForecaster(
            history_days=history_days, scales=model.scales, marked=True, **params
        ).fit(history, cutoff=cutoff)
        df = len(marked.marks_) - 1
        lr_m = 2.0 * (marked.loglik_ - model.loglik_)
        p_marks = float(chi2.sf(max(lr_m, 0.0), max(df, 1)))
        tests.append(
            {"test": "branching ratio per mark vs one", "lr": round(lr_m, 3), "df": df,
             "p_value": p_marks, "kept": bool(p_marks < alpha)}
        )  # fmt: skip
        if p_marks < alpha:
            model = marked
    return model, {"alpha": alpha, "tests": tests, "scales": model.scales,
                   "marked": bool(model.marked), "kernel": model.kernel}  # fmt: skip


def alert_model(
    events: EventSet,
    t: float,
    *,
    store: Any = None,
    key: str = "",
    max_age_days: float = 28.0,
    refit: bool = False,
    history_days: float = 730.0,
    relevel_days: float | None = RELEVEL_DAYS,
    **params: Any,
) -> tuple[ETASForecaster, dict[str, Any], dict[str, Any]]:
    """The alert's model at time ``t``: a stored fit reused, or a new fit (then stored).

    ``events`` are all the dataset's events (those at or after ``t`` are never used). With a
    :class:`~patrolcast.forecast.model_store.ModelStore` and ``key``, the newest stored fit at
    most ``max_age_days`` old whose events are unchanged is reused (``refit`` forces a new fit);
    the model is then conditioned on the events between its cut-off and ``t``, its background
    level moved to the last ``relevel_days`` (:meth:`ETASForecaster.conditioned_on`; ``None``:
    the level at the fit's cut-off). Returns the model, the record of its choice
    (:func:`fit_alert_model`) and which fit was used.
    """
    if not max_age_days >= 0:
        raise InputError(f"the largest age of a stored fit must be 0 or more days, got "
                         f"{max_age_days!r}")  # fmt: skip
    fit = None
    why = "refit asked for (--refit)" if refit else "no model store"
    if store is not None and not refit:
        fit, why = store.latest(key, t, max_age_days=max_age_days, current=events)
    if fit is None:
        start = t - history_days
        history = events.select((events.t >= start) & (events.t < t))
        if len(history) < 20:
            raise InputError(
                f"only {len(history)} events in the {history_days:g} days before "
                f"{from_days(t).isoformat(timespec='minutes')}: too few to fit a model"
            )
        model, choice = fit_alert_model(history, t, history_days=history_days, **params)
        if store is not None:
            fit = store.save(key, model, window_events=history, window_start=start,
                             info={"selection": choice, "history_days": history_days})
            used = fit.describe(t) | {"why": f"new fit: {why}"}
        else:
            used = {"fit": None, "reused": False, "why": f"new fit: {why}",
                    "fit_cutoff": from_days(t).isoformat(timespec="minutes"), "age_days": 0.0}
        if relevel_days is not None:
            model = model.conditioned_on(events, until=t, relevel_days=relevel_days)
        return model, choice, used | {"background_level_scale": model.level_scale_}
    model = fit.model
    if t > model.cutoff_ or relevel_days is not None:
        model = model.conditioned_on(events, until=t, relevel_days=relevel_days)
    used = fit.describe(t) | {"events_since_fit": int(len(model.t_) - len(fit.model.t_)),
                              "background_level_scale": model.level_scale_}  # fmt: skip
    return model, dict(fit.meta.get("selection", {})), used


@dataclass(frozen=True)
class CellAlert:
    """One cell raised by the incident."""

    unit_id: str
    unit_index: int
    x: float
    y: float
    distance_m: float
    background_per_day: float
    added_total: float
    ratio_total: float
    added_by_day: list[float]
    past_triggered_by_day: list[float]
    relative_risk_by_day: list[float]
    terms: dict[str, float]
    top_past_events: list[dict[str, Any]]
    near_repeat: list[dict[str, Any]] = field(default_factory=list)
    shares: dict[str, float] = field(default_factory=dict)
    direct_by_day: list[float] = field(default_factory=list)
    rule: str = "model"
    expected_by_day: list[float] = field(default_factory=list)  # all terms, per day

    @property
    def expected_total(self) -> float:
        """The model's expected events in the cell over the alert (all terms)."""
        return float(sum(self.terms.values()))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Alert:
    """The alert for one incident: raised cells, model parameters and the near-repeat table."""

    incident: dict[str, Any]
    days: int
    model: dict[str, Any]
    cells: list[CellAlert]
    crs: str
    cell_size: float
    knox: dict[str, Any] | None = None
    rule: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "days": self.days,
            "rule": self.rule,
            "model": self.model,
            "crs": self.crs,
            "n_cells": len(self.cells),
            "cells": [c.to_dict() for c in self.cells],
            "near_repeat": self.knox,
            "note": "decision support for a named officer; places and times only",
        }

    def to_geojson(self) -> dict[str, Any]:
        """Cell squares as an RFC 7946 FeatureCollection (WGS84 lon/lat)."""
        from pyproj import Transformer

        to_wgs84 = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        half = self.cell_size / 2.0
        features = []
        for c in self.cells:
            xs = [c.x - half, c.x + half, c.x + half, c.x - half, c.x - half]
            ys = [c.y - half, c.y - half, c.y + half, c.y + half, c.y - half]
            lon, lat = to_wgs84.transform(xs, ys)
            ring = [[round(a, 7), round(b, 7)] for a, b in zip(lon, lat, strict=True)]
            props = {
                k: v
                for k, v in c.to_dict().items()
                if k not in ("top_past_events", "near_repeat", "terms", "shares", "direct_by_day")
            }
            props.update({f"term_{k}": v for k, v in c.terms.items()})
            props.update({f"share_{k}": v for k, v in c.shares.items()})
            props["rule_reason"] = self.rule.get("reason", "")
            props["top_past_events"] = "; ".join(
                f"{e['days_before']:.1f} d before, {e['distance_m']} m, "
                f"{e['expected_events']:.4f} expected"
                for e in c.top_past_events
            )
            features.append(
                {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                 "properties": props}
            )  # fmt: skip
        return {"type": "FeatureCollection", "features": features}

    def write_geojson(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_geojson()), encoding="utf-8")
        return path


def _cell_geometry(support: Support) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    cent = support.centroids
    size = getattr(support, "cell_size", None)
    side = np.full(support.n_units, float(size)) if size else np.sqrt(support.unit_area)
    return cent[:, 0], cent[:, 1], side / 2.0, float(size or np.median(side))


def _rule(
    model: ETASForecaster,
    knox: KnoxResult | None,
    days: int,
    alpha: float,
    force: str | KnoxZone | None = None,
) -> tuple[dict[str, Any], KnoxZone | None]:
    """Which rule raises the zone, and why (model when trustworthy, else the Knox zone)."""
    if isinstance(force, KnoxZone):
        return {"name": "fixed", "reason": f"fixed rule: {force.basis}", "radius_m": force.radius_m,
                "days": force.days, "basis": force.basis}, force  # fmt: skip
    if force == "model" or (force is None and model.trustworthy_):
        p = model
        delay = f"mean trigger delay {1 / p.omega_:.1f} days"
        if p.omegas_.size == 2:
            delay = (f"mean trigger delays {1 / p.omegas_[0]:.1f} days ({p.time_mix_[0]:.0%}) "
                     f"and {1 / p.omegas_[1]:.1f} days")  # fmt: skip
        reason = (
            f"model fit trustworthy: EM converged in {p.n_iter_} iterations, {delay}, "
            f"scales {', '.join(f'{v:.0f}' for v in p.sigmas_)} m"
        )
        if not model.trustworthy_:
            reason = "model zone asked for although the fit is not trustworthy: " + "; ".join(
                model.trust_reasons_
            )
        return {"name": "model", "reason": reason, "days": days}, None
    why = "; ".join(model.trust_reasons_) or "Knox zone asked for"
    zone = knox_zone(knox, alpha) if knox is not None else None
    if zone is None:
        tail = "no near-repeat table" if knox is None else "no significant near-repeat band"
        return {"name": "none", "reason": f"model not trustworthy ({why}) and {tail}: "
                "no zone raised", "days": days}, None  # fmt: skip
    return {
        "name": "knox",
        "reason": f"model not trustworthy ({why}): Knox-derived zone instead",
        "radius_m": zone.radius_m,
        "days": zone.days,
        "basis": zone.basis,
    }, zone


def serious_assault_alert(
    model: ETASForecaster,
    support: Support,
    *,
    x: float,
    y: float,
    t: float,
    mark: int | None = None,
    days: int = 14,
    knox: KnoxResult | None = None,
    min_ratio: float = 0.02,
    max_cells: int = 50,
    top_events: int = 3,
    background_per_day: FloatArray | None = None,
    alpha: float = 0.05,
    force: str | KnoxZone | None = None,
    shape: str = "ratio",
) -> Alert:
    """Cells whose risk a new incident at ``(x, y)``, time ``t`` (days) raises over ``days`` days.

    ``model`` must be fitted (or conditioned, :meth:`ETASForecaster.conditioned_on`) with a
    cut-off at or before ``t``. With a trustworthy model, cells are kept when the incident adds
    at least ``min_ratio`` times their background expectation over the period; at most
    ``max_cells``, largest added expectation first. Otherwise the cells meeting the Knox-derived
    disc (:func:`knox_zone`) are raised for its duration. ``background_per_day`` (per unit of
    ``support``) may be passed to reuse the model's background between alerts. ``force``
    (for backtests) imposes a rule: ``"model"``, ``"knox"``, or a fixed :class:`KnoxZone`.
    ``shape`` of the model's zone: ``"ratio"`` (cells raised by ``min_ratio`` of their
    background, for ``days``) or ``"core"`` (:func:`kernel_core`: the cells and first days
    holding half of the incident's added events, shaped by the fitted kernel).
    """
    if shape not in ZONE_SHAPES:
        raise InputError(f"unknown zone shape {shape!r}: use {' or '.join(ZONE_SHAPES)}")
    if force is not None and not isinstance(force, KnoxZone) and force not in ("model", "knox"):
        raise InputError(f"unknown rule {force!r}: use model, knox or a KnoxZone")
    model._check_fitted()
    if not (isinstance(days, int) and 1 <= days <= 365):
        raise InputError(f"days must be a whole number from 1 to 365, got {days!r}")
    if t < model.cutoff_ - 1e-9:
        raise InputError("the incident is before the model's fit cut-off: refit on earlier data")
    if support.assign(np.array([x]), np.array([y]))[0] < 0:
        raise InputError(f"the incident at ({x:.0f}, {y:.0f}) lies outside the study area")
    rule, zone = _rule(model, knox, days, alpha, force)
    days = int(rule["days"])
    theta = model.theta_for(mark)
    omega = model.omega_
    cx, cy, half, cell_size = _cell_geometry(support)
    # the kernel's cells lie within max_distance of a centre, give or take half a side; a disc
    # zone's cells are those whose nearest point lies within its radius, so their centres may
    # be half a diagonal beyond it (a model with a short max_distance must not cut them)
    reach = np.maximum(
        model.max_distance + half, (zone.radius_m if zone else 0.0) + half * math.sqrt(2.0)
    )
    near = np.flatnonzero(np.hypot(cx - x, cy - y) <= reach)
    k = np.arange(days, dtype=np.float64)
    hi = np.minimum(k + 1.0, model.max_days)
    share = model.time_share(k, hi)  # the time kernel's share per day (one or two scales)
    if model.kernel_ is not None:  # histogram kernel: its rings and time bins, exactly
        kern = model.kernel_
        rings = ring_cell_mass(kern, cx[near], cy[near], half[near], np.array([x]),
                               np.array([y]), sub=16)[:, 0, :]  # (cells, rings)
        per_day = kern.time_fraction(k, np.maximum(hi, k)) @ kern.weights  # (days, rings)
        direct = theta * rings @ per_day.T  # (cells, days): direct offspring
    else:
        mass = kernel_cell_mass(model, cx[near], cy[near], half[near], np.array(x), np.array(y))
        direct = theta * mass[:, None] * share[None, :]  # (cells, days): direct offspring
    # later generations (offspring of offspring, as in ETASForecaster.predict): an intensity R
    # now brings R e^{-kappa s} at lag s in all, kappa = omega (1 - n); spread at sigma sqrt 2
    n_bar = min(model.branching_ratio_, 0.99)
    kappa = omega * (1.0 - n_bar)

    def later(rate_now: FloatArray) -> FloatArray:
        """Events of the second and later generations per day, from intensities ``rate_now``."""
        a, b = k[None, :], k[None, :] + 1.0
        all_gen = (np.exp(-kappa * a) - np.exp(-kappa * b)) / kappa
        first = (np.exp(-omega * a) - np.exp(-omega * b)) / omega
        return np.asarray(np.maximum(all_gen - first, 0.0) * rate_now[:, None], dtype=np.float64)

    mass2 = kernel_cell_mass(
        model, cx[near], cy[near], half[near], np.array(x), np.array(y), widen=math.sqrt(2.0)
    )
    added = direct + mass2[:, None] * later(np.array([theta * omega]))
    core: IntArray | None = None
    if shape == "core" and rule["name"] == "model":
        core, n_days = kernel_core(added, CORE_SHARE)
        days = n_days
        k, added, direct = k[:n_days], added[:, :n_days], direct[:, :n_days]
        rule = dict(rule, days=n_days, zone="core", reason=f"{rule['reason']}; zone: the "
                    f"{core.size} cell(s) and first {n_days} day(s) holding half of this "
                    "incident's expected near repeats (the fitted kernel's core)")  # fmt: skip
    if background_per_day is None:
        # the mean daily background over the alert's days (its level follows the season)
        background_per_day = (
            model.predict(support, t, t + float(days)).terms["background"] / float(days)
        )
    background_day = np.asarray(background_per_day, dtype=np.float64)[near]
    bg_total = background_day * days
    # offspring of the background events that will occur during the alert
    cum = k + 1.0 - (1.0 - np.exp(-kappa * (k + 1.0))) / kappa
    bg_cascade_share = np.diff(np.concatenate([[0.0], cum])) * n_bar / (1.0 - n_bar)
    ratio_total = added.sum(axis=1) / np.maximum(bg_total, 1e-12)
    if core is not None:
        keep = core
    elif rule["name"] == "model":
        keep = np.flatnonzero(ratio_total >= min_ratio)
        keep = keep[np.argsort(-added[keep].sum(axis=1))][:max_cells]
    elif zone is not None:  # cells meeting the disc
        gap_x = np.maximum(np.abs(cx[near] - x) - half[near], 0.0)
        gap_y = np.maximum(np.abs(cy[near] - y) - half[near], 0.0)
        keep = np.flatnonzero(np.hypot(gap_x, gap_y) <= zone.radius_m)
        keep = keep[np.argsort(np.hypot(cx[near][keep] - x, cy[near][keep] - y))]
    else:
        keep = np.zeros(0, dtype=np.int64)

    # earlier events still within reach in space and time
    recent = (model.t_ < t) & (model.t_ > t - model.max_days)
    px, py, pt = model.x_[recent], model.y_[recent], model.t_[recent]
    ptheta = model.theta_[model.mark_index_[recent]]
    ids = support.unit_ids
    cells: list[CellAlert] = []
    for c in keep:
        u = int(near[c])
        close = np.hypot(px - cx[u], py - cy[u]) <= model.max_distance + half[u]
        m = kernel_cell_mass(
            model, np.array(cx[u]), np.array(cy[u]), np.array(half[u]), px[close], py[close]
        )
        lag0 = t - pt[close]
        a = lag0[:, None] + k[None, :]
        b = np.minimum(a + 1.0, model.max_days)
        per_day = model.time_share(a, b)
        m2 = kernel_cell_mass(
            model, np.array(cx[u]), np.array(cy[u]), np.array(half[u]), px[close], py[close],
            widen=math.sqrt(2.0),
        )  # fmt: skip
        rate_now = ptheta[close] * omega * np.exp(-omega * lag0)
        contrib = (ptheta[close] * m)[:, None] * per_day + m2[:, None] * later(rate_now)
        past_by_day = contrib.sum(axis=0)
        order = np.argsort(-contrib.sum(axis=1))[:top_events]
        top = [
            {
                "days_before": round(float(lag0[i]), 2),
                "when": from_days(float(pt[close][i])).isoformat(timespec="minutes"),
                "distance_m": round(float(np.hypot(px[close][i] - cx[u], py[close][i] - cy[u]))),
                "expected_events": float(contrib[i].sum()),
            }
            for i in order
            if contrib[i].sum() > 0
        ]
        dist = float(math.hypot(cx[u] - x, cy[u] - y))
        bg = float(background_day[c])
        bg_cascade = bg * bg_cascade_share
        rr = (bg + bg_cascade + past_by_day + added[c]) / max(bg, 1e-12)
        nr: list[dict[str, Any]] = []
        if knox is not None:
            s, _ = knox.band_of(dist, 0.0)
            for q, label in enumerate(knox.time_labels):
                r = knox.ratio[s, q]
                nr.append(
                    {
                        "space_band": knox.space_labels[s],
                        "time_band": label,
                        "knox_ratio": None if not np.isfinite(r) else round(float(r), 3),
                        "p_value": float(knox.p_value[s, q]),
                    }
                )
        terms = {
            "background": bg * days,
            "triggered_by_new_background_events": float(bg_cascade.sum()),
            "triggered_by_past_events": float(past_by_day.sum()),
            "triggered_by_this_incident": float(added[c].sum()),
        }
        total = max(sum(terms.values()), 1e-300)
        cells.append(
            CellAlert(
                unit_id=ids[u],
                unit_index=u,
                x=float(cx[u]),
                y=float(cy[u]),
                distance_m=round(dist, 1),
                background_per_day=bg,
                added_total=float(added[c].sum()),
                ratio_total=float(ratio_total[c]),
                added_by_day=[float(v) for v in added[c]],
                past_triggered_by_day=[float(v) for v in past_by_day],
                relative_risk_by_day=[round(float(v), 4) for v in rr],
                terms=terms,
                top_past_events=top,
                near_repeat=nr,
                shares={
                    "this_incident": terms["triggered_by_this_incident"] / total,
                    "background": (
                        terms["background"] + terms["triggered_by_new_background_events"]
                    )
                    / total,
                    "past_events": terms["triggered_by_past_events"] / total,
                },
                direct_by_day=[float(v) for v in direct[c]],
                rule=str(rule["name"]),
                expected_by_day=[float(v) for v in bg + bg_cascade + past_by_day + added[c]],
            )
        )
    incident = {
        "x": x,
        "y": y,
        "time": from_days(t).isoformat(timespec="minutes"),
        "mark": mark,
        "branching_ratio_used": theta,
        "expected_direct_offspring_in_period": float(
            theta * float(model.time_share(np.zeros(1), np.full(1, min(days, model.max_days)))[0])
        ),
    }
    return Alert(
        incident=incident,
        days=days,
        model=model.params_summary(),
        cells=cells,
        crs=model.crs_,
        cell_size=cell_size,
        knox=knox.to_dict() if knox is not None else None,
        rule=rule,
    )
