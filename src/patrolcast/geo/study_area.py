"""The study area: the region a grid covers, from a boundary file or from the data's extent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import shapely

from patrolcast.errors import InputError
from patrolcast.geo.crs import metric_crs


@dataclass(frozen=True, eq=False)
class StudyArea:
    """A (multi)polygon in a metric CRS, with a note of where it came from.

    Attributes
    ----------
    geometry : shapely polygon or multipolygon, metres in ``crs``.
    crs : e.g. ``"EPSG:27700"``.
    source : how it was made (a file name, or "convex hull of 12,345 points + 500 m").
    """

    geometry: shapely.Geometry
    crs: str
    source: str

    @property
    def area_km2(self) -> float:
        return float(shapely.area(self.geometry)) / 1e6

    def contains(self, x: npt.ArrayLike, y: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each point lies inside (or on the edge of) the study area."""
        shapely.prepare(self.geometry)
        pts = shapely.points(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return np.asarray(shapely.intersects(self.geometry, pts), dtype=bool)


    def to_json(self) -> dict[str, object]:
        """What every output records about the study area: its source and size."""
        return {"source": self.source, "km2": round(self.area_km2, 3), "crs": self.crs}


def study_area_from_file(
    path: str | Path,
    *,
    crs: str = "EPSG:27700",
    layer: str | None = None,
    where: str | None = None,
) -> StudyArea:
    """The union of the polygons of a boundary file, read through GDAL.

    GeoPackage, GeoJSON (also gzipped), shapefile, or a zip or folder of shapefiles; ``layer``
    picks a layer and ``where`` filters features (OGR SQL, e.g. ``"PFA22NM = 'Merseyside'"``).
    The polygons are reprojected to ``crs`` when they are in another CRS.
    """
    from patrolcast.geo.boundaries import read_polygons

    geoms, _frame = read_polygons(path, crs=crs, layer=layer, where=where)
    union = shapely.union_all(shapely.buffer(geoms, 0))
    if shapely.area(union) <= 0:
        raise InputError(f"{Path(path).name} holds no polygon with an area")
    detail = "".join(
        [f", layer {layer}" if layer else "", f", where {where}" if where else ""]
    )
    return StudyArea(union, crs, f"{len(geoms)} polygon(s) of {Path(path).name}{detail}")


def majority_area(
    path: str | Path,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    crs: str,
    code_field: str,
    name_field: str,
) -> tuple[StudyArea, float]:
    """The polygon of a boundary file holding most of the points, and the share it holds.

    Used for data.police.uk records, whose force is the police force area where most of its
    records lie (a few stray, mis-geocoded records elsewhere do not move it).
    """
    from patrolcast.geo.boundaries import read_polygons

    geoms, attrs = read_polygons(path, crs=crs)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(xa) & np.isfinite(ya)
    if not ok.any():
        raise InputError("no events with coordinates: cannot tell which area holds the data")
    pts = shapely.points(xa[ok], ya[ok])
    tree = shapely.STRtree(geoms)
    pt_idx, geom_idx = tree.query(pts, predicate="intersects")
    counts = np.bincount(geom_idx, minlength=len(geoms))
    if counts.sum() == 0:
        raise InputError(f"no event lies in any polygon of {Path(path).name}")
    best = int(np.argmax(counts))
    code = str(attrs[code_field.lower()].iloc[best])
    name = str(attrs[name_field.lower()].iloc[best])
    share = float(counts[best]) / float(ok.sum())
    source = f"{name} ({code}), {Path(path).name}"
    return StudyArea(geoms[best], crs, source), share


def study_area_from_points(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    crs: str,
    method: str = "hull",
    buffer: float = 500.0,
) -> StudyArea:
    """The data's extent: convex hull (``"hull"``) or bounding box (``"bbox"``) plus a buffer.

    Non-finite points are ignored. ``buffer`` (metres) keeps cells around the outermost events.
    """
    metric_crs(crs)
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(xa) & np.isfinite(ya)
    if not ok.any():
        raise InputError("no events with coordinates: cannot make a study area from the data")
    if buffer < 0:
        raise InputError("the study-area buffer must be zero or more metres")
    pts = shapely.multipoints(np.column_stack([xa[ok], ya[ok]]))
    if method == "hull":
        core = shapely.convex_hull(pts)
    elif method == "bbox":
        core = shapely.envelope(pts)
    else:
        raise InputError(f"unknown study-area method {method!r}: use 'hull' or 'bbox'")
    geometry = shapely.buffer(core, buffer) if buffer > 0 else core
    if shapely.area(geometry) <= 0:
        raise InputError("the events span no area (one point or a line): give a positive buffer")
    name = "convex hull" if method == "hull" else "bounding box"
    return StudyArea(geometry, crs, f"{name} of {int(ok.sum()):,} points + {buffer:g} m")
