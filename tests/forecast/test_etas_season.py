"""A background varying in time: simulated with a season (and a surge), recovered by the fit,
and carried into forecasts by the seasonal shape instead of a level held flat."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.simulate import ETASModel, SimulatedEvents, simulate_etas

CRS = "EPSG:27700"
AREA = shapely.Polygon([(0, 0), (12000, 0), (12000, 5000), (6000, 5000), (6000, 10000),
                        (0, 10000)])  # fmt: skip
START = 18_000.0  # 2019-04-14: the fits' cut-off two years on falls in the rising season
CUT = START + 730.0
SEASONAL = ETASModel(mu=6.0, theta=(0.5,), omega=0.2, sigma=70.0, hotspots=10,
                     season_amplitude=0.6)  # fmt: skip


def true_level(model: ETASModel, a: float, b: float) -> float:
    """The true background rate over [a, b) relative to its mean over the fit window."""
    mean = model.background_profile(np.linspace(a, b, 400)).mean()
    return float(mean / model.background_profile(np.linspace(CUT - 730.0, CUT, 4000)).mean())


@pytest.fixture(scope="module")
def seasonal() -> SimulatedEvents:
    return simulate_etas(SEASONAL, AREA, days=900.0, seed=5, crs=CRS, start=START)


@pytest.fixture(scope="module")
def fitted(seasonal: SimulatedEvents) -> ETASForecaster:
    return ETASForecaster().fit(seasonal.events, cutoff=CUT)


def test_the_simulated_background_follows_its_season_and_surge() -> None:
    model = ETASModel(mu=20.0, theta=(0.2,), omega=0.3, sigma=80.0, hotspots=5,
                      season_amplitude=0.5, surge_day=START + 500.0, surge_factor=2.0)  # fmt: skip
    sim = simulate_etas(model, AREA, days=730.0, seed=2, crs=CRS, start=START)
    t = sim.events.t[sim.parent < 0]
    edges = np.arange(START, START + 730.0 + 1e-9, 30.0)
    counts = np.histogram(t, edges)[0]
    expect = np.array(
        [model.mu * model.background_profile(np.linspace(a, a + 30.0, 300)).mean() * 30.0
         for a in edges[:-1]]
    )  # fmt: skip
    # Poisson counts of 300-1,200 a month: within 4 standard deviations each, 2 overall
    z = (counts - expect) / np.sqrt(expect)
    assert np.all(np.abs(z) < 4.0)
    assert abs(counts.sum() - expect.sum()) < 2.0 * np.sqrt(expect.sum())
    assert counts.max() / counts.min() > 3.0  # a season of 3x and a doubling: visible
    with pytest.raises(ValueError, match="season_amplitude"):
        ETASModel(season_amplitude=1.0)


def test_a_constant_background_draws_as_before() -> None:
    """Without a season or surge, the draws are those of the homogeneous simulator."""
    a = simulate_etas(ETASModel(mu=3.0, hotspots=4), AREA, days=60.0, seed=3, crs=CRS)
    b = simulate_etas(ETASModel(mu=3.0, hotspots=4, surge_factor=1.0, surge_day=20.0), AREA,
                      days=60.0, seed=3, crs=CRS)  # fmt: skip
    np.testing.assert_array_equal(a.events.t, b.events.t)
    np.testing.assert_array_equal(a.parent, b.parent)


def test_parameters_and_season_are_recovered(fitted: ETASForecaster) -> None:
    s = fitted.params_summary()
    assert s["converged"] and s["trustworthy"]
    assert s["branching_ratio"] == pytest.approx(0.5, rel=0.10)
    assert s["omega_per_day"] == pytest.approx(0.2, rel=0.10)
    assert s["sigma_m"] == pytest.approx(70.0, rel=0.10)
    # log(1 + 0.6 cos) has a first harmonic of about 0.64
    assert s["seasonal_amplitude"] == pytest.approx(0.64, abs=0.08)
    assert s["seasonal_peak_day_of_year"] == pytest.approx(SEASONAL.season_peak_day, abs=15.0)
    # the within-window level (30-day smoothing of the background weights) tracks g(t)
    days = fitted.window_start_ + np.arange(len(fitted.time_profile_)) + 0.5
    g = SEASONAL.background_profile(days)
    err = np.abs(fitted.time_profile_ / (g / g.mean()) - 1.0)
    assert np.median(err[60:-60]) < 0.10


def test_forecast_levels_follow_the_season(
    fitted: ETASForecaster, seasonal: SimulatedEvents
) -> None:
    flat = ETASForecaster(seasonal=False).fit(seasonal.events, cutoff=CUT)
    for offset in (0.0, 28.0, 56.0):
        a, b = CUT + offset, CUT + offset + 28.0
        truth = true_level(SEASONAL, a, b)
        assert fitted.background_level(a, b) / truth == pytest.approx(1.0, abs=0.15)
        assert flat.background_level(a, b) / truth < 0.75  # held flat: weeks behind a spring
        if offset > 0:  # re-levelled on the last 28 days, then moved along the season
            cond = fitted.conditioned_on(seasonal.events, until=a, relevel_days=28.0)
            assert cond.background_level(a, b) / truth == pytest.approx(1.0, abs=0.15)
            flat_cond = flat.conditioned_on(seasonal.events, until=a, relevel_days=28.0)
            assert flat_cond.background_level(a, b) / truth < 0.9


def test_no_season_is_found_in_a_steady_background() -> None:
    for seed in (5, 6):
        model = ETASModel(mu=4.0, theta=(0.3,), omega=0.2, sigma=70.0, hotspots=10)
        sim = simulate_etas(model, AREA, days=730.0, seed=seed, crs=CRS, start=START)
        fit = ETASForecaster(restarts=1).fit(sim.events, cutoff=CUT)
        assert not np.any(fit.season_)
        assert fit.background_level(CUT, CUT + 28.0) == fit.level_at_cutoff_


def test_the_season_is_saved_with_the_fit(fitted: ETASForecaster) -> None:
    meta, arrays = fitted.to_state()
    back = ETASForecaster.from_state(meta, arrays)
    np.testing.assert_allclose(back.season_, fitted.season_)
    assert back.background_level(CUT, CUT + 28.0) == pytest.approx(
        fitted.background_level(CUT, CUT + 28.0), rel=1e-12
    )
