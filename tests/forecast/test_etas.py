"""ETAS: indexed numba E-step against the quadratic numpy reference; parameter recovery."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.events import EventSet
from patrolcast.forecast._etas_kernels import (
    estep_dense,
    estep_pairs,
    space_time_pairs,
    space_time_pairs_dense,
)
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
# a 12 km x 10 km L-shaped study area in British National Grid
AREA = shapely.Polygon(
    [
        (520000, 170000),
        (532000, 170000),
        (532000, 175000),
        (526000, 175000),
        (526000, 180000),
        (520000, 180000),
    ]
)


def _small(seed: int = 0, n: int = 600) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 100, n))
    x = rng.uniform(0, 3000, n)
    y = rng.uniform(0, 3000, n)
    return t, x, y


def test_pair_index_equals_all_pairs() -> None:
    t, x, y = _small()
    p1, c1 = space_time_pairs(t, x, y, max_days=10.0, max_distance=400.0)
    p2, c2 = space_time_pairs_dense(t, x, y, max_days=10.0, max_distance=400.0)
    assert p1.size == p2.size > 0
    assert set(zip(p1.tolist(), c1.tolist(), strict=True)) == set(
        zip(p2.tolist(), c2.tolist(), strict=True)
    )


def test_estep_numba_equals_dense_reference() -> None:
    t, x, y = _small(1)
    marks = np.random.default_rng(2).integers(0, 2, t.size)
    theta = np.array([0.3, 0.6])
    mu = np.random.default_rng(3).uniform(1e-8, 1e-7, t.size)
    parent, child = space_time_pairs(t, x, y, max_days=10.0, max_distance=400.0)
    fast = estep_pairs(parent, child, t, x, y, marks, theta, 0.2, 90.0, mu)
    slow = estep_dense(
        t, x, y, marks, theta, 0.2, 90.0, mu, max_days=10.0, max_distance=400.0, block=97
    )
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10)
    # a mixture of two scales: same agreement, and one scale of weight 1 is the plain kernel
    sig, w = np.array([40.0, 160.0]), np.array([0.3, 0.7])
    fast2 = estep_pairs(parent, child, t, x, y, marks, theta, 0.2, sig, mu, w)
    slow2 = estep_dense(
        t, x, y, marks, theta, 0.2, sig, mu, max_days=10.0, max_distance=400.0, weights=w
    )
    for a, b in zip(fast2, slow2, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10)
    one = estep_pairs(parent, child, t, x, y, marks, theta, 0.2, np.array([90.0, 300.0]), mu,
                      np.array([1.0, 0.0]))  # fmt: skip
    np.testing.assert_allclose(one[0], fast[0], rtol=1e-12)


def test_fit_engines_agree_on_simulated_data() -> None:
    model = ETASModel(
        mu=3.0,
        theta=(0.4, 0.7),
        mark_probs=(0.7, 0.3),
        omega=0.25,
        sigma=80.0,
        hotspots=6,
        hotspot_sd=1000.0,
    )
    sim = simulate_etas(model, AREA, days=200, seed=4, crs=CRS)
    kw = dict(history_days=None, marked=True, max_distance=600.0, max_days=40.0, restarts=1)
    fast = ETASForecaster(**kw).fit(sim.events, cutoff=200.0)  # type: ignore[arg-type]
    slow = ETASForecaster(engine="reference", **kw).fit(sim.events, cutoff=200.0)  # type: ignore[arg-type]
    np.testing.assert_allclose(fast.theta_, slow.theta_, rtol=1e-8)
    assert fast.omega_ == pytest.approx(slow.omega_, rel=1e-8)
    assert fast.sigma_ == pytest.approx(slow.sigma_, rel=1e-8)
    assert fast.n_iter_ == slow.n_iter_


def _recovery(days: float, mu: float, seed: int) -> tuple[ETASForecaster, ETASModel, int]:
    model = ETASModel(mu=mu, theta=(0.5,), omega=0.2, sigma=70.0, hotspots=15, hotspot_sd=1500.0)
    sim = simulate_etas(model, AREA, days=days, seed=seed, crs=CRS)
    fit = ETASForecaster(history_days=None, max_days=40.0, max_distance=500.0)
    return fit.fit(sim.events, cutoff=days), model, len(sim.events)


def test_parameter_recovery_fast() -> None:
    """Small version (about 4,000 events) of the recovery test, with a looser 15% tolerance."""
    fit, model, n = _recovery(days=365, mu=5.5, seed=11)
    assert n > 3000
    assert fit.branching_ratio_ == pytest.approx(model.branching_ratio, rel=0.15)
    assert fit.omega_ == pytest.approx(model.omega, rel=0.15)
    assert fit.sigma_ == pytest.approx(model.sigma, rel=0.15)


def test_parameter_recovery_20k_events_within_10_percent() -> None:
    fit, model, n = _recovery(days=1095, mu=9.5, seed=12)
    assert n >= 20_000
    assert fit.branching_ratio_ == pytest.approx(model.branching_ratio, rel=0.10)
    assert fit.omega_ == pytest.approx(model.omega, rel=0.10)
    assert fit.sigma_ == pytest.approx(model.sigma, rel=0.10)


def test_marked_branching_ratios_are_ordered() -> None:
    model = ETASModel(
        mu=6.0,
        theta=(0.3, 0.9),
        mark_probs=(0.8, 0.2),
        omega=0.2,
        sigma=70.0,
        hotspots=15,
        hotspot_sd=1500.0,
    )
    sim = simulate_etas(model, AREA, days=365, seed=21, crs=CRS)
    fit = ETASForecaster(history_days=None, marked=True, max_days=40.0, max_distance=500.0)
    fit.fit(sim.events, cutoff=365.0)
    assert fit.theta_for(1) > 2 * fit.theta_for(0)
    assert fit.theta_for(0) == pytest.approx(0.3, abs=0.1)


def test_prediction_terms_and_decay() -> None:
    """After a burst of events, the triggered term is high near it and decays with time."""
    model = ETASModel(mu=4.0, theta=(0.5,), omega=0.3, sigma=70.0, hotspots=10)
    sim = simulate_etas(model, AREA, days=300, seed=7, crs=CRS)
    ev = sim.events
    burst_t = 300.0 - np.array([0.5, 0.4, 0.3])
    bx, by = 523000.0, 172000.0
    events = EventSet.from_arrays(
        np.concatenate([ev.t, burst_t]),
        np.concatenate([ev.x, [bx] * 3]),
        np.concatenate([ev.y, [by] * 3]),
        crs=CRS,
    )
    fit = ETASForecaster(history_days=None, max_days=40.0, max_distance=500.0).fit(
        events, cutoff=300.0
    )
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    cell = int(grid.assign([bx], [by])[0])
    now = fit.predict(grid, 300.0, 301.0)
    later = fit.predict(grid, 310.0, 311.0)
    np.testing.assert_allclose(now.terms["background"] + now.terms["triggered"], now.expected_count)
    assert now.terms["triggered"][cell] > 3 * now.terms["background"][cell]
    assert later.terms["triggered"][cell] < 0.2 * now.terms["triggered"][cell]
    np.testing.assert_allclose(now.terms["background"], later.terms["background"])
    # expected total over a long window approaches the stationary rate mu / (1 - n)
    long = fit.predict(grid, 300.0, 400.0).expected_count.sum()
    rate = fit.mu_ / (1 - fit.branching_ratio_)
    assert long == pytest.approx(100 * rate, rel=0.1)


def test_bad_hyperparameters_raise() -> None:
    t, x, y = _small()
    ev = EventSet.from_arrays(t, x, y, crs=CRS)
    with pytest.raises(ValueError, match="engine"):
        ETASForecaster(engine="gpu").fit(ev, cutoff=100.0)
    with pytest.raises(ValueError, match="max_days"):
        ETASForecaster(max_days=-1.0).fit(ev, cutoff=100.0)


def test_day_precision_jitter_keeps_cutoff() -> None:
    t, x, y = _small(4)
    ev = EventSet.from_arrays(np.floor(t), x, y, crs=CRS, time_precision="day")
    fit = ETASForecaster(history_days=None).fit(ev, cutoff=100.0)
    assert fit.t_.max() < 100.0 and np.all(np.diff(fit.t_) >= 0)


def test_day_precision_jitter_spreads_over_the_known_part_of_the_day() -> None:
    # Day records stored at local midnight in UTC (New York: 05:00 UTC) and a cut-off at the
    # next UTC midnight: only 19 hours of the last local day lie before the cut-off. The jitter
    # must spread its events over those 19 hours, not pile ~5/24 of them at the cut-off.
    cutoff = 100.0
    n = 2000
    t = np.full(n, cutoff - 19.0 / 24.0)
    x = np.linspace(0.0, 50_000.0, n)  # far apart: no triggering to speak of
    ev = EventSet.from_arrays(t, x, np.zeros(n), crs=CRS, time_precision="day")
    model = ETASForecaster(history_days=None, deduplicate=False)  # same time, 25 m apart
    jittered = model._prepare(ev.before(cutoff), cutoff)[0]
    assert jittered.max() < cutoff
    at_cutoff = np.mean(jittered > cutoff - 1e-6)
    assert at_cutoff < 0.01  # uniform over 19 h: essentially none within a microsecond-day
    assert np.mean(jittered) == pytest.approx(cutoff - 19.0 / 48.0, abs=0.02)


def test_refuses_month_records_and_aggregated_counts() -> None:
    # A record of 40 offences in one LSOA-month is not one event at one instant: fitting
    # triggering to it (one "event" per record, its count ignored) would be meaningless.
    from patrolcast.errors import InputError

    months = EventSet.from_arrays(
        [19_723.0, 19_754.0, 19_783.0], [0.0, 10.0, 20.0], [0.0, 0.0, 0.0], crs=CRS,
        count=[40.0, 35.0, 38.0], time_precision="month",
    )  # fmt: skip
    with pytest.raises(InputError, match="month"):
        ETASForecaster().fit(months, cutoff=19_800.0)
    counted = EventSet.from_arrays(
        [1.0, 2.0, 3.0], [0.0, 10.0, 20.0], [0.0, 0.0, 0.0], crs=CRS, count=[1.0, 5.0, 1.0]
    )
    with pytest.raises(InputError, match="count"):
        ETASForecaster().fit(counted, cutoff=10.0)


def test_short_history_with_slow_decay_needs_the_end_of_window_term() -> None:
    """90 days of history, mean delay 20 days: many offspring fall after the cut-off. The M-step
    must count the unseen part of each kernel (the end-of-window edge term of omega's update),
    else omega comes out about twice too high and the branching ratio about a third too low."""
    model = ETASModel(mu=40.0, theta=(0.5,), omega=0.05, sigma=70.0, hotspots=15)
    sim = simulate_etas(model, AREA, days=90.0, seed=31, crs=CRS)
    # one EM run on the plain leave-one-out background: the edge term is what is tested here
    fit = ETASForecaster(history_days=None, max_days=60.0, max_distance=500.0, restarts=1,
                         stable_background=False)  # fmt: skip
    fit.fit(sim.events, cutoff=90.0)
    assert fit.branching_ratio_ == pytest.approx(0.5, rel=0.15)
    assert fit.omega_ == pytest.approx(0.05, rel=0.25)


def test_collapse_incidents_merges_victims_of_one_incident() -> None:
    from patrolcast.forecast.etas import collapse_incidents

    # three victims of one shooting (same minute or 20-40 minutes later, within 30 m, chained),
    # a shooting at the same spot five days later, and one 500 m away at the same time
    ev = EventSet.from_arrays(
        [1.0, 1.0, 1.0 + 20 / 1440, 1.0 + 40 / 1440, 6.0, 1.0],
        [0.0, 10.0, 25.0, 45.0, 0.0, 500.0],
        np.zeros(6),
        crs=CRS,
        mark=[0, 1, 0, 0, 0, 0],
    )
    out, merged = collapse_incidents(ev)
    assert merged == 3 and len(out) == 3
    assert out.x.tolist() == [0.0, 500.0, 0.0]
    assert out.mark.tolist() == [1, 0, 0]  # fatal if any victim died
    same, none = collapse_incidents(ev, minutes=1.0, metres=1.0)
    assert none == 0 and len(same) == 6


def test_collapse_incidents_links_every_record_of_the_same_time() -> None:
    """Victims of one shooting recorded at the same minute collapse even when a record of that
    minute elsewhere sorts between them; the result does not depend on the input order."""
    from patrolcast.forecast.etas import collapse_incidents

    t, x = [1.0, 1.0, 1.0], [0.0, 500.0, 10.0]
    ev = EventSet.from_arrays(t, x, np.zeros(3), crs=CRS, mark=[0, 0, 1])
    out, merged = collapse_incidents(ev)
    assert merged == 1 and sorted(out.x.tolist()) == [0.0, 500.0]
    assert out.mark[out.x == 0.0].tolist() == [1]  # the kept record carries the fatal mark
    rng = np.random.default_rng(5)
    for _ in range(5):
        p = rng.permutation(3)
        o, m = collapse_incidents(
            EventSet.from_arrays(np.array(t)[p], np.array(x)[p], np.zeros(3), crs=CRS)
        )
        kept = sorted(o.x.tolist())  # the first of the tied victims in the input is kept
        assert m == 1 and kept[1] == 500.0 and kept[0] in (0.0, 10.0)


def test_collapse_incidents_groups_chains_whatever_the_order() -> None:
    """Records linked through a middle one (0 m and 50 m are both within 30 m of 25 m) are one
    incident in every input order, at equal times and at times minutes apart."""
    from itertools import permutations

    from patrolcast.forecast.etas import collapse_incidents

    for times in ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0 + 10 / 1440]):
        xs = [0.0, 50.0, 25.0]
        for p in permutations(range(3)):
            ev = EventSet.from_arrays(
                np.array(times)[list(p)], np.array(xs)[list(p)], np.zeros(3), crs=CRS,
                mark=np.array([0, 1, 0])[list(p)],
            )  # fmt: skip
            out, merged = collapse_incidents(ev)
            assert merged == 2 and len(out) == 1, (times, p)
            assert out.mark.tolist() == [1]


def test_collapse_incidents_of_dated_records_needs_the_same_point() -> None:
    """A date says nothing of the hour: records of one day are one incident only at the same
    point, not merely within 30 m."""
    from patrolcast.forecast.etas import collapse_incidents

    ev = EventSet.from_arrays(
        [5.0, 5.0, 5.0, 6.0], [0.0, 10.0, 0.0, 0.0], np.zeros(4), crs=CRS, time_precision="day"
    )
    out, merged = collapse_incidents(ev)
    assert merged == 1 and sorted(zip(out.t.tolist(), out.x.tolist(), strict=True)) == [
        (5.0, 0.0), (5.0, 10.0), (6.0, 0.0),
    ]  # fmt: skip


def test_tied_pairs_of_a_long_run_equal_every_pair_within_reach() -> None:
    """A long run of equal times (day-precision records of one day) is searched with a tree:
    the same pairs as checking every pair (the plain reference)."""
    from patrolcast.forecast.etas import _tied_pairs

    rng = np.random.default_rng(11)
    n = 300
    t = np.r_[np.zeros(n), np.ones(5)]
    x, y = rng.uniform(0, 600, n + 5), rng.uniform(0, 600, n + 5)
    a, b = _tied_pairs(t, x, y, 30.0)
    got = set(zip(a.tolist(), b.tolist(), strict=True))
    want = {
        (i, j)
        for i in range(n + 5)
        for j in range(i + 1, n + 5)
        if t[i] == t[j] and np.hypot(x[j] - x[i], y[j] - y[i]) <= 30.0
    }
    assert got == want and len(want) > 20


def test_leave_out_weights_match_the_raster_smoothing() -> None:
    """The time-stable background subtracts each near neighbour's kernel at an event's pixel:
    the pair weights must equal what the Gaussian filter puts there (the plain reference)."""
    from patrolcast.forecast.etas import BackgroundDensity, LeaveOut

    rng = np.random.default_rng(3)
    n = 120
    t = np.sort(rng.uniform(0, 60, n))
    x, y = rng.uniform(0, 1500, n), rng.uniform(0, 1500, n)
    h = rng.choice([50.0, 100.0, 200.0], n)
    dens = BackgroundDensity(x, y, h)
    lo = LeaveOut(dens, t, gap_days=10.0)
    assert lo.src.size > 0
    for k in rng.choice(lo.src.size, 25, replace=False):
        i, j = int(lo.src[k]), int(lo.dst[k])
        level = dens.levels.index(float(h[i]))
        r, pix = dens.rasters[level], dens.pixels[level]
        one = r.smooth(x[i : i + 1], y[i : i + 1], np.ones(1), h[i]) / r.res**2
        assert lo.kernel[k] == pytest.approx(one[pix[j]], rel=1e-9, abs=1e-15)
    # every neighbour within 10 days is listed (both directions): the window sums agree
    w = rng.uniform(0.2, 1.0, n)
    brute = np.array([w[np.abs(t - t[j]) <= 10.0].sum() for j in range(n)])
    np.testing.assert_allclose(lo.window_weight(w), brute)


def test_persistent_hot_spots_are_not_passed_off_as_triggering() -> None:
    """Places hit all year round at random times, no triggering at all: the fit must either
    find (almost) no triggering or say it is not trustworthy, never report a confident one."""
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 8000, (30, 2))
    k = rng.integers(0, 30, 1500)
    x = np.concatenate([rng.uniform(0, 8000, 3000), pts[k, 0]])
    y = np.concatenate([rng.uniform(0, 8000, 3000), pts[k, 1]])
    t = rng.uniform(0, 730.0, x.size)
    ev = EventSet.from_arrays(t, x, y, crs=CRS)
    fit = ETASForecaster(history_days=None, deduplicate=False).fit(ev, cutoff=730.0)
    assert fit.branching_ratio_ < 0.02 or not fit.trustworthy_
    assert fit.params_summary()["not_trustworthy_because"] == fit.trust_reasons_
    assert len(fit.params_summary()["restarts"]) == 2


def test_simulated_triggering_is_trusted_and_reported() -> None:
    fit, model, _ = _recovery(days=365, mu=5.5, seed=11)
    p = fit.params_summary()
    assert fit.trustworthy_ and p["converged"] and p["not_trustworthy_because"] == []
    assert p["n_iter"] < fit.max_iter


def test_conditioning_adds_new_events_without_refitting() -> None:
    model = ETASModel(mu=4.0, theta=(0.5,), omega=0.3, sigma=70.0, hotspots=10)
    sim = simulate_etas(model, AREA, days=300, seed=7, crs=CRS)
    fit = ETASForecaster(history_days=None, max_days=40.0, max_distance=500.0).fit(
        sim.events, cutoff=280.0
    )
    burst = EventSet.from_arrays([285.0, 289.5, 290.2], [523000.0] * 3, [172000.0] * 3, crs=CRS)
    later = fit.conditioned_on(burst, until=290.0)  # the last burst event is after `until`
    assert later.cutoff_ == 290.0 and fit.cutoff_ == 280.0  # the fitted model is untouched
    assert later.omega_ == fit.omega_ and later.mu_ == fit.mu_
    assert len(later.t_) == len(fit.t_) + 2
    # the new events' expected offspring in the window, by hand
    w = later.time_weights(290.0, 297.0)[-2:]
    lag = 290.0 - np.array([285.0, 289.5])
    by_hand = fit.theta_[0] * (np.exp(-fit.omega_ * lag) - np.exp(-fit.omega_ * (lag + 7.0)))
    np.testing.assert_allclose(w, by_hand, rtol=1e-12)
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    cell = int(grid.assign([523000.0], [172000.0])[0])
    before = fit.predict(grid, 290.0, 297.0)
    after = later.predict(grid, 290.0, 297.0)
    np.testing.assert_allclose(after.terms["background"], before.terms["background"])
    assert after.terms["triggered"][cell] > before.terms["triggered"][cell] + 0.5 * w.sum() * 0.3
    with pytest.raises(ValueError, match="cut-off"):
        later.predict(grid, 285.0, 286.0)
