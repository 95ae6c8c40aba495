"""The retrospective KDE forecaster: what it computes, on grids and areas."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy import stats

from patrolcast.events import EventSet
from patrolcast.forecast.kde import KDEForecaster
from patrolcast.forecast.kernels import SpatialKernel, point_kernel_sum_reference
from patrolcast.geo.support import AreaSupport, Grid

CRS = "EPSG:27700"


@pytest.fixture()
def grid() -> Grid:
    return Grid.covering(0, 0, 9_999, 7_999, cell_size=250.0, crs=CRS)


def _events(n: int = 60, seed: int = 0) -> EventSet:
    rng = np.random.default_rng(seed)
    return EventSet.from_arrays(
        rng.uniform(0, 80, n),
        rng.normal(5_000, 800, n),
        rng.normal(4_000, 600, n),
        crs=CRS,
        harm=rng.choice([1.0, 20.0], n),
    )


def test_grid_forecast_is_density_times_area_times_rate(grid: Grid) -> None:
    ev = _events()
    model = KDEForecaster(bandwidth=300.0, lookback_days=28.0, normalise=False, binning="nearest")
    fc = model.fit(ev, cutoff=80.0).predict(grid, 80.0, 87.0)
    recent = ev.between(52.0, 80.0)
    # events binned to their cell centres, then the direct sum
    cells = grid.assign(recent.x, recent.y)
    snapped = grid.centroids[cells]
    kernel = SpatialKernel("gaussian", 300.0)
    dens = point_kernel_sum_reference(
        grid.centroids, snapped[:, 0], snapped[:, 1], np.vstack([recent.count, recent.harm]), kernel
    )
    expected = dens * 250.0**2 * 7.0 / 28.0
    np.testing.assert_allclose(fc.expected_count, expected[0], rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(fc.expected_harm, expected[1], rtol=1e-9, atol=1e-15)
    # events far from the edge: the surface integrates to the recent rate times the window
    assert fc.expected_count.sum() == pytest.approx(len(recent) * 7 / 28, rel=1e-3)


def test_normalised_total_is_rate_times_window(grid: Grid) -> None:
    ev = _events()
    fc = KDEForecaster(lookback_days=40.0).fit(ev, cutoff=80.0).predict(grid, 80.0, 90.0)
    recent = ev.between(40.0, 80.0)
    assert fc.expected_count.sum() == pytest.approx(recent.total_count * 10 / 40)
    assert fc.expected_harm.sum() == pytest.approx(recent.harm.sum() * 10 / 40)
    # the peak sits where the events are
    peak = grid.centroids[np.argmax(fc.expected_count)]
    assert abs(peak[0] - 5_000) < 1_000 and abs(peak[1] - 4_000) < 1_000


def test_quartic_kernel_is_zero_beyond_bandwidth(grid: Grid) -> None:
    ev = EventSet.from_arrays([1.0], [5_125.0], [4_125.0], crs=CRS)
    fc = (
        KDEForecaster(kernel="quartic", bandwidth=600.0).fit(ev, cutoff=2.0).predict(grid, 2.0, 9.0)
    )
    d = np.hypot(grid.centroids[:, 0] - 5_125, grid.centroids[:, 1] - 4_125)
    assert np.all(fc.expected_count[d >= 600] == 0)
    assert np.all(fc.expected_count[d < 600] > 0)


def test_area_forecast_integrates_the_surface_over_each_area() -> None:
    boxes = [
        shapely.box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000)
        for i in range(10)
        for j in range(8)
    ]
    ids = tuple(f"A{k:02d}" for k in range(len(boxes)))
    areas = AreaSupport(ids, ids, tuple(boxes), CRS)
    ev = _events(seed=3)
    model = KDEForecaster(
        bandwidth=500.0, lookback_days=80.0, normalise=False, area_resolution=25.0
    )
    fc = model.fit(ev, cutoff=80.0).predict(areas, 80.0, 94.0)
    # closed form: the Gaussian's integral over a box is a product of normal CDF differences
    expected = np.zeros(areas.n_units)
    for k, box in enumerate(areas.geometries):
        x0, y0, x1, y1 = box.bounds
        px = stats.norm.cdf((x1 - ev.x) / 500) - stats.norm.cdf((x0 - ev.x) / 500)
        py = stats.norm.cdf((y1 - ev.y) / 500) - stats.norm.cdf((y0 - ev.y) / 500)
        expected[k] = np.sum(px * py) * 14 / 80
    np.testing.assert_allclose(fc.expected_count, expected, rtol=0.02, atol=1e-3)


def test_area_counts_are_not_inflated_by_large_areas() -> None:
    # one big area with its own events at its point, one small neighbour with none: the big
    # area keeps about its own count; it is not its peak density times its large area
    big = shapely.box(0, 0, 3_000, 3_000)
    small = shapely.box(3_000, 1_400, 3_200, 1_600)
    areas = AreaSupport(("BIG", "SMALL"), ("big", "small"), (big, small), CRS)
    px, py = areas.centroids[0]
    ev = EventSet.from_arrays([1.0], [px], [py], crs=CRS, count=[30.0])
    model = KDEForecaster(bandwidth=300.0, lookback_days=28.0, normalise=False)
    fc = model.fit(ev, cutoff=28.0).predict(areas, 28.0, 56.0)
    assert 25.0 < fc.expected_count[0] <= 30.0
    assert fc.expected_count[1] < 0.5


def test_older_events_ignored(grid: Grid) -> None:
    near = EventSet.from_arrays([70.0], [2_000.0], [2_000.0], crs=CRS)
    far_old = EventSet.from_arrays([10.0], [8_000.0], [6_000.0], crs=CRS)
    both = EventSet.from_arrays(
        np.r_[near.t, far_old.t], np.r_[near.x, far_old.x], np.r_[near.y, far_old.y], crs=CRS
    )
    a = KDEForecaster(lookback_days=28).fit(near, cutoff=80.0).predict(grid, 80.0, 87.0)
    b = KDEForecaster(lookback_days=28).fit(both, cutoff=80.0).predict(grid, 80.0, 87.0)
    np.testing.assert_array_equal(a.expected_count, b.expected_count)


@pytest.mark.parametrize(
    "params", [{"kernel": "cosine"}, {"bandwidth": -5.0}, {"lookback_days": 0}, {"binning": "cic"}]
)
def test_bad_hyperparameters_refused_at_fit(params: dict) -> None:
    model = KDEForecaster(**params)  # storing is fine; fit validates
    with pytest.raises(ValueError):
        model.fit(_events(), cutoff=80.0)


@pytest.mark.realdata
def test_london_lsoa_violence_forecast_is_sensible(shared_data) -> None:  # type: ignore[no-untyped-def]
    """Real MPS counts: a monthly LSOA KDE keeps the recent rate and ranks well above chance."""
    import pandas as pd

    from patrolcast.geo.area_counts import events_from_area_counts, month_start_days
    from patrolcast.geo.boundaries import read_lsoa_boundaries
    from tests.conftest import require

    lsoas = read_lsoa_boundaries(
        require(shared_data / "boundaries" / "london_lsoa2021_by_borough_shp.zip")
    )
    wide = pd.read_csv(require(shared_data / "london_datastore_mps" / "recorded-crime-lsoa.csv.gz"))
    months = [c for c in wide.columns if c.isdigit()]
    long = (
        wide[wide["major_category"] == "VIOLENCE AGAINST THE PERSON"]
        .melt(id_vars=["lsoa_code"], value_vars=months, var_name="month", value_name="count")
        .rename(columns={"lsoa_code": "area_code"})
    )
    events = events_from_area_counts(long, lsoas).events
    start, end = month_start_days(pd.Series([months[-2], months[-1]]))
    model = KDEForecaster(bandwidth=300.0, lookback_days=90.0)
    fc = model.fit(events, cutoff=start).predict(lsoas, start, end)
    recent = events.between(model.cutoff_ - model.lookback_length_, start)
    assert fc.expected_count.sum() == pytest.approx(
        recent.total_count * (end - start) / model.lookback_length_
    )
    # the top 5% of London's area by predicted density holds far more than 5% of next month
    nxt = events.between(start, end)
    observed = np.bincount(lsoas.assign(nxt.x, nxt.y), weights=nxt.count, minlength=lsoas.n_units)
    density = fc.expected_count / lsoas.unit_area
    order = np.argsort(-density, kind="stable")
    top = order[np.cumsum(lsoas.unit_area[order]) <= 0.05 * lsoas.unit_area.sum()]
    assert observed[top].sum() / observed.sum() > 2 * 0.05
