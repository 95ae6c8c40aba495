"""Cell-to-area assignment and roll-ups."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.geo.assign import cell_area_index, cell_area_shares, roll_up, roll_up_to_boroughs
from patrolcast.geo.support import AreaSupport, Grid

CRS = "EPSG:27700"


@pytest.fixture()
def areas() -> AreaSupport:
    # two areas split by a diagonal-ish line, so cells straddle them
    a = shapely.Polygon([(0, 0), (1000, 0), (1000, 330), (0, 730)])
    b = shapely.Polygon([(0, 730), (1000, 330), (1000, 1000), (0, 1000)])
    return AreaSupport(
        ("A", "B"),
        ("Area A", "Area B"),
        (a, b),
        CRS,
        level="ward",
        borough_ids=("E09X", "E09X"),
        borough_names=("Borough", "Borough"),
    )


@pytest.fixture()
def grid() -> Grid:
    g = Grid.covering(-100, -100, 1099, 1099, cell_size=100.0, crs=CRS)  # one ring outside
    return g


def test_shares_are_overlap_fractions(grid: Grid, areas: AreaSupport) -> None:
    shares = cell_area_shares(grid, areas).toarray()
    cells = grid.cell_polygons()
    for i in range(0, grid.n_units, 7):
        for j, poly in enumerate(areas.geometries):
            expected = shapely.area(shapely.intersection(cells[i], poly)) / 100.0**2
            assert shares[i, j] == pytest.approx(expected, abs=1e-12)
    inside = shapely.within(cells, shapely.box(0, 0, 1000, 1000))
    np.testing.assert_allclose(shares[inside].sum(axis=1), 1.0)
    assert np.all(shares[~shapely.intersects(cells, shapely.box(1, 1, 999, 999))] == 0)


def test_centre_rule_and_nearest(grid: Grid, areas: AreaSupport) -> None:
    index = cell_area_index(grid, areas)
    c = grid.centroids
    outside = (c[:, 0] < 0) | (c[:, 0] > 1000) | (c[:, 1] < 0) | (c[:, 1] > 1000)
    assert np.all(index[outside] == -1)
    assert np.all(index[~outside] >= 0)
    # a centre below the dividing line belongs to A
    line_y = 730 - 0.4 * c[:, 0]
    assert np.all(index[~outside & (c[:, 1] < line_y - 1)] == 0)
    assert np.all(index[~outside & (c[:, 1] > line_y + 1)] == 1)
    # ring cells overlap no area even with nearest=True; partially covering cells get one
    shifted = Grid(-50.0, -50.0, 100.0, 11, 11, CRS, np.ones((11, 11), bool))
    near = cell_area_index(shifted, areas, nearest=True)
    assert np.all(near >= 0)  # every shifted cell overlaps an area by a quarter at least


def test_roll_up_preserves_totals(grid: Grid, areas: AreaSupport) -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 3, grid.n_units)
    inside = cell_area_index(grid, areas) >= 0
    centre = roll_up(values, grid, areas, rule="centre")
    share = roll_up(values, grid, areas, rule="share")
    assert centre.sum() == pytest.approx(values[inside].sum())
    cells_in = shapely.within(grid.cell_polygons(), shapely.box(0, 0, 1000, 1000))
    assert share.sum() == pytest.approx(values[cells_in].sum())
    assert np.all(share > 0) and np.all(centre > 0)
    with pytest.raises(ValueError, match="rule"):
        roll_up(values, grid, areas, rule="max")
    with pytest.raises(ValueError, match="one value per cell"):
        roll_up(values[:-1], grid, areas)
    codes, names, sums = roll_up_to_boroughs(centre, areas)
    assert codes == ("E09X",) and names == ("Borough",)
    assert sums[0] == pytest.approx(centre.sum())


def test_crs_mismatch_refused(areas: AreaSupport) -> None:
    other = Grid.covering(0, 0, 100, 100, cell_size=50.0, crs="EPSG:32630")
    with pytest.raises(ValueError, match="CRS"):
        cell_area_index(other, areas)
