"""The Dask executor on a real LocalCluster: order, identical backtests, retries, lost workers."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from patrolcast.evaluate.backtest import run_backtest
from patrolcast.evaluate.distributed import DaskExecutor
from patrolcast.evaluate.executors import SerialExecutor, make_executor
from patrolcast.evaluate.splitters import RollingOrigin, parse_period
from patrolcast.forecast.registry import make_forecaster
from tests.evaluate.synthetic import grid, hotspot_events

# The helpers below travel to the workers by value (the workers need not import the tests).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _slow_square(x: int) -> int:
    time.sleep(0.4)
    return x * x


def _fails_once(arg: tuple[str, int]) -> int:
    """Raises the first time it runs for an item (a marker file remembers), then succeeds."""
    folder, x = arg
    marker = Path(folder) / f"tried-{x}"
    if not marker.exists():
        marker.write_text("1")
        raise RuntimeError(f"transient failure on {x}")
    return x + 100


def _always_fails(x: int) -> int:
    raise ValueError(f"bad item {x}")


def test_results_come_in_item_order(client: Any) -> None:
    ex = DaskExecutor(client=client)
    items = [5, 3, 9, 1, 7]
    assert list(ex.map(_slow_square, items)) == [25, 9, 81, 1, 49]
    assert ex.report.tasks == 5 and ex.report.errors == []


def test_backtest_on_dask_is_identical_to_serial(client: Any) -> None:
    events = hotspot_events(seed=3, days=160)
    methods = {
        "naive-365": make_forecaster("naive-365", horizon_days=7),
        "kde": make_forecaster("kde", horizon_days=7),
        "prospective": make_forecaster("prospective", horizon_days=7),
    }
    splitter = RollingOrigin(horizon=parse_period("7d"), n_origins=6)
    serial = run_backtest(events, grid(), methods, splitter, executor=SerialExecutor())
    dask = run_backtest(events, grid(), methods, splitter, executor=DaskExecutor(client=client))
    pd.testing.assert_frame_equal(serial.rows, dask.rows)
    pd.testing.assert_frame_equal(serial.reliability, dask.reliability)
    assert serial.meta == dask.meta


def test_a_task_that_fails_once_is_retried_and_reported(client: Any, tmp_path: Path) -> None:
    logs: list[str] = []
    ex = DaskExecutor(client=client, retries=1, log=logs.append)
    out = list(ex.map(_fails_once, [(str(tmp_path), i) for i in range(3)]))
    assert out == [100, 101, 102]
    assert ex.report.retried_after_error == 3
    assert any("retries after an error" in line for line in logs)


def test_a_task_that_keeps_failing_raises_and_is_reported(client: Any) -> None:
    ex = DaskExecutor(client=client, retries=1)
    with pytest.raises(ValueError, match="bad item 0"):
        list(ex.map(_always_fails, [0, 1]))
    assert ex.report.errors and "bad item 0" in ex.report.errors[0]


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(client: Any) -> None:
    items = list(range(12))
    ex = DaskExecutor(client=client, retries=0)
    results = ex.map(_slow_square, items)
    first = next(results)  # the cluster is busy with the rest now
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        busy = [addr for addr, keys in client.processing().items() if keys]
        if busy:
            victim = busy[0]
        else:
            time.sleep(0.05)
    assert victim is not None, "no worker was running a task"
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)  # the nanny restarts the process; its tasks run elsewhere
    rest = list(results)
    assert [first, *rest] == [x * x for x in items]  # each result once, in order
    assert ex.report.rerun_after_worker_loss >= 1
    client.wait_for_workers(2, timeout=60)


def test_make_executor_knows_dask() -> None:
    ex = make_executor("dask", 2)
    assert isinstance(ex, DaskExecutor) and ex.workers == 2


def test_a_local_cluster_is_started_and_closed_per_map() -> None:
    logs: list[str] = []
    ex = DaskExecutor(workers=1, log=logs.append)
    assert list(ex.map(_slow_square, [2, 3])) == [4, 9]
    assert logs and "dashboard" in logs[0] and "127.0.0.1" in logs[0]
    assert np.isfinite(len(ex.report.dashboard))
