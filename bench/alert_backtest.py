"""Replay serious-assault alerts on an ingested dataset and write the scores and the lift plot.

    .venv/bin/python bench/alert_backtest.py --home /tmp/pc --dataset philadelphia \
        --start 2021-01-01 --end 2022-01-01 --refit-days 56 --out /tmp/pc/phl.json \
        --png docs/img/alert_lift_philadelphia.png

The same as ``patrolcast alert backtest`` (see ``docs/readme/40-imminent.md``), printing each
fit's convergence and trust as it goes: the grid is clipped to the dataset's real study area
(the city limits; NYPD the five boroughs), as the command has it, or the events' convex hull
with ``--study-area hull`` (the old way, for comparison); ``--time-scales 2`` for the
two-time-scale variant. Dates are UTC midnights.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from patrolcast.evaluate.alert_backtest import AlertBacktestSpec, plot_lift, run_alert_backtest
from patrolcast.evaluate.jobs import open_store
from patrolcast.evaluate.study import load_study
from patrolcast.events import to_days
from patrolcast.forecast.alert import time_scale_params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--end", required=True)
    ap.add_argument("--refit-days", type=float, default=28.0)
    ap.add_argument("--cell-size", type=float, default=250.0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--png", type=Path)
    ap.add_argument("--study-area", default="default", choices=("default", "hull"))
    ap.add_argument("--time-scales", type=int, default=1, choices=(1, 2))
    args = ap.parse_args()

    def day(text: str) -> float:
        return to_days(datetime.fromisoformat(text).replace(tzinfo=UTC))

    study = load_study(
        open_store(args.home), args.dataset, level="grid", cell_size=args.cell_size,
        groups=None, study_area=args.study_area,
    )  # fmt: skip
    area = study.study_area_json()
    print(f"study area: {area.get('source')} ({area.get('km2')} km2)", flush=True)
    spec = AlertBacktestSpec(start=day(args.start), end=day(args.end), refit_days=args.refit_days)
    t0 = time.time()

    def progress(fit: dict) -> None:
        print(
            f"{fit['cutoff'][:10]} incidents={fit['incidents']} converged={fit['converged']} "
            f"trustworthy={fit['trustworthy']} {fit['not_trustworthy_because']} "
            f"scales={[round(v) for v in fit['sigmas_m']]} "
            f"delays={[round(v, 1) for v in fit['mean_trigger_delays_days']]}d "
            f"weights={[round(v, 3) for v in fit['time_weights']]} [{time.time() - t0:.0f}s]",
            flush=True,
        )

    result = run_alert_backtest(
        study.events, study.support, spec, progress=progress, **time_scale_params(args.time_scales)
    )
    doc = result.to_dict()
    doc["dataset"] = args.dataset
    doc["study_area"] = area
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    if args.png:
        plot_lift(result, args.png, title=f"Lift after an incident: {args.dataset}")
    for name, r in doc["rules"].items():
        print(name, {k: r[k] for k in ("alerts_with_zone", "km2_days", "events_caught",
                                       "caught_per_km2_day", "lift", "calibration")})  # fmt: skip
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
