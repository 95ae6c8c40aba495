"""How much better than the all-history count can *any* ranking be? Oracle ceilings (issue 9).

None of the rankings below is a forecast: each uses information no forecaster has at the
origin, to bound what a forecaster could reach. They are scored on the *evaluation* origins of
``bench/issue9_figures.py`` (same splitter, grid, study mask, top-k ranking with the backtest's
tie-break key, hit rate) beside naive-all and longrun (read from that script's cache), with
the README's paired bootstrap over origins (``patrolcast.evaluate.bootstrap``: 2,000 draws,
seed 20080101).

- ``naive-all``: the count of all history before the origin (recomputed here, and checked
  origin by origin against the cached ``naive-all`` backtest rows);
- ``A_halfyear``: all history + the events of the half-year before and the half-year after
  the scored window, the window itself left out (the README's earlier "knows the future"
  ranking, there measured on validation origins);
- ``A_halfyear*w``: all history + ``w`` x (that half-year before and after), ``w`` chosen in
  hindsight on the evaluation origins to maximise the hit rate at 5% (the max is reported);
- ``B_4weeks*w``: all history + ``w`` x (the events of the 4 weeks before and the 4 weeks after
  the window, window left out), ``w`` chosen the same way;
- ``C_year_rate``: the cell's mean count over the year centred on the window, the window left
  out (the best-known "slowly varying true rate" of the window; days without data, beyond the
  data end or in a gap of the file, are not counted in the mean);
- ``D_perfect``: the window's own counts (perfect foresight), for scale: the share of events a
  ranking can catch at all, and how far every real ranking is from it.

Also an oracle on the real windows, ``C_eb_mean``: the year around the window (window left
out) shrunk toward the all-history share by a gamma-Poisson posterior mean, with the spread of
the shrinkage prior fitted as below.

Poisson noise ceilings (``--sims`` simulated windows per origin): what a ranking by each cell's
*true* rate would get against naive-all, in worlds where the window's counts are Poisson from
that rate (expected total: the window's observed total).

- ``simC``: the true rate is taken to be ``C_year_rate``. This plug-in world is contradicted by
  the data: there, ranking by C beats naive-all by far, while on the real windows C does no
  better than naive-all (one year of counts in a cell is mostly noise). It is the naive form of
  the argument, shown to say why it is not used as a bound.
- ``simH`` / ``sim4`` / ``sim1``: the true rate is the all-history share times a departure
  ``theta`` (gamma), whose mean and spread per bin of the naive-all ranking are fitted on the
  counts of the half-year (``H``), 4 weeks (``4``) or 1 week (``1``) before and after many
  windows: the mean from the period after, the spread from the covariance of the two
  periods' residuals (only a departure common to both periods enters; each period's Poisson
  noise and clustering do not; the share's own sampling error does, as it is part of what
  separates naive-all from the truth). The fit uses origins every ``step`` over the last
  ``--fit-years`` years; its uncertainty is shown by refitting on fit origins resampled in
  blocks of overlapping ones (``--fit-boot``). A check of the world: its naive-all hit rate
  should be close to the real one.

Where the data stop (the last year of each shared file, NYPD's missing 2020-10..12) the
"after" parts are shorter; the table also gives, per configuration, how many origins have
their complete half-year after, and the figures on those origins only.

Run (one to a few minutes per configuration on two shared cores)::

    nice -n 10 .venv/bin/python bench/issue9_ceiling.py chicago-7d nypd-1M chicago-1M \\
        philly-7d philly-1M
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from patrolcast.evaluate.metrics import flag_top, hit_rate, tiebreak_key
from patrolcast.evaluate.splitters import RollingOrigin, local_data_end, parse_period
from patrolcast.evaluate.study import load_study
from patrolcast.io.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from issue9_figures import CONFIGS, _end  # noqa: E402

FRACTIONS = (0.01, 0.05, 0.10, 0.20)
HALF_YEAR = 182.5
FOUR_WEEKS = 28.0
ONE_WEEK = 7.0
SPANS = {"H": HALF_YEAR, "4": FOUR_WEEKS, "1": ONE_WEEK}  # departures lasting this long
SPAN_NAMES = {"H": "a half-year", "4": "4 weeks", "1": "1 week"}
WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 100.0, 1000.0)
N_BOOT = 2000
SEED = 20080101  # patrolcast.evaluate.bootstrap's default seed


# --------------------------------------------------------------------------- pure functions


def counts_between(
    t: np.ndarray, unit: np.ndarray, w: np.ndarray, n: int, lo: float, hi: float
) -> np.ndarray:
    """Events per unit with ``lo <= t < hi`` (``t`` sorted; units < 0 are outside the grid)."""
    i0, i1 = np.searchsorted(t, [lo, hi], side="left")
    u = unit[i0:i1]
    ok = u >= 0
    return np.bincount(u[ok], weights=w[i0:i1][ok], minlength=n).astype(np.float64)


def around(
    t: np.ndarray,
    unit: np.ndarray,
    w: np.ndarray,
    n: int,
    origin: float,
    end: float,
    before: float,
    after: float,
) -> np.ndarray:
    """Events per unit in ``[origin - before, origin)`` and ``[end, end + after)``: the
    window ``[origin, end)`` itself is left out."""
    return counts_between(t, unit, w, n, origin - before, origin) + counts_between(
        t, unit, w, n, end, end + after
    )


def covered_days(lo: float, hi: float, spans: Sequence[tuple[float, float]]) -> float:
    """Days of ``[lo, hi)`` that fall inside the data's covered ``spans``."""
    return float(sum(max(0.0, min(hi, b) - max(lo, a)) for a, b in spans))


