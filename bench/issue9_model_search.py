"""Which long-run rankings beat the all-history count? A fast nested search (issue 9).

Cheap candidate scores per cell, from the history before each origin only:

- ``all``: the count of all history (naive-all);
- ``ew<h>``: exponentially weighted counts with half-life ``h`` days (365 to 2920);
- ``<base>+s<k>:<a>``: ``(1 - a) * base + a * smooth(base, k cells)``, a Gaussian smoothing on
  the grid (k = 1, 2, 3 cells) mixed with the cell's own value (empirical-Bayes-like shrinkage
  toward the neighbourhood).

The candidate with the best mean hit rate at 5% on *validation* origins that all end before the
first evaluation origin is chosen (nested: the evaluation windows are never seen), then scored
on the evaluation origins of ``bench/issue9_figures.py`` beside naive-all, with a paired
bootstrap interval. Hit rates use the backtest's own ``flag_top`` and tie-break key.

Run::

    nice -n 15 .venv/bin/python bench/issue9_model_search.py chicago-7d nypd-1M
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from patrolcast.evaluate.backtest import observed_per_unit
from patrolcast.evaluate.metrics import flag_top, hit_rate, tiebreak_key
from patrolcast.evaluate.splitters import RollingOrigin, local_data_end, parse_period
from patrolcast.evaluate.study import load_study
from patrolcast.geo.support import Grid
from patrolcast.io.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from issue9_figures import CONFIGS, _end  # noqa: E402

HALF_LIVES = (365.0, 730.0, 1460.0, 2920.0)
SCALES = (1.0, 2.0, 3.0)
MIXES = (0.25, 0.5, 0.75)
FRACTIONS = (0.01, 0.05, 0.10, 0.20)


def _smooth(grid: Grid, values: np.ndarray, sigma_cells: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    raster = grid.to_raster(values, fill=0.0)
    weight = grid.to_raster(np.ones_like(values), fill=0.0)
    num = gaussian_filter(raster, sigma_cells, mode="constant", truncate=3.0)
    den = gaussian_filter(weight, sigma_cells, mode="constant", truncate=3.0)
    return np.asarray(grid.from_raster(np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)))


def scores_at(events: Any, grid: Grid, unit: np.ndarray, origin: float) -> dict[str, np.ndarray]:
    i1 = int(np.searchsorted(events.t, origin, side="left"))
    t, u, w = events.t[:i1], unit[:i1], events.count[:i1]
    ok = u >= 0
    t, u, w = t[ok], u[ok], w[ok]
    n = grid.n_units
    base: dict[str, np.ndarray] = {"all": np.bincount(u, weights=w, minlength=n)}
    for h in HALF_LIVES:
        decay = np.exp(-(origin - t) * math.log(2.0) / h)
        base[f"ew{h:g}"] = np.bincount(u, weights=w * decay, minlength=n)
    out = dict(base)
    for name, v in base.items():
        for k in SCALES:
            s = _smooth(grid, v, k)
            for a in MIXES:
                out[f"{name}+s{k:g}:{a:g}"] = (1 - a) * v + a * s
    return out


def hindsight(events: Any, unit: np.ndarray, n: int, origin: float, end: float) -> np.ndarray:
    """NOT a forecast: counts of the year around the window, the window itself left out.

    A ceiling for any forecast of the current long-run intensity: it knows the half-year
    after the window, which no forecaster can.
    """
    out = np.zeros(n)
    for lo, hi in ((origin - 182.5, origin), (end, end + 182.5)):
        i0, i1 = np.searchsorted(events.t, [lo, hi], side="left")
        u = unit[i0:i1]
        ok = u >= 0
        out += np.bincount(u[ok], weights=events.count[i0:i1][ok], minlength=n)
    return out


def evaluate(folds: list[Any], events: Any, grid: Grid, unit: np.ndarray) -> dict[str, Any]:
    """Per candidate, per fold, hit rates at FRACTIONS on the study mask."""
    key_all = tiebreak_key(grid.n_units)
    area_all = np.asarray(grid.unit_area, dtype=np.float64)
    table: dict[str, list[list[float]]] = {}
    for fold in folds:
        cands = scores_at(events, grid, unit, fold.origin)
        near = hindsight(events, unit, grid.n_units, fold.origin, fold.score_end)
        cands["HINDSIGHT_year"] = near
        cands["HINDSIGHT_year+all"] = near + cands["all"]  # all history and the year around
        seen = cands["all"] > 0
        keep = np.flatnonzero(seen)
        obs = observed_per_unit(events.between(fold.origin, fold.score_end), grid)[keep]
        for name, s in cands.items():
            hits = [hit_rate(flag_top(s[keep], area_all[keep], f, key_all[keep]), obs)
                    for f in FRACTIONS]
            table.setdefault(name, []).append(hits)
    return {k: np.asarray(v) for k, v in table.items()}


STACK_MIN_TRAIN = 4


def stack_features(events: Any, grid: Grid, unit: np.ndarray, origin: float) -> np.ndarray:
    """Rates per cell (events a day) at several decays, scales and recent look-backs."""
    cands = scores_at(events, grid, unit, origin)
    span = max(origin - float(events.t.min()), 1.0)
    cols = []
    for name, v in cands.items():
        base = name.split("+")[0]
        if name.endswith(":0.25") or name.endswith(":0.75"):
            continue  # the 0.5 mixes and the pure values span the same space
        if base == "all":
            cols.append(v / span)
        else:
            h = float(base[2:])
            rate = math.log(2.0) / h
            cols.append(v * rate / (1.0 - math.exp(-rate * span)))
    i1 = int(np.searchsorted(events.t, origin, side="left"))
    for d in (28.0, 91.0, 365.0):
        i0 = int(np.searchsorted(events.t, origin - d, side="left"))
        u = unit[i0:i1]
        ok = u >= 0
        c = np.bincount(u[ok], weights=events.count[i0:i1][ok], minlength=grid.n_units)
        cols.append(c / d)
        cols.append(_smooth(grid, c, 2.0) / d)
    return np.column_stack(cols)


def stacked(folds: list[Any], events: Any, grid: Grid, unit: np.ndarray,
            scored: set[int], top: float = 1.0) -> np.ndarray:
    """Hit rates of a non-negative least-squares stack of the rates, refitted at every origin
    on the earlier folds whose windows had ended (pooled targets; nothing later is seen).

    ``top < 1`` trains on the relevant cells only: at each training origin, the share ``top``
    of the masked cells with the highest all-history counts (where the flagged 5% lies)."""
    key_all = tiebreak_key(grid.n_units)
    area_all = np.asarray(grid.unit_area, dtype=np.float64)
    from scipy.optimize import nnls

    data = []
    for fold in folds:
        x = stack_features(events, grid, unit, fold.origin)
        keep = np.flatnonzero(x[:, 0] > 0)
        obs = observed_per_unit(events.between(fold.origin, fold.score_end), grid)
        data.append((fold, x, keep, obs))
    out = []
    for j, (fold, x, keep, obs) in enumerate(data):
        if j not in scored:
            continue
        train = [d for d in data[:j] if d[0].score_end <= fold.origin + 1e-9]
        if len(train) < STACK_MIN_TRAIN:
            raise ValueError("too few training folds for the stack")
        rows = []
        for d in train:
            k = d[2]
            if top < 1.0:
                k = k[np.argsort(-d[1][k, 0], kind="stable")[: max(1, int(top * k.size))]]
            rows.append(k)
        xs = np.vstack([d[1][k] for d, k in zip(train, rows, strict=True)])
        ys = np.concatenate([d[3][k] / (d[0].score_end - d[0].origin)
                             for d, k in zip(train, rows, strict=True)])
        scale = xs.std(axis=0) + 1e-12
        coef, _ = nnls(xs / scale, ys)
        score = (x / scale) @ coef
        out.append([hit_rate(flag_top(score[keep], area_all[keep], f, key_all[keep]),
                             obs[keep]) for f in FRACTIONS])
    return np.asarray(out)


def paired(a: np.ndarray, b: np.ndarray, n_boot: int = 2000) -> tuple[float, float, float]:
    rng = np.random.default_rng(0)
    d = a - b
    idx = rng.integers(0, d.size, (n_boot, d.size))
    boots = d[idx].mean(axis=1)
    return float(d.mean()), float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("configs", nargs="+")
    parser.add_argument("--home", type=Path, default=Path("/tmp/pc9home"))
    parser.add_argument("--validation", type=int, default=12)
    args = parser.parse_args()
    store = Store(args.home / "store")
    for name in args.configs:
        config = CONFIGS[name]
        t0 = time.time()
        study = load_study(store, config.dataset, level=config.level)
        events, grid = study.events, study.support
        tz = None if events.time_precision == "month" else study.timezone
        horizon, step = parse_period(config.horizon), parse_period(config.step)
        end = local_data_end(float(events.t.max()), events.time_precision, tz)
        ev_split = RollingOrigin(horizon=horizon, n_origins=config.origins, step=step,
                                 last_end=_end(config.end, tz or "UTC"), timezone=tz)
        folds = ev_split.folds(float(events.t.min()), end)
        val_split = RollingOrigin(horizon=horizon, n_origins=args.validation, step=step,
                                  last_end=folds[0].origin, timezone=tz)
        vfolds = val_split.folds(float(events.t.min()), folds[0].origin)
        unit = grid.assign(events.x, events.y)
        val = evaluate(vfolds, events, grid, unit)
        test = evaluate(folds, events, grid, unit)
        j5 = FRACTIONS.index(0.05)
        ranked = sorted((k for k in val if not k.startswith("HINDSIGHT")),
                        key=lambda k: -val[k][:, j5].mean())
        chosen = ranked[0]
        print(f"== {name} ({time.time() - t0:.0f} s); validation {len(vfolds)} origins "
              f"to {vfolds[-1].origin:.0f}, evaluation {len(folds)}")
        print("validation top 8 at 5%:", [(k, round(100 * val[k][:, j5].mean(), 2))
                                          for k in ranked[:8]])
        for cand in ("all", chosen, "HINDSIGHT_year", "HINDSIGHT_year+all"):
            d, lo, hi = paired(val[cand][:, j5], val["all"][:, j5])
            print(f"  validation {cand:>20}: 5% {100 * val[cand][:, j5].mean():.1f} "
                  f"({100 * d:+.1f}, {100 * lo:+.1f}..{100 * hi:+.1f})")
        for cand in dict.fromkeys([chosen, "all", "ew1460", "ew2920", "all+s1:0.5",
                                   "HINDSIGHT_year", "HINDSIGHT_year+all"]):
            cells = []
            for j, f in enumerate(FRACTIONS):
                d, lo, hi = paired(test[cand][:, j], test["all"][:, j])
                cells.append(f"{100 * f:g}%: {100 * test[cand][:, j].mean():.1f} "
                             f"({100 * d:+.1f}, {100 * lo:+.1f}..{100 * hi:+.1f})")
            rel = test[cand][:, j5].mean() / test["all"][:, j5].mean() - 1
            print(f"  {cand:>20}: " + "; ".join(cells) + f"; rel 5% {100 * rel:+.1f}%")
        both = list(vfolds) + list(folds)
        n_v = len(vfolds)
        val_stack = stacked(both[:n_v], events, grid, unit, set(range(STACK_MIN_TRAIN, n_v)))
        d, lo, hi = paired(val_stack[:, j5], val["all"][STACK_MIN_TRAIN:, j5])
        print(f"  validation stack (origins {STACK_MIN_TRAIN + 1}..{n_v}): 5% "
              f"{100 * val_stack[:, j5].mean():.1f} vs all "
              f"{100 * val['all'][STACK_MIN_TRAIN:, j5].mean():.1f} ({100 * d:+.1f}, "
              f"{100 * lo:+.1f}..{100 * hi:+.1f})")
        val_top = stacked(both[:n_v], events, grid, unit, set(range(STACK_MIN_TRAIN, n_v)),
                          top=0.2)
        d, lo, hi = paired(val_top[:, j5], val["all"][STACK_MIN_TRAIN:, j5])
        print(f"  validation stack on the top 20% cells: 5% {100 * val_top[:, j5].mean():.1f} "
              f"({100 * d:+.1f}, {100 * lo:+.1f}..{100 * hi:+.1f})")
        ev_top = stacked(both, events, grid, unit, set(range(n_v, len(both))), top=0.2)
        d, lo, hi = paired(ev_top[:, j5], test["all"][:, j5])
        print(f"  evaluation stack on the top 20% cells: 5% {100 * ev_top[:, j5].mean():.1f} "
              f"({100 * d:+.1f}, {100 * lo:+.1f}..{100 * hi:+.1f})")
        ev_stack = stacked(both, events, grid, unit, set(range(n_v, len(both))))
        cells = []
        for j, f in enumerate(FRACTIONS):
            d, lo, hi = paired(ev_stack[:, j], test["all"][:, j])
            cells.append(f"{100 * f:g}%: {100 * ev_stack[:, j].mean():.1f} "
                         f"({100 * d:+.1f}, {100 * lo:+.1f}..{100 * hi:+.1f})")
        print("  evaluation stack: " + "; ".join(cells))
        best_test = max((k for k in test if not k.startswith("HINDSIGHT")),
                        key=lambda k: test[k][:, j5].mean())
        print(f"  (oracle, not a result: best on evaluation {best_test} "
              f"{100 * test[best_test][:, j5].mean():.1f})")


if __name__ == "__main__":
    main()
