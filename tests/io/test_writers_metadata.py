"""Forecast outputs describe themselves, checked with GDAL's own ``ogrinfo``: the CRS, numeric
field types, the layer's description and metadata, the stored QGIS style, value and
coordinate precision, simplified area outlines that still tile the area."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from patrolcast.forecast.base import Forecast
from patrolcast.geo.support import AreaSupport, Grid
from patrolcast.io.qgis_style import class_breaks
from patrolcast.io.writers import (
    OutputContext,
    round_values,
    write_forecast_csv,
    write_forecast_geojson,
    write_forecast_gpkg,
)

CRS = "EPSG:27700"
CONTEXT = OutputContext(
    dataset="synth", method="kde", level="grid", cell_size=250.0, horizon="7d",
    window_start="2022-06-01T00:00:00+01:00", window_end="2022-06-08T00:00:00+01:00",
    target="count", groups=("serious_violence", "violence"),
    parameters={"bandwidth": 300.0, "lookback_days": 56.0},
    study_area={"source": "test square", "km2": 0.75}, created_at="2026-01-01T00:00:00+00:00",
    software="patrolcast 0.1.0",
)


def ogrinfo(path: Path, *options: str, layer: str | None = None) -> str:
    exe = shutil.which("ogrinfo")
    if exe is None:
        pytest.skip("GDAL's ogrinfo is not installed (scripts/web_setup.sh installs gdal-bin)")
    args = [exe, "-ro", "-so", *options, str(path)] + ([layer] if layer else ["-al"])
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return done.stdout


def field_types(text: str) -> dict[str, str]:
    """``name: Type (width.precision)`` lines of ``ogrinfo -so``, the first layer's only."""
    first = text.split("Layer name:")[1]
    return dict(re.findall(r"^(\w+): ([\w()]+) \(", first, flags=re.MULTILINE))


def _grid_forecast(terms: bool = False) -> tuple[Grid, Forecast]:
    grid = Grid.covering(530_000, 180_000, 530_999, 180_749, cell_size=250, crs=CRS)
    n = grid.n_units
    count = np.linspace(0.1, 1.0, n) / 3.0  # thirds: long decimals
    count[0] = 1e-136  # a forecast's numeric dust
    extra = {"background": count / 2.0} if terms else {}
    return grid, Forecast("kde", {}, grid.unit_ids, 0.0, 7.0, count, 2 * count, terms=extra)


def _areas() -> AreaSupport:
    """Two LSOA-like areas sharing a wiggly edge of 400 vertices (1 m zigzag)."""
    ys = np.linspace(180_000, 180_750, 401)
    xs = 530_500 + np.where(np.arange(401) % 2 == 0, 0.0, 1.0)
    edge = list(zip(xs, ys, strict=True))
    west = shapely.Polygon([(530_000, 180_000), *edge, (530_000, 180_750)])
    east = shapely.Polygon([(531_000, 180_000), (531_000, 180_750), *edge[::-1]])
    return AreaSupport(("E01000001", "E01000002"), ("West 001A", "East 001B"), (west, east), CRS)


NUMERIC = {"Real", "Integer", "Integer64"}


def test_gpkg_opens_in_gdal_with_crs_numeric_fields_description_and_metadata(
    tmp_path: Path,
) -> None:
    grid, fc = _grid_forecast(terms=True)
    path = write_forecast_gpkg(fc, grid, tmp_path / "f.gpkg", context=CONTEXT)
    text = ogrinfo(path, layer="forecast")
    assert 'ID["EPSG",27700]' in text
    types = field_types(text)
    for name in ("expected_count", "expected_harm", "rank", "term_background"):
        assert types[name] in NUMERIC, (name, types[name])
    assert types["rank"].startswith("Integer")
    assert types["window_start"] == "String"
    assert "DESCRIPTION=kde forecast of expected offences (serious_violence, violence) per 250 m " \
           "cell, 7d, 2022-06-01T00:00:00+01:00 to 2022-06-08T00:00:00+01:00" in text
    for line in ("method=kde", "dataset=synth", "horizon=7d", "cell_size_m=250",
                 "window_start=2022-06-01T00:00:00+01:00", "window_end=2022-06-08T00:00:00+01:00",
                 "ranked_by=expected_count", "study_area_source=test square",
                 "study_area_km2=0.750", "offence_groups=serious_violence,violence",
                 "software=patrolcast 0.1.0"):
        assert f"  {line}" in text, line
    assert '"bandwidth": 300.0' in text
    assert "warning" not in text.lower()  # e.g. a GeoPackage version GDAL 3.6 cannot read


def test_gpkg_features_carry_the_window_and_rank_by_the_target(tmp_path: Path) -> None:
    grid, fc = _grid_forecast()
    harm_first = Forecast("kde", {}, fc.unit_ids, 0.0, 7.0, fc.expected_count,
                          fc.expected_count[::-1].copy())
    ctx = OutputContext(**{**CONTEXT.__dict__, "target": "harm"})
    frame = pyogrio.read_dataframe(write_forecast_gpkg(harm_first, grid, tmp_path / "h.gpkg",
                                                       context=ctx), layer="forecast")
    top = frame.loc[frame["rank"] == 1]
    assert top["expected_harm"].item() == frame["expected_harm"].max()
    assert top["expected_count"].item() < frame["expected_count"].max()  # ranked by harm
    assert set(frame["ranked_by"]) == {"expected_harm"}
    assert set(frame["window_start"]) == {"2022-06-01T00:00:00+01:00"}
    assert set(frame["method"]) == {"kde"} and set(frame["dataset"]) == {"synth"}