def year_rate(
    t: np.ndarray,
    unit: np.ndarray,
    w: np.ndarray,
    n: int,
    origin: float,
    end: float,
    spans: Sequence[tuple[float, float]],
) -> np.ndarray:
    """Mean events per day and unit over the year centred on the window, the window left out;
    days outside the data's covered ``spans`` count neither events nor days."""
    mid = 0.5 * (origin + end)
    lo, hi = mid - HALF_YEAR, mid + HALF_YEAR
    days = covered_days(lo, origin, spans) + covered_days(end, hi, spans)
    return around(t, unit, w, n, origin, end, origin - lo, hi - end) / max(days, 1e-9)


def hit_rates(
    score: np.ndarray, observed: np.ndarray, area: np.ndarray, key: np.ndarray
) -> list[float]:
    """Hit rate at FRACTIONS of the top units by ``score`` (the backtest's flag_top)."""
    return [hit_rate(flag_top(score, area, f, key), observed) for f in FRACTIONS]


def expected_hit(
    rank_score: np.ndarray,
    lam: np.ndarray,
    area: np.ndarray,
    key: np.ndarray,
    rng: np.random.Generator,
    sims: int,
) -> np.ndarray:
    """Mean hit rate at FRACTIONS of ranking by ``rank_score`` when counts ~ Poisson(lam)."""
    flags = np.stack([flag_top(rank_score, area, f, key) for f in FRACTIONS])
    y = rng.poisson(lam, size=(sims, lam.size)).astype(np.float64)
    tot = y.sum(axis=1)
    ok = tot > 0
    return np.asarray((y[ok] @ flags.T / tot[ok, None]).mean(axis=0))


