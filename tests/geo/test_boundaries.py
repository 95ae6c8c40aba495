"""Boundary readers: the London LSOA, ward and borough files, and bad boundary files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.geo.assign import cell_area_index, roll_up
from patrolcast.geo.boundaries import guess_level, read_areas
from patrolcast.geo.study_area import study_area_from_file
from patrolcast.geo.support import Grid
from tests.conftest import require


@pytest.fixture(scope="module")
def boundaries(shared_data: Path) -> Path:
    return shared_data / "boundaries"


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "level", "n", "prefix"),
    [
        ("london_lsoa2021_by_borough_shp.zip", "lsoa", 4994, "E01"),
        ("london_wards.zip", "ward", 654, "E05"),
        ("london_boroughs.gpkg", "borough", 33, "E09"),
    ],
)
def test_london_boundary_files(
    boundaries: Path, name: str, level: str, n: int, prefix: str
) -> None:
    path = require(boundaries / name)
    areas = read_areas(path)
    assert areas.level == level == guess_level(path)
    assert areas.n_units == n
    assert all(code.startswith(prefix) for code in areas.ids)
    assert list(areas.ids) == sorted(areas.ids)
    # every area knows its borough: one of the 33 London boroughs
    assert len(areas.borough_ids) == n
    assert len(set(areas.borough_ids)) == 33
    assert all(code.startswith("E09") for code in areas.borough_ids)
    # polygons are valid and cover Greater London (about 1,572 km2 of land plus the Thames)
    geoms = np.asarray(areas.geometries, dtype=object)
    assert shapely.is_valid(geoms).all()
    assert 1_550 < areas.unit_area.sum() / 1e6 < 1_620
    # representative points fall in their own area
    c = areas.centroids
    assert np.array_equal(areas.assign(c[:, 0], c[:, 1]), np.arange(n))


@pytest.mark.realdata
def test_lsoas_nest_in_their_boroughs(boundaries: Path) -> None:
    lsoas = read_areas(require(boundaries / "london_lsoa2021_by_borough_shp.zip"))
    boroughs = read_areas(require(boundaries / "london_boroughs.gpkg"))
    c = lsoas.centroids
    containing = np.asarray(boroughs.ids)[boroughs.assign(c[:, 0], c[:, 1])]
    assert (containing == np.asarray(lsoas.borough_ids)).mean() == 1.0


@pytest.mark.realdata
def test_london_grid_and_roll_up(boundaries: Path) -> None:
    study = study_area_from_file(require(boundaries / "london_boroughs.gpkg"))
    grid = Grid.clipped_to(study, cell_size=250.0)
    assert 25_000 < grid.n_units < 27_000
    assert grid.unit_area.sum() >= study.area_km2 * 1e6
    boroughs = read_areas(boundaries / "london_boroughs.gpkg")
    index = cell_area_index(grid, boroughs)
    assert (index >= 0).mean() > 0.97  # only edge cells have their centre outside London
    # cell counts roll up to roughly each borough's area in cells
    per_borough = roll_up(np.ones(grid.n_units), grid, boroughs, rule="share")
    np.testing.assert_allclose(per_borough * 250.0**2, boroughs.unit_area, rtol=1e-9)


def _write_gpkg(path: Path, crs: str, columns: dict[str, list[str]]) -> None:
    import geopandas as gpd

    geoms = [shapely.box(-0.2, 51.5, -0.19, 51.51), shapely.box(-0.19, 51.5, -0.18, 51.51)]
    gpd.GeoDataFrame(pd.DataFrame(columns), geometry=geoms, crs=crs).to_file(path, driver="GPKG")


def test_reprojects_wgs84_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "test_wards.gpkg"
    _write_gpkg(path, "EPSG:4326", {"GSS_CODE": ["E05B", "E05A"], "NAME": ["b", "a"]})
    wards = read_areas(path)
    assert wards.level == "ward" and wards.ids == ("E05A", "E05B")
    assert wards.crs == "EPSG:27700"
    assert 510_000 < wards.centroids[0, 0] < 540_000  # metres, not degrees
    assert wards.borough_ids == ()


def test_bad_boundary_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_areas(tmp_path / "missing_lsoa.gpkg")
    empty_zip = tmp_path / "lsoa.zip"
    with zipfile.ZipFile(empty_zip, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    with pytest.raises(InputError, match="no shapefile"):
        read_areas(empty_zip)
    not_zip = tmp_path / "ward.zip"
    not_zip.write_text("not a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        read_areas(not_zip)
    path = tmp_path / "boroughs.gpkg"
    _write_gpkg(path, "EPSG:27700", {"colour": ["red", "blue"]})
    with pytest.raises(InputError, match="no borough code column"):
        read_areas(path)
    with pytest.raises(InputError, match="area level"):
        guess_level(tmp_path / "polygons.gpkg")
