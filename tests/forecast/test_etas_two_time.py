"""ETAS with two exponential time scales (``time_scales=2``): the mixture E-step against its
plain numpy reference and against the one-scale kernel, engines agreeing on a fit, saving and
reading back, the trust rules, and parameter recovery on data simulated from the two-scale
model (slow set)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.events import EventSet
from patrolcast.forecast._etas_kernels import (
    estep_dense_mix,
    estep_pairs,
    estep_pairs_mix,
    space_time_pairs,
)
from patrolcast.forecast.etas import MIN_SHORT_SHARE, ETASForecaster
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.Polygon(
    [(520000, 170000), (532000, 170000), (532000, 175000), (526000, 175000),
     (526000, 180000), (520000, 180000)]
)  # fmt: skip
TWO = {"time_scales": 2, "max_days": 180.0, "max_long_delay": 120.0}


def _small(seed: int, n: int = 600) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (np.sort(rng.uniform(0, 200, n)), rng.uniform(0, 3000, n), rng.uniform(0, 3000, n))


def test_mixture_estep_numba_equals_dense_reference() -> None:
    t, x, y = _small(1)
    marks = np.random.default_rng(2).integers(0, 2, t.size)
    theta = np.array([0.3, 0.6])
    mu = np.random.default_rng(3).uniform(1e-8, 1e-7, t.size)
    parent, child = space_time_pairs(t, x, y, max_days=60.0, max_distance=400.0)
    om, tw = np.array([0.25, 0.02]), np.array([0.6, 0.4])
    sig, w = np.array([40.0, 160.0]), np.array([0.3, 0.7])
    fast = estep_pairs_mix(parent, child, t, x, y, marks, theta, om, tw, sig, mu, w)
    slow = estep_dense_mix(
        t, x, y, marks, theta, om, tw, sig, mu, w, max_days=60.0, max_distance=400.0, block=97
    )
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10)
    # the components' masses add up to the triggered mass, per time and per space split
    assert fast[2].sum() == pytest.approx(fast[1].sum(), rel=1e-12)
    assert fast[4].sum() == pytest.approx(fast[1].sum(), rel=1e-12)
    assert fast[1].sum() == pytest.approx(t.size - fast[0].sum(), rel=1e-10)


def test_mixture_estep_with_one_live_time_scale_is_the_one_scale_estep() -> None:
    t, x, y = _small(5)
    marks = np.zeros(t.size, dtype=np.int64)
    theta = np.array([0.4])
    mu = np.random.default_rng(6).uniform(1e-8, 1e-7, t.size)
    parent, child = space_time_pairs(t, x, y, max_days=60.0, max_distance=400.0)
    sig, w = np.array([40.0, 160.0]), np.array([0.3, 0.7])
    one = estep_pairs(parent, child, t, x, y, marks, theta, 0.2, sig, mu, w)
    mix = estep_pairs_mix(
        parent, child, t, x, y, marks, theta, np.array([0.2, 0.01]), np.array([1.0, 0.0]),
        sig, mu, w,
    )  # fmt: skip
    p_bg, s_mark, s_dt, s_scale, s_d2, ll = one
    np.testing.assert_allclose(mix[0], p_bg, rtol=1e-12)
    np.testing.assert_allclose(mix[1], s_mark, rtol=1e-12)
    np.testing.assert_allclose(mix[2], [s_mark.sum(), 0.0], rtol=1e-12, atol=1e-300)
    assert mix[3][0] == pytest.approx(s_dt, rel=1e-12) and mix[3][1] == 0.0
    np.testing.assert_allclose(mix[4], s_scale, rtol=1e-12)
    np.testing.assert_allclose(mix[5], s_d2, rtol=1e-12)
    assert mix[6] == pytest.approx(ll, rel=1e-12)


def _two_scale_sim(days: float, mu: float, seed: int, long_share: float = 0.4):  # type: ignore[no-untyped-def]
    model = ETASModel(mu=mu, theta=(0.5,), omega=0.2, sigma=70.0, hotspots=15,
                      hotspot_sd=1500.0, omega_long=1.0 / 60.0, long_share=long_share)  # fmt: skip
    return model, simulate_etas(model, AREA, days=days, seed=seed, crs=CRS)


def test_fit_engines_agree_and_state_round_trips() -> None:
    model, sim = _two_scale_sim(150.0, 3.0, 4)
    kw = dict(history_days=None, max_distance=600.0, restarts=1, max_iter=30, **TWO)
    fast = ETASForecaster(**kw).fit(sim.events, cutoff=150.0)  # type: ignore[arg-type]
    slow = ETASForecaster(engine="reference", **kw).fit(sim.events, cutoff=150.0)  # type: ignore[arg-type]
    np.testing.assert_allclose(fast.theta_, slow.theta_, rtol=1e-8)
    np.testing.assert_allclose(fast.omegas_, slow.omegas_, rtol=1e-8)
    np.testing.assert_allclose(fast.time_mix_, slow.time_mix_, rtol=1e-8)
    assert fast.sigma_ == pytest.approx(slow.sigma_, rel=1e-8)
    # the bounds hold: short scale at most 30 days, long one 30-120 days
    assert 1 / fast.omegas_[0] <= 30.0 + 1e-9 <= 1 / fast.omegas_[1] <= 120.0 + 1e-9
    assert fast.omega_ == pytest.approx(1.0 / float(np.sum(fast.time_mix_ / fast.omegas_)))
    # saved and read back: same kernel, same forecast
    back = ETASForecaster.from_state(*fast.to_state())
    np.testing.assert_allclose(back.omegas_, fast.omegas_, rtol=0)
    np.testing.assert_allclose(back.time_mix_, fast.time_mix_, rtol=0)
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=500.0, crs=CRS)
    a = fast.predict(grid, 150.0, 164.0).expected_count
    b = back.predict(grid, 150.0, 164.0).expected_count
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert back.params_summary()["mean_trigger_delays_days"] == pytest.approx(
        [1 / v for v in fast.omegas_]
    )


def test_time_share_is_the_mixture_of_exponentials() -> None:
    model, sim = _two_scale_sim(120.0, 3.0, 8)
    fit = ETASForecaster(history_days=None, restarts=1, max_iter=5, **TWO).fit(
        sim.events, cutoff=120.0
    )
    fit.omegas_, fit.time_mix_ = np.array([0.5, 0.02]), np.array([0.7, 0.3])
    a, b = np.array([0.0, 2.0, 10.0]), np.array([1.0, 5.0, 10.0])
    want = 0.7 * (np.exp(-0.5 * a) - np.exp(-0.5 * b)) + 0.3 * (np.exp(-0.02 * a)
                                                                - np.exp(-0.02 * b))  # fmt: skip
    want[2] = 0.0
    np.testing.assert_allclose(fit.time_share(a, b), want, rtol=1e-12)
    # the density integrates to the shares (midpoint rule on a fine grid)
    lag = np.linspace(0.0, 5.0, 50_001)
    dens = fit.time_density((lag[1:] + lag[:-1]) / 2) * np.diff(lag)
    assert dens.sum() == pytest.approx(float(fit.time_share(np.zeros(1), np.full(1, 5.0))[0]),
                                       rel=1e-6)  # fmt: skip


def test_trust_rules_for_two_time_scales() -> None:
    model, sim = _two_scale_sim(120.0, 3.0, 9)
    fit = ETASForecaster(history_days=None, restarts=1, max_iter=5, **TWO).fit(
        sim.events, cutoff=120.0
    )
    n = fit.n_fit_events_
    fit.converged_ = True
    fit.sigmas_ = np.array([70.0])
    fit.branching_ratio_ = 0.3
    fit.runs_ = []
    fit.omegas_, fit.time_mix_ = np.array([0.2, 1 / 120.0]), np.array([0.6, 0.4])
    assert fit._assess(n) == []  # the long scale at its own bound is not a flag
    fit.omegas_ = np.array([1 / 30.0, 1 / 60.0])  # short scale at its 30-day bound
    assert any("short scale's mean delay at its bound" in r for r in fit._assess(n))
    fit.omegas_, fit.time_mix_ = np.array([0.2, 1 / 60.0]), np.array([MIN_SHORT_SHARE / 2, 0.95])
    assert any("short time scale holds" in r for r in fit._assess(n))


def test_two_time_scales_need_compatible_settings() -> None:
    ev = EventSet.from_arrays(*_small(3), crs=CRS)
    with pytest.raises(ValueError, match="max_long_delay"):
        ETASForecaster(time_scales=2, max_long_delay=20.0).fit(ev, cutoff=200.0)
    with pytest.raises(ValueError, match="gaussian"):
        ETASForecaster(time_scales=2, kernel="histogram").fit(ev, cutoff=200.0)
    with pytest.raises(ValueError, match="time_scales"):
        ETASForecaster(time_scales=3).fit(ev, cutoff=200.0)
    with pytest.raises(ValueError, match="truncates the long scale"):  # default max_days 60
        ETASForecaster(time_scales=2).fit(ev, cutoff=200.0)
    ETASForecaster(time_scales=2, max_days=120.0, max_iter=2, restarts=1).fit(ev, cutoff=200.0)


# the alert's two-time-scale settings (forecast.alert.TWO_TIME_SCALES): a 120-day leave-out and
# a smoother background, without which the long scale's clusters are partly read as background
VARIANT = {**TWO, "background_gap_days": 120.0, "neighbours": 30}


@pytest.mark.slow
def test_parameter_recovery_two_time_scales_within_10_percent() -> None:
    """Two years (about 7,500 events) of the two-scale model: 60% of offspring after a 5-day
    mean delay, 40% after a 60-day one; theta 0.5, sigma 70 m; fitted with the alert's settings."""
    from patrolcast.forecast.alert import TWO_TIME_SCALES

    assert TWO_TIME_SCALES == VARIANT
    model, sim = _two_scale_sim(730.0, 5.5, 21)
    assert len(sim.events) >= 6_000
    fit = ETASForecaster(history_days=None, max_distance=500.0, **VARIANT).fit(
        sim.events, cutoff=730.0
    )
    assert fit.converged_
    assert fit.branching_ratio_ == pytest.approx(0.5, rel=0.10)
    assert fit.omegas_[0] == pytest.approx(0.2, rel=0.10)
    assert fit.omegas_[1] == pytest.approx(1 / 60.0, rel=0.10)
    assert fit.time_mix_[1] == pytest.approx(0.4, rel=0.10)
    assert fit.sigma_ == pytest.approx(70.0, rel=0.10)
    assert fit.trustworthy_


@pytest.mark.slow
def test_two_time_scale_fit_on_one_scale_data_finds_no_long_scale() -> None:
    """The one-scale model's data (5-day delay) fitted with two time scales: theta and the
    short delay still recovered within 10%, and the long scale holds little of the kernel."""
    model, sim = _two_scale_sim(730.0, 5.5, 22, long_share=0.0)
    fit = ETASForecaster(history_days=None, max_distance=500.0, **VARIANT).fit(
        sim.events, cutoff=730.0
    )
    assert fit.branching_ratio_ == pytest.approx(0.5, rel=0.10)
    assert fit.omegas_[0] == pytest.approx(0.2, rel=0.10)
    assert fit.time_mix_[1] < 0.05
