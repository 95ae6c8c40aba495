"""ETAS tests written for mutation testing (issue 15, scripts/mutation.sh etas).

Fast and sharp, so a mutant costs seconds, not minutes: the plain numpy twins of the numba
kernels against hand-written loops; the smoothing raster; the forecast of a model whose
parameters are set by hand (through ``from_state``, no EM) against the closed forms of the
module's notes (background, first generation, cascade); conditioning and re-levelling by hand;
the trust reasons a report shows; the time profile and the season; a small fit by both
engines. The EM's recovery on short histories with slow decay stays in tests/forecast/test_etas.py.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import shapely
from scipy.ndimage import gaussian_filter
from scipy.special import erf

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.forecast._etas_kernels import (
    estep_dense,
    estep_pairs,
    gaussian_weights_1d,
    loo_kernel_weights,
    space_time_pairs,
    space_time_pairs_dense,
)
from patrolcast.forecast.etas import (
    BackgroundDensity,
    ETASForecaster,
    Raster,
    _impulse_centre,
    _quantised_resolution,
    _support_bounds,
    adaptive_bandwidths,
    collapse_incidents,
    support_frame,
)
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import AreaSupport, Grid

CRS = "EPSG:27700"


# -- the plain twins of the numba kernels ------------------------------------------------------
def _tiny() -> tuple[np.ndarray, ...]:
    # times with a tie (0 days apart: never a pair), a pair exactly max_days apart (a pair) and
    # one exactly max_distance apart (a pair)
    t = np.array([0.0, 1.0, 1.0, 3.0, 11.0, 11.5, 30.0])
    x = np.array([0.0, 30.0, 60.0, 0.0, 0.0, 400.0, 0.0])
    y = np.array([0.0, 40.0, 0.0, 0.0, 0.0, 0.0, 10.0])
    marks = np.array([0, 1, 0, 1, 0, 1, 0])
    return t, x, y, marks


def _pairs_by_hand(t, x, y, max_days, max_distance):  # type: ignore[no-untyped-def]
    out = []
    for j in range(len(t)):
        for i in range(len(t)):
            dt = t[j] - t[i]
            if 0 < dt <= max_days and math.hypot(x[j] - x[i], y[j] - y[i]) <= max_distance:
                out.append((i, j))
    return out


def test_dense_pairs_are_every_pair_within_both_cut_offs_ordered_by_child() -> None:
    t, x, y, _ = _tiny()
    parent, child = space_time_pairs_dense(t, x, y, max_days=8.0, max_distance=400.0)
    assert list(zip(parent.tolist(), child.tolist(), strict=True)) == _pairs_by_hand(
        t, x, y, 8.0, 400.0
    )
    assert (3, 4) in set(zip(parent.tolist(), child.tolist(), strict=True))  # exactly 8 days
    assert (4, 5) in set(zip(parent.tolist(), child.tolist(), strict=True))  # exactly 400 m
    assert parent.dtype == np.int64 and child.dtype == np.int64
    fast = space_time_pairs(t, x, y, max_days=8.0, max_distance=400.0)
    assert sorted(zip(*fast, strict=True)) == sorted(zip(parent, child, strict=True))


def test_the_pair_index_needs_sorted_times_and_accepts_no_events() -> None:
    with pytest.raises(ValueError, match="sorted ascending"):
        space_time_pairs(np.array([2.0, 1.0]), np.zeros(2), np.zeros(2), max_days=5.0,
                         max_distance=10.0)  # fmt: skip
    p, c = space_time_pairs(np.zeros(0), np.zeros(0), np.zeros(0), max_days=5.0, max_distance=1.0)
    assert p.size == 0 and c.size == 0


def _estep_by_hand(t, x, y, marks, theta, omega, sigmas, weights, mu, max_days, max_distance):  # type: ignore[no-untyped-def]
    n = len(t)
    lam = [float(v) for v in mu]
    trig = {}
    for j in range(n):
        for i in range(n):
            dt = t[j] - t[i]
            d2 = (x[j] - x[i]) ** 2 + (y[j] - y[i]) ** 2
            if 0 < dt <= max_days and d2 <= max_distance**2:
                for c, (s, w) in enumerate(zip(sigmas, weights, strict=True)):
                    v = (theta[marks[i]] * omega * math.exp(-omega * dt) * w
                         / (2 * math.pi * s * s) * math.exp(-d2 / (2 * s * s)))  # fmt: skip
                    trig[(i, j, c)] = (v, dt, d2)
                    lam[j] += v
    s_mark = np.zeros(len(theta))
    s_scale = np.zeros(len(sigmas))
    s_d2 = np.zeros(len(sigmas))
    s_dt = 0.0
    for (i, j, c), (v, dt, d2) in trig.items():
        p = v / lam[j]
        s_mark[marks[i]] += p
        s_scale[c] += p
        s_d2[c] += p * d2
        s_dt += p * dt
    p_bg = np.array([mu[j] / lam[j] for j in range(n)])
    return p_bg, s_mark, s_dt, s_scale, s_d2, sum(math.log(v) for v in lam)


@pytest.mark.parametrize("block", [2, 1024])
def test_dense_estep_equals_the_definition(block: int) -> None:
    t, x, y, marks = _tiny()
    theta = np.array([0.3, 0.7])
    mu = np.linspace(1e-6, 3e-6, len(t))
    sig, w = np.array([50.0, 200.0]), np.array([0.25, 0.75])
    got = estep_dense(t, x, y, marks, theta, 0.15, sig, mu, max_days=8.0, max_distance=400.0,
                      weights=w, block=block)  # fmt: skip
    want = _estep_by_hand(t, x, y, marks, theta, 0.15, sig, w, mu, 8.0, 400.0)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                   rtol=1e-12)  # fmt: skip
    assert got[2] > 0 and np.all(got[0] <= 1.0)
    # one scale given as a number: a weight of one
    one = estep_dense(t, x, y, marks, theta, 0.15, 80.0, mu, max_days=8.0, max_distance=400.0)
    want1 = _estep_by_hand(t, x, y, marks, theta, 0.15, [80.0], [1.0], mu, 8.0, 400.0)
    np.testing.assert_allclose(one[0], want1[0], rtol=1e-12)
    assert one[5] == pytest.approx(want1[5], rel=1e-12)
    parent, child = space_time_pairs(t, x, y, max_days=8.0, max_distance=400.0)
    fast = estep_pairs(parent, child, t, x, y, marks, theta, 0.15, sig, mu, w)
    np.testing.assert_allclose(fast[1], want[1], rtol=1e-12)
    with pytest.raises(ValueError, match="one mixture weight per triggering scale"):
        estep_dense(t, x, y, marks, theta, 0.15, sig, mu, max_days=8.0, max_distance=400.0,
                    weights=np.ones(3))  # fmt: skip


def test_gaussian_weights_are_the_filters_own() -> None:
    for s in (0.7, 2.0, 3.3):
        w = gaussian_weights_1d(s)
        radius = int(4.0 * s + 0.5)
        assert w.shape == (radius + 1,)
        k = np.arange(-radius, radius + 1)
        full = np.exp(-(k**2) / (2 * s * s))
        np.testing.assert_allclose(w, (full / full.sum())[radius:], rtol=1e-12)
        # the centre weight of the 2-D filter is the square of the 1-D one
        assert _impulse_centre(s) == pytest.approx(w[0] ** 2, rel=1e-12)


def test_leave_one_out_weights_by_pixel_offset() -> None:
    w1 = np.array([0.5, 0.2, 0.05])
    nx = 10
    frm = np.array([0, 11, 11, 11, 11, -1, 0])
    to = np.array([0, 12, 33, 14, 22, 0, -1])
    got = loo_kernel_weights(frm, to, nx, w1)
    # same pixel; one column over; two rows two columns; three columns (beyond); one/one;
    # pixels outside the raster
    np.testing.assert_allclose(got, [0.25, 0.1, 0.0025, 0.0, 0.04, 0.0, 0.0])


# -- rasters and supports ---------------------------------------------------------------------
def test_raster_around_pixels_and_centres() -> None:
    r = Raster.around(120.0, -80.0, 470.0, 130.0, 100.0)
    assert (r.x0, r.y0, r.nx, r.ny) == (100.0, -100.0, 5, 4)
    pix = r.pixel_of(np.array([100.0, 199.9, 200.0, 99.9, 600.0, 150.0]),
                     np.array([-100.0, -100.0, 0.0, 0.0, 0.0, 299.9]))  # fmt: skip
    np.testing.assert_array_equal(pix, [0, 0, 6, -1, -1, 15])
    cx, cy = r.centres()
    assert cx.size == 20 and (cx[0], cy[0]) == (150.0, -50.0) and (cx[6], cy[6]) == (250.0, 50.0)


@pytest.mark.parametrize("sigma", [60.0, 700.0])  # plain and coarsened filter
def test_smoothing_keeps_the_mass_and_spreads_it_by_sigma(sigma: float) -> None:
    r = Raster(0.0, 0.0, 25.0, 400, 400)
    x, y = np.array([5_012.5, 4_000.0]), np.array([5_012.5, 6_000.0])
    out = r.smooth(x, y, np.array([2.0, 1.0]), sigma).reshape(r.ny, r.nx)
    assert out.sum() == pytest.approx(3.0, rel=1e-9)
    cx, cy = r.centres()
    near = (np.abs(cx - 5_012.5) < 5 * sigma) & (np.abs(cy - 5_012.5) < 5 * sigma)
    one = r.smooth(x[:1], y[:1], np.ones(1), sigma)
    m = one.sum()
    mx = float(np.sum(one * cx) / m)
    var = float(np.sum(one[near] * (cx[near] - mx) ** 2) / m)
    assert mx == pytest.approx(5_012.5, abs=sigma / 6)
    assert math.sqrt(var) == pytest.approx(sigma, rel=0.05)
    # points outside the raster carry their mass away
    assert r.smooth(np.array([-500.0]), np.array([10.0]), np.ones(1), sigma).sum() < 1e-12


def test_support_bounds_of_grids_areas_and_points() -> None:
    g = Grid.covering(1_000, 2_000, 2_999, 2_499, cell_size=250.0, crs=CRS)
    assert _support_bounds(g) == (1_000.0, 2_000.0, 3_000.0, 2_500.0)
    boxes = (shapely.box(0, 0, 100, 50), shapely.box(300, -20, 400, 10))
    areas = AreaSupport(("A", "B"), ("a", "b"), boxes, CRS)
    assert _support_bounds(areas) == (0.0, -20.0, 400.0, 50.0)


def test_support_frame_subdivides_grid_cells_and_is_cached() -> None:
    g = Grid.covering(0, 0, 999, 499, cell_size=250.0, crs=CRS)
    raster, unit = support_frame(g, 100.0, 130.0)
    assert raster.res == 250.0 / 3  # 3 pixels a cell, never coarser than asked
    assert raster.x0 == pytest.approx(-raster.res * 2) and raster.y0 == pytest.approx(
        -raster.res * 2
    )  # the pad rounded up to whole pixels
    assert (raster.nx, raster.ny) == (12 + 4, 6 + 4)
    cx, cy = raster.centres()
    np.testing.assert_array_equal(unit, g.assign(cx, cy))
    assert np.sum(unit == 0) == 9
    assert support_frame(g, 100.0, 130.0)[0] is raster
    areas = AreaSupport(("A",), ("a",), (shapely.box(0, 0, 1000, 600),), CRS)
    r2, u2 = support_frame(areas, 50.0, 100.0)
    assert (r2.x0, r2.y0, r2.res) == (-100.0, -100.0, 50.0)
    assert np.sum(u2 == 0) == 20 * 12


def test_bandwidths_are_the_kth_neighbour_distance_on_the_ladder() -> None:
    # a row of points 90 m apart
    x = np.linspace(0.0, 810.0, 10)
    h = adaptive_bandwidths(x, np.zeros(10), 2, 25.0)
    # inside the row the 2nd nearest is 90 m away (100 m rung); at its ends 180 m (200 m rung)
    np.testing.assert_array_equal(h, [200.0] + [100.0] * 8 + [200.0])
    h1 = adaptive_bandwidths(x, np.zeros(10), 1, 25.0)
    np.testing.assert_array_equal(h1, np.full(10, 100.0))  # 90 m
    tight = adaptive_bandwidths(np.array([0.0, 1.0, 2.0]), np.zeros(3), 1, 25.0)
    np.testing.assert_array_equal(tight, [25.0] * 3)  # clipped to the smallest rung
    np.testing.assert_array_equal(
        adaptive_bandwidths(np.array([0.0, 1.0, 2.0]), np.zeros(3), 1), [50.0] * 3
    )
    far = adaptive_bandwidths(np.array([0.0, 5_000.0]), np.zeros(2), 15, 25.0)
    np.testing.assert_array_equal(far, [800.0, 800.0])
    np.testing.assert_array_equal(adaptive_bandwidths(np.zeros(1), np.zeros(1), 5), [800.0])


def test_resolution_ladder() -> None:
    assert _quantised_resolution(100.0) == 50.0
    assert _quantised_resolution(99.9) == 25.0


def test_background_density_leaves_each_event_out() -> None:
    # two events far apart: each sees none of the other's kernel, so no density at all
    apart = BackgroundDensity(np.array([0.0, 10_000.0]), np.zeros(2), np.array([100.0, 100.0]))
    np.testing.assert_allclose(apart.at_events(np.ones(2)), [0.0, 0.0], atol=1e-18)
    # three events at one spot: each sees the other two's kernel at their common pixel
    same = BackgroundDensity(np.zeros(3), np.zeros(3), np.full(3, 100.0))
    r = same.rasters[0]
    dens = same.at_events(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(dens, same.self_weight[0] / r.res**2, rtol=1e-9)
    # mass on a raster: the weights normalised, widened by hypot(h, widen)
    frame = Raster(-5_000.0, -5_000.0, 25.0, 400, 400)
    m = same.mass_on(frame, np.array([1.0, 2.0, 3.0]), widen=300.0)
    assert m.sum() == pytest.approx(1.0, rel=1e-9)
    want = frame.smooth(np.zeros(1), np.zeros(1), np.ones(1), math.hypot(100.0, 300.0))
    np.testing.assert_allclose(m, want, atol=1e-15)


def test_collapse_keeps_lone_and_distant_records() -> None:
    one = EventSet.from_arrays([1.0], [0.0], [0.0], crs=CRS)
    assert collapse_incidents(one) == (one, 0)
    apart = EventSet.from_arrays([1.0, 1.0, 3.0], [0.0, 100.0, 0.0], [0.0, 0.0, 0.0], crs=CRS)
    out, merged = collapse_incidents(apart)
    assert merged == 0 and len(out) == 3


# -- a model set by hand: forecasts against the closed forms -----------------------------------
CUTOFF = 100.0
MU, THETA, OMEGA, SIGMA, H = 2.0, 0.4, 0.2, 100.0, 200.0
BG_XY = (5_250.0, 5_250.0)  # the centre of a 500 m cell
EV_XY = (15_250.0, 15_250.0)


def _state(**over: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    params = ETASForecaster(history_days=None, max_days=60.0, max_distance=1000.0,
                            background_days=None, seasonal=False).get_params()  # fmt: skip
    params.update(over.pop("params", {}))
    meta: dict[str, Any] = {
        "params": params, "cutoff": CUTOFF, "crs": CRS, "window_days": 100.0,
        "window_start": 0.0, "mean_harm": 2.5, "n_pairs": 0, "n_collapsed": 0,
        "season": [0.0, 0.0], "best_run": -1, "runs": [],
        "stored": {"mu": MU, "theta": [THETA], "omega": OMEGA, "sigmas": [SIGMA],
                   "weights": [1.0], "loglik": -10.0, "n_iter": 5, "converged": True},
    }  # fmt: skip
    arrays: dict[str, np.ndarray] = {
        "t": np.array([10.0, CUTOFF - 1.0]), "x": np.array([BG_XY[0], EV_XY[0]]),
        "y": np.array([BG_XY[1], EV_XY[1]]), "mark_index": np.array([0, 0]),
        "marks": np.array([-1]), "time_profile": np.ones(100),
        "p_background": np.array([1.0, 0.0]),
        "bg_x": np.array([BG_XY[0], EV_XY[0]]), "bg_y": np.array([BG_XY[1], EV_XY[1]]),
        "bg_h": np.array([H, H]), "kernel_weights": np.zeros((0, 0)),
    }  # fmt: skip
    for k, v in over.items():
        (meta if k in meta else arrays)[k] = v
    return meta, arrays


def _model(**over: Any) -> ETASForecaster:
    return ETASForecaster.from_state(*_state(**over))


GRID = Grid.covering(0, 0, 20_499, 20_499, cell_size=500.0, crs=CRS)


def _closed_form(start: float, end: float, level: float = 1.0) -> dict[str, float]:
    n = THETA  # both history events have the one mark
    length = end - start
    k = OMEGA * (1 - n)
    background = MU * level * length
    bg_cascade = n * MU * level / (1 - n) * (length - (1 - math.exp(-k * length)) / k)
    lag = start - (CUTOFF - 1.0)
    first = THETA * (math.exp(-OMEGA * lag) - math.exp(-OMEGA * (end - (CUTOFF - 1.0))))
    rate = THETA * OMEGA * math.exp(-OMEGA * lag)
    extra = rate * ((1 - math.exp(-k * length)) / k - (1 - math.exp(-OMEGA * length)) / OMEGA)
    return {"background": background, "triggered": bg_cascade + first + extra, "first": first,
            "extra": extra}  # fmt: skip


@pytest.mark.parametrize(("start", "end"), [(CUTOFF, CUTOFF + 7.0), (CUTOFF + 3.0, CUTOFF + 30.0)])
def test_forecast_totals_follow_the_closed_forms(start: float, end: float) -> None:
    model = _model()
    fc = model.predict(GRID, start, end)
    want = _closed_form(start, end)
    assert fc.terms["background"].sum() == pytest.approx(want["background"], rel=1e-3)
    assert fc.terms["triggered"].sum() == pytest.approx(want["triggered"], rel=1e-3)
    np.testing.assert_allclose(fc.expected_count, fc.terms["background"] + fc.terms["triggered"])
    np.testing.assert_allclose(fc.expected_harm, 2.5 * fc.expected_count)


def test_forecast_puts_background_and_offspring_where_they_belong() -> None:
    model = _model()
    fc = model.predict(GRID, CUTOFF, CUTOFF + 7.0)
    want = _closed_form(CUTOFF, CUTOFF + 7.0)
    bg_cell = int(GRID.assign([BG_XY[0]], [BG_XY[1]])[0])
    ev_cell = int(GRID.assign([EV_XY[0]], [EV_XY[1]])[0])
    share_bg = erf(250.0 / (H * math.sqrt(2))) ** 2  # a Gaussian's mass in its centred cell
    assert fc.terms["background"][bg_cell] == pytest.approx(want["background"] * share_bg, rel=0.03)
    assert fc.terms["background"][ev_cell] < 1e-9  # no background weight at the event
    share_ev = erf(250.0 / (SIGMA * math.sqrt(2))) ** 2
    # the history event's first generation lies around it (the cascade of the background
    # events lies around them, widened)
    assert fc.terms["triggered"][ev_cell] > want["first"] * share_ev
    assert fc.terms["triggered"][ev_cell] < (want["triggered"] - 0.0) * 1.0
    far = GRID.assign([500.0], [19_500.0])[0]
    assert fc.expected_count[far] < 1e-9


def test_a_fit_without_the_edge_correction_loses_mass_over_the_edge() -> None:
    edge = (50.0, 10_250.0)  # 50 m from the grid's left edge: 40% of a 200 m kernel beyond it
    xs, ys = np.array([edge[0], EV_XY[0]]), np.array([edge[1], EV_XY[1]])
    over = {"x": xs, "y": ys, "bg_x": xs, "bg_y": ys}
    kept = _model(**over).predict(GRID, CUTOFF, CUTOFF + 7.0)
    lost = _model(params={"edge_correction": False}, **over).predict(GRID, CUTOFF, CUTOFF + 7.0)
    assert kept.terms["background"].sum() == pytest.approx(MU * 7.0, rel=0.02)
    assert lost.terms["background"].sum() < 0.7 * MU * 7.0


def test_time_weights_by_hand() -> None:
    model = _model(t=np.array([10.0, 95.0]))
    w = model.time_weights(100.0, 110.0)
    # the first event is 90 days old: beyond max_days (60), no offspring left
    assert w[0] == 0.0
    assert w[1] == pytest.approx(THETA * (math.exp(-OMEGA * 5) - math.exp(-OMEGA * 15)))
    # a window reaching past max_days stops there
    w2 = model.time_weights(100.0, 200.0)
    assert w2[1] == pytest.approx(THETA * (math.exp(-OMEGA * 5) - math.exp(-OMEGA * 60)))


def test_params_summary_reports_the_fit_in_plain_units() -> None:
    model = _model(season=[0.3, 0.4])
    p = model.params_summary()
    assert p["background_per_day"] == MU and p["branching_ratio"] == pytest.approx(THETA)
    assert p["mean_trigger_delay_days"] == pytest.approx(1 / OMEGA)
    assert p["omega_per_day"] == OMEGA and p["sigma_m"] == SIGMA and p["sigmas_m"] == [SIGMA]
    assert p["scale_weights"] == [1.0] and p["theta_by_mark"] == {-1: THETA}
    assert p["seasonal_amplitude"] == pytest.approx(0.5)
    peak = math.atan2(0.4, 0.3) / (2 * math.pi) * 365.25
    assert p["seasonal_peak_day_of_year"] == pytest.approx(peak)
    assert _model(season=[-0.3, -0.4]).params_summary()["seasonal_peak_day_of_year"] == (
        pytest.approx(peak + 365.25 / 2)
    )
    assert _model().params_summary()["seasonal_peak_day_of_year"] is None
    assert p["n_events"] == 2 and p["n_history_events"] == 2
    assert p["fit_cutoff"] == "1970-04-11T00:00+00:00"
    assert p["truncated_mass"] == {
        "time": pytest.approx(math.exp(-OMEGA * 60.0)),
        "space": pytest.approx(math.exp(-(1000.0**2) / (2 * SIGMA**2))),
    }
    assert p["kernel"] == "gaussian" and p["histogram"] is None
    # one time scale: the two-scale fields describe that one scale
    assert p["time_scales"] == 1 and p["time_weights"] == [1.0]
    assert p["mean_trigger_delays_days"] == [pytest.approx(1 / OMEGA)]
    assert set(p) == {
        "background_per_day", "background_level_at_cutoff", "seasonal_amplitude",
        "seasonal_peak_day_of_year", "branching_ratio", "theta_by_mark", "omega_per_day",
        "mean_trigger_delay_days", "time_scales", "mean_trigger_delays_days", "time_weights",
        "sigma_m", "sigmas_m", "scale_weights", "n_events",
        "n_history_events", "records_collapsed", "n_pairs", "n_iter", "converged", "trustworthy",
        "not_trustworthy_because", "loglik", "restarts", "fit_cutoff", "truncated_mass", "kernel",
        "histogram",
    }  # fmt: skip
    assert p["background_level_at_cutoff"] == 1.0 and p["records_collapsed"] == 0
    assert p["trustworthy"] is False and p["not_trustworthy_because"] == ["only 2 events to fit on"]
    assert p["converged"] is True and p["n_iter"] == 5 and p["loglik"] == -10.0


def _many(n: int = 60) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(1_000, 19_000, n), rng.uniform(1_000, 19_000, n)
    return {"t": np.sort(rng.uniform(0, 99, n)), "x": x, "y": y, "bg_x": x, "bg_y": y,
            "mark_index": np.zeros(n, np.int64), "p_background": np.full(n, 0.6),
            "bg_h": np.full(n, 200.0)}  # fmt: skip


def _stored(**kw: Any) -> dict[str, Any]:
    st = {"mu": MU, "theta": [THETA], "omega": OMEGA, "sigmas": [SIGMA], "weights": [1.0],
          "loglik": -10.0, "n_iter": 5, "converged": True}  # fmt: skip
    st.update(kw)
    return st


def test_trust_reasons_name_what_is_wrong() -> None:
    assert _model().trust_reasons_ == ["only 2 events to fit on"]
    assert not _model().trustworthy_
    good = _model(**_many())
    assert good.trust_reasons_ == [] and good.trustworthy_
    bad = _model(stored=_stored(converged=False, n_iter=200, omega=1 / 30.0, sigmas=[30.0],
                                theta=[0.001]), **_many())  # fmt: skip
    assert bad.trust_reasons_ == [
        "EM did not converge in 200 iterations",
        "mean trigger delay at its bound (30 days): the triggering term is absorbing "
        "persistent hot spots, not near repeats",
        "triggering scale at its 30 m floor: only same-point repeats",
        "branching ratio 0.0010: no triggering found",
    ]
    # just inside the bounds: nothing to say
    fine = _model(stored=_stored(omega=1 / 30.0 * 1.02, sigmas=[30.0 * 1.02], theta=[0.0051]),
                  **_many())  # fmt: skip
    assert fine.trust_reasons_ == []


def _run(loglik: float, omega: float, converged: bool = True) -> dict[str, Any]:
    return {"start": {}, "mu_rate": MU, "theta": [THETA], "omega": omega, "sigmas": [SIGMA],
            "weights": [1.0], "loglik": loglik, "n_iter": 9, "converged": converged}  # fmt: skip


@pytest.mark.parametrize(
    ("runs", "ambiguous"),
    [
        ([_run(-100.0, 0.2), _run(-101.5, 0.1)], True),  # delays 5 and 10 days, same fit
        ([_run(-100.0, 0.2), _run(-102.5, 0.1)], False),  # clearly worse
        ([_run(-100.0, 0.2), _run(-101.0, 0.15)], False),  # delays 5 and 6.7: close enough
        ([_run(-100.0, 0.2), _run(-100.5, 0.1, converged=False)], False),  # did not converge
        ([_run(-100.0, 0.2), _run(-110.0, 0.2), _run(-101.0, 0.05)], True),  # the top two
    ],
)
def test_restarts_disagreeing_at_the_same_likelihood_are_reported(
    runs: list[dict[str, Any]], ambiguous: bool
) -> None:
    model = _model(runs=runs, **_many())
    reason = "restarts reach different delays with the same likelihood"
    assert (reason in model.trust_reasons_) is ambiguous
    assert len(model.params_summary()["restarts"]) == len(runs)


def test_restart_summaries_are_rounded_for_reports() -> None:
    run = _run(-100.12345, 0.3)
    run["theta"], run["sigmas"], run["weights"] = [0.123456], [87.654], [0.33333]
    s = _model(runs=[run], **_many()).params_summary()["restarts"][0]
    assert s == {"start": {}, "loglik": -100.123, "n_iter": 9, "converged": True,
                 "branching_ratio_by_mark": [0.1235], "mean_trigger_delay_days": 3.333,
                 "sigma_m": [87.7], "scale_weights": [0.333]}  # fmt: skip


def test_theta_for_a_mark() -> None:
    marked = _model(params={"marked": True}, stored=_stored(theta=[0.2, 0.6]),
                    marks=np.array([0, 1]), mark_index=np.array([0, 1]))  # fmt: skip
    assert marked.theta_for(1) == 0.6 and marked.theta_for(0) == 0.2
    assert marked.theta_for(7) == pytest.approx(0.4) and marked.theta_for(None) == 0.4
    assert _model().theta_for(0) == pytest.approx(THETA)


def test_state_round_trip_forecasts_the_same() -> None:
    model = _model(season=[0.1, -0.2], runs=[_run(-100.0, 0.2), _run(-90.0, 0.1)])
    meta, arrays = model.to_state()
    assert meta["best_run"] == 1  # the run of highest likelihood
    assert _model().to_state()[0]["best_run"] == -1  # none recorded
    back = ETASForecaster.from_state(meta, arrays)
    assert meta["cutoff"] == CUTOFF and meta["season"] == [0.1, -0.2]
    a = model.predict(GRID, CUTOFF, CUTOFF + 5.0)
    b = back.predict(GRID, CUTOFF, CUTOFF + 5.0)
    np.testing.assert_allclose(a.expected_count, b.expected_count, rtol=1e-12)
    assert back.params_summary() == model.params_summary()
    later = model.conditioned_on(EventSet.from_arrays([], [], [], crs=CRS), until=CUTOFF + 1)
    with pytest.raises(ValueError, match="save the fit itself"):
        later.to_state()


# -- conditioning on later events --------------------------------------------------------------
def _new_events() -> EventSet:
    t = [100.5, 102.0, 104.0, 107.0, 109.5, 111.0]  # the last one is after `until`
    x = [2_000.0 + 2_000.0 * k for k in range(6)]
    return EventSet.from_arrays(t, x, np.full(6, 3_000.0), crs=CRS)


def test_conditioning_adds_the_events_before_until_and_keeps_the_fit() -> None:
    model = _model()
    later = model.conditioned_on(_new_events(), until=110.0)
    assert later.cutoff_ == 110.0 and model.cutoff_ == CUTOFF
    assert len(later.t_) == 2 + 5 and later.t_[-1] == 109.5
    np.testing.assert_array_equal(later.x_[2:], [2_000.0, 4_000.0, 6_000.0, 8_000.0, 10_000.0])
    assert later.level_scale_ == 1.0 and later.mu_ == MU
    w = later.time_weights(110.0, 117.0)
    lag = 110.0 - np.array([100.5, 102.0, 104.0, 107.0, 109.5])
    np.testing.assert_allclose(w[2:], THETA * (np.exp(-OMEGA * lag) - np.exp(-OMEGA * (lag + 7))))
    with pytest.raises(ValueError, match="before the model's cut-off"):
        model.conditioned_on(_new_events(), until=CUTOFF - 1.0)
    other = EventSet.from_arrays([101.0], [0.0], [0.0], crs="EPSG:32618")
    with pytest.raises(ValueError, match="CRS"):
        model.conditioned_on(other, until=110.0)


def test_relevelling_scales_the_background_by_recent_counts_with_shrinkage() -> None:
    model = _model()
    later = model.conditioned_on(_new_events(), until=110.0, relevel_days=10.0)
    steady = MU * 1.0 / (1 - THETA) * 10.0  # expected incidents in 10 steady days
    scale = (5 + 10.0) / (steady + 10.0)
    assert later.level_scale_ == pytest.approx(scale)
    assert later.level_ref_ == (100.0, 110.0)
    fc = later.predict(GRID, 110.0, 117.0)
    assert fc.terms["background"].sum() == pytest.approx(MU * scale * 7.0, rel=1e-3)
    with pytest.raises(ValueError, match="relevel_days must be positive"):
        model.conditioned_on(_new_events(), until=110.0, relevel_days=0.0)


def test_an_unseen_mark_gets_the_pooled_branching_ratio() -> None:
    marked = _model(params={"marked": True}, stored=_stored(theta=[0.2, 0.6]),
                    marks=np.array([0, 1]), mark_index=np.array([0, 1]))  # fmt: skip
    ev = EventSet.from_arrays([101.0, 102.0], [3_000.0, 9_000.0], [3_000.0, 3_000.0], crs=CRS,
                              mark=[1, 5])  # fmt: skip
    later = marked.conditioned_on(ev, until=105.0)
    assert later.theta_[later.mark_index_[-2]] == 0.6
    assert later.theta_[later.mark_index_[-1]] == pytest.approx(0.4)


# -- the background's level in time ------------------------------------------------------------
def test_time_profile_is_flat_for_a_steady_rate_and_follows_a_step() -> None:
    model = ETASForecaster(background_days=5.0)
    day = np.repeat(np.arange(100), 3)
    flat = model._time_profile(np.ones(day.size), day, 100)
    np.testing.assert_allclose(flat, 1.0, rtol=1e-12)
    w = np.where(day >= 50, 2.0, 1.0)
    step = model._time_profile(w, day, 100)
    assert step.mean() == pytest.approx(1.0)
    assert step[-1] / step[0] == pytest.approx(2.0, rel=1e-6)
    assert step[-1] == pytest.approx(4.0 / 3.0, rel=1e-6)
    np.testing.assert_array_equal(ETASForecaster(background_days=None)._time_profile(w, day, 100),
                                  np.ones(100))  # fmt: skip
    np.testing.assert_array_equal(model._time_profile(np.ones(2), np.zeros(2, np.int64), 1), [1.0])
    assert (
        ETASForecaster(background_days=5.0)._time_profile(np.zeros(3), day[:3], 100).tolist()
        == [1.0] * 100
    )


def test_season_is_found_in_an_annual_cycle_and_not_in_a_steady_rate() -> None:
    model = ETASForecaster()
    model.window_start_ = 18_000.0
    n = 730
    day = np.arange(n)
    phase = 2 * np.pi * (18_000.0 + day + 0.5) / 365.25
    counts = np.round(30.0 * np.exp(0.3 * np.cos(phase) - 0.2 * np.sin(phase)))
    w = np.repeat(np.ones(n), counts.astype(int))
    days = np.repeat(day, counts.astype(int))
    beta = model._season(w, days, n)
    np.testing.assert_allclose(beta, [0.3, -0.2], atol=0.01)
    steady = model._season(np.ones(n * 20), np.repeat(day, 20), n)
    np.testing.assert_array_equal(steady, [0.0, 0.0])
    assert model._season(w[:100], days[:100], 364).tolist() == [0.0, 0.0]


def test_background_level_follows_the_season_relative_to_when_the_level_was_measured() -> None:
    model = _model(season=[0.5, 0.0])  # peak on day 0 of the year
    # a level held flat without a season
    assert _model().background_level(150.0, 157.0) == 1.0
    # the level was measured on the whole window (background constant in time): days 0-100
    t = np.linspace(0, 100, 200001)
    ref = np.mean(np.exp(0.5 * np.cos(2 * np.pi * t / 365.25)))
    s = np.linspace(180, 190, 20001)
    want = np.mean(np.exp(0.5 * np.cos(2 * np.pi * s / 365.25))) / ref
    assert model.background_level(180.0, 190.0) == pytest.approx(want, rel=2e-3)
    np.testing.assert_allclose(model.seasonal_shape(np.array([0.0, 365.25 / 2])),
                               [math.exp(0.5), math.exp(-0.5)])  # fmt: skip


def test_background_level_after_relevelling_is_measured_on_the_relevel_days() -> None:
    model = _model(season=[0.5, 0.0])
    later = model.conditioned_on(_new_events(), until=110.0, relevel_days=10.0)
    s = np.linspace(120, 127, 20001)
    r = np.linspace(100, 110, 20001)
    shape = np.mean(np.exp(0.5 * np.cos(2 * np.pi * s / 365.25)))
    ref = np.mean(np.exp(0.5 * np.cos(2 * np.pi * r / 365.25)))
    assert later.background_level(120.0, 127.0) == pytest.approx(
        later.level_at_cutoff_ * shape / ref, rel=2e-3
    )


def test_smoothed_level_reference_weighs_the_last_days() -> None:
    model = _model(season=[0.5, 0.0], params={"background_days": 10.0})
    back = np.arange(41)
    wts = np.exp(-(back**2) / 200.0)
    days = 99 - back + 0.5
    ref = np.sum(wts * np.exp(0.5 * np.cos(2 * np.pi * days / 365.25))) / wts.sum()
    s = np.linspace(100, 107, 20001)
    shape = np.mean(np.exp(0.5 * np.cos(2 * np.pi * s / 365.25)))
    assert model.background_level(100.0, 107.0) == pytest.approx(shape / ref, rel=2e-3)


# -- fitting ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"max_distance": 0.0}, "max_distance must be a positive number"),
        ({"min_sigma": math.inf}, "min_sigma must be a positive number"),
        ({"bandwidth": -5.0}, "bandwidth must be a positive number"),
        ({"max_mean_delay": 0.0}, "max_mean_delay must be a positive number"),
        ({"background_days": 0.0}, "background_days must be positive or None"),
        ({"history_days": -1.0}, "history_days must be positive or None"),
        ({"history_days": 0.0}, "history_days must be positive or None"),
        ({"neighbours": 0}, "neighbours must be a positive integer"),
        ({"scales": 3}, "scales must be 1 or 2"),
        ({"restarts": 4}, "restarts must be 1, 2 or 3"),
        ({"max_iter": 0}, "max_iter must be a positive integer"),
        ({"tol": 0.0}, "tol must be positive"),
        ({"kernel": "cubic"}, "unknown kernel 'cubic': use one of gaussian, histogram"),
        ({"engine": "gpu"}, "unknown engine 'gpu': use one of numba, reference"),
    ],
)
def test_bad_hyperparameters_are_refused_with_their_name(kw: dict[str, Any], message: str) -> None:
    ev = EventSet.from_arrays([1.0, 2.0, 3.0], [0.0, 10.0, 20.0], np.zeros(3), crs=CRS)
    with pytest.raises(ValueError, match=message):
        ETASForecaster(**kw).fit(ev, cutoff=10.0)


def test_defaults_are_accepted() -> None:
    ETASForecaster()._validate_params()
    ETASForecaster(bandwidth=100.0, max_mean_delay=None, background_days=None,
                   history_days=None, scales=2, restarts=3)._validate_params()  # fmt: skip


def test_omega_bounds_and_starting_points() -> None:
    assert ETASForecaster(max_mean_delay=20.0)._omega_bounds == (1 / 20.0, 1000.0)
    assert ETASForecaster(max_mean_delay=None, max_days=40.0)._omega_bounds == (1 / 400.0, 1000.0)
    starts = ETASForecaster(restarts=3, max_days=60.0, max_distance=800.0, min_sigma=30.0)._starts()
    assert starts == [
        {"theta": 0.3, "omega": 0.1, "sigma": 100.0},
        {"theta": 0.1, "omega": 1 / 3, "sigma": 90.0},
        {"theta": 0.5, "omega": 2.0 / 30.0, "sigma": 200.0},  # twice the slowest decay
    ]
    slow = ETASForecaster(restarts=3, max_days=6.0, max_mean_delay=0.5)._starts()
    assert [s["omega"] for s in slow] == [2.0, 2.0, 4.0]  # never below the bound
    assert len(ETASForecaster(restarts=1)._starts()) == 1


def test_no_events_give_a_fitted_model_with_no_forecast() -> None:
    ev = EventSet.from_arrays([], [], [], crs=CRS)
    fit = ETASForecaster(max_days=30.0, max_distance=800.0).fit(ev, cutoff=100.0)
    assert fit.branching_ratio_ == 0.0 and fit.trust_reasons_ == ["only 0 events to fit on"]
    assert fit.params_summary()["n_iter"] == 0 and fit.params_summary()["converged"] is True
    assert fit.omega_ == pytest.approx(6.0 / 30.0) and fit.sigma_ == 100.0
    fc = fit.predict(GRID, 100.0, 107.0)
    assert fc.expected_count.sum() == 0.0 and fc.terms["triggered"].sum() == 0.0


def test_prepare_keeps_the_history_window_and_orders_by_time() -> None:
    t = np.array([5.0, 50.0, 20.0, 90.0, 60.0])
    ev = EventSet.from_arrays(t, np.arange(5) * 1_000.0, np.zeros(5), crs=CRS, harm=[1, 2, 3, 4, 5],
                              mark=[0, 1, 0, 1, 1])  # fmt: skip
    tt, x, _, marks, harm = ETASForecaster(history_days=45.0, marked=True)._prepare(ev, 95.0)
    np.testing.assert_array_equal(tt, [50.0, 60.0, 90.0])
    np.testing.assert_array_equal(x, [1_000.0, 4_000.0, 3_000.0])
    np.testing.assert_array_equal(marks, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(harm, [2.0, 5.0, 4.0])
    all_t = ETASForecaster(history_days=None)._prepare(ev, 95.0)
    assert all_t[0].size == 5 and np.all(all_t[3] == -1.0)


def _small_sim(days: float = 60.0) -> EventSet:
    model = ETASModel(mu=5.0, theta=(0.5,), omega=0.2, sigma=70.0, hotspots=5, hotspot_sd=800.0)
    area = shapely.box(520_000, 170_000, 526_000, 176_000)
    return simulate_etas(model, area, days=days, seed=5, crs=CRS).events


def test_small_fit_is_the_same_by_both_engines() -> None:
    ev = _small_sim(days=30.0)
    kw: dict[str, Any] = dict(history_days=None, max_days=30.0, max_distance=500.0, restarts=1,
                              max_iter=4, scales=2)  # fmt: skip
    a = ETASForecaster(**kw).fit(ev, cutoff=30.0)
    b = ETASForecaster(engine="reference", **kw).fit(ev, cutoff=30.0)
    np.testing.assert_allclose(a.theta_, b.theta_, rtol=1e-8)
    np.testing.assert_allclose(a.sigmas_, b.sigmas_, rtol=1e-8)
    np.testing.assert_allclose(a.scale_weights_, b.scale_weights_, rtol=1e-8)
    assert a.omega_ == pytest.approx(b.omega_, rel=1e-8)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-10)
    assert a.n_pairs_ > 0 and b.n_pairs_ == 0


def test_small_fit_finds_the_triggering_and_counts_the_background() -> None:
    ev = _small_sim()
    fit = ETASForecaster(history_days=None, max_days=30.0, max_distance=500.0, restarts=1,
                         max_iter=40, scales=2).fit(ev, cutoff=60.0)  # fmt: skip
    assert fit.sigmas_[0] <= fit.sigmas_[1] and fit.scale_weights_.sum() == pytest.approx(1.0)
    assert 0.3 < fit.branching_ratio_ < 0.7  # simulated: 0.5
    assert 0.1 < fit.omega_ < 0.4  # simulated: 0.2
    assert fit.window_days_ == pytest.approx(60.0 - float(ev.t.min()))
    p = fit.p_background_
    assert p.shape == (len(ev),) and np.all((p > 0) & (p <= 1))
    # mu: the expected number of background events per day
    assert fit.mu_ == pytest.approx(p.sum() / fit.window_days_, rel=1e-3)


def test_month_records_and_counts_are_refused_before_fitting() -> None:
    months = EventSet.from_arrays([1.0, 32.0, 60.0], [0.0, 1.0, 2.0], np.zeros(3), crs=CRS,
                                  time_precision="month")  # fmt: skip
    with pytest.raises(InputError, match="^ETAS needs timestamped events"):
        ETASForecaster()._fit(months, 90.0)
    counted = EventSet.from_arrays([1.0, 2.0], [0.0, 1.0], np.zeros(2), crs=CRS, count=[1.0, 2.0])
    with pytest.raises(InputError, match="^ETAS models single events"):
        ETASForecaster()._fit(counted, 90.0)


def test_gaussian_filter_is_what_the_raster_smooths_with() -> None:
    r = Raster(0.0, 0.0, 50.0, 41, 41)
    out = r.smooth(np.array([1_025.0]), np.array([1_025.0]), np.ones(1), 100.0)
    img = np.zeros((41, 41))
    img[20, 20] = 1.0
    np.testing.assert_allclose(
        out, gaussian_filter(img, 2.0, mode="constant", truncate=4.0).ravel()
    )


# -- a histogram kernel set by hand ---------------------------------------------------------
HIST = {
    "kernel": "histogram",
    "time_edges": (0.0, 1.0, 3.0, 7.0),
    "space_edges": (0.0, 100.0, 300.0),
    "max_days": 14.0,
}


def _hist_weights(ring: int) -> np.ndarray:
    w = np.zeros((4, 3))  # time bins 0-1, 1-3, 3-7, 7-14 days; rings 0-100, 100-300, 300-1000 m
    w[:, ring] = [0.1, 0.4, 0.3, 0.2]
    return w


def test_histogram_time_weights_share_each_bin_by_its_days() -> None:
    model = _model(params=HIST, kernel_weights=_hist_weights(1))
    w = model.time_weights(CUTOFF, CUTOFF + 3.0)  # lags 1-4 days of the event at day 99
    assert w[0] == 0.0
    assert w[1] == pytest.approx(THETA * (0.4 + 0.3 / 4))
    assert model.params_summary()["histogram"]["time_edges_days"] == [0.0, 1.0, 3.0, 7.0, 14.0]


def test_histogram_forecast_puts_offspring_on_their_ring() -> None:
    grid = Grid.covering(13_700, 13_700, 16_799, 16_799, cell_size=100.0, crs=CRS)
    cell = grid.assign([EV_XY[0], EV_XY[0] + 200.0], [EV_XY[1], EV_XY[1]])
    got = {}
    for ring in (0, 1):
        model = _model(params=HIST, kernel_weights=_hist_weights(ring))
        fc = model.predict(grid, CUTOFF, CUTOFF + 3.0)
        got[ring] = fc.terms["triggered"][cell]
        # the history event's offspring (first generation and cascade) all lie in this grid;
        # the background event's cascade, 7 km away, does not
        first = float(model.time_weights(CUTOFF, CUTOFF + 3.0).sum())
        total = first + _closed_form(CUTOFF, CUTOFF + 3.0)["extra"]
        assert fc.terms["triggered"].sum() == pytest.approx(total, rel=2e-3)
    # the inner ring puts its offspring in the event's own cell, the 100-300 m ring around it
    assert got[0][0] > 5 * got[1][0]
    assert got[1][1] > 5 * got[0][1]


def test_the_fit_window_starts_at_the_first_event_kept() -> None:
    ev = _small_sim()
    fit = ETASForecaster(history_days=20.0, max_days=10.0, max_distance=500.0, restarts=1,
                         max_iter=3).fit(ev, cutoff=60.0)  # fmt: skip
    kept = ev.t[ev.t >= 40.0]
    assert fit.n_fit_events_ == len(kept) == len(fit.t_)
    assert fit.window_days_ == pytest.approx(60.0 - kept.min())
    assert fit.window_start_ == pytest.approx(kept.min())
    assert len(fit.time_profile_) == math.ceil(60.0 - kept.min())
    one = EventSet.from_arrays([59.5], [0.0], [0.0], crs=CRS)
    lone = ETASForecaster(history_days=None, restarts=1, max_iter=3).fit(one, cutoff=60.0)
    assert lone.window_days_ == 1.0  # at least a day


class _Points:
    """A support known only by its units' points and areas (no grid, no geometries)."""

    crs = CRS
    n_units = 2
    unit_ids = ["P", "Q"]
    centroids = np.array([[100.0, 200.0], [500.0, 900.0]])
    unit_area = np.array([400.0, 10_000.0])

    def assign(self, x: Any, y: Any) -> np.ndarray:
        return np.full(np.shape(x), -1, dtype=np.int64)


