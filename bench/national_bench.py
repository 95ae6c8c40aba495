"""National-scale figures: replica, partitioned ingest and the 43-force backtest, 1 vs 2 workers.

    nice -n 10 .venv/bin/python bench/national_bench.py --work /tmp/national \
        --records-per-month 500000 --months 13 --out bench/national_figures.json

``--records-per-month`` is the national monthly volume (real: about 500,000); scale it down on
a small machine and say so. Steps, each timed in this process:

1. the replica (``patrolcast.io.national_replica``), generated on a Dask LocalCluster;
2. ingest of every file into the partitioned store: serially (one process), with local
   processes (2) and on a Dask LocalCluster of 2 single-threaded workers, each into a fresh store;
   rows in = stored + quarantined checked every time;
3. the national backtest (43 forces, ``--origins`` monthly origins, default methods naive, kde,
   prospective + the naive-365 and naive-all baselines, 500 m cells clipped to the force
   boundaries): serially (1 worker), local processes (2 workers), Dask LocalCluster (2 workers);
   the serial and Dask results are compared row for row.

Reported: seconds and rows per second, time per force against its record count (with the
log-log slope: cost growth), the memory peak of each worker process, serial/distributed ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrolcast.evaluate.distributed import DaskExecutor, dask_client, national_backtest
from patrolcast.evaluate.executors import LocalProcessExecutor, SerialExecutor
from patrolcast.evaluate.jobs import with_baselines
from patrolcast.evaluate.splitters import RollingOrigin, parse_period
from patrolcast.forecast.registry import make_forecaster
from patrolcast.io.national_replica import force_areas, generate_replica, slug_of
from patrolcast.io.partitioned import PartitionedStore, ingest_partitioned

METHODS = with_baselines(("naive", "kde", "prospective"))


def _methods() -> dict[str, Any]:
    return {n: make_forecaster(n, horizon_days=30.4) for n in METHODS}


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory. For this process: VmHWM (ru_maxrss survives fork and exec, so a
    spawned worker would report at least its parent's peak)."""
    if who == resource.RUSAGE_SELF:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    return resource.getrusage(who).ru_maxrss / 1024.0


def _worker_peaks(client: Any) -> list[float]:
    return sorted(round(v, 1) for v in client.run(_peak_mb).values())


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker_cpu(client: Any) -> list[float]:
    """CPU seconds each worker process has used (imports and compilation included)."""
    return sorted(round(v, 1) for v in client.run(_cpu_seconds).values())


def _slope(records: list[int], seconds: list[float]) -> float:
    r, s = np.log(np.asarray(records, float)), np.log(np.asarray(seconds, float))
    return float(np.polyfit(r, s, 1)[0])


def _ingest(files: list[Path], root: Path, executor: Any) -> dict[str, Any]:
    shutil.rmtree(root, ignore_errors=True)
    t = time.perf_counter()
    s = ingest_partitioned(files, root=root, dataset="street", executor=executor)
    seconds = time.perf_counter() - t
    assert s.rows_in == s.stored + s.quarantined
    return {"seconds": round(seconds, 2), "rows_in": s.rows_in, "stored": s.stored,
            "quarantined": s.quarantined, "rows_per_s": round(s.rows_in / seconds)}  # fmt: skip


def _backtest(root: Path, forces: list[str], areas: dict[str, Any], executor: Any,
              origins: int, concurrent: int) -> tuple[float, list[Any]]:  # fmt: skip
    splitter = RollingOrigin(horizon=parse_period("1M"), n_origins=origins)
    t = time.perf_counter()
    runs = national_backtest(
        root, "street", forces=forces, methods=_methods, splitter=splitter, executor=executor,
        areas=areas, cell_size=500.0, concurrent_forces=concurrent,
    )  # fmt: skip
    return time.perf_counter() - t, runs


