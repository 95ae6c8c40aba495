"""ETAS with a histogram (nonparametric) triggering kernel, estimated by stochastic declustering.

Reference test: events simulated from a known exponential x Gaussian kernel; the histogram the
EM recovers must hold, bin by bin, the mass the true kernel puts in each time bin and ring.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from patrolcast.events import EventSet
from patrolcast.forecast._etas_histogram import HistogramKernel, ring_cell_mass
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.box(524000, 174000, 536000, 184000)
THETA, OMEGA, SIGMA = 0.5, 0.2, 70.0
TIME_EDGES = (0.0, 1.0, 3.0, 7.0, 14.0, 28.0)
SPACE_EDGES = (0.0, 50.0, 100.0, 200.0, 400.0)


def _true_masses() -> tuple[np.ndarray, np.ndarray]:
    t = np.array([*TIME_EDGES, 60.0])
    r = np.array([*SPACE_EDGES, 1000.0])
    time = np.exp(-OMEGA * t[:-1]) - np.exp(-OMEGA * t[1:])
    ring = np.exp(-(r[:-1] ** 2) / (2 * SIGMA**2)) - np.exp(-(r[1:] ** 2) / (2 * SIGMA**2))
    return time / time.sum(), ring / ring.sum()


@pytest.fixture(scope="module")
def events() -> EventSet:
    model = ETASModel(mu=8.0, theta=(THETA,), omega=OMEGA, sigma=SIGMA, hotspots=10,
                      hotspot_sd=1500.0)  # fmt: skip
    return simulate_etas(model, AREA, days=540.0, seed=11, crs=CRS).events


@pytest.fixture(scope="module")
def fitted(events: EventSet) -> ETASForecaster:
    return ETASForecaster(
        kernel="histogram", time_edges=TIME_EDGES, space_edges=SPACE_EDGES, history_days=None,
        restarts=1,
    ).fit(events, cutoff=float(events.t.max()) + 1e-6)  # fmt: skip


def test_histogram_recovers_the_true_kernels_mass(fitted: ETASForecaster) -> None:
    kern = fitted.kernel_
    assert kern is not None and fitted.converged_
    time, ring = _true_masses()
    assert kern.weights.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(kern.time_marginal, time, atol=0.03)
    np.testing.assert_allclose(kern.space_marginal, ring, atol=0.03)
    # the joint, bin by bin (the true kernel is separable)
    np.testing.assert_allclose(kern.weights, np.outer(time, ring), atol=0.03)
    assert fitted.branching_ratio_ == pytest.approx(THETA, rel=0.10)
    # its summaries: mean delay within the cut-off, an equivalent Gaussian scale
    true_delay = float(time @ ((np.array([*TIME_EDGES]) + np.array([*TIME_EDGES[1:], 60.0])) / 2))
    assert 1.0 / fitted.omega_ == pytest.approx(true_delay, rel=0.10)
    assert fitted.params_summary()["histogram"]["weights"][0][0] == pytest.approx(
        kern.weights[0, 0], abs=1e-6
    )


def test_engines_agree_on_the_histogram(events: EventSet) -> None:
    few = events.select(events.t < float(events.t.min()) + 90.0)
    kw = {"kernel": "histogram", "history_days": None, "restarts": 1, "max_iter": 30}
    cutoff = float(few.t.max()) + 1e-6
    a = ETASForecaster(engine="numba", **kw).fit(few, cutoff=cutoff)  # type: ignore[arg-type]
    b = ETASForecaster(engine="reference", **kw).fit(few, cutoff=cutoff)  # type: ignore[arg-type]
    assert a.kernel_ is not None and b.kernel_ is not None
    np.testing.assert_allclose(a.kernel_.weights, b.kernel_.weights, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.theta_, b.theta_, rtol=1e-9)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-10)


def test_histogram_forecast_spreads_offspring_over_the_rings(fitted: ETASForecaster) -> None:
    """The triggered term of one week equals, within the area, the history's offspring due in
    the week (theta x the kernel's time mass), and lies where the rings put it."""
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    start = fitted.cutoff_
    fc = fitted.predict(grid, start, start + 7.0)
    due = float(fitted.time_weights(start, start + 7.0).sum())
    n_bar = fitted.branching_ratio_
    # first generation plus its cascade, minus what falls outside the area (a little)
    assert due * 0.9 < fc.terms["triggered"].sum() < due / (1 - n_bar) * 1.5
    assert np.all(fc.expected_count >= 0)


def test_ring_cell_mass_sums_to_one_over_covering_cells() -> None:
    kern = HistogramKernel(np.array([0.0, 1.0]), np.array([0.0, 50.0, 120.0, 300.0]),
                           np.array([[0.2, 0.5, 0.3]]))  # fmt: skip
    c = np.arange(-400.0, 400.0, 50.0) + 25.0
    cx, cy = np.meshgrid(c, c)
    m = ring_cell_mass(kern, cx.ravel(), cy.ravel(), np.full(cx.size, 25.0), np.array([3.0]),
                       np.array([-7.0]), sub=20)  # fmt: skip
    np.testing.assert_allclose(m.sum(axis=0)[0], [1.0, 1.0, 1.0], atol=0.02)
    assert math.isclose(float(kern.density[0, 0]), 0.2 / (np.pi * 50.0**2), rel_tol=1e-12)


def test_bad_edges_are_refused() -> None:
    with pytest.raises(ValueError, match="start at 0"):
        ETASForecaster(kernel="histogram", time_edges=(1.0, 2.0))._validate_params()
    with pytest.raises(ValueError, match="cut-off"):
        ETASForecaster(kernel="histogram", space_edges=(0.0, 5000.0))._validate_params()
    with pytest.raises(ValueError, match="unknown kernel"):
        ETASForecaster(kernel="spline")._validate_params()


def test_alert_with_the_histogram_kernel_puts_its_time_bins_in_the_days(
    fitted: ETASForecaster,
) -> None:
    from patrolcast.forecast.alert import serious_assault_alert

    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    x, y = 530_010.0, 179_020.0  # mid-area: every ring inside it
    alert = serious_assault_alert(
        fitted, grid, x=x, y=y, t=fitted.cutoff_, days=14, min_ratio=0.0, max_cells=1000,
        force="model", top_events=0,
    )  # fmt: skip
    kern = fitted.kernel_
    assert kern is not None
    direct = np.sum([c.direct_by_day for c in alert.cells], axis=0)
    k = np.arange(14.0)
    due = fitted.theta_for(None) * (kern.time_fraction(k, k + 1.0) @ kern.time_marginal)
    np.testing.assert_allclose(direct, due, rtol=0.02)
    # the incident's own cell gets the inner ring's share of the first day, and more than any
    own = max(alert.cells, key=lambda c: c.direct_by_day[0])
    assert math.hypot(own.x - x, own.y - y) < 250.0


def test_a_stored_histogram_fit_forecasts_as_the_fit(
    fitted: ETASForecaster, tmp_path: Path
) -> None:
    from patrolcast.forecast.model_store import ModelStore

    store = ModelStore(tmp_path)
    key = "0123abcd"
    ev = EventSet.from_arrays(fitted.t_, fitted.x_, fitted.y_, crs=CRS)
    saved = store.save(key, fitted, window_events=ev, window_start=float(ev.t.min()), info={})
    back = store.load(saved.path).model
    assert back.kernel_ is not None and fitted.kernel_ is not None
    np.testing.assert_array_equal(back.kernel_.weights, fitted.kernel_.weights)
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    a = fitted.predict(grid, fitted.cutoff_, fitted.cutoff_ + 7.0)
    b = back.predict(grid, back.cutoff_, back.cutoff_ + 7.0)
    np.testing.assert_allclose(b.expected_count, a.expected_count, rtol=1e-12)
