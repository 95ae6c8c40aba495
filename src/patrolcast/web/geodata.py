"""What the dashboard's map draws, read from files the server already has, as GeoJSON (WGS84).

- Context: borough, ward and LSOA boundaries and London's major roads, read from the boundary
  folder beside the server's borough file (``<shared data>/boundaries``), simplified, cached.
- Forecasts: the newest forecast snapshot of each dataset (governance's snapshot records) whose
  GeoJSON lies beside the file its ``uri`` names (``forecast_<dataset>_<method>_<date>.geojson``
  beside ``.gpkg``, as :func:`patrolcast.evaluate.jobs.forecast_job` writes them), with each
  unit's rank, the top 5% of the area (the same :func:`~patrolcast.evaluate.metrics.flag_area`
  as the PNG maps), its box in British National Grid (to propose from a cell) and, when the
  forecast wrote one, the per-unit explanation terms (``.explain.csv``).
- Places (a proposal's area, an intelligence item's place) from the house CRS to WGS84.

No rule lives here: who may see deployments and intelligence is decided by the actions the
routes call (:func:`patrolcast.app.actions.perform`).
"""

from __future__ import annotations

import csv
import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from patrolcast.errors import InputError

__all__ = [
    "BOUNDARY_LAYERS",
    "ForecastLayer",
    "boundary_geojson",
    "forecast_layer",
    "forecast_meta",
    "place_names",
    "to_wgs84_geojson",
]

HOUSE_CRS = "EPSG:27700"

#: layer -> (file name in the boundary folder, reader level, simplification tolerance in metres)
BOUNDARY_LAYERS: dict[str, tuple[str, str, float]] = {
    "boroughs": ("london_boroughs.gpkg", "borough", 20.0),
    "wards": ("london_wards.zip", "ward", 15.0),
    "lsoa": ("london_lsoa2021_by_borough_shp.zip", "lsoa", 10.0),
    "roads": ("london_major_road_network_2018.gpkg", "roads", 15.0),
}
_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _transformer(crs: str) -> Any:
    from pyproj import Transformer

    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def _to_wgs84(geom: Any, crs: str = HOUSE_CRS) -> Any:
    import shapely

    to = _transformer(crs)
    moved = shapely.transform(geom, lambda xy: np.column_stack(to.transform(xy[:, 0], xy[:, 1])))
    return shapely.set_precision(moved, 1e-5)  # about a metre


def to_wgs84_geojson(geom: Any, crs: str = HOUSE_CRS) -> dict[str, Any]:
    """A shapely geometry in ``crs`` as a GeoJSON geometry in longitude/latitude."""
    import shapely

    return dict(json.loads(shapely.to_geojson(_to_wgs84(geom, crs))))


def _many_to_wgs84(geoms: list[Any], tolerance: float, crs: str = HOUSE_CRS) -> list[Any]:
    """Simplify (metres) and move many geometries at once; GeoJSON dicts out."""
    import shapely

    arr = shapely.simplify(np.asarray(geoms, dtype=object), tolerance, preserve_topology=True)
    moved = _to_wgs84(arr, crs)
    return [json.loads(t) for t in shapely.to_geojson(moved)]


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=8)
def _boundary_text(folder: Path, layer: str) -> str:

    name, level, tolerance = BOUNDARY_LAYERS[layer]
    path = folder / name
    if not path.exists():
        raise InputError(f"no {layer} boundaries at {path}")
    if level == "roads":
        import pyogrio

        frame = pyogrio.read_dataframe(path)
        if frame.crs is not None:
            frame = frame.to_crs(HOUSE_CRS)
        geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
        props: list[dict[str, Any]] = [{} for _ in geoms]
    else:
        from patrolcast.geo import boundaries

        reader = {"borough": boundaries.read_borough_boundaries,
                  "ward": boundaries.read_ward_boundaries,
                  "lsoa": boundaries.read_lsoa_boundaries}[level]
        areas = reader(path)
        geoms = list(areas.geometries)
        props = [{"code": c, "name": n} for c, n in zip(areas.ids, areas.names, strict=True)]
    features = [{"type": "Feature", "properties": p, "geometry": g}
                for p, g in zip(props, _many_to_wgs84(geoms, tolerance), strict=True)]
    return json.dumps(_collection(features), separators=(",", ":"))


def boundary_geojson(folder: Path | None, layer: str) -> str:
    """One context layer as GeoJSON text (read once per process, then cached)."""
    if layer not in BOUNDARY_LAYERS:
        raise InputError(f"unknown layer {layer!r}: one of {', '.join(BOUNDARY_LAYERS)}")
    if folder is None:
        raise InputError("this server has no boundary folder (set boroughs_file)")
    with _LOCK:
        return _boundary_text(folder, layer)


@lru_cache(maxsize=4)
def _areas(folder: Path, level: str) -> Any:
    from patrolcast.geo import boundaries

    name = {"borough": "london_boroughs.gpkg", "ward": "london_wards.zip",
            "lsoa": "london_lsoa2021_by_borough_shp.zip"}[level]
    path = folder / name
    if not path.exists():
        return None
    reader = {"borough": boundaries.read_borough_boundaries,
              "ward": boundaries.read_ward_boundaries,
              "lsoa": boundaries.read_lsoa_boundaries}[level]
    return reader(path)


def place_names(folder: Path | None, x: float, y: float,
                levels: tuple[str, ...] = ("borough", "ward")) -> dict[str, str]:
    """Names of the areas holding the point ``(x, y)`` (house CRS), by level."""
    out: dict[str, str] = {}
    if folder is None:
        return out
    with _LOCK:
        for level in levels:
            areas = _areas(folder, level)
            if areas is None:
                continue
            idx = areas.assign(np.array([x]), np.array([y]))
            if idx[0] >= 0:
                out[level] = str(areas.names[idx[0]])
    return out