def test_support_bounds_of_points_pad_by_the_largest_unit() -> None:
    # the points' box widened by the side of a square of the largest area (100 m)
    assert _support_bounds(_Points()) == (0.0, 100.0, 600.0, 1_000.0)


def test_a_fit_collapses_victims_of_one_incident_when_asked() -> None:
    ev = _small_sim(days=30.0)
    twice = EventSet.from_arrays(
        np.concatenate([ev.t, ev.t[:10]]), np.concatenate([ev.x, ev.x[:10] + 5.0]),
        np.concatenate([ev.y, ev.y[:10]]), crs=CRS,
    )  # fmt: skip
    kw: dict[str, Any] = dict(history_days=None, restarts=1, max_iter=2)
    merged = ETASForecaster(**kw).fit(twice, cutoff=30.0)
    kept = ETASForecaster(deduplicate=False, **kw).fit(twice, cutoff=30.0)
    assert merged.params_summary()["records_collapsed"] == 10
    assert merged.n_fit_events_ == len(ev) and kept.n_fit_events_ == len(ev) + 10


def test_theta_counts_the_offspring_beyond_the_space_cut_off() -> None:
    """The compensator divides by the kernel's mass inside ``max_distance``: a cut-off at two
    kernel widths (86% of the mass inside) must leave the branching ratio about where a wide
    cut-off puts it. (The sigma update ignores the cut-off, which costs some of the ratio.)"""
    model = ETASModel(mu=15.0, theta=(0.5,), omega=0.3, sigma=150.0, hotspots=5, hotspot_sd=1500.0)
    area = shapely.box(520_000, 170_000, 530_000, 180_000)
    ev = simulate_etas(model, area, days=60.0, seed=3, crs=CRS).events
    kw: dict[str, Any] = dict(history_days=None, max_days=30.0, restarts=1)
    wide = ETASForecaster(max_distance=1_000.0, **kw).fit(ev, cutoff=60.0)
    cut = ETASForecaster(max_distance=300.0, **kw).fit(ev, cutoff=60.0)
    assert wide.branching_ratio_ == pytest.approx(0.5, rel=0.15)
    assert cut.branching_ratio_ == pytest.approx(wide.branching_ratio_, rel=0.25)


