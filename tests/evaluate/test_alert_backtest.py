"""Alert backtest: alerts replayed on simulated self-exciting data, scored against the truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.evaluate.alert_backtest import (
    AlertBacktestSpec,
    poisson_interval,
    run_alert_backtest,
)
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.box(525000, 175000, 533000, 183000)


def test_poisson_interval_is_the_exact_garwood_interval() -> None:
    from scipy.stats import poisson

    lo, hi = poisson_interval(10)
    # the defining property: P(X >= 10 | lo) = P(X <= 10 | hi) = 2.5%
    assert poisson.sf(9, lo) == pytest.approx(0.025, rel=1e-6)
    assert poisson.cdf(10, hi) == pytest.approx(0.025, rel=1e-6)
    assert poisson_interval(0) == (0.0, pytest.approx(-np.log(0.025)))


@pytest.fixture(scope="module")
def replay() -> dict:
    model = ETASModel(mu=8.0, theta=(0.5,), omega=0.3, sigma=80.0, hotspots=8, hotspot_sd=1200.0)
    events = simulate_etas(model, AREA, days=330.0, seed=9, crs=CRS).events
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    spec = AlertBacktestSpec(start=180.0, end=270.0, refit_days=45.0, history_days=180.0,
                             permutations=19)  # fmt: skip
    result = run_alert_backtest(events, grid, spec)
    return json.loads(json.dumps(result.to_dict()))


@pytest.mark.slow
def test_every_incident_is_scored_under_every_rule(replay: dict) -> None:
    n = replay["incidents"]
    assert n > 300
    for rule in ("issued", "model", "knox", "fixed"):
        assert replay["rules"][rule]["alerts"] == n
    fixed = replay["rules"]["fixed"]
    # a 400 m disc meets 12 to 16 cells of 250 m (fewer only at the area's edge)
    assert 10 * n <= fixed["cells_flagged"] <= 16 * n
    assert fixed["km2_days"] == pytest.approx(fixed["cells_flagged"] * 0.0625 * 14)
    assert len(replay["fits"]) == 2 and all(f["converged"] for f in replay["fits"])
    # the dense variant of the issued zone: the model's dense cell-days under a trusted fit, the
    # Knox zone under one that is not (here: every fit trusted, or none)
    dense, trusted = replay["rules"]["issued_dense"], [f["trustworthy"] for f in replay["fits"]]
    assert all(trusted) or not any(trusted)
    same = replay["rules"]["model_dense" if all(trusted) else "knox"]
    for key in ("alerts", "events_caught", "km2_days", "model_expected"):
        assert dense[key] == pytest.approx(same[key], rel=1e-12)


@pytest.mark.slow
def test_true_model_is_calibrated_and_beats_the_background(replay: dict) -> None:
    """The data come from the model the alert fits: observed / expected in its zones must be
    near 1, and the events right after an incident, close to it, exceed the background alone.

    Known bias, found by this test: near incidents the model under-predicts a little. It was
    about 1.15 when first found, 1.078 (bootstrap 1.030-1.125) before the background map was
    edge-corrected, 1.064 (1.016-1.111) since (the 400 m zone: 1.076 then 1.060; the kernel
    core 0.95, the dense zone 1.02): the edge correction took back only a fifth of it, the rest
    is not the map's edge. Other seeds of the same model give 0.990 (seed 3) and 1.108 (seed 4):
    realisations differ by more than the bootstrap over alerts says (the level's error is
    shared by all alerts). This test guards the size of the bias, not its absence."""
    model = replay["rules"]["model"]
    lo, hi = model["calibration_bootstrap_95"]
    assert lo < 1.1 and hi > 1.0
    assert 0.95 < model["calibration"] < 1.15
    assert model["lift_bootstrap_95"][0] > 1.0
    lift = np.array(replay["lift_by_distance_and_day"]["lift"], dtype=float)
    assert lift[0, 0] > 3.0  # 0-100 m, first 3 days: triggering at sigma = 80 m
    # 800-1000 m: no link to the incident, but lift is against the background alone, and half
    # of all events are triggered (by others): about 1 / (1 - 0.5) = 2
    assert np.nanmean(lift[-1]) == pytest.approx(2.0, abs=0.4)
    assert lift[0, 0] > 2 * np.nanmean(lift[-1])


def test_bad_periods_are_refused() -> None:
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    events = simulate_etas(ETASModel(mu=2.0, hotspots=3), AREA, days=60.0, seed=1, crs=CRS).events
    with pytest.raises(InputError, match="end after"):
        run_alert_backtest(events, grid, AlertBacktestSpec(start=50.0, end=40.0))
    with pytest.raises(InputError, match="no serious"):
        run_alert_backtest(events, grid, AlertBacktestSpec(start=500.0, end=600.0))