# --------------------------------------------------------------------------- forecasts


def forecast_files(uri: str) -> dict[str, Path]:
    """The files of a forecast whose snapshot ``uri`` names one of them (same stem)."""
    path = Path(uri)
    stem = path.name.split(".")[0]
    folder = path.parent
    return {
        "geojson": folder / f"{stem}.geojson",
        "snapshot": folder / f"{stem}.snapshot.json",
        "explain": folder / f"{stem}.explain.csv",
    }


def forecast_meta(record: Any) -> dict[str, Any] | None:
    """A snapshot record (id, method, params, created_at, uri) as the map lists it, or None
    when its GeoJSON is not on this server."""
    if not record.uri:
        return None
    files = forecast_files(record.uri)
    if not files["geojson"].exists():
        return None
    extra: dict[str, Any] = {}
    if files["snapshot"].exists():
        try:
            extra = json.loads(files["snapshot"].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            extra = {}
    params = dict(record.params or {})
    return {
        "snapshot_id": record.id,
        "dataset": str(params.get("dataset") or record.method),
        "method": record.method,
        "level": params.get("level"),
        "created_at": record.created_at.isoformat(),
        "window_start": extra.get("window_start"),
        "window_end": extra.get("window_end"),
        "ranked_by": extra.get("ranked_by", "harm"),
        "study_area": extra.get("study_area", {}),
        "warnings": extra.get("warnings", []),
        "digest": record.digest,
    }


@dataclass
class ForecastLayer:
    """One forecast read for the map: GeoJSON text plus what a click needs."""

    text: str
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    terms: dict[str, dict[str, float]] = field(default_factory=dict)


def _read_terms(path: Path) -> dict[str, dict[str, float]]:
    if not path.exists():
        return {}
    out: dict[str, dict[str, float]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            uid = row.pop("unit_id", "")
            row.pop("expected_count", None)
            try:
                out[uid] = {k: float(v) for k, v in row.items() if v not in ("", None)}
            except ValueError:
                continue
    return out


def _read_forecast(geojson: Path) -> Any:
    """The forecast's units in the house CRS: the GeoPackage beside it when there is one
    (already in metres), else its GeoJSON reprojected."""
    import geopandas as gpd

    gpkg = geojson.with_suffix(".gpkg")
    source = gpkg if gpkg.exists() else geojson
    # the GeoPackage also holds its QGIS style table (layer_styles): read the forecast layer
    frame = gpd.read_file(source, engine="pyogrio", layer=0)
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    return frame.to_crs(HOUSE_CRS) if str(frame.crs) != HOUSE_CRS else frame


def _union(geoms: Any) -> Any:
    """The union of units that tile an area (a coverage), fast; a general union otherwise."""
    import shapely

    if len(geoms) == 0:
        return shapely.Polygon()
    try:
        merged = shapely.coverage_union_all(geoms)
        if merged.is_valid:
            return merged
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(geoms, grid_size=1.0)


@lru_cache(maxsize=8)
def _forecast_layer(geojson: Path, explain: Path, mtime: float) -> ForecastLayer:
    import shapely

    from patrolcast.evaluate.metrics import flag_area

    frame = _read_forecast(geojson)
    harm = np.asarray(frame["expected_harm"], dtype=float)
    count = np.asarray(frame["expected_count"], dtype=float)
    geoms = np.asarray(list(frame.geometry), dtype=object)
    area = shapely.area(geoms)
    top = flag_area(harm, area, 0.05) > 0
    bounds = shapely.bounds(geoms)
    grid = bool(np.allclose(area, area[0])) if area.size else True
    tolerance = 2.0 if grid else 15.0  # areas (LSOAs) are drawn simplified
    study = _union(geoms).simplify(tolerance)
    outline = _union(geoms[top]).simplify(tolerance / 2)
    simple = shapely.simplify(geoms, tolerance, preserve_topology=False)
    simple = np.where(shapely.is_empty(simple), geoms, simple)
    moved = [json.loads(t) for t in shapely.to_geojson(_to_wgs84(simple))]
    features = []
    units: dict[str, dict[str, Any]] = {}
    for i, uid in enumerate(frame["unit_id"].astype(str)):
        props = {
            "unit_id": uid,
            "expected_count": round(float(count[i]), 6),
            "expected_harm": round(float(harm[i]), 6),
            "rank": int(frame["rank"].iloc[i]) if "rank" in frame else i + 1,
            "top5": bool(top[i]),
            "bbox": [round(float(v), 1) for v in bounds[i]],
        }
        units[uid] = props
        features.append({"type": "Feature", "properties": props, "geometry": moved[i]})
    doc = _collection(features)
    doc["study_area"] = to_wgs84_geojson(study)
    doc["top5_outline"] = to_wgs84_geojson(outline) if not outline.is_empty else None
    doc["max_harm"] = float(harm.max()) if harm.size else 0.0
    doc["max_count"] = float(count.max()) if count.size else 0.0
    return ForecastLayer(json.dumps(doc, separators=(",", ":")), units, _read_terms(explain))


def forecast_layer(uri: str) -> ForecastLayer:
    """The forecast beside ``uri`` (cached until its GeoJSON changes)."""
    files = forecast_files(uri)
    if not files["geojson"].exists():
        raise InputError("this forecast's GeoJSON is not on this server")
    with _LOCK:
        return _forecast_layer(files["geojson"], files["explain"],
                               files["geojson"].stat().st_mtime)
