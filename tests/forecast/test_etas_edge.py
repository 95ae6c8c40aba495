"""Edge correction of the ETAS background map: its mass stays inside the study area."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import shapely

from patrolcast.events import EventSet
from patrolcast.forecast.etas import ETASForecaster, Raster
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.box(525000, 175000, 531000, 181000)
START = 18_000.0


@pytest.fixture(scope="module")
def events() -> EventSet:
    # half the background in wide hot spots, many of them touching the area's edge
    model = ETASModel(mu=6.0, theta=(0.3,), omega=0.3, sigma=80.0, hotspots=6, hotspot_sd=1500.0,
                      hotspot_share=0.5)  # fmt: skip
    return simulate_etas(model, AREA, days=300.0, seed=4, crs=CRS, start=START).events


def test_kernel_cover_is_the_share_of_a_kernel_inside_the_mask() -> None:
    for res, sigma in ((25.0, 50.0), (50.0, 800.0)):  # plain and coarsened filter
        r = Raster(0.0, 0.0, res, 600, 400)
        cx, _ = r.centres()
        inside = cx < 300 * res  # the left half of the raster (the mask is 0 beyond it)
        cover = r.kernel_cover(inside, sigma).reshape(r.ny, r.nx)
        mid = r.ny // 2
        assert cover[mid, 150] == pytest.approx(1.0, abs=1e-3)  # deep inside
        assert cover[mid, 500] == pytest.approx(0.0, abs=1e-3)  # far outside
        # at the edge a symmetric kernel has half its mass on each side
        assert cover[mid, 299:301].mean() == pytest.approx(0.5, abs=0.03)


def test_the_corrected_background_keeps_its_whole_mass_in_the_area(events: EventSet) -> None:
    cut = START + 240.0
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    days = 30.0
    fitted = ETASForecaster(history_days=240.0, restarts=1).fit(events, cutoff=cut)
    expected_total = fitted.mu_ * fitted.level_at_cutoff_ * days
    fixed = fitted.predict(grid, cut, cut + days).terms["background"]
    leaky = copy.copy(fitted)
    leaky.edge_correction = False
    raw = leaky.predict(grid, cut, cut + days).terms["background"]
    # every background event lies in the area, so the map should hold all of mu's mass there
    assert fixed.sum() == pytest.approx(expected_total, rel=0.01)
    assert raw.sum() < 0.97 * expected_total  # without it, a share leaks over the edges
    # the correction raises the edge cells, not the middle
    cx, cy = grid.centroids[:, 0], grid.centroids[:, 1]
    xmin, ymin, xmax, ymax = shapely.bounds(AREA)
    edge_dist = np.minimum.reduce([cx - xmin, xmax - cx, cy - ymin, ymax - cy])
    gain = fixed / np.maximum(raw, 1e-12)
    assert np.median(gain[edge_dist < 250.0]) > np.median(gain[edge_dist > 2500.0]) + 0.05
    assert np.median(gain[edge_dist > 2500.0]) == pytest.approx(1.0, abs=0.05)
