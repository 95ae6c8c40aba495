"""ETAS fit time at 10k, 50k and 100k simulated events, against a naive quadratic EM at 10k.

Events are drawn from a known ETAS model (branching ratio 0.5, mean delay 5 days, sigma 70 m)
over the London boroughs for three years (``patrolcast.forecast.simulate``); the background rate
is scaled to give about 10k, 50k and 100k events. The indexed EM (numba, space-time cut-offs,
``engine="numba"``) fits each; the naive EM (``engine="reference"``: plain numpy over all
``n * n`` pairs, cut-offs as masks, the same iterations to the same answer) fits the 10k set in
the same process, so the ratio compares like with like. Numba's compilation is excluded by a
warm-up fit.

Run: ``.venv/bin/python bench/etas_bench.py`` (``--quick`` skips the naive EM).

``--diagnose --home H --dataset D --cutoff YYYY-MM-DD`` instead fits a real dataset (the two
years before the cut-off, inside its study area) with variants of the background that could
pull the mean trigger delay to its bound, and prints each fit's likelihood, branching ratio,
delay, scale and trust: the default (30-day level h(t)), a 10-day level, a background constant
in time, no time-stable leave-out, the delay unbounded, a sharper background map (5th
neighbour, 25 m floor), a one-year and a half-year window (``docs/readme/40-imminent.md``,
"Why NYPD's delay sits at its bound").

``--levels --home H --dataset D --cutoff FIRST --months N`` fits the dataset at the first of N
successive months (two years before each) with and without the season, and compares each
fit's expected count of the next 28 days (``mu * level / (1 - n)``) with the incidents that
came (collapsed as the fit collapses them): the mean log ratio and its spread, per variant.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from patrolcast.config import default_shared_data
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.simulate import ETASModel, london_area, simulate_etas

DAYS = 1095.0
SIZES = (10_000, 50_000, 100_000)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


DIAGNOSE: dict[str, dict[str, object]] = {
    "default": {},
    "level 10 d": {"background_days": 10.0},
    "constant": {"background_days": None},
    "no leave-out": {"stable_background": False},
    "delay unbounded": {"max_mean_delay": None},
    "sharp map": {"neighbours": 5, "min_bandwidth": 25.0},
    "one year": {"history_days": 365.0},
    "half year": {"history_days": 180.0},
}


def diagnose(home: Path, dataset: str, cutoff: str) -> None:
    from datetime import UTC, datetime

    from patrolcast.evaluate.jobs import open_store
    from patrolcast.evaluate.study import load_study
    from patrolcast.events import to_days

    cut = to_days(datetime.fromisoformat(cutoff).replace(tzinfo=UTC))
    study = load_study(open_store(home), dataset, level="grid", cell_size=250.0, groups=None)
    events = study.events.select(study.events.t < cut)
    for name, params in DIAGNOSE.items():
        t0 = time.perf_counter()
        fit = ETASForecaster(**params).fit(events, cutoff=cut)  # type: ignore[arg-type]
        s = fit.params_summary()
        print(
            f"{name:16s} loglik={s['loglik']:10.1f} theta={s['branching_ratio']:.3f} "
            f"delay={s['mean_trigger_delay_days']:5.1f} d sigma={s['sigma_m']:5.0f} m "
            f"converged={s['converged']} trustworthy={s['trustworthy']} n={s['n_events']} "
            f"[{time.perf_counter() - t0:.0f} s]",
            flush=True,
        )


def levels(home: Path, dataset: str, first: str, months: int) -> None:
    from datetime import UTC, datetime

    from patrolcast.evaluate.jobs import open_store
    from patrolcast.evaluate.study import load_study
    from patrolcast.events import to_days
    from patrolcast.forecast.etas import collapse_incidents

    study = load_study(open_store(home), dataset, level="grid", cell_size=250.0, groups=None)
    events, _ = collapse_incidents(study.events)
    start = datetime.fromisoformat(first).replace(tzinfo=UTC)
    logs: dict[bool, list[float]] = {True: [], False: []}
    for k in range(months):
        month = start.month - 1 + k
        cut = to_days(start.replace(year=start.year + month // 12, month=month % 12 + 1))
        came = int(np.sum((events.t >= cut) & (events.t < cut + 28.0)))
        row = []
        for seasonal in (False, True):
            fit = ETASForecaster(seasonal=seasonal, restarts=1).fit(study.events, cutoff=cut)
            n_bar = min(fit.branching_ratio_, 0.99)
            expected = fit.mu_ * fit.background_level(cut, cut + 28.0) * 28.0 / (1.0 - n_bar)
            logs[seasonal].append(float(np.log(came / expected)))
            row.append(f"{'seasonal' if seasonal else 'held'} {expected:6.1f}")
        print(f"{fit.params_summary()['fit_cutoff'][:10]} came {came:4d}  " + "  ".join(row),
              flush=True)  # fmt: skip
    for seasonal, v in logs.items():
        a = np.asarray(v)
        name = "seasonal" if seasonal else "held"
        print(
            f"{name:8s}: mean log(came / expected) {a.mean():+.3f}, "
            f"mean |log| {np.abs(a).mean():.3f}, sd {a.std(ddof=1):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the naive quadratic EM")
    parser.add_argument("--diagnose", action="store_true", help="fit variants on real data")
    parser.add_argument("--home", type=Path)
    parser.add_argument("--dataset")
    parser.add_argument("--cutoff")
    parser.add_argument("--levels", action="store_true", help="season against held level")
    parser.add_argument("--months", type=int, default=24)
    args = parser.parse_args()
    if args.levels:
        if not (args.home and args.dataset and args.cutoff):
            parser.error("--levels needs --home, --dataset and --cutoff")
        levels(args.home, args.dataset, args.cutoff, args.months)
        return
    if args.diagnose:
        if not (args.home and args.dataset and args.cutoff):
            parser.error("--diagnose needs --home, --dataset and --cutoff")
        diagnose(args.home, args.dataset, args.cutoff)
        return
    area = london_area(default_shared_data() / "boundaries" / "london_boroughs.gpkg")
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; python {platform.python_version()}")
    warm = simulate_etas(ETASModel(mu=2.0), area, days=30, seed=0).events
    ETASForecaster(history_days=None).fit(warm, cutoff=30.0)  # compile numba kernels
    results = {}
    for size in SIZES:
        model = ETASModel(mu=size * 0.5 / DAYS, theta=(0.5,), omega=0.2, sigma=70.0)
        events = simulate_etas(model, area, days=DAYS, seed=size).events
        fit = ETASForecaster(history_days=None)
        t0 = time.perf_counter()
        fit.fit(events, cutoff=DAYS)
        elapsed = time.perf_counter() - t0
        results[size] = (elapsed, events)
        print(
            f"indexed EM  n={len(events):>7,}  {elapsed:6.2f} s  iterations={fit.n_iter_:3d}  "
            f"pairs={fit.n_pairs_:>9,}  per-iteration {elapsed / fit.n_iter_ * 1e3:7.1f} ms  "
            f"branching={fit.branching_ratio_:.3f} omega={fit.omega_:.3f} sigma={fit.sigma_:.1f}"
        )
    base = results[SIZES[0]][0]
    for size in SIZES[1:]:
        e = results[size][0]
        print(f"growth {SIZES[0]:,} -> {size:,} events: x{size / SIZES[0]:.0f} events, "
              f"x{e / base:.1f} time (quadratic would be x{(size / SIZES[0]) ** 2:.0f})")
    if not args.quick:
        events = results[SIZES[0]][1]
        naive = ETASForecaster(history_days=None, engine="reference")
        t0 = time.perf_counter()
        naive.fit(events, cutoff=DAYS)
        slow = time.perf_counter() - t0
        fast = ETASForecaster(history_days=None).fit(events, cutoff=DAYS)
        same = np.allclose(naive.theta_, fast.theta_, rtol=1e-8) and np.isclose(
            naive.omega_, fast.omega_, rtol=1e-8
        )
        print(
            f"naive quadratic EM n={len(events):,}: {slow:.2f} s ({naive.n_iter_} iterations); "
            f"indexed is {slow / base:.0f}x faster; same parameters: {same}"
        )


if __name__ == "__main__":
    main()
