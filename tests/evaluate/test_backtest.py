"""Backtests on synthetic data with a known better method; executors agree; report files."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from patrolcast.errors import InputError
from patrolcast.evaluate.backtest import run_backtest
from patrolcast.evaluate.bootstrap import paired_differences, summarise
from patrolcast.evaluate.executors import LocalProcessExecutor, SerialExecutor, make_executor
from patrolcast.evaluate.report import load_json, markdown_table, write_report
from patrolcast.evaluate.splitters import RollingOrigin, parse_period
from patrolcast.events import EventSet
from patrolcast.geo.support import Grid
from tests.evaluate.synthetic import (
    CRS,
    CountsForecaster,
    FlatForecaster,
    grid,
    hotspot_events,
)


def _run(executor=None):  # type: ignore[no-untyped-def]
    split = RollingOrigin(horizon=parse_period("7d"), n_origins=12, lookback=parse_period("56d"))
    return run_backtest(
        hotspot_events(),
        grid(),
        {"counts": CountsForecaster(days=28.0), "flat": FlatForecaster()},
        split,
        executor=executor,
        protocol="area",  # every cell scored: the flat method's hit rate is the area share
    )


def test_known_better_method_wins_on_the_same_origins() -> None:
    result = _run()
    rows = result.rows
    assert result.n_origins == 12
    # Same origins for both methods, four fractions each.
    per_method = rows.groupby("method")["origin_days"].apply(lambda s: tuple(sorted(set(s))))
    assert per_method["counts"] == per_method["flat"]
    assert len(rows) == 12 * 2 * 4
    summary = summarise(result, n_boot=500)
    at10 = summary[summary["fraction"] == 0.10].set_index("method")
    # 2 hot cells of 64 hold 80% of events: 10% of area (6.4 cells) covers both hot cells.
    assert at10.loc["counts", "hit_rate"] > 0.8
    assert at10.loc["counts", "hit_rate_lo"] > at10.loc["flat", "hit_rate_hi"]
    # Flat ranks all cells equal: its hit rate is the area share on average.
    assert at10.loc["flat", "hit_rate"] == pytest.approx(0.10, abs=1e-9)
    assert at10.loc["counts", "pai"] > 8
    assert (rows["pei_star"].dropna() <= 1 + 1e-9).all()
    diffs = paired_differences(result, "flat", n_boot=500)
    assert (diffs["diff_lo"] > 0).all()
    # Stationary hotspots: the counts method flags the same cells origin after origin.
    counts10 = rows[(rows["method"] == "counts") & (rows["fraction"] == 0.10)]
    assert counts10["overlap_next"].iloc[:-1].mean() > 0.5
    assert math.isnan(counts10["overlap_next"].iloc[-1])
    assert counts10["rri"].iloc[:-1].between(0.5, 2.0).all()


def test_process_executor_gives_identical_results() -> None:
    serial = _run(SerialExecutor())
    local = _run(LocalProcessExecutor(max_workers=2))
    pd.testing.assert_frame_equal(serial.rows, local.rows)
    pd.testing.assert_frame_equal(serial.reliability, local.reliability)


def test_executor_names() -> None:
    assert isinstance(make_executor("serial"), SerialExecutor)
    assert isinstance(make_executor("local", 2), LocalProcessExecutor)
    with pytest.raises(InputError, match="unknown executor"):
        make_executor("ray")


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    result = _run()
    a = summarise(result, n_boot=300, seed=7)
    b = summarise(result, n_boot=300, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert (a["hit_rate_lo"] <= a["hit_rate"] + 1e-12).all()
    assert (a["hit_rate"] <= a["hit_rate_hi"] + 1e-12).all()


def test_report_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _run()
    paths = write_report(result, tmp_path, name="bt", title="synthetic", n_boot=200)
    payload = json.loads(paths["json"].read_text())
    assert set(payload["methods"]) == {"counts", "flat"}
    cell = payload["methods"]["counts"]["hit_rate"]["0.1"]
    assert cell["ci_low"] <= cell["mean"] <= cell["ci_high"]
    assert set(payload["methods"]["flat"]["pai"]) == {"0.01", "0.05", "0.1", "0.2"}
    back = load_json(paths["json"])
    pd.testing.assert_frame_equal(
        summarise(back, n_boot=200), summarise(result, n_boot=200), check_dtype=False
    )
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| counts | 10% |" in paths["md"].read_text()
    assert markdown_table(summarise(result, n_boot=50)).count("\n") == 2 + 8 - 1


def test_load_json_rejects_other_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "x.json"
    bad.write_text("{\"a\": 1}")
    with pytest.raises(InputError, match="not a patrolcast backtest"):
        load_json(bad)
    with pytest.raises(InputError, match="does not exist"):
        load_json(tmp_path / "missing.json")


def test_calibration_recorded_per_origin() -> None:
    result = _run()
    dev = result.rows.drop_duplicates(["origin_days", "method"]).set_index(
        ["origin_days", "method"])["poisson_deviance"]
    assert np.isfinite(dev).all()
    rel = result.reliability
    assert set(rel["method"]) == {"counts", "flat"}
    assert rel.groupby(["origin_days", "method"])["n_units"].sum().eq(64).all()


def test_each_fold_trains_only_on_its_window() -> None:
    from tests.evaluate.synthetic import SpyForecaster

    split = RollingOrigin(horizon=parse_period("7d"), n_origins=6, lookback=parse_period("56d"))
    result = run_backtest(hotspot_events(), grid(), {"spy": SpyForecaster(window=56.0)}, split)
    assert result.n_origins == 6
    with pytest.raises(AssertionError, match="outside"):
        run_backtest(hotspot_events(), grid(), {"spy": SpyForecaster(window=30.0)}, split)


def test_default_scoring_is_the_study_mask_not_the_extent() -> None:
    """Empty land added to the support changes nothing by default; it flatters ``area``."""
    events = hotspot_events()
    split = RollingOrigin(horizon=parse_period("7d"), n_origins=6)
    small = grid()  # the 2 km square the events are in
    big = Grid.covering(0, 0, 3999.9, 3999.9, cell_size=250.0, crs=CRS)  # 3/4 empty land
    methods = {"counts": CountsForecaster(days=28.0)}

    def hit(support: Grid, **kw: str) -> float:
        res = run_backtest(events, support, methods, split, fractions=(0.01,), **kw)
        return float(res.rows["hit_rate"].mean())

    on_small = run_backtest(events, small, methods, split, fractions=(0.01,))
    assert on_small.meta["protocol"] == "mask"
    # the masked cells are the same in both supports (the empty ones never held an event)
    assert hit(big) == pytest.approx(float(on_small.rows["hit_rate"].mean()), abs=0.02)
    # scoring every unit, 1% of the big square is 4x the cells: both hot cells are caught
    assert hit(big, protocol="area") > hit(big) + 0.3


def test_default_mask_counts_events_in_cells_never_seen() -> None:
    events = hotspot_events()
    split = RollingOrigin(horizon=parse_period("7d"), n_origins=3)
    first = split.folds(float(events.t.min()), float(events.t.max()))[0].origin
    # an event far from every earlier one, in a cell that held none, inside the first window
    order = np.argsort(np.append(events.t, first + 1.0), kind="stable")
    both = EventSet.from_arrays(
        np.append(events.t, first + 1.0)[order],
        np.append(events.x, 3900.0)[order],
        np.append(events.y, 3900.0)[order],
        crs=CRS,
    )
    big = Grid.covering(0, 0, 3999.9, 3999.9, cell_size=250.0, crs=CRS)
    res = run_backtest(both, big, {"counts": CountsForecaster()}, split)
    assert res.meta["n_events_outside_mask"] == pytest.approx(1.0)
    area = run_backtest(both, big, {"counts": CountsForecaster()}, split, protocol="area")
    assert area.meta["n_events_outside_mask"] == 0.0
