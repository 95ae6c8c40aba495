"""Forecast writers: files readable by pyogrio/geopandas, right CRS and count, safe CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from patrolcast.forecast.base import Forecast
from patrolcast.geo.support import AreaSupport, Grid
from patrolcast.io.writers import (
    escape_csv_cell,
    unit_ranks,
    write_forecast_csv,
    write_forecast_geojson,
    write_forecast_gpkg,
    write_forecast_map,
)

CRS = "EPSG:27700"


def _grid_forecast() -> tuple[Grid, Forecast]:
    # A 1 km x 750 m block in central London, 250 m cells; two cells switched off.
    grid = Grid.covering(530_000, 180_000, 530_999, 180_749, cell_size=250, crs=CRS)
    active = grid.active.copy()
    active[0, 0] = active[2, 3] = False
    grid = Grid(grid.x0, grid.y0, grid.cell_size, grid.nx, grid.ny, CRS, active)
    n = grid.n_units
    count = np.linspace(0.1, 1.0, n)
    return grid, Forecast("kde", {}, grid.unit_ids, 0.0, 7.0, count, 2 * count)


def _areas() -> AreaSupport:
    west = shapely.box(530_000, 180_000, 530_500, 180_750)
    east = shapely.box(530_500, 180_000, 531_000, 180_750)
    return AreaSupport(("E01000001", "=cmd|' /C calc'!A0"), ("West", "East"), (west, east), CRS)


def test_gpkg_native_crs_and_feature_count(tmp_path: Path) -> None:
    grid, fc = _grid_forecast()
    path = write_forecast_gpkg(fc, grid, tmp_path / "f.gpkg")
    info = pyogrio.read_info(path, layer="forecast")
    assert info["features"] == grid.n_units == 10
    assert "27700" in info["crs"]
    frame = pyogrio.read_dataframe(path, layer="forecast")
    assert set(frame.columns) >= {"unit_id", "expected_count", "expected_harm", "rank"}
    assert frame["rank"].min() == 1 and frame.loc[frame["rank"] == 1, "expected_harm"].item() == (
        pytest.approx(2.0)
    )
    assert frame.geometry.area.round().eq(250 * 250).all()


def test_geojson_is_wgs84(tmp_path: Path) -> None:
    grid, fc = _grid_forecast()
    path = write_forecast_geojson(fc, grid, tmp_path / "f.geojson")
    info = pyogrio.read_info(path)
    assert info["features"] == grid.n_units
    assert "4326" in info["crs"]
    frame = pyogrio.read_dataframe(path)
    minx, miny, maxx, maxy = frame.total_bounds
    assert -0.2 < minx < maxx < 0.0 and 51.4 < miny < maxy < 51.6  # central London lon/lat


def test_area_support_written(tmp_path: Path) -> None:
    areas = _areas()
    fc = Forecast("naive", {}, areas.unit_ids, 0.0, 30.0, np.array([3.0, 1.0]),
                  np.array([3.0, 1.0]))
    frame = pyogrio.read_dataframe(write_forecast_gpkg(fc, areas, tmp_path / "a.gpkg"),
                                   layer="forecast")
    assert frame["unit_id"].tolist() == list(areas.ids)


def test_csv_columns_lsoa_and_escaping(tmp_path: Path) -> None:
    grid, fc = _grid_forecast()
    path = write_forecast_csv(fc, grid, tmp_path / "f.csv", areas=_areas())
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "cell_id", "easting", "northing", "lsoa", "expected_count", "expected_harm", "rank"
    ]
    assert len(rows) == grid.n_units
    assert [int(r["rank"]) for r in rows] == list(range(1, 11))  # rank order
    east = [r for r in rows if float(r["easting"]) > 530_500]
    west = [r for r in rows if float(r["easting"]) < 530_500]
    assert {r["lsoa"] for r in west} == {"E01000001"}
    # The hostile area code is written as text, not as a formula.
    assert {r["lsoa"] for r in east} == {"'=cmd|' /C calc'!A0"}
    assert float(rows[0]["expected_harm"]) == pytest.approx(2.0)


@pytest.mark.parametrize("bad", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\0x", "\rx"])
def test_escape_formula_prefixes(bad: str) -> None:
    assert escape_csv_cell(bad) == "'" + bad


def test_safe_cells_untouched() -> None:
    assert escape_csv_cell("E530250N180000") == "E530250N180000"
    assert escape_csv_cell("") == ""


def test_ranks_are_stable() -> None:
    assert unit_ranks([1.0, 3.0, 3.0, 0.0]).tolist() == [3, 1, 2, 4]


def test_png_map(tmp_path: Path) -> None:
    grid, fc = _grid_forecast()
    path = write_forecast_map(fc, grid, tmp_path / "m.png", boundaries=_areas().geometries)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    top = np.zeros(grid.n_units)
    top[np.argmax(fc.expected_harm)] = 1.0
    outlined = write_forecast_map(fc, grid, tmp_path / "o.png", outline=top)
    assert outlined.read_bytes() != path.read_bytes()
    with pytest.raises(ValueError, match="one weight per unit"):
        write_forecast_map(fc, grid, tmp_path / "x.png", outline=[1.0])