def flag_fractions(score: np.ndarray, area: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``flag_top`` at every fraction of FRACTIONS from one sort: rows are the fractions."""
    order = np.lexsort((key, -(score / area)))
    before = np.concatenate([[0.0], np.cumsum(area[order])[:-1]])
    total = float(area.sum())
    out = np.zeros((len(FRACTIONS), score.size))
    for j, f in enumerate(FRACTIONS):
        out[j, order] = np.clip((f * total - before) / area[order], 0.0, 1.0)
    return out


def shares(history: np.ndarray, total: float) -> np.ndarray:
    """The all-history count scaled to ``total``: each unit's long-run share of a period."""
    return history * total / max(float(history.sum()), 1e-12)


def eb_mean(history: np.ndarray, year: np.ndarray, mean: np.ndarray, cv2: np.ndarray) -> np.ndarray:
    """Posterior mean of each unit's count over the year around the window (gamma-Poisson).

    Prior: the unit's long-run share ``m`` of the year's total times a departure ``theta``
    (gamma, mean ``mean``, squared coefficient of variation ``cv2``, per unit); given the
    year's count ``Y`` the posterior mean is ``(a + Y) / (a / (m mean) + 1)``, ``a = 1/cv2``;
    with ``cv2 = 0`` it is the prior mean ``m mean``.
    """
    prior = shares(history, float(year.sum())) * mean
    a = 1.0 / np.maximum(cv2, 1e-12)
    post = (a + year) / (a / np.maximum(prior, 1e-12) + 1.0)
    return np.where(cv2 > 0, post, prior)


BIN_EDGES = (0.01, 0.025, 0.05, 0.10, 0.20, 0.50, 1.0)  # area shares, the ranking's top first


def rank_bins(score: np.ndarray, area: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Bin of each unit by its place in the ranking (``flag_top``'s order): bin ``b`` holds
    the units whose area-weighted rank lies in ``(BIN_EDGES[b-1], BIN_EDGES[b]]``."""
    order = np.lexsort((key, -(score / area)))
    start = np.concatenate([[0.0], np.cumsum(area[order])[:-1]]) / float(area.sum())
    out = np.empty(score.size, dtype=np.int64)
    out[order] = np.searchsorted(np.asarray(BIN_EDGES), start, side="right")
    return np.minimum(out, len(BIN_EDGES) - 1)


@dataclass
class Departures:
    """Per rank bin of the naive-all ranking: the mean ``mu`` of the true rate over the
    long-run share (from the period after the window, untouched by the selection of the
    top units) and the squared coefficient of variation ``cv2`` of the departures that last
    from before to after the window (covariance of the two periods' residuals)."""

    mu: np.ndarray
    cv2: np.ndarray


def fit_departures(
    bins: np.ndarray, m1: np.ndarray, m2: np.ndarray, y1: np.ndarray, y2: np.ndarray
) -> Departures:
    """Pooled over origins (arrays concatenated): per bin ``mu = sum y2 / sum m2``, and
    ``cv2 = sum (y1 - mu1 m1)(y2 - mu2 m2) / sum (mu1 m1)(mu2 m2)`` floored at 0: a unit's
    counts in the two periods share only its persistent departure, so their covariance
    excludes Poisson noise and clustering within a period."""
    k = len(BIN_EDGES)
    mu, cv2 = np.ones(k), np.zeros(k)
    for b in range(k):
        s = bins == b
        if not s.any() or m1[s].sum() <= 0 or m2[s].sum() <= 0:
            continue
        mu1, mu2 = y1[s].sum() / m1[s].sum(), y2[s].sum() / m2[s].sum()
        cov = float(((y1[s] - mu1 * m1[s]) * (y2[s] - mu2 * m2[s])).sum())
        den = float((mu1 * m1[s] * mu2 * m2[s]).sum())
        mu[b] = mu2
        cv2[b] = max(cov / den, 0.0) if den > 0 else 0.0
    return Departures(mu, cv2)


def rate_ceiling(
    history: np.ndarray,
    mean: np.ndarray,
    cv2: np.ndarray,
    total: float,
    area: np.ndarray,
    key: np.ndarray,
    rng: np.random.Generator,
    sims: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean hit rates at FRACTIONS of naive-all and of the true rate in simulated windows.

    Each world draws a departure ``theta`` per unit (gamma, mean ``mean``, squared
    coefficient of variation ``cv2``; both per unit), sets the true rate to the unit's
    long-run share times ``theta``, scaled to the expected total ``total`` (the window's
    observed count), and draws the window's counts as Poisson. The "true rate" ranking knows
    each world's rates exactly; naive-all ranks by the long-run share.
    Returns (naive-all, true rate).
    """
    m = shares(history, 1.0) * mean
    flags_all = flag_fractions(history, area, key)
    shape = 1.0 / np.maximum(cv2, 1e-9)
    naive, oracle = [], []
    for _ in range(sims):
        theta = np.where(cv2 > 0, rng.gamma(shape, 1.0 / shape), 1.0)
        lam = m * theta
        lam *= total / max(float(lam.sum()), 1e-12)
        y = rng.poisson(lam).astype(np.float64)
        if y.sum() <= 0:
            continue
        naive.append(flags_all @ y / y.sum())
        oracle.append(flag_fractions(lam, area, key) @ y / y.sum())
    return np.asarray(naive).mean(axis=0), np.asarray(oracle).mean(axis=0)


def block_resample(n: int, block: int, rng: np.random.Generator) -> np.ndarray:
    """Indices ``0..n-1`` resampled in blocks of ``block`` consecutive ones (moving blocks),
    ``n`` of them: neighbouring origins whose periods overlap are drawn together."""
    block = max(1, min(block, n))
    starts = rng.integers(0, n - block + 1, int(np.ceil(n / block)))
    return np.concatenate([np.arange(s0, s0 + block) for s0 in starts])[:n]


def data_spans(t: np.ndarray, end: float, month_starts: np.ndarray) -> list[tuple[float, float]]:
    """Covered spans: the calendar months (``month_starts``, instants) that hold an event,
    cut at the data end; a month with no event in the whole city is a gap in the file."""
    spans: list[tuple[float, float]] = []
    for a, b in zip(month_starts[:-1], month_starts[1:], strict=True):
        i0, i1 = np.searchsorted(t, [a, b], side="left")
        if i1 > i0 and a < end:
            lo, hi = float(a), float(min(b, end))
            if spans and abs(spans[-1][1] - lo) < 1e-9:
                spans[-1] = (spans[-1][0], hi)
            else:
                spans.append((lo, hi))
    return spans


# --------------------------------------------------------------------------- bootstrap


def draws(n: int) -> np.ndarray:
    """The README's bootstrap draws (patrolcast.evaluate.bootstrap._draws, same seed)."""
    return np.random.default_rng(SEED).integers(0, n, size=(N_BOOT, n))


def mean_ci(x: np.ndarray, d: np.ndarray) -> tuple[float, float, float]:
    reps = np.nanmean(x[d], axis=1)
    lo, hi = np.quantile(reps, [0.025, 0.975])
    return float(np.nanmean(x)), float(lo), float(hi)


def paired(a: np.ndarray, b: np.ndarray, d: np.ndarray) -> dict[str, float]:
    """Difference in points and relative gain (ratio of means - 1), paired bootstrap CIs."""
    diff, dlo, dhi = mean_ci(a - b, d)
    ra, rb = np.nanmean(a[d], axis=1), np.nanmean(b[d], axis=1)
    rel = ra / rb - 1
    rlo, rhi = np.quantile(rel, [0.025, 0.975])
    return {
        "diff": diff,
        "diff_lo": dlo,
        "diff_hi": dhi,
        "rel": float(np.nanmean(a) / np.nanmean(b) - 1),
        "rel_lo": float(rlo),
        "rel_hi": float(rhi),
    }


# --------------------------------------------------------------------------- one configuration


@dataclass
class Outcome:
    name: str
    origins: list[float]
    table: dict[str, np.ndarray]  # ranking -> (origins, fractions) hit rates
    deps: dict[str, Departures]  # 'H' half-year, '4' 4 weeks
    complete: np.ndarray  # origins whose half-year after lies wholly in the data
    check: str
    notes: list[str]


def _month_starts(t0: float, t1: float, tz: str | None) -> np.ndarray:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from patrolcast.events import from_days, to_days

    zone = ZoneInfo(tz or "UTC")
    first = from_days(t0).astimezone(zone)
    y, m = first.year, first.month
    out = []
    while True:
        inst = to_days(datetime(y, m, 1, tzinfo=zone))
        out.append(inst)
        if inst > t1:
            break
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return np.asarray(out)


def _date(t: float, tz: str | None) -> str:
    from zoneinfo import ZoneInfo

    from patrolcast.events import from_days

    return from_days(t + 1e-6).astimezone(ZoneInfo(tz or "UTC")).date().isoformat()


def run(
    name: str,
    store: Store,
    cache: Path,
    sims: int,
    fit_years: float,
    log: Callable[[str], None],
    fit_boot: int = 100,
    boot_sims: int = 5,
) -> Outcome:
    config = CONFIGS[name]
    study = load_study(store, config.dataset, level=config.level)
    events, grid = study.events, study.support
    tz = None if events.time_precision == "month" else study.timezone
    horizon, step = parse_period(config.horizon), parse_period(config.step)
    end = local_data_end(float(events.t.max()), events.time_precision, tz)
    split = RollingOrigin(
        horizon=horizon,
        n_origins=config.origins,
        step=step,
        last_end=_end(config.end, tz or "UTC"),
        timezone=tz,
    )
    folds = split.folds(float(events.t.min()), end)
    t = np.asarray(events.t, dtype=np.float64)
    if np.any(np.diff(t) < 0):
        raise ValueError("events are not sorted by time")
    unit = grid.assign(events.x, events.y)
    w = np.asarray(events.count, dtype=np.float64)
    n = grid.n_units
    key_all = tiebreak_key(n)
    area_all = np.asarray(grid.unit_area, dtype=np.float64)
    spans = data_spans(t, end, _month_starts(float(t.min()), end + 400.0, tz))
    log(
        f"{name}: {len(folds)} origins; data spans "
        + ", ".join(f"{a:.0f}-{b:.0f}" for a, b in spans)
    )
    rng = np.random.default_rng(SEED)
    table: dict[str, list[list[float]]] = {}
    complete = []
    kept: list[dict[str, Any]] = []
    for fold in folds:
        o, e = fold.origin, fold.score_end
        hist = counts_between(t, unit, w, n, -np.inf, o)
        keep = np.flatnonzero(hist > 0)
        area, key = area_all[keep], key_all[keep]
        obs = counts_between(t, unit, w, n, o, e)[keep]
        complete.append(covered_days(e, e + HALF_YEAR, spans) >= HALF_YEAR - 1e-6)
        half = around(t, unit, w, n, o, e, HALF_YEAR, HALF_YEAR)[keep]
        near = around(t, unit, w, n, o, e, FOUR_WEEKS, FOUR_WEEKS)[keep]
        rate_c = year_rate(t, unit, w, n, o, e, spans)[keep]
        h = hist[keep]
        cands: dict[str, np.ndarray] = {
            "naive-all": h,
            "A_halfyear": h + half,
            "C_year_rate": rate_c,
            "D_perfect": obs,
        }
        for wt in WEIGHTS:
            cands[f"A_halfyear*{wt:g}"] = h + wt * half
            cands[f"B_4weeks*{wt:g}"] = h + wt * near
        for k, s in cands.items():
            table.setdefault(k, []).append(hit_rates(s, obs, area, key))
        mid = 0.5 * (o + e)
        year = around(t, unit, w, n, o, e, o - (mid - HALF_YEAR), mid + HALF_YEAR - e)[keep]
        kept.append({"h": h, "obs": obs, "year": year, "rate_c": rate_c, "area": area, "key": key})
    # departures from the long-run shares that last from before to after a window, pooled
    # over origins every `step` in the last `fit_years` (evaluation included) whose "after"
    # period lies wholly in the data
    n_fit = int(round(fit_years * 365.25 / step.approx_days))
    fit_folds = RollingOrigin(
        horizon=horizon, n_origins=n_fit, step=step, last_end=split.last_end, timezone=tz
    ).folds(float(t.min()), end)
    pooled: dict[str, list[list[np.ndarray]]] = {k: [] for k in SPANS}
    for fold in fit_folds:
        o, e = fold.origin, fold.score_end
        hist = counts_between(t, unit, w, n, -np.inf, o)
        keep = np.flatnonzero(hist > 0)
        h, area, key = hist[keep], area_all[keep], key_all[keep]
        bins = rank_bins(h, area, key)
        for label, span in SPANS.items():
            if covered_days(e, e + span, spans) < span - 1e-6:
                continue
            if covered_days(o - span, o, spans) < span - 1e-6:
                continue
            y1 = counts_between(t, unit, w, n, o - span, o)[keep]
            y2 = counts_between(t, unit, w, n, e, e + span)[keep]
            pooled[label].append(
                [bins, shares(h, float(y1.sum())), shares(h, float(y2.sum())), y1, y2]
            )
    deps = {
        k: fit_departures(*(np.concatenate(col) for col in zip(*v, strict=True)))
        for k, v in pooled.items()
    }
    fit_note = (
        "departures fitted on "
        + ", ".join(f"{len(pooled[k])} ({SPAN_NAMES[k]})" for k in SPANS)
        + f" origins every {config.step} from {_date(fit_folds[0].origin, tz)} "
        f"to {_date(fit_folds[-1].origin, tz)}"
    )
    log(f"{name}: {fit_note}")
    notes = [fit_note]
    for k, dep in deps.items():
        notes.append(
            f"departures lasting {SPAN_NAMES[k]}, by bin of "
            f"the naive-all ranking (top {', '.join(f'{100 * x:g}' for x in BIN_EDGES)}"
            "% of the area): mean "
            + " ".join(f"{x:.2f}" for x in dep.mu)
            + "; cv2 "
            + " ".join(f"{x:.3f}" for x in dep.cv2)
        )
        log(f"{name}: {notes[-1]}")
    for d in kept:
        h, obs, area, key, rate_c = d["h"], d["obs"], d["area"], d["key"], d["rate_c"]
        total = float(obs.sum())
        nan = [float("nan")] * len(FRACTIONS)
        bins = rank_bins(h, area, key)
        # an oracle on the real windows: the year around, shrunk toward the long-run share
        table.setdefault("C_eb_mean", []).append(
            hit_rates(
                eb_mean(h, d["year"], deps["H"].mu[bins], deps["H"].cv2[bins]), obs, area, key
            )
        )
        # Poisson noise ceilings, simulated windows with the observed total
        lam = rate_c * total / max(float(rate_c.sum()), 1e-12)
        table.setdefault("simC: naive-all", []).append(
            list(expected_hit(h, lam, area, key, rng, sims)) if total > 0 else nan
        )
        table.setdefault("simC: true rate", []).append(
            list(expected_hit(rate_c, lam, area, key, rng, sims)) if total > 0 else nan
        )
        for label in SPANS:
            dep = deps[label]
            nv, tv = (
                rate_ceiling(h, dep.mu[bins], dep.cv2[bins], total, area, key, rng, sims)
                if total > 0
                else (nan, nan)
            )
            table.setdefault(f"sim{label}: naive-all", []).append(list(nv))
            table.setdefault(f"sim{label}: true rate", []).append(list(tv))
    # uncertainty of the ceilings from the fit: the fit origins resampled in blocks of
    # consecutive origins whose periods overlap (a moving-block bootstrap)
    j5 = FRACTIONS.index(0.05)
    rng_b = np.random.default_rng(SEED + 1)
    for label, span in SPANS.items():
        items = pooled[label]
        block = max(1, int(np.ceil(span / step.approx_days)))
        gains = []
        for _ in range(fit_boot):
            pick = [items[i] for i in block_resample(len(items), block, rng_b)]
            dep = fit_departures(*(np.concatenate(col) for col in zip(*pick, strict=True)))
            nv_all, tv_all = [], []
            for d in kept:
                total = float(d["obs"].sum())
                if total <= 0:
                    continue
                b = rank_bins(d["h"], d["area"], d["key"])
                nv, tv = rate_ceiling(
                    d["h"], dep.mu[b], dep.cv2[b], total, d["area"], d["key"], rng_b, boot_sims
                )
                nv_all.append(nv[j5])
                tv_all.append(tv[j5])
            gains.append(float(np.mean(tv_all) / np.mean(nv_all) - 1))
        lo, hi = np.quantile(gains, [0.025, 0.975]) if gains else (np.nan, np.nan)
        notes.append(
            f"noise ceiling sim{label}, relative gain of the true rate over naive-all "
            f"at 5%, 95% interval over {fit_boot} refits on fit origins resampled in blocks of "
            f"{block} ({boot_sims} draws each): {100 * lo:+.1f}% to {100 * hi:+.1f}%"
        )
        log(f"{name}: {notes[-1]}")
    out = {k: np.asarray(v) for k, v in table.items()}
    # longrun and naive-all from bench/issue9_figures.py's cache, paired by origin
    import pickle

    origins = [f.origin for f in folds]
    check = "no cached naive-all run"
    for method in ("naive-all", "longrun"):
        path = cache / f"{name}_{method}.pkl"
        if not path.exists():
            continue
        rows = pickle.loads(path.read_bytes()).rows
        m = np.full((len(origins), len(FRACTIONS)), np.nan)
        for i, o in enumerate(origins):
            for j, f in enumerate(FRACTIONS):
                sel = rows[np.isclose(rows["origin_days"], o) & np.isclose(rows["fraction"], f)]
                if len(sel) == 1:
                    m[i, j] = float(sel["hit_rate"].iloc[0])
        if method == "naive-all":
            gap = np.nanmax(np.abs(m - out["naive-all"]))
            check = (
                f"naive-all recomputed here vs the cached backtest rows: "
                f"{int(np.isfinite(m).all(axis=1).sum())}/{len(origins)} origins matched "
                f"by instant, max |difference| {gap:.2e}"
            )
        else:
            out["longrun"] = m
    return Outcome(name, origins, out, deps, np.asarray(complete), check, notes)


def best_weight(table: dict[str, np.ndarray], prefix: str) -> str:
    j5 = FRACTIONS.index(0.05)
    cands = [k for k in table if k.startswith(prefix + "*")]
    return max(cands, key=lambda k: float(np.nanmean(table[k][:, j5])))


def report(res: Outcome) -> str:
    tab = res.table
    j5 = FRACTIONS.index(0.05)
    best_a, best_b = best_weight(tab, "A_halfyear"), best_weight(tab, "B_4weeks")
    rows = [
        "naive-all",
        "longrun",
        "A_halfyear",
        best_a,
        best_b,
        "C_year_rate",
        "D_perfect",
        "C_eb_mean",
        "simC: naive-all",
        "simC: true rate",
        "simH: naive-all",
        "simH: true rate",
        "sim4: naive-all",
        "sim4: true rate",
        "sim1: naive-all",
        "sim1: true rate",
    ]
    lines = []
    for subset, idx in (
        ("all", np.arange(len(res.origins))),
        ("complete half-year after", np.flatnonzero(res.complete)),
    ):
        if idx.size < 2:
            lines.append(f"\n{res.name}, {subset}: {idx.size} origins, not shown")
            continue
        d = draws(idx.size)
        lines += [
            "",
            f"#### {res.name}: {idx.size} origins ({subset})",
            "",
            "| ranking | 1% | 5% | 10% | 20% | vs naive-all at 5%: points (95% CI); "
            "relative (95% CI) |",
            "|---|---|---|---|---|---|",
        ]
        for k in rows:
            if k not in tab:
                continue
            x = tab[k][idx]
            cells = []
            for j in range(len(FRACTIONS)):
                m, lo, hi = mean_ci(x[:, j], d)
                cells.append(f"{100 * m:.1f} ({100 * lo:.1f}-{100 * hi:.1f})")
            base = f"{k.split(':')[0]}: naive-all" if k.startswith("sim") else "naive-all"
            if k == base:
                vs = "-"
            else:
                p = paired(x[:, j5], tab[base][idx][:, j5], d)
                vs = (
                    f"{100 * p['diff']:+.1f} ({100 * p['diff_lo']:+.1f} to "
                    f"{100 * p['diff_hi']:+.1f}); {100 * p['rel']:+.1f}% "
                    f"({100 * p['rel_lo']:+.1f}% to {100 * p['rel_hi']:+.1f}%)"
                )
            lines.append(f"| {k} | " + " | ".join(cells) + f" | {vs} |")
    lines += [
        "",
        f"- {res.check}",
        *(f"- {x}" for x in res.notes),
        f"- weights chosen in hindsight on all origins: {best_a}, {best_b} (grid "
        f"{', '.join(f'{x:g}' for x in WEIGHTS)})",
        f"- origins with the complete half-year after the window: "
        f"{int(res.complete.sum())}/{res.complete.size}",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--home", type=Path, default=Path("/tmp/pc9home"))
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument(
        "--fit-boot",
        type=int,
        default=100,
        help="Refits on resampled fit origins for the ceilings' intervals.",
    )
    parser.add_argument(
        "--fit-years",
        type=float,
        default=3.0,
        help="Years of origins the departures (noise ceiling) are fitted on.",
    )
    parser.add_argument("--out", type=Path, default=None, help="Also write the tables here.")
    args = parser.parse_args()
    cache = Path(os.environ.get("PC9_CACHE", "/tmp/pc9cache"))
    store = Store(args.home / "store")

    def log(msg: str) -> None:
        print(time.strftime("%H:%M:%S"), msg, flush=True)

    texts = []
    for name in args.configs:
        t0 = time.time()
        text = report(run(name, store, cache, args.sims, args.fit_years, log, args.fit_boot))
        log(f"{name} done in {time.time() - t0:.0f} s")
        print(text, flush=True)
        texts.append(text)
    if args.out is not None:
        args.out.write_text("\n".join(texts), encoding="utf-8")


if __name__ == "__main__":
    main()
