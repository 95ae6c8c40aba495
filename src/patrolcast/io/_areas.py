"""Representative points of London areas (LSOA 2021, wards, boroughs) from boundary files.

London Datastore counts carry an area code, not a place; to turn them into an EventSet each
area is placed at its representative point (a point guaranteed inside the polygon). The points
are read once from the shared boundary files and cached in the store (``_areas/<level>.parquet``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from patrolcast.config import default_shared_data

_SOURCES = {
    # level: (file under boundaries/, code field, also index by name field)
    "lsoa": ("london_lsoa2021_by_borough_shp.zip", "lsoa21cd", None),
    "ward": ("london_wards.zip", "GSS_CODE", None),
    "borough": ("london_boroughs.gpkg", "gss_code", "name"),
}


def _read_points(path: Path, code_field: str, name_field: str | None, crs: str) -> pd.DataFrame:
    import geopandas as gpd

    frames = []
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        for member in members:
            frames.append(gpd.read_file(f"zip://{path}!{member}"))
    else:
        frames.append(gpd.read_file(path))
    gdf = pd.concat(frames, ignore_index=True)
    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs=frames[0].crs).to_crs(crs)
    pts = gdf.geometry.representative_point()
    out = pd.DataFrame({"code": gdf[code_field].astype(str), "x": pts.x, "y": pts.y})
    if name_field:
        names = pd.DataFrame({"code": gdf[name_field].astype(str), "x": pts.x, "y": pts.y})
        out = pd.concat([out, names], ignore_index=True)
    return out.drop_duplicates("code")


def area_points(
    level: str, store_root: Path, shared_data: Path | None, crs: str
) -> dict[str, tuple[float, float]]:
    """Area code (or borough name) -> representative point in ``crs``; empty if no boundaries."""
    file_name, code_field, name_field = _SOURCES[level]
    safe_crs = crs.replace(":", "_")
    cache = store_root / "_areas" / f"{level}-{safe_crs}.parquet"
    if cache.is_file():
        frame = pd.read_parquet(cache)
    else:
        source = (shared_data or default_shared_data()) / "boundaries" / file_name
        if not source.is_file():
            return {}
        frame = _read_points(source, code_field, name_field, crs)
        cache.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(cache, index=False)
    return {
        str(c): (float(x), float(y))
        for c, x, y in zip(frame["code"], frame["x"], frame["y"], strict=True)
    }
