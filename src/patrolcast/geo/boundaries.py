"""Area units from boundary files: LSOAs, wards and boroughs as :class:`AreaSupport`.

Readers accept a GeoPackage, a shapefile, a folder of shapefiles, or a zip of one or many
shapefiles (the London Datastore LSOA 2021 release is 33 borough shapefiles, zipped). Codes are
GSS codes (``E01...`` LSOA, ``E05...`` ward, ``E09...`` borough); every area keeps the borough it
lies in. Polygons are made valid and reprojected to the internal CRS when needed.

Known London files (``../shared/data/boundaries``):

=====================================  ======  ======  =========================================
file                                   level   units   code / name / borough fields
=====================================  ======  ======  =========================================
london_lsoa2021_by_borough_shp.zip     lsoa    4,994   lsoa21cd / lsoa21nm / lad22cd, lad22nm
london_wards.zip (2014 wards)          ward    654     GSS_CODE / NAME / LB_GSS_CD, BOROUGH
london_boroughs.gpkg                   borough 33      gss_code / name / (itself)
=====================================  ======  ======  =========================================
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from patrolcast.errors import InputError
from patrolcast.geo.crs import crs_name, metric_crs
from patrolcast.geo.support import AreaSupport

LEVELS = ("lsoa", "ward", "borough")

# Candidate field names (matched case-insensitively), most specific first.
_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "lsoa": {
        "code": ("lsoa21cd", "lsoa11cd", "lsoa_code", "lsoacd"),
        "name": ("lsoa21nm", "lsoa11nm", "lsoa_name", "lsoanm"),
        "borough_code": ("lad22cd", "lad21cd", "lad20cd", "lad11cd", "lad_code", "lb_gss_cd"),
        "borough_name": ("lad22nm", "lad21nm", "lad20nm", "lad11nm", "lad_name", "borough"),
    },
    "ward": {
        "code": ("gss_code", "wd22cd", "wd21cd", "wd18cd", "ward_code"),
        "name": ("name", "wd22nm", "wd21nm", "wd18nm", "ward_name"),
        "borough_code": ("lb_gss_cd", "lad22cd", "lad21cd", "lad18cd", "lad_code"),
        "borough_name": ("borough", "lad22nm", "lad21nm", "lad18nm", "lad_name"),
    },
    "borough": {
        "code": ("gss_code", "lad22cd", "lad21cd", "lad11cd", "code"),
        "name": ("name", "lad22nm", "lad21nm", "lad11nm", "borough"),
    },
}


def _shapefiles_in_zip(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = sorted(n for n in zf.namelist() if n.lower().endswith(".shp"))
    except zipfile.BadZipFile:
        raise InputError(f"{path} is not a readable zip file") from None
    if not names:
        raise InputError(f"{path} holds no shapefile (.shp)")
    return [f"/vsizip/{path.resolve()}/{n}" for n in names]


def _sources(path: Path) -> list[str]:
    if not path.exists():
        raise InputError(f"boundary file {path} does not exist")
    if path.is_dir():
        found = sorted(str(p) for p in path.glob("*.shp")) + sorted(
            str(p) for p in path.glob("*.gpkg")
        )
        if not found:
            raise InputError(f"folder {path} holds no shapefile or GeoPackage")
        return found
    if path.suffix.lower() == ".zip":
        return _shapefiles_in_zip(path)
    if path.suffix.lower() == ".gz":  # e.g. a gzipped GeoJSON, read through GDAL's /vsigzip/
        return [f"/vsigzip/{path.resolve()}"]
    return [str(path)]


def _read_one(source: str, crs: str, layer: str | None = None, where: str | None = None) -> Any:
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(source, layer=layer, where=where)
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise InputError(f"cannot read boundaries from {source}: {exc}") from None
    if frame.crs is None:
        raise InputError(f"{source} has no CRS (missing .prj?): cannot place its polygons")
    if crs_name(frame.crs) != crs_name(crs):
        frame = frame.to_crs(crs)
    return frame


def read_polygons(
    path: str | Path,
    *,
    crs: str = "EPSG:27700",
    layer: str | None = None,
    where: str | None = None,
) -> tuple[npt.NDArray[np.object_], pd.DataFrame]:
    """Every polygon of a boundary file (valid, in ``crs``) and its attribute table.

    Several shapefiles (a zip or folder of them) are stacked; attribute columns are lower-cased.
    ``layer`` picks one layer of a multi-layer file (GeoPackage); ``where`` is an OGR SQL
    attribute filter (e.g. ``"PFA22NM = 'Merseyside'"``), both passed to GDAL.
    """
    metric_crs(crs)
    frames = [_read_one(src, crs, layer, where) for src in _sources(Path(path))]
    if all(len(f) == 0 for f in frames):
        what = f" matching {where!r}" if where else ""
        raise InputError(f"{Path(path).name} holds no features{what}")
    geoms = np.concatenate([np.asarray(f.geometry.values, dtype=object) for f in frames])
    attrs = pd.concat(
        [pd.DataFrame(f.drop(columns=f.geometry.name)).rename(columns=str.lower) for f in frames],
        ignore_index=True,
    )
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.all():
        raise InputError(f"{path} holds no polygons")
    geoms = geoms[~missing]
    attrs = attrs.loc[~missing].reset_index(drop=True)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    # keep only polygonal parts (make_valid can return collections)
    polys = shapely.get_parts(geoms, return_index=True)
    kind = shapely.get_type_id(polys[0])
    keep = (kind == 3) | (kind == 6)
    merged = shapely.multipolygons(polys[0][keep], indices=polys[1][keep])
    geoms = np.asarray([shapely.union_all(shapely.get_parts(g)) for g in merged], dtype=object)
    return geoms, attrs


def _field(attrs: pd.DataFrame, level: str, role: str, path: Path) -> str | None:
    for candidate in _FIELDS[level].get(role, ()):
        if candidate in attrs.columns:
            return candidate
    if role in ("code", "name"):
        wanted = " or ".join(_FIELDS[level][role])
        raise InputError(f"{path.name}: no {level} {role} column (expected {wanted})")
    return None


def guess_level(path: str | Path) -> str:
    """``lsoa``, ``ward`` or ``borough`` from a boundary file's name."""
    name = Path(path).name.lower()
    for level in LEVELS:
        if level in name:
            return level
    raise InputError(f"cannot tell the area level of {Path(path).name}: give lsoa, ward or borough")


