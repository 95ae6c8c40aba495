"""The prospective hotspot forecaster (Bowers, Johnson & Pease 2004) against its reference."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.events import EventSet
from patrolcast.forecast.prospective import (
    ProspectiveForecaster,
    prospective_score_reference,
    time_weights,
)
from patrolcast.geo.support import AreaSupport, Grid

CRS = "EPSG:27700"


@pytest.fixture()
def grid() -> Grid:
    return Grid.covering(0, 0, 4_999, 3_999, cell_size=100.0, crs=CRS)


def _events(grid: Grid, n: int = 80, seed: int = 0) -> EventSet:
    rng = np.random.default_rng(seed)
    cells = rng.choice(grid.n_units, n)
    c = grid.centroids[cells]  # at cell centres, so the grid sum is exact
    return EventSet.from_arrays(
        rng.uniform(0, 70, n), c[:, 0], c[:, 1], crs=CRS, harm=rng.choice([1.0, 8.0], n)
    )


def test_time_weights_decay_per_week() -> None:
    w = time_weights([69.0, 63.5, 62.9, 50.0], cutoff=70.0, time_unit_days=7.0)
    np.testing.assert_allclose(w, [1.0, 1.0, 1 / 2, 1 / 3])


def test_grid_forecast_matches_reference(grid: Grid) -> None:
    ev = _events(grid)
    model = ProspectiveForecaster(bandwidth=100.0, radius=450.0, lookback_days=56.0)
    fc = model.fit(ev, cutoff=70.0).predict(grid, 70.0, 77.0)
    recent = ev.between(14.0, 70.0)
    for weight, got in (("count", fc.expected_count), ("harm", fc.expected_harm)):
        ref = prospective_score_reference(
            grid.centroids,
            recent,
            70.0,
            bandwidth=100.0,
            radius=450.0,
            time_unit_days=7.0,
            weight=weight,
        )
        total = (recent.count if weight == "count" else recent.harm).sum() * 7 / 56
        np.testing.assert_allclose(got, ref / ref.sum() * total, rtol=1e-9, atol=1e-12 * total)
    # nothing beyond the radius of every recent event
    d = np.min(np.hypot(grid.centroids[:, :1] - recent.x, grid.centroids[:, 1:] - recent.y), axis=1)
    assert np.all(fc.expected_count[d > 450] == 0)


def test_area_forecast_integrates_the_score(grid: Grid) -> None:
    boxes = [
        shapely.box(i * 500, j * 500, (i + 1) * 500, (j + 1) * 500)
        for i in range(10)
        for j in range(8)
    ]
    ids = tuple(f"L{k:02d}" for k in range(len(boxes)))
    areas = AreaSupport(ids, ids, tuple(boxes), CRS)
    ev = _events(grid, seed=4)
    fc = ProspectiveForecaster(area_resolution=100.0).fit(ev, cutoff=70.0)
    got = fc.predict(areas, 70.0, 84.0)
    recent = ev.between(14.0, 70.0)
    # the plain score at every 100 m cell centre, summed per area
    score = prospective_score_reference(
        grid.centroids, recent, 70.0, bandwidth=250.0, radius=400.0, time_unit_days=7.0
    )
    per_area = np.bincount(
        areas.assign(grid.centroids[:, 0], grid.centroids[:, 1]),
        weights=score,
        minlength=areas.n_units,
    )
    expected = per_area / per_area.sum() * len(recent) * 14 / 56
    np.testing.assert_allclose(got.expected_count, expected, rtol=1e-9)


def test_recent_events_weigh_more(grid: Grid) -> None:
    # two places, one event each: the one from this week outranks the one from 5 weeks ago
    ev = EventSet.from_arrays([69.0, 35.0], [1_050.0, 3_050.0], [1_050.0, 3_050.0], crs=CRS)
    fc = ProspectiveForecaster().fit(ev, cutoff=70.0).predict(grid, 70.0, 77.0)
    a, b = grid.assign([1_050.0, 3_050.0], [1_050.0, 3_050.0])
    assert fc.expected_count[a] == pytest.approx(6 * fc.expected_count[b])


@pytest.mark.parametrize(
    "params", [{"radius": 0.0}, {"time_unit_days": 0.0}, {"lookback_days": -1.0}, {"binning": "x"}]
)
def test_bad_hyperparameters_refused_at_fit(params: dict, grid: Grid) -> None:
    with pytest.raises(ValueError):
        ProspectiveForecaster(**params).fit(_events(grid), cutoff=70.0)