def test_a_mark_seen_once_gets_its_own_branching_ratio() -> None:
    ev = _small_sim(days=30.0)
    # one fatal shooting (mark 1) followed by four more within 60 m and three days
    t = np.concatenate([ev.t, [10.0, 10.5, 11.0, 12.0, 12.5]])
    x = np.concatenate([ev.x, 523_000.0 + np.array([0.0, 30.0, -40.0, 20.0, 50.0])])
    y = np.concatenate([ev.y, 173_000.0 + np.array([0.0, 20.0, 10.0, -45.0, 5.0])])
    mark = np.concatenate([np.zeros(len(ev), np.int64), [1, 0, 0, 0, 0]])
    marked = EventSet.from_arrays(t, x, y, crs=CRS, mark=mark)
    fit = ETASForecaster(history_days=None, marked=True, max_days=30.0, max_distance=500.0,
                         restarts=1, max_iter=20).fit(marked, cutoff=30.0)  # fmt: skip
    assert fit.theta_for(1) > 0.5


def test_kernel_cover_is_the_mask_smoothed_like_the_events() -> None:
    # the cover an event's kernel is divided by is its kernel's mass on the area's pixels, as
    # smooth() spreads it: plain (factor 1) and coarsened (factors 2 and 5) filters
    r = Raster(0.0, 0.0, 50.0, 120, 90)
    cx, cy = r.centres()
    inside = (cx < 3_000.0) & (cy > 1_000.0)
    for sigma in (100.0, 300.0, 800.0):
        cover = r.kernel_cover(inside, sigma)
        mass = r.smooth(cx[inside], cy[inside], np.ones(int(inside.sum())), sigma)
        np.testing.assert_allclose(cover, np.clip(mass, 0.0, 1.0), rtol=1e-9, atol=1e-12)


def test_fifty_events_are_enough_to_be_assessed() -> None:
    assert _model(**_many(50)).trust_reasons_ == []
    assert _model(**_many(49)).trust_reasons_ == ["only 49 events to fit on"]


def test_a_ring_narrower_than_a_pixel_goes_to_the_nearest_pixels() -> None:
    # a 10-20 m ring on 50 m pixels holds no pixel centre: its offspring go to the pixels
    # nearest 15 m, the event's own
    params = {**HIST, "space_edges": (0.0, 10.0, 20.0)}
    grid = Grid.covering(13_700, 13_700, 16_799, 16_799, cell_size=100.0, crs=CRS)
    model = _model(params=params, kernel_weights=_hist_weights(1))
    fc = model.predict(grid, CUTOFF, CUTOFF + 3.0)
    first = float(model.time_weights(CUTOFF, CUTOFF + 3.0).sum())
    total = first + _closed_form(CUTOFF, CUTOFF + 3.0)["extra"]
    assert fc.terms["triggered"].sum() == pytest.approx(total, rel=2e-3)
    cell = int(grid.assign([EV_XY[0]], [EV_XY[1]])[0])
    assert fc.terms["triggered"][cell] > first
