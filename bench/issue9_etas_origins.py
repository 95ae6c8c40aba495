"""ETAS on every origin of a held-out backtest, one origin at a time, cached and resumable.

The figures of ``bench/issue9_figures.py`` ran ETAS on every fourth Chicago weekly origin
only (about 45 s per fit on a quiet machine, minutes on a busy one). This runs the missing
origins of a configuration one by one, each in its own task, caches every origin's result
(``$PC9_CACHE/<config>_etas_origins/<date>.pkl``) and records, per origin, whether it ran,
how long it took and, if the fit failed, the exception: nothing is dropped silently.

Run::

    nice -n 15 .venv/bin/python bench/issue9_etas_origins.py chicago-7d --workers 1

When every origin is done, the merged rows are written to ``$PC9_CACHE/<config>_etas.pkl``,
where ``bench/issue9_figures.py`` picks them up.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from patrolcast.evaluate.backtest import BacktestResult, _local_date, _tasks, score_origin
from patrolcast.evaluate.splitters import RollingOrigin, local_data_end, parse_period
from patrolcast.evaluate.study import load_study
from patrolcast.forecast.registry import make_forecaster
from patrolcast.io.store import Store

sys_path = Path(__file__).resolve().parent
import sys  # noqa: E402

sys.path.insert(0, str(sys_path))
from issue9_figures import CONFIGS, _end  # noqa: E402


def _one(args: tuple[Any, Path]) -> dict[str, Any]:
    task, path = args
    t0 = time.time()
    try:
        result = score_origin(task)
    except Exception as exc:  # recorded per origin, never dropped silently
        return {"status": "failed", "seconds": time.time() - t0,
                "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
    path.write_bytes(pickle.dumps(result))
    return {"status": "ok", "seconds": time.time() - t0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--home", type=Path, default=Path("/tmp/pc9home"))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    cache = Path(os.environ.get("PC9_CACHE", "/tmp/pc9cache"))
    config = CONFIGS[args.config]
    study = load_study(Store(args.home / "store"), config.dataset, level=config.level)
    events, support = study.events, study.support
    tz = None if events.time_precision == "month" else study.timezone
    horizon, step = parse_period(config.horizon), parse_period(config.step)
    splitter = RollingOrigin(horizon=horizon, n_origins=config.origins, step=step,
                             last_end=_end(config.end, tz or "UTC"), timezone=tz)
    end = local_data_end(float(events.t.max()), events.time_precision, tz)
    folds = splitter.folds(float(events.t.min()), end)
    model = make_forecaster("etas", horizon_days=horizon.approx_days)
    tasks = _tasks(events, support, folds, {"etas": model}, (0.01, 0.05, 0.10, 0.20),
                   "count", "mask", tz)
    folder = cache / f"{config.name}_etas_origins"
    folder.mkdir(parents=True, exist_ok=True)
    todo = []
    for task in tasks:
        path = folder / f"{_local_date(task.fold.origin, tz)}.pkl"
        if not path.exists():
            todo.append((task, path))
    print(f"{len(tasks)} origins, {len(todo)} to run", flush=True)
    log_path = folder / "status.json"
    status: dict[str, Any] = json.loads(log_path.read_text()) if log_path.exists() else {}
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for (task, _path), info in zip(todo, pool.map(_one, todo), strict=True):
            day = _local_date(task.fold.origin, tz)
            status[day] = {k: v for k, v in info.items() if k != "trace"}
            log_path.write_text(json.dumps(status, indent=1))
            print(time.strftime("%H:%M:%S"), day, info["status"], f"{info['seconds']:.0f} s",
                  info.get("error", ""), flush=True)
    results = []
    for task in tasks:
        path = folder / f"{_local_date(task.fold.origin, tz)}.pkl"
        if path.exists():
            results.append(pickle.loads(path.read_bytes()))
    if len(results) == len(tasks):
        rows = pd.DataFrame([r for res in results for r in res.rows])
        rows["overlap_next"] = float("nan")
        rel = pd.DataFrame([r for res in results for r in res.reliability])
        merged = BacktestResult(rows=rows, reliability=rel,
                                meta={"methods": ["etas"], "protocol": "mask"})
        (cache / f"{config.name}_etas.pkl").write_bytes(pickle.dumps(merged))
        print("merged", len(results), "origins", flush=True)
    else:
        print(f"{len(results)} of {len(tasks)} origins done; rerun to resume", flush=True)


if __name__ == "__main__":
    main()
