import numpy as np
import pytest
import shapely

from patrolcast.geo.support import AreaSupport, Grid


def test_grid_assign_roundtrip() -> None:
    active = np.ones((3, 4), bool)
    active[0, 0] = False
    g = Grid(1000.0, 2000.0, 250.0, 4, 3, "EPSG:27700", active)
    assert g.n_units == 11
    # the centre of every unit maps back to that unit
    c = g.centroids
    assert np.array_equal(g.assign(c[:, 0], c[:, 1]), np.arange(11))
    # inactive cell and outside points map to -1
    assert g.assign([1010.0, 0.0, np.nan], [2010.0, 0.0, 1.0]).tolist() == [-1, -1, -1]
    assert g.unit_ids[0] == "E1250N2000"
    vals = np.arange(11.0)
    assert np.array_equal(g.from_raster(g.to_raster(vals)), vals)


def test_grid_covering_includes_max_edge() -> None:
    g = Grid.covering(0.0, 0.0, 500.0, 250.0, cell_size=250.0, crs="EPSG:27700")
    assert g.assign([500.0], [250.0])[0] >= 0


def test_area_support_assigns_points() -> None:
    a = shapely.box(0, 0, 10, 10)
    b = shapely.box(10, 0, 20, 10)
    s = AreaSupport(("A", "B"), ("a", "b"), (a, b), "EPSG:27700")
    assert s.assign([5, 15, 10, 30], [5, 5, 5, 5]).tolist() == [0, 1, 0, -1]
    assert np.allclose(s.unit_area, [100, 100])
    assert s.index_of(["B", "Z"]).tolist() == [1, -1]
    with pytest.raises(ValueError):
        AreaSupport(("A", "A"), ("a", "b"), (a, b), "EPSG:27700")