def test_gpkg_stores_a_default_qgis_style_graduated_on_the_ranked_value(tmp_path: Path) -> None:
    grid, fc = _grid_forecast()
    path = write_forecast_gpkg(fc, grid, tmp_path / "f.gpkg", context=CONTEXT)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT f_table_name, f_geometry_column, styleQML, useAsDefault "
                          "FROM layer_styles").fetchall()
    assert len(rows) == 1
    table, geom_column, qml, default = rows[0]
    assert (table, default) == ("forecast", 1)
    with sqlite3.connect(path) as db:  # the geometry column the style names exists
        (column,) = db.execute("SELECT column_name FROM gpkg_geometry_columns "
                               "WHERE table_name = 'forecast'").fetchone()
    assert geom_column == column
    renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert renderer is not None
    assert renderer.get("type") == "graduatedSymbol"
    assert renderer.get("attr") == "expected_count"
    ranges = [(float(r.get("lower", "nan")), float(r.get("upper", "nan")))
              for r in renderer.iter("range")]
    assert ranges[0][0] == 0.0
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))  # no gaps
    assert ranges[-1][1] >= round_values(fc.expected_count).max()  # every stored value in a class
    assert len(list(renderer.iter("symbol"))) == len(ranges)


def test_class_breaks() -> None:
    assert class_breaks(np.zeros(4)) == [0.0]
    breaks = class_breaks(np.r_[np.zeros(50), np.arange(1.0, 101.0)])
    assert breaks == sorted(set(breaks)) and len(breaks) == 5 and breaks[-1] == 100.0
    assert class_breaks([0.0, 2.0, 2.0, 2.0]) == [2.0]  # equal quantiles merged


def test_geojson_precision_types_and_collection_metadata(tmp_path: Path) -> None:
    grid, fc = _grid_forecast()
    path = write_forecast_geojson(fc, grid, tmp_path / "f.geojson", context=CONTEXT)
    text = ogrinfo(path)
    assert 'ID["EPSG",4326]' in text
    types = field_types(text)
    assert types["expected_count"] == "Real" and types["rank"] == "Integer"
    doc = json.loads(path.read_text(encoding="utf-8"))
    meta = doc["metadata"]
    assert meta["window_start"] == CONTEXT.window_start and meta["method"] == "kde"
    assert meta["study_area"] == {"source": "test square", "km2": 0.75}
    assert meta["parameters"] == {"bandwidth": 300.0, "lookback_days": 56.0}
    assert "exact" in meta["geometry"]
    assert doc["description"].startswith("kde forecast of expected offences")
    props = doc["features"][0]["properties"]
    assert props["window_start"] == CONTEXT.window_start
    assert props["window_end"] == CONTEXT.window_end
    assert "method" not in props  # the collection's metadata says it once
    counts = [f["properties"]["expected_count"] for f in doc["features"]]
    assert 0.0 in counts  # the 1e-136 cell
    for value in counts:
        assert len(repr(value).replace("0.", "").lstrip("0").replace(".", "")) <= 4, value
    raw = path.read_text(encoding="utf-8")
    decimals = {len(m) for m in re.findall(r"-?\d+\.(\d+)", raw.split('"features"')[1])}
    assert max(decimals) <= 6


def test_round_values() -> None:
    got = round_values([1 / 3, 12345.678, -2 / 3, 5e-7, 1e-136, 0.0, 2.5e-6])
    assert got.tolist() == [0.3333, 12350.0, -0.6667, 0.0, 0.0, 0.0, 2.5e-6]


def test_geojson_areas_simplified_in_metres_and_still_tiling(tmp_path: Path) -> None:
    areas = _areas()
    fc = Forecast("naive", {}, areas.unit_ids, 0.0, 30.0, np.array([3.0, 1.0]),
                  np.array([3.0, 1.0]))
    ctx = OutputContext(**{**CONTEXT.__dict__, "level": "lsoa", "cell_size": None})
    exact = write_forecast_gpkg(fc, areas, tmp_path / "a.gpkg", context=ctx)
    web = write_forecast_geojson(fc, areas, tmp_path / "a.geojson", context=ctx)
    frame = pyogrio.read_dataframe(web).to_crs(CRS)
    vertices = shapely.get_num_coordinates(frame.geometry.values).sum()
    assert vertices < 30 < shapely.get_num_coordinates(np.array(areas.geometries)).sum()
    west, east = frame.geometry.values
    assert west.intersection(east).area < 1.0  # no overlap (shared edge kept) ...
    whole = shapely.box(530_000, 180_000, 531_000, 180_750)
    assert abs(shapely.union(west, east).area - whole.area) < 0.002 * whole.area  # ... no gap
    assert "10 m tolerance" in json.loads(web.read_text())["metadata"]["geometry"]
    gpkg = pyogrio.read_dataframe(exact, layer="forecast")
    assert gpkg["name"].tolist() == ["West 001A", "East 001B"]
    assert shapely.get_num_coordinates(gpkg.geometry.values).sum() > 800  # exact in the GPKG


def test_csv_opens_in_gdal_with_crs_and_numeric_fields(tmp_path: Path) -> None:
    grid, fc = _grid_forecast(terms=True)
    path = write_forecast_csv(fc, grid, tmp_path / "f.csv", context=CONTEXT)
    text = ogrinfo(path, "-oo", "X_POSSIBLE_NAMES=easting", "-oo", "Y_POSSIBLE_NAMES=northing")
    assert 'ID["EPSG",27700]' in text
    types = field_types(text)
    assert {types[c] for c in ("easting", "northing", "expected_count", "expected_harm",
                               "term_background")} == {"Real"}
    assert types["rank"] == "Integer" and types["cell_id"] == "String"
    header, first = path.read_text(encoding="utf-8").splitlines()[:2]
    assert header.endswith(",rank,term_background")
    assert first.split(",")[4] == "0.3333"  # 1/3 to four significant digits
