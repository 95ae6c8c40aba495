"""One deployment against matched controls and its forecast, on small hand-made event sets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from scipy.stats import poisson

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.geo.support import Grid
from patrolcast.oversight.outcomes import (
    DeploymentArea,
    Window,
    estimate_effect,
    evaluate_deployment,
    expected_in_area,
    forecast_check,
    pool_outcomes,
)
from patrolcast.oversight.outcomes.outcome import match_controls

CRS = "EPSG:27700"


def test_estimate_effect_ratio_and_poisson_interval() -> None:
    # treated 20 before, controls 100 -> 50: mu = 20 * 50/100 = 10; observed 4
    e = estimate_effect(20, 4, 100, 50)
    assert e.expected == pytest.approx(10.0)
    assert e.difference == pytest.approx(-6.0)
    var = 10 + 100 * (1 / 20 + 1 / 100 + 1 / 50)  # = 18 > mu: negative binomial, n = 100/8
    n = 100 / (var - 10)
    from scipy.stats import nbinom

    dist = nbinom(n, n / (n + 10))
    assert e.low == pytest.approx(4 - dist.ppf(0.975))
    assert e.high == pytest.approx(4 - dist.ppf(0.025))
    assert e.log_rr == pytest.approx(math.log(4.5 / 10.5))


def test_forecast_check_poisson_quantiles() -> None:
    c = forecast_check(9, 4.0)
    assert (c.low, c.high) == (poisson.ppf(0.025, 4), poisson.ppf(0.975, 4))
    assert c.high == 8 and not c.within and c.difference == pytest.approx(5)
    assert forecast_check(8, 4.0).within


def test_match_controls_picks_nearest_in_level_and_trend() -> None:
    halves = np.array([[5, 5], [10, 10], [10, 2], [11, 9], [0, 0]], dtype=float)
    eligible = np.array([True, True, True, True, False])
    got = match_controls((10.0, 10.0), halves, eligible, 2)
    assert list(got) == [1, 3]
    with pytest.raises(InputError):
        match_controls((1.0, 1.0), halves, np.zeros(5, bool), 1)


def _events_on_grid(rate: np.ndarray, grid: Grid, days: int, rng: np.random.Generator,
                    cut: tuple[int, float, float] | None = None) -> EventSet:
    """Poisson events per cell per day at ``rate``; ``cut`` = (cell, t0, t1) drops them all."""
    t, x, y = [], [], []
    cx, cy = grid.centroids[:, 0], grid.centroids[:, 1]
    for cell, r in enumerate(rate):
        n = rng.poisson(r * days)
        tt = rng.uniform(0, days, n)
        if cut is not None and cell == cut[0]:
            tt = tt[(tt < cut[1]) | (tt >= cut[2])]
        t.append(tt)
        x.append(cx[cell] + rng.uniform(-100, 100, tt.size))
        y.append(cy[cell] + rng.uniform(-100, 100, tt.size))
    return EventSet.from_arrays(np.concatenate(t), np.concatenate(x), np.concatenate(y), crs=CRS)


def test_evaluate_deployment_finds_a_total_removal() -> None:
    rng = np.random.default_rng(7)
    grid = Grid.covering(0, 0, 5000, 5000, cell_size=250, crs=CRS)  # 20 x 20 cells
    rate = rng.gamma(2.0, 0.25, grid.n_units)  # 0.5 a day on average
    centre = int(grid.assign([2625], [2625])[0])
    rate[centre] = 2.0
    days = 300
    start, end = 250.0, 278.0
    events = _events_on_grid(rate, grid, days, rng, cut=(centre, start, end))
    treated = grid.cell_polygons()[centre]
    dep = DeploymentArea("d1", treated, start, end, CRS, buffer_m=250, forecast_expected=56.0)
    out = evaluate_deployment(events, dep, grid, pre_days=182, residual_days=7)
    assert out.during.observed == 0
    assert out.during.high < 0 and out.during.significant
    assert out.during.expected == pytest.approx(2.0 * 28, rel=0.35)
    assert out.residual.low <= 0 <= out.residual.high  # nothing removed after the window
    assert out.forecast is not None and not out.forecast.within
    # no control touches the treated cell or its 250 m buffer
    near = {grid.unit_ids[i] for i in np.flatnonzero(
        shapely.intersects(grid.cell_polygons(), dep.footprint))}
    assert not near & set(out.control_ids)
    assert len(out.control_ids) == 10
    json_ready = out.as_dict()
    assert json_ready["during"]["observed"] == 0


def test_placebo_is_not_significant_and_pooling_runs() -> None:
    rng = np.random.default_rng(11)
    grid = Grid.covering(0, 0, 5000, 5000, cell_size=250, crs=CRS)
    rate = np.full(grid.n_units, 0.3)
    events = _events_on_grid(rate, grid, 300, rng)
    outs = []
    for k, cell in enumerate([45, 210, 333]):
        dep = DeploymentArea(f"p{k}", grid.cell_polygons()[cell], 250.0, 278.0, CRS,
                             buffer_m=250)
        outs.append(evaluate_deployment(events, dep, grid))
    assert sum(o.during.significant for o in outs) <= 1
    pooled = pool_outcomes(outs)
    assert pooled.k == 3 and pooled.low < 0 < pooled.high


def test_refuses_mixed_crs() -> None:
    grid = Grid.covering(0, 0, 1000, 1000, cell_size=250, crs="EPSG:32616")
    ev = EventSet.from_arrays([1.0], [10.0], [10.0], crs=CRS)
    dep = DeploymentArea("x", shapely.box(0, 0, 250, 250), 200, 201, CRS)
    with pytest.raises(InputError):
        evaluate_deployment(ev, dep, grid)


def test_harm_measure_scales_with_the_weights() -> None:
    rng = np.random.default_rng(5)
    grid = Grid.covering(0, 0, 5000, 5000, cell_size=250, crs=CRS)
    rate = rng.gamma(2.0, 0.25, grid.n_units)
    ev = _events_on_grid(rate, grid, 300, rng)
    doubled = EventSet.from_arrays(ev.t, ev.x, ev.y, crs=CRS, harm=np.full(len(ev), 2.0))
    dep = DeploymentArea("h", grid.cell_polygons()[210], 250.0, 278.0, CRS, buffer_m=250)
    by_count = evaluate_deployment(doubled, dep, grid)
    by_harm = evaluate_deployment(doubled, dep, grid, measure="harm")
    assert by_harm.during.expected == pytest.approx(2 * by_count.during.expected)
    assert by_harm.during.difference == pytest.approx(2 * by_count.during.difference)
    # phi = E[w²]/E[w] = 2: the harm interval is the count interval in harm units
    assert by_harm.during.low == pytest.approx(2 * by_count.during.low)
    assert by_harm.during.high == pytest.approx(2 * by_count.during.high)


def test_silent_controls_still_leave_doubt() -> None:
    # controls with no events in a two-hour window count as half an event: mu = 20 * 0.5/100
    e = estimate_effect(20, 0, 100, 0, length_ratio=2 / (365 * 24))
    assert e.expected == pytest.approx(0.1) and e.se > 0 and e.log_rr_se > 0
    assert e.low <= 0 <= e.high and not e.significant
    # one event where 0.1 were expected is unusual, but not impossible (p well above 0)
    one = estimate_effect(20, 1, 100, 0, length_ratio=2 / (365 * 24))
    assert 0 < one.p_value < 0.5


def test_expected_in_area_from_a_forecast() -> None:
    from patrolcast.forecast.base import Forecast

    grid = Grid.covering(0, 0, 999, 999, cell_size=500, crs=CRS)  # four 500 m cells
    fc = Forecast("naive", {}, grid.unit_ids, 0.0, 7.0, np.array([7.0, 14.0, 0.0, 28.0]),
                  np.zeros(4))
    # half of cell 0 (x 250-500, y 0-500) and all of cell 1 (x 500-1000, y 0-500)
    area = shapely.box(250, 0, 1000, 500)
    assert expected_in_area(fc, grid, area) == pytest.approx(0.5 * 7 + 14)
    # a one-day deployment in a seven-day forecast window
    assert expected_in_area(fc, grid, area, Window(0.0, 1.0)) == pytest.approx(17.5 / 7)