def read_areas(
    path: str | Path, *, level: str | None = None, crs: str = "EPSG:27700"
) -> AreaSupport:
    """Areas of one level from a boundary file, as an :class:`AreaSupport` sorted by code.

    Parameters
    ----------
    path : GeoPackage, shapefile, folder or zip of shapefiles.
    level : ``"lsoa"``, ``"ward"`` or ``"borough"``; guessed from the file name if omitted.
    crs : the internal metric CRS.

    Polygons sharing a code are merged. The borough of each area is kept when the file has it.
    """
    path = Path(path)
    level = level or guess_level(path)
    if level not in LEVELS:
        raise InputError(f"unknown area level {level!r}: use lsoa, ward or borough")
    geoms, attrs = read_polygons(path, crs=crs)
    code_col = _field(attrs, level, "code", path)
    name_col = _field(attrs, level, "name", path)
    assert code_col is not None and name_col is not None
    codes = attrs[code_col].astype(str).str.strip().to_numpy()
    bcode_col: str | None
    bname_col: str | None
    if level == "borough":
        bcode_col, bname_col = code_col, name_col
    else:
        bcode_col = _field(attrs, level, "borough_code", path)
        bname_col = _field(attrs, level, "borough_name", path)
    table = pd.DataFrame(
        {
            "code": codes,
            "name": attrs[name_col].astype(str).str.strip().to_numpy(),
            "bcode": attrs[bcode_col].astype(str).to_numpy() if bcode_col else "",
            "bname": attrs[bname_col].astype(str).to_numpy() if bname_col else "",
            "row": np.arange(len(codes)),
        }
    )
    first = table.groupby("code", sort=True).first()
    polygons = []
    for _code, rows in table.groupby("code", sort=True)["row"]:
        parts = geoms[rows.to_numpy()]
        polygons.append(parts[0] if parts.size == 1 else shapely.union_all(parts))
    return AreaSupport(
        ids=tuple(first.index.astype(str)),
        names=tuple(first["name"]),
        geometries=tuple(polygons),
        crs=crs_name(crs),
        level=level,
        borough_ids=tuple(first["bcode"]) if bcode_col else (),
        borough_names=tuple(first["bname"]) if bname_col else (),
    )


def read_lsoa_boundaries(path: str | Path, *, crs: str = "EPSG:27700") -> AreaSupport:
    """LSOAs (e.g. the 4,994 London LSOA 2021 polygons, with their boroughs)."""
    return read_areas(path, level="lsoa", crs=crs)


def read_ward_boundaries(path: str | Path, *, crs: str = "EPSG:27700") -> AreaSupport:
    """Wards (e.g. the 654 London wards of 2014, with their boroughs)."""
    return read_areas(path, level="ward", crs=crs)


def read_borough_boundaries(path: str | Path, *, crs: str = "EPSG:27700") -> AreaSupport:
    """Boroughs (e.g. the 33 London boroughs including the City)."""
    return read_areas(path, level="borough", crs=crs)