def _replica_and_ingest(args: Any, skip: set[str], figures: dict[str, Any]) -> Path:
    replica = args.work / "replica"
    shutil.rmtree(replica, ignore_errors=True)
    with dask_client(workers=2) as client:
        t = time.perf_counter()
        made = generate_replica(
            replica, shared_data=args.shared_data, n_months=args.months,
            records_per_month=args.records_per_month, executor=DaskExecutor(client=client),
        )  # fmt: skip
        figures["replica"] = {"seconds": round(time.perf_counter() - t, 2),
                              "rows": sum(sum(m["rows"].values()) for m in made)}  # fmt: skip
    print("replica", figures["replica"], flush=True)
    files = sorted(replica.glob("*/*-street.csv"))
    ingest: dict[str, Any] = {}
    if "ingest-serial" not in skip:
        ingest["serial"] = _ingest(files, args.work / "store-serial", None)
        print("ingest serial", ingest["serial"], flush=True)
    if "ingest-local" not in skip:
        ingest["local_2"] = _ingest(files, args.work / "store-local", LocalProcessExecutor(2))
        print("ingest local 2", ingest["local_2"], flush=True)
    root = args.work / "store"
    with dask_client(workers=2) as client:
        ingest["dask_2"] = _ingest(files, root, DaskExecutor(client=client))
        ingest["dask_2"]["worker_peak_mb"] = _worker_peaks(client)
    print("ingest dask 2", ingest["dask_2"], flush=True)
    if "serial" in ingest:
        ingest["serial_over_dask_2"] = round(
            ingest["serial"]["seconds"] / ingest["dask_2"]["seconds"], 2
        )
    figures["ingest"] = ingest

    return root


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--shared-data", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--records-per-month", type=int, default=500_000)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--origins", type=int, default=12)
    steps = "ingest-serial,ingest-local,bt-serial,bt-local,bt-dask"
    ap.add_argument("--skip", default="", help=f"Comma list of steps to skip: {steps}")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--store", type=Path, help="Backtest this partitioned store (skip 1 and 2).")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    figures: dict[str, Any] = {"records_per_month": args.records_per_month,
                               "months": args.months, "origins": args.origins}  # fmt: skip
    root = args.store if args.store is not None else _replica_and_ingest(args, skip, figures)
    store = PartitionedStore(root)
    forces = store.forces("street")
    areas = {slug_of(n): g for n, g in force_areas(args.shared_data).items()}
    bt: dict[str, Any] = {}
    serial_runs = None
    if "bt-serial" not in skip:
        seconds, serial_runs = _backtest(root, forces, areas, SerialExecutor(), args.origins, 1)
        cpu = round(sum(r.cpu_seconds for r in serial_runs), 2)
        bt["serial"] = {"seconds": round(seconds, 2), "peak_mb": round(_peak_mb(), 1),
                        "cpu_seconds": cpu}  # fmt: skip
        per_force = sorted(
            (r.records, r.cpu_seconds, r.force, int(r.result.meta["n_units"]), r.seconds)
            for r in serial_runs
        )
        bt["per_force"] = [
            {"force": f, "records": n, "cells": c, "cpu_seconds": round(s, 3),
             "wall_seconds": round(w, 3)}
            for n, s, f, c, w in per_force
        ]  # fmt: skip
        bt["cost_growth_slope"] = round(
            _slope([p[0] for p in per_force], [p[1] for p in per_force]), 3
        )
        bt["cost_growth_slope_cells"] = round(
            _slope([p[3] for p in per_force], [p[1] for p in per_force]), 3
        )
        print("backtest serial", bt["serial"], "slope", bt["cost_growth_slope"], flush=True)
    if "bt-local" not in skip:
        seconds, _ = _backtest(root, forces, areas, LocalProcessExecutor(2), args.origins, 1)
        bt["local_2"] = {
            "seconds": round(seconds, 2),
            "children_peak_mb": round(_peak_mb(resource.RUSAGE_CHILDREN), 1),
        }
        print("backtest local 2", bt["local_2"], flush=True)
    if "bt-dask" not in skip:
        with dask_client(workers=2) as client:
            ex = DaskExecutor(client=client)
            seconds, dask_runs = _backtest(root, forces, areas, ex, args.origins, 4)
            bt["dask_2"] = {"seconds": round(seconds, 2), "worker_peak_mb": _worker_peaks(client),
                            "worker_cpu_s": _worker_cpu(client),
                            "report": ex.total().to_dict()}  # fmt: skip
        print("backtest dask 2", bt["dask_2"], flush=True)
        if serial_runs is not None:
            same = all(
                a.result.rows.equals(b.result.rows)
                for a, b in zip(serial_runs, dask_runs, strict=True)
            )
            bt["dask_identical_to_serial"] = same
            bt["serial_over_dask_2"] = round(bt["serial"]["seconds"] / bt["dask_2"]["seconds"], 2)
    if "local_2" in bt and "serial" in bt:
        bt["serial_over_local_2"] = round(bt["serial"]["seconds"] / bt["local_2"]["seconds"], 2)
    figures["backtest"] = bt
    args.out.write_text(json.dumps(figures, indent=1, default=str) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in figures.items() if k != "backtest"}, default=str))
    print(pd.DataFrame(bt.get("per_force", [])).to_string(index=False))


if __name__ == "__main__":
    main()
