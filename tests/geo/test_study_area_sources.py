"""Study areas from boundary files: GDAL formats, layer and where, the force holding the data."""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.geo.study_area import majority_area, study_area_from_file

BNG = "EPSG:27700"
WEST = shapely.box(530_000, 180_000, 532_000, 182_000)  # 4 km2
EAST = shapely.box(532_000, 180_000, 533_000, 181_000)  # 1 km2


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"PFA22CD": ["E1", "E2"], "PFA22NM": ["West", "East"]}, geometry=[WEST, EAST], crs=BNG
    )


def test_geopackage_layer_and_where_pick_the_features(tmp_path: Path) -> None:
    path = tmp_path / "forces.gpkg"
    _frame().to_file(path, layer="forces", driver="GPKG")
    _frame().iloc[:1].to_file(path, layer="other", driver="GPKG")
    area = study_area_from_file(path, crs=BNG, layer="forces", where="PFA22NM = 'East'")
    assert area.area_km2 == pytest.approx(1.0)
    assert "forces.gpkg" in area.source and "East" in area.source
    assert area.to_json()["km2"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="no features"):
        study_area_from_file(path, crs=BNG, layer="forces", where="PFA22NM = 'North'")


def test_gzipped_geojson_in_wgs84_is_reprojected(tmp_path: Path) -> None:
    raw = tmp_path / "city.geojson"
    _frame().to_crs("EPSG:4326").to_file(raw, driver="GeoJSON")
    gz = tmp_path / "city.geojson.gz"
    gz.write_bytes(gzip.compress(raw.read_bytes()))
    area = study_area_from_file(gz, crs=BNG)
    assert area.area_km2 == pytest.approx(5.0, rel=1e-3)


def test_majority_area_is_the_polygon_holding_most_events(tmp_path: Path) -> None:
    path = tmp_path / "forces.gpkg"
    _frame().to_file(path, driver="GPKG")
    x = np.r_[np.full(9, 532_500.0), 531_000.0, 600_000.0]  # 9 east, 1 west, 1 nowhere
    y = np.r_[np.full(9, 180_500.0), 181_000.0, 100_000.0]
    area, share = majority_area(path, x, y, crs=BNG, code_field="PFA22CD", name_field="PFA22NM")
    assert "East (E2)" in area.source
    assert share == pytest.approx(9 / 11)
    assert area.contains(x, y).sum() == 9
