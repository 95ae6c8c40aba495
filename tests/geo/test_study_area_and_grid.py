"""Study areas and grids clipped to them."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.geo.study_area import StudyArea, study_area_from_points
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"


def _brute_force_active(grid: Grid, geom: shapely.Geometry) -> np.ndarray:
    out = np.zeros(grid.shape, bool)
    for r in range(grid.ny):
        for c in range(grid.nx):
            x, y = grid.x0 + c * grid.cell_size, grid.y0 + r * grid.cell_size
            cell = shapely.box(x, y, x + grid.cell_size, y + grid.cell_size)
            out[r, c] = cell.intersection(geom).area > 0
    return out


def test_clipped_grid_activates_exactly_the_overlapping_cells() -> None:
    # an L shape whose edges run along cell boundaries (touching cells must stay inactive)
    # plus a triangle cutting cells diagonally
    ell = shapely.Polygon([(0, 0), (1000, 0), (1000, 250), (250, 250), (250, 1000), (0, 1000)])
    tri = shapely.Polygon([(1100, 600), (1900, 600), (1500, 1300)])
    geom = shapely.union_all([ell, tri])
    grid = Grid.clipped_to(StudyArea(geom, CRS, "test"), cell_size=100.0)
    assert grid.crs == CRS
    expected = _brute_force_active(grid, geom)
    assert np.array_equal(grid.active, expected)
    assert grid.n_units == expected.sum()
    # every active cell overlaps the study area; the covered area is at least the study area
    assert grid.unit_area.sum() >= geom.area


def test_clipped_grid_needs_a_crs_for_bare_geometry() -> None:
    with pytest.raises(ValueError, match="crs"):
        Grid.clipped_to(shapely.box(0, 0, 10, 10))
    g = Grid.clipped_to(shapely.box(0, 0, 1000, 500), crs=CRS, cell_size=250.0)
    assert g.n_units == 8  # the row and column touching the far edges stay inactive


def test_cell_polygons_match_cells() -> None:
    g = Grid.clipped_to(shapely.Point(500, 500).buffer(400), crs=CRS, cell_size=100.0)
    polys = g.cell_polygons()
    assert len(polys) == g.n_units
    centres = shapely.centroid(polys)
    np.testing.assert_allclose(shapely.get_x(centres), g.centroids[:, 0])
    np.testing.assert_allclose(shapely.get_y(centres), g.centroids[:, 1])


@pytest.mark.parametrize("method", ["hull", "bbox"])
def test_study_area_from_points_contains_every_point_with_buffer(method: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 5000, 300)
    y = rng.uniform(0, 3000, 300)
    area = study_area_from_points(np.append(x, np.nan), np.append(y, 1.0), crs=CRS, method=method)
    assert area.contains(x, y).all()
    # the buffer reaches 500 m beyond the outermost points
    assert area.contains([x.min() - 450], [y[np.argmin(x)]])[0]
    assert "300 points" in area.source
    hull = study_area_from_points(x, y, crs=CRS, method="hull", buffer=0)
    box = study_area_from_points(x, y, crs=CRS, method="bbox", buffer=0)
    assert hull.area_km2 <= box.area_km2


def test_study_area_from_points_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="no events"):
        study_area_from_points([np.nan], [np.nan], crs=CRS)
    with pytest.raises(InputError, match="method"):
        study_area_from_points([0, 1, 0], [0, 0, 1], crs=CRS, method="circle")
    with pytest.raises(InputError, match="buffer"):
        study_area_from_points([5.0], [5.0], crs=CRS, buffer=0)
    with pytest.raises(InputError, match="degrees"):
        study_area_from_points([0, 1, 0], [0, 0, 1], crs="EPSG:4326")
